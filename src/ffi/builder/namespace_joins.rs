//! Joining existing namespaces instead of creating them.

use std::ffi::{c_char, c_int};

use super::{absolute, cocoon_builder, with_builder, COCOON_NS_IPC, COCOON_NS_NET, COCOON_NS_UTS};
use crate::ffi::{cstr_arg, Fail};
use crate::namespace::Namespaces;

/// Joins an existing namespace instead of creating one: `ns` is exactly one of
/// `COCOON_NS_NET`, `COCOON_NS_IPC` or `COCOON_NS_UTS` (anything else ->
/// `COCOON_E_INVALID_ARGUMENT`), `path` an absolute path to a namespace file such as
/// "/run/netns/NAME" or "/proc/PID/ns/net" (relative -> `COCOON_E_INVALID_CONFIG`). The
/// flag is taken out of the new namespaces, and a second join of the same kind replaces
/// the first. The file is opened at spawn (missing -> `COCOON_E_OS` with errno). Setting
/// a hostname in a joined UTS namespace, or adding the flag back with
/// `cocoon_builder_set_namespaces`, fails at spawn with `COCOON_E_INVALID_CONFIG`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_join_namespace(builder: *mut cocoon_builder, ns: u32, path: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            let p = cstr_arg(path, "path")?;
            let flag = match ns {
                COCOON_NS_NET => Namespaces::NET,
                COCOON_NS_IPC => Namespaces::IPC,
                COCOON_NS_UTS => Namespaces::UTS,
                _ => {
                    return Err(Fail::arg(format!(
                        "namespace {ns:#x} cannot be joined by path: use one of COCOON_NS_NET, COCOON_NS_IPC, COCOON_NS_UTS"
                    )))
                }
            };
            let p = absolute("namespace to join", p)?;
            b.add_namespace_join(flag, p);
            Ok(())
        })
    }
}

/// Forgets every namespace to join (the namespace flags are left as they are: add the
/// flags back with `cocoon_builder_set_namespaces` to create those namespaces new).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_clear_namespace_joins(builder: *mut cocoon_builder) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_builder(builder, |b| { b.clear_namespace_joins(); }) }
}
