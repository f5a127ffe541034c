//! The process's privileges and limits: capabilities, no_new_privs, resource limits,
//! umask, seccomp, OOM score; its standard streams and the minimal init.

use std::ffi::{c_char, c_int, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::{cocoon_builder, with_builder};
use crate::ffi::process::{set_capabilities, set_rlimit, set_seccomp_deny, set_stdio, with_process};
use crate::ffi::{cstr_arg, Fail};
use crate::logs::LogConfig;
use crate::process::Rlimit;

/// An unlimited resource limit.
pub const COCOON_RLIM_INFINITY: u64 = u64::MAX;

// Resource limits (`cocoon_builder_set_rlimit`). Cocoon's own numbers, not RLIMIT_*.

/// Address space (bytes).
pub const COCOON_RLIMIT_AS: c_int = 0;
/// Core file size (bytes).
pub const COCOON_RLIMIT_CORE: c_int = 1;
/// CPU time (seconds).
pub const COCOON_RLIMIT_CPU: c_int = 2;
/// Data segment (bytes).
pub const COCOON_RLIMIT_DATA: c_int = 3;
/// File size (bytes).
pub const COCOON_RLIMIT_FSIZE: c_int = 4;
/// Locked memory (bytes).
pub const COCOON_RLIMIT_MEMLOCK: c_int = 5;
/// Message queue bytes.
pub const COCOON_RLIMIT_MSGQUEUE: c_int = 6;
/// Nice ceiling.
pub const COCOON_RLIMIT_NICE: c_int = 7;
/// Open files.
pub const COCOON_RLIMIT_NOFILE: c_int = 8;
/// Processes/threads of the user.
pub const COCOON_RLIMIT_NPROC: c_int = 9;
/// Resident set.
pub const COCOON_RLIMIT_RSS: c_int = 10;
/// Real-time priority ceiling.
pub const COCOON_RLIMIT_RTPRIO: c_int = 11;
/// Real-time CPU time (microseconds).
pub const COCOON_RLIMIT_RTTIME: c_int = 12;
/// Pending signals.
pub const COCOON_RLIMIT_SIGPENDING: c_int = 13;
/// Stack size (bytes).
pub const COCOON_RLIMIT_STACK: c_int = 14;

pub(crate) fn rlimit_from(n: c_int) -> Option<Rlimit> {
    Some(match n {
        COCOON_RLIMIT_AS => Rlimit::As,
        COCOON_RLIMIT_CORE => Rlimit::Core,
        COCOON_RLIMIT_CPU => Rlimit::Cpu,
        COCOON_RLIMIT_DATA => Rlimit::Data,
        COCOON_RLIMIT_FSIZE => Rlimit::Fsize,
        COCOON_RLIMIT_MEMLOCK => Rlimit::Memlock,
        COCOON_RLIMIT_MSGQUEUE => Rlimit::Msgqueue,
        COCOON_RLIMIT_NICE => Rlimit::Nice,
        COCOON_RLIMIT_NOFILE => Rlimit::Nofile,
        COCOON_RLIMIT_NPROC => Rlimit::Nproc,
        COCOON_RLIMIT_RSS => Rlimit::Rss,
        COCOON_RLIMIT_RTPRIO => Rlimit::Rtprio,
        COCOON_RLIMIT_RTTIME => Rlimit::Rttime,
        COCOON_RLIMIT_SIGPENDING => Rlimit::Sigpending,
        COCOON_RLIMIT_STACK => Rlimit::Stack,
        _ => return None,
    })
}

/// The five capability sets as masks (bit n = capability number n, e.g. CAP_CHOWN = 0).
/// `effective` must be within `permitted`, and `ambient` within both `permitted` and
/// `inheritable` (`COCOON_E_INVALID_CONFIG` otherwise). Default: Docker's set in
/// bounding/effective/permitted, nothing inheritable or ambient.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_capabilities(
    builder: *mut cocoon_builder,
    bounding: u64,
    effective: u64,
    permitted: u64,
    inheritable: u64,
    ambient: u64,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(builder, |p| set_capabilities(p, bounding, effective, permitted, inheritable, ambient)) }
}

