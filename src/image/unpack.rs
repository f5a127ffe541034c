//! Unpacking one layer (a hostile tar stream) into its own, new directory.
//!
//! Nothing may land outside the directory: absolute paths and `..` are refused; parents
//! are resolved from the layer's fd with `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS` (a
//! symlink in the layer is followed as if the layer were `/`, never out of it), missing
//! ones made with `mkdirat` in the resolved parent; names are created with `O_EXCL |
//! O_NOFOLLOW` semantics; a hardlink's target is resolved the same way and must be in
//! this layer. Whiteouts become overlayfs' (`.wh.NAME` → a 0:0 character device,
//! `.wh..wh..opq` → `trusted.overlay.opaque=y` on the directory). Ownership is set before
//! the mode (chown clears setuid), directory mtimes last. Device nodes need
//! [`UnpackOptions::device_nodes`]. The caller unpacks into a temporary directory and
//! removes it on any error.

use std::ffi::{CStr, CString};
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use tar::EntryType;

use super::fsat::{self, cstr};
use super::tarwalk::{self, Meta};
use super::ImageError;

/// How a layer is unpacked.
#[derive(Debug, Clone)]
pub(crate) struct UnpackOptions {
    /// Whether character/block device entries are created (else refused).
    pub device_nodes: bool,
    /// The most entries one layer may hold.
    pub max_entries: u64,
}

const WHITEOUT: &[u8] = b".wh.";
const OPAQUE: &[u8] = b".wh..wh..opq";

struct Unpacker<'a> {
    root: OwnedFd,
    opts: &'a UnpackOptions,
    /// Directories whose mtime is set at the end (children change it): (path, mtime).
    dir_times: Vec<(CString, u64)>,
    root_euid: bool,
}

/// Unpacks the tar stream `r` into the new, empty directory `dir`.
pub(crate) fn unpack(r: impl Read, dir: &std::path::Path, opts: &UnpackOptions) -> Result<(), ImageError> {
    let root = fsat::open_dir(dir).map_err(|e| ImageError::io("open layer directory", dir, e))?;
    // SAFETY: geteuid has no preconditions.
    let root_euid = unsafe { libc::geteuid() } == 0;
    let mut u = Unpacker { root, opts, dir_times: Vec::new(), root_euid };
    tarwalk::walk(r, "layer", opts.max_entries, |m, data| u.entry(m, data))?;
    for (path, mtime) in u.dir_times.iter().rev() {
        let fd = fsat::open_in_root(u.root.as_fd(), path, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW)
            .map_err(|e| ImageError::io("open layer directory", dir.join(lossy(path.as_bytes())), e))?;
        fsat::set_mtime(fd.as_fd(), *mtime).map_err(|e| ImageError::io("set mtime", dir, e))?;
    }
    fsat::syncfs(u.root.as_fd()).map_err(|e| ImageError::io("syncfs", dir, e))?;
    Ok(())
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Splits an entry path into clean components: `.` and empty ones dropped, absolute
/// paths and `..` refused — except `/` itself, the layer's root (umoci writes it).
pub(crate) fn components<'p>(path: &'p [u8], what: &str) -> Result<Vec<&'p [u8]>, ImageError> {
    let root_itself = path.iter().all(|b| matches!(b, b'/' | b'.')) && !path.windows(2).any(|w| w == b"..");
    if path.first() == Some(&b'/') && !root_itself {
        return Err(ImageError::unsafe_entry(lossy(path), format!("{what} is an absolute path")));
    }
    let mut out = Vec::new();
    for c in path.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return Err(ImageError::unsafe_entry(lossy(path), format!("{what} contains \"..\""))),
            c if c.len() > 255 => {
                return Err(ImageError::TooLarge { what: "path component".into(), limit: 255 });
            }
            c if c.contains(&0) => return Err(ImageError::unsafe_entry(lossy(path), "NUL in path")),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn join(comps: &[&[u8]]) -> Result<CString, ImageError> {
    let mut v = Vec::new();
    for (i, c) in comps.iter().enumerate() {
        if i > 0 {
            v.push(b'/');
        }
        v.extend_from_slice(c);
    }
    if v.is_empty() {
        v.push(b'.');
    }
    cstr(&v).map_err(|_| ImageError::unsafe_entry(lossy(&v), "NUL in path"))
}

