//! Thin wrappers over the raw syscalls the spawn engine needs (clone3, the new mount API,
//! openat2, pivot_root, close_range, pidfds, capset).
//!
//! Every function here is async-signal-safe: one syscall, no allocation, no locks, errors
//! returned as the raw errno. The child (src/child/) uses only these and libc calls of
//! the same kind.

use libc::{c_char, c_int, c_long, c_uint, c_void};

/// A raw OS error number.
pub(crate) type Errno = c_int;
/// Result of a raw syscall.
pub(crate) type SysResult<T> = Result<T, Errno>;

#[inline]
fn errno() -> Errno {
    // SAFETY: __errno_location returns the calling thread's errno slot; reading it is
    // async-signal-safe.
    unsafe { *libc::__errno_location() }
}

#[inline]
fn check(r: c_long) -> SysResult<c_int> {
    if r < 0 {
        Err(errno())
    } else {
        Ok(r as c_int)
    }
}

// ---- constants not (yet) in the libc crate ----
pub(crate) const OPEN_TREE_CLONE: c_uint = 1;
pub(crate) const OPEN_TREE_CLOEXEC: c_uint = libc::O_CLOEXEC as c_uint;
pub(crate) const MOVE_MOUNT_F_EMPTY_PATH: c_uint = 0x04;
pub(crate) const MOVE_MOUNT_T_EMPTY_PATH: c_uint = 0x40;
pub(crate) const FSOPEN_CLOEXEC: c_uint = 1;
pub(crate) const FSMOUNT_CLOEXEC: c_uint = 1;
pub(crate) const FSCONFIG_SET_FLAG: c_uint = 0;
pub(crate) const FSCONFIG_SET_STRING: c_uint = 1;
pub(crate) const FSCONFIG_CMD_CREATE: c_uint = 6;
pub(crate) const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub(crate) const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub(crate) const MOUNT_ATTR_NODEV: u64 = 0x4;
pub(crate) const MOUNT_ATTR_NOEXEC: u64 = 0x8;
/// The access-time mode bits (`MOUNT_ATTR__ATIME`): relatime is 0 within them.
pub(crate) const MOUNT_ATTR_ATIME_MASK: u64 = 0x70;
pub(crate) const MOUNT_ATTR_NOATIME: u64 = 0x10;
pub(crate) const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
pub(crate) const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
/// Not a kernel bit: asks [`mount_setattr`] to replace the access-time mode with the one
/// in the `MOUNT_ATTR__ATIME` bits (clearing them first, which relatime = 0 needs).
pub(crate) const ATTR_SET_ATIME: u64 = 1 << 63;
pub(crate) const AT_RECURSIVE: c_uint = 0x8000;
pub(crate) const CLONE_PIDFD: u64 = 0x1000;
pub(crate) const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
pub(crate) const PROC_SUPER_MAGIC: i64 = 0x9fa0;

/// `struct clone_args` (linux/sched.h), the clone3 argument.
#[repr(C)]
#[derive(Default)]
pub(crate) struct CloneArgs {
    pub flags: u64,
    pub pidfd: u64,
    pub child_tid: u64,
    pub parent_tid: u64,
    pub exit_signal: u64,
    pub stack: u64,
    pub stack_size: u64,
    pub tls: u64,
    pub set_tid: u64,
    pub set_tid_size: u64,
    pub cgroup: u64,
}

/// `struct mount_attr` (linux/mount.h), the mount_setattr argument.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Forks the calling process like `fork()` (no new stack, copy-on-write), with `args`.
/// Returns 0 in the child and the child's pid in the parent.
///
/// # Safety
/// In a multithreaded caller the child may only run async-signal-safe code and must end
/// in `execve` or `_exit`.
pub(crate) unsafe fn clone3(args: &mut CloneArgs) -> SysResult<c_int> {
    // SAFETY: args is a valid clone_args of the size passed; with stack == 0 the child
    // continues on a copy-on-write copy of this stack, like fork.
    check(unsafe {
        libc::syscall(
            libc::SYS_clone3,
            args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    })
}

/// Fallback for kernels without clone3 (< 5.3): the raw clone syscall with the same
/// flags (no CLONE_INTO_CGROUP), CLONE_PIDFD storing the pidfd at `pidfd`.
///
/// # Safety
/// As for [`clone3`].
pub(crate) unsafe fn clone_legacy(flags: u64, exit_signal: c_int, pidfd: *mut c_int) -> SysResult<c_int> {
    // SAFETY: x86_64 argument order (flags, stack, parent_tid, child_tid, tls); stack 0
    // means fork-like; with CLONE_PIDFD the pidfd is stored through parent_tid.
    check(unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags as c_long) | exit_signal as c_long,
            0usize,
            pidfd,
            0usize,
            0usize,
        )
    })
}

