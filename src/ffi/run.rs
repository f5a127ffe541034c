//! Waits with a time limit, the container's pidfd, and one-shot runs
//! (`cocoon_builder_run_output` and its `cocoon_output`).

use std::ffi::c_int;
use std::os::fd::AsRawFd;
use std::time::Duration;

use super::builder::{builder_ref, cocoon_builder};
use super::container::{cocoon_container, container_mut, put_status, try_wait_into};
use super::exec_process::{cocoon_exec_process, exec_mut};
use super::{guard, nonnull, put, Fail, COCOON_E_NOT_AVAILABLE};
use crate::run::{EndedBy, Output, RunOptions};

/// A time limit in milliseconds: -1 is none; other negative values are rejected.
fn limit(timeout_ms: i64) -> Result<Option<Duration>, Fail> {
    match timeout_ms {
        -1 => Ok(None),
        ms if ms >= 0 => Ok(Some(Duration::from_millis(ms as u64))),
        ms => Err(Fail::arg(format!("timeout_ms {ms} is neither -1 (no limit) nor >= 0"))),
    }
}

/// Waits at most `timeout_ms` milliseconds (0: do not block; -1: no limit) for the
/// container's first process to end. On success `*exited` is 1 and `*exit_code`/`*signal`
/// as for `cocoon_container_wait`, or 0 when it still runs at the limit (`*exit_code`
/// -1, `*signal` 0; it is not killed). Polls the wait fd: no busy loop; a signal that
/// interrupts the poll does not end the wait early (use the wait fd in your own loop to
/// be interruptible).
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_wait_timeout(
    container: *mut cocoon_container,
    timeout_ms: i64,
    exited: *mut c_int,
    exit_code: *mut c_int,
    signal: *mut c_int,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container_mut(container) }?;
        let limit = limit(timeout_ms)?;
        // SAFETY: the out-pointers as the caller passed them.
        unsafe {
            try_wait_into(exited, exit_code, signal, || match limit {
                Some(t) => c.inner.wait_timeout(t),
                None => c.inner.wait().map(Some),
            })
        }
    })
}

/// As `cocoon_container_wait_timeout`, for an exec'd process.
#[no_mangle]
pub unsafe extern "C" fn cocoon_exec_process_wait_timeout(
    process: *mut cocoon_exec_process,
    timeout_ms: i64,
    exited: *mut c_int,
    exit_code: *mut c_int,
    signal: *mut c_int,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let p = unsafe { exec_mut(process) }?;
        let limit = limit(timeout_ms)?;
        // SAFETY: the out-pointers as the caller passed them.
        unsafe {
            try_wait_into(exited, exit_code, signal, || match limit {
                Some(t) => p.inner.wait_timeout(t),
                None => p.inner.wait().map(Some),
            })
        }
    })
}

/// `*fd` receives a pidfd of the container's first process, borrowed: owned by the
/// handle, valid until the handle is released; do not close it. Use it with
/// `pidfd_send_signal`, `setns` or `pidfd_getfd`, or poll it (`POLLIN` once that process
/// has exited; `cocoon_container_wait` may then still block for the moment cocoon's
/// monitor takes to report: to wait in an event loop, poll `cocoon_container_wait_fd`).
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_pidfd(container: *const cocoon_container, fd: *mut c_int) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container.as_ref() }.ok_or_else(|| Fail::null("container"))?;
        nonnull(fd, "fd")?;
        // SAFETY: non-NULL, writable.
        unsafe { put(fd, c.inner.pidfd().as_raw_fd()) };
        Ok(())
    })
}

/// `cocoon_output_ended_by`: the program exited by itself.
pub const COCOON_ENDED_EXITED: c_int = 0;
/// `cocoon_output_ended_by`: a signal killed it (not one of the limits below).
pub const COCOON_ENDED_SIGNALED: c_int = 1;
/// `cocoon_output_ended_by`: the time limit passed; cocoon killed the whole container.
pub const COCOON_ENDED_TIMEOUT: c_int = 2;
/// `cocoon_output_ended_by`: the OOM killer killed a process of the container's cgroup.
pub const COCOON_ENDED_OOM_KILL: c_int = 3;
/// `cocoon_output_ended_by`: the cgroup's pids limit refused a fork at least once.
pub const COCOON_ENDED_PIDS_LIMIT: c_int = 4;

/// What ended the container's first process, once it has ended: `*ended_by` is
/// `COCOON_ENDED_OOM_KILL` or `COCOON_ENDED_PIDS_LIMIT` when its cgroup's OOM killer or
/// pids limit struck (read from the cgroup, so only for a container with one), else
/// `COCOON_ENDED_EXITED` or `COCOON_ENDED_SIGNALED`; never `COCOON_ENDED_TIMEOUT` (a
/// time limit is the caller's). `COCOON_E_NOT_AVAILABLE` while it still runs.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_ended_by(container: *mut cocoon_container, ended_by: *mut c_int) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container_mut(container) }?;
        nonnull(ended_by, "ended_by")?;
        let e = c.inner.ended_by()?.ok_or_else(|| Fail {
            code: COCOON_E_NOT_AVAILABLE,
            errno: 0,
            stage: 0,
            message: "the container's first process is still running".into(),
        })?;
        // SAFETY: checked non-NULL.
        unsafe { put(ended_by, ended_code(e)) };
        Ok(())
    })
}

