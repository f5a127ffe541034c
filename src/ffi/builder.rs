//! `cocoon_builder`: every setting of a container, through the C ABI.
//!
//! Setters check what they can on their own and leave the builder unchanged when they
//! fail; checks that need several settings together (a hostname needs a UTS namespace)
//! happen in `cocoon_builder_validate` and `cocoon_container_spawn`.

use std::ffi::{c_char, c_int, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::process::{Done, set_args, set_cwd, set_env, set_program, set_user, set_user_name, with_process};
use super::{cstr_arg, guard, len_arg, put, utf8_arg, Fail};
use crate::builder::{validate_id, ContainerBuilder};
use crate::process::Process;

// The setters by concern. cbindgen writes include/cocoon.h in source order (this file,
// then these modules in the order declared), so the order here is the header's order.
mod namespaces;
mod mounts;
mod process;
mod cgroup;
mod proc_relabel_mounts;
mod namespace_joins;
mod passed_fds;
mod selinux;
mod network;
mod landlock;

pub use cgroup::*;
pub use landlock::*;
pub use mounts::*;
pub use namespace_joins::*;
pub use namespaces::*;
pub use network::*;
pub use passed_fds::*;
pub use proc_relabel_mounts::*;
pub use process::*;
pub use selinux::*;

/// Everything about a container before it runs. Opaque; create with `cocoon_builder_new`,
/// free with `cocoon_builder_free`. Spawning does not consume it: one builder can spawn
/// many containers. Not thread-safe: do not use one builder from two threads at once.
pub struct cocoon_builder {
    pub(crate) inner: ContainerBuilder,
}

// Namespace flags (`cocoon_builder_set_namespaces`), the bits of `cocoon::Namespaces`.

/// New mount namespace (required: the root filesystem is pivoted).
pub const COCOON_NS_MOUNT: u32 = 1 << 0;
/// New UTS namespace (own hostname and domain name).
pub const COCOON_NS_UTS: u32 = 1 << 1;
/// New IPC namespace.
pub const COCOON_NS_IPC: u32 = 1 << 2;
/// New PID namespace (the program is PID 1).
pub const COCOON_NS_PID: u32 = 1 << 3;
/// New network namespace with only loopback, brought up.
pub const COCOON_NS_NET: u32 = 1 << 4;
/// New user namespace (needs uid and gid ranges).
pub const COCOON_NS_USER: u32 = 1 << 5;
/// New cgroup namespace.
pub const COCOON_NS_CGROUP: u32 = 1 << 6;
/// New time namespace (see `cocoon_builder_set_time_offsets`).
pub const COCOON_NS_TIME: u32 = 1 << 7;
/// The default set: mount, UTS, IPC, PID, network and cgroup.
pub const COCOON_NS_DEFAULT: u32 = 0x5f;

// Standard streams (`cocoon_builder_set_stdio`).

/// Standard input.
pub const COCOON_STDIN: c_int = 0;
/// Standard output.
pub const COCOON_STDOUT: c_int = 1;
/// Standard error.
pub const COCOON_STDERR: c_int = 2;

/// The caller's own stream (the default).
pub const COCOON_STDIO_INHERIT: c_int = 0;
/// `/dev/null`.
pub const COCOON_STDIO_NULL: c_int = 1;
/// A pipe; take the caller's end with `cocoon_container_take_stdin/stdout/stderr`.
pub const COCOON_STDIO_PIPE: c_int = 2;
/// A file descriptor of the caller (duplicated at the call; the caller keeps its own).
pub const COCOON_STDIO_FD: c_int = 3;

/// Borrows the builder behind a pointer.
///
/// # Safety
/// `b` is NULL or a live builder from `cocoon_builder_new`, not used by another thread.
pub(crate) unsafe fn builder_mut<'a>(b: *mut cocoon_builder) -> Result<&'a mut cocoon_builder, Fail> {
    // SAFETY: per the caller's contract.
    unsafe { b.as_mut() }.ok_or_else(|| Fail::null("builder"))
}

/// Borrows the builder behind a const pointer.
///
/// # Safety
/// As [`builder_mut`].
pub(crate) unsafe fn builder_ref<'a>(b: *const cocoon_builder) -> Result<&'a cocoon_builder, Fail> {
    // SAFETY: per the caller's contract.
    unsafe { b.as_ref() }.ok_or_else(|| Fail::null("builder"))
}

fn path(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(bytes))
}

/// The builder's own close-on-exec duplicate of a caller's fd (`what` names it in errors).
pub(crate) fn dup_caller_fd(fd: c_int, what: &str) -> Result<std::sync::Arc<std::os::fd::OwnedFd>, Fail> {
    use std::os::fd::FromRawFd;
    if fd < 0 {
        return Err(Fail::arg(format!("fd {fd} is negative")));
    }
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) only reads the descriptor number.
    let d = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if d < 0 {
        return Err(crate::Error::Os { op: "dup", detail: format!("{what} {fd}"), source: std::io::Error::last_os_error() }.into());
    }
    // SAFETY: `d` is a fresh descriptor nothing else owns.
    Ok(std::sync::Arc::new(unsafe { std::os::fd::OwnedFd::from_raw_fd(d) }))
}

