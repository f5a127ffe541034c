//! A process cocoon started and tracks by pidfd — a container's first process or one
//! exec'd into it — with its monitor, its exit status and the caller's pipe ends; and
//! [`ExitStatus`], how it ended.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::process::{ChildStderr, ChildStdin, ChildStdout};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
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
    pub(super) pidfd: OwnedFd,
    monitor_pid: i32,
    monitor: OwnedFd,
    /// The caller's end of the monitor's control socket.
    ctl: OwnedFd,
    pub(super) status: Option<ExitStatus>,
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

    /// What the monitor's log writer reports (a new container's monitor only).
    pub(crate) fn log_status(&self) -> Option<&crate::child::logwrite::LogStatus> {
        self.stack.as_ref().map(|s| s.status())
    }

    pub(crate) fn pid(&self) -> i32 {
        self.pid
    }
}

pub(crate) type StdioEnds = [Option<OwnedFd>; 3];

/// The caller's ends of a process's piped streams.
#[derive(Debug)]
pub(super) struct Pipes {
    pub(super) stdin: Option<ChildStdin>,
    pub(super) stdout: Option<ChildStdout>,
    pub(super) stderr: Option<ChildStderr>,
}

impl Pipes {
    pub(super) fn new([stdin, stdout, stderr]: StdioEnds) -> Pipes {
        Pipes {
            stdin: stdin.map(ChildStdin::from),
            stdout: stdout.map(ChildStdout::from),
            stderr: stderr.map(ChildStderr::from),
        }
    }

    /// Takes stream 0, 1 or 2 as a plain fd (for the C ABI).
    pub(super) fn take_fd(&mut self, stream: i32) -> Option<OwnedFd> {
        match stream {
            0 => self.stdin.take().map(Into::into),
            1 => self.stdout.take().map(Into::into),
            2 => self.stderr.take().map(Into::into),
            _ => None,
        }
    }
}
