//! One-shot runs, as `std::process::Command::output()` / `status()`: spawn, feed stdin,
//! drain stdout and stderr, enforce a time limit, and say what ended the program.
//!
//! Everything happens on the calling thread: one `poll(2)` loop over the caller's pipe
//! ends (non-blocking) and the wait fd, so a program that fills both output pipes while
//! it still reads its input never deadlocks against us.

use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::time::{Duration, Instant};

use crate::builder::ContainerBuilder;
use crate::container::{Container, ExitStatus};
use crate::error::{Error, Result};
use crate::process::Stdio;

/// What a one-shot run does besides starting the container: the bytes fed to its stdin,
/// which output streams it collects, and the time limit.
///
/// ```no_run
/// use std::time::Duration;
/// use cocoon::{ContainerBuilder, EndedBy, Process, RunOptions};
/// let out = ContainerBuilder::new(Process::new("/bin/cat"))
///     .run(&RunOptions::new().input(b"hi".to_vec()).capture_output().timeout(Duration::from_secs(2)))?;
/// assert_eq!(out.stdout, b"hi");
/// assert_eq!(out.ended_by, EndedBy::Exited);
/// # Ok::<(), cocoon::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    input: Option<Vec<u8>>,
    capture_stdout: bool,
    capture_stderr: bool,
    timeout: Option<Duration>,
}

impl RunOptions {
    /// Nothing fed, nothing captured, no time limit: stdio as the builder has it.
    pub fn new() -> RunOptions {
        RunOptions::default()
    }

    /// Feeds `bytes` to the program's stdin (a pipe), then closes it. A program that
    /// exits without reading them all is not an error (as `std::process`).
    pub fn input(mut self, bytes: impl Into<Vec<u8>>) -> RunOptions {
        self.input = Some(bytes.into());
        self
    }

    /// Collects stdout into [`Output::stdout`].
    pub fn capture_stdout(mut self, yes: bool) -> RunOptions {
        self.capture_stdout = yes;
        self
    }

    /// Collects stderr into [`Output::stderr`].
    pub fn capture_stderr(mut self, yes: bool) -> RunOptions {
        self.capture_stderr = yes;
        self
    }

    /// Collects both stdout and stderr.
    pub fn capture_output(self) -> RunOptions {
        self.capture_stdout(true).capture_stderr(true)
    }

    /// Kills the whole container (every process of its PID namespace, or of its cgroup
    /// without one) once `limit` has passed since it started; [`Output::ended_by`] is
    /// then [`EndedBy::Timeout`].
    pub fn timeout(mut self, limit: Duration) -> RunOptions {
        self.timeout = Some(limit);
        self
    }
}

/// What ended a run — what a judge reports. The program's own status is
/// [`Output::status`] in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndedBy {
    /// The program exited by itself ([`ExitStatus::Exited`]).
    Exited,
    /// A signal killed it ([`ExitStatus::Signaled`]), not one of the limits below.
    Signaled,
    /// The time limit ([`RunOptions::timeout`]) passed: cocoon killed the container.
    Timeout,
    /// The kernel's OOM killer killed a process of the container's cgroup (its memory
    /// limit): `memory.oom_control`/`memory.events` `oom_kill` rose.
    OomKill,
    /// The cgroup's pids limit refused a fork at least once (`pids.events` `max` rose).
    PidsLimit,
}

/// The result of a one-shot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// How the container's first process ended.
    pub status: ExitStatus,
    /// What it wrote to stdout, if collected (empty otherwise).
    pub stdout: Vec<u8>,
    /// What it wrote to stderr, if collected (empty otherwise).
    pub stderr: Vec<u8>,
    /// What ended it.
    pub ended_by: EndedBy,
}

impl Output {
    /// Exited by itself with code 0.
    pub fn success(&self) -> bool {
        self.ended_by == EndedBy::Exited && self.status.success()
    }
}

/// One-shot runs on the builder (which is not changed; a clone with the run's stdio is
/// spawned).
impl ContainerBuilder {
    /// Spawns the container, feeds and collects as `opts` says, waits for its first
    /// process (killing the container at the time limit), removes the container and
    /// returns what it wrote and what ended it. A stream the builder already sets to
    /// [`Stdio::Piped`] is fed (nothing: closed at once) or collected too. On error the
    /// container is torn down: nothing is left.
    pub fn run(&self, opts: &RunOptions) -> Result<Output> {
        let mut b = self.clone();
        let p = &mut b.process;
        if opts.input.is_some() {
            p.set_stdin(Stdio::Piped);
        }
        if opts.capture_stdout {
            p.set_stdout(Stdio::Piped);
        }
        if opts.capture_stderr {
            p.set_stderr(Stdio::Piped);
        }
        let c = b.spawn()?;
        run_container(c, opts.input.as_deref().unwrap_or(&[]), opts.timeout.map(|t| Instant::now() + t))
    }

