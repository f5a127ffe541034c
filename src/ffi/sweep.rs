//! `cocoon_sweep_stale`: removing the cgroups that killed callers left behind.

use std::ffi::{c_char, c_int};
use std::os::unix::ffi::OsStrExt;

use super::{cstr_arg, guard, put, Fail};

/// Removes the cgroups that callers killed before their teardown left behind: under
/// `parent` (NULL: the default parent "cocoon"), on every hierarchy, each cgroup with a
/// default id (`cocoon-<pid>-<n>`) whose owner is gone (by pid and start time) and that
/// holds no process; and the machine's shared device-policy cgroup
/// (`cocoon.devices-<hash>` at the unified hierarchy's root, where containers without a
/// cgroup of their own run) if it holds no process. `*removed` (may be NULL) receives how
/// many directories went. The first spawn of every process does the same for its parent
/// (but keeps the shared directory).
#[no_mangle]
pub unsafe extern "C" fn cocoon_sweep_stale(parent: *const c_char, removed: *mut usize) -> c_int {
    guard(|| {
        let parent = if parent.is_null() {
            None
        } else {
            // SAFETY: non-NULL, the caller passes a NUL-terminated string.
            Some(std::path::PathBuf::from(std::ffi::OsStr::from_bytes(unsafe { cstr_arg(parent, "parent")? })))
        };
        let gone = crate::cgroup::sweep_stale(parent.as_deref()).map_err(|e| Fail::from(crate::Error::from(e)))?;
        if !removed.is_null() {
            // SAFETY: checked non-NULL.
            unsafe { put(removed, gone.len()) };
        }
        Ok(())
    })
}

/// Removes the address leases (under `state_dir`, NULL: `$COCOON_NET_STATE_DIR` or
/// `/run/cocoon/net`) whose containers are gone, the host veths they name in the
/// calling thread's network namespace, and the rules of gone containers in its nftables
/// table `ip cocoon` (NAT, published ports). `*removed` (may be NULL) receives how many leases
/// went. An allocation on a bridge reclaims the stale leases it meets in the same way.
#[no_mangle]
pub unsafe extern "C" fn cocoon_net_sweep_stale(state_dir: *const c_char, removed: *mut usize) -> c_int {
    guard(|| {
        let dir = if state_dir.is_null() {
            None
        } else {
            // SAFETY: non-NULL, the caller passes a NUL-terminated string.
            Some(std::path::PathBuf::from(std::ffi::OsStr::from_bytes(unsafe { cstr_arg(state_dir, "state_dir")? })))
        };
        let n = crate::net::sweep_stale(dir.as_deref())?;
        if !removed.is_null() {
            // SAFETY: checked non-NULL.
            unsafe { put(removed, n) };
        }
        Ok(())
    })
}