/// Whether PR_SET_NO_NEW_PRIVS is set (non-zero = yes; default yes).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_no_new_privs(builder: *mut cocoon_builder, yes: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_process(builder, |p| {
            p.set_no_new_privs(yes != 0);
        })
    }
}

/// Sets a resource limit (`COCOON_RLIMIT_*`; unknown -> `COCOON_E_INVALID_ARGUMENT`;
/// `COCOON_RLIM_INFINITY` = unlimited; soft above hard -> `COCOON_E_INVALID_CONFIG`).
/// Raising a hard limit needs CAP_SYS_RESOURCE: without it spawn fails with
/// `COCOON_E_SETUP` at `COCOON_STAGE_RLIMIT`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_rlimit(
    builder: *mut cocoon_builder,
    resource: c_int,
    soft: u64,
    hard: u64,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(builder, |p| set_rlimit(p, resource, soft, hard)) }
}

/// The file mode creation mask (<= 0777; default inherited).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_umask(builder: *mut cocoon_builder, mask: u32) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_process(builder, |p| {
            p.set_umask(mask);
        })
    }
}

/// A seccomp deny-list for the process: the `n` syscall numbers at `syscalls` (`SYS_*`
/// of the running architecture) fail with `errno_value` (1..=4095, e.g. `EPERM`), every
/// other syscall is allowed — on top of the default profile (see
/// `cocoon_builder_set_default_seccomp`), which it cannot loosen; where both refuse a
/// syscall this errno is the one seen. Installed right before exec; needs no_new_privs
/// (the default) or CAP_SYS_ADMIN. Replaces an earlier deny-list; checked immediately
/// (`COCOON_E_INVALID_CONFIG` for a bad number or errno, the builder unchanged).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_seccomp_deny(
    builder: *mut cocoon_builder,
    syscalls: *const i64,
    n: usize,
    errno_value: c_int,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(builder, |p| set_seccomp_deny(p, syscalls, n, errno_value)) }
}

/// The conservative default deny-list (`cocoon::Seccomp::default_deny`: keyrings, new
/// user namespaces, modules, kexec, BPF, perf, userfaultfd, ptrace, mounts, swap,
/// reboot, clocks, accounting, quotas, handle-based opens) failing with `EPERM`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_seccomp_default_deny(builder: *mut cocoon_builder) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_process(builder, |p| {
            p.set_seccomp(crate::Seccomp::default_deny());
        })
    }
}

/// A seccomp profile in Docker's JSON format (`--security-opt seccomp=FILE`: the `len`
/// bytes at `json`, no NUL needed) replacing the default profile: `defaultAction`,
/// `defaultErrnoRet`, `syscalls` with names, action, args, `errnoRet`, and
/// `includes`/`excludes` of caps, arches and `minKernel`, which are resolved against the
/// builder's bounding set when the container is planned (Rust
/// `Process::seccomp_profile_json`). Names this architecture does not have are skipped.
/// Checked immediately against the current capabilities: malformed JSON, an unknown
/// action, operator or capability, an argument index above 5 or `SCMP_ACT_NOTIFY` ->
/// `COCOON_E_INVALID_CONFIG`, the builder unchanged. `cocoon_builder_set_default_seccomp(b,
/// 0)` does not remove it; `cocoon_builder_set_seccomp_profile_json(b, "", 0)` does (back
/// to the default profile).
#[cfg(any(feature = "oci", feature = "image"))]
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_seccomp_profile_json(
    builder: *mut cocoon_builder,
    json: *const c_char,
    len: usize,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(builder, |p| crate::ffi::process::set_seccomp_profile_json(p, json, len)) }
}

