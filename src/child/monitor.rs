//! The monitor: the one process per container (and per exec'd process) that is the
//! caller's direct child. It never execs, so it keeps the "no exit signal" it was cloned
//! with: the host's SIGCHLD handlers and `waitid(-1)`/`waitpid(-1)` reapers never see it
//! (the kernel gives a process SIGCHLD back as its exit signal when it execs, which is why
//! the program itself cannot be our direct child). It
//! - clones the program's process (which sets up the container and execs) and reports
//!   its pid and pidfd to the caller over its control socket;
//! - waits for it and exits with the same status (same exit code, or dies of the same
//!   signal), so waiting for the monitor is waiting for the program;
//! - kills the program when the caller's process dies (all its threads: it watches a pidfd
//!   of the caller's thread group, so a spawning thread that exits does not count), unless
//!   the caller detached the container first.
//!
//! It runs in a copy of a possibly multithreaded host: the AUDIT RULES of `child/mod.rs`
//! apply here too (raw syscalls only, no allocation, no locks, no panics).

use libc::{c_int, c_uint};

use crate::child::{self, ChildCtx, Report, REPORT_ERROR, REPORT_PID};
use crate::error::Stage;
use crate::plan::{Plan, ProcessPlan};
use crate::sys::{self, CloneArgs};

/// Byte the caller sends on the control socket when it detaches the container.
pub(crate) const MSG_DETACH: u8 = b'D';

/// What the monitor needs besides the program's [`ChildCtx`].
pub(crate) struct MonitorCtx {
    /// The monitor's end of the control socket (pid report, detach).
    pub sock: c_int,
    /// The caller's end of it, closed first thing.
    pub parent_sock: c_int,
    /// The caller's pid (its thread group), watched for death.
    pub host_pid: c_int,
    /// `CLONE_NEW*` flags for the program's process (spawn) — 0 for exec.
    pub clone_flags: u64,
    /// cgroup v2 directory fd for `CLONE_INTO_CGROUP` (-1: none).
    pub cgroup_fd: c_int,
    /// An open `cgroup.kill` of the container's cgroup (-1: none): written when the caller
    /// dies, so processes that left the PID namespace's reach (no PID namespace) die too.
    pub kill_fd: c_int,
}

/// What the program's process runs after the monitor cloned it.
pub(crate) enum Program<'a> {
    /// A new container: full setup, then exec.
    Container(&'a Plan),
    /// A process joining a running container (the monitor has already joined its
    /// namespaces): stdio, then exec.
    Join(&'a ProcessPlan),
}

fn report(sock: c_int, r: &Report, fd: c_int) {
    child::send_with_fd(sock, r, fd);
}

fn fail(sock: c_int, stage: Stage, errno: c_int) -> ! {
    report(sock, &Report { kind: REPORT_ERROR, stage: stage as u32, index: 0, errno, pid: 0 }, -1);
    sys::exit(127)
}

/// Entry point of the monitor (the caller's direct child). Never returns.
pub(crate) fn run(m: &MonitorCtx, ctx: &ChildCtx<'_>, program: Program<'_>) -> ! {
    sys::close(m.parent_sock);
    sys::close(ctx.parent_sock);
    // Nothing inside may ptrace or open this copy of the host (CVE-2016-9962 class). For
    // exec, before joining (the program's process inherits it); for a new container only
    // after cloning its first process, which must stay dumpable until it execs: its
    // /proc files are what an unprivileged caller writes the id maps into (a
    // non-dumpable process's belong to root). It makes itself non-dumpable before joining
    // namespaces by path.
    let joining = matches!(program, Program::Join(_));
    if joining {
        let _ = sys::prctl(libc::PR_SET_DUMPABLE, 0, 0);
    }
    block_all_signals();
    // Watch the caller's thread group. Opened by pid, so check right after that the pid is
    // still our parent's: otherwise the caller died before we got here (and the pid may
    // already be someone else's).
    let host = sys::pidfd_open(m.host_pid).unwrap_or(-1);
    // SAFETY: getppid has no arguments and cannot fail.
    if host < 0 || unsafe { libc::getppid() } != m.host_pid {
        sys::exit(127);
    }
    if ctx.join_pidfd >= 0 {
        // Exec: join the container's namespaces here, so the program is cloned straight
        // into its PID namespace as our child.
        if let Err(e) = sys::setns(ctx.join_pidfd, ctx.join_flags) {
            fail(m.sock, Stage::JoinNamespaces, e);
        }
    }
    let mut pidfd: c_int = -1;
    // SAFETY: the child branch runs only the async-signal-safe setup in `child` and ends in
    // execve or _exit.
    let pid = match unsafe { clone_program(m, &mut pidfd) } {
        Ok(p) => p,
        Err(e) => {
            // A negative pid carries the clone errno (the caller reports it as it did
            // when it cloned the program itself).
            report(m.sock, &Report { kind: REPORT_PID, pid: -e, ..Report::default() }, -1);
            sys::exit(127)
        }
    };
    if pid == 0 {
        sys::close(m.sock);
        sys::close(host);
        if m.kill_fd >= 0 {
            sys::close(m.kill_fd);
        }
        match program {
            Program::Container(plan) => child::run_container(plan, ctx),
            Program::Join(p) => child::run_joined(p, ctx),
        }
    }
    if !joining {
        let _ = sys::prctl(libc::PR_SET_DUMPABLE, 0, 0);
    }
    report(m.sock, &Report { kind: REPORT_PID, pid, ..Report::default() }, pidfd);
    // Keep only what the loop needs: above all, no stdio pipe end (the caller's readers
    // must see EOF when the program closes them) and no copy of the setup socket (EOF on
    // it tells the caller that the program exec'd).
    let keep = [m.sock, host, pidfd, m.kill_fd];
    close_all_but(&keep);
    watch(m.sock, host, pidfd, m.kill_fd)
}

fn block_all_signals() {
    // SAFETY: sigset manipulation on a stack value; sigprocmask is async-signal-safe.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::sigprocmask(libc::SIG_SETMASK, &all, std::ptr::null_mut());
    }
}

