//! Syscalls that never write `errno`, for the monitor.
//!
//! The monitor of a new container shares the caller's memory (`CLONE_VM`, see
//! `spawn::start`), and with it the thread pointer of the caller's thread that cloned it:
//! a libc wrapper that fails would write that thread's `errno` while the thread runs. So
//! the monitor makes its own syscalls, returning `-errno` like the kernel. (Its child, the
//! program's process, has a copy of the memory of its own and uses the libc wrappers.)

use libc::{c_int, c_long};

/// One raw syscall: the kernel's return value (`-errno` on failure).
///
/// # Safety
/// The arguments must be valid for syscall `n` (pointers to live memory of the sizes the
/// kernel reads or writes).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn syscall6(n: c_long, a: c_long, b: c_long, c: c_long, d: c_long, e: c_long, f: c_long) -> c_long {
    let ret: c_long;
    // SAFETY: the x86_64 syscall ABI: number in rax, arguments in rdi, rsi, rdx, r10, r8,
    // r9; the kernel clobbers rcx and r11; validity of the arguments is the caller's.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") n => ret,
            in("rdi") a, in("rsi") b, in("rdx") c, in("r10") d, in("r8") e, in("r9") f,
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// One raw syscall: the kernel's return value (`-errno` on failure).
///
/// # Safety
/// As for the x86_64 version.
#[cfg(target_arch = "aarch64")]
#[inline(always)]
unsafe fn syscall6(n: c_long, a: c_long, b: c_long, c: c_long, d: c_long, e: c_long, f: c_long) -> c_long {
    let ret: c_long;
    // SAFETY: the aarch64 syscall ABI: number in x8, arguments and result in x0..x5.
    unsafe {
        std::arch::asm!(
            "svc 0",
            in("x8") n,
            inlateout("x0") a => ret,
            in("x1") b, in("x2") c, in("x3") d, in("x4") e, in("x5") f,
            options(nostack),
        );
    }
    ret
}

/// `Ok(value)` or `Err(errno)`.
fn check(r: c_long) -> Result<c_int, c_int> {
    if r < 0 {
        Err(-r as c_int)
    } else {
        Ok(r as c_int)
    }
}

macro_rules! sys {
    ($n:expr) => { sys!($n, 0, 0, 0, 0, 0, 0) };
    ($n:expr, $a:expr) => { sys!($n, $a, 0, 0, 0, 0, 0) };
    ($n:expr, $a:expr, $b:expr) => { sys!($n, $a, $b, 0, 0, 0, 0) };
    ($n:expr, $a:expr, $b:expr, $c:expr) => { sys!($n, $a, $b, $c, 0, 0, 0) };
    ($n:expr, $a:expr, $b:expr, $c:expr, $d:expr) => { sys!($n, $a, $b, $c, $d, 0, 0) };
    ($n:expr, $a:expr, $b:expr, $c:expr, $d:expr, $e:expr) => { sys!($n, $a, $b, $c, $d, $e, 0) };
    ($n:expr, $a:expr, $b:expr, $c:expr, $d:expr, $e:expr, $f:expr) => {
        syscall6($n as c_long, $a as c_long, $b as c_long, $c as c_long, $d as c_long, $e as c_long, $f as c_long)
    };
}

pub(crate) fn close(fd: c_int) {
    // SAFETY: closing an fd number; an invalid one only fails.
    unsafe { sys!(libc::SYS_close, fd) };
}

pub(crate) fn getppid() -> c_int {
    // SAFETY: no arguments.
    unsafe { sys!(libc::SYS_getppid) as c_int }
}

pub(crate) fn getpid() -> c_int {
    // SAFETY: no arguments.
    unsafe { sys!(libc::SYS_getpid) as c_int }
}

pub(crate) fn pidfd_open(pid: c_int) -> Result<c_int, c_int> {
    // SAFETY: integer arguments.
    check(unsafe { sys!(libc::SYS_pidfd_open, pid, 0) })
}

