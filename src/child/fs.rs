//! Filesystem work in the child: mount sources, in-root path resolution, the plan's ops,
//! masked and read-only paths, and the loopback interface.

use libc::{c_int, c_uint};

use super::{At, ChildCtx, Fail, Step};
use crate::error::Stage;
use crate::plan::{InRootPath, Op, Source, TargetKind};
use crate::sys::{self, SysResult};

/// Creates the mount behind `src`; returns a detached mount fd.
pub(super) fn make_source(src: &Source, ctx: &ChildCtx<'_>, stage: Stage, i: usize) -> Step<c_int> {
    match src {
        Source::Bind { path, recursive, device } => {
            let flags = sys::OPEN_TREE_CLONE | if *recursive { sys::AT_RECURSIVE } else { 0 };
            let fd = sys::open_tree(libc::AT_FDCWD, path.as_ptr(), flags).at(stage, i)?;
            if let Some(dev) = device {
                // CVE-2025-31133 class: only bind the device node we expect.
                if !is_char_dev(fd, *dev) {
                    sys::close(fd);
                    return Err(Fail { stage: Stage::Device, index: i as u32, errno: libc::ENODEV });
                }
            }
            Ok(fd)
        }
        Source::Fs { fstype, options, labeled } => {
            let fs = sys::fsopen(fstype.as_ptr()).at(stage, i)?;
            let r = (|| {
                for (k, v) in options {
                    match v {
                        Some(v) => sys::fsconfig(fs, sys::FSCONFIG_SET_STRING, k.as_ptr(), v.as_ptr()),
                        None => sys::fsconfig(fs, sys::FSCONFIG_SET_FLAG, k.as_ptr(), std::ptr::null()),
                    }?;
                }
                if let (true, Some(label)) = (labeled, ctx.mount_label) {
                    sys::fsconfig(fs, sys::FSCONFIG_SET_STRING, c"context".as_ptr(), label.as_ptr())?;
                }
                sys::fsconfig(fs, sys::FSCONFIG_CMD_CREATE, std::ptr::null(), std::ptr::null())?;
                sys::fsmount(fs, 0)
            })();
            sys::close(fs);
            r.at(stage, i)
        }
    }
}

fn is_char_dev(fd: c_int, dev: libc::dev_t) -> bool {
    // SAFETY: fstat into a zeroed stack struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fd is valid; st is writable.
    unsafe { libc::fstat(fd, &mut st) == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFCHR && st.st_rdev == dev }
}

pub(super) const IN_ROOT: u64 = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;

/// Opens `p` below `root` (O_PATH), following symlinks only inside the root, creating
/// missing directories (and, for a file target, the file) with mkdirat/openat from
/// already-resolved parent fds (CVE-2021-30465, CVE-2024-45310).
fn resolve(root: c_int, p: &InRootPath, kind: TargetKind, create: bool) -> SysResult<c_int> {
    let dir_flag = if kind == TargetKind::Dir { libc::O_DIRECTORY } else { 0 };
    match sys::openat2(root, p.full.as_ptr(), libc::O_PATH | dir_flag, 0, IN_ROOT) {
        Err(libc::ENOENT) if create => {}
        other => return other,
    }
    let parent = resolve_parent(root, p)?;
    let r = last_name(p).and_then(|name| {
        let made = if kind == TargetKind::File {
            // SAFETY: openat relative to a resolved directory fd; O_NOFOLLOW|O_EXCL refuse
            // anything that appeared meanwhile.
            let f = unsafe {
                libc::openat(
                    parent,
                    name.as_ptr(),
                    libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                    0o644 as c_uint,
                )
            };
            if f >= 0 {
                sys::close(f);
            }
            f.min(0)
        } else {
            // SAFETY: mkdirat relative to a resolved directory fd.
            unsafe { libc::mkdirat(parent, name.as_ptr(), 0o755) }
        };
        if made != 0 && sys::last_errno() != libc::EEXIST {
            return Err(sys::last_errno());
        }
        // Re-open the one new component below its parent, with no symlinks at all.
        sys::openat2(
            parent,
            name.as_ptr(),
            libc::O_PATH | dir_flag,
            0,
            libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS,
        )
    });
    sys::close(parent);
    r
}

