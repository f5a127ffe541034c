//! [`Profile::default_profile`]: the allowlist every container process gets unless it opts
//! out ([`crate::Process::default_seccomp`]), the same policy Docker and podman apply by
//! default (moby's `profiles/seccomp`), written here as our own table.
//!
//! - every syscall not allowed below fails with `EPERM`: keyrings (`add_key`,
//!   `request_key`, `keyctl`), kernel modules, kexec, BPF, perf, `userfaultfd`,
//!   `io_uring_*`, swap, reboot, clock setting, accounting, quotas, mounting,
//!   `open_by_handle_at`, `ptrace`, namespaces, ... unless a kept capability allows them;
//! - `clone` only without `CLONE_NEW*` flags and `unshare` only without namespace flags
//!   (fork, threads, `unshare(CLONE_FILES)` keep working), `clone3` → `ENOSYS` (its flags
//!   live in memory a filter cannot read; libcs fall back to `clone`) — all three
//!   unrestricted with `CAP_SYS_ADMIN`, which also allows `setns`;
//! - `personality` only for the values programs use (Linux, `PER_LINUX32`, `UNAME26`,
//!   and the query `0xffffffff`); `socket` for every family but `AF_VSOCK`;
//! - capability-dependent groups ([`CAP_RULES`]): a group is allowed when the process's
//!   bounding set holds its capability (as Docker keys them on the container's set);
//! - x32 numbers → `ENOSYS`, i386 (`int 0x80`) kills the process (see `compile.rs`).
//!
//! Where this differs from Docker's: `ptrace`, `process_vm_readv`/`writev` need
//! `CAP_SYS_PTRACE` (Docker allows them on kernels ≥ 4.8 to everyone); `unshare` without
//! namespace flags is allowed (Docker refuses every `unshare` without `CAP_SYS_ADMIN`),
//! as cocoon's previous default policy allowed it.

use crate::capability::{CapSet, Capability};

use super::profile::{Action, Arg, Op, Profile, Rule};

/// Syscalls every container may make, whatever its capabilities.
const ALLOWED: &[&str] = &[
    // files and directories
    "access",
    "chdir",
    "chmod",
    "chown",
    "close",
    "close_range",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fallocate",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchownat",
    "fcntl",
    "fdatasync",
    "flock",
    "fstat",
    "fstatfs",
    "fsync",
    "ftruncate",
    "futimesat",
    "getcwd",
    "getdents",
    "getdents64",
    "lchown",
    "link",
    "linkat",
    "lseek",
    "lstat",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "name_to_handle_at",
    "newfstatat",
    "open",
    "openat",
    "openat2",
    "pread64",
    "preadv",
    "preadv2",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "pipe",
    "pipe2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "rename",
    "renameat",
    "renameat2",
    "rmdir",
    "sendfile",
    "splice",
    "stat",
    "statfs",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "tee",
    "truncate",
    "umask",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimes",
    "vmsplice",
    "write",
    "writev",
    "cachestat",
    // extended attributes
    "fgetxattr",
    "flistxattr",
    "fremovexattr",
    "fsetxattr",
    "getxattr",
    "lgetxattr",
    "listxattr",
    "llistxattr",
    "lremovexattr",
    "lsetxattr",
    "removexattr",
    "setxattr",
    "getxattrat",
    "listxattrat",
    "removexattrat",
    "setxattrat",
    // file change notification, polling, events
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "fanotify_mark",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "pause",
    "poll",
    "ppoll",
    "pselect6",
    "select",
    "signalfd",
    "signalfd4",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_settime",
    // asynchronous I/O (not io_uring)
    "io_cancel",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_setup",
    "io_submit",
    "ioctl",
    "ioprio_get",
    "ioprio_set",
    // memory
    "brk",
    "madvise",
    "map_shadow_stack",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mprotect",
    "mremap",
    "mseal",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "remap_file_pages",
    // processes, threads, signals
    "arch_prctl",
    "capget",
    "capset",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "fork",
    "futex",
    "futex_requeue",
    "futex_wait",
    "futex_waitv",
    "futex_wake",
    "get_robust_list",
    "get_thread_area",
    "getcpu",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrlimit",
    "getrusage",
    "getsid",
    "gettid",
    "kill",
    "modify_ldt",
    "pidfd_open",
    "pidfd_send_signal",
    "prctl",
    "prlimit64",
    "process_mrelease",
    "restart_syscall",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_tgsigqueueinfo",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "set_robust_list",
    "set_thread_area",
    "set_tid_address",
    "setpgid",
    "setpriority",
    "setrlimit",
    "setsid",
    "sigaltstack",
    "tgkill",
    "tkill",
    "vfork",
    "wait4",
    "waitid",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    // identities
    "getegid",
    "geteuid",
    "getgid",
    "getgroups",
    "getresgid",
    "getresuid",
    "getuid",
    "setfsgid",
    "setfsuid",
    "setgid",
    "setgroups",
    "setregid",
    "setresgid",
    "setresuid",
    "setreuid",
    "setuid",
    // time
    "adjtimex",
    "alarm",
    "clock_adjtime",
    "clock_getres",
    "clock_gettime",
    "clock_nanosleep",
    "getitimer",
    "gettimeofday",
    "nanosleep",
    "setitimer",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_settime",
    "times",
    // sockets (socket itself has a rule)
    "accept",
    "accept4",
    "bind",
    "connect",
    "getpeername",
    "getsockname",
    "getsockopt",
    "listen",
    "recvfrom",
    "recvmmsg",
    "recvmsg",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setsockopt",
    "shutdown",
    "socketpair",
    // System V and POSIX IPC
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedsend",
    "mq_unlink",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    // system information
    "getrandom",
    "sysinfo",
    "uname",
];

