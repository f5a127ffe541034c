//! The code that runs in the new process between clone and exec.
//!
//! AUDIT RULES for this module (it runs in a copy of a possibly multithreaded process,
//! where another thread may have held the allocator or any lock at the moment of clone):
//! - only raw syscalls and async-signal-safe libc calls (`sys::*`, `libc::{dup2, fcntl,
//!   sigaction, sigprocmask, execve, ...}`); set-id calls go through `libc::syscall`
//!   because glibc's wrappers signal the (absent) sibling threads and would hang;
//! - no allocation, no `format!`, no `println!`, no locks, no `std::fs`;
//! - no panics: no indexing that can fail, no `unwrap`; every failure is a [`Fail`]
//!   reported to the parent as `(stage, index, errno)`, then `_exit(127)`.
//!
//! Everything used here was computed by the parent in [`crate::plan`].

use libc::{c_int, c_uint};

use crate::error::Stage;
use crate::plan::{InRootPath, Op, Plan, ProcessPlan, Source, TargetKind};
use crate::sys::{self, Errno, SysResult};

/// The message the child sends to the parent over the setup socket.
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

/// A failed step: what, which item, and the errno.
#[derive(Clone, Copy)]
pub(crate) struct Fail {
    stage: Stage,
    index: u32,
    errno: Errno,
}

type Step<T = ()> = Result<T, Fail>;

trait At<T> {
    fn at(self, stage: Stage, index: usize) -> Step<T>;
}

impl<T> At<T> for SysResult<T> {
    #[inline]
    fn at(self, stage: Stage, index: usize) -> Step<T> {
        self.map_err(|errno| Fail { stage, index: index as u32, errno })
    }
}

/// What the parent set up for this one spawn (fds) and the labels for it.
pub(crate) struct ChildCtx<'a> {
    /// The child's end of the setup socket.
    pub sock: c_int,
    /// The parent's end, closed first thing in the child.
    pub parent_sock: c_int,
    /// fds for stdin/stdout/stderr (-1: inherit).
    pub stdio: [c_int; 3],
    /// Raw fds of the passed fds, in the order of `ProcessPlan::fds`.
    pub pass_fds: &'a [c_int],
    /// SELinux label for exec, NUL-terminated.
    pub exec_label: Option<&'a std::ffi::CStr>,
    /// SELinux label for mounts (`context=` option value).
    pub mount_label: Option<&'a std::ffi::CStr>,
    /// For exec: the pidfd of the container whose namespaces are joined.
    pub join_pidfd: c_int,
    /// For exec: the `CLONE_NEW*` flags to join.
    pub join_flags: c_int,
    /// Namespace files to join by path (fd, CLONE_NEW* flag), opened by the parent.
    pub join_fds: &'a [(c_int, c_int)],
    /// Whether the parent has work to do before setup goes on (maps, time offsets, cgroup
    /// attachment, oom_score_adj): then the child reports READY and waits for GO.
    pub handshake: bool,
    /// The exec helper (sealed memfd) the child executes instead of the program.
    pub helper: &'a crate::helper::Invocation<'a>,
}

fn send(sock: c_int, r: &Report) {
    // SAFETY: Report is repr(C) plain data; we send its bytes as one datagram.
    let bytes = unsafe {
        std::slice::from_raw_parts(r as *const Report as *const u8, std::mem::size_of::<Report>())
    };
    // SAFETY: a plain send on an fd we own; MSG_NOSIGNAL avoids SIGPIPE if the parent is gone.
    unsafe { libc::send(sock, bytes.as_ptr().cast(), bytes.len(), libc::MSG_NOSIGNAL) };
}

/// Reports `f` to the parent and exits with 127.
pub(crate) fn fail_exit(sock: c_int, f: Fail) -> ! {
    send(sock, &Report { kind: REPORT_ERROR, stage: f.stage as u32, index: f.index, errno: f.errno, pid: 0 });
    sys::exit(127)
}

/// Waits for the parent's go-ahead byte; EOF means the parent gave up.
fn wait_go(sock: c_int) -> Step {
    let mut b = 0u8;
    loop {
        // SAFETY: reading one byte into a stack variable.
        let n = unsafe { libc::recv(sock, (&mut b as *mut u8).cast(), 1, 0) };
        if n == 1 {
            return Ok(());
        }
        if n == 0 {
            sys::exit(1);
        }
        let e = sys::last_errno();
        if e != libc::EINTR {
            return Err(Fail { stage: Stage::Sync, index: 0, errno: e });
        }
    }
}

