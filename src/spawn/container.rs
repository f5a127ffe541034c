//! The handles of a running container and of processes exec'd into it.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::process::{ChildStderr, ChildStdin, ChildStdout};
use std::time::{Duration, Instant};

use crate::cgroup::ContainerCgroup;
use crate::error::{Error, Result};
use crate::namespace::Namespaces;
use crate::plan::Plan;
use crate::process::Process;
use crate::selinux::SelinuxPlan;
use crate::run::EndedBy;
use crate::sys;

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitStatus {
    /// It exited with this code.
    Exited(i32),
    /// It was killed by this signal.
    Signaled(i32),
}

impl ExitStatus {
    /// Exited with code 0.
    pub fn success(self) -> bool {
        self == ExitStatus::Exited(0)
    }

    /// The exit code, if it exited.
    pub fn code(self) -> Option<i32> {
        match self {
            ExitStatus::Exited(c) => Some(c),
            ExitStatus::Signaled(_) => None,
        }
    }

    /// The signal that killed it, if one did.
    pub fn signal(self) -> Option<i32> {
        match self {
            ExitStatus::Signaled(s) => Some(s),
            ExitStatus::Exited(_) => None,
        }
    }
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitStatus::Exited(c) => write!(f, "exit code {c}"),
            ExitStatus::Signaled(s) => write!(f, "killed by signal {s}"),
        }
    }
}

/// Reaps the (exited or about to exit) process behind `pidfd`, ignoring errors: for
/// teardown paths.
pub(crate) fn reap_pidfd(pidfd: &OwnedFd) {
    loop {
        // SAFETY: siginfo_t is plain data; waitid fills it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid on a pidfd we own with a valid siginfo pointer.
        let r = unsafe {
            libc::waitid(libc::P_PIDFD, pidfd.as_raw_fd() as libc::id_t, &mut info, libc::WEXITED | libc::__WALL)
        };
        if r == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return;
        }
    }
}

/// A process started for the caller, tracked by pidfds (no pid-reuse races): the
/// program's own process (signalled, joined) and its monitor, the caller's direct child
/// whose exit status is the program's (waited on; see [`crate::monitor`]).
#[derive(Debug)]
pub(crate) struct Proc {
    pid: i32,
    pidfd: OwnedFd,
    monitor_pid: i32,
    monitor: OwnedFd,
    /// The caller's end of the monitor's control socket.
    ctl: OwnedFd,
    status: Option<ExitStatus>,
    /// The stack of a monitor that shares our memory: unmapped only once it has ended.
    stack: Option<super::MonitorStack>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(stack) = self.stack.take() {
            if self.status.is_none() {
                // Not reaped by us (detached, or the handle dropped early): it may still run.
                stack.leave(&self.monitor);
            }
        }
    }
}

impl Proc {
    pub(crate) fn new(
        pid: i32,
        pidfd: OwnedFd,
        monitor_pid: i32,
        monitor: OwnedFd,
        ctl: OwnedFd,
        stack: Option<super::MonitorStack>,
    ) -> Proc {
        Proc { pid, pidfd, monitor_pid, monitor, ctl, status: None, stack }
    }

