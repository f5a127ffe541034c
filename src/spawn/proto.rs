//! The wire protocol between the parent and the processes it clones, both halves.
//!
//! Two `SOCK_SEQPACKET` socket pairs carry it, so every message is one datagram:
//! - the **setup socket** (parent ↔ container process): the child sends a [`Report`] of
//!   kind [`REPORT_READY`] when the parent's part is due (maps, cgroup, time offsets), the
//!   parent answers with one [`GO`] byte; a failed step is a [`REPORT_ERROR`] report
//!   `(stage, index, errno)`; EOF (the socket is close-on-exec) means the exec succeeded.
//!   The exec helper (`src/helper/helper.c`) sends the same error report, so the layout is
//!   pinned against it by a unit test in `src/helper/mod.rs`.
//! - the **control socket** (parent ↔ monitor): the monitor sends [`REPORT_PID`] with the
//!   program's pidfd attached (`SCM_RIGHTS`), or a negative errno in `pid`, or an error
//!   report; the parent sends the monitor's one-byte commands (`MSG_DETACH`, in
//!   `src/child/monitor.rs`).
//! - a process with a notify filter sends [`REPORT_LISTENER`] with the filter's listener
//!   attached on the setup socket, after GO and before the EOF (or [`REPORT_HELD`]).
//!
//! The **child half** below runs between clone and exec: it is audited code under the
//! AUDIT RULES of `src/child/mod.rs` (raw syscalls over stack buffers; no allocation, no
//! locks, no panics). The **parent half** runs in the caller and may allocate.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use libc::c_int;

use crate::error::{Error, Result, Stage};
use crate::sys::{self, Errno, SysResult};

/// The message a cloned process sends to the parent: plain `repr(C)` data, sent as its
/// bytes (20 of them, see the helper's `struct report`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Report {
    pub kind: u32,
    pub stage: u32,
    pub index: u32,
    pub errno: i32,
    pub pid: i32,
}

/// [`Report::kind`]: setup reached the point where the parent writes maps/cgroups.
pub(crate) const REPORT_READY: u32 = 1;
/// [`Report::kind`]: a step failed.
pub(crate) const REPORT_ERROR: u32 = 2;
/// [`Report::kind`]: (monitor) the pid of the program's process, with its pidfd.
pub(crate) const REPORT_PID: u32 = 3;
/// [`Report::kind`]: (exec helper) a created container is held before its program's exec,
/// waiting to be started (sent instead of the EOF of an exec).
pub(crate) const REPORT_HELD: u32 = 4;

/// [`Report::kind`]: the listener of the process's notify filter (`crate::supervisor`),
/// attached (`SCM_RIGHTS`); sent once, before the exec helper runs.
pub(crate) const REPORT_LISTENER: u32 = 5;

/// [`Report::kind`]: a warm container is set up and waits for its process
/// ([`recv_start`]); sent instead of exec'ing.
pub(crate) const REPORT_PREPARED: u32 = 6;

/// The most fds a warm container's start message carries (stdio and passed fds).
pub(crate) const MAX_START_FDS: usize = 3 + crate::plan::MAX_PASSED_FDS;

/// The parent's go-ahead after [`REPORT_READY`] (the child accepts any one byte).
pub(crate) const GO: u8 = 1;

// ---------------------------------------------------------------------------------------
// Child half: async-signal-safe, under the AUDIT RULES of src/child/mod.rs.
// ---------------------------------------------------------------------------------------

/// Sends `r` as one datagram. A gone parent is not an error here: the child exits anyway.
pub(crate) fn send_report(sock: c_int, r: &Report) {
    // SAFETY: Report is repr(C) plain data; we send its bytes as one datagram.
    let bytes = unsafe { std::slice::from_raw_parts(r as *const Report as *const u8, std::mem::size_of::<Report>()) };
    // SAFETY: a plain send on an fd we own; MSG_NOSIGNAL avoids SIGPIPE if the parent is gone.
    unsafe { libc::send(sock, bytes.as_ptr().cast(), bytes.len(), libc::MSG_NOSIGNAL) };
}

