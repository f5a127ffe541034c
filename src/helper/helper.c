/*
 * cocoon's exec helper: the first program a container process executes, from a sealed
 * memfd, so that no container process ever runs (or can reach through /proc/<pid>/exe)
 * the host's executable (CVE-2019-5736 and its #!/proc/self/exe and PT_INTERP variants).
 *
 * Freestanding x86_64: no libc, raw syscalls only, nothing on the heap. Built by build.rs
 * (-nostdlib -static -ffreestanding) and embedded in the library.
 *
 * argv: MODE SOCK LABEL N CAND_1..CAND_N ARGV_0..ARGV_M   (envp: the program's)
 *   MODE  "cocoon-exec" (exec the program) or "cocoon-init" (PID 1 that runs it)
 *   SOCK  the setup socket: made close-on-exec before the program's exec, so that EOF
 *         tells the parent the program runs; if every candidate fails, a Report is sent.
 *         "S,H" holds the container before its program (a created container, OCI's
 *         create/start): REPORT_HELD goes over S, which is closed; H is a listening unix
 *         socket (accept one connection) or a connected one; the first byte read from it
 *         starts the program, and that connection is the report socket from then on.
 *         EOF instead of a byte (the creator gave up) ends the helper with 125.
 *   LABEL SELinux exec label written to /proc/thread-self/attr/exec, or "-"
 * The layout of Report and the numbers below mirror src/child.rs and src/error.rs
 * (pinned by a unit test in src/helper/mod.rs).
 */

typedef unsigned long u64;
typedef unsigned int u32;
typedef int i32;

#define SYS_write 1
#define SYS_close 3
#define SYS_rt_sigaction 13
#define SYS_rt_sigprocmask 14
#define SYS_sendto 44
#define SYS_recvfrom 45
#define SYS_getsockopt 55
#define SYS_accept4 288
#define SYS_clone 56
#define SYS_execve 59
#define SYS_exit_group 231
#define SYS_wait4 61
#define SYS_kill 62
#define SYS_fcntl 72
#define SYS_fstatfs 138
#define SYS_prctl 157
#define SYS_rt_sigtimedwait 128
#define SYS_rt_sigreturn 15
#define SYS_openat 257
#define SYS_close_range 436
#define SYS_openat2 437

#define ENOENT 2
#define ENOTDIR 20
#define ENOSYS 38
#define EXDEV 18
#define EINTR 4

#define REPORT_ERROR 2
#define REPORT_HELD 4
#define STAGE_CLOSE_FDS 26
#define STAGE_SELINUX_LABEL 27
#define STAGE_EXEC 29
#define STAGE_INIT 30

#define AT_FDCWD (-100)
#define O_WRONLY 01
#define O_NOFOLLOW 0400000
#define O_CLOEXEC 02000000
#define RESOLVE_NO_MAGICLINKS 0x02
#define F_SETFD 2
#define FD_CLOEXEC 1
#define PR_SET_NAME 15
#define PR_SET_DUMPABLE 4
#define PROC_SUPER_MAGIC 0x9fa0
#define MSG_NOSIGNAL 0x4000
#define SIGCHLD 17
#define SOL_SOCKET 1
#define SO_ACCEPTCONN 30
#define WNOHANG 1
#define SA_RESTORER 0x04000000
#define AT_BASE 7
#define AT_ENTRY 9

struct report {
	u32 kind, stage, index;
	i32 err;
	i32 pid;
};

struct open_how {
	u64 flags, mode, resolve;
};

struct ksigaction {
	void (*handler)(int);
	u64 flags;
	void (*restorer)(void);
	u64 mask;
};

static long sc6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#define sc(n, a, b, c) sc6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

static __attribute__((noreturn)) void die(int code)
{
	for (;;)
		sc(SYS_exit_group, code, 0, 0);
}

static u64 len(const char *s)
{
	u64 n = 0;
	while (s[n])
		n++;
	return n;
}

