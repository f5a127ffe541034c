//! New namespaces, user-namespace id maps, hostname and domain name, time offsets.

use std::ffi::{c_char, c_int};
use std::time::Duration;

use super::{cocoon_builder, with_builder};
use crate::builder::{validate_hostname, ContainerBuilder};
use crate::ffi::{cstr_arg, len_arg, utf8_arg, Fail};
use crate::idmap::IdRange;
use crate::namespace::{Namespaces, TimeOffsets};

/// Which namespaces are new: an OR of `COCOON_NS_*` (unknown bits ->
/// `COCOON_E_INVALID_ARGUMENT`). `COCOON_NS_MOUNT` is required at spawn.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_namespaces(builder: *mut cocoon_builder, flags: u32) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_builder(builder, |b| namespaces(flags).map(|ns| { b.set_namespaces(ns); })) }
}

/// Appends a uid map range: `count` ids from `inside` in the container map to ids from
/// `outside` on the host. Adds `COCOON_NS_USER`. The whole map is checked at spawn.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_add_uid_range(
    builder: *mut cocoon_builder,
    inside: u32,
    outside: u32,
    count: u32,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_builder(builder, |b| add_range(b, true, inside, outside, count)) }
}

/// Appends a gid map range (as `cocoon_builder_add_uid_range`). Adds `COCOON_NS_USER`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_add_gid_range(
    builder: *mut cocoon_builder,
    inside: u32,
    outside: u32,
    count: u32,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_builder(builder, |b| add_range(b, false, inside, outside, count)) }
}

fn namespaces(flags: u32) -> Result<Namespaces, Fail> {
    Namespaces::from_bits(flags).ok_or_else(|| Fail::arg(format!("namespace flags {flags:#x} hold unknown bits")))
}

/// Appends a range to the uid or gid map if the map stays valid.
fn add_range(b: &mut ContainerBuilder, uid: bool, inside: u32, outside: u32, count: u32) -> Result<(), Fail> {
    let mut new = b.clone();
    let r = IdRange::new(inside, outside, count);
    let (what, map) = if uid {
        ("uid map", &new.add_uid_range(r).uid_map)
    } else {
        ("gid map", &new.add_gid_range(r).gid_map)
    };
    crate::idmap::validate_id_map(what, map)?;
    *b = new;
    Ok(())
}

/// Removes every uid and gid range (the namespace flags are left as they are).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_clear_id_maps(builder: *mut cocoon_builder) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_builder(builder, |b| { b.clear_id_maps(); }) }
}

/// `cocoon_builder_set_subordinate_ids` flag: ids `0..count` all come from the caller's
/// subordinate ranges (the caller itself unmapped) instead of root inside being the caller.
pub const COCOON_SUBIDS_WHOLE_RANGE: u32 = 1;

/// A user namespace with `count` ids (65536 is podman's) from the caller's ranges in
/// `/etc/subuid` and `/etc/subgid`, written through `newuidmap`/`newgidmap` for a caller
/// without privileges (Debian package `uidmap`); root inside is the caller unless `flags`
/// has `COCOON_SUBIDS_WHOLE_RANGE`. Replaces the uid/gid ranges (both given:
/// `COCOON_E_INVALID_CONFIG` at spawn). The ranges are read at spawn: too few ids, no range
/// or no helper is `COCOON_E_INVALID_CONFIG` naming what is missing. `count` 0: none.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_subordinate_ids(builder: *mut cocoon_builder, count: u32, flags: u32) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            if flags & !COCOON_SUBIDS_WHOLE_RANGE != 0 {
                return Err(Fail::arg(format!("subordinate id flags {flags:#x} hold unknown bits")));
            }
            if count == 0 {
                b.clear_subordinate_ids();
                return Ok(());
            }
            let base = if flags & COCOON_SUBIDS_WHOLE_RANGE != 0 {
                crate::SubordinateIds::whole_range()
            } else {
                crate::SubordinateIds::new()
            };
            let ids = base.count(count);
            ids.validate()?;
            b.set_subordinate_ids(ids);
            Ok(())
        })
    }
}

/// The hostname (UTF-8, 1-64 bytes; needs `COCOON_NS_UTS` at spawn).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_hostname(builder: *mut cocoon_builder, name: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_builder(builder, |b| set_uts(b, true, cstr_arg(name, "name")?)) }
}

/// The hostname from `len` bytes (interior NUL -> `COCOON_E_INVALID_ARGUMENT`).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_hostname_len(
    builder: *mut cocoon_builder,
    name: *const c_char,
    len: usize,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_builder(builder, |b| set_uts(b, true, len_arg(name, len, "name")?)) }
}

/// The NIS domain name (UTF-8, 1-64 bytes; needs `COCOON_NS_UTS` at spawn).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_domainname(builder: *mut cocoon_builder, name: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_builder(builder, |b| set_uts(b, false, cstr_arg(name, "name")?)) }
}

/// The NIS domain name from `len` bytes (interior NUL -> `COCOON_E_INVALID_ARGUMENT`).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_domainname_len(
    builder: *mut cocoon_builder,
    name: *const c_char,
    len: usize,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_builder(builder, |b| set_uts(b, false, len_arg(name, len, "name")?)) }
}

fn set_uts(b: &mut ContainerBuilder, host: bool, name: &[u8]) -> Result<(), Fail> {
    let what = if host { "hostname" } else { "domainname" };
    let n = utf8_arg(name, what)?;
    validate_hostname(what, n)?;
    if host {
        b.set_hostname(n);
    } else {
        b.set_domainname(n);
    }
    Ok(())
}

/// Clock offsets of a new time namespace, in nanoseconds added to CLOCK_MONOTONIC and
/// CLOCK_BOOTTIME. Adds `COCOON_NS_TIME`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_time_offsets(
    builder: *mut cocoon_builder,
    monotonic_ns: u64,
    boottime_ns: u64,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_builder(builder, |b| {
            b.set_time_offsets(TimeOffsets {
                monotonic: Duration::from_nanos(monotonic_ns),
                boottime: Duration::from_nanos(boottime_ns),
            });
        }) }
}
