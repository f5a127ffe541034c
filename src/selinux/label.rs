//! Labelling files and mounts: `context=` mount options and relabelling bind sources.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use super::context::SecurityContext;
use super::level::Level;
use super::{selinux_enabled, Applied, SelinuxError};

/// The extended attribute holding a file's SELinux label.
pub const XATTR_NAME: &str = "security.selinux";

/// Formats the mount option that labels a whole filesystem: `context="LABEL"`.
///
/// The quotes are needed: an MCS label holds a comma (`s0:c1,c2`) that would otherwise
/// split the option string. Append it to the mount data with a `,`
/// (`"mode=755,context=\"...\""`), and only for filesystems where
/// [`label_method`] says [`LabelMethod::MountOption`]. When SELinux is disabled, add no
/// `context=` option at all (the kernel would reject it): the plan's `mount_label` is then
/// `None`.
pub fn mount_option(label: &str) -> String {
    format!("context=\"{label}\"")
}

/// How a filesystem type gets its SELinux label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelMethod {
    /// Through the `context="..."` mount option ([`mount_option`]).
    MountOption,
    /// The filesystem rejects `context=`: label its root with `setxattr` after mounting
    /// ([`set_file_label`]). Applies to `mqueue`.
    Setxattr,
    /// Leave it alone: the policy labels it (`proc`, `sysfs`, `cgroup2`, ...), or the type
    /// is unknown here.
    None,
}

/// Which [`LabelMethod`] fits filesystem type `fstype` (as passed to `mount(2)`).
pub fn label_method(fstype: &str) -> LabelMethod {
    match fstype {
        "tmpfs" | "ramfs" | "devpts" | "overlay" | "hugetlbfs" | "shm" | "ext2" | "ext3" | "ext4"
        | "xfs" | "btrfs" | "vfat" | "squashfs" | "erofs" | "iso9660" | "nfs" | "nfs4" | "fuse" => {
            LabelMethod::MountOption
        }
        "mqueue" => LabelMethod::Setxattr,
        _ => LabelMethod::None,
    }
}

/// Whether `fstype` accepts the `context=` mount option (never `proc`, `sysfs`, `mqueue`).
pub fn accepts_context_option(fstype: &str) -> bool {
    label_method(fstype) == LabelMethod::MountOption
}

/// Whether a relabel descends into directories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recursive {
    /// Only the path itself.
    No,
    /// The path and everything below it on the same filesystem.
    Yes,
}

/// Who may use relabelled content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// `z`: every container (the label's level becomes `s0`).
    Shared,
    /// `Z`: only this container (the label keeps the container's level).
    Private,
}

/// Paths never relabelled, nor any of their ancestors (which is only `/`).
pub const REFUSED_PATHS: &[&str] = &[
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/media", "/mnt",
    "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var", "/var/lib",
    "/var/log", "/var/tmp",
];

/// Trees nothing below which is relabelled (system content and kernel filesystems).
pub const REFUSED_TREES: &[&str] = &["/boot", "/dev", "/etc", "/proc", "/sys", "/usr"];

/// Why relabelling `path` is refused, if it is.
fn refusal(path: &Path) -> Option<String> {
    for r in REFUSED_PATHS {
        let r = Path::new(r);
        if path == r || r.starts_with(path) {
            return Some(format!("{} is a system directory (or an ancestor of one)", path.display()));
        }
    }
    for t in REFUSED_TREES {
        if path.starts_with(t) {
            return Some(format!("{} is inside {t}, which is never relabelled", path.display()));
        }
    }
    None
}

/// Normalises `path` lexically: absolute (against the current directory), no `.`/`..`.
fn lexical_absolute(path: &Path) -> io::Result<PathBuf> {
    let abs = if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir()?.join(path) };
    let mut out = PathBuf::from("/");
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    Ok(out)
}

/// Checks that `path` may be relabelled; returns its canonical form.
///
/// Both the path as written (normalised) and its canonical form (symlinks resolved) are
/// checked against [`REFUSED_PATHS`] and [`REFUSED_TREES`], so a symlink to `/usr` is
/// refused too.
pub fn check_relabel_path(path: &Path) -> Result<PathBuf, SelinuxError> {
    let refuse = |reason| SelinuxError::RelabelRefused { path: path.to_path_buf(), reason };
    let io_err = |source| SelinuxError::Io { op: "resolve relabel path", path: path.to_path_buf(), source };
    let lexical = lexical_absolute(path).map_err(io_err)?;
    if let Some(r) = refusal(&lexical) {
        return Err(refuse(r));
    }
    let canonical = std::fs::canonicalize(path).map_err(io_err)?;
    if let Some(r) = refusal(&canonical) {
        return Err(refuse(r));
    }
    Ok(canonical)
}

