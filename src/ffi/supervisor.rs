//! `cocoon_*_seccomp_notify`, `cocoon_*_take_seccomp_listener` and `cocoon_seccomp_*`: the
//! seccomp supervisor (`cocoon::supervisor`) for C. The listener is a plain fd the caller
//! owns (poll it in an event loop); the `cocoon_seccomp_*` calls borrow it.

use std::ffi::{c_int, c_void};
use std::mem::ManuallyDrop;
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};
use std::time::Duration;

use super::builder::cocoon_builder;
use super::container::cocoon_container;
use super::exec_process::cocoon_exec_process;
use super::process::{cocoon_process, with_process};
use super::{array_arg, guard, nonnull, put, Fail, COCOON_E_NOT_AVAILABLE};
use crate::supervisor::{Notify, Received, Request, Response, Supervisor};

/// `cocoon_seccomp_recv`'s `*received`: the timeout passed with no call.
pub const COCOON_SECCOMP_TIMED_OUT: c_int = 0;
/// `cocoon_seccomp_recv`'s `*received`: a call waits for its answer (in `*request`).
pub const COCOON_SECCOMP_REQUEST: c_int = 1;
/// `cocoon_seccomp_recv`'s `*received`: every process with the filter is gone.
pub const COCOON_SECCOMP_ENDED: c_int = 2;

/// `cocoon_seccomp_respond`'s `kind`: the call fails with errno `value` (1..=4095).
pub const COCOON_SECCOMP_ERRNO: c_int = 1;
/// `cocoon_seccomp_respond`'s `kind`: the call returns `value` without being run.
pub const COCOON_SECCOMP_VALUE: c_int = 2;
/// `cocoon_seccomp_respond`'s `kind`: the kernel runs the call as made (`value` ignored);
/// never a security decision about pointer arguments (the caller's memory can change).
pub const COCOON_SECCOMP_CONTINUE: c_int = 3;

/// One notified call, filled by `cocoon_seccomp_recv`.
///
/// The struct grows at its end in later versions: set `size` to
/// `sizeof(cocoon_seccomp_request)` before the call; cocoon fills at most that many bytes
/// and sets `size` to how many it filled.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cocoon_seccomp_request {
    /// In: `sizeof(cocoon_seccomp_request)` as the caller knows it. Out: the bytes filled.
    pub size: u32,
    /// The calling thread, in the caller's PID namespace (0 if it has none there).
    pub pid: u32,
    /// The request's cookie, for `cocoon_seccomp_respond` and `cocoon_seccomp_id_valid`.
    pub id: u64,
    /// The syscall number.
    pub syscall: i64,
    /// The call's `AUDIT_ARCH_*`.
    pub arch: u32,
    /// Zero.
    pub reserved: u32,
    /// Where the call was made.
    pub instruction_pointer: u64,
    /// The raw arguments.
    pub args: [u64; 6],
}

/// The smallest `cocoon_seccomp_request.size` accepted: the size of the first version.
pub const COCOON_SECCOMP_REQUEST_SIZE_V1: u32 = 88;

const _: () = assert!(std::mem::size_of::<cocoon_seccomp_request>() == COCOON_SECCOMP_REQUEST_SIZE_V1 as usize);

unsafe fn set_notify(p: &mut crate::Process, syscalls: *const i64, n: usize) -> Result<(), Fail> {
    // SAFETY: forwarded contract.
    let nrs = unsafe { array_arg(syscalls, n, "syscalls") }?;
    let notify = Notify::syscalls(nrs.iter().copied());
    notify.validate()?;
    p.set_seccomp_notify(notify);
    Ok(())
}

/// Hands the `n` syscalls at `syscalls` (`SYS_*` numbers) of the container's program to a
/// supervisor: each call waits until it is answered through the listener
/// (`cocoon_container_take_seccomp_listener`). Not the exec helper's syscalls (`execve`,
/// `openat`, `write`, `close`, `clone`, ...), not empty, at most 256: else
/// `COCOON_E_INVALID_CONFIG`, the builder unchanged. `n` == 0 with `syscalls` NULL
/// removes it.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_seccomp_notify(
    builder: *mut cocoon_builder,
    syscalls: *const i64,
    n: usize,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(builder, |p| notify_or_clear(p, syscalls, n)) }
}

