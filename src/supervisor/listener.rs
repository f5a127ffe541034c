//! The supervisor's side: the listener fd and its three ioctls (receive, id valid, send).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::time::Duration;

use crate::error::{Error, Result};

/// One notified call, as the kernel reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// The request's cookie: answer it with this, check it with [`Supervisor::id_valid`].
    pub id: u64,
    /// The calling thread, in the supervisor's PID namespace (0 if it has none there).
    pub pid: u32,
    /// The syscall number.
    pub syscall: i64,
    /// The `AUDIT_ARCH_*` of the call.
    pub arch: u32,
    /// Where the call was made.
    pub instruction_pointer: u64,
    /// The six raw arguments (pointers are addresses in the caller: [`Supervisor::read_memory`]).
    pub args: [u64; 6],
}

/// The answer to a [`Request`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// The call fails with this errno (1..=4095).
    Errno(i32),
    /// The call returns this value without being run (the supervisor did the work).
    Value(i64),
    /// The kernel runs the call as made. Not a security decision: see the module docs.
    Continue,
}

/// What [`Supervisor::recv`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// A call waiting for its answer.
    Request(Request),
    /// The timeout passed with no call.
    TimedOut,
    /// Every process of the container that had the filter is gone: no call will come.
    Ended,
}

/// The listener of a container's notify filter (see [`crate::supervisor`]). Dropping it
/// makes every pending and future notified call of the container fail with `ENOSYS`.
#[derive(Debug)]
pub struct Supervisor {
    fd: OwnedFd,
}

fn ioctl_error(what: &'static str) -> Error {
    Error::os("ioctl", what, std::io::Error::last_os_error())
}

impl Supervisor {
    /// Wraps a listener fd (`SECCOMP_FILTER_FLAG_NEW_LISTENER`'s result), e.g. one
    /// received from another process.
    pub fn from_fd(fd: OwnedFd) -> Supervisor {
        Supervisor { fd }
    }

    /// The listener fd, to poll it in an event loop (readable: a request is waiting;
    /// `POLLHUP`: [`Received::Ended`]).
    pub fn into_fd(self) -> OwnedFd {
        self.fd
    }

    /// Waits up to `timeout` (`None`: for ever) for the next call.
    pub fn recv(&self, timeout: Option<Duration>) -> Result<Received> {
        let ms = timeout.map_or(-1, |t| i32::try_from(t.as_millis()).unwrap_or(i32::MAX));
        loop {
            let mut pfd = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            // SAFETY: poll on one pollfd on the stack, for an fd we own.
            let n = unsafe { libc::poll(&mut pfd, 1, ms) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Error::os("poll", "seccomp listener", e));
            }
            if n == 0 {
                return Ok(Received::TimedOut);
            }
            if pfd.revents & libc::POLLIN == 0 && pfd.revents & libc::POLLHUP != 0 {
                return Ok(Received::Ended);
            }
            // SAFETY: seccomp_notif is plain data; the kernel wants it zeroed.
            let mut n: libc::seccomp_notif = unsafe { std::mem::zeroed() };
            // SAFETY: NOTIF_RECV fills the seccomp_notif we pass, sized by its ioctl number.
            let r = unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_RECV, &mut n) };
            if r < 0 {
                match std::io::Error::last_os_error().raw_os_error() {
                    // The caller was interrupted (a signal) or died between poll and recv.
                    Some(libc::EINTR) | Some(libc::ENOENT) => continue,
                    _ => return Err(ioctl_error("SECCOMP_IOCTL_NOTIF_RECV")),
                }
            }
            return Ok(Received::Request(Request {
                id: n.id,
                pid: n.pid,
                syscall: i64::from(n.data.nr),
                arch: n.data.arch,
                instruction_pointer: n.data.instruction_pointer,
                args: n.data.args,
            }));
        }
    }

    /// Whether the request is still pending: its caller has not died or been interrupted,
    /// so its pid still names it.
    pub fn id_valid(&self, id: u64) -> bool {
        // SAFETY: NOTIF_ID_VALID reads the u64 we point at.
        unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0 }
    }

    /// Answers a request. `ENOENT` (in the error): the call is no longer pending (its
    /// caller died or was interrupted by a signal, and will restart it).
    pub fn respond(&self, id: u64, response: Response) -> Result<()> {
        // SAFETY: seccomp_notif_resp is plain data.
        let mut r: libc::seccomp_notif_resp = unsafe { std::mem::zeroed() };
        r.id = id;
        match response {
            Response::Errno(e) => {
                if !(1..=4095).contains(&e) {
                    return Err(Error::invalid("seccomp response", format!("errno {e} is not in 1..=4095")));
                }
                r.error = -e;
            }
            Response::Value(v) => r.val = v,
            Response::Continue => r.flags = libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
        }
        // SAFETY: NOTIF_SEND reads the seccomp_notif_resp we point at.
        if unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, &r) } < 0 {
            return Err(ioctl_error("SECCOMP_IOCTL_NOTIF_SEND"));
        }
        Ok(())
    }

    /// Reads the caller's memory at `addr` into `buf` and returns how many bytes were read
    /// (fewer at the end of a mapping). `/proc/<pid>/mem` is opened first and the request
    /// checked after, so the bytes are the caller's and not those of a process that reused
    /// its pid (`ESRCH` if the request is gone).
    pub fn read_memory(&self, request: &Request, addr: u64, buf: &mut [u8]) -> Result<usize> {
        let path = format!("/proc/{}/mem", request.pid);
        let mem = std::fs::File::open(&path).map_err(|e| Error::os("open", path.clone(), e))?;
        if !self.id_valid(request.id) {
            return Err(Error::os("read", path, std::io::Error::from_raw_os_error(libc::ESRCH)));
        }
        let mut done = 0;
        while done < buf.len() {
            let Some(rest) = buf.get_mut(done..) else { break };
            match mem.read_at(rest, addr.saturating_add(done as u64)) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // EIO: the end of a mapping; what came before it counts.
                Err(_) if done > 0 => break,
                Err(e) => return Err(Error::os("read", path, e)),
            }
        }
        Ok(done)
    }

    /// Reads a NUL-terminated string of at most `max` bytes (without the NUL) at `addr` in
    /// the caller (`ENAMETOOLONG` if it is longer), page by page so that a string ending
    /// before an unmapped page reads.
    pub fn read_c_string(&self, request: &Request, addr: u64, max: usize) -> Result<Vec<u8>> {
        const PAGE: u64 = 4096;
        let mut out = Vec::new();
        let mut at = addr;
        while out.len() <= max {
            let chunk = (PAGE - at % PAGE) as usize;
            let mut buf = vec![0u8; chunk.min(max + 1 - out.len())];
            let n = self.read_memory(request, at, &mut buf)?;
            let Some(got) = buf.get(..n) else { break };
            if let Some(end) = got.iter().position(|b| *b == 0) {
                out.extend_from_slice(got.get(..end).unwrap_or_default());
                return Ok(out);
            }
            if n == 0 {
                break;
            }
            out.extend_from_slice(got);
            at = at.saturating_add(n as u64);
        }
        let e = if out.len() > max { libc::ENAMETOOLONG } else { libc::EFAULT };
        Err(Error::os("read", format!("a string in process {}", request.pid), std::io::Error::from_raw_os_error(e)))
    }
}

impl AsFd for Supervisor {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
