//! Passing the caller's file descriptors to the program.

use std::ffi::c_int;

use super::cocoon_builder;
use crate::ffi::process::{pass_fd, with_process};

/// Passes the caller's descriptor `fd` to the program as descriptor number `target`
/// (3 or more; at most 64 descriptors). `fd` is duplicated now (close-on-exec in the
/// caller; the caller keeps and closes its own); the builder holds the duplicate until it
/// is freed or `cocoon_builder_clear_passed_fds` is called, so a pipe's write end passed
/// this way stays open in the caller until then. A later pass to the same target
/// replaces the earlier one. Every other descriptor of the caller is closed in the
/// container. A negative `fd` -> `COCOON_E_INVALID_ARGUMENT`, a `target` below 3 or too
/// many descriptors -> `COCOON_E_INVALID_CONFIG`, a closed `fd` -> `COCOON_E_OS` (EBADF).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_pass_fd(builder: *mut cocoon_builder, fd: c_int, target: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(builder, |p| pass_fd(p, fd, target)) }
}

/// Forgets every passed descriptor (closing the builder's duplicates).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_clear_passed_fds(builder: *mut cocoon_builder) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(builder, |p| { p.clear_fds(); }) }
}