pub(crate) fn pidfd_send_signal(pidfd: c_int, sig: c_int) -> Result<c_int, c_int> {
    // SAFETY: integer arguments; no siginfo.
    check(unsafe { sys!(libc::SYS_pidfd_send_signal, pidfd, sig, 0, 0) })
}

/// Blocks (`how` = `SIG_SETMASK` with a full set) or unblocks signals of this thread.
pub(crate) fn sigprocmask(how: c_int, set: u64) {
    // SAFETY: a kernel sigset (8 bytes) on the stack.
    unsafe { sys!(libc::SYS_rt_sigprocmask, how, &set as *const u64, 0, 8) };
}

/// Sets `sig` back to its default action.
pub(crate) fn default_action(sig: c_int) {
    // The kernel's struct sigaction: handler, flags, restorer, mask.
    let act = [0u64; 4];
    // SAFETY: a zeroed kernel sigaction (SIG_DFL) on the stack.
    unsafe { sys!(libc::SYS_rt_sigaction, sig, act.as_ptr(), 0, 8) };
}

pub(crate) fn kill(pid: c_int, sig: c_int) {
    // SAFETY: integer arguments.
    unsafe { sys!(libc::SYS_kill, pid, sig) };
}

/// `prlimit64(0, RLIMIT_CORE, 0/0)`: no core dump.
pub(crate) fn no_core() {
    let zero = [0u64; 2];
    // SAFETY: a struct rlimit64 on the stack.
    unsafe { sys!(libc::SYS_prlimit64, 0, libc::RLIMIT_CORE, zero.as_ptr(), 0) };
}

pub(crate) fn close_range(first: u32, last: u32) {
    // SAFETY: integer arguments.
    unsafe { sys!(libc::SYS_close_range, first, last, 0) };
}

/// One byte from `sock` without blocking.
pub(crate) fn recv_byte(sock: c_int) -> Result<Option<u8>, c_int> {
    let mut b = 0u8;
    // SAFETY: one writable byte on the stack; no address.
    let n = check(unsafe { sys!(libc::SYS_recvfrom, sock, &mut b as *mut u8, 1, libc::MSG_DONTWAIT, 0, 0) })?;
    Ok((n == 1).then_some(b))
}

pub(crate) fn write_all(fd: c_int, mut buf: &[u8]) {
    while !buf.is_empty() {
        // SAFETY: a live buffer of the length passed.
        match check(unsafe { sys!(libc::SYS_write, fd, buf.as_ptr(), buf.len()) }) {
            Ok(n) if n > 0 => buf = &buf[n as usize..],
            Err(libc::EINTR) => {}
            _ => return,
        }
    }
}

/// One `read`: bytes read (0 at EOF) or errno.
pub(crate) fn read(fd: c_int, buf: &mut [u8]) -> Result<usize, c_int> {
    // SAFETY: a live writable buffer of the length passed.
    check(unsafe { sys!(libc::SYS_read, fd, buf.as_mut_ptr(), buf.len()) }).map(|n| n as usize)
}

/// One `write`: bytes written or errno.
pub(crate) fn write(fd: c_int, buf: &[u8]) -> Result<usize, c_int> {
    // SAFETY: a live buffer of the length passed.
    check(unsafe { sys!(libc::SYS_write, fd, buf.as_ptr(), buf.len()) }).map(|n| n as usize)
}

/// `poll` with a timeout in milliseconds (-1: none).
pub(crate) fn poll_ms(fds: &mut [libc::pollfd], timeout_ms: c_int) -> Result<c_int, c_int> {
    // SAFETY: a live slice of pollfd of the length passed.
    check(unsafe { sys!(libc::SYS_poll, fds.as_mut_ptr(), fds.len(), timeout_ms) })
}