/// The parent directory of `p`, resolved (and created) in-root.
fn resolve_parent(root: c_int, p: &InRootPath) -> SysResult<c_int> {
    match p.prefixes.len() {
        0 => Err(libc::EINVAL),
        1 => {
            // SAFETY: dup of our root fd.
            let fd = unsafe { libc::fcntl(root, libc::F_DUPFD_CLOEXEC, 3) };
            if fd < 0 {
                Err(sys::last_errno())
            } else {
                Ok(fd)
            }
        }
        n => resolve_prefix(root, p, n - 1),
    }
}

/// Resolves/creates the first `n` components of `p` as directories.
fn resolve_prefix(root: c_int, p: &InRootPath, n: usize) -> SysResult<c_int> {
    let mut parent = -1;
    for (prefix, name) in p.prefixes.iter().zip(&p.names).take(n) {
        let fd = match sys::openat2(root, prefix.as_ptr(), libc::O_PATH | libc::O_DIRECTORY, 0, IN_ROOT) {
            Ok(fd) => fd,
            Err(libc::ENOENT) => {
                let dirfd = if parent >= 0 { parent } else { root };
                // SAFETY: mkdirat relative to a resolved directory fd.
                if unsafe { libc::mkdirat(dirfd, name.as_ptr(), 0o755) } != 0 && sys::last_errno() != libc::EEXIST {
                    let e = sys::last_errno();
                    if parent >= 0 {
                        sys::close(parent);
                    }
                    return Err(e);
                }
                let r = sys::openat2(
                    dirfd,
                    name.as_ptr(),
                    libc::O_PATH | libc::O_DIRECTORY,
                    0,
                    libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS,
                );
                if parent >= 0 {
                    sys::close(parent);
                }
                r?
            }
            Err(e) => {
                if parent >= 0 {
                    sys::close(parent);
                }
                return Err(e);
            }
        };
        if parent >= 0 {
            sys::close(parent);
        }
        parent = fd;
    }
    if parent < 0 {
        Err(libc::EINVAL)
    } else {
        Ok(parent)
    }
}

fn last_name(p: &InRootPath) -> SysResult<&std::ffi::CStr> {
    p.names.last().map(|c| c.as_c_str()).ok_or(libc::EINVAL)
}

