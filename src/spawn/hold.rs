//! Created containers (OCI's create/start split): set up completely, held by the exec
//! helper right before the program's exec, and started later — by the handle that created
//! them ([`crate::Container::start`]) or, through a listening unix socket, by any process
//! that can reach the socket's path ([`start_created`]), after the creator has exited.
//!
//! The helper (`src/helper/helper.c`) reports [`REPORT_HELD`] on the setup socket when it
//! holds, then waits for one byte on the hold socket (accepting one connection first when
//! it is a listening socket). From then on that connection is its report socket: EOF
//! means the program runs, a report says why it could not be executed.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use libc::c_int;

use super::proto::{recv, setup_error, socketpair, Msg};
use crate::error::{Error, Result};
use crate::plan::Plan;

pub(crate) use super::proto::REPORT_HELD;

/// Who starts the container.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StartBy<'a> {
    /// Nobody: it runs right away (a plain spawn).
    Now,
    /// The handle ([`crate::Container::start`]).
    Handle,
    /// Whoever connects to a unix socket bound at this path ([`start_created`]).
    Socket(&'a Path),
}

/// The hold socket while the container is being made.
pub(crate) struct Hold {
    /// The child's end: a connected socket (Handle) or the listening one (Socket).
    child: Option<OwnedFd>,
    /// What the handle keeps to start it.
    started: Option<Started>,
    /// The socket's path, removed again if the spawn fails.
    bound: Option<PathBuf>,
}

/// How a held container is started, kept in its handle.
#[derive(Debug)]
pub(crate) enum Started {
    /// Our end of the pair the helper waits on.
    Pair { sock: OwnedFd, program: String },
    /// The path of the socket the helper listens on.
    Socket { path: PathBuf, program: String },
}

impl Hold {
    /// Makes the hold socket, above `floor` (the fd numbers the program gets are below).
    pub(crate) fn new(by: StartBy<'_>, floor: c_int) -> Result<Hold> {
        let (child, started, bound) = match by {
            StartBy::Now => (None, None, None),
            StartBy::Handle => {
                let (ours, theirs) = socketpair()?;
                (Some(theirs), Some(Started::Pair { sock: ours, program: String::new() }), None)
            }
            StartBy::Socket(path) => {
                let l = listen(path)?;
                (
                    Some(l),
                    Some(Started::Socket { path: path.to_path_buf(), program: String::new() }),
                    Some(path.to_path_buf()),
                )
            }
        };
        let child = child.map(|fd| above(fd, floor)).transpose()?;
        Ok(Hold { child, started, bound })
    }

    /// The child's end, or -1.
    pub(crate) fn child_fd(&self) -> c_int {
        self.child.as_ref().map_or(-1, |f| f.as_raw_fd())
    }

    /// Whether the container is to be held.
    pub(crate) fn holds(&self) -> bool {
        self.started.is_some()
    }

    /// Once the child has been cloned: only it keeps its end.
    pub(crate) fn close_child_side(mut self) -> Hold {
        self.child = None;
        self
    }

    /// The spawn succeeded: what the handle keeps (the socket's path stays).
    pub(crate) fn take_started(&mut self, plan: &Plan) -> Option<Started> {
        self.bound = None;
        let program = plan.process.program.clone();
        self.started.take().map(|s| match s {
            Started::Pair { sock, .. } => Started::Pair { sock, program },
            Started::Socket { path, .. } => Started::Socket { path, program },
        })
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        if let Some(p) = self.bound.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// `fd` moved to a number >= `floor`, close-on-exec.
pub(super) fn above(fd: OwnedFd, floor: c_int) -> Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC on an fd we own; the result is new and ours (or -1).
    let raw = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, floor) };
    if raw < 0 {
        return Err(Error::last_os("dup", "setup socket"));
    }
    // SAFETY: just returned by fcntl, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// A `SOCK_SEQPACKET` unix socket listening at `path` (which must not exist), mode 0600.
fn listen(path: &Path) -> Result<OwnedFd> {
    use nix::sys::socket::{bind, listen, socket, AddressFamily, Backlog, SockFlag, SockType, UnixAddr};
    let what = || path.display().to_string();
    let addr = UnixAddr::new(path).map_err(|e| Error::os("start socket path", what(), e.into()))?;
    let fd = socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_CLOEXEC, None)
        .map_err(|e| Error::os("socket", what(), e.into()))?;
    // SAFETY: fchmod on a socket we own, before bind: the file is made 0600 at bind
    // (umask aside, the mode of a socket inode follows the fd's).
    unsafe { libc::fchmod(fd.as_raw_fd(), 0o600) };
    bind(fd.as_raw_fd(), &addr).map_err(|e| Error::os("bind", what(), e.into()))?;
    let listened = listen(&fd, Backlog::new(4).unwrap_or(Backlog::MAXCONN));
    if let Err(e) = listened {
        let _ = std::fs::remove_file(path);
        return Err(Error::os("listen", what(), e.into()));
    }
    Ok(fd)
}

/// Starts the held container behind `started`: EOF = its program runs.
pub(crate) fn start(started: &Started) -> Result<()> {
    match started {
        Started::Pair { sock, program } => release(sock, program),
        Started::Socket { path, program } => start_at(path, program),
    }
}

fn start_at(path: &Path, program: &str) -> Result<()> {
    use nix::sys::socket::{connect, socket, AddressFamily, SockFlag, SockType, UnixAddr};
    let what = || path.display().to_string();
    let addr = UnixAddr::new(path).map_err(|e| Error::os("start socket path", what(), e.into()))?;
    let fd = socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_CLOEXEC, None)
        .map_err(|e| Error::os("socket", what(), e.into()))?;
    match connect(fd.as_raw_fd(), &addr) {
        Ok(()) => {}
        // Nobody listens: started already, or the container is gone.
        Err(nix::errno::Errno::ECONNREFUSED) | Err(nix::errno::Errno::ENOENT) => return Err(Error::NotCreated),
        Err(e) => return Err(Error::os("connect", what(), e.into())),
    }
    // One start per container: the socket's name goes now that its one connection is made.
    let _ = std::fs::remove_file(path);
    release(&fd, program)
}

/// Sends the start byte, then waits for the exec's EOF or the helper's report.
fn release(sock: &OwnedFd, program: &str) -> Result<()> {
    let b = [1u8];
    // SAFETY: one byte from a stack buffer; MSG_NOSIGNAL: a dead helper gives EPIPE.
    let n = unsafe { libc::send(sock.as_raw_fd(), b.as_ptr().cast(), 1, libc::MSG_NOSIGNAL) };
    if n != 1 {
        return Err(Error::NotCreated);
    }
    match recv(sock)? {
        Msg::Eof => Ok(()),
        Msg::Report(r, _) => Err(setup_error(&r, |_, _| program.to_string())),
    }
}

/// Starts the created container whose start socket is at `path` (made by
/// [`crate::Plan::create_at`], possibly by another process that has exited since). Returns
/// once its program runs, or with the setup error that kept it from being executed.
/// [`Error::NotCreated`] if nothing holds a container there (started already, or gone).
pub fn start_created(path: impl AsRef<Path>) -> Result<()> {
    start_at(path.as_ref(), "the container's program")
}
