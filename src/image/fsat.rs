//! Directory-fd-relative file operations for unpacking and reading layers: every path
//! below a layer is resolved from the layer's fd with `RESOLVE_IN_ROOT |
//! RESOLVE_NO_MAGICLINKS`, and every new name is made in an already-resolved parent with
//! `O_EXCL | O_NOFOLLOW` semantics (mkdirat, symlinkat, mknodat, linkat).

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

pub(crate) fn cstr(b: &[u8]) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// Opens `path` below `root` (as if `root` were `/`), retrying a concurrent-rename EAGAIN.
pub(crate) fn open_in_root(root: BorrowedFd<'_>, path: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    // openat2 refuses flags O_PATH ignores (EINVAL).
    let flags = if flags & libc::O_PATH != 0 { flags } else { flags | libc::O_NOCTTY };
    let mut tries = 0;
    loop {
        match crate::sys::openat2(
            root.as_raw_fd(),
            path.as_ptr(),
            flags | libc::O_CLOEXEC,
            0,
            libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS,
        ) {
            // SAFETY: the kernel just returned this fd; we own it.
            Ok(fd) => return Ok(unsafe { OwnedFd::from_raw_fd(fd) }),
            Err(libc::EAGAIN) if tries < 8 => tries += 1,
            Err(e) => return Err(io::Error::from_raw_os_error(e)),
        }
    }
}

/// Opens a directory by path (the caller's own, trusted).
pub(crate) fn open_dir(path: &std::path::Path) -> io::Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let c = cstr(path.as_os_str().as_bytes())?;
    // SAFETY: c is NUL-terminated.
    let fd = cvt(unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) })?;
    // SAFETY: just opened, owned here.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens the child `name` of `dir` without following a symlink there.
pub(crate) fn open_at(dir: BorrowedFd<'_>, name: &CStr, flags: libc::c_int, mode: libc::mode_t) -> io::Result<OwnedFd> {
    // SAFETY: a valid dirfd and a NUL-terminated name.
    let fd = cvt(unsafe {
        libc::openat(dir.as_raw_fd(), name.as_ptr(), flags | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NOCTTY, mode)
    })?;
    // SAFETY: just opened, owned here.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub(crate) fn mkdir_at(dir: BorrowedFd<'_>, name: &CStr, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: a valid dirfd and a NUL-terminated name.
    cvt(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode) }).map(drop)
}

pub(crate) fn symlink_at(target: &CStr, dir: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
    // SAFETY: NUL-terminated strings and a valid dirfd.
    cvt(unsafe { libc::symlinkat(target.as_ptr(), dir.as_raw_fd(), name.as_ptr()) }).map(drop)
}

pub(crate) fn mknod_at(dir: BorrowedFd<'_>, name: &CStr, mode: libc::mode_t, dev: libc::dev_t) -> io::Result<()> {
    // SAFETY: a valid dirfd and a NUL-terminated name.
    cvt(unsafe { libc::mknodat(dir.as_raw_fd(), name.as_ptr(), mode, dev) }).map(drop)
}

