//! More mounts: procfs, and bind mounts whose source is relabelled for SELinux (after the
//! cgroup setters, so that include/cocoon.h keeps its order).

use std::ffi::{c_char, c_int};

use super::{cocoon_builder, path, with_builder};
use super::mounts::{add_mount, apply_flags, BIND_FLAGS, COCOON_MOUNT_NONRECURSIVE, COCOON_MOUNT_READONLY};
use crate::ffi::{cstr_arg, Fail};
use crate::mount::Mount;
use crate::selinux::{SelinuxError, Sharing};

/// `cocoon_builder_add_bind_relabel`: relabel the source for every container (`z`: the
/// container's file type at level `s0`).
pub const COCOON_RELABEL_SHARED: c_int = 0;
/// `cocoon_builder_add_bind_relabel`: relabel the source for this container only (`Z`:
/// the container's file label at its own MCS level).
pub const COCOON_RELABEL_PRIVATE: c_int = 1;

const PROC_FLAGS: u32 = COCOON_MOUNT_READONLY;

/// Adds a procfs of the container's PID namespace at `target` (absolute, no ".."),
/// always nosuid, nodev and noexec; `flags` may hold `COCOON_MOUNT_READONLY` (other
/// bits -> `COCOON_E_INVALID_ARGUMENT`). Only needed with the standard mounts off
/// (`cocoon_builder_set_standard_mounts(b, 0)`), which already mount /proc.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_add_proc(builder: *mut cocoon_builder, target: *const c_char, flags: u32) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            let target = cstr_arg(target, "target")?;
            if flags & !PROC_FLAGS != 0 {
                return Err(Fail::arg(format!("proc mount flags {flags:#x} hold unknown bits")));
            }
            add_mount(b, Mount::proc(path(target)).read_only(flags & COCOON_MOUNT_READONLY != 0))
        })
    }
}

/// As `cocoon_builder_add_bind`, and the source is relabelled for the container's
/// SELinux label before it starts (recursively, skipping files already right):
/// `sharing` is `COCOON_RELABEL_SHARED` (`z`) or `COCOON_RELABEL_PRIVATE` (`Z`; unknown
/// -> `COCOON_E_INVALID_ARGUMENT`). System directories (`/`, `/usr`, `/etc`, `/home`,
/// anything below `/usr` or `/etc`, ... or a symlink to one) are refused with
/// `COCOON_E_SELINUX`: here when the source already exists, otherwise at spawn. The
/// container needs SELinux settings (`cocoon_builder_enable_selinux` or a
/// `cocoon_builder_set_selinux_*` call), or spawn fails with `COCOON_E_INVALID_CONFIG`.
/// On a host without SELinux nothing is relabelled, but system directories are still
/// refused.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_add_bind_relabel(
    builder: *mut cocoon_builder,
    source: *const c_char,
    target: *const c_char,
    flags: u32,
    sharing: c_int,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            let source = path(cstr_arg(source, "source")?);
            let target = cstr_arg(target, "target")?;
            if flags & !BIND_FLAGS != 0 {
                return Err(Fail::arg(format!("bind mount flags {flags:#x} hold unknown bits")));
            }
            let sharing = match sharing {
                COCOON_RELABEL_SHARED => Sharing::Shared,
                COCOON_RELABEL_PRIVATE => Sharing::Private,
                _ => return Err(Fail::arg(format!("unknown relabel sharing {sharing}"))),
            };
            let m = apply_flags(Mount::bind(source.clone(), path(target)), flags)
                .recursive(flags & COCOON_MOUNT_NONRECURSIVE == 0)
                .selinux_relabel(sharing);
            m.validate()?;
            // Refuse system directories now; a source that does not exist yet (or cannot
            // be resolved) is checked again at spawn, where it must exist.
            if let Err(e @ SelinuxError::RelabelRefused { .. }) = crate::selinux::label::check_relabel_path(&source) {
                return Err(crate::Error::from(e).into());
            }
            b.add_mount(m);
            Ok(())
        })
    }
}