    fn wait_flags(&mut self, flags: i32) -> Result<Option<ExitStatus>> {
        if let Some(s) = self.status {
            return Ok(Some(s));
        }
        loop {
            // SAFETY: siginfo_t is plain data; waitid fills it.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: waitid on the monitor's pidfd with a valid siginfo pointer. __WALL:
            // the monitor has no exit signal.
            let r = unsafe {
                libc::waitid(
                    libc::P_PIDFD,
                    self.monitor.as_raw_fd() as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::__WALL | flags,
                )
            };
            if r != 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Error::os("waitid", format!("pid {}", self.pid), e));
            }
            // SAFETY: waitid succeeded; si_pid/si_status are valid for CLD_* codes.
            let (pid, code, status) = unsafe { (info.si_pid(), info.si_code, info.si_status()) };
            if pid == 0 {
                return Ok(None); // WNOHANG and still running
            }
            let s = if code == libc::CLD_EXITED { ExitStatus::Exited(status) } else { ExitStatus::Signaled(status) };
            self.status = Some(s);
            return Ok(Some(s));
        }
    }

    /// Tells the monitor that the process outlives the caller; returns the monitor's pid
    /// (the process the caller reaps; its exit status is the program's).
    pub(crate) fn detach(&self) -> i32 {
        let b = [crate::child::monitor::MSG_DETACH];
        // SAFETY: sending one byte from a stack buffer; MSG_NOSIGNAL: a dead monitor gives EPIPE.
        unsafe { libc::send(self.ctl.as_raw_fd(), b.as_ptr().cast(), 1, libc::MSG_NOSIGNAL) };
        self.monitor_pid
    }

    /// The fd that polls readable once the process has ended (the monitor's pidfd).
    pub(crate) fn wait_fd(&self) -> BorrowedFd<'_> {
        self.monitor.as_fd()
    }

    pub(crate) fn wait(&mut self) -> Result<ExitStatus> {
        match self.wait_flags(0)? {
            Some(s) => Ok(s),
            None => unreachable!("waitid without WNOHANG returns only when the child ended"),
        }
    }

    pub(crate) fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        self.wait_flags(libc::WNOHANG)
    }

    /// Waits at most `limit` (polling the monitor's pidfd: no busy loop; EINTR resumes
    /// with the time left).
    pub(crate) fn wait_timeout(&mut self, limit: Duration) -> Result<Option<ExitStatus>> {
        if self.status.is_some() {
            return self.try_wait();
        }
        // A limit too large for an Instant is no limit.
        match Instant::now().checked_add(limit) {
            Some(deadline) => {
                if super::run::readable_before(self.monitor.as_fd(), deadline)? {
                    // The monitor has exited: reap it (never blocks now).
                    return self.wait().map(Some);
                }
                self.try_wait()
            }
            None => self.wait().map(Some),
        }
    }

    pub(crate) fn kill(&self, signal: i32) -> Result<()> {
        if self.status.is_some() {
            return Err(Error::AlreadyExited);
        }
        match sys::pidfd_send_signal(self.pidfd.as_raw_fd(), signal) {
            Ok(()) => Ok(()),
            // Exited but not yet reaped: nothing to signal.
            Err(libc::ESRCH) => Err(Error::AlreadyExited),
            Err(e) => Err(Error::os("pidfd_send_signal", format!("pid {} signal {signal}", self.pid), std::io::Error::from_raw_os_error(e))),
        }
    }

    /// SIGKILL (if still running) and reap. Never fails: used on teardown paths.
    pub(crate) fn kill_and_reap(&mut self) {
        if self.status.is_none() {
            let _ = sys::pidfd_send_signal(self.pidfd.as_raw_fd(), libc::SIGKILL);
            let _ = self.wait();
        }
    }

    pub(crate) fn pid(&self) -> i32 {
        self.pid
    }
}

type StdioEnds = [Option<OwnedFd>; 3];

/// The caller's ends of a process's piped streams.
#[derive(Debug)]
struct Pipes {
    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
}

impl Pipes {
    fn new([stdin, stdout, stderr]: StdioEnds) -> Pipes {
        Pipes {
            stdin: stdin.map(ChildStdin::from),
            stdout: stdout.map(ChildStdout::from),
            stderr: stderr.map(ChildStderr::from),
        }
    }

    /// Takes stream 0, 1 or 2 as a plain fd (for the C ABI).
    fn take_fd(&mut self, stream: i32) -> Option<OwnedFd> {
        match stream {
            0 => self.stdin.take().map(Into::into),
            1 => self.stdout.take().map(Into::into),
            2 => self.stderr.take().map(Into::into),
            _ => None,
        }
    }
}

/// A running container: its first process, namespaces, cgroup and labels.
///
/// Dropping it (or calling [`Container::delete`]) kills every process in it, reaps them
/// and removes the cgroup: nothing outlives the handle unless [`Container::detach`] is
/// called.
#[derive(Debug)]
pub struct Container {
    id: String,
    main: Proc,
    namespaces: Namespaces,
    setgroups_deny: bool,
    cgroup: Option<Box<dyn ContainerCgroup>>,
    selinux: SelinuxPlan,
    pipes: Pipes,
    detached: bool,
    net: Option<crate::net::Attachment>,
    landlock: Option<std::sync::Arc<crate::plan::Ruleset>>,
}