static int eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* Non-negative decimal ending at NUL or `end`; -1 on anything else. */
static long num_to(const char *s, char end)
{
	long v = 0;
	if (!*s || *s == end)
		return -1;
	for (; *s && *s != end; s++) {
		if (*s < '0' || *s > '9' || v > 100000000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

static long num(const char *s)
{
	return num_to(s, 0);
}

static void say(const char *msg)
{
	sc(SYS_write, 2, msg, len(msg));
}

static __attribute__((noreturn)) void fail(long sock, u32 stage, u32 index, long err)
{
	struct report r = { REPORT_ERROR, stage, index, (i32)-err, 0 };
	if (sock >= 0)
		sc6(SYS_sendto, sock, (long)&r, sizeof r, MSG_NOSIGNAL, 0, 0);
	die(127);
}

/* Writes the exec label of this thread through a verified procfs file (CVE-2019-16884). */
static long write_exec_label(const char *label)
{
	static const char path[] = "/proc/thread-self/attr/exec";
	struct open_how how = { O_WRONLY | O_CLOEXEC, 0, RESOLVE_NO_MAGICLINKS };
	long fd = sc6(SYS_openat2, AT_FDCWD, (long)path, (long)&how, sizeof how, 0, 0);
	if (fd == -ENOSYS)
		fd = sc(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return fd;
	u64 sfs[15]; /* struct statfs: f_type first */
	long r = sc(SYS_fstatfs, fd, sfs, 0);
	if (r == 0 && sfs[0] != PROC_SUPER_MAGIC)
		r = -EXDEV;
	if (r == 0) {
		u64 n = len(label);
		r = sc(SYS_write, fd, label, n);
		if (r >= 0)
			r = (u64)r == n ? 0 : -EXDEV;
	}
	sc(SYS_close, fd, 0, 0);
	return r;
}

static __attribute__((noreturn)) void run(long sock, const char *label, long n, char **cand, char **argv,
					  char **envp)
{
	sc(SYS_prctl, PR_SET_NAME, "cocoon-exec", 0);
	if (!eq(label, "-")) {
		long r = write_exec_label(label);
		if (r < 0)
			fail(sock, STAGE_SELINUX_LABEL, 0, r);
	}
	if (sock >= 0) {
		long r = sc(SYS_fcntl, sock, F_SETFD, FD_CLOEXEC);
		if (r < 0)
			fail(sock, STAGE_CLOSE_FDS, 1, r);
	}
	/* Like execvp: a permission problem is more telling than a miss elsewhere. */
	u32 best_i = (u32)n;
	long best_e = ENOENT;
	for (long i = 0; i < n; i++) {
		long e = -sc(SYS_execve, cand[i], argv, envp);
		if ((n == 1 || (e != ENOENT && e != ENOTDIR)) && best_e == ENOENT) {
			best_i = (u32)i;
			best_e = e;
		}
	}
	fail(sock, STAGE_EXEC, best_i, -best_e);
}

/* A created container: tell the creator we are ready, then wait to be started. Returns
 * the socket to report over from now on. */
static long hold(long sock, long h)
{
	struct report r = { REPORT_HELD, 0, 0, 0, 0 };
	sc(SYS_prctl, PR_SET_NAME, "cocoon-held", 0);
	sc6(SYS_sendto, sock, (long)&r, sizeof r, MSG_NOSIGNAL, 0, 0);
	sc(SYS_close, sock, 0, 0);
	int listening = 0;
	u32 optlen = sizeof listening;
	long conn = h;
	if (sc6(SYS_getsockopt, h, SOL_SOCKET, SO_ACCEPTCONN, (long)&listening, (long)&optlen, 0) == 0 && listening) {
		do
			conn = sc6(SYS_accept4, h, 0, 0, 0, 0, 0);
		while (conn == -EINTR);
		sc(SYS_close, h, 0, 0);
		if (conn < 0)
			die(125);
	}
	char b = 0;
	long n;
	do
		n = sc6(SYS_recvfrom, conn, (long)&b, 1, 0, 0, 0);
	while (n == -EINTR);
	if (n != 1)
		die(125);
	return conn;
}

static void on_signal(int sig)
{
	(void)sig;
}

__attribute__((naked)) static void restorer(void)
{
	__asm__ volatile("mov $15, %eax\n\tsyscall");
}

/* The signals cocoon's init forwards (a handler makes the kernel deliver them to PID 1). */
static const int forwarded[] = { 1, 2, 3, 10, 12, 15, 14, 28, 18 };

static __attribute__((noreturn)) void init(long sock, const char *label, long n, char **cand, char **argv,
					   char **envp)
{
	u64 all = ~0UL, none = 0;
	sc(SYS_prctl, PR_SET_NAME, "cocoon-init", 0);
	sc6(SYS_rt_sigprocmask, 0 /* SIG_BLOCK */, (long)&all, 0, 8, 0, 0);
	long pid = sc6(SYS_clone, SIGCHLD, 0, 0, 0, 0, 0);
	if (pid < 0)
		fail(sock, STAGE_INIT, 0, pid);
	if (pid == 0) {
		sc6(SYS_rt_sigprocmask, 2 /* SIG_SETMASK */, (long)&none, 0, 8, 0, 0);
		run(sock, label, n, cand, argv, envp);
	}
	struct ksigaction sa = { on_signal, SA_RESTORER, restorer, 0 };
	for (u64 i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		sc6(SYS_rt_sigaction, forwarded[i], (long)&sa, 0, 8, 0, 0);
	/* PID 1 holds nothing of the container's (the socket, stdio, passed fds). */
	sc(SYS_close_range, 0, ~0U, 0);
	for (;;) {
		u64 info[16]; /* siginfo_t */
		long sig = sc6(SYS_rt_sigtimedwait, (long)&all, (long)info, 0, 8, 0, 0);
		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			sc(SYS_kill, pid, sig, 0);
			continue;
		}
		for (;;) {
			int status = 0;
			long r = sc6(SYS_wait4, -1, (long)&status, WNOHANG, 0, 0, 0);
			if (r <= 0)
				break;
			if (r == pid) {
				if ((status & 0x7f) == 0)
					die((status >> 8) & 0xff);
				die(128 + (status & 0x7f));
			}
		}
	}
}

void _start(void);

__attribute__((used)) static __attribute__((noreturn)) void start_c(long *sp)
{
	/* Nothing in the container may inspect or ptrace us, even while we refuse. */
	sc(SYS_prctl, PR_SET_DUMPABLE, 0, 0);
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	char **envp = argv + argc + 1;
	char **e = envp;
	while (*e)
		e++;
	/* Refuse to be anything but the first exec cocoon started: not an interpreter
	 * (PT_INTERP or #! pointing at /proc/self/exe), not re-run by hand. */
	int ok = argc >= 4;
	for (u64 *av = (u64 *)(e + 1); av[0]; av += 2) {
		if (av[0] == AT_BASE && av[1] != 0)
			ok = 0;
		if (av[0] == AT_ENTRY && av[1] != (u64)_start)
			ok = 0;
	}
	int init_mode = ok && eq(argv[0], "cocoon-init");
	if (!ok || !(init_mode || eq(argv[0], "cocoon-exec"))) {
		say("cocoon-helper: refusing to run: not started by cocoon (an interpreter or a re-run "
		    "of /proc/self/exe?)\n");
		die(126);
	}
	long sock = num_to(argv[1], ',');
	long held = -1;
	for (const char *c = argv[1]; *c; c++)
		if (*c == ',')
			held = num(c + 1);
	long n = num(argv[3]);
	if (n < 0 || n > argc - 4) {
		say("cocoon-helper: bad arguments\n");
		die(126);
	}
	if (held >= 0)
		sock = hold(sock, held);
	if (init_mode)
		init(sock, argv[2], n, argv + 4, argv + 4 + n, envp);
	run(sock, argv[2], n, argv + 4, argv + 4 + n, envp);
}

__attribute__((naked, noreturn)) void _start(void)
{
	__asm__ volatile("mov %rsp, %rdi\n\t"
			 "and $-16, %rsp\n\t"
			 "call start_c\n\t"
			 "hlt");
}
