//! `cocoon_container` and `cocoon_exec_process`: running containers through the C ABI.

use std::ffi::{c_char, c_int, CString};
use std::os::fd::{IntoRawFd, OwnedFd};

use super::builder::{builder_ref, cocoon_builder, COCOON_STDERR, COCOON_STDIN, COCOON_STDOUT};
use super::{guard, nonnull, put, Fail, COCOON_E_NOT_AVAILABLE};
use crate::container::{Container, ExecProcess, ExitStatus};

/// A running container. Opaque; created by `cocoon_container_spawn`, released by exactly
/// one of `cocoon_container_free` (kill + reap + clean up), `cocoon_container_delete`
/// (the same, reporting cleanup errors) or `cocoon_container_detach` (leave it running).
/// Not thread-safe: do not use one handle from two threads at once.
pub struct cocoon_container {
    inner: Container,
    id: CString,
}

/// A process exec'd into a running container. Opaque; created by
/// `cocoon_container_exec`, freed (killed and reaped if still running) by
/// `cocoon_exec_process_free`. It may outlive its container handle.
pub struct cocoon_exec_process {
    inner: ExecProcess,
}

/// # Safety
/// `c` is NULL or a live container handle.
unsafe fn container_mut<'a>(c: *mut cocoon_container) -> Result<&'a mut cocoon_container, Fail> {
    // SAFETY: per the caller's contract.
    unsafe { c.as_mut() }.ok_or_else(|| Fail::null("container"))
}

/// # Safety
/// `p` is NULL or a live exec process handle.
unsafe fn exec_mut<'a>(p: *mut cocoon_exec_process) -> Result<&'a mut cocoon_exec_process, Fail> {
    // SAFETY: per the caller's contract.
    unsafe { p.as_mut() }.ok_or_else(|| Fail::null("process"))
}

fn check_signal(signal: c_int) -> Result<(), Fail> {
    if !(0..=libc::SIGRTMAX()).contains(&signal) {
        return Err(Fail::arg(format!("signal {signal} is not 0..={}", libc::SIGRTMAX())));
    }
    Ok(())
}

/// Writes a status to the out-parameters (all non-NULL).
///
/// # Safety
/// Both pointers are non-NULL and writable.
unsafe fn put_status(s: ExitStatus, exit_code: *mut c_int, signal: *mut c_int) {
    let (code, sig) = match s {
        ExitStatus::Exited(c) => (c, 0),
        ExitStatus::Signaled(s) => (-1, s),
    };
    // SAFETY: per the caller's contract.
    unsafe {
        put(exit_code, code);
        put(signal, sig);
    }
}

fn take_fd(end: Option<OwnedFd>, name: &str) -> Result<c_int, Fail> {
    end.map(|fd| fd.into_raw_fd()).ok_or_else(|| Fail {
        code: COCOON_E_NOT_AVAILABLE,
        errno: 0,
        stage: 0,
        message: format!("{name} is not a pipe or its end was already taken"),
    })
}

/// Creates and starts a container from `builder` (which is not consumed and may be reused
/// or freed right after). On success `*out` receives the handle. On failure nothing is
/// left behind: no process, no mount, no cgroup; the last error tells why, with the
/// setup stage and errno for failures inside the new container.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_spawn(builder: *const cocoon_builder, out: *mut *mut cocoon_container) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live builder.
        let b = unsafe { builder_ref(builder) }?;
        nonnull(out, "out")?;
        let inner = b.inner.spawn()?;
        let id = CString::new(inner.id()).unwrap_or_default();
        let h = Box::into_raw(Box::new(cocoon_container { inner, id }));
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { put(out, h) };
        Ok(())
    })
}

/// The container id (borrowed: valid until the handle is released; never NULL for a
/// valid handle). NULL if `container` is NULL.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_id(container: *const cocoon_container) -> *const c_char {
    super::guard_value(std::ptr::null(), || {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container.as_ref() }.ok_or_else(|| Fail::null("container"))?;
        Ok(c.id.as_ptr())
    })
}

/// The host pid of the container's first process.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_pid(container: *const cocoon_container, pid: *mut c_int) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container.as_ref() }.ok_or_else(|| Fail::null("container"))?;
        nonnull(pid, "pid")?;
        // SAFETY: non-NULL, writable.
        unsafe { put(pid, c.inner.pid()) };
        Ok(())
    })
}

/// Waits for the container's first process to end. On success `*exit_code` is its exit
/// code and `*signal` 0, or `*exit_code` is -1 and `*signal` the signal that killed it.
/// Waiting again returns the same status.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_wait(
    container: *mut cocoon_container,
    exit_code: *mut c_int,
    signal: *mut c_int,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container_mut(container) }?;
        nonnull(exit_code, "exit_code")?;
        nonnull(signal, "signal")?;
        let s = c.inner.wait()?;
        // SAFETY: both checked non-NULL.
        unsafe { put_status(s, exit_code, signal) };
        Ok(())
    })
}

/// Checks without blocking whether the first process has ended: on success `*exited` is
/// 1 (and `*exit_code`/`*signal` as for `cocoon_container_wait`) or 0 (still running;
/// `*exit_code` -1, `*signal` 0).
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_try_wait(
    container: *mut cocoon_container,
    exited: *mut c_int,
    exit_code: *mut c_int,
    signal: *mut c_int,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container_mut(container) }?;
        nonnull(exited, "exited")?;
        nonnull(exit_code, "exit_code")?;
        nonnull(signal, "signal")?;
        let s = c.inner.try_wait()?;
        // SAFETY: all three checked non-NULL.
        unsafe {
            match s {
                Some(s) => {
                    put(exited, 1);
                    put_status(s, exit_code, signal);
                }
                None => {
                    put(exited, 0);
                    put(exit_code, -1);
                    put(signal, 0);
                }
            }
        }
        Ok(())
    })
}

