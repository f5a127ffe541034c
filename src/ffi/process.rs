//! `cocoon_process`: the settings of a program alone, for `cocoon_container_exec_process`;
//! and the process setters it shares with `cocoon_builder` (the `cocoon_builder_set_*`
//! process setters and the `cocoon_process_set_*` ones call the same functions here).
//!
//! Every process setter changes a copy of the process, checks the whole copy
//! (`Process::validate`, the one place of those rules) and keeps it only if it is valid:
//! a failed call leaves the handle unchanged.

use std::ffi::{c_char, c_int, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::builder::{cocoon_builder, COCOON_STDIO_NULL, COCOON_STDIO_PIPE, COCOON_STDOUT};
use super::builder::{dup_caller_fd, rlimit_from, COCOON_STDERR, COCOON_STDIN, COCOON_STDIO_FD, COCOON_STDIO_INHERIT};
use super::{array_arg, cstr_arg, guard, nonnull, put, str_array_arg, utf8_arg, Fail};
use crate::capability::{CapSet, Capabilities};
use crate::process::{Process, Stdio, User};

/// The program to run and how, without a container around it: what
/// `cocoon_container_exec_process` runs in a running container. Opaque; create with
/// `cocoon_process_new`, free with `cocoon_process_free`. Its setters are the process
/// setters of `cocoon_builder` (same rules, same errors). Exec does not consume it. Not
/// thread-safe: do not use one handle from two threads at once.
pub struct cocoon_process {
    pub(crate) inner: Process,
}

/// A handle holding a process: a builder (its program) or a process handle.
pub(crate) trait HasProcess {
    /// The handle's name in a NULL-pointer error.
    const WHAT: &'static str;
    fn process_mut(&mut self) -> &mut Process;
}

impl HasProcess for cocoon_builder {
    const WHAT: &'static str = "builder";
    fn process_mut(&mut self) -> &mut Process {
        self.inner.process_mut()
    }
}

impl HasProcess for cocoon_process {
    const WHAT: &'static str = "process";
    fn process_mut(&mut self) -> &mut Process {
        &mut self.inner
    }
}

/// What a setter closure gives back: nothing, or a result.
pub(crate) trait Done {
    fn done(self) -> Result<(), Fail>;
}

impl Done for () {
    fn done(self) -> Result<(), Fail> {
        Ok(())
    }
}

impl Done for Result<(), Fail> {
    fn done(self) -> Result<(), Fail> {
        self
    }
}

/// Runs `f` on a copy of the handle's process, checks the copy and stores it: the common
/// shape of every process setter.
///
/// # Safety
/// `h` is NULL or a live handle of its kind, not used by another thread.
pub(crate) unsafe fn with_process<H: HasProcess, R: Done>(h: *mut H, f: impl FnOnce(&mut Process) -> R) -> c_int {
    guard(|| {
        // SAFETY: per the caller's contract.
        let h = unsafe { h.as_mut() }.ok_or_else(|| Fail::null(H::WHAT))?;
        let mut p = h.process_mut().clone();
        f(&mut p).done()?;
        p.validate()?;
        *h.process_mut() = p;
        Ok(())
    })
}

/// The program from bytes (empty -> `COCOON_E_INVALID_CONFIG` through `Process::validate`).
pub(crate) fn set_program(p: &mut Process, bytes: &[u8]) -> Result<(), Fail> {
    p.set_program(OsStr::from_bytes(bytes));
    Ok(())
}

/// # Safety
/// `args` is NULL with `n` 0, or `n` NUL-terminated strings.
pub(crate) unsafe fn set_args(p: &mut Process, args: *const *const c_char, n: usize) -> Result<(), Fail> {
    // SAFETY: forwarded contract.
    let args = unsafe { str_array_arg(args, n, "args") }?;
    p.clear_args().add_args(args.into_iter().map(OsStr::from_bytes));
    Ok(())
}

/// # Safety
/// `env` is NULL with `n` 0, or `n` NUL-terminated "KEY=VALUE" strings.
pub(crate) unsafe fn set_env(p: &mut Process, env: *const *const c_char, n: usize) -> Result<(), Fail> {
    // SAFETY: forwarded contract.
    let entries = unsafe { str_array_arg(env, n, "env") }?;
    p.clear_env();
    for e in entries {
        // An entry without '=' or with an empty key has no key to set.
        let eq = e.iter().position(|&c| c == b'=').filter(|&i| i > 0).ok_or_else(|| {
            Fail::from(crate::Error::invalid(
                "environment variable",
                format!("{:?} is not KEY=VALUE with a non-empty KEY", String::from_utf8_lossy(e)),
            ))
        })?;
        p.set_env(OsStr::from_bytes(&e[..eq]), OsStr::from_bytes(&e[eq + 1..]));
    }
    Ok(())
}

/// # Safety
/// `dir` is NULL or a NUL-terminated string.
pub(crate) unsafe fn set_cwd(p: &mut Process, dir: *const c_char) -> Result<(), Fail> {
    // SAFETY: forwarded contract.
    p.set_cwd(PathBuf::from(OsStr::from_bytes(unsafe { cstr_arg(dir, "dir") }?)));
    Ok(())
}

/// # Safety
/// `groups` is NULL with `ngroups` 0, or `ngroups` readable ids.
pub(crate) unsafe fn set_user(
    p: &mut Process,
    uid: u32,
    gid: u32,
    groups: *const u32,
    ngroups: usize,
) -> Result<(), Fail> {
    // SAFETY: forwarded contract.
    let groups = unsafe { array_arg(groups, ngroups, "groups") }?.to_vec();
    p.set_user(User::Id { uid, gid, groups });
    Ok(())
}

/// # Safety
/// `name` is NULL or a NUL-terminated string.
pub(crate) unsafe fn set_user_name(p: &mut Process, name: *const c_char) -> Result<(), Fail> {
    // SAFETY: forwarded contract.
    let n = utf8_arg(unsafe { cstr_arg(name, "name") }?, "user name")?;
    if n.is_empty() {
        return Err(crate::Error::invalid("user name", "it is empty").into());
    }
    p.set_user(User::Name(n.to_owned()));
    Ok(())
}

pub(crate) fn set_capabilities(
    p: &mut Process,
    bounding: u64,
    effective: u64,
    permitted: u64,
    inheritable: u64,
    ambient: u64,
) {
    p.set_capabilities(Capabilities {
        bounding: CapSet(bounding),
        effective: CapSet(effective),
        permitted: CapSet(permitted),
        inheritable: CapSet(inheritable),
        ambient: CapSet(ambient),
    });
}

pub(crate) fn set_rlimit(p: &mut Process, resource: c_int, soft: u64, hard: u64) -> Result<(), Fail> {
    let r = rlimit_from(resource).ok_or_else(|| Fail::arg(format!("unknown resource limit {resource}")))?;
    p.set_rlimit(r, soft, hard);
    Ok(())
}

/// # Safety
/// `syscalls` is NULL with `n` 0, or `n` readable numbers.
pub(crate) unsafe fn set_seccomp_deny(
    p: &mut Process,
    syscalls: *const i64,
    n: usize,
    errno_value: c_int,
) -> Result<(), Fail> {
    // SAFETY: forwarded contract.
    let nrs = unsafe { array_arg(syscalls, n, "syscalls") }?;
    p.set_seccomp(crate::Seccomp::deny(nrs.iter().copied()).errno(errno_value));
    Ok(())
}

pub(crate) fn set_stdio(p: &mut Process, stream: c_int, kind: c_int, fd: c_int) -> Result<(), Fail> {
    if !(COCOON_STDIN..=COCOON_STDERR).contains(&stream) {
        return Err(Fail::arg(format!("unknown stream {stream}")));
    }
    let s = match kind {
        COCOON_STDIO_INHERIT => Stdio::Inherit,
        COCOON_STDIO_NULL => Stdio::Null,
        COCOON_STDIO_PIPE => Stdio::Piped,
        COCOON_STDIO_FD => Stdio::Fd(dup_caller_fd(fd, "stdio fd")?),
        _ => return Err(Fail::arg(format!("unknown stdio kind {kind}"))),
    };
    match stream {
        COCOON_STDIN => p.set_stdin(s),
        COCOON_STDOUT => p.set_stdout(s),
        _ => p.set_stderr(s),
    };
    Ok(())
}

pub(crate) fn pass_fd(p: &mut Process, fd: c_int, target: c_int) -> Result<(), Fail> {
    p.add_fd(dup_caller_fd(fd, "passed fd")?, target);
    Ok(())
}

/// Creates a process handle that runs `program` (an absolute path inside the container,
/// or a name searched in its PATH) with the defaults of `cocoon_builder_new`'s process:
/// Docker's capabilities, no_new_privs on, an empty environment, cwd "/", uid/gid 0, the
/// default seccomp policy. On success `*out` receives the handle; free it with
/// `cocoon_process_free`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_new(program: *const c_char, out: *mut *mut cocoon_process) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let program = unsafe { cstr_arg(program, "program") }?;
        nonnull(out, "out")?;
        let h = Box::new(cocoon_process { inner: Process::new(OsStr::from_bytes(program)) });
        // SAFETY: `out` is non-NULL and points to writable storage per the contract.
        unsafe { put(out, Box::into_raw(h)) };
        Ok(())
    })
}