/// Resets every signal to its default action and unblocks all: the host's handlers and
/// ignored signals (e.g. SIGPIPE in Python) must not leak into the container.
fn reset_signals() {
    // SAFETY: sigaction/sigprocmask are async-signal-safe; the zeroed sigaction is SIG_DFL
    // with an empty mask. Errors (for SIGKILL, SIGSTOP, glibc's internal signals) are
    // expected and ignored.
    unsafe {
        let dfl: libc::sigaction = std::mem::zeroed();
        for sig in 1..65 {
            libc::sigaction(sig, &dfl, std::ptr::null_mut());
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
    }
}

/// Entry point of a new container's first process. Never returns.
pub(crate) fn run_container(plan: &Plan, ctx: &ChildCtx<'_>) -> ! {
    reset_signals();
    match new_session().and_then(|()| setup_container(plan, ctx)) {
        Ok(()) => match exec_process(&plan.process, ctx) {
            Err(f) | Ok(f) => fail_exit(ctx.sock, f),
        },
        Err(f) => fail_exit(ctx.sock, f),
    }
}

fn setup_container(plan: &Plan, ctx: &ChildCtx<'_>) -> Step {
    if plan.time_offsets.is_some() {
        // SAFETY: unshare with a flag only; the new time namespace applies to children
        // and to this process after execve.
        if unsafe { libc::unshare(libc::CLONE_NEWTIME) } != 0 {
            return Err(Fail { stage: Stage::TimeNamespace, index: 0, errno: sys::last_errno() });
        }
    }
    if ctx.handshake {
        send(ctx.sock, &Report { kind: REPORT_READY, ..Report::default() });
        wait_go(ctx.sock)?;
    }
    if plan.time_offsets.is_some() {
        // The parent has written the offsets; enter the new time namespace now rather
        // than at execve, so that an init and everything it forks share it, and exec
        // into the container (which joins this process's namespaces) sees it too.
        // /proc is still the host's procfs here, not one the image controls.
        // SAFETY: open of a static path.
        let fd = unsafe { libc::open(c"/proc/self/ns/time_for_children".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(Fail { stage: Stage::TimeNamespace, index: 1, errno: sys::last_errno() });
        }
        let r = sys::setns(fd, libc::CLONE_NEWTIME);
        sys::close(fd);
        r.at(Stage::TimeNamespace, 2)?;
    }
    if !ctx.join_fds.is_empty() {
        // CVE-2016-9962 class: nothing in a joined namespace may ptrace us.
        sys::prctl(libc::PR_SET_DUMPABLE, 0, 0).at(Stage::Dumpable, 0)?;
        for (i, (fd, flag)) in ctx.join_fds.iter().enumerate() {
            sys::setns(*fd, *flag).at(Stage::JoinNamespaces, i)?;
            sys::close(*fd);
        }
    }
    if plan.namespaces.contains(crate::namespace::Namespaces::CGROUP) {
        // Now that the parent has put us in our cgroup, it becomes the namespace root.
        // SAFETY: unshare with a flag only.
        if unsafe { libc::unshare(libc::CLONE_NEWCGROUP) } != 0 {
            return Err(Fail { stage: Stage::CgroupNamespace, index: 0, errno: sys::last_errno() });
        }
    }
    if plan.become_root {
        // Raw syscalls: glibc's set*id would try to signal the parent's other threads.
        // SAFETY: plain integer syscalls.
        unsafe {
            if libc::syscall(libc::SYS_setresgid, 0, 0, 0) != 0 || libc::syscall(libc::SYS_setresuid, 0, 0, 0) != 0 {
                return Err(Fail { stage: Stage::UserNamespace, index: 0, errno: sys::last_errno() });
            }
        }
    }
    // Directories and files are created with exactly the modes the plan says.
    // SAFETY: umask is async-signal-safe.
    unsafe { libc::umask(0) };
    if let Some(h) = &plan.hostname {
        // SAFETY: h is NUL-terminated and outlives the call.
        if unsafe { libc::sethostname(h.as_ptr(), h.as_bytes().len()) } != 0 {
            return Err(Fail { stage: Stage::Hostname, index: 0, errno: sys::last_errno() });
        }
    }
    if let Some(d) = &plan.domainname {
        // SAFETY: d is NUL-terminated and outlives the call.
        if unsafe { libc::setdomainname(d.as_ptr(), d.as_bytes().len()) } != 0 {
            return Err(Fail { stage: Stage::Domainname, index: 0, errno: sys::last_errno() });
        }
    }
    sys::mount_flags(c"/".as_ptr(), libc::MS_REC | libc::MS_PRIVATE).at(Stage::MountPropagation, 0)?;

    // The new root, stacked on top of the old "/" in this private namespace: absolute
    // paths still resolve on the old root (host bind sources), while every target is
    // resolved below `root` with RESOLVE_IN_ROOT.
    let root = make_source(&plan.root, ctx, Stage::Rootfs, 0)?;
    sys::mount_setattr(root, false, plan.root_attrs).at(Stage::Rootfs, 0)?;
    sys::move_mount_to_path(root, c"/".as_ptr()).at(Stage::Rootfs, 0)?;
    for (i, op) in plan.ops.iter().enumerate() {
        apply_op(root, op, ctx, i)?;
    }
    if plan.loopback {
        loopback_up().at(Stage::Loopback, 0)?;
    }
    for (i, p) in plan.masked.iter().enumerate() {
        mask_path(root, p, i)?;
    }
    for (i, p) in plan.readonly.iter().enumerate() {
        readonly_path(root, p, i)?;
    }
    if plan.read_only_root {
        sys::mount_setattr(root, false, sys::MOUNT_ATTR_RDONLY).at(Stage::ReadonlyRoot, 0)?;
    }
    // SAFETY: fchdir on our root fd.
    if unsafe { libc::fchdir(root) } != 0 {
        return Err(Fail { stage: Stage::PivotRoot, index: 3, errno: sys::last_errno() });
    }
    sys::pivot_root(c".".as_ptr(), c".".as_ptr()).at(Stage::PivotRoot, 0)?;
    // The old root is now stacked on "."; detach it so the host is unreachable.
    // SAFETY: umount2 on "." with MNT_DETACH.
    if unsafe { libc::umount2(c".".as_ptr(), libc::MNT_DETACH) } != 0 {
        return Err(Fail { stage: Stage::PivotRoot, index: 1, errno: sys::last_errno() });
    }
    // SAFETY: chdir to a static path.
    if unsafe { libc::chdir(c"/".as_ptr()) } != 0 {
        return Err(Fail { stage: Stage::PivotRoot, index: 2, errno: sys::last_errno() });
    }
    sys::close(root);
    // An init (plan.init) is the exec helper's `cocoon-init` mode: see exec_process.
    Ok(())
}

/// Creates the mount behind `src`; returns a detached mount fd.
fn make_source(src: &Source, ctx: &ChildCtx<'_>, stage: Stage, i: usize) -> Step<c_int> {
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

const IN_ROOT: u64 = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;

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

fn apply_op(root: c_int, op: &Op, ctx: &ChildCtx<'_>, i: usize) -> Step {
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
fn mask_path(root: c_int, p: &InRootPath, i: usize) -> Step {
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
fn readonly_path(root: c_int, p: &InRootPath, i: usize) -> Step {
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

/// Brings `lo` up in the new network namespace (SIOCSIFFLAGS on a datagram socket).
fn loopback_up() -> SysResult<()> {
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

/// The program's side of exec into a running container: the monitor has joined the
/// container's namespaces and cloned us into its PID namespace. Wires stdio, drops every
/// host fd it does not need, waits for the caller to attach the cgroup, then execs.
pub(crate) fn run_joined(p: &ProcessPlan, ctx: &ChildCtx<'_>) -> ! {
    reset_signals();
    let r = new_session()
        .and_then(|()| wire_stdio(p, ctx))
        // Close every host fd except stdio, passed fds, the setup socket and the helper.
        .and_then(|()| close_except(p, &[ctx.sock, ctx.helper.fd()], false).at(Stage::CloseFds, 0))
        .and_then(|()| wait_go(ctx.sock));
    let f = match r {
        Ok(()) => match exec_process(p, ctx) {
            Ok(f) | Err(f) => f,
        },
        Err(f) => f,
    };
    fail_exit(ctx.sock, f)
}

/// A session (and process group) of its own, with no controlling terminal: `kill(0, ..)`
/// inside cannot reach the caller's process group, and the caller's terminal cannot be
/// driven with TIOCSTI (bubblewrap's CVE-2017-5226).
fn new_session() -> Step {
    // SAFETY: setsid has no arguments; a freshly cloned process is never a group leader.
    if unsafe { libc::setsid() } < 0 {
        return Err(Fail { stage: Stage::Session, index: 0, errno: sys::last_errno() });
    }
    Ok(())
}

/// Sends `r` with `fd` attached (SCM_RIGHTS; none when `fd` < 0).
pub(crate) fn send_with_fd(sock: c_int, r: &Report, fd: c_int) {
    let mut iov = libc::iovec { iov_base: r as *const Report as *mut libc::c_void, iov_len: std::mem::size_of::<Report>() };
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
        libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL);
    }
}

/// Puts the stdio and passed fds at their numbers. Sources are first parked above every
/// target so that no dup2 overwrites a source still needed.
fn wire_stdio(p: &ProcessPlan, ctx: &ChildCtx<'_>) -> Step {
    let mut parked = [-1 as c_int; 3];
    for (i, fd) in ctx.stdio.iter().enumerate() {
        if *fd >= 0 {
            // SAFETY: dup of an fd we hold.
            let d = unsafe { libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, p.fd_floor) };
            if d < 0 {
                return Err(Fail { stage: Stage::Stdio, index: i as u32, errno: sys::last_errno() });
            }
            if let Some(slot) = parked.get_mut(i) {
                *slot = d;
            }
        }
    }
    for (i, d) in parked.iter().enumerate() {
        if *d >= 0 {
            // SAFETY: dup2 onto 0..2; the new fd is not close-on-exec.
            if unsafe { libc::dup2(*d, i as c_int) } < 0 {
                return Err(Fail { stage: Stage::Stdio, index: i as u32, errno: sys::last_errno() });
            }
            sys::close(*d);
        }
    }
    // Passed fds: park all, then place. (At most a handful; a fixed stack array bounds it.)
    let mut pass_parked = [-1 as c_int; crate::plan::MAX_PASSED_FDS];
    for (j, fd) in ctx.pass_fds.iter().enumerate() {
        // SAFETY: dup of an fd we hold.
        let d = unsafe { libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, p.fd_floor) };
        if d < 0 {
            return Err(Fail { stage: Stage::Stdio, index: j as u32, errno: sys::last_errno() });
        }
        match pass_parked.get_mut(j) {
            Some(slot) => *slot = d,
            None => return Err(Fail { stage: Stage::Stdio, index: j as u32, errno: libc::EMFILE }),
        }
    }
    for ((_, target), d) in p.fds.iter().zip(pass_parked.iter()) {
        // SAFETY: dup2 onto the requested number; the new fd is not close-on-exec.
        if unsafe { libc::dup2(*d, *target) } < 0 {
            return Err(Fail { stage: Stage::Stdio, index: *target as u32, errno: sys::last_errno() });
        }
        sys::close(*d);
    }
    Ok(())
}

/// Closes (or marks close-on-exec, with `cloexec`) every fd from 3 up except the passed
/// fd targets and `extra`.
fn close_except(p: &ProcessPlan, extra: &[c_int], cloexec: bool) -> SysResult<()> {
    let flags = if cloexec { libc::CLOSE_RANGE_CLOEXEC } else { 0 };
    let mut next: c_uint = 3;
    // Walk the sorted keep-list merged with `extra` without allocating: repeatedly pick
    // the smallest kept fd >= next.
    loop {
        let mut keep: Option<c_uint> = None;
        for k in p.keep_fds.iter().copied().chain(extra.iter().filter(|e| **e >= 0).map(|e| *e as c_uint)) {
            if k >= next && keep.is_none_or(|m| k < m) {
                keep = Some(k);
            }
        }
        match keep {
            Some(k) => {
                if k > next {
                    sys::close_range(next, k - 1, flags)?;
                }
                next = k + 1;
            }
            None => return sys::close_range(next, c_uint::MAX, flags),
        }
    }
}

/// Applies the process settings and execs the program. Returns only on failure.
pub(crate) fn exec_process(p: &ProcessPlan, ctx: &ChildCtx<'_>) -> Step<Fail> {
    for (i, r) in p.rlimits.iter().enumerate() {
        // SAFETY: prlimit64 on ourselves with a valid rlimit64.
        if unsafe { libc::prlimit64(0, r.resource as _, &r.value, std::ptr::null_mut()) } != 0 {
            return Err(Fail { stage: Stage::Rlimit, index: i as u32, errno: sys::last_errno() });
        }
    }
    if ctx.join_pidfd < 0 {
        wire_stdio(p, ctx)?;
    }
    join_session_keyring(ctx.exec_label)?;
    // no_new_privs only matters at execve, so it can be set this early; with it the
    // filter below needs no CAP_SYS_ADMIN either.
    if p.no_new_privs {
        sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0).at(Stage::NoNewPrivs, 0)?;
    }
    // The default policy (no keyrings, no new namespaces) goes on right after the last
    // keyctl and before privileges are dropped, so it needs neither no_new_privs nor a
    // retained CAP_SYS_ADMIN; it refuses nothing the remaining steps use.
    if let Some(prog) = p.default_seccomp {
        install_seccomp(prog).at(Stage::Seccomp, crate::plan::SECCOMP_DEFAULT_INDEX as usize)?;
    }
    // Capabilities: bounding set first (needs CAP_SETPCAP), then ids with KEEPCAPS so the
    // permitted set survives setuid, then the exact sets.
    for cap in 0..=p.last_cap {
        if p.caps.bounding.0 & (1u64 << cap) == 0 {
            match sys::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0) {
                Ok(_) | Err(libc::EINVAL) => {}
                Err(e) => return Err(Fail { stage: Stage::CapBounding, index: cap, errno: e }),
            }
        }
    }
    sys::prctl(libc::PR_SET_KEEPCAPS, 1, 0).at(Stage::Capabilities, 0)?;
    // Raw syscalls: glibc's set*id wrappers would signal the parent's other threads.
    // SAFETY: plain syscalls with valid pointers into the plan.
    unsafe {
        if p.set_groups && libc::syscall(libc::SYS_setgroups, p.groups.len(), p.groups.as_ptr()) != 0 {
            return Err(Fail { stage: Stage::Groups, index: 0, errno: sys::last_errno() });
        }
        if libc::syscall(libc::SYS_setresgid, p.gid, p.gid, p.gid) != 0 {
            return Err(Fail { stage: Stage::SetGid, index: 0, errno: sys::last_errno() });
        }
        if libc::syscall(libc::SYS_setresuid, p.uid, p.uid, p.uid) != 0 {
            return Err(Fail { stage: Stage::SetUid, index: 0, errno: sys::last_errno() });
        }
    }
    sys::prctl(libc::PR_SET_KEEPCAPS, 0, 0).at(Stage::Capabilities, 0)?;
    sys::capset(p.caps.effective.0, p.caps.permitted.0, p.caps.inheritable.0).at(Stage::Capabilities, 0)?;
    sys::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong, 0)
        .at(Stage::AmbientCapabilities, 0)?;
    for cap in 0..=p.last_cap {
        if p.caps.ambient.0 & (1u64 << cap) != 0 {
            sys::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong, cap as libc::c_ulong)
                .at(Stage::AmbientCapabilities, cap as usize)?;
        }
    }
    // The cwd is resolved in-root without magic links: a `/proc/self/fd/N` cwd cannot
    // reach a leaked host fd (CVE-2024-21626).
    let cwd = sys::openat2(libc::AT_FDCWD, p.cwd.as_ptr(), libc::O_PATH | libc::O_DIRECTORY, 0, IN_ROOT)
        .at(Stage::Cwd, 0)?;
    // SAFETY: fchdir on the fd just opened.
    let r = unsafe { libc::fchdir(cwd) };
    sys::close(cwd);
    if r != 0 {
        return Err(Fail { stage: Stage::Cwd, index: 0, errno: sys::last_errno() });
    }
    // SAFETY: umask is async-signal-safe.
    unsafe { libc::umask(p.umask.unwrap_or(0o022) as libc::mode_t) };
    // Every fd not passed on is closed at exec, except the setup socket: the helper makes
    // it close-on-exec right before the program's exec (EOF tells the parent that the
    // program runs) or reports over it that no candidate could be executed. The helper's
    // own fd is close-on-exec already.
    close_except(p, &[ctx.sock], true).at(Stage::CloseFds, 0)?;
    // SAFETY: clearing FD_CLOEXEC on our socket (created close-on-exec) for the helper.
    if unsafe { libc::fcntl(ctx.sock, libc::F_SETFD, 0) } != 0 {
        return Err(Fail { stage: Stage::CloseFds, index: 1, errno: sys::last_errno() });
    }
    if let Some(prog) = &p.seccomp {
        // Last, so that only the helper runs under the user's deny-list.
        install_seccomp(prog).at(Stage::Seccomp, 0)?;
    }
    // CVE-2019-5736 class: never exec the program from this copy of the host, where
    // /proc/self/exe is the host's binary (a `#!/proc/self/exe` script or PT_INTERP
    // would run it inside). The sealed helper writes the SELinux exec label (so the
    // domain transition happens at the program's exec), tries each PATH candidate, and
    // in `cocoon-init` mode stays as PID 1.
    let errno = ctx.helper.exec(p.envp.as_ptr());
    Ok(Fail { stage: Stage::Exec, index: crate::helper::HELPER_INDEX, errno })
}

