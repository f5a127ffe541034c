//! Landlock rules (`cocoon::Landlock`). The first rule gives the container a ruleset; each
//! setter applies its value to a copy and checks it (absolute path, no "..", rights not
//! empty); on failure the builder is unchanged (`COCOON_E_INVALID_CONFIG`). The ABI is
//! negotiated at spawn: see `COCOON_LANDLOCK_BEST_EFFORT` / `COCOON_LANDLOCK_REQUIRED`.

use std::ffi::{c_char, c_int};

use super::{builder_ref, cocoon_builder, path, with_builder};
use crate::ffi::{cstr_arg, guard, put, Fail};
use crate::landlock::{FsAccess, Landlock, LandlockMode, NetAccess};

// Filesystem rights (`cocoon_builder_landlock_allow`), the kernel's LANDLOCK_ACCESS_FS_*.

/// Execute a file (ABI 1).
pub const COCOON_LANDLOCK_FS_EXECUTE: u64 = 1 << 0;
/// Open a file for writing (ABI 1).
pub const COCOON_LANDLOCK_FS_WRITE_FILE: u64 = 1 << 1;
/// Open a file for reading (ABI 1).
pub const COCOON_LANDLOCK_FS_READ_FILE: u64 = 1 << 2;
/// List a directory (ABI 1).
pub const COCOON_LANDLOCK_FS_READ_DIR: u64 = 1 << 3;
/// Remove a directory (ABI 1).
pub const COCOON_LANDLOCK_FS_REMOVE_DIR: u64 = 1 << 4;
/// Remove a file (ABI 1).
pub const COCOON_LANDLOCK_FS_REMOVE_FILE: u64 = 1 << 5;
/// Create a character device (ABI 1).
pub const COCOON_LANDLOCK_FS_MAKE_CHAR: u64 = 1 << 6;
/// Create a directory (ABI 1).
pub const COCOON_LANDLOCK_FS_MAKE_DIR: u64 = 1 << 7;
/// Create a regular file (ABI 1).
pub const COCOON_LANDLOCK_FS_MAKE_REG: u64 = 1 << 8;
/// Create a UNIX socket (ABI 1).
pub const COCOON_LANDLOCK_FS_MAKE_SOCK: u64 = 1 << 9;
/// Create a named pipe (ABI 1).
pub const COCOON_LANDLOCK_FS_MAKE_FIFO: u64 = 1 << 10;
/// Create a block device (ABI 1).
pub const COCOON_LANDLOCK_FS_MAKE_BLOCK: u64 = 1 << 11;
/// Create a symbolic link (ABI 1).
pub const COCOON_LANDLOCK_FS_MAKE_SYM: u64 = 1 << 12;
/// Link or rename across directories (ABI 2).
pub const COCOON_LANDLOCK_FS_REFER: u64 = 1 << 13;
/// Truncate a file (ABI 3).
pub const COCOON_LANDLOCK_FS_TRUNCATE: u64 = 1 << 14;
/// ioctl on a device (ABI 5).
pub const COCOON_LANDLOCK_FS_IOCTL_DEV: u64 = 1 << 15;
/// READ_FILE | READ_DIR.
pub const COCOON_LANDLOCK_READ: u64 = 0xc;
/// Every filesystem right but EXECUTE.
pub const COCOON_LANDLOCK_READ_WRITE: u64 = 0xfffe;

// TCP rights (`cocoon_builder_landlock_allow_port`, ABI 4).

/// bind(2) to the port.
pub const COCOON_LANDLOCK_BIND_TCP: u64 = 1 << 0;
/// connect(2) to the port.
pub const COCOON_LANDLOCK_CONNECT_TCP: u64 = 1 << 1;

// Modes (`cocoon_builder_set_landlock_mode`).

/// Drop the rights the kernel's ABI lacks (the default); see
/// `cocoon_builder_landlock_status`.
pub const COCOON_LANDLOCK_BEST_EFFORT: c_int = 0;
/// Refuse the spawn with `COCOON_E_UNSUPPORTED` when the kernel's ABI lacks a right.
pub const COCOON_LANDLOCK_REQUIRED: c_int = 1;

/// Applies `f` to a copy of the builder's ruleset (an empty one if none yet), checks it
/// and stores it only if that succeeds.
///
/// # Safety
/// As [`super::builder_mut`].
unsafe fn with_landlock(b: *mut cocoon_builder, f: impl FnOnce(Landlock) -> Result<Landlock, Fail>) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(b, |b| {
            let l = f(b.get_landlock().cloned().unwrap_or_default())?;
            l.validate()?;
            b.set_landlock(l);
            Ok(())
        })
    }
}