/// `renameat(dir, from, dir, to)` with NUL-terminated names.
pub(crate) fn renameat(dir: c_int, from: &[u8], to: &[u8]) -> Result<c_int, c_int> {
    if from.last() != Some(&0) || to.last() != Some(&0) {
        return Err(libc::EINVAL);
    }
    // SAFETY: two NUL-terminated names (checked above) in live buffers.
    check(unsafe { sys!(libc::SYS_renameat, dir, from.as_ptr(), dir, to.as_ptr()) })
}

/// `openat(dir, name, flags, mode)` with a NUL-terminated name.
pub(crate) fn openat(dir: c_int, name: &[u8], flags: c_int, mode: u32) -> Result<c_int, c_int> {
    if name.last() != Some(&0) {
        return Err(libc::EINVAL);
    }
    // SAFETY: a NUL-terminated name (checked above) in a live buffer.
    check(unsafe { sys!(libc::SYS_openat, dir, name.as_ptr(), flags, mode) })
}

pub(crate) fn ftruncate(fd: c_int, len: u64) -> Result<c_int, c_int> {
    // SAFETY: integer arguments.
    check(unsafe { sys!(libc::SYS_ftruncate, fd, len) })
}

/// `CLOCK_MONOTONIC` in milliseconds (never fails for this clock, so errno is untouched).
pub(crate) fn monotonic_ms() -> i64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a writable timespec on the stack.
    unsafe { sys!(libc::SYS_clock_gettime, libc::CLOCK_MONOTONIC, &mut ts as *mut libc::timespec) };
    ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
}

/// `CLOCK_REALTIME` (a syscall, not the vDSO: the vDSO is libc's, see the module comment).
pub(crate) fn realtime() -> (i64, u32) {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a writable timespec on the stack.
    unsafe { sys!(libc::SYS_clock_gettime, libc::CLOCK_REALTIME, &mut ts as *mut libc::timespec) };
    (ts.tv_sec, ts.tv_nsec.clamp(0, 999_999_999) as u32)
}

pub(crate) fn sendmsg(sock: c_int, msg: &libc::msghdr, flags: c_int) {
    // SAFETY: a msghdr whose buffers the caller keeps alive across the call.
    unsafe { sys!(libc::SYS_sendmsg, sock, msg as *const libc::msghdr, flags) };
}

/// `waitid(P_PIDFD, pidfd, info, WEXITED | __WALL)`, retried on EINTR.
pub(crate) fn wait_pidfd(pidfd: c_int, info: &mut libc::siginfo_t) -> Result<c_int, c_int> {
    loop {
        // SAFETY: a writable siginfo_t; no rusage.
        let r = check(unsafe {
            sys!(libc::SYS_waitid, libc::P_PIDFD, pidfd, info as *mut libc::siginfo_t, libc::WEXITED | libc::__WALL, 0)
        });
        if r != Err(libc::EINTR) {
            return r;
        }
    }
}

/// `clone3`: the child (0) continues on a copy of this stack, like fork.
///
/// # Safety
/// `args` must be a valid clone_args without `CLONE_VM`; the child may only run
/// async-signal-safe code.
pub(crate) unsafe fn clone3(args: &mut crate::sys::CloneArgs) -> Result<c_int, c_int> {
    // SAFETY: forwarded to the caller's contract.
    check(unsafe { sys!(libc::SYS_clone3, args as *mut crate::sys::CloneArgs, std::mem::size_of::<crate::sys::CloneArgs>()) })
}

/// The legacy `clone` (kernels without clone3), fork-like; CLONE_PIDFD stores at `pidfd`.
///
/// # Safety
/// As for [`clone3`].
pub(crate) unsafe fn clone_legacy(flags: u64, pidfd: *mut c_int) -> Result<c_int, c_int> {
    // SAFETY: x86_64/aarch64 order (flags, stack, parent_tid, child_tid, tls); stack 0.
    check(unsafe { sys!(libc::SYS_clone, flags, 0, pidfd, 0, 0) })
}

pub(crate) fn exit(code: c_int) -> ! {
    loop {
        // SAFETY: exit_group never returns.
        unsafe { sys!(libc::SYS_exit_group, code) };
    }
}
