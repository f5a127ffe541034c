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
//! The monitor of a new container shares the caller's memory (`CLONE_VM`, on a stack of its
//! own, see `spawn::start`): no copy of the host's page tables per container, and no
//! copy-on-write faults in the caller while it lives. It reads what the caller prepared
//! only until it has reported the program's pid (the caller waits for that report), then
//! only its own stack. It stays in the host's namespaces, so it is as reachable from a
//! container as the caller itself. The monitor of an exec'd process joins the container's
//! namespaces, which a process sharing memory cannot do for a user namespace: it is a
//! fork, made non-dumpable before it joins.
//!
//! It runs in (a copy of) a possibly multithreaded host: the AUDIT RULES of `child/mod.rs`
//! apply here too (no allocation, no locks, no panics), and it makes its syscalls through
//! `raw` (a failing libc wrapper would write the `errno` of the caller's thread).

use libc::{c_int, c_uint};

use crate::child::logwrite::{LogCtx, LogWriter, ReadBuf};
use crate::child::raw;
use crate::child::{ChildCtx, Report, REPORT_ERROR, REPORT_PID};
use crate::error::Stage;
use crate::plan::{Plan, ProcessPlan};
use crate::sys::{self, CloneArgs};

/// Byte the caller sends on the control socket when it detaches the container.
pub(crate) const MSG_DETACH: u8 = b'D';

/// What the monitor needs besides the program's [`ChildCtx`]. Copied onto the monitor's
/// own stack first thing: the caller's copy is gone once it has the report.
#[derive(Clone, Copy)]
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
    /// Clone the program with `CLONE_PARENT` (the caller's own child) and exit once its
    /// pid is reported: nothing to watch ([`crate::ContainerBuilder::direct_child`]).
    pub direct: bool,
    /// The program's log (`LogCtx::NONE`: none): the monitor writes it (`logwrite.rs`).
    pub log: LogCtx,
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
    crate::child::send_with_fd(sock, r, fd);
}

fn fail(sock: c_int, stage: Stage, errno: c_int) -> ! {
    report(sock, &Report { kind: REPORT_ERROR, stage: stage as u32, index: 0, errno, pid: 0 }, -1);
    raw::exit(127)
}