/// Sends the [`REPORT_ERROR`] report of a failed step.
pub(crate) fn send_error(sock: c_int, stage: Stage, index: u32, errno: Errno) {
    send_report(sock, &Report { kind: REPORT_ERROR, stage: stage as u32, index, errno, pid: 0 });
}

/// Waits for the parent's [`GO`] byte: `Ok(true)` on GO, `Ok(false)` on EOF (the parent
/// gave up), `Err(errno)` if the socket failed. Retries on EINTR.
pub(crate) fn recv_go(sock: c_int) -> SysResult<bool> {
    let mut b = 0u8;
    loop {
        // SAFETY: reading one byte into a stack variable.
        let n = unsafe { libc::recv(sock, (&mut b as *mut u8).cast(), 1, 0) };
        if n == 1 {
            return Ok(true);
        }
        if n == 0 {
            return Ok(false);
        }
        let e = sys::last_errno();
        if e != libc::EINTR {
            return Err(e);
        }
    }
}

/// Sends `r` with `fd` attached (SCM_RIGHTS; none when `fd` < 0). Through `child::raw`
/// (never `errno`): the monitor, which may share the caller's memory, sends with it too.
pub(crate) fn send_with_fd(sock: c_int, r: &Report, fd: c_int) {
    let mut iov =
        libc::iovec { iov_base: r as *const Report as *mut libc::c_void, iov_len: std::mem::size_of::<Report>() };
    // Room for one fd in a control message, on the stack.
    let mut cbuf = [0u64; 4];
    // SAFETY: msghdr/cmsghdr set up over stack buffers sized for one int (CMSG_SPACE(4)
    // is 24 bytes on 64-bit, cbuf holds 32); sendmsg is async-signal-safe.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if fd >= 0 {
            msg.msg_control = cbuf.as_mut_ptr().cast();
            msg.msg_controllen = libc::CMSG_SPACE(std::mem::size_of::<c_int>() as u32) as usize;
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            if !cmsg.is_null() {
                (*cmsg).cmsg_level = libc::SOL_SOCKET;
                (*cmsg).cmsg_type = libc::SCM_RIGHTS;
                (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<c_int>() as u32) as usize;
                std::ptr::write_unaligned(libc::CMSG_DATA(cmsg) as *mut c_int, fd);
            }
        }
        crate::child::raw::sendmsg(sock, &msg, libc::MSG_NOSIGNAL);
    }
}

/// One `recvmsg` (received fds close-on-exec) into `iov` with control messages in `cbuf`;
/// the returned header points into both. Used by both halves (async-signal-safe).
fn recvmsg_once(sock: c_int, iov: &mut libc::iovec, cbuf: &mut [u64]) -> (isize, libc::msghdr) {
    // SAFETY: a zeroed msghdr is valid; it points at the caller's buffers, which recvmsg
    // fills at most to their sizes.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(cbuf);
        let n = libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC);
        (n, msg)
    }
}

