//! A running container reached by pid from any process (`cocoon_running_*`): exec into a
//! container another process created (what an OCI runtime's `exec` does).

use std::ffi::{c_char, c_int, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::exec_process::cocoon_exec_process;
use super::process::cocoon_process;
use super::{cstr_arg, guard, nonnull, put, Fail};
use crate::container::RunningContainer;

/// Opaque: a running container found by its first process's pid.
pub struct cocoon_running {
    inner: RunningContainer,
}

/// Opens the running container whose first process is `pid`; `cgroup_path` (NULL: none)
/// is its cgroup relative to the hierarchy roots (`cocoon_container_cgroup_path` of the
/// process that created it), joined by exec'd processes. The namespaces to join are those
/// of `pid` that differ from the caller's. `COCOON_E_ALREADY_EXITED` if `pid` does not
/// exist; `COCOON_E_INVALID_CONFIG` if it shares every namespace with the caller;
/// `COCOON_E_CGROUP` if `cgroup_path` is not a cgroup. Checking that `pid` is the
/// container (not a reused pid) before this call is the caller's; from here on a pidfd
/// holds it. Free with `cocoon_running_free`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_running_open(pid: c_int, cgroup_path: *const c_char, out: *mut *mut cocoon_running) -> c_int {
    guard(|| {
        nonnull(out, "out")?;
        let cg = if cgroup_path.is_null() {
            None
        } else {
            // SAFETY: non-NULL: a NUL-terminated string per the contract.
            Some(unsafe { cstr_arg(cgroup_path, "cgroup_path") }?)
        };
        let inner = RunningContainer::open(pid, cg.map(|b| Path::new(OsStr::from_bytes(b))))?;
        // SAFETY: checked non-NULL; writable per the contract.
        unsafe { put(out, Box::into_raw(Box::new(cocoon_running { inner }))) };
        Ok(())
    })
}

/// With `yes` non-zero, processes exec'd from now on are the caller's own children (no
/// monitor process): once the caller exits, its subreaper adopts them (as `runc exec`
/// leaves them to conmon or containerd's shim). Nothing kills them when the caller dies.
#[no_mangle]
pub unsafe extern "C" fn cocoon_running_set_direct_child(running: *mut cocoon_running, yes: c_int) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let r = unsafe { running.as_mut() }.ok_or_else(|| Fail::null("running"))?;
        r.inner.direct_child(yes != 0);
        Ok(())
    })
}

/// Runs `process` in the container (its namespaces, cgroup and SELinux label, with the
/// process's own user, capabilities, limits and seccomp), as `cocoon_container_exec_process`.
/// `process` is not consumed. `COCOON_E_ALREADY_EXITED` once the first process has ended.
#[no_mangle]
pub unsafe extern "C" fn cocoon_running_exec_process(
    running: *const cocoon_running,
    process: *const cocoon_process,
    out: *mut *mut cocoon_exec_process,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or live handles.
        let r = unsafe { running.as_ref() }.ok_or_else(|| Fail::null("running"))?;
        // SAFETY: as above.
        let p = unsafe { process.as_ref() }.ok_or_else(|| Fail::null("process"))?;
        nonnull(out, "out")?;
        p.inner.validate()?;
        let inner = r.inner.exec(&p.inner)?;
        // SAFETY: checked non-NULL; writable per the contract.
        unsafe { put(out, Box::into_raw(Box::new(cocoon_exec_process { inner }))) };
        Ok(())
    })
}

/// Frees the handle; the container is not touched. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn cocoon_running_free(running: *mut cocoon_running) {
    guard(|| {
        if !running.is_null() {
            // SAFETY: a non-NULL handle came from `cocoon_running_open`; freed once.
            drop(unsafe { Box::from_raw(running) });
        }
        Ok(())
    });
}