/// Entry point of the monitor (the caller's direct child). Never returns.
pub(crate) fn run(m: &MonitorCtx, ctx: &ChildCtx<'_>, program: Program<'_>) -> ! {
    // Our own copy: `m` lives in the caller's stack frame, which ends with the report.
    let m = *m;
    raw::close(m.parent_sock);
    raw::close(ctx.parent_sock);
    // Nothing inside may ptrace or open this copy of the host (CVE-2016-9962 class). For
    // exec, before joining (the program's process inherits it); for a new container only
    // after cloning its first process, which must stay dumpable until it execs: its
    // /proc files are what an unprivileged caller writes the id maps into (a
    // non-dumpable process's belong to root). It makes itself non-dumpable before joining
    // namespaces by path.
    let joining = matches!(program, Program::Join(_));
    if joining {
        // A fork (see the module comment), so this is our own memory's flag.
        let _ = sys::prctl(libc::PR_SET_DUMPABLE, 0, 0);
    }
    raw::sigprocmask(libc::SIG_SETMASK, !0);
    // Watch the caller's thread group. Opened by pid, so check right after that the pid is
    // still our parent's: otherwise the caller died before we got here (and the pid may
    // already be someone else's).
    let host = raw::pidfd_open(m.host_pid).unwrap_or(-1);
    if host < 0 || raw::getppid() != m.host_pid {
        raw::exit(127);
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
    let pid = match unsafe { clone_program(&m, &mut pidfd) } {
        Ok(p) => p,
        Err(e) => {
            // A negative pid carries the clone errno (the caller reports it as it did
            // when it cloned the program itself).
            report(m.sock, &Report { kind: REPORT_PID, pid: -e, ..Report::default() }, -1);
            raw::exit(127)
        }
    };
    if pid == 0 {
        // The program's process: a memory of its own from here on.
        sys::close(m.sock);
        sys::close(host);
        if m.kill_fd >= 0 {
            sys::close(m.kill_fd);
        }
        for fd in [m.log.pipes[0], m.log.pipes[1], m.log.file, m.log.dir] {
            if fd >= 0 {
                sys::close(fd);
            }
        }
        match program {
            Program::Container(plan) => crate::child::run_container(plan, ctx),
            Program::Join(p) => crate::child::run_joined(p, ctx),
        }
    }
    report(m.sock, &Report { kind: REPORT_PID, pid, ..Report::default() }, pidfd);
    if m.direct {
        // The program is the caller's child: the caller waits for it and kills it itself.
        raw::exit(0);
    }
    // From here on, nothing of the caller's: it may have freed what `ctx` points to.
    // Keep only what the loop needs: above all, no stdio pipe end (the caller's readers
    // must see EOF when the program closes them) and no copy of the setup socket (EOF on
    // it tells the caller that the program exec'd).
    let l = &m.log;
    let keep = [m.sock, host, pidfd, m.kill_fd, l.pipes[0], l.pipes[1], l.file, l.dir];
    close_all_but(&keep);
    if m.log.enabled() {
        watch_with_log(m.sock, host, pidfd, m.kill_fd, m.log)
    }
    watch(m.sock, host, pidfd, m.kill_fd, None)
}

/// [`watch`] with the log writer and its read buffer (≈ 180 KiB) on this frame: a frame of
/// its own, so that a monitor without a log never touches those pages (the stack probes
/// of a large frame touch every page of it, and a `CLONE_VM` monitor's pages are the
/// caller's memory).
#[inline(never)]
#[cold]
fn watch_with_log(sock: c_int, host: c_int, pidfd: c_int, kill_fd: c_int, ctx: LogCtx) -> ! {
    let mut w = core::mem::MaybeUninit::<LogWriter>::uninit();
    let w = LogWriter::init(&mut w, ctx);
    let mut buf: ReadBuf = [0; core::mem::size_of::<ReadBuf>()];
    watch(sock, host, pidfd, kill_fd, Some((w, &mut buf)))
}

/// Clones the program's process with the container's namespaces (no exit signal: we wait
/// with `__WALL`).
///
/// # Safety
/// The child (0) may only run async-signal-safe code.
unsafe fn clone_program(m: &MonitorCtx, pidfd: &mut c_int) -> sys::SysResult<c_int> {
    let into = if m.cgroup_fd >= 0 { sys::CLONE_INTO_CGROUP } else { 0 };
    let parent = if m.direct { libc::CLONE_PARENT as u64 } else { 0 };
    let mut args = CloneArgs {
        flags: m.clone_flags | sys::CLONE_PIDFD | into | parent,
        pidfd: pidfd as *mut c_int as u64,
        exit_signal: 0,
        cgroup: if m.cgroup_fd >= 0 { m.cgroup_fd as u64 } else { 0 },
        ..CloneArgs::default()
    };
    // SAFETY: forwarded to the caller's contract.
    match unsafe { raw::clone3(&mut args) } {
        Err(libc::ENOSYS) if into == 0 => {
            // SAFETY: as above.
            unsafe { raw::clone_legacy(m.clone_flags | sys::CLONE_PIDFD | parent, pidfd) }
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
                    raw::close_range(next, k - 1);
                }
                next = k + 1;
            }
            None => {
                raw::close_range(next, c_uint::MAX);
                return;
            }
        }
    }
}

/// How long the monitor keeps reading the log pipes after the program ended: processes it
/// left behind (no PID namespace) may hold them open.
const DRAIN_MS: i64 = 2000;