fn ended_code(e: EndedBy) -> c_int {
    match e {
        EndedBy::Exited => COCOON_ENDED_EXITED,
        EndedBy::Signaled => COCOON_ENDED_SIGNALED,
        EndedBy::Timeout => COCOON_ENDED_TIMEOUT,
        EndedBy::OomKill => COCOON_ENDED_OOM_KILL,
        EndedBy::PidsLimit => COCOON_ENDED_PIDS_LIMIT,
    }
}

/// The result of `cocoon_builder_run_output`. Opaque; freed by `cocoon_output_free`.
pub struct cocoon_output {
    inner: Output,
}

/// # Safety
/// `o` is NULL or a live output handle.
unsafe fn output_ref<'a>(o: *const cocoon_output) -> Result<&'a Output, Fail> {
    // SAFETY: per the caller's contract.
    unsafe { o.as_ref() }.map(|o| &o.inner).ok_or_else(|| Fail::null("output"))
}

/// Runs the container once: spawns it from `builder` (not consumed), feeds `input`
/// (`input_len` bytes; NULL with 0: stdin as the builder sets it; non-NULL: a pipe,
/// closed once fed — a program that does not read it all is no error), collects stdout
/// and stderr (both drained at once: no deadlock), waits for the first process and kills
/// the whole container if `timeout_ms` (-1: no limit) passes first, then removes the
/// container. On success `*out` receives the result (free with `cocoon_output_free`). On
/// failure nothing is left behind, as for `cocoon_container_spawn`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_run_output(
    builder: *const cocoon_builder,
    input: *const std::ffi::c_void,
    input_len: usize,
    timeout_ms: i64,
    out: *mut *mut cocoon_output,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live builder.
        let b = unsafe { builder_ref(builder) }?;
        nonnull(out, "out")?;
        let mut opts = RunOptions::new().capture_output();
        if !input.is_null() {
            // Not array_arg: input is data, larger than its bound on arrays of settings.
            if input_len > isize::MAX as usize {
                return Err(Fail::arg(format!("input_len {input_len} is above {}", isize::MAX)));
            }
            // SAFETY: non-NULL, `input_len` (<= isize::MAX) readable bytes per the contract.
            let bytes = unsafe { std::slice::from_raw_parts(input.cast::<u8>(), input_len) };
            opts = opts.input(bytes.to_vec());
        } else if input_len != 0 {
            return Err(Fail::arg(format!("input is NULL but its length is {input_len}")));
        }
        if let Some(t) = limit(timeout_ms)? {
            opts = opts.timeout(t);
        }
        let inner = b.inner.run(&opts)?;
        let h = Box::into_raw(Box::new(cocoon_output { inner }));
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { put(out, h) };
        Ok(())
    })
}

/// How the first process ended (as `cocoon_container_wait`).
#[no_mangle]
pub unsafe extern "C" fn cocoon_output_status(output: *const cocoon_output, exit_code: *mut c_int, signal: *mut c_int) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let o = unsafe { output_ref(output) }?;
        nonnull(exit_code, "exit_code")?;
        nonnull(signal, "signal")?;
        // SAFETY: both checked non-NULL.
        unsafe { put_status(o.status, exit_code, signal) };
        Ok(())
    })
}

/// What ended the run: `*ended_by` is one of `COCOON_ENDED_*`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_output_ended_by(output: *const cocoon_output, ended_by: *mut c_int) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let o = unsafe { output_ref(output) }?;
        nonnull(ended_by, "ended_by")?;
        // SAFETY: checked non-NULL.
        unsafe { put(ended_by, ended_code(o.ended_by)) };
        Ok(())
    })
}

/// # Safety
/// Both out-pointers are NULL or writable.
unsafe fn put_bytes(b: &[u8], data: *mut *const u8, len: *mut usize) -> Result<(), Fail> {
    nonnull(data, "data")?;
    nonnull(len, "len")?;
    // SAFETY: both checked non-NULL, writable per the contract.
    unsafe {
        put(data, b.as_ptr());
        put(len, b.len());
    }
    Ok(())
}

/// What the program wrote to stdout: `*data` (borrowed: valid until `cocoon_output_free`;
/// not NUL-terminated, may hold NULs) and `*len` bytes.
#[no_mangle]
pub unsafe extern "C" fn cocoon_output_stdout(output: *const cocoon_output, data: *mut *const u8, len: *mut usize) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle; out-pointers per the contract.
        unsafe { put_bytes(&output_ref(output)?.stdout, data, len) }
    })
}

/// What the program wrote to stderr (as `cocoon_output_stdout`).
#[no_mangle]
pub unsafe extern "C" fn cocoon_output_stderr(output: *const cocoon_output, data: *mut *const u8, len: *mut usize) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle; out-pointers per the contract.
        unsafe { put_bytes(&output_ref(output)?.stderr, data, len) }
    })
}

/// Frees a result of `cocoon_builder_run_output`. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn cocoon_output_free(output: *mut cocoon_output) {
    guard(|| {
        if !output.is_null() {
            // SAFETY: a non-NULL handle came from `cocoon_builder_run_output`; freed once.
            drop(unsafe { Box::from_raw(output) });
        }
        Ok(())
    });
}