    /// Runs to the end collecting stdout and stderr (stdin as the builder has it), as
    /// `std::process::Command::output`.
    pub fn output(&self) -> Result<Output> {
        self.run(&RunOptions::new().capture_output())
    }

    /// Runs to the end with the builder's stdio and returns the exit status, as
    /// `std::process::Command::status`.
    pub fn status(&self) -> Result<ExitStatus> {
        Ok(self.run(&RunOptions::new())?.status)
    }
}

/// Feeds, drains, waits and classifies; deletes the container (errors included).
fn run_container(mut c: Container, input: &[u8], deadline: Option<Instant>) -> Result<Output> {
    let mut stdin = c.take_stdio_fd(0);
    let mut outs = [c.take_stdio_fd(1), c.take_stdio_fd(2)];
    for fd in stdin.iter().chain(outs.iter().flatten()) {
        set_nonblocking(fd.as_raw_fd())?;
    }
    let mut collected: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    let mut fed = 0usize;
    let mut timed_out = false;
    let mut deadline = deadline;
    let _sigpipe = SigpipeBlock::new();
    loop {
        if stdin.is_some() && fed == input.len() {
            stdin = None; // all fed: EOF for the program
        }
        let mut fds = Vec::with_capacity(4);
        fds.push(pollfd(c.wait_fd().as_raw_fd(), libc::POLLIN));
        if let Some(fd) = &stdin {
            fds.push(pollfd(fd.as_raw_fd(), libc::POLLOUT));
        }
        for fd in outs.iter().flatten() {
            fds.push(pollfd(fd.as_raw_fd(), libc::POLLIN));
        }
        let ready = poll_fds(&mut fds, deadline)?;
        if ready == 0 {
            // The deadline passed with the program still running.
            deadline = None;
            timed_out = c.kill_everything();
            continue;
        }
        let exited = fds[0].revents != 0;
        let mut i = 1;
        if let Some(fd) = &stdin {
            if fds[i].revents != 0 && !feed(fd.as_raw_fd(), input, &mut fed)? {
                stdin = None; // the program closed its stdin
            }
            i += 1;
        }
        for (slot, buf) in outs.iter_mut().zip(collected.iter_mut()) {
            let Some(fd) = slot else { continue };
            // After the exit every writer of a PID namespace is gone (pid 1 exits last):
            // what they wrote is in the pipe; read it all, do not wait for more.
            if (exited || fds[i].revents != 0) && !drain(fd.as_raw_fd(), buf, exited)? {
                *slot = None; // EOF
            }
            i += 1;
        }
        if exited {
            break;
        }
    }
    drop(stdin);
    drop(outs);
    let status = c.wait()?;
    let ended_by = if timed_out { EndedBy::Timeout } else { classify(&c, status) };
    c.delete()?;
    let [stdout, stderr] = collected;
    Ok(Output { status, stdout, stderr, ended_by })
}

/// What ended a container's first process, read once it has ended: the limits of its
/// cgroup first (it is the container's own and new, so any count above 0 happened in
/// it; a cgroup that cannot be read leaves the status to tell), then the status.
pub(crate) fn classify(c: &Container, status: ExitStatus) -> EndedBy {
    if let Some(stats) = c.user_cgroup_stats() {
        if stats.memory.is_some_and(|m| m.oom_kills > 0) {
            return EndedBy::OomKill;
        }
        if stats.pids.and_then(|p| p.limit_hits).is_some_and(|n| n > 0) {
            return EndedBy::PidsLimit;
        }
    }
    match status {
        ExitStatus::Exited(_) => EndedBy::Exited,
        ExitStatus::Signaled(_) => EndedBy::Signaled,
    }
}