impl Container {
    pub(crate) fn new(
        id: String,
        main: Proc,
        plan: &Plan,
        cgroup: Option<Box<dyn ContainerCgroup>>,
        selinux: SelinuxPlan,
        ends: StdioEnds,
        net: Option<crate::net::Attachment>,
    ) -> Container {
        Container {
            id,
            main,
            namespaces: plan.namespaces,
            setgroups_deny: plan.setgroups_deny,
            cgroup,
            selinux,
            pipes: Pipes::new(ends),
            detached: false,
            net,
            landlock: plan.landlock.clone(),
        }
    }

    /// The container's id (names its cgroup).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The host pid of the container's first process.
    pub fn pid(&self) -> i32 {
        self.main.pid()
    }

    /// The container's bridge network (interface, address, gateway, host veth), if it
    /// has one ([`crate::Network::Bridge`]).
    pub fn network(&self) -> Option<&crate::net::NetworkInfo> {
        self.net.as_ref().map(|n| &n.info)
    }

    /// The namespaces the container was created with.
    pub fn namespaces(&self) -> Namespaces {
        self.namespaces
    }

    /// What its Landlock ruleset became on this kernel ([`Plan::landlock_status`]).
    pub fn landlock_status(&self) -> Option<&crate::plan::LandlockStatus> {
        self.landlock.as_deref().map(|r| &*r.status)
    }

    /// The ruleset processes exec'd into the container get.
    pub(crate) fn landlock_ruleset(&self) -> Option<&crate::plan::Ruleset> {
        self.landlock.as_deref()
    }

    /// Waits for the container's first process to end.
    pub fn wait(&mut self) -> Result<ExitStatus> {
        self.main.wait()
    }

