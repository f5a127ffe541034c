//! The root filesystem and its mounts: rootfs source, read-only root, standard mounts,
//! bind and tmpfs mounts, masked and read-only paths.

use std::ffi::{c_char, c_int};
use std::path::PathBuf;

use super::{absolute, cocoon_builder, path, with_builder};
use crate::builder::ContainerBuilder;
use crate::ffi::{cstr_arg, str_array_arg, Fail};
use crate::mount::Mount;
use crate::rootfs::Rootfs;

// Mount flags (`cocoon_builder_add_bind`, `cocoon_builder_add_tmpfs`).

/// Read-only (recursively for a recursive bind).
pub const COCOON_MOUNT_READONLY: u32 = 1 << 0;
/// No program can be executed from it.
pub const COCOON_MOUNT_NOEXEC: u32 = 1 << 1;
/// Honour set-user-id bits (by default they are ignored: nosuid).
pub const COCOON_MOUNT_ALLOW_SUID: u32 = 1 << 2;
/// Allow device nodes (by default they are unusable: nodev).
pub const COCOON_MOUNT_ALLOW_DEV: u32 = 1 << 3;
/// Bind only: do not bring along the mounts below the source (plain bind, not rbind).
pub const COCOON_MOUNT_NONRECURSIVE: u32 = 1 << 4;

/// `cocoon_builder_add_tmpfs` mode meaning "the default, 0755".
pub const COCOON_TMPFS_MODE_DEFAULT: u32 = 0xffff_ffff;

/// Root filesystem: the embedded host sandbox (the default; a tmpfs with the host's /usr
/// bound read-only and a minimal /etc).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_rootfs_host_sandbox(builder: *mut cocoon_builder) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_builder(builder, |b| { b.set_rootfs(Rootfs::HostSandbox); }) }
}

/// Root filesystem: an existing host directory (absolute path, need not be UTF-8).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_rootfs_dir(builder: *mut cocoon_builder, dir: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_builder(builder, |b| set_rootfs(b, Rootfs::Directory(absolute("rootfs directory", cstr_arg(dir, "dir")?)?))) }
}

/// Root filesystem: overlayfs of `nlower` read-only layers (top-most first, at least one),
/// the writable `upper` directory and overlayfs' empty `work` directory (same filesystem
/// as `upper`). All absolute host paths.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_rootfs_layers(
    builder: *mut cocoon_builder,
    lower: *const *const c_char,
    nlower: usize,
    upper: *const c_char,
    work: *const c_char,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            let lower = str_array_arg(lower, nlower, "lower")?;
            let upper = absolute("rootfs upper layer", cstr_arg(upper, "upper")?)?;
            let work = absolute("rootfs work directory", cstr_arg(work, "work")?)?;
            let lower = lower.iter().map(|l| absolute("rootfs lower layer", l)).collect::<Result<Vec<_>, _>>()?;
            set_rootfs(b, Rootfs::Layers { lower, upper, work })
        })
    }
}

/// Whether the root is mounted read-only (non-zero = yes; default no).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_read_only_root(builder: *mut cocoon_builder, yes: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_builder(builder, |b| { b.set_read_only_root(yes != 0); }) }
}

/// Whether /proc, /sys (read-only) and a minimal /dev are mounted (default yes).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_standard_mounts(builder: *mut cocoon_builder, yes: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_builder(builder, |b| { b.set_standard_mounts(yes != 0); }) }
}

fn set_rootfs(b: &mut ContainerBuilder, r: Rootfs) -> Result<(), Fail> {
    r.validate()?;
    b.set_rootfs(r);
    Ok(())
}

/// Adds a mount that is valid on its own.
pub(super) fn add_mount(b: &mut ContainerBuilder, m: Mount) -> Result<(), Fail> {
    m.validate()?;
    b.add_mount(m);
    Ok(())
}

pub(super) const BIND_FLAGS: u32 =
    COCOON_MOUNT_READONLY | COCOON_MOUNT_NOEXEC | COCOON_MOUNT_ALLOW_SUID | COCOON_MOUNT_ALLOW_DEV | COCOON_MOUNT_NONRECURSIVE;