pub(super) fn apply_op(root: c_int, op: &Op, ctx: &ChildCtx<'_>, i: usize) -> Step {
    match op {
        Op::Mount { source, target, kind, attrs } => {
            let src = make_source(source, ctx, Stage::Mount, i)?;
            if let Source::Bind { recursive, .. } = source {
                if *attrs != 0 {
                    if let Err(e) = sys::mount_setattr(src, *recursive, *attrs) {
                        sys::close(src);
                        return Err(Fail { stage: Stage::Mount, index: i as u32, errno: e });
                    }
                }
            }
            let dst = match resolve(root, target, *kind, true) {
                Ok(fd) => fd,
                Err(e) => {
                    sys::close(src);
                    return Err(Fail { stage: Stage::MountTarget, index: i as u32, errno: e });
                }
            };
            let r = sys::move_mount_fd(src, dst);
            sys::close(src);
            sys::close(dst);
            r.at(Stage::Mount, i)?;
            // mqueue takes no `context=` option: label its root with an xattr instead.
            if let (Source::Fs { fstype, .. }, Some(label)) = (source, ctx.mount_label) {
                if *fstype == c"mqueue" {
                    let fd = sys::openat2(root, target.full.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY, 0, IN_ROOT)
                        .at(Stage::Mount, i)?;
                    // SAFETY: fsetxattr on an fd we own with a NUL-terminated name and a
                    // byte buffer of the given length.
                    let r = unsafe {
                        libc::fsetxattr(fd, c"security.selinux".as_ptr(), label.as_ptr().cast(), label.to_bytes().len(), 0)
                    };
                    let e = sys::last_errno();
                    sys::close(fd);
                    if r != 0 {
                        return Err(Fail { stage: Stage::Mount, index: i as u32, errno: e });
                    }
                }
            }
            // fsmount attrs: applied on the attached mount (fsmount's own attr argument
            // would refuse a read-only sysfs in some user namespaces).
            if let Source::Fs { .. } = source {
                if *attrs != 0 {
                    let fd = resolve(root, target, *kind, false).at(Stage::Mount, i)?;
                    let r = sys::mount_setattr(fd, false, *attrs);
                    sys::close(fd);
                    r.at(Stage::Mount, i)?;
                }
            }
            Ok(())
        }
        Op::Setattr { target, attrs } => {
            let fd = resolve(root, target, TargetKind::Dir, false).at(Stage::Mount, i)?;
            let r = sys::mount_setattr(fd, false, *attrs);
            sys::close(fd);
            r.at(Stage::Mount, i)
        }
        Op::Symlink { path, contents } => {
            let dir = resolve_parent(root, path).at(Stage::CreateFile, i)?;
            let r = last_name(path).and_then(|name| {
                // SAFETY: symlinkat relative to a resolved directory fd.
                if unsafe { libc::symlinkat(contents.as_ptr(), dir, name.as_ptr()) } != 0 {
                    let e = sys::last_errno();
                    if e != libc::EEXIST {
                        return Err(e);
                    }
                }
                Ok(())
            });
            sys::close(dir);
            r.at(Stage::CreateFile, i)
        }
        Op::Dir { path, mode } => {
            let dir = resolve_parent(root, path).at(Stage::CreateFile, i)?;
            let r = last_name(path).and_then(|name| {
                // SAFETY: mkdirat relative to a resolved directory fd.
                if unsafe { libc::mkdirat(dir, name.as_ptr(), *mode) } != 0 && sys::last_errno() != libc::EEXIST {
                    return Err(sys::last_errno());
                }
                Ok(())
            });
            sys::close(dir);
            r.at(Stage::CreateFile, i)
        }
        Op::File { path, contents, mode } => {
            let dir = resolve_parent(root, path).at(Stage::CreateFile, i)?;
            let r = last_name(path).and_then(|name| {
                // SAFETY: openat relative to a resolved directory fd, never following a
                // symlink at the last component.
                let fd = unsafe {
                    libc::openat(
                        dir,
                        name.as_ptr(),
                        libc::O_CREAT | libc::O_TRUNC | libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                        *mode as c_uint,
                    )
                };
                if fd < 0 {
                    return Err(sys::last_errno());
                }
                let r = sys::write_all(fd, contents);
                sys::close(fd);
                r
            });
            sys::close(dir);
            r.at(Stage::CreateFile, i)
        }
    }
}

/// Masks `p`: a file is covered by a bind of the host's /dev/null (verified 1:3), a
/// directory by an empty read-only tmpfs. Missing paths are skipped.
pub(super) fn mask_path(root: c_int, p: &InRootPath, i: usize) -> Step {
    let target = match sys::openat2(root, p.full.as_ptr(), libc::O_PATH, 0, IN_ROOT) {
        Ok(fd) => fd,
        Err(libc::ENOENT) => return Ok(()),
        Err(e) => return Err(Fail { stage: Stage::MaskPath, index: i as u32, errno: e }),
    };
    // SAFETY: fstat into a zeroed stack struct on a valid fd.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstat(target, &mut st) } != 0 {
        let e = sys::last_errno();
        sys::close(target);
        return Err(Fail { stage: Stage::MaskPath, index: i as u32, errno: e });
    }
    let src = if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        (|| {
            let fs = sys::fsopen(c"tmpfs".as_ptr())?;
            let r = sys::fsconfig(fs, sys::FSCONFIG_SET_STRING, c"size".as_ptr(), c"0".as_ptr())
                .and_then(|_| sys::fsconfig(fs, sys::FSCONFIG_SET_STRING, c"mode".as_ptr(), c"0".as_ptr()))
                .and_then(|_| sys::fsconfig(fs, sys::FSCONFIG_CMD_CREATE, std::ptr::null(), std::ptr::null()))
                .and_then(|_| sys::fsmount(fs, sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV | sys::MOUNT_ATTR_NOEXEC));
            sys::close(fs);
            r
        })()
    } else {
        sys::open_tree(libc::AT_FDCWD, c"/dev/null".as_ptr(), sys::OPEN_TREE_CLONE).and_then(|fd| {
            if is_char_dev(fd, libc::makedev(1, 3)) {
                Ok(fd)
            } else {
                sys::close(fd);
                Err(libc::ENODEV)
            }
        })
    };
    let r = src.and_then(|s| {
        let r = sys::move_mount_fd(s, target);
        sys::close(s);
        r
    });
    sys::close(target);
    r.at(Stage::MaskPath, i)
}