/// Relabels a bind-mount source for a container.
///
/// `label` is the container's file label (the plan's `file_label`, e.g.
/// `system_u:object_r:container_file_t:s0:c1,c2`); [`Sharing::Shared`] replaces its level
/// with `s0` (`z`), [`Sharing::Private`] keeps it (`Z`). With [`Recursive::Yes`] the whole
/// tree is walked without following symlinks (symlinks themselves are labelled with
/// `lsetxattr`), without leaving the filesystem of `path`, and files already carrying the
/// label are left untouched (counted as `unchanged`).
///
/// Refused with [`SelinuxError::RelabelRefused`] — whether SELinux is on or not — for the
/// paths of [`check_relabel_path`]. When SELinux is disabled it then does nothing and
/// returns [`Applied::Skipped`].
pub fn relabel(path: &Path, label: &str, recursive: Recursive, sharing: Sharing) -> Result<Applied, SelinuxError> {
    let ctx: SecurityContext = label.parse()?;
    let ctx = match sharing {
        Sharing::Shared => ctx.with_range(Level::S0),
        Sharing::Private => ctx,
    };
    let canonical = check_relabel_path(path)?;
    if !selinux_enabled() {
        return Ok(Applied::Skipped);
    }
    relabel_tree(&canonical, &ctx.to_string(), recursive)
}

/// Labels one file (not following a final symlink), e.g. the root of an `mqueue` mount.
/// A no-op returning [`Applied::Skipped`] when SELinux is disabled.
pub fn set_file_label(path: &Path, label: &str) -> Result<Applied, SelinuxError> {
    let ctx: SecurityContext = label.parse()?;
    if !selinux_enabled() {
        return Ok(Applied::Skipped);
    }
    let c = cpath(path)?;
    let changed = set_if_different(&c, &ctx.to_string()).map_err(|source| SelinuxError::Io {
        op: "set SELinux label",
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Applied::Done { changed: u64::from(changed), unchanged: u64::from(!changed) })
}

fn cpath(path: &Path) -> Result<CString, SelinuxError> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| SelinuxError::Io {
        op: "label path",
        path: path.to_path_buf(),
        source: io::Error::from_raw_os_error(libc::EINVAL),
    })
}

/// Reads `security.selinux` of `path` (not following a final symlink), without the NUL.
pub(crate) fn get_label(path: &CString) -> io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: lgetxattr writes at most buf.len() bytes into buf; the strings are valid.
        let n = unsafe {
            libc::lgetxattr(path.as_ptr(), c"security.selinux".as_ptr(), buf.as_mut_ptr().cast(), buf.len())
        };
        if n >= 0 {
            buf.truncate(n as usize);
            while buf.last() == Some(&0) {
                buf.pop();
            }
            return Ok(Some(buf));
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::ENODATA) => return Ok(None),
            Some(libc::ERANGE) if buf.len() < 65536 => buf.resize(buf.len() * 4, 0),
            _ => return Err(e),
        }
    }
}