const TMPFS_FLAGS: u32 = COCOON_MOUNT_READONLY | COCOON_MOUNT_NOEXEC | COCOON_MOUNT_ALLOW_SUID | COCOON_MOUNT_ALLOW_DEV;

pub(super) fn apply_flags(m: Mount, flags: u32) -> Mount {
    m.read_only(flags & COCOON_MOUNT_READONLY != 0)
        .noexec(flags & COCOON_MOUNT_NOEXEC != 0)
        .nosuid(flags & COCOON_MOUNT_ALLOW_SUID == 0)
        .nodev(flags & COCOON_MOUNT_ALLOW_DEV == 0)
}

/// Adds a bind mount of host path `source` (absolute; must exist at spawn) at `target`
/// (absolute, no ".."), with `COCOON_MOUNT_*` flags (unknown bits ->
/// `COCOON_E_INVALID_ARGUMENT`). Mounts are applied in order after the standard mounts.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_add_bind(
    builder: *mut cocoon_builder,
    source: *const c_char,
    target: *const c_char,
    flags: u32,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            let source = cstr_arg(source, "source")?;
            let target = cstr_arg(target, "target")?;
            if flags & !BIND_FLAGS != 0 {
                return Err(Fail::arg(format!("bind mount flags {flags:#x} hold unknown bits")));
            }
            let m = apply_flags(Mount::bind(path(source), path(target)), flags)
                .recursive(flags & COCOON_MOUNT_NONRECURSIVE == 0);
            add_mount(b, m)
        })
    }
}

/// Adds a tmpfs at `target` of at most `size_bytes` (0 = the kernel default) whose root
/// has permission bits `mode` (<= 07777, or `COCOON_TMPFS_MODE_DEFAULT` for 0755), with
/// `COCOON_MOUNT_*` flags except `COCOON_MOUNT_NONRECURSIVE`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_add_tmpfs(
    builder: *mut cocoon_builder,
    target: *const c_char,
    size_bytes: u64,
    mode: u32,
    flags: u32,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            let target = cstr_arg(target, "target")?;
            if flags & !TMPFS_FLAGS != 0 {
                return Err(Fail::arg(format!("tmpfs flags {flags:#x} hold unknown bits")));
            }
            let mut m = apply_flags(Mount::tmpfs(path(target)), flags);
            if size_bytes != 0 {
                m = m.size(size_bytes);
            }
            if mode != COCOON_TMPFS_MODE_DEFAULT {
                m = m.mode(mode);
            }
            add_mount(b, m)
        })
    }
}

/// Removes every mount added with `cocoon_builder_add_bind`/`_add_tmpfs`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_clear_mounts(builder: *mut cocoon_builder) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_builder(builder, |b| { b.clear_mounts(); }) }
}

unsafe fn container_paths(p: *const *const c_char, n: usize, what: &'static str) -> Result<Vec<PathBuf>, Fail> {
    // SAFETY: forwarded contract.
    let paths = unsafe { str_array_arg(p, n, what) }?;
    paths
        .into_iter()
        .map(|p| {
            let p = path(p);
            crate::mount::container_path(what, &p)?;
            Ok(p)
        })
        .collect()
}

/// Replaces the masked paths (default: Docker's list; n = 0 masks nothing). Files are
/// covered by /dev/null, directories by an empty read-only tmpfs.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_masked_paths(
    builder: *mut cocoon_builder,
    paths: *const *const c_char,
    n: usize,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_builder(builder, |b| container_paths(paths, n, "masked path").map(|p| { b.set_masked_paths(p); })) }
}

/// Replaces the read-only paths (default: Docker's list).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_readonly_paths(
    builder: *mut cocoon_builder,
    paths: *const *const c_char,
    n: usize,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_builder(builder, |b| container_paths(paths, n, "read-only path").map(|p| { b.set_readonly_paths(p); })) }
}