fn absolute(what: &'static str, bytes: &[u8]) -> Result<PathBuf, Fail> {
    let p = path(bytes);
    if !p.is_absolute() {
        return Err(crate::Error::InvalidConfig { what, reason: format!("{} is not an absolute path", p.display()) }.into());
    }
    Ok(p)
}

/// Runs `f` on the builder: the common shape of every setter.
///
/// # Safety
/// As [`builder_mut`].
unsafe fn with_builder<R: Done>(b: *mut cocoon_builder, f: impl FnOnce(&mut ContainerBuilder) -> R) -> c_int {
    guard(|| {
        // SAFETY: forwarded contract.
        let b = unsafe { builder_mut(b) }?;
        f(&mut b.inner).done()
    })
}

/// Creates a builder that runs `program` (an absolute path inside the container, or a name
/// searched in the container's PATH) with the defaults: `COCOON_NS_DEFAULT`, the embedded
/// host-sandbox root, the standard mounts, Docker's masked/read-only paths and
/// capabilities, no_new_privs on, an empty environment, cwd "/", uid/gid 0.
/// On success `*out` receives the builder; free it with `cocoon_builder_free`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_new(program: *const c_char, out: *mut *mut cocoon_builder) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let program = unsafe { cstr_arg(program, "program") }?;
        super::nonnull(out, "out")?;
        let b = Box::new(cocoon_builder { inner: ContainerBuilder::new(Process::new(OsStr::from_bytes(program))) });
        // SAFETY: `out` is non-NULL and points to writable storage per the contract.
        unsafe { put(out, Box::into_raw(b)) };
        Ok(())
    })
}

/// Frees a builder. NULL is a no-op. Containers spawned from it are unaffected.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_free(builder: *mut cocoon_builder) {
    guard(|| {
        if !builder.is_null() {
            // SAFETY: a non-NULL builder came from `cocoon_builder_new` and is freed once.
            drop(unsafe { Box::from_raw(builder) });
        }
        Ok(())
    });
}

/// Checks every setting that can be checked without creating anything (the checks
/// `cocoon_container_spawn` makes first). 0, `COCOON_E_INVALID_CONFIG`, or
/// `COCOON_E_CGROUP` for cgroup limits the host cannot apply.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_validate(builder: *const cocoon_builder) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live builder.
        let b = unsafe { builder_ref(builder) }?;
        b.inner.validate().map_err(Fail::from)
    })
}

/// Sets the program (NUL-terminated; need not be UTF-8). Empty -> `COCOON_E_INVALID_CONFIG`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_program(builder: *mut cocoon_builder, program: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(builder, |p| set_program(p, cstr_arg(program, "program")?)) }
}

/// Sets the program from `len` bytes at `program` (an interior NUL byte is rejected with
/// `COCOON_E_INVALID_ARGUMENT`).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_program_len(
    builder: *mut cocoon_builder,
    program: *const c_char,
    len: usize,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(builder, |p| set_program(p, len_arg(program, len, "program")?)) }
}

/// Replaces the arguments after the program (`argv[1..]`; `argv[0]` is the program).
/// `args` may be NULL when `n` is 0.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_args(
    builder: *mut cocoon_builder,
    args: *const *const c_char,
    n: usize,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(builder, |p| set_args(p, args, n)) }
}

/// Replaces the environment with `n` "KEY=VALUE" strings (the environment starts empty:
/// nothing leaks from the host). A later duplicate key wins. An entry without '=' or with
/// an empty key -> `COCOON_E_INVALID_CONFIG`. `env` may be NULL when `n` is 0.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_env(
    builder: *mut cocoon_builder,
    env: *const *const c_char,
    n: usize,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(builder, |p| set_env(p, env, n)) }
}

/// The working directory inside the container (absolute; default "/").
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_cwd(builder: *mut cocoon_builder, dir: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(builder, |p| set_cwd(p, dir)) }
}

/// Runs the program as numeric `uid`/`gid` (as seen inside the container) with
/// `ngroups` supplementary groups (`groups` may be NULL when `ngroups` is 0).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_user(
    builder: *mut cocoon_builder,
    uid: u32,
    gid: u32,
    groups: *const u32,
    ngroups: usize,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(builder, |p| set_user(p, uid, gid, groups, ngroups)) }
}

/// Runs the program as user `name` (UTF-8), looked up in the container's /etc/passwd and
/// /etc/group when the container is spawned.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_user_name(builder: *mut cocoon_builder, name: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(builder, |p| set_user_name(p, name)) }
}

/// The container id (letters, digits, '_', '-', '.'; 1-64 bytes; names the cgroup).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_id(builder: *mut cocoon_builder, id: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            let id = utf8_arg(cstr_arg(id, "id")?, "container id")?;
            validate_id(id)?;
            b.set_id(id);
            Ok(())
        })
    }
}
