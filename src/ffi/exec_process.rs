//! `cocoon_exec_process`: a process exec'd into a running container (`cocoon_container_exec`,
//! `cocoon_container_exec_process`).

use std::ffi::c_int;
use std::os::fd::AsRawFd;

use super::container::{check_signal, check_stream, put_status, try_wait_into, take_fd};
use super::{guard, nonnull, put, Fail};
use crate::container::ExecProcess;

/// A process exec'd into a running container. Opaque; created by
/// `cocoon_container_exec` or `cocoon_container_exec_process`, freed (killed and reaped if still running) by
/// `cocoon_exec_process_free`. It may outlive its container handle.
pub struct cocoon_exec_process {
    pub(super) inner: ExecProcess,
}

/// # Safety
/// `p` is NULL or a live exec process handle.
pub(super) unsafe fn exec_mut<'a>(p: *mut cocoon_exec_process) -> Result<&'a mut cocoon_exec_process, Fail> {
    // SAFETY: per the caller's contract.
    unsafe { p.as_mut() }.ok_or_else(|| Fail::null("process"))
}

/// The host pid of an exec'd process.
#[no_mangle]
pub unsafe extern "C" fn cocoon_exec_process_pid(process: *const cocoon_exec_process, pid: *mut c_int) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let p = unsafe { process.as_ref() }.ok_or_else(|| Fail::null("process"))?;
        nonnull(pid, "pid")?;
        // SAFETY: checked non-NULL.
        unsafe { put(pid, p.inner.pid()) };
        Ok(())
    })
}

/// Waits for an exec'd process to end (out-parameters as for `cocoon_container_wait`).
#[no_mangle]
pub unsafe extern "C" fn cocoon_exec_process_wait(
    process: *mut cocoon_exec_process,
    exit_code: *mut c_int,
    signal: *mut c_int,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let p = unsafe { exec_mut(process) }?;
        nonnull(exit_code, "exit_code")?;
        nonnull(signal, "signal")?;
        let s = p.inner.wait()?;
        // SAFETY: both checked non-NULL.
        unsafe { put_status(s, exit_code, signal) };
        Ok(())
    })
}

/// Checks without blocking whether an exec'd process has ended (as
/// `cocoon_container_try_wait`).
#[no_mangle]
pub unsafe extern "C" fn cocoon_exec_process_try_wait(
    process: *mut cocoon_exec_process,
    exited: *mut c_int,
    exit_code: *mut c_int,
    signal: *mut c_int,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let p = unsafe { exec_mut(process) }?;
        // SAFETY: the out-pointers as the caller passed them.
        unsafe { try_wait_into(exited, exit_code, signal, || p.inner.try_wait()) }
    })
}

/// `*fd` receives an fd owned by the handle that polls readable once the exec'd process
/// has exited (as `cocoon_container_wait_fd`; signal with `cocoon_exec_process_kill`).
#[no_mangle]
pub unsafe extern "C" fn cocoon_exec_process_wait_fd(process: *const cocoon_exec_process, fd: *mut c_int) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let p = unsafe { process.as_ref() }.ok_or_else(|| Fail::null("process"))?;
        nonnull(fd, "fd")?;
        // SAFETY: non-NULL, writable.
        unsafe { put(fd, p.inner.wait_fd().as_raw_fd()) };
        Ok(())
    })
}

/// Sends `signal` (0..=SIGRTMAX) to an exec'd process (`COCOON_E_ALREADY_EXITED` once it
/// has ended).
#[no_mangle]
pub unsafe extern "C" fn cocoon_exec_process_kill(process: *mut cocoon_exec_process, signal: c_int) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let p = unsafe { exec_mut(process) }?;
        check_signal(signal)?;
        p.inner.kill(signal).map_err(Fail::from)
    })
}

/// Takes the caller's end of a piped standard stream of an exec'd process (as
/// `cocoon_container_take_stdio`).
#[no_mangle]
pub unsafe extern "C" fn cocoon_exec_process_take_stdio(
    process: *mut cocoon_exec_process,
    stream: c_int,
    fd: *mut c_int,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let p = unsafe { exec_mut(process) }?;
        nonnull(fd, "fd")?;
        check_stream(stream)?;
        let raw = take_fd(p.inner.take_stdio_fd(stream), "the stream")?;
        // SAFETY: checked non-NULL.
        unsafe { put(fd, raw) };
        Ok(())
    })
}

/// Lets an exec'd process run on and frees the handle: it is neither killed nor reaped.
/// `*pid` (if not NULL) receives the pid to reap: the program's own when it is the
/// caller's direct child (`cocoon_running_set_direct_child`), else its monitor's.
#[no_mangle]
pub unsafe extern "C" fn cocoon_exec_process_detach(process: *mut cocoon_exec_process, pid: *mut c_int) -> c_int {
    guard(|| {
        if process.is_null() {
            return Err(Fail::null("process"));
        }
        // SAFETY: a non-NULL handle came from an exec call; consumed here, once.
        let h = unsafe { Box::from_raw(process) };
        let p = h.inner.detach();
        if !pid.is_null() {
            // SAFETY: non-NULL and writable per the contract.
            unsafe { put(pid, p) };
        }
        Ok(())
    })
}

/// Kills (if still running), reaps and frees an exec'd process. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn cocoon_exec_process_free(process: *mut cocoon_exec_process) {
    guard(|| {
        if !process.is_null() {
            // SAFETY: a non-NULL handle came from `cocoon_container_exec`; freed once.
            drop(unsafe { Box::from_raw(process) });
        }
        Ok(())
    });
}
