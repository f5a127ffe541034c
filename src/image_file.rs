//! Reading files the image controls (its `/etc/passwd`, `/etc/group`) from the host.
//!
//! The image — or, for `exec`, the running container itself through
//! `/proc/<pid>/root` — chooses what these paths are. So: resolve in-root (no escape
//! through symlinks), look at the file with `O_PATH` first (a FIFO or device is never
//! opened: opening a FIFO blocks, opening a device runs its driver), read only a regular
//! file, reopened non-blocking through its own `O_PATH` fd (no second lookup to race
//! with), and refuse a file larger than [`MAX_IMAGE_FILE`] instead of truncating it.

use std::ffi::CString;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The largest image file cocoon reads (a passwd of ~200k users).
pub const MAX_IMAGE_FILE: u64 = 16 << 20;

/// Why a file of the image could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageFileProblem {
    /// It is a FIFO, device, socket or directory (named by the `&str`).
    #[error("it is a {0}, not a regular file")]
    NotRegular(&'static str),
    /// It is larger than the limit (bytes).
    #[error("it is larger than {limit} bytes")]
    TooLarge {
        /// The limit, [`MAX_IMAGE_FILE`].
        limit: u64,
    },
    /// Resolving, opening or reading it failed.
    #[error("{0}")]
    Io(#[source] io::Error),
}

impl ImageFileProblem {
    /// The OS error number, for `Io`.
    pub(crate) fn raw_os_error(&self) -> Option<i32> {
        match self {
            ImageFileProblem::Io(e) => e.raw_os_error(),
            _ => None,
        }
    }
}

fn kind_name(mode: libc::mode_t) -> &'static str {
    match mode & libc::S_IFMT {
        libc::S_IFIFO => "FIFO",
        libc::S_IFCHR => "character device",
        libc::S_IFBLK => "block device",
        libc::S_IFSOCK => "socket",
        libc::S_IFDIR => "directory",
        libc::S_IFLNK => "symbolic link",
        _ => "special file",
    }
}

fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    // SAFETY: stat is plain data; fstat fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a valid fd and a valid out-pointer.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}

/// What is at `rel` below a root.
enum Found {
    /// Nothing.
    Absent,
    /// An overlay whiteout (a 0:0 character device): the file is deleted in the merged
    /// image, whatever the lower layers hold.
    Whiteout,
    /// A regular file's contents.
    Contents(Vec<u8>),
}

