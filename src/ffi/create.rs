//! C ABI of created containers (OCI's create/start split): `cocoon_container_create`,
//! `cocoon_container_create_at`, `cocoon_container_start`, `cocoon_start_created` and
//! the builder's `cocoon_builder_set_direct_child`.

use std::ffi::{c_char, c_int, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::builder::{builder_mut, builder_ref, cocoon_builder};
use super::container::{container_mut, handle, cocoon_container};
use super::{cstr_arg, guard, guard_value, nonnull, put, Fail};

/// Creates a container from `builder`, set up completely and held right before its
/// program's exec (OCI's `create`); `cocoon_container_start` runs the program. Releasing
/// the handle before that kills it. On failure nothing is left behind.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_create(builder: *const cocoon_builder, out: *mut *mut cocoon_container) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live builder.
        let b = unsafe { builder_ref(builder) }?;
        nonnull(out, "out")?;
        let h = handle(b.inner.prepare()?.create()?);
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { put(out, h) };
        Ok(())
    })
}

/// As `cocoon_container_create`, but the container is also started by connecting to the
/// unix socket made at `start_socket` (which must not exist): `cocoon_start_created`,
/// from any process, also after this one has exited (detach the handle first).
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_create_at(
    builder: *const cocoon_builder,
    start_socket: *const c_char,
    out: *mut *mut cocoon_container,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live builder.
        let b = unsafe { builder_ref(builder) }?;
        // SAFETY: NULL or a NUL-terminated string, per the contract.
        let path = PathBuf::from(OsStr::from_bytes(unsafe { cstr_arg(start_socket, "start_socket") }?));
        nonnull(out, "out")?;
        let h = handle(b.inner.prepare()?.create_at(&path)?);
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { put(out, h) };
        Ok(())
    })
}

/// Runs the program of a created container; returns once it runs (0) or with the setup
/// error that kept it from being executed. `COCOON_E_NOT_CREATED` if it was started
/// already.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_start(container: *mut cocoon_container) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container_mut(container) }?;
        Ok(c.inner.start()?)
    })
}

/// 1 if `container` is a created container not started yet, 0 if not (or NULL).
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_is_created(container: *const cocoon_container) -> c_int {
    guard_value(0, || {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container.as_ref() }.ok_or_else(|| Fail::null("container"))?;
        Ok(c_int::from(c.inner.is_created()))
    })
}

/// Starts the created container whose start socket is at `start_socket` (made by
/// `cocoon_container_create_at`, possibly in another process). `COCOON_E_NOT_CREATED` if
/// nothing holds a container there.
#[no_mangle]
pub unsafe extern "C" fn cocoon_start_created(start_socket: *const c_char) -> c_int {
    guard(|| {
        // SAFETY: NULL or a NUL-terminated string, per the contract.
        let path = PathBuf::from(OsStr::from_bytes(unsafe { cstr_arg(start_socket, "start_socket") }?));
        Ok(crate::start_created(&path)?)
    })
}

/// Whether the container's first process is the caller's own child, with no monitor
/// between them (non-zero = yes), so that a subreaper adopts it when the caller exits; the
/// container then no longer dies with the caller. What OCI runtimes need.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_direct_child(builder: *mut cocoon_builder, yes: c_int) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live builder.
        let b = unsafe { builder_mut(builder) }?;
        b.inner.set_direct_child(yes != 0);
        Ok(())
    })
}