/// Waits for a warm container's start message: one byte with up to [`MAX_START_FDS`] fds
/// (`SCM_RIGHTS`, received close-on-exec) written into `fds`. `Ok(None)` on EOF (the
/// parent let the container go), else how many fds came.
pub(crate) fn recv_start(sock: c_int, fds: &mut [c_int; MAX_START_FDS]) -> SysResult<Option<usize>> {
    let mut b = 0u8;
    let mut iov = libc::iovec { iov_base: (&mut b as *mut u8).cast(), iov_len: 1 };
    // CMSG_SPACE(4 * 67) = 288 bytes on 64-bit; 320 on the stack.
    let mut cbuf = [0u64; 40];
    loop {
        let (n, msg) = recvmsg_once(sock, &mut iov, &mut cbuf);
        if n < 0 {
            let e = sys::last_errno();
            if e == libc::EINTR {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Ok(None);
        }
        if msg.msg_flags & libc::MSG_CTRUNC != 0 {
            return Err(libc::EMSGSIZE);
        }
        let mut count = 0usize;
        // SAFETY: walking the control messages the kernel wrote into cbuf; each fd is read
        // unaligned from its cmsg's data.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                    let data = libc::CMSG_DATA(c) as *const c_int;
                    let len = ((*c).cmsg_len - libc::CMSG_LEN(0) as usize) / std::mem::size_of::<c_int>();
                    for i in 0..len {
                        match fds.get_mut(count) {
                            Some(slot) => *slot = std::ptr::read_unaligned(data.add(i)),
                            None => return Err(libc::EMSGSIZE),
                        }
                        count += 1;
                    }
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        return Ok(Some(count));
    }
}

// ---------------------------------------------------------------------------------------
// Parent half: runs in the caller, may allocate.
// ---------------------------------------------------------------------------------------

/// A close-on-exec `SOCK_SEQPACKET` pair for the setup or the control socket.
pub(crate) fn socketpair() -> Result<(OwnedFd, OwnedFd)> {
    use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
    socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
        .map_err(|e| Error::os("socketpair", "setup channel", std::io::Error::from(e)))
}

/// One message from the child, with an fd if it sent one.
pub(crate) enum Msg {
    Report(Report, Option<OwnedFd>),
    Eof,
}

/// Receives one message; an fd that came with it is owned (and close-on-exec). A
/// datagram that is not exactly one [`Report`] is `EPROTO`.
pub(crate) fn recv(sock: &OwnedFd) -> Result<Msg> {
    let mut r = Report::default();
    let mut iov = libc::iovec { iov_base: (&mut r as *mut Report).cast(), iov_len: std::mem::size_of::<Report>() };
    let mut cbuf = [0u64; 8];
    loop {
        let (n, msg) = recvmsg_once(sock.as_raw_fd(), &mut iov, &mut cbuf);
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(Error::os("recvmsg", "setup channel", e));
        }
        if n == 0 {
            return Ok(Msg::Eof);
        }
        let mut fd = None;
        // SAFETY: walking the control messages the kernel wrote into cbuf.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                    let raw = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const c_int);
                    fd = Some(OwnedFd::from_raw_fd(raw));
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        if n as usize != std::mem::size_of::<Report>() {
            return Err(Error::os("recvmsg", "setup channel", std::io::Error::from_raw_os_error(libc::EPROTO)));
        }
        return Ok(Msg::Report(r, fd));
    }
}

/// Receives the message that ends a spawn (EOF, [`REPORT_HELD`] or an error report),
/// keeping the notify listener ([`REPORT_LISTENER`]) the child may send before it.
pub(crate) fn recv_end(sock: &OwnedFd, listener: &mut Option<OwnedFd>) -> Result<Msg> {
    loop {
        match recv(sock)? {
            Msg::Report(r, Some(fd)) if r.kind == REPORT_LISTENER && listener.is_none() => *listener = Some(fd),
            Msg::Report(r, _) if r.kind == REPORT_LISTENER => {
                let e = std::io::Error::from_raw_os_error(libc::EPROTO);
                return Err(Error::os("recvmsg", "a second or empty seccomp listener report", e));
            }
            m => return Ok(m),
        }
    }
}

/// Sends a warm container's start message: the [`GO`] byte with `fds` attached.
pub(crate) fn send_start(sock: &OwnedFd, fds: &[c_int]) -> Result<()> {
    if fds.len() > MAX_START_FDS {
        return Err(Error::invalid("passed fds", format!("{} fds; at most {MAX_START_FDS} with stdio", fds.len())));
    }
    let b = [GO];
    let mut iov = libc::iovec { iov_base: b.as_ptr() as *mut libc::c_void, iov_len: 1 };
    let mut cbuf = [0u64; 40];
    // SAFETY: msghdr/cmsghdr over stack buffers; the cmsg holds fds.len() ints, which fit
    // in cbuf (checked above: at most MAX_START_FDS, 288 bytes with the header).
    let r = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if !fds.is_empty() {
            let bytes = std::mem::size_of_val(fds) as u32;
            msg.msg_control = cbuf.as_mut_ptr().cast();
            msg.msg_controllen = libc::CMSG_SPACE(bytes) as usize;
            let c = libc::CMSG_FIRSTHDR(&msg);
            if !c.is_null() {
                (*c).cmsg_level = libc::SOL_SOCKET;
                (*c).cmsg_type = libc::SCM_RIGHTS;
                (*c).cmsg_len = libc::CMSG_LEN(bytes) as usize;
                std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(c) as *mut c_int, fds.len());
            }
        }
        libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL)
    };
    if r != 1 {
        return Err(Error::last_os("sendmsg", "warm container start"));
    }
    Ok(())
}