/// Reads `rel` (relative, e.g. `etc/passwd`) below directory `root`.
fn read_in_root(root: &Path, rel: &str) -> Result<Found> {
    let path: PathBuf = root.join(rel);
    let fail = |problem| Error::ImageFile { path: path.clone(), problem };
    let io_fail = |e: io::Error| fail(ImageFileProblem::Io(e));
    let root_c = CString::new(root.as_os_str().as_bytes()).map_err(|e| io_fail(e.into()))?;
    let rel_c = CString::new(rel).map_err(|e| io_fail(e.into()))?;
    // SAFETY: root_c is NUL-terminated.
    let dfd = unsafe { libc::open(root_c.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    if dfd < 0 {
        return Err(io_fail(io::Error::last_os_error()));
    }
    // SAFETY: dfd was just opened and is owned here.
    let dir = unsafe { OwnedFd::from_raw_fd(dfd) };
    // O_PATH: nothing is opened yet, so a FIFO cannot block and a device driver never
    // runs. EAGAIN: RESOLVE_IN_ROOT saw a concurrent rename; try again.
    let mut tries = 0;
    let pfd = loop {
        match crate::sys::openat2(
            dir.as_raw_fd(),
            rel_c.as_ptr(),
            libc::O_PATH | libc::O_CLOEXEC,
            0,
            libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS,
        ) {
            Ok(fd) => break fd,
            Err(libc::ENOENT | libc::ENOTDIR) => return hidden_below(dir.as_fd(), rel).map_err(io_fail),
            Err(libc::EAGAIN) if tries < 8 => tries += 1,
            Err(e) => return Err(io_fail(io::Error::from_raw_os_error(e))),
        }
    };
    // SAFETY: pfd was just opened and is owned here.
    let pfd = unsafe { OwnedFd::from_raw_fd(pfd) };
    let st = fstat(pfd.as_fd()).map_err(io_fail)?;
    if st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == 0 {
        return Ok(Found::Whiteout);
    }
    check_regular(&st).map_err(fail)?;
    // Reopen the very inode we checked (no second path lookup), without blocking.
    let via = CString::new(format!("/proc/self/fd/{}", pfd.as_raw_fd())).map_err(|e| io_fail(e.into()))?;
    // SAFETY: via is NUL-terminated.
    let fd = unsafe { libc::open(via.as_ptr(), libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io_fail(io::Error::last_os_error()));
    }
    // SAFETY: fd was just opened and is owned by the File.
    let mut f = unsafe { std::fs::File::from_raw_fd(fd) };
    let st2 = fstat(f.as_fd()).map_err(io_fail)?;
    if (st2.st_dev, st2.st_ino) != (st.st_dev, st.st_ino) {
        return Err(io_fail(io::Error::other("the file changed while it was opened")));
    }
    check_regular(&st2).map_err(fail)?;
    let mut buf = Vec::new();
    // One byte more than the limit tells a file that grew past it since fstat.
    f.by_ref().take(MAX_IMAGE_FILE + 1).read_to_end(&mut buf).map_err(io_fail)?;
    if buf.len() as u64 > MAX_IMAGE_FILE {
        return Err(fail(ImageFileProblem::TooLarge { limit: MAX_IMAGE_FILE }));
    }
    Ok(Found::Contents(buf))
}

/// For a file absent from one overlay layer: whether the layer hides it in the layers
/// below — an ancestor directory that is a whiteout (a 0:0 character device) or opaque
/// (`trusted.overlay.opaque=y`) in this layer.
fn hidden_below(dir: BorrowedFd<'_>, rel: &str) -> io::Result<Found> {
    let parts: Vec<&str> = rel.split('/').filter(|c| !c.is_empty()).collect();
    for i in 1..parts.len() {
        let prefix = CString::new(parts[..i].join("/")).map_err(io::Error::other)?;
        let fd = match crate::sys::openat2(
            dir.as_raw_fd(),
            prefix.as_ptr(),
            libc::O_PATH | libc::O_CLOEXEC,
            0,
            libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS,
        ) {
            // SAFETY: just opened, owned here.
            Ok(fd) => unsafe { OwnedFd::from_raw_fd(fd) },
            Err(_) => return Ok(Found::Absent),
        };
        let st = fstat(fd.as_fd())?;
        match st.st_mode & libc::S_IFMT {
            libc::S_IFCHR if st.st_rdev == 0 => return Ok(Found::Whiteout),
            libc::S_IFDIR => {
                let mut v = [0u8; 4];
                // getxattr through the fd's /proc link: the very directory, no lookup.
                let via = CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).map_err(io::Error::other)?;
                // SAFETY: NUL-terminated strings and a buffer of v.len() bytes.
                let n = unsafe { libc::getxattr(via.as_ptr(), c"trusted.overlay.opaque".as_ptr(), v.as_mut_ptr().cast(), v.len()) };
                if n == 1 && v[0] == b'y' {
                    return Ok(Found::Whiteout);
                }
            }
            _ => return Ok(Found::Absent),
        }
    }
    Ok(Found::Absent)
}

fn check_regular(st: &libc::stat) -> std::result::Result<(), ImageFileProblem> {
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(ImageFileProblem::NotRegular(kind_name(st.st_mode)));
    }
    if st.st_size as u64 > MAX_IMAGE_FILE {
        return Err(ImageFileProblem::TooLarge { limit: MAX_IMAGE_FILE });
    }
    Ok(())
}

/// Reads `rel` from the first of `roots` (overlay layers, topmost first) that has it:
/// `Ok(None)` when no layer has it, or the topmost that does holds a whiteout, or a
/// layer above it hides it (a whiteout or opaque directory among its parents). A layer
/// whose file is unusable is an error, not skipped.
pub(crate) fn read_first_in_roots(roots: &[&Path], rel: &str) -> Result<Option<Vec<u8>>> {
    for r in roots {
        match read_in_root(r, rel)? {
            Found::Contents(b) => return Ok(Some(b)),
            Found::Whiteout => return Ok(None),
            Found::Absent => {}
        }
    }
    Ok(None)
}