/// Sends `signal` (0..=SIGRTMAX) to the container's first process. A PID 1 without a
/// handler ignores everything but SIGKILL (see `cocoon_builder_set_init`).
/// `COCOON_E_ALREADY_EXITED` once it has ended.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_kill(container: *mut cocoon_container, signal: c_int) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container_mut(container) }?;
        check_signal(signal)?;
        c.inner.kill(signal).map_err(Fail::from)
    })
}

/// Takes the caller's end of a piped standard stream (`COCOON_STDIN/STDOUT/STDERR`) of
/// the container's program: `*fd` is then the caller's to close. `COCOON_E_NOT_AVAILABLE`
/// if the stream was not `COCOON_STDIO_PIPE` or was already taken.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_take_stdio(container: *mut cocoon_container, stream: c_int, fd: *mut c_int) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container_mut(container) }?;
        nonnull(fd, "fd")?;
        let end: Option<OwnedFd> = match stream {
            COCOON_STDIN => c.inner.take_stdin().map(Into::into),
            COCOON_STDOUT => c.inner.take_stdout().map(Into::into),
            COCOON_STDERR => c.inner.take_stderr().map(Into::into),
            _ => return Err(Fail::arg(format!("unknown stream {stream}"))),
        };
        let raw = take_fd(end, "the stream")?;
        // SAFETY: checked non-NULL.
        unsafe { put(fd, raw) };
        Ok(())
    })
}

/// Runs another process in the running container: it joins every namespace the
/// container has (and its cgroup). Only the process settings of `process` are used
/// (program, args, env, cwd, user, capabilities, no_new_privs, rlimits, umask,
/// oom_score_adj, stdio); `process` is not consumed. On success `*out` receives the
/// handle. `COCOON_E_ALREADY_EXITED` if the container's first process has been reaped.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_exec(
    container: *mut cocoon_container,
    process: *const cocoon_builder,
    out: *mut *mut cocoon_exec_process,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or live handles.
        let c = unsafe { container_mut(container) }?;
        // SAFETY: as above.
        let b = unsafe { builder_ref(process) }?;
        nonnull(out, "out")?;
        crate::plan::validate_process(&b.inner.process)?;
        let inner = c.inner.exec(&b.inner.process)?;
        let h = Box::into_raw(Box::new(cocoon_exec_process { inner }));
        // SAFETY: checked non-NULL.
        unsafe { put(out, h) };
        Ok(())
    })
}

/// Kills every process of the container, reaps them, removes its cgroup and frees the
/// handle, which is invalid afterwards even when this fails (the failure, e.g. a cgroup
/// that could not be removed, is reported). NULL -> `COCOON_E_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_delete(container: *mut cocoon_container) -> c_int {
    guard(|| {
        nonnull(container, "container")?;
        // SAFETY: a non-NULL handle came from `cocoon_container_spawn`; released once.
        let c = unsafe { Box::from_raw(container) };
        c.inner.delete().map_err(Fail::from)
    })
}

/// Frees the handle, leaving the container running: `*pid` receives the host pid of its
/// first process, which the caller must reap (`waitid(P_PID, pid, &info, WEXITED |
/// __WALL)`: it has no exit signal). On a NULL `pid` the handle is NOT freed.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_detach(container: *mut cocoon_container, pid: *mut c_int) -> c_int {
    guard(|| {
        nonnull(container, "container")?;
        nonnull(pid, "pid")?;
        // SAFETY: a non-NULL handle came from `cocoon_container_spawn`; released once.
        let c = unsafe { Box::from_raw(container) };
        let p = c.inner.detach();
        // SAFETY: checked non-NULL.
        unsafe { put(pid, p) };
        Ok(())
    })
}

/// Kills every process of the container, reaps them, cleans up and frees the handle.
/// NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_free(container: *mut cocoon_container) {
    guard(|| {
        if !container.is_null() {
            // SAFETY: a non-NULL handle came from `cocoon_container_spawn`; released once.
            drop(unsafe { Box::from_raw(container) });
        }
        Ok(())
    });
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
        nonnull(exited, "exited")?;
        nonnull(exit_code, "exit_code")?;
        nonnull(signal, "signal")?;
        let s = p.inner.try_wait()?;
        // SAFETY: all three checked non-NULL.
        unsafe {
            match s {
                Some(s) => {
                    put(exited, 1);
                    put_status(s, exit_code, signal);
                }
                None => {
                    put(exited, 0);
                    put(exit_code, -1);
                    put(signal, 0);
                }
            }
        }
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
        let end: Option<OwnedFd> = match stream {
            COCOON_STDIN => p.inner.take_stdin().map(Into::into),
            COCOON_STDOUT => p.inner.take_stdout().map(Into::into),
            COCOON_STDERR => p.inner.take_stderr().map(Into::into),
            _ => return Err(Fail::arg(format!("unknown stream {stream}"))),
        };
        let raw = take_fd(end, "the stream")?;
        // SAFETY: checked non-NULL.
        unsafe { put(fd, raw) };
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