impl Unpacker<'_> {
    fn fail(&self, m: &Meta, op: &'static str, e: io::Error) -> ImageError {
        ImageError::io(op, lossy(&m.path), e)
    }

    /// Opens (making what is missing) the directory `comps` below the layer's root.
    fn parent(&self, m: &Meta, comps: &[&[u8]]) -> Result<OwnedFd, ImageError> {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY;
        let unsafe_parent = |e: io::Error| match e.raw_os_error() {
            Some(libc::ENOTDIR) => ImageError::unsafe_entry(lossy(&m.path), "a parent is not a directory"),
            Some(libc::ELOOP | libc::EXDEV) => ImageError::unsafe_entry(lossy(&m.path), "a parent's symlinks loop or escape"),
            _ => self.fail(m, "open parent directory", e),
        };
        match fsat::open_in_root(self.root.as_fd(), &join(comps)?, flags) {
            Ok(fd) => return Ok(fd),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(unsafe_parent(e)),
        }
        // Walk down, making each missing directory in its resolved parent.
        let mut fd = fsat::open_in_root(self.root.as_fd(), c".", flags).map_err(unsafe_parent)?;
        for i in 0..comps.len() {
            match fsat::open_in_root(self.root.as_fd(), &join(&comps[..=i])?, flags) {
                Ok(next) => fd = next,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    let name = join(&comps[i..=i])?;
                    fsat::mkdir_at(fd.as_fd(), &name, 0o755).map_err(|e| match e.raw_os_error() {
                        // Something is there, yet the path does not resolve: a dangling
                        // symlink. Refused, not followed.
                        Some(libc::EEXIST) => ImageError::unsafe_entry(lossy(&m.path), "a parent is a dangling symlink"),
                        _ => self.fail(m, "mkdirat", e),
                    })?;
                    fd = fsat::open_at(fd.as_fd(), &name, flags, 0).map_err(unsafe_parent)?;
                }
                Err(e) => return Err(unsafe_parent(e)),
            }
        }
        Ok(fd)
    }

    /// Makes room for a new `name` in `dir`: an existing directory stays for a directory
    /// entry (`true` returned), anything else goes.
    fn clear(&self, m: &Meta, dir: BorrowedFd<'_>, name: &CStr, keep_dir: bool) -> Result<bool, ImageError> {
        match fsat::lstat_at(dir, name).map_err(|e| self.fail(m, "fstatat", e))? {
            None => Ok(false),
            Some(st) if keep_dir && st.st_mode & libc::S_IFMT == libc::S_IFDIR => Ok(true),
            Some(_) => fsat::remove_at(dir, name).map(|_| false).map_err(|e| self.fail(m, "remove replaced entry", e)),
        }
    }

    fn entry(&mut self, m: &Meta, data: &mut dyn Read) -> Result<(), ImageError> {
        let comps = components(&m.path, "path")?;
        let Some((last, parents)) = comps.split_last() else {
            // The layer's root itself ("./"): its metadata is the root directory's.
            if m.kind == EntryType::Directory {
                let fd = fsat::open_in_root(self.root.as_fd(), c".", libc::O_RDONLY | libc::O_DIRECTORY)
                    .map_err(|e| self.fail(m, "open layer root", e))?;
                self.owner_mode(m, fd.as_fd())?;
                self.dir_times.push((c".".into(), m.mtime));
            }
            return Ok(());
        };
        let dir = self.parent(m, parents)?;
        if *last == OPAQUE {
            return fsat::fsetxattr(dir.as_fd(), c"trusted.overlay.opaque", b"y").map_err(|e| self.fail(m, "set opaque xattr", e));
        }
        if let Some(hidden) = last.strip_prefix(WHITEOUT) {
            if hidden.is_empty() || hidden == b"." || hidden == b".." {
                return Err(ImageError::unsafe_entry(lossy(&m.path), "malformed whiteout"));
            }
            let name = join(&[hidden])?;
            self.clear(m, dir.as_fd(), &name, false)?;
            return fsat::mknod_at(dir.as_fd(), &name, libc::S_IFCHR, 0).map_err(|e| self.fail(m, "mknod whiteout", e));
        }
        let name = join(&[last])?;
        let perm = m.mode & 0o7777;
        match m.kind {
            EntryType::Directory => {
                if !self.clear(m, dir.as_fd(), &name, true)? {
                    fsat::mkdir_at(dir.as_fd(), &name, 0o700).map_err(|e| self.fail(m, "mkdirat", e))?;
                }
                let fd = fsat::open_at(dir.as_fd(), &name, libc::O_RDONLY | libc::O_DIRECTORY, 0)
                    .map_err(|e| self.fail(m, "open directory", e))?;
                self.owner_mode(m, fd.as_fd())?;
                self.xattrs(m, fd.as_fd())?;
                self.dir_times.push((join(&comps)?, m.mtime));
            }
            EntryType::Regular | EntryType::Continuous => {
                self.clear(m, dir.as_fd(), &name, false)?;
                let fd = fsat::open_at(dir.as_fd(), &name, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL, 0o600)
                    .map_err(|e| self.fail(m, "create file", e))?;
                let mut f = std::fs::File::from(fd);
                let n = io::copy(data, &mut f).map_err(|e| ImageError::malformed("layer", format!("{}: {e}", lossy(&m.path))))?;
                if n != m.size {
                    return Err(ImageError::malformed("layer", format!("{} is truncated", lossy(&m.path))));
                }
                self.owner_mode(m, f.as_fd())?;
                self.xattrs(m, f.as_fd())?;
                fsat::set_mtime(f.as_fd(), m.mtime).map_err(|e| self.fail(m, "set mtime", e))?;
            }
            EntryType::Symlink => {
                let target = m.link.as_deref().ok_or_else(|| ImageError::malformed("layer", "symlink without a target"))?;
                let target = cstr(target).map_err(|_| ImageError::unsafe_entry(lossy(&m.path), "NUL in link target"))?;
                self.clear(m, dir.as_fd(), &name, false)?;
                fsat::symlink_at(&target, dir.as_fd(), &name).map_err(|e| self.fail(m, "symlinkat", e))?;
                let (uid, gid) = self.ids(m)?;
                if let Err(e) = fsat::lchown_at(dir.as_fd(), &name, uid, gid) {
                    self.chown_failed(m, e)?;
                }
                fsat::lset_mtime_at(dir.as_fd(), &name, m.mtime).map_err(|e| self.fail(m, "set mtime", e))?;
            }
            EntryType::Link => {
                let target = m.link.as_deref().ok_or_else(|| ImageError::malformed("layer", "hardlink without a target"))?;
                let tcomps = components(target, "hardlink target")?;
                let t = fsat::open_in_root(self.root.as_fd(), &join(&tcomps)?, libc::O_PATH | libc::O_NOFOLLOW).map_err(|e| {
                    match e.raw_os_error() {
                        Some(libc::ENOENT) => ImageError::unsafe_entry(lossy(&m.path), "hardlink target is not in this layer"),
                        _ => self.fail(m, "open hardlink target", e),
                    }
                })?;
                let st = fsat::fstat(t.as_fd()).map_err(|e| self.fail(m, "fstat hardlink target", e))?;
                if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
                    return Err(ImageError::unsafe_entry(lossy(&m.path), "hardlink to a directory"));
                }
                self.clear(m, dir.as_fd(), &name, false)?;
                fsat::link_fd_at(t.as_fd(), dir.as_fd(), &name).map_err(|e| self.fail(m, "linkat", e))?;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let (kind, dev) = match m.kind {
                    EntryType::Fifo => (libc::S_IFIFO, 0),
                    k => {
                        let (major, minor) = m.dev.unwrap_or((0, 0));
                        if !self.opts.device_nodes {
                            return Err(ImageError::DeviceNotPermitted { path: lossy(&m.path) });
                        }
                        (if k == EntryType::Char { libc::S_IFCHR } else { libc::S_IFBLK }, libc::makedev(major, minor))
                    }
                };
                self.clear(m, dir.as_fd(), &name, false)?;
                fsat::mknod_at(dir.as_fd(), &name, kind | 0o600, dev).map_err(|e| match e.raw_os_error() {
                    Some(libc::EPERM) if kind != libc::S_IFIFO => ImageError::DeviceNotPermitted { path: lossy(&m.path) },
                    _ => self.fail(m, "mknodat", e),
                })?;
                // O_PATH: a device node or FIFO is never opened for I/O here.
                let fd = fsat::open_at(dir.as_fd(), &name, libc::O_PATH, 0).map_err(|e| self.fail(m, "open node", e))?;
                let (uid, gid) = self.ids(m)?;
                if let Err(e) = fsat::lchown_at(dir.as_fd(), &name, uid, gid) {
                    self.chown_failed(m, e)?;
                }
                let via = cstr(format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd)).as_bytes())
                    .map_err(|e| self.fail(m, "chmod node", e))?;
                // SAFETY: a NUL-terminated path; chmod through the fd's link (no lookup
                // in the layer).
                if unsafe { libc::chmod(via.as_ptr(), perm) } != 0 {
                    return Err(self.fail(m, "chmod node", io::Error::last_os_error()));
                }
                fsat::lset_mtime_at(dir.as_fd(), &name, m.mtime).map_err(|e| self.fail(m, "set mtime", e))?;
            }
            other => {
                return Err(ImageError::malformed("layer", format!("{}: unsupported entry type {other:?}", lossy(&m.path))));
            }
        }
        Ok(())
    }

    fn ids(&self, m: &Meta) -> Result<(u32, u32), ImageError> {
        let conv = |v: u64| u32::try_from(v).ok().filter(|v| *v != u32::MAX);
        match (conv(m.uid), conv(m.gid)) {
            (Some(u), Some(g)) => Ok((u, g)),
            _ => Err(ImageError::unsafe_entry(lossy(&m.path), "uid or gid out of range")),
        }
    }

    /// Not being root, files stay the importer's.
    fn chown_failed(&self, m: &Meta, e: io::Error) -> Result<(), ImageError> {
        if !self.root_euid && e.raw_os_error() == Some(libc::EPERM) {
            return Ok(());
        }
        Err(self.fail(m, "chown", e))
    }

    /// chown, then chmod (chown clears setuid/setgid).
    fn owner_mode(&self, m: &Meta, fd: BorrowedFd<'_>) -> Result<(), ImageError> {
        let (uid, gid) = self.ids(m)?;
        if let Err(e) = fsat::fchown(fd, uid, gid) {
            self.chown_failed(m, e)?;
        }
        fsat::fchmod(fd, m.mode & 0o7777).map_err(|e| self.fail(m, "chmod", e))
    }

    /// `user.*` and `security.capability` are kept; `trusted.overlay.*` would forge
    /// overlayfs state and is refused; the rest (SELinux labels, ...) is ignored.
    fn xattrs(&self, m: &Meta, fd: BorrowedFd<'_>) -> Result<(), ImageError> {
        for (k, v) in &m.xattrs {
            if k.starts_with(b"trusted.overlay.") {
                return Err(ImageError::unsafe_entry(lossy(&m.path), "carries an overlayfs xattr"));
            }
            if k.starts_with(b"user.") || k == b"security.capability" {
                let name = cstr(k).map_err(|e| self.fail(m, "setxattr", e))?;
                fsat::fsetxattr(fd, &name, v).map_err(|e| self.fail(m, "setxattr", e))?;
            }
        }
        Ok(())
    }
}