/// Clones the program's process with the container's namespaces (no exit signal: we wait
/// with `__WALL`).
///
/// # Safety
/// The child (0) may only run async-signal-safe code.
unsafe fn clone_program(m: &MonitorCtx, pidfd: &mut c_int) -> sys::SysResult<c_int> {
    let into = if m.cgroup_fd >= 0 { sys::CLONE_INTO_CGROUP } else { 0 };
    let mut args = CloneArgs {
        flags: m.clone_flags | sys::CLONE_PIDFD | into,
        pidfd: pidfd as *mut c_int as u64,
        exit_signal: 0,
        cgroup: if m.cgroup_fd >= 0 { m.cgroup_fd as u64 } else { 0 },
        ..CloneArgs::default()
    };
    // SAFETY: forwarded to the caller's contract.
    match unsafe { sys::clone3(&mut args) } {
        Err(libc::ENOSYS) if into == 0 => {
            // SAFETY: as above.
            unsafe { sys::clone_legacy(m.clone_flags | sys::CLONE_PIDFD, 0, pidfd) }
        }
        r => r,
    }
}

/// Closes every fd but those in `keep` (-1 entries ignored), without allocating.
fn close_all_but(keep: &[c_int]) {
    let mut next: c_uint = 0;
    loop {
        let mut low: Option<c_uint> = None;
        for k in keep.iter().filter(|k| **k >= 0).map(|k| *k as c_uint) {
            if k >= next && low.is_none_or(|l| k < l) {
                low = Some(k);
            }
        }
        match low {
            Some(k) => {
                if k > next {
                    let _ = sys::close_range(next, k - 1, 0);
                }
                next = k + 1;
            }
            None => {
                let _ = sys::close_range(next, c_uint::MAX, 0);
                return;
            }
        }
    }
}

/// The monitor's loop: until the program ends, watch the caller's life and the control
/// socket; then exit with the program's status.
fn watch(sock: c_int, host: c_int, pidfd: c_int, kill_fd: c_int) -> ! {
    let mut fds = [
        libc::pollfd { fd: pidfd, events: libc::POLLIN, revents: 0 },
        libc::pollfd { fd: sock, events: libc::POLLIN, revents: 0 },
        libc::pollfd { fd: host, events: libc::POLLIN, revents: 0 },
    ];
    loop {
        for f in fds.iter_mut() {
            f.revents = 0;
        }
        if sys::poll(&mut fds, -1).is_err() {
            continue;
        }
        let [prog, ctl, hostp] = &mut fds;
        if prog.revents != 0 {
            mirror_exit(pidfd);
        }
        // The control socket first: a detach sent just before the caller died counts.
        if ctl.revents != 0 {
            let mut b = 0u8;
            // SAFETY: reading one byte into a stack variable.
            let n = unsafe { libc::recv(sock, (&mut b as *mut u8).cast(), 1, libc::MSG_DONTWAIT) };
            if n == 1 && b == MSG_DETACH {
                // Detached: the container outlives the caller.
                hostp.fd = -1;
                ctl.fd = -1;
            } else if n == 0 || (n < 0 && sys::last_errno() != libc::EAGAIN && sys::last_errno() != libc::EINTR) {
                // The caller closed the handle without detaching: it kills the program itself.
                ctl.fd = -1;
            }
        }
        if hostp.fd >= 0 && hostp.revents != 0 {
            // The caller died without detaching: the container dies with it.
            hostp.fd = -1;
            if kill_fd >= 0 {
                let _ = sys::write_all(kill_fd, b"1");
            }
            let _ = sys::pidfd_send_signal(pidfd, libc::SIGKILL);
        }
    }
}

/// Reaps the program and ends this process the same way it ended.
fn mirror_exit(pidfd: c_int) -> ! {
    // SAFETY: siginfo_t is plain data; waitid fills it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: waitid on our child's pidfd with a valid siginfo pointer.
        let r = unsafe { libc::waitid(libc::P_PIDFD, pidfd as libc::id_t, &mut info, libc::WEXITED | libc::__WALL) };
        if r == 0 || sys::last_errno() != libc::EINTR {
            break;
        }
    }
    // SAFETY: waitid filled si_code/si_status for a CLD_* event (zeroed if it failed).
    let (code, status) = unsafe { (info.si_code, info.si_status()) };
    if code == libc::CLD_EXITED {
        sys::exit(status);
    }
    if code == libc::CLD_KILLED || code == libc::CLD_DUMPED {
        die_of(status);
    }
    sys::exit(127)
}

/// Dies of signal `sig` (without a core dump: this is a copy of the host).
fn die_of(sig: c_int) -> ! {
    let zero = libc::rlimit64 { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: prlimit64 on ourselves; sigaction/sigprocmask/kill on our own process with
    // stack values; all async-signal-safe.
    unsafe {
        libc::prlimit64(0, libc::RLIMIT_CORE, &zero, std::ptr::null_mut());
        let dfl: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, &dfl, std::ptr::null_mut());
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::kill(libc::getpid(), sig);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
    }
    // Not a deadly signal after all: the shell convention.
    sys::exit(128 + sig)
}
