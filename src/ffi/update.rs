//! Changing a running container's cgroup limits (`cocoon_container_update_cgroup`): the new
//! limits are given on a builder, with the same setters that set them at creation.

use std::ffi::c_int;

use super::builder::{builder_ref, cocoon_builder};
use super::container::{container_mut, cocoon_container};
use super::{guard, Fail};

/// Writes the cgroup limits set on `limits` (a builder used only for its cgroup settings:
/// `cocoon_builder_set_memory_max`, `_set_pids_max`, `_set_cpu_quota`, ...) into the running
/// container's cgroup; limits `limits` does not set stay as they are (as `runc update`).
/// The builder is only read: free it as usual. Values were checked by the setters and are
/// checked again against the container's cgroup before anything is written.
/// `COCOON_E_INVALID_CONFIG` if the container has no cgroup or `limits` has no cgroup
/// settings; `COCOON_E_CGROUP` (with errno where the kernel refused a value, naming the
/// file) otherwise, also for device rules, which cannot change after creation.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_update_cgroup(container: *mut cocoon_container, limits: *const cocoon_builder) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container_mut(container) }?;
        // SAFETY: the caller passes NULL or a live builder.
        let b = unsafe { builder_ref(limits) }?;
        let cfg = b.inner.get_cgroup().ok_or_else(|| {
            Fail::from(crate::Error::invalid("cgroup", "the limits builder sets no cgroup limit (use cocoon_builder_set_memory_max, ...)"))
        })?;
        c.inner.update_cgroup(cfg).map_err(Fail::from)
    })
}
