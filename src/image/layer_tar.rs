//! Serializing a directory in overlayfs form (a container's upper directory, or an
//! unpacked layer) back into a layer tar: whiteouts (0:0 character devices) become
//! `.wh.NAME`, opaque directories (`trusted.overlay.opaque=y`) get `.wh..wh..opq`,
//! hardlinked inodes become link entries. The walk opens every level from its parent's fd
//! with `O_NOFOLLOW` (the directory's contents were written by a container: hostile), and
//! never follows a symlink. Ownership, modes and mtimes are kept; xattrs are not.

use std::collections::HashMap;
use std::ffi::CStr;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::Path;

use tar::{EntryType, Header};

use super::fsat;
use super::ImageError;

/// The deepest directory nesting written.
const MAX_DEPTH: usize = 512;

struct Walk<W: Write> {
    b: tar::Builder<W>,
    /// (dev, ino) of multiply-linked files already written → their path.
    links: HashMap<(u64, u64), Vec<u8>>,
    top: std::path::PathBuf,
}

fn header(st: &libc::stat, kind: EntryType, size: u64) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(st.st_mode & 0o7777);
    h.set_uid(u64::from(st.st_uid));
    h.set_gid(u64::from(st.st_gid));
    h.set_mtime(st.st_mtime.max(0) as u64);
    h.set_size(size);
    h
}

/// Writes the tar of the overlay-form directory `dir` to `w` (and ends it).
pub(crate) fn write_layer_tar<W: Write>(dir: &Path, w: W) -> Result<W, ImageError> {
    let root = fsat::open_dir(dir).map_err(|e| ImageError::io("open layer directory", dir, e))?;
    let mut walk = Walk { b: tar::Builder::new(w), links: HashMap::new(), top: dir.to_path_buf() };
    walk.dir(root.as_fd(), b"", 0)?;
    walk.b.into_inner().map_err(|e| ImageError::io("write layer tar", dir, e))
}

impl<W: Write> Walk<W> {
    fn io(&self, op: &'static str, rel: &[u8], e: std::io::Error) -> ImageError {
        ImageError::io(op, self.top.join(String::from_utf8_lossy(rel).as_ref()), e)
    }

    fn append(&mut self, mut h: Header, path: &[u8], data: impl std::io::Read) -> Result<(), ImageError> {
        let p = Path::new(std::ffi::OsStr::from_bytes_compat(path));
        self.b.append_data(&mut h, p, data).map_err(|e| self.io("write layer tar", path, e))
    }

    fn dir(&mut self, dfd: BorrowedFd<'_>, rel: &[u8], depth: usize) -> Result<(), ImageError> {
        if depth > MAX_DEPTH {
            return Err(ImageError::TooLarge { what: "directory depth".into(), limit: MAX_DEPTH as u64 });
        }
        let mut names = fsat::list_dir(dfd).map_err(|e| self.io("read directory", rel, e))?;
        names.sort();
        for name in names {
            let mut path = rel.to_vec();
            path.extend_from_slice(name.to_bytes());
            self.entry(dfd, &name, &path, rel, depth)?;
        }
        Ok(())
    }

    fn entry(&mut self, dfd: BorrowedFd<'_>, name: &CStr, path: &[u8], parent: &[u8], depth: usize) -> Result<(), ImageError> {
        let Some(st) = fsat::lstat_at(dfd, name).map_err(|e| self.io("fstatat", path, e))? else { return Ok(()) };
        match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => {
                let sub = fsat::open_at(dfd, name, libc::O_RDONLY | libc::O_DIRECTORY, 0).map_err(|e| self.io("open directory", path, e))?;
                let mut p = path.to_vec();
                p.push(b'/');
                self.append(header(&st, EntryType::Directory, 0), &p, std::io::empty())?;
                if fsat::fgetxattr(sub.as_fd(), c"trusted.overlay.opaque").ok().flatten().as_deref() == Some(b"y") {
                    let mut o = p.clone();
                    o.extend_from_slice(b".wh..wh..opq");
                    self.append(header(&st, EntryType::Regular, 0), &o, std::io::empty())?;
                }
                self.dir(sub.as_fd(), &p, depth + 1)
            }
            libc::S_IFREG => {
                let key = (st.st_dev, st.st_ino);
                if st.st_nlink > 1 {
                    if let Some(first) = self.links.get(&key).cloned() {
                        let mut h = header(&st, EntryType::Link, 0);
                        let p = Path::new(std::ffi::OsStr::from_bytes_compat(path));
                        let t = Path::new(std::ffi::OsStr::from_bytes_compat(&first));
                        return self.b.append_link(&mut h, p, t).map_err(|e| self.io("write layer tar", path, e));
                    }
                    self.links.insert(key, path.to_vec());
                }
                let f = fsat::open_at(dfd, name, libc::O_RDONLY, 0).map_err(|e| self.io("open file", path, e))?;
                let st = fsat::fstat(f.as_fd()).map_err(|e| self.io("fstat", path, e))?;
                self.append(header(&st, EntryType::Regular, st.st_size as u64), path, std::fs::File::from(f))
            }
            libc::S_IFLNK => {
                let mut buf = vec![0u8; 4097];
                // SAFETY: a valid dirfd, a NUL-terminated name and a buffer of buf.len() bytes.
                let n = unsafe { libc::readlinkat(dfd.as_raw_fd(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
                if n < 0 || n as usize >= buf.len() {
                    return Err(self.io("readlink", path, std::io::Error::last_os_error()));
                }
                buf.truncate(n as usize);
                let mut h = header(&st, EntryType::Symlink, 0);
                let p = Path::new(std::ffi::OsStr::from_bytes_compat(path));
                let t = Path::new(std::ffi::OsStr::from_bytes_compat(&buf));
                self.b.append_link(&mut h, p, t).map_err(|e| self.io("write layer tar", path, e))
            }
            libc::S_IFCHR if st.st_rdev == 0 => {
                // An overlay whiteout: `.wh.NAME` in the same directory.
                let mut p = parent.to_vec();
                p.extend_from_slice(b".wh.");
                p.extend_from_slice(name.to_bytes());
                let mut st0 = st;
                st0.st_mode = libc::S_IFREG;
                self.append(header(&st0, EntryType::Regular, 0), &p, std::io::empty())
            }
            kind @ (libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO) => {
                let et = match kind {
                    libc::S_IFCHR => EntryType::Char,
                    libc::S_IFBLK => EntryType::Block,
                    _ => EntryType::Fifo,
                };
                let mut h = header(&st, et, 0);
                if kind != libc::S_IFIFO {
                    let _ = h.set_device_major(libc::major(st.st_rdev));
                    let _ = h.set_device_minor(libc::minor(st.st_rdev));
                }
                self.append(h, path, std::io::empty())
            }
            // Sockets do not go into images.
            _ => Ok(()),
        }
    }
}

/// `OsStr` from bytes (paths need not be UTF-8).
trait FromBytesCompat {
    fn from_bytes_compat(b: &[u8]) -> &std::ffi::OsStr;
}

impl FromBytesCompat for std::ffi::OsStr {
    fn from_bytes_compat(b: &[u8]) -> &std::ffi::OsStr {
        std::os::unix::ffi::OsStrExt::from_bytes(b)
    }
}