/// As `cocoon_builder_set_seccomp_notify`, for a process exec'd into a running container
/// (`cocoon_exec_process_take_seccomp_listener` then gives its listener).
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_set_seccomp_notify(
    process: *mut cocoon_process,
    syscalls: *const i64,
    n: usize,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(process, |p| notify_or_clear(p, syscalls, n)) }
}

unsafe fn notify_or_clear(p: &mut crate::Process, syscalls: *const i64, n: usize) -> Result<(), Fail> {
    if syscalls.is_null() && n == 0 {
        p.clear_seccomp_notify();
        return Ok(());
    }
    // SAFETY: forwarded contract.
    unsafe { set_notify(p, syscalls, n) }
}

fn give(s: Option<Supervisor>, fd: *mut c_int) -> Result<(), Fail> {
    let s = s.ok_or_else(|| Fail {
        code: COCOON_E_NOT_AVAILABLE,
        errno: 0,
        stage: 0,
        message: "no seccomp listener: the process notifies no syscall, or it was taken".into(),
    })?;
    // SAFETY: checked non-NULL by the caller of give; the caller passes a writable int.
    unsafe { put(fd, s.into_fd().into_raw_fd()) };
    Ok(())
}

/// The listener of the program's notified syscalls, once: `*fd` is then the caller's to
/// close (close-on-exec; closing it makes pending and later notified calls fail with
/// `ENOSYS`). `COCOON_E_NOT_AVAILABLE` if it notifies nothing or it was taken.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_take_seccomp_listener(
    container: *mut cocoon_container,
    fd: *mut c_int,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container.as_mut() }.ok_or_else(|| Fail::null("container"))?;
        nonnull(fd, "fd")?;
        give(c.inner.take_seccomp_supervisor(), fd)
    })
}

/// As `cocoon_container_take_seccomp_listener`, for an exec'd process.
#[no_mangle]
pub unsafe extern "C" fn cocoon_exec_process_take_seccomp_listener(
    process: *mut cocoon_exec_process,
    fd: *mut c_int,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let p = unsafe { process.as_mut() }.ok_or_else(|| Fail::null("process"))?;
        nonnull(fd, "fd")?;
        give(p.inner.take_seccomp_supervisor(), fd)
    })
}

/// A supervisor over the caller's fd, which it must not close.
fn borrowed(listener: c_int) -> Result<ManuallyDrop<Supervisor>, Fail> {
    if listener < 0 {
        return Err(Fail::arg(format!("listener {listener} is not an fd")));
    }
    // SAFETY: the fd stays the caller's: ManuallyDrop never closes it.
    Ok(ManuallyDrop::new(Supervisor::from_fd(unsafe { OwnedFd::from_raw_fd(listener) })))
}

fn request_of(r: &cocoon_seccomp_request) -> Request {
    Request {
        id: r.id,
        pid: r.pid,
        syscall: r.syscall,
        arch: r.arch,
        instruction_pointer: r.instruction_pointer,
        args: r.args,
    }
}