/// Removes the seccomp deny-list (the default: none). The default profile stays unless
/// turned off with `cocoon_builder_set_default_seccomp(builder, 0)`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_clear_seccomp(builder: *mut cocoon_builder) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_process(builder, |p| {
            p.clear_seccomp();
        })
    }
}

/// Whether the default seccomp profile is installed (`enabled` non-zero; the default is
/// on): Docker's default allowlist (Rust `cocoon::seccomp::Profile::default_profile`):
/// every syscall it does not list fails with `EPERM` (`keyctl`, `add_key`,
/// `request_key`, `bpf`, `perf_event_open`, `kexec_load`, `open_by_handle_at`, modules,
/// ...); `clone`/`unshare` with any `CLONE_NEW*` flag, `setns` and `mount` only with
/// `CAP_SYS_ADMIN` in the bounding set (other kept capabilities widen it likewise:
/// `CAP_SYS_PTRACE` ptrace, `CAP_SYS_TIME` clock setting, ...); `clone3` fails with
/// `ENOSYS` (libcs then use `clone`); fork, threads and ordinary programs work. Turn it
/// off (0) only for programs that need more. Applies to containers spawned from the
/// builder and to processes exec'd with it (`cocoon_container_exec`).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_default_seccomp(builder: *mut cocoon_builder, enabled: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_process(builder, |p| {
            p.set_default_seccomp(enabled != 0);
        })
    }
}

/// The OOM killer score adjustment (-1000..=1000).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_oom_score_adj(builder: *mut cocoon_builder, adj: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_process(builder, |p| {
            p.set_oom_score_adj(adj);
        })
    }
}

/// Where a standard stream goes: `stream` is `COCOON_STDIN/STDOUT/STDERR`, `kind` a
/// `COCOON_STDIO_*`. With `COCOON_STDIO_FD`, `fd` is duplicated now (close-on-exec in the
/// caller; the caller keeps and closes its own); otherwise `fd` is ignored. Unknown
/// stream or kind, or a negative fd -> `COCOON_E_INVALID_ARGUMENT`; a closed fd ->
/// `COCOON_E_OS` (EBADF).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_stdio(
    builder: *mut cocoon_builder,
    stream: c_int,
    kind: c_int,
    fd: c_int,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_process(builder, |p| set_stdio(p, stream, kind, fd)) }
}

/// Logs the program's stdout and stderr to the file `path` in the CRI format kubelet reads
/// (`<RFC 3339 time> stdout|stderr F|P <text>`), written by the container's monitor, so
/// logging goes on after a detached container's creator exits; replaces the stdout and
/// stderr settings. Rotates when the file would pass `max_size` bytes (0: never), keeping
/// at most `max_files` files (the live one included; 0 counts as 1, which truncates).
/// `path` NULL: no log. The file is opened (mode 0640, not through a symlink) at spawn;
/// its directory must exist. A file name longer than 240 bytes ->
/// `COCOON_E_INVALID_CONFIG`. Read it back with `cocoon_log_reader_open`; a full disk is
/// reported by `cocoon_container_log_lost_bytes`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_log(
    builder: *mut cocoon_builder,
    path: *const c_char,
    max_size: u64,
    max_files: u32,
) -> c_int {
    // SAFETY: forwarded contract; `path` is NULL or a NUL-terminated string.
    unsafe {
        with_process(builder, |p| -> Result<(), Fail> {
            if path.is_null() {
                p.set_log(None);
                return Ok(());
            }
            let bytes = cstr_arg(path, "path")?;
            let cfg = LogConfig::new(PathBuf::from(OsStr::from_bytes(bytes))).rotate(max_size, max_files);
            p.set_log(Some(cfg));
            Ok(())
        })
    }
}

/// Whether a minimal init runs as PID 1, reaping orphans and forwarding signals to the
/// program (non-zero = yes; needs `COCOON_NS_PID`).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_init(builder: *mut cocoon_builder, yes: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            b.set_init(yes != 0);
        })
    }
}