/// Allows `rights` (`COCOON_LANDLOCK_FS_*`, `COCOON_LANDLOCK_READ`, ...) beneath `path`,
/// an absolute path inside the container (a file: only the file rights apply). Bits no
/// ABI known to this library has are kept and treated as a future ABI's. With any
/// filesystem rule every other access is denied; the program itself gets EXECUTE, its
/// loader and libraries need an EXECUTE rule (e.g. "/usr/lib").
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_landlock_allow(builder: *mut cocoon_builder, path_: *const c_char, rights: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_landlock(builder, |l| {
            // SAFETY: the caller passes NULL or a NUL-terminated string.
            let p = path(cstr_arg(path_, "path")?);
            Ok(l.allow(p, FsAccess::from_bits_retain(rights)))
        })
    }
}

/// Allows `rights` (`COCOON_LANDLOCK_BIND_TCP` and/or `COCOON_LANDLOCK_CONNECT_TCP`) on TCP
/// port `port`; every other port is then refused for that kind of access.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_landlock_allow_port(builder: *mut cocoon_builder, port: u16, rights: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_landlock(builder, |l| Ok(l.allow_port(port, NetAccess::from_bits_retain(rights)))) }
}

/// `COCOON_LANDLOCK_BEST_EFFORT` or `COCOON_LANDLOCK_REQUIRED`; anything else ->
/// `COCOON_E_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_landlock_mode(builder: *mut cocoon_builder, mode: c_int) -> c_int {
    let m = match mode {
        COCOON_LANDLOCK_BEST_EFFORT => LandlockMode::BestEffort,
        COCOON_LANDLOCK_REQUIRED => LandlockMode::Required,
        _ => return guard(|| Err(Fail::arg(format!("landlock mode {mode} is not 0 or 1")))),
    };
    // SAFETY: forwarded contract.
    unsafe { with_landlock(builder, |l| Ok(l.mode(m))) }
}

/// Uses at most Landlock ABI `abi`, even on a newer kernel.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_landlock_max_abi(builder: *mut cocoon_builder, abi: u32) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_landlock(builder, |l| Ok(l.max_abi(abi))) }
}

/// Removes the ruleset.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_clear_landlock(builder: *mut cocoon_builder) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_builder(builder, |b| { b.clear_landlock(); }) }
}

/// Plans the builder on this kernel and tells what its ruleset becomes: `*abi` (if not
/// NULL) the ABI used (0: Landlock unavailable), `*dropped` (if not NULL) how many rules
/// lost rights, and `buf` (if not NULL) the description ("ABI 4 (kernel 7); dropped:
/// /scratch: IOCTL_DEV"), NUL-terminated and cut to `len` bytes; `*needed` (if not NULL)
/// the size the whole text takes with its NUL. No ruleset -> `COCOON_E_NOT_AVAILABLE`;
/// a builder that does not plan (e.g. `COCOON_E_UNSUPPORTED` in required mode) -> that
/// error.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_landlock_status(
    builder: *const cocoon_builder,
    abi: *mut u32,
    dropped: *mut u32,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded contract.
        let b = unsafe { builder_ref(builder) }?;
        if b.inner.get_landlock().is_none() {
            return Err(Fail {
                code: crate::ffi::COCOON_E_NOT_AVAILABLE,
                errno: 0,
                stage: 0,
                message: "the builder has no Landlock ruleset".into(),
            });
        }
        let plan = b.inner.prepare()?;
        let Some(st) = plan.landlock_status() else { return Err(Fail::arg("no Landlock status")) };
        let text = st.to_string();
        // SAFETY: each out pointer is NULL or writable per the contract; `buf` holds `len`.
        unsafe {
            if !abi.is_null() {
                put(abi, st.abi());
            }
            if !dropped.is_null() {
                put(dropped, st.dropped().len() as u32);
            }
            crate::ffi::copy_text_out(&text, buf, len, needed);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_are_the_core_bits() {
        assert_eq!(COCOON_LANDLOCK_READ, FsAccess::READ.bits());
        assert_eq!(COCOON_LANDLOCK_READ_WRITE, FsAccess::READ_WRITE.bits());
        assert_eq!(COCOON_LANDLOCK_FS_IOCTL_DEV, FsAccess::IOCTL_DEV.bits());
        assert_eq!(COCOON_LANDLOCK_FS_REFER, FsAccess::REFER.bits());
        assert_eq!(COCOON_LANDLOCK_CONNECT_TCP, NetAccess::CONNECT_TCP.bits());
        assert_eq!(COCOON_LANDLOCK_BIND_TCP, NetAccess::BIND_TCP.bits());
    }
}