    /// Returns the exit status if the first process has ended, without blocking.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        self.main.try_wait()
    }

    /// Waits at most `limit` for the first process to end: `Ok(None)` if it still runs
    /// then (it is not killed: see [`crate::RunOptions::timeout`] for a run that is).
    /// Polls the wait fd, so no busy loop; a signal does not end the wait early.
    pub fn wait_timeout(&mut self, limit: Duration) -> Result<Option<ExitStatus>> {
        self.main.wait_timeout(limit)
    }

    /// What ended the first process, once it has ended (`None` while it runs): the OOM
    /// killer or the pids limit of the container's cgroup, else its exit or signal. Never
    /// [`EndedBy::Timeout`]: the container has no time limit of its own (see
    /// [`crate::RunOptions::timeout`]).
    pub fn ended_by(&mut self) -> Result<Option<EndedBy>> {
        Ok(self.main.try_wait()?.map(|s| super::run::classify(self, s)))
    }

    /// An fd owned by the handle that polls readable (`POLLIN`) once the container's
    /// first process has exited: wait on it in an event loop (or an interruptible
    /// `poll`), then [`Container::wait`] returns at once. Only poll it: do not read,
    /// close or signal through it (use [`Container::kill`]); which kernel object it is
    /// is not part of the API.
    pub fn wait_fd(&self) -> BorrowedFd<'_> {
        self.main.wait_fd()
    }

    /// A pidfd of the container's first process, owned by the handle (valid while it
    /// lives; do not close it): for `pidfd_send_signal`, `setns` or `pidfd_getfd`, or to
    /// poll (readable once that process has exited; [`Container::wait`] may then still
    /// block for the moment cocoon's monitor takes to report, so wait in event loops on
    /// [`Container::wait_fd`]).
    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.main.pidfd.as_fd()
    }

    /// Sends `signal` to the container's first process. Note that a PID 1 without a
    /// handler ignores every signal but SIGKILL (use [`crate::ContainerBuilder::init`]
    /// to have signals forwarded).
    pub fn kill(&self, signal: i32) -> Result<()> {
        self.main.kill(signal)
    }

    /// Runs another process inside the running container: it joins every namespace the
    /// container has and its cgroup, with `process`'s user, capabilities and limits.
    pub fn exec(&self, process: &Process) -> Result<ExecProcess> {
        if self.main.status.is_some() {
            return Err(Error::AlreadyExited);
        }
        crate::spawn::exec(self, process)
    }

    /// Takes stream 0, 1 or 2 as a plain fd, if it was piped (for the C ABI).
    pub(crate) fn take_stdio_fd(&mut self, stream: i32) -> Option<OwnedFd> {
        self.pipes.take_fd(stream)
    }

    /// The caller's end of the program's stdin, if it was [`crate::Stdio::Piped`].
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.pipes.stdin.take()
    }

    /// The caller's end of the program's stdout, if it was [`crate::Stdio::Piped`].
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.pipes.stdout.take()
    }

    /// The caller's end of the program's stderr, if it was [`crate::Stdio::Piped`].
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.pipes.stderr.take()
    }

    /// SIGKILLs every process of the container: its first process (with a PID namespace
    /// the kernel then kills the rest) and, without one, everything in its cgroup. False
    /// if the first process had already exited.
    pub(crate) fn kill_everything(&self) -> bool {
        // A frozen process cannot die.
        if let Some(cg) = self.user_cgroup() {
            let _ = cg.thaw();
        }
        let killed = !matches!(self.main.kill(libc::SIGKILL), Err(Error::AlreadyExited));
        if !self.namespaces.contains(Namespaces::PID) {
            // Without a PID namespace the cgroup is the container's own (the shared
            // policy directory is used only with one).
            if let Some(cg) = self.cgroup() {
                let _ = cg.kill_all();
            }
        }
        killed
    }

    /// The stats of the caller's cgroup, if there is one and it can be read.
    pub(crate) fn user_cgroup_stats(&self) -> Option<crate::cgroup::CgroupStats> {
        self.user_cgroup()?.stats().ok()
    }

    /// The container's cgroup, if it has one.
    pub(crate) fn cgroup(&self) -> Option<&dyn ContainerCgroup> {
        self.cgroup.as_deref()
    }

    /// The cgroup the caller asked for (not the one that only carries the device policy).
    fn user_cgroup(&self) -> Option<&dyn ContainerCgroup> {
        self.cgroup.as_deref().filter(|c| !c.policy_only())
    }

    fn need_cgroup(&self) -> Result<&dyn ContainerCgroup> {
        self.user_cgroup().ok_or_else(|| {
            Error::invalid("cgroup", "this container has no cgroup (ContainerBuilder::cgroup was not set)")
        })
    }

    /// Freezes every process in the container (cgroup freezer). Needs a cgroup.
    pub fn pause(&self) -> Result<()> {
        Ok(self.need_cgroup()?.freeze()?)
    }

    /// Thaws a paused container. Needs a cgroup.
    pub fn resume(&self) -> Result<()> {
        Ok(self.need_cgroup()?.thaw()?)
    }

    /// CPU, memory, pids and io usage of the whole container. Needs a cgroup.
    pub fn stats(&self) -> Result<crate::cgroup::CgroupStats> {
        Ok(self.need_cgroup()?.stats()?)
    }

    /// Host pids of every process in the container's cgroup. Needs a cgroup.
    pub fn pids(&self) -> Result<Vec<i32>> {
        Ok(self.need_cgroup()?.procs())
    }

    /// The container's cgroup path relative to each hierarchy's root (e.g.
    /// `cocoon/<id>`), if it has a cgroup.
    pub fn cgroup_path(&self) -> Option<&std::path::Path> {
        self.user_cgroup().map(|c| c.path())
    }

    /// The SELinux label the container's processes run with (`None` when unlabelled,
    /// e.g. SELinux is disabled).
    pub fn selinux_label(&self) -> Option<&str> {
        self.selinux.exec_label.as_deref().and_then(|c| c.to_str().ok())
    }

    pub(crate) fn selinux_plan(&self) -> &SelinuxPlan {
        &self.selinux
    }

    pub(crate) fn setgroups_deny(&self) -> bool {
        self.setgroups_deny
    }

    pub(crate) fn pidfd_raw(&self) -> RawFd {
        self.main.pidfd.as_raw_fd()
    }

    /// Kills everything in the container, reaps it and removes its cgroup, reporting
    /// any failure to clean up.
    pub fn delete(mut self) -> Result<()> {
        self.teardown()
    }

    /// Leaves the container running: the handle no longer kills it when dropped, and it
    /// outlives the caller's process. Returns the pid the caller reaps: that of cocoon's
    /// monitor of the container, the caller's direct child, which exits with the status of
    /// the container's first process. It has no exit signal, so reap it with
    /// `waitid(P_PID, pid, .., WEXITED | __WALL)`. ([`Container::pid`], read before,
    /// is the first process's own pid, for signals.) Its cgroup (with the device policy)
    /// stays while it runs; once it has ended, a later spawn of this process (or, after this
    /// process is gone, [`crate::cgroup::sweep_stale`]) removes it.
    pub fn detach(mut self) -> i32 {
        self.detached = true;
        if let Some(cg) = self.cgroup.take() {
            cg.leave();
        }
        if let Some(n) = self.net.take() {
            n.leave();
        }
        self.main.detach()
    }

    fn teardown(&mut self) -> Result<()> {
        // A frozen process cannot die: thaw a paused container before killing it (a
        // policy-only cgroup cannot have been paused).
        if let Some(cg) = self.user_cgroup() {
            let _ = cg.thaw();
        }
        // The host veth (and with it the pair) and the address lease: deleted first while
        // the container's network namespace is alive (fast); once the program has ended
        // the kernel deletes the pair with the namespace.
        if let Some(net) = self.net.take() {
            if matches!(self.main.try_wait(), Ok(None)) {
                drop(net);
            } else {
                net.release_exited();
            }
        }
        self.main.kill_and_reap();
        // destroy() kills whatever is left in the cgroup (e.g. daemons of a container
        // without a PID namespace), then removes it.
        if let Some(cg) = self.cgroup.take() {
            cg.destroy()?;
        }
        Ok(())
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if !self.detached {
            let _ = self.teardown();
        }
    }
}