/// Sets `security.selinux` of `path` (not following a final symlink) unless it already
/// holds `label`; returns whether it changed anything.
fn set_if_different(path: &CString, label: &str) -> io::Result<bool> {
    if get_label(path)?.as_deref() == Some(label.as_bytes()) {
        return Ok(false);
    }
    let mut value = label.as_bytes().to_vec();
    value.push(0); // libselinux stores the terminating NUL too
    // SAFETY: lsetxattr reads value.len() bytes from value; the strings are valid C strings.
    let r = unsafe {
        libc::lsetxattr(path.as_ptr(), c"security.selinux".as_ptr(), value.as_ptr().cast(), value.len(), 0)
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(true)
}

fn open_dir_at(dirfd: Option<&OwnedFd>, name: &CString) -> io::Result<OwnedFd> {
    let at = dirfd.map_or(libc::AT_FDCWD, |f| f.as_raw_fd());
    // SAFETY: openat with a valid C string; the result is checked before use.
    let fd = unsafe {
        libc::openat(at, name.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn fstat_dev(fd: &OwnedFd) -> io::Result<u64> {
    // SAFETY: fstat writes into our zeroed struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: see above; fd is open.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st.st_dev)
}

/// The relabel walk itself, with no policy or path checks (callers do those).
///
/// Directories are opened with `O_NOFOLLOW | O_DIRECTORY` relative to their parent's fd
/// and each entry is labelled through `/proc/self/fd/<parent>/<name>` with `lsetxattr`,
/// so a directory swapped for a symlink during the walk cannot send it elsewhere.
pub(crate) fn relabel_tree(root: &Path, label: &str, recursive: Recursive) -> Result<Applied, SelinuxError> {
    let io_err = |op: &'static str, path: &Path, source| SelinuxError::Io { op, path: path.to_path_buf(), source };
    let croot = cpath(root)?;
    let (mut changed, mut unchanged) = (0u64, 0u64);
    let count = |c: bool, changed: &mut u64, unchanged: &mut u64| if c { *changed += 1 } else { *unchanged += 1 };
    let c = set_if_different(&croot, label).map_err(|e| io_err("set SELinux label", root, e))?;
    count(c, &mut changed, &mut unchanged);
    let meta = std::fs::symlink_metadata(root).map_err(|e| io_err("stat relabel path", root, e))?;
    if recursive == Recursive::No || !meta.is_dir() {
        return Ok(Applied::Done { changed, unchanged });
    }
    let rootfd = open_dir_at(None, &croot).map_err(|e| io_err("open directory", root, e))?;
    let dev = fstat_dev(&rootfd).map_err(|e| io_err("stat directory", root, e))?;
    let mut stack: Vec<(OwnedFd, PathBuf)> = vec![(rootfd, root.to_path_buf())];
    while let Some((dirfd, dpath)) = stack.pop() {
        let via = PathBuf::from(format!("/proc/self/fd/{}", dirfd.as_raw_fd()));
        let entries = std::fs::read_dir(&via).map_err(|e| io_err("read directory", &dpath, e))?;
        for ent in entries {
            let ent = ent.map_err(|e| io_err("read directory", &dpath, e))?;
            let name = ent.file_name();
            let shown = dpath.join(&name);
            let cname = CString::new(name.as_bytes()).map_err(|_| io_err("label", &shown, io::Error::from_raw_os_error(libc::EINVAL)))?;
            let full = cpath(&via.join(OsStr::from_bytes(name.as_bytes())))?;
            let ft = ent.file_type().map_err(|e| io_err("stat", &shown, e))?;
            if ft.is_dir() {
                let sub = match open_dir_at(Some(&dirfd), &cname) {
                    Ok(f) => f,
                    // swapped for a symlink or removed during the walk: leave it alone
                    Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR | libc::ENOENT)) => continue,
                    Err(e) => return Err(io_err("open directory", &shown, e)),
                };
                if fstat_dev(&sub).map_err(|e| io_err("stat directory", &shown, e))? != dev {
                    continue; // another filesystem mounted here: not ours to relabel
                }
                let c = set_if_different(&full, label).map_err(|e| io_err("set SELinux label", &shown, e))?;
                count(c, &mut changed, &mut unchanged);
                stack.push((sub, shown));
            } else {
                match set_if_different(&full, label) {
                    Ok(c) => count(c, &mut changed, &mut unchanged),
                    Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
                    Err(e) => return Err(io_err("set SELinux label", &shown, e)),
                }
            }
        }
    }
    Ok(Applied::Done { changed, unchanged })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selinux_mount_option_format() {
        assert_eq!(
            mount_option("system_u:object_r:container_file_t:s0:c1,c2"),
            "context=\"system_u:object_r:container_file_t:s0:c1,c2\""
        );
        assert!(accepts_context_option("tmpfs"));
        assert!(accepts_context_option("devpts"));
        assert!(accepts_context_option("overlay"));
        for no in ["proc", "sysfs", "mqueue", "cgroup2", "cgroup", "securityfs", "selinuxfs", "bpf"] {
            assert!(!accepts_context_option(no), "{no}");
        }
        assert_eq!(label_method("mqueue"), LabelMethod::Setxattr);
        assert_eq!(label_method("proc"), LabelMethod::None);
    }

    #[test]
    fn selinux_relabel_refusals() {
        for p in ["/", "/usr", "/etc", "/home", "/var", "/boot", "/proc", "/sys", "/dev", "/run", "/usr/lib",
                  "/etc/passwd", "/proc/self", "/usr/../usr", "/tmp/../etc", "/var/lib", "/tmp"] {
            let e = check_relabel_path(Path::new(p)).unwrap_err();
            assert!(matches!(e, SelinuxError::RelabelRefused { .. }), "{p}: {e:?}");
            assert!(e.to_string().contains("refus"), "{e}");
        }
        // a symlink to /usr is refused by its target
        let dir = std::env::temp_dir().join(format!("cocoon-selinux-refuse-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let link = dir.join("usr-link");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink("/usr", &link).unwrap();
        assert!(matches!(check_relabel_path(&link), Err(SelinuxError::RelabelRefused { .. })));
        assert_eq!(check_relabel_path(&dir).unwrap(), std::fs::canonicalize(&dir).unwrap());
        // a missing path is a typed I/O error naming it
        let e = check_relabel_path(&dir.join("missing")).unwrap_err();
        assert!(matches!(e, SelinuxError::Io { .. }) && e.raw_os_error() == Some(libc::ENOENT), "{e:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