/// Writes what the pipe takes; false once the reader is gone (EPIPE).
fn feed(fd: RawFd, input: &[u8], fed: &mut usize) -> Result<bool> {
    while *fed < input.len() {
        let chunk = &input[*fed..];
        // SAFETY: writing from a live slice of `chunk.len()` bytes to an fd we own.
        let n = unsafe { libc::write(fd, chunk.as_ptr().cast(), chunk.len()) };
        if n >= 0 {
            *fed += n as usize;
            continue;
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EAGAIN) => return Ok(true),
            Some(libc::EINTR) => continue,
            Some(libc::EPIPE) => return Ok(false),
            _ => return Err(Error::os("write", "the program's stdin", e)),
        }
    }
    Ok(true)
}

/// Reads what the pipe holds; false at EOF (or, `final_`ly, once it is empty).
fn drain(fd: RawFd, buf: &mut Vec<u8>, final_: bool) -> Result<bool> {
    loop {
        buf.reserve(64 * 1024);
        let spare = buf.spare_capacity_mut();
        // SAFETY: reading into the vector's spare capacity, `spare.len()` writable bytes.
        let n = unsafe { libc::read(fd, spare.as_mut_ptr().cast(), spare.len()) };
        if n > 0 {
            // SAFETY: the kernel initialised `n` bytes of the spare capacity.
            unsafe { buf.set_len(buf.len() + n as usize) };
            continue;
        }
        if n == 0 {
            return Ok(false);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EAGAIN) => return Ok(!final_),
            Some(libc::EINTR) => continue,
            _ => return Err(Error::os("read", "the program's output", e)),
        }
    }
}

fn set_nonblocking(fd: RawFd) -> Result<()> {
    // SAFETY: F_GETFL/F_SETFL on an fd we own (the caller's pipe end: its own open file
    // description, the program's end is not affected).
    let r = unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl < 0 { fl } else { libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK) }
    };
    if r < 0 {
        return Err(Error::os("fcntl", "O_NONBLOCK on a stdio pipe", std::io::Error::last_os_error()));
    }
    Ok(())
}

fn pollfd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd { fd, events, revents: 0 }
}

/// `poll(2)` until an fd is ready or `deadline` passes (0: timed out); EINTR restarts
/// it with the time that is left, so a signal neither ends the wait early nor extends it.
pub(crate) fn poll_fds(fds: &mut [libc::pollfd], deadline: Option<Instant>) -> Result<usize> {
    loop {
        let ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                // Round up: a sub-millisecond rest must not become a busy 0 ms poll.
                left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
            }
        };
        // SAFETY: `fds` is a live, writable array of `fds.len()` pollfds.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if r > 0 {
            return Ok(r as usize);
        }
        if r == 0 {
            if ms == 0 || deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(0);
            }
            continue;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(Error::os("poll", "waiting for a process", e));
        }
    }
}

/// Whether `fd` polls readable before `deadline`.
pub(crate) fn readable_before(fd: BorrowedFd<'_>, deadline: Instant) -> Result<bool> {
    let mut fds = [pollfd(fd.as_raw_fd(), libc::POLLIN)];
    Ok(poll_fds(&mut fds, Some(deadline))? > 0)
}

/// Blocks SIGPIPE on this thread while feeding stdin (a library must not let a closed
/// pipe kill a C host that keeps the default action); a SIGPIPE our writes raised is
/// taken back before the old mask returns.
struct SigpipeBlock {
    old: libc::sigset_t,
    was_pending: bool,
}

impl SigpipeBlock {
    fn new() -> SigpipeBlock {
        // SAFETY: sigset_t is plain data, filled by the calls below.
        let (mut set, mut old, mut pending): (libc::sigset_t, libc::sigset_t, libc::sigset_t) =
            unsafe { (std::mem::zeroed(), std::mem::zeroed(), std::mem::zeroed()) };
        // SAFETY: valid sigset pointers; changes only this thread's mask.
        unsafe {
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGPIPE);
            libc::sigpending(&mut pending);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        }
        // SAFETY: `pending` was filled by sigpending.
        let was_pending = unsafe { libc::sigismember(&pending, libc::SIGPIPE) } == 1;
        SigpipeBlock { old, was_pending }
    }
}

impl Drop for SigpipeBlock {
    fn drop(&mut self) {
        // SAFETY: as in new(); sigtimedwait with a zero timeout only takes a pending SIGPIPE.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGPIPE);
            if !self.was_pending {
                let zero = libc::timespec { tv_sec: 0, tv_nsec: 0 };
                while libc::sigtimedwait(&set, std::ptr::null_mut(), &zero) == libc::SIGPIPE {}
            }
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut());
        }
    }
}