/// A process exec'd into a running container. Dropping it kills and reaps it.
#[derive(Debug)]
pub struct ExecProcess {
    proc_: Proc,
    pipes: Pipes,
}

impl ExecProcess {
    pub(crate) fn new(proc_: Proc, ends: StdioEnds) -> ExecProcess {
        ExecProcess { proc_, pipes: Pipes::new(ends) }
    }

    /// The host pid.
    pub fn pid(&self) -> i32 {
        self.proc_.pid()
    }

    /// Waits for it to end.
    pub fn wait(&mut self) -> Result<ExitStatus> {
        self.proc_.wait()
    }

    /// Returns the exit status if it has ended, without blocking.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        self.proc_.try_wait()
    }

    /// Waits at most `limit` for it to end (as [`Container::wait_timeout`]).
    pub fn wait_timeout(&mut self, limit: Duration) -> Result<Option<ExitStatus>> {
        self.proc_.wait_timeout(limit)
    }

    /// An fd owned by the handle that polls readable once the process has exited (as
    /// [`Container::wait_fd`]; signal with [`ExecProcess::kill`]).
    pub fn wait_fd(&self) -> BorrowedFd<'_> {
        self.proc_.wait_fd()
    }

    /// Sends it a signal.
    pub fn kill(&self, signal: i32) -> Result<()> {
        self.proc_.kill(signal)
    }

    /// Takes stream 0, 1 or 2 as a plain fd, if it was piped (for the C ABI).
    pub(crate) fn take_stdio_fd(&mut self, stream: i32) -> Option<OwnedFd> {
        self.pipes.take_fd(stream)
    }

    /// The caller's end of its stdin, if piped.
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.pipes.stdin.take()
    }

    /// The caller's end of its stdout, if piped.
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.pipes.stdout.take()
    }

    /// The caller's end of its stderr, if piped.
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.pipes.stderr.take()
    }
}

impl Drop for ExecProcess {
    fn drop(&mut self) {
        self.proc_.kill_and_reap();
    }
}