/// The monitor's loop: until the program ends, watch the caller's life and the control
/// socket (and write the program's log); then exit with the program's status.
fn watch(sock: c_int, host: c_int, pidfd: c_int, kill_fd: c_int, mut log: Option<(&mut LogWriter, &mut ReadBuf)>) -> ! {
    let pipe = |log: &Option<(&mut LogWriter, &mut ReadBuf)>, i: usize| log.as_ref().map_or(-1, |(w, _)| w.pipe(i));
    let mut fds = [
        libc::pollfd { fd: pidfd, events: libc::POLLIN, revents: 0 },
        libc::pollfd { fd: sock, events: libc::POLLIN, revents: 0 },
        libc::pollfd { fd: host, events: libc::POLLIN, revents: 0 },
        libc::pollfd { fd: pipe(&log, 0), events: libc::POLLIN, revents: 0 },
        libc::pollfd { fd: pipe(&log, 1), events: libc::POLLIN, revents: 0 },
    ];
    // The program's end (si_code, si_status) and the drain deadline, once it has ended.
    let mut ended: Option<(c_int, c_int, i64)> = None;
    loop {
        for f in fds.iter_mut() {
            f.revents = 0;
        }
        let timeout = match ended {
            Some((_, _, deadline)) => (deadline - raw::monotonic_ms()).clamp(0, DRAIN_MS) as c_int,
            None => -1,
        };
        if raw::poll_ms(&mut fds, timeout).is_err() {
            continue;
        }
        let [prog, _, _, out, err] = &mut fds;
        if prog.revents != 0 {
            prog.fd = -1;
            let (code, status) = reap(pidfd);
            ended = Some((code, status, raw::monotonic_ms() + DRAIN_MS));
        }
        for (i, p) in [out, err].into_iter().enumerate() {
            if p.fd >= 0 && p.revents != 0 {
                if let Some((w, buf)) = log.as_mut() {
                    if !w.pump(i, buf) {
                        p.fd = -1;
                    }
                }
            }
        }
        if let Some((code, status, deadline)) = ended {
            let drained = fds[3].fd < 0 && fds[4].fd < 0;
            if drained || raw::monotonic_ms() >= deadline {
                if let Some((w, _)) = log.as_mut() {
                    for i in 0..2 {
                        if w.pipe(i) >= 0 {
                            w.end_stream(i);
                        }
                    }
                }
                exit_as(code, status);
            }
            continue;
        }
        let [_, ctl, hostp, _, _] = &mut fds;
        // The control socket first: a detach sent just before the caller died counts.
        if ctl.revents != 0 {
            match raw::recv_byte(sock) {
                Ok(Some(MSG_DETACH)) => {
                    // Detached: the container outlives the caller.
                    hostp.fd = -1;
                    ctl.fd = -1;
                }
                Ok(Some(_)) | Err(libc::EAGAIN) | Err(libc::EINTR) => {}
                // The caller closed the handle without detaching: it kills the program itself.
                Ok(None) | Err(_) => ctl.fd = -1,
            }
        }
        if hostp.fd >= 0 && hostp.revents != 0 {
            // The caller died without detaching: the container dies with it.
            hostp.fd = -1;
            if kill_fd >= 0 {
                raw::write_all(kill_fd, b"1");
            }
            let _ = raw::pidfd_send_signal(pidfd, libc::SIGKILL);
        }
    }
}

/// Reaps the program: its (si_code, si_status).
fn reap(pidfd: c_int) -> (c_int, c_int) {
    // SAFETY: siginfo_t is plain data; waitid fills it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let _ = raw::wait_pidfd(pidfd, &mut info);
    // SAFETY: waitid filled si_code/si_status for a CLD_* event (zeroed if it failed).
    unsafe { (info.si_code, info.si_status()) }
}

/// Ends this process the way the program ended.
fn exit_as(code: c_int, status: c_int) -> ! {
    if code == libc::CLD_EXITED {
        raw::exit(status);
    }
    if code == libc::CLD_KILLED || code == libc::CLD_DUMPED {
        die_of(status);
    }
    raw::exit(127)
}

/// Dies of signal `sig` (without a core dump: this is a copy of the host).
fn die_of(sig: c_int) -> ! {
    raw::no_core();
    raw::default_action(sig);
    raw::kill(raw::getpid(), sig);
    if (1..=64).contains(&sig) {
        raw::sigprocmask(libc::SIG_UNBLOCK, 1u64 << (sig - 1));
    }
    // Not a deadly signal after all: the shell convention.
    raw::exit(128 + sig)
}