/// Makes `p` read-only with a recursive read-only bind of itself. Missing paths skipped.
pub(super) fn readonly_path(root: c_int, p: &InRootPath, i: usize) -> Step {
    let target = match sys::openat2(root, p.full.as_ptr(), libc::O_PATH, 0, IN_ROOT) {
        Ok(fd) => fd,
        Err(libc::ENOENT) => return Ok(()),
        Err(e) => return Err(Fail { stage: Stage::ReadonlyPath, index: i as u32, errno: e }),
    };
    let r = sys::open_tree(target, c"".as_ptr(), sys::OPEN_TREE_CLONE | sys::AT_RECURSIVE | libc::AT_EMPTY_PATH as c_uint)
        .and_then(|tree| {
            let r = sys::mount_setattr(tree, true, sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV)
                .and_then(|_| sys::move_mount_fd(tree, target));
            sys::close(tree);
            r
        });
    sys::close(target);
    r.at(Stage::ReadonlyPath, i)
}

/// Writes the plan's sysctls through a procfs of our own, mounted detached (never
/// attached anywhere, so nothing in the image can stand in for it: CVE-2025-52881): each
/// file is opened below its root without symlinks or crossing mounts, and checked to be
/// on procfs before the write.
pub(super) fn write_sysctls(sysctls: &[(std::ffi::CString, std::ffi::CString)]) -> Step {
    let proc = (|| {
        let fs = sys::fsopen(c"proc".as_ptr())?;
        let r = sys::fsconfig(fs, sys::FSCONFIG_CMD_CREATE, std::ptr::null(), std::ptr::null())
            .and_then(|_| sys::fsmount(fs, sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV | sys::MOUNT_ATTR_NOEXEC));
        sys::close(fs);
        r
    })()
    .at(Stage::Sysctl, 0)?;
    let mut r = Ok(());
    for (i, (path, value)) in sysctls.iter().enumerate() {
        r = sys::openat2(
            proc,
            path.as_ptr(),
            libc::O_WRONLY | libc::O_CLOEXEC,
            0,
            libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS | libc::RESOLVE_NO_XDEV,
        )
        .and_then(|fd| {
            // SAFETY: fstatfs into a zeroed stack struct on a valid fd.
            let mut st: libc::statfs = unsafe { std::mem::zeroed() };
            // SAFETY: as above.
            let r = if unsafe { libc::fstatfs(fd, &mut st) } != 0 {
                Err(sys::last_errno())
            } else if st.f_type as i64 != sys::PROC_SUPER_MAGIC {
                Err(libc::EXDEV)
            } else {
                sys::write_all(fd, value.as_bytes())
            };
            sys::close(fd);
            r
        })
        .at(Stage::Sysctl, i);
        if r.is_err() {
            break;
        }
    }
    sys::close(proc);
    r
}

/// Brings `lo` up in the new network namespace (SIOCSIFFLAGS on a datagram socket).
pub(super) fn loopback_up() -> SysResult<()> {
    // SAFETY: socket/ioctl on a zeroed ifreq naming "lo"; the socket is closed after.
    unsafe {
        let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if s < 0 {
            return Err(sys::last_errno());
        }
        let mut ifr: libc::ifreq = std::mem::zeroed();
        ifr.ifr_name[0] = b'l' as libc::c_char;
        ifr.ifr_name[1] = b'o' as libc::c_char;
        let mut r = libc::ioctl(s, libc::SIOCGIFFLAGS, &mut ifr);
        if r == 0 {
            ifr.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            r = libc::ioctl(s, libc::SIOCSIFFLAGS, &ifr);
        }
        let e = sys::last_errno();
        sys::close(s);
        if r != 0 {
            Err(e)
        } else {
            Ok(())
        }
    }
}