/// Waits up to `timeout_ms` (< 0: for ever) for the next notified call on `listener`.
/// `*received` is `COCOON_SECCOMP_REQUEST` (then `*request` is filled), `_TIMED_OUT` or
/// `_ENDED`. `request->size` below `COCOON_SECCOMP_REQUEST_SIZE_V1` ->
/// `COCOON_E_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_seccomp_recv(
    listener: c_int,
    timeout_ms: i64,
    request: *mut cocoon_seccomp_request,
    received: *mut c_int,
) -> c_int {
    guard(|| {
        nonnull(request, "request")?;
        nonnull(received, "received")?;
        // SAFETY: non-NULL; the caller passes at least `size` writable bytes, and size
        // is read first.
        let size = unsafe { std::ptr::addr_of!((*request).size).read() };
        if size < COCOON_SECCOMP_REQUEST_SIZE_V1 {
            return Err(Fail::arg(format!("request->size {size} is below {COCOON_SECCOMP_REQUEST_SIZE_V1}")));
        }
        let s = borrowed(listener)?;
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        let (kind, r) = match s.recv(timeout)? {
            Received::Request(r) => (COCOON_SECCOMP_REQUEST, Some(r)),
            Received::TimedOut => (COCOON_SECCOMP_TIMED_OUT, None),
            Received::Ended => (COCOON_SECCOMP_ENDED, None),
        };
        if let Some(r) = r {
            let out = cocoon_seccomp_request {
                size: COCOON_SECCOMP_REQUEST_SIZE_V1,
                pid: r.pid,
                id: r.id,
                syscall: r.syscall,
                arch: r.arch,
                reserved: 0,
                instruction_pointer: r.instruction_pointer,
                args: r.args,
            };
            // SAFETY: `request` holds at least V1 bytes (checked above).
            unsafe { put(request, out) };
        }
        // SAFETY: non-NULL, a writable int.
        unsafe { put(received, kind) };
        Ok(())
    })
}

/// Answers request `id` (see the `COCOON_SECCOMP_ERRNO/VALUE/CONTINUE` kinds). A request no
/// longer pending (its caller died or was interrupted) -> `COCOON_E_OS` with errno
/// `ENOENT` (or `EINPROGRESS` right after an earlier answer).
#[no_mangle]
pub unsafe extern "C" fn cocoon_seccomp_respond(listener: c_int, id: u64, kind: c_int, value: i64) -> c_int {
    guard(|| {
        let response = match kind {
            COCOON_SECCOMP_ERRNO => {
                Response::Errno(i32::try_from(value).map_err(|_| Fail::arg(format!("errno {value} is out of range")))?)
            }
            COCOON_SECCOMP_VALUE => Response::Value(value),
            COCOON_SECCOMP_CONTINUE => Response::Continue,
            _ => return Err(Fail::arg(format!("unknown response kind {kind}"))),
        };
        borrowed(listener)?.respond(id, response)?;
        Ok(())
    })
}

/// 1 if request `id` is still pending on `listener` (its pid still names the caller), else 0.
#[no_mangle]
pub unsafe extern "C" fn cocoon_seccomp_id_valid(listener: c_int, id: u64) -> c_int {
    super::guard_value(0, || Ok(c_int::from(borrowed(listener)?.id_valid(id))))
}

/// Reads up to `len` bytes of the calling process's memory at `addr` into `buf`; `*got`
/// is how many were read (fewer at the end of a mapping). The request is checked after
/// `/proc/<pid>/mem` is opened, so the bytes are those of the caller, not of a process that
/// reused its pid (`COCOON_E_OS`, errno `ESRCH`, if it is gone).
#[no_mangle]
pub unsafe extern "C" fn cocoon_seccomp_read_memory(
    listener: c_int,
    request: *const cocoon_seccomp_request,
    addr: u64,
    buf: *mut c_void,
    len: usize,
    got: *mut usize,
) -> c_int {
    guard(|| {
        // SAFETY: NULL or a request filled by cocoon_seccomp_recv.
        let r = unsafe { request.as_ref() }.ok_or_else(|| Fail::null("request"))?;
        nonnull(got, "got")?;
        if len > 0 {
            nonnull(buf, "buf")?;
        }
        let out: &mut [u8] = if len == 0 {
            &mut []
        } else {
            // SAFETY: non-NULL, `len` writable bytes per the contract.
            unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), len) }
        };
        let n = borrowed(listener)?.read_memory(&request_of(r), addr, out)?;
        // SAFETY: non-NULL, a writable size_t.
        unsafe { put(got, n) };
        Ok(())
    })
}