/// Writes an SELinux attribute of this thread (`exec`, `keycreate`) through
/// /proc/thread-self/attr/, after checking that the file is on a real procfs
/// (CVE-2019-16884 class) — this runs after pivot_root, so /proc is the procfs cocoon
/// mounted, but a bind or image trick must still not redirect it.
fn write_attr(path: &std::ffi::CStr, label: &std::ffi::CStr) -> SysResult<()> {
    // No magic links; thread-self is an ordinary procfs symlink into the task directory.
    let fd = sys::openat2(libc::AT_FDCWD, path.as_ptr(), libc::O_WRONLY, 0, libc::RESOLVE_NO_MAGICLINKS)?;
    // SAFETY: fstatfs into a zeroed stack struct on a valid fd.
    let mut sfs: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstatfs(fd, &mut sfs) } != 0 || sfs.f_type != sys::PROC_SUPER_MAGIC {
        sys::close(fd);
        return Err(libc::EXDEV);
    }
    let r = sys::write_all(fd, label.to_bytes());
    sys::close(fd);
    r
}

/// Gives the process a new anonymous session keyring, so the container cannot reach
/// the caller's session keys; with SELinux the keyring is created with the container's
/// label (written to attr/keycreate first).
fn join_session_keyring(label: Option<&std::ffi::CStr>) -> Step {
    if let Some(l) = label {
        write_attr(c"/proc/thread-self/attr/keycreate", l).at(Stage::KeyringLabel, 0)?;
    }
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: keyctl with a null name creates and joins an anonymous session keyring.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, std::ptr::null::<libc::c_char>()) };
    if r < 0 {
        let e = sys::last_errno();
        // Keyrings may be unavailable or over quota (e.g. in a user namespace); without
        // a label to apply that only costs isolation the caller did not ask for by name.
        if label.is_some() || !matches!(e, libc::ENOSYS | libc::EDQUOT | libc::EPERM | libc::EACCES) {
            return Err(Fail { stage: Stage::KeyringLabel, index: 1, errno: e });
        }
    }
    Ok(())
}

/// Installs a compiled seccomp filter (`seccomp(SECCOMP_SET_MODE_FILTER)`).
fn install_seccomp(prog: &[seccompiler::sock_filter]) -> SysResult<()> {
    #[repr(C)]
    struct SockFprog {
        len: libc::c_ushort,
        filter: *const seccompiler::sock_filter,
    }
    let len = libc::c_ushort::try_from(prog.len()).map_err(|_| libc::EINVAL)?;
    let fprog = SockFprog { len, filter: prog.as_ptr() };
    // SAFETY: fprog points at the plan's filter, alive for the call; seccomp copies it.
    let r = unsafe { libc::syscall(libc::SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 0, &fprog as *const SockFprog) };
    if r != 0 {
        Err(sys::last_errno())
    } else {
        Ok(())
    }
}
