//! `cocoon_container_log_lost_bytes` and `cocoon_container_log_errno`: how a container's
//! log is faring (`Container::log_lost_bytes`, `Container::log_error`).

use std::ffi::c_int;

use super::container::cocoon_container;
use super::{guard, nonnull, put, Fail};

/// Bytes of the container's output its log could not take (a full or failing disk: the
/// monitor drops what it cannot write rather than block the container, and writes a
/// marker record saying how much once it can write again). 0 without a log.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_log_lost_bytes(container: *const cocoon_container, out: *mut u64) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container.as_ref() }.ok_or_else(|| Fail::null("container"))?;
        nonnull(out, "out")?;
        // SAFETY: `out` is non-NULL and points to a writable u64.
        unsafe { put(out, c.inner.log_lost_bytes()) };
        Ok(())
    })
}

/// The errno of the log's last failed write (e.g. `ENOSPC`), 0 if none failed.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_log_errno(container: *const cocoon_container, out: *mut c_int) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container.as_ref() }.ok_or_else(|| Fail::null("container"))?;
        nonnull(out, "out")?;
        let e = c.inner.log_error().and_then(|e| e.raw_os_error()).unwrap_or(0);
        // SAFETY: `out` is non-NULL and points to a writable int.
        unsafe { put(out, e) };
        Ok(())
    })
}