/// `openat2(dirfd, path, {flags, mode, resolve})`.
pub(crate) fn openat2(dirfd: c_int, path: *const c_char, flags: c_int, mode: u32, resolve: u64) -> SysResult<c_int> {
    let mut how: libc::open_how = unsafe_zeroed_open_how();
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.mode = mode as u64;
    how.resolve = resolve;
    // SAFETY: `how` is a valid open_how; `path` is a NUL-terminated string owned by the
    // caller for the duration of the call.
    check(unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dirfd,
            path,
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    })
}

fn unsafe_zeroed_open_how() -> libc::open_how {
    // SAFETY: open_how is a plain struct of integers; all-zero is its documented default.
    unsafe { std::mem::zeroed() }
}

/// `open_tree(dirfd, path, flags)`: with OPEN_TREE_CLONE a detached copy of a mount tree.
pub(crate) fn open_tree(dirfd: c_int, path: *const c_char, flags: c_uint) -> SysResult<c_int> {
    // SAFETY: path is NUL-terminated and valid for the call.
    check(unsafe { libc::syscall(libc::SYS_open_tree, dirfd, path, flags | OPEN_TREE_CLOEXEC) })
}

/// `move_mount(from_fd, "", to_fd, "", F_EMPTY_PATH|T_EMPTY_PATH)`: attaches the mount
/// behind `from` onto the object `to` refers to.
pub(crate) fn move_mount_fd(from: c_int, to: c_int) -> SysResult<()> {
    // SAFETY: both paths are the static empty string.
    check(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from,
            c"".as_ptr(),
            to,
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    })
    .map(drop)
}

/// `move_mount(from_fd, "", AT_FDCWD, to_path, F_EMPTY_PATH)`.
pub(crate) fn move_mount_to_path(from: c_int, to: *const c_char) -> SysResult<()> {
    // SAFETY: `to` is NUL-terminated and valid for the call.
    check(unsafe {
        libc::syscall(libc::SYS_move_mount, from, c"".as_ptr(), libc::AT_FDCWD, to, MOVE_MOUNT_F_EMPTY_PATH)
    })
    .map(drop)
}

/// `fsopen(fstype, FSOPEN_CLOEXEC)`.
pub(crate) fn fsopen(fstype: *const c_char) -> SysResult<c_int> {
    // SAFETY: fstype is NUL-terminated.
    check(unsafe { libc::syscall(libc::SYS_fsopen, fstype, FSOPEN_CLOEXEC) })
}

/// `fsconfig(fd, cmd, key, value, 0)`.
pub(crate) fn fsconfig(fd: c_int, cmd: c_uint, key: *const c_char, value: *const c_char) -> SysResult<()> {
    // SAFETY: key and value are NUL-terminated or null as the command allows.
    check(unsafe { libc::syscall(libc::SYS_fsconfig, fd, cmd, key, value, 0) }).map(drop)
}

/// `fsmount(fd, FSMOUNT_CLOEXEC, attrs)`: a detached mount of a configured superblock.
pub(crate) fn fsmount(fd: c_int, attrs: u64) -> SysResult<c_int> {
    // SAFETY: plain integer arguments.
    check(unsafe { libc::syscall(libc::SYS_fsmount, fd, FSMOUNT_CLOEXEC, attrs as c_uint) })
}

/// `mount_setattr(fd, "", AT_EMPTY_PATH [|AT_RECURSIVE], {attr_set: set})`; with
/// [`ATTR_SET_ATIME`] in `set`, `attr_clr` is `MOUNT_ATTR__ATIME` (the access-time mode
/// is replaced).
pub(crate) fn mount_setattr(fd: c_int, recursive: bool, set: u64) -> SysResult<()> {
    let clr = if set & ATTR_SET_ATIME != 0 { MOUNT_ATTR_ATIME_MASK } else { 0 };
    let attr = MountAttr { attr_set: set & !ATTR_SET_ATIME, attr_clr: clr, propagation: 0, userns_fd: 0 };
    let flags = libc::AT_EMPTY_PATH as c_uint | if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: attr is a valid mount_attr of the size passed; the path is "".
    check(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd,
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })
    .map(drop)
}