/// Hard-links the inode `target` (an `O_PATH` fd) as `name` in `dir`.
pub(crate) fn link_fd_at(target: BorrowedFd<'_>, dir: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
    // SAFETY: valid fds, an empty path with AT_EMPTY_PATH (needs CAP_DAC_READ_SEARCH).
    let r = unsafe { libc::linkat(target.as_raw_fd(), c"".as_ptr(), dir.as_raw_fd(), name.as_ptr(), libc::AT_EMPTY_PATH) };
    if r == 0 {
        return Ok(());
    }
    // Without CAP_DAC_READ_SEARCH: through the fd's /proc link (the very inode).
    let via = cstr(format!("/proc/self/fd/{}", target.as_raw_fd()).as_bytes())?;
    // SAFETY: NUL-terminated strings and a valid dirfd.
    cvt(unsafe { libc::linkat(libc::AT_FDCWD, via.as_ptr(), dir.as_raw_fd(), name.as_ptr(), libc::AT_SYMLINK_FOLLOW) })
        .map(drop)
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`, or `None` when there is nothing there.
pub(crate) fn lstat_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Option<libc::stat>> {
    // SAFETY: plain data.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a valid dirfd, a NUL-terminated name and an out-pointer.
    let r = unsafe { libc::fstatat(dir.as_raw_fd(), name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
    if r == 0 {
        return Ok(Some(st));
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::ENOENT) {
        Ok(None)
    } else {
        Err(e)
    }
}

pub(crate) fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    // SAFETY: plain data.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a valid fd and an out-pointer.
    cvt(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
    Ok(st)
}

/// Removes `name` from `dir`, a directory with everything below it (never following a
/// symlink: each level is opened with `O_NOFOLLOW`).
pub(crate) fn remove_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
    // SAFETY: a valid dirfd and a NUL-terminated name.
    if unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), 0) } == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() != Some(libc::EISDIR) {
        return Err(e);
    }
    let sub = open_at(dir, name, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    for child in list_dir(sub.as_fd())? {
        remove_at(sub.as_fd(), &child)?;
    }
    // SAFETY: a valid dirfd and a NUL-terminated name.
    cvt(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), libc::AT_REMOVEDIR) }).map(drop)
}

/// The names in the directory `dir` (without `.` and `..`).
pub(crate) fn list_dir(dir: BorrowedFd<'_>) -> io::Result<Vec<CString>> {
    // nix's Dir owns (and closes) the duplicate; its offset is shared, so rewind first.
    let dup = dir.try_clone_to_owned()?;
    // SAFETY: a valid fd we own.
    cvt(unsafe { libc::lseek(dup.as_raw_fd(), 0, libc::SEEK_SET) } as libc::c_int)?;
    let mut d = nix::dir::Dir::from_fd(dup.into_raw_fd()).map_err(io::Error::from)?;
    let mut names = Vec::new();
    for e in d.iter() {
        let e = e.map_err(io::Error::from)?;
        let n = e.file_name();
        if n.to_bytes() != b"." && n.to_bytes() != b".." {
            names.push(n.to_owned());
        }
    }
    Ok(names)
}

pub(crate) fn fchown(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: a valid fd.
    cvt(unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) }).map(drop)
}

pub(crate) fn fchmod(fd: BorrowedFd<'_>, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: a valid fd.
    cvt(unsafe { libc::fchmod(fd.as_raw_fd(), mode) }).map(drop)
}

pub(crate) fn lchown_at(dir: BorrowedFd<'_>, name: &CStr, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: a valid dirfd and a NUL-terminated name.
    cvt(unsafe { libc::fchownat(dir.as_raw_fd(), name.as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW) }).map(drop)
}

fn times(mtime: u64) -> [libc::timespec; 2] {
    let t = libc::timespec { tv_sec: mtime.min(i64::MAX as u64) as libc::time_t, tv_nsec: 0 };
    [t, t]
}

pub(crate) fn set_mtime(fd: BorrowedFd<'_>, mtime: u64) -> io::Result<()> {
    let ts = times(mtime);
    // SAFETY: a valid fd and two timespecs.
    cvt(unsafe { libc::futimens(fd.as_raw_fd(), ts.as_ptr()) }).map(drop)
}

pub(crate) fn lset_mtime_at(dir: BorrowedFd<'_>, name: &CStr, mtime: u64) -> io::Result<()> {
    let ts = times(mtime);
    // SAFETY: a valid dirfd, a NUL-terminated name and two timespecs.
    cvt(unsafe { libc::utimensat(dir.as_raw_fd(), name.as_ptr(), ts.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) }).map(drop)
}

pub(crate) fn fsetxattr(fd: BorrowedFd<'_>, name: &CStr, value: &[u8]) -> io::Result<()> {
    // SAFETY: a valid fd, a NUL-terminated name and a buffer of value.len() bytes.
    cvt(unsafe { libc::fsetxattr(fd.as_raw_fd(), name.as_ptr(), value.as_ptr().cast(), value.len(), 0) }).map(drop)
}

/// `fgetxattr`, `None` when the attribute is absent.
pub(crate) fn fgetxattr(fd: BorrowedFd<'_>, name: &CStr) -> io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; 256];
    // SAFETY: a valid fd, a NUL-terminated name and a buffer of buf.len() bytes.
    let n = unsafe { libc::fgetxattr(fd.as_raw_fd(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ENODATA) => Ok(None),
            _ => Err(e),
        };
    }
    buf.truncate(n as usize);
    Ok(Some(buf))
}

pub(crate) fn syncfs(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: a valid fd.
    cvt(unsafe { libc::syncfs(fd.as_raw_fd()) }).map(drop)
}