/// Sends the [`GO`] byte.
pub(crate) fn send_go(sock: &OwnedFd) -> Result<()> {
    let b = [GO];
    // SAFETY: sending one byte from a stack buffer; MSG_NOSIGNAL: a dead child gives EPIPE.
    if unsafe { libc::send(sock.as_raw_fd(), b.as_ptr().cast(), 1, libc::MSG_NOSIGNAL) } != 1 {
        return Err(Error::last_os("send", "setup channel"));
    }
    Ok(())
}

/// The [`Error::Setup`] of an error report, its detail looked up by `describe`.
pub(crate) fn setup_error(report: &Report, describe: impl FnOnce(Stage, u32) -> String) -> Error {
    let stage = Stage::from_u32(report.stage).unwrap_or(Stage::Sync);
    Error::Setup {
        stage,
        detail: describe(stage, report.index),
        source: std::io::Error::from_raw_os_error(report.errno),
    }
}

#[cfg(test)]
mod tests {
    // Both halves over a real socket pair (no privileges needed).
    use super::*;

    fn pair() -> (OwnedFd, OwnedFd) {
        match socketpair() {
            Ok(p) => p,
            Err(e) => panic!("socketpair: {e}"),
        }
    }

    #[test]
    fn ready_go_and_eof() {
        let (parent, child) = pair();
        send_report(child.as_raw_fd(), &Report { kind: REPORT_READY, ..Report::default() });
        assert!(matches!(recv(&parent), Ok(Msg::Report(Report { kind: REPORT_READY, .. }, None))));
        assert!(send_go(&parent).is_ok());
        assert_eq!(recv_go(child.as_raw_fd()), Ok(true));
        drop(parent);
        assert_eq!(recv_go(child.as_raw_fd()), Ok(false));
    }

    #[test]
    fn an_error_report_becomes_a_setup_error() {
        let (parent, child) = pair();
        send_error(child.as_raw_fd(), Stage::Mount, 7, libc::ENOENT);
        let Ok(Msg::Report(r, None)) = recv(&parent) else { panic!("no report") };
        assert_eq!(r.kind, REPORT_ERROR);
        let e = setup_error(&r, |s, i| format!("{s:?} #{i}"));
        assert_eq!(e.stage(), Some(Stage::Mount));
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
        assert!(e.to_string().contains("Mount #7"), "{e}");
        drop(child);
        assert!(matches!(recv(&parent), Ok(Msg::Eof)));
    }

    #[test]
    fn a_pid_report_carries_its_fd_close_on_exec() {
        use std::os::unix::fs::MetadataExt;
        let (parent, child) = pair();
        let file = match std::fs::File::open("/proc/self/exe") {
            Ok(f) => f,
            Err(e) => panic!("open: {e}"),
        };
        send_with_fd(child.as_raw_fd(), &Report { kind: REPORT_PID, pid: 42, ..Report::default() }, file.as_raw_fd());
        let Ok(Msg::Report(r, Some(fd))) = recv(&parent) else { panic!("no fd") };
        assert_eq!((r.kind, r.pid), (REPORT_PID, 42));
        let got = std::fs::File::from(fd);
        let (a, b) = (got.metadata().map(|m| m.ino()).ok(), file.metadata().map(|m| m.ino()).ok());
        assert_eq!(a, b);
        // SAFETY: F_GETFD on an fd we own.
        let flags = unsafe { libc::fcntl(got.as_raw_fd(), libc::F_GETFD) };
        assert_eq!(flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
    }

    #[test]
    fn a_datagram_of_another_size_is_eproto() {
        let (parent, child) = pair();
        // SAFETY: sending 3 bytes from a stack buffer.
        unsafe { libc::send(child.as_raw_fd(), [1u8, 2, 3].as_ptr().cast(), 3, 0) };
        match recv(&parent) {
            Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EPROTO)),
            Ok(_) => panic!("a 3-byte datagram was accepted"),
        }
    }
}