/// `mount(NULL, target, NULL, flags, NULL)`: propagation changes and remounts.
pub(crate) fn mount_flags(target: *const c_char, flags: libc::c_ulong) -> SysResult<()> {
    // SAFETY: target is NUL-terminated; the other pointers may be null for these flags.
    check(unsafe { libc::mount(std::ptr::null(), target, std::ptr::null(), flags, std::ptr::null()) } as c_long)
        .map(drop)
}

/// `pivot_root(new_root, put_old)`.
pub(crate) fn pivot_root(new_root: *const c_char, put_old: *const c_char) -> SysResult<()> {
    // SAFETY: both paths are NUL-terminated.
    check(unsafe { libc::syscall(libc::SYS_pivot_root, new_root, put_old) }).map(drop)
}

/// `close_range(first, last, flags)`.
pub(crate) fn close_range(first: c_uint, last: c_uint, flags: c_uint) -> SysResult<()> {
    // SAFETY: plain integer arguments.
    check(unsafe { libc::syscall(libc::SYS_close_range, first, last, flags) }).map(drop)
}

/// `pidfd_send_signal(pidfd, sig, NULL, 0)`.
pub(crate) fn pidfd_send_signal(pidfd: c_int, sig: c_int) -> SysResult<()> {
    // SAFETY: plain integer arguments and a null siginfo.
    check(unsafe { libc::syscall(libc::SYS_pidfd_send_signal, pidfd, sig, std::ptr::null::<c_void>(), 0) })
        .map(drop)
}

/// `setns(fd, nstype)`.
pub(crate) fn setns(fd: c_int, nstype: c_int) -> SysResult<()> {
    // SAFETY: plain integer arguments.
    check(unsafe { libc::setns(fd, nstype) } as c_long).map(drop)
}

/// `struct __user_cap_header_struct` / `__user_cap_data_struct` for capset.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: c_int,
}
#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Sets the calling thread's effective, permitted and inheritable capability sets.
pub(crate) fn capset(effective: u64, permitted: u64, inheritable: u64) -> SysResult<()> {
    let hdr = CapHeader { version: 0x2008_0522, pid: 0 }; // _LINUX_CAPABILITY_VERSION_3
    let data = [
        CapData { effective: effective as u32, permitted: permitted as u32, inheritable: inheritable as u32 },
        CapData {
            effective: (effective >> 32) as u32,
            permitted: (permitted >> 32) as u32,
            inheritable: (inheritable >> 32) as u32,
        },
    ];
    // SAFETY: hdr and data are valid v3 capability structs (two data words).
    check(unsafe { libc::syscall(libc::SYS_capset, &hdr as *const CapHeader, data.as_ptr()) }).map(drop)
}

/// `prctl(option, arg2, 0, 0, 0)`.
pub(crate) fn prctl(option: c_int, arg2: libc::c_ulong, arg3: libc::c_ulong) -> SysResult<c_int> {
    // SAFETY: prctl with integer arguments only.
    check(unsafe { libc::prctl(option, arg2, arg3, 0 as libc::c_ulong, 0 as libc::c_ulong) } as c_long)
}

/// `write` of a whole small buffer (retrying on EINTR and short writes).
pub(crate) fn write_all(fd: c_int, mut buf: &[u8]) -> SysResult<()> {
    while !buf.is_empty() {
        // SAFETY: buf is a valid readable slice.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = errno();
            if e == libc::EINTR {
                continue;
            }
            return Err(e);
        }
        buf = &buf[n as usize..];
    }
    Ok(())
}

/// `close(fd)`, ignoring errors (the fd is gone either way on Linux).
pub(crate) fn close(fd: c_int) {
    // SAFETY: closing an fd this code owns.
    unsafe { libc::close(fd) };
}

/// `_exit(code)`: ends the child without running atexit handlers or destructors.
pub(crate) fn exit(code: c_int) -> ! {
    // SAFETY: _exit is async-signal-safe and never returns.
    unsafe { libc::_exit(code) }
}

/// The current errno (for libc calls made directly).
pub(crate) fn last_errno() -> Errno {
    errno()
}
