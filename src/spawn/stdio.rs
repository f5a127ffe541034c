//! The container process's stdio: `/dev/null`, pipes to the caller, or the caller's fds.

use std::os::fd::{AsRawFd, OwnedFd};

use libc::c_int;

use crate::error::{Error, Result};
use crate::process::Stdio;

/// The caller's ends of the stdio pipes and the fds the child puts at 0..2.
pub(crate) struct StdioFds {
    /// What the child dups onto 0, 1, 2 (-1: inherit).
    pub child_raw: [c_int; 3],
    /// Owned child-side fds, closed in the parent after the clone.
    child_owned: Vec<OwnedFd>,
    /// The caller's ends of piped streams.
    pub parent: [Option<OwnedFd>; 3],
}

impl StdioFds {
    pub(crate) fn new(stdio: &[Stdio; 3]) -> Result<StdioFds> {
        let mut s = StdioFds { child_raw: [-1; 3], child_owned: Vec::new(), parent: [None, None, None] };
        for (i, st) in stdio.iter().enumerate() {
            match st {
                Stdio::Inherit => {}
                Stdio::Null => {
                    let f = std::fs::OpenOptions::new()
                        .read(true)
                        .write(true)
                        .open("/dev/null")
                        .map_err(|e| Error::os("open", "/dev/null", e))?;
                    let fd: OwnedFd = f.into();
                    s.child_raw[i] = fd.as_raw_fd();
                    s.child_owned.push(fd);
                }
                Stdio::Piped => {
                    let (r, w) = pipe()?;
                    let (child, parent) = if i == 0 { (r, w) } else { (w, r) };
                    s.child_raw[i] = child.as_raw_fd();
                    s.child_owned.push(child);
                    s.parent[i] = Some(parent);
                }
                Stdio::Fd(fd) => s.child_raw[i] = fd.as_raw_fd(),
            }
        }
        Ok(s)
    }

    /// Sends stdout and stderr into `writes` (a log's pipes) instead, whatever was asked.
    pub(crate) fn log_into(&mut self, writes: &[OwnedFd; 2]) {
        for (i, w) in writes.iter().enumerate() {
            self.child_raw[i + 1] = w.as_raw_fd();
            self.parent[i + 1] = None;
        }
    }

    /// Closes the child-side fds in the parent once the child has its copies.
    pub(super) fn close_child_side(&mut self) {
        self.child_owned.clear();
    }
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::os("pipe2", "stdio", std::io::Error::from(e)))
}