/// Frees a process handle. NULL is a no-op. Processes exec'd with it are unaffected.
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_free(process: *mut cocoon_process) {
    guard(|| {
        if !process.is_null() {
            // SAFETY: a non-NULL handle came from `cocoon_process_new` and is freed once.
            drop(unsafe { Box::from_raw(process) });
        }
        Ok(())
    });
}

/// Checks every setting of the process (the checks exec makes first). 0 or
/// `COCOON_E_INVALID_CONFIG`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_validate(process: *const cocoon_process) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let p = unsafe { process.as_ref() }.ok_or_else(|| Fail::null("process"))?;
        p.inner.validate().map_err(Fail::from)
    })
}

// The setters: each as its `cocoon_builder_*` namesake (same arguments after the handle,
// same rules and errors), on the process handle.

/// As `cocoon_builder_set_program`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_set_program(process: *mut cocoon_process, program: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(process, |p| set_program(p, cstr_arg(program, "program")?)) }
}

/// As `cocoon_builder_set_program_len`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_set_program_len(
    process: *mut cocoon_process,
    program: *const c_char,
    len: usize,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(process, |p| set_program(p, super::len_arg(program, len, "program")?)) }
}

/// As `cocoon_builder_set_args`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_set_args(
    process: *mut cocoon_process,
    args: *const *const c_char,
    n: usize,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(process, |p| set_args(p, args, n)) }
}