/// Groups of syscalls a kept capability allows (the capability in the bounding set).
pub const CAP_RULES: &[(Capability, &[&str])] = &[
    (Capability::CAP_DAC_READ_SEARCH, &["open_by_handle_at"]),
    (
        Capability::CAP_SYS_ADMIN,
        &[
            "bpf",
            "clone",
            "clone3",
            "fanotify_init",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "lookup_dcookie",
            "mount",
            "mount_setattr",
            "move_mount",
            "open_tree",
            "perf_event_open",
            "quotactl",
            "quotactl_fd",
            "setdomainname",
            "sethostname",
            "setns",
            "syslog",
            "umount2",
            "unshare",
            "statmount",
            "listmount",
        ],
    ),
    (Capability::CAP_SYS_BOOT, &["reboot"]),
    (Capability::CAP_SYS_CHROOT, &["chroot"]),
    (Capability::CAP_SYS_MODULE, &["delete_module", "init_module", "finit_module"]),
    (Capability::CAP_SYS_PACCT, &["acct"]),
    (
        Capability::CAP_SYS_PTRACE,
        &["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"],
    ),
    (Capability::CAP_SYS_RAWIO, &["iopl", "ioperm"]),
    (Capability::CAP_SYS_TIME, &["settimeofday", "clock_settime"]),
    (Capability::CAP_SYS_TTY_CONFIG, &["vhangup"]),
    (
        Capability::CAP_SYS_NICE,
        &["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node", "migrate_pages", "move_pages"],
    ),
    (Capability::CAP_SYSLOG, &["syslog"]),
    (Capability::CAP_BPF, &["bpf"]),
    (Capability::CAP_PERFMON, &["perf_event_open"]),
];

/// `personality` values allowed: PER_LINUX, PER_LINUX32 (0x8), UNAME26 (0x20000), both,
/// and 0xffffffff (query the current persona).
const PERSONALITIES: &[u64] = &[0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

/// `CLONE_NEW*` flags `clone` takes (NS, CGROUP, UTS, IPC, USER, PID, NET).
const CLONE_NEW_MASK: u64 = 0x7E02_0000;
/// And `unshare` also `CLONE_NEWTIME` (0x80).
const UNSHARE_NEW_MASK: u64 = CLONE_NEW_MASK | 0x80;

const AF_VSOCK: u64 = 40;

const EPERM: u32 = libc::EPERM as u32;
const ENOSYS: u32 = libc::ENOSYS as u32;

/// The profile's name, as `cocoon-run --verbose` shows it.
pub const DEFAULT_PROFILE_NAME: &str = "cocoon default (Docker-compatible allowlist)";

impl Profile {
    /// The default profile for a process whose bounding set is `caps`: see the module
    /// docs of `src/seccomp/default_profile.rs` (summarised in docs/SECURITY.md).
    pub fn default_profile(caps: CapSet) -> Profile {
        let mut p = Profile::new(Action::Errno(EPERM))
            .named(DEFAULT_PROFILE_NAME)
            .rule(Rule::new(Action::Allow, ALLOWED.iter().copied()));
        for v in PERSONALITIES {
            p = p.rule(Rule::new(Action::Allow, ["personality"]).arg(Arg::new(0, Op::Eq, *v)));
        }
        p = p.rule(Rule::new(Action::Allow, ["socket"]).arg(Arg::new(0, Op::Ne, AF_VSOCK)));
        let admin = caps.contains(Capability::CAP_SYS_ADMIN);
        if !admin {
            p = p
                .rule(Rule::new(Action::Allow, ["clone"]).arg(Arg::masked_eq(0, CLONE_NEW_MASK, 0)))
                .rule(Rule::new(Action::Allow, ["unshare"]).arg(Arg::masked_eq(0, UNSHARE_NEW_MASK, 0)))
                .rule(Rule::new(Action::Errno(ENOSYS), ["clone3"]));
        }
        for (cap, names) in CAP_RULES {
            if caps.contains(*cap) {
                p = p.rule(Rule::new(Action::Allow, names.iter().copied()));
            }
        }
        p
    }
}