/// As `cocoon_builder_set_env`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_set_env(
    process: *mut cocoon_process,
    env: *const *const c_char,
    n: usize,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(process, |p| set_env(p, env, n)) }
}

/// As `cocoon_builder_set_cwd`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_set_cwd(process: *mut cocoon_process, dir: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(process, |p| set_cwd(p, dir)) }
}

/// As `cocoon_builder_set_user`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_set_user(
    process: *mut cocoon_process,
    uid: u32,
    gid: u32,
    groups: *const u32,
    ngroups: usize,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(process, |p| set_user(p, uid, gid, groups, ngroups)) }
}

/// As `cocoon_builder_set_user_name`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_set_user_name(process: *mut cocoon_process, name: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(process, |p| set_user_name(p, name)) }
}

/// As `cocoon_builder_set_capabilities`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_set_capabilities(
    process: *mut cocoon_process,
    bounding: u64,
    effective: u64,
    permitted: u64,
    inheritable: u64,
    ambient: u64,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(process, |p| set_capabilities(p, bounding, effective, permitted, inheritable, ambient)) }
}

/// As `cocoon_builder_set_no_new_privs`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_set_no_new_privs(process: *mut cocoon_process, yes: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_process(process, |p| {
            p.set_no_new_privs(yes != 0);
        })
    }
}

/// As `cocoon_builder_set_rlimit`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_set_rlimit(
    process: *mut cocoon_process,
    resource: c_int,
    soft: u64,
    hard: u64,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(process, |p| set_rlimit(p, resource, soft, hard)) }
}

/// As `cocoon_builder_set_umask`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_set_umask(process: *mut cocoon_process, mask: u32) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_process(process, |p| {
            p.set_umask(mask);
        })
    }
}

/// As `cocoon_builder_set_seccomp_deny`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_set_seccomp_deny(
    process: *mut cocoon_process,
    syscalls: *const i64,
    n: usize,
    errno_value: c_int,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(process, |p| set_seccomp_deny(p, syscalls, n, errno_value)) }
}

/// As `cocoon_builder_set_seccomp_default_deny`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_set_seccomp_default_deny(process: *mut cocoon_process) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_process(process, |p| {
            p.set_seccomp(crate::Seccomp::default_deny());
        })
    }
}

/// As `cocoon_builder_clear_seccomp`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_clear_seccomp(process: *mut cocoon_process) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_process(process, |p| {
            p.clear_seccomp();
        })
    }
}

/// As `cocoon_builder_set_seccomp_profile_json`.
#[cfg(any(feature = "oci", feature = "image"))]
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_set_seccomp_profile_json(
    process: *mut cocoon_process,
    json: *const c_char,
    len: usize,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(process, |p| set_seccomp_profile_json(p, json, len)) }
}

/// The JSON profile from `len` bytes at `json` (empty: back to the default profile).
///
/// # Safety
/// `json` is NULL or points to `len` readable bytes.
#[cfg(any(feature = "oci", feature = "image"))]
pub(crate) unsafe fn set_seccomp_profile_json(p: &mut Process, json: *const c_char, len: usize) -> Result<(), Fail> {
    // SAFETY: forwarded contract.
    let bytes = unsafe { super::len_arg(json, len, "json") }?;
    p.set_seccomp_profile_json(if bytes.is_empty() { None } else { Some(bytes.to_vec()) });
    Ok(())
}

/// As `cocoon_builder_set_default_seccomp`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_set_default_seccomp(process: *mut cocoon_process, enabled: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_process(process, |p| {
            p.set_default_seccomp(enabled != 0);
        })
    }
}

/// As `cocoon_builder_set_oom_score_adj`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_set_oom_score_adj(process: *mut cocoon_process, adj: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_process(process, |p| {
            p.set_oom_score_adj(adj);
        })
    }
}

/// As `cocoon_builder_set_stdio`; take a piped stream's end with
/// `cocoon_exec_process_take_stdio`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_set_stdio(
    process: *mut cocoon_process,
    stream: c_int,
    kind: c_int,
    fd: c_int,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(process, |p| set_stdio(p, stream, kind, fd)) }
}

/// As `cocoon_builder_pass_fd`: the handle holds the duplicate until it is freed or
/// `cocoon_process_clear_passed_fds` is called.
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_pass_fd(process: *mut cocoon_process, fd: c_int, target: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(process, |p| pass_fd(p, fd, target)) }
}

/// As `cocoon_builder_clear_passed_fds`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_process_clear_passed_fds(process: *mut cocoon_process) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_process(process, |p| {
            p.clear_fds();
        })
    }
}
