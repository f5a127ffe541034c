//! `cocoon_builder`: every setting of a container, through the C ABI.
//!
//! Setters check what they can on their own and leave the builder unchanged when they
//! fail; checks that need several settings together (a hostname needs a UTS namespace)
//! happen in `cocoon_builder_validate` and `cocoon_container_spawn`.

use std::ffi::{c_char, c_int, OsStr};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{array_arg, cstr_arg, guard, len_arg, put, str_array_arg, utf8_arg, Fail};
use crate::builder::{validate_hostname, validate_id, ContainerBuilder};
use crate::capability::{CapSet, Capabilities};
use crate::idmap::IdRange;
use crate::mount::Mount;
use crate::namespace::{Namespaces, TimeOffsets};
use crate::process::{Process, Rlimit, Stdio, User};
use crate::rootfs::Rootfs;

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

fn rlimit_from(n: c_int) -> Option<Rlimit> {
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
unsafe fn with_builder(b: *mut cocoon_builder, f: impl FnOnce(&mut ContainerBuilder) -> Result<(), Fail>) -> c_int {
    guard(|| {
        // SAFETY: forwarded contract.
        let b = unsafe { builder_mut(b) }?;
        f(&mut b.inner)
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

/// Checks every setting that can be checked without touching the host (the checks
/// `cocoon_container_spawn` makes first). 0 or `COCOON_E_INVALID_CONFIG`.
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
    unsafe {
        with_builder(builder, |b| {
            let p = cstr_arg(program, "program")?;
            set_program(b, p)
        })
    }
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
    unsafe {
        with_builder(builder, |b| {
            let p = len_arg(program, len, "program")?;
            set_program(b, p)
        })
    }
}

fn set_program(b: &mut ContainerBuilder, p: &[u8]) -> Result<(), Fail> {
    if p.is_empty() {
        return Err(crate::Error::InvalidConfig { what: "program", reason: "the program name is empty".into() }.into());
    }
    b.process.program = OsStr::from_bytes(p).to_os_string();
    Ok(())
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
    unsafe {
        with_builder(builder, |b| {
            let args = str_array_arg(args, n, "args")?;
            b.process.args = args.into_iter().map(|a| OsStr::from_bytes(a).to_os_string()).collect();
            Ok(())
        })
    }
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
    unsafe {
        with_builder(builder, |b| {
            let entries = str_array_arg(env, n, "env")?;
            let mut vars: Vec<(std::ffi::OsString, std::ffi::OsString)> = Vec::with_capacity(entries.len());
            for e in entries {
                let eq = e.iter().position(|&c| c == b'=').filter(|&i| i > 0).ok_or_else(|| {
                    Fail::from(crate::Error::InvalidConfig {
                        what: "environment variable",
                        reason: format!("{:?} is not KEY=VALUE with a non-empty KEY", String::from_utf8_lossy(e)),
                    })
                })?;
                let key = OsStr::from_bytes(&e[..eq]).to_os_string();
                vars.retain(|(k, _)| *k != key);
                vars.push((key, OsStr::from_bytes(&e[eq + 1..]).to_os_string()));
            }
            b.process.env = vars;
            Ok(())
        })
    }
}

/// The working directory inside the container (absolute; default "/").
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_cwd(builder: *mut cocoon_builder, dir: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            let d = absolute("working directory", cstr_arg(dir, "dir")?)?;
            b.process.cwd = d;
            Ok(())
        })
    }
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
    unsafe {
        with_builder(builder, |b| {
            let groups = array_arg(groups, ngroups, "groups")?.to_vec();
            b.process.user = User::Id { uid, gid, groups };
            Ok(())
        })
    }
}

/// Runs the program as user `name` (UTF-8), looked up in the container's /etc/passwd and
/// /etc/group when the container is spawned.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_user_name(builder: *mut cocoon_builder, name: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            let n = utf8_arg(cstr_arg(name, "name")?, "user name")?;
            if n.is_empty() {
                return Err(crate::Error::InvalidConfig { what: "user name", reason: "it is empty".into() }.into());
            }
            b.process.user = User::Name(n.to_owned());
            Ok(())
        })
    }
}

/// The container id (letters, digits, '_', '-', '.'; 1-64 bytes; names the cgroup).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_id(builder: *mut cocoon_builder, id: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            let id = utf8_arg(cstr_arg(id, "id")?, "container id")?;
            validate_id(id)?;
            b.id = Some(id.to_owned());
            Ok(())
        })
    }
}

/// Which namespaces are new: an OR of `COCOON_NS_*` (unknown bits ->
/// `COCOON_E_INVALID_ARGUMENT`). `COCOON_NS_MOUNT` is required at spawn.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_namespaces(builder: *mut cocoon_builder, flags: u32) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            let ns = Namespaces::from_bits(flags)
                .ok_or_else(|| Fail::arg(format!("namespace flags {flags:#x} hold unknown bits")))?;
            b.namespaces = ns;
            Ok(())
        })
    }
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

fn add_range(b: &mut ContainerBuilder, uid: bool, inside: u32, outside: u32, count: u32) -> Result<(), Fail> {
    let what = if uid { "uid map" } else { "gid map" };
    let map = if uid { &mut b.uid_map } else { &mut b.gid_map };
    let mut new = map.clone();
    new.push(IdRange::new(inside, outside, count));
    crate::idmap::validate_id_map(what, &new)?;
    *map = new;
    b.namespaces |= Namespaces::USER;
    Ok(())
}

/// Removes every uid and gid range (the namespace flags are left as they are).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_clear_id_maps(builder: *mut cocoon_builder) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            b.uid_map.clear();
            b.gid_map.clear();
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
        b.hostname = Some(n.to_owned());
    } else {
        b.domainname = Some(n.to_owned());
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
    unsafe {
        with_builder(builder, |b| {
            b.time_offsets =
                TimeOffsets { monotonic: Duration::from_nanos(monotonic_ns), boottime: Duration::from_nanos(boottime_ns) };
            b.namespaces |= Namespaces::TIME;
            Ok(())
        })
    }
}

/// Root filesystem: the embedded host sandbox (the default; a tmpfs with the host's /usr
/// bound read-only and a minimal /etc).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_rootfs_host_sandbox(builder: *mut cocoon_builder) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            b.rootfs = Rootfs::HostSandbox;
            Ok(())
        })
    }
}

/// Root filesystem: an existing host directory (absolute path, need not be UTF-8).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_rootfs_dir(builder: *mut cocoon_builder, dir: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            b.rootfs = Rootfs::Directory(absolute("rootfs directory", cstr_arg(dir, "dir")?)?);
            Ok(())
        })
    }
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
            if lower.is_empty() {
                return Err(crate::Error::InvalidConfig {
                    what: "rootfs layers",
                    reason: "at least one lower layer is needed".into(),
                }
                .into());
            }
            let lower = lower.iter().map(|l| absolute("rootfs lower layer", l)).collect::<Result<Vec<_>, _>>()?;
            b.rootfs = Rootfs::Layers { lower, upper, work };
            Ok(())
        })
    }
}

/// Whether the root is mounted read-only (non-zero = yes; default no).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_read_only_root(builder: *mut cocoon_builder, yes: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            b.read_only_root = yes != 0;
            Ok(())
        })
    }
}

/// Whether /proc, /sys (read-only) and a minimal /dev are mounted (default yes).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_standard_mounts(builder: *mut cocoon_builder, yes: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            b.standard_mounts = yes != 0;
            Ok(())
        })
    }
}

const BIND_FLAGS: u32 =
    COCOON_MOUNT_READONLY | COCOON_MOUNT_NOEXEC | COCOON_MOUNT_ALLOW_SUID | COCOON_MOUNT_ALLOW_DEV | COCOON_MOUNT_NONRECURSIVE;
const TMPFS_FLAGS: u32 = COCOON_MOUNT_READONLY | COCOON_MOUNT_NOEXEC | COCOON_MOUNT_ALLOW_SUID | COCOON_MOUNT_ALLOW_DEV;

fn apply_flags(m: Mount, flags: u32) -> Mount {
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
            m.validate()?;
            b.mounts.push(m);
            Ok(())
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
            m.validate()?;
            b.mounts.push(m);
            Ok(())
        })
    }
}

/// Removes every mount added with `cocoon_builder_add_bind`/`_add_tmpfs`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_clear_mounts(builder: *mut cocoon_builder) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            b.mounts.clear();
            Ok(())
        })
    }
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
    unsafe {
        with_builder(builder, |b| {
            b.masked_paths = container_paths(paths, n, "masked path")?;
            Ok(())
        })
    }
}

/// Replaces the read-only paths (default: Docker's list).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_readonly_paths(
    builder: *mut cocoon_builder,
    paths: *const *const c_char,
    n: usize,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            b.readonly_paths = container_paths(paths, n, "read-only path")?;
            Ok(())
        })
    }
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
    unsafe {
        with_builder(builder, |b| {
            let caps = Capabilities {
                bounding: CapSet(bounding),
                effective: CapSet(effective),
                permitted: CapSet(permitted),
                inheritable: CapSet(inheritable),
                ambient: CapSet(ambient),
            };
            let mut p = b.process.clone();
            p.capabilities = caps;
            crate::plan::validate_process(&p)?;
            b.process.capabilities = caps;
            Ok(())
        })
    }
}

/// Whether PR_SET_NO_NEW_PRIVS is set (non-zero = yes; default yes).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_no_new_privs(builder: *mut cocoon_builder, yes: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            b.process.no_new_privs = yes != 0;
            Ok(())
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
    unsafe {
        with_builder(builder, |b| {
            let r = rlimit_from(resource).ok_or_else(|| Fail::arg(format!("unknown resource limit {resource}")))?;
            if soft > hard {
                return Err(crate::Error::InvalidConfig {
                    what: "rlimit",
                    reason: format!("{}: soft limit {soft} is above hard limit {hard}", r.name()),
                }
                .into());
            }
            b.process.rlimits.retain(|(x, _, _)| *x != r);
            b.process.rlimits.push((r, soft, hard));
            Ok(())
        })
    }
}

/// The file mode creation mask (<= 0777; default inherited).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_umask(builder: *mut cocoon_builder, mask: u32) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            if mask > 0o777 {
                return Err(crate::Error::InvalidConfig { what: "umask", reason: format!("{mask:#o} is above 0o777") }.into());
            }
            b.process.umask = Some(mask);
            Ok(())
        })
    }
}

/// The OOM killer score adjustment (-1000..=1000).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_oom_score_adj(builder: *mut cocoon_builder, adj: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            if !(-1000..=1000).contains(&adj) {
                return Err(crate::Error::InvalidConfig {
                    what: "oom_score_adj",
                    reason: format!("{adj} is outside -1000..=1000"),
                }
                .into());
            }
            b.process.oom_score_adj = Some(adj);
            Ok(())
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
    unsafe {
        with_builder(builder, |b| {
            if !(COCOON_STDIN..=COCOON_STDERR).contains(&stream) {
                return Err(Fail::arg(format!("unknown stream {stream}")));
            }
            let s = match kind {
                COCOON_STDIO_INHERIT => Stdio::Inherit,
                COCOON_STDIO_NULL => Stdio::Null,
                COCOON_STDIO_PIPE => Stdio::Piped,
                COCOON_STDIO_FD => {
                    if fd < 0 {
                        return Err(Fail::arg(format!("fd {fd} is negative")));
                    }
                    // SAFETY: fcntl(F_DUPFD_CLOEXEC) only reads the descriptor number.
                    let d = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3);
                    if d < 0 {
                        return Err(crate::Error::Os {
                            op: "dup",
                            detail: format!("stdio fd {fd}"),
                            source: std::io::Error::last_os_error(),
                        }
                        .into());
                    }
                    // SAFETY: `d` is a fresh descriptor we own.
                    Stdio::Fd(Arc::new(OwnedFd::from_raw_fd(d)))
                }
                _ => return Err(Fail::arg(format!("unknown stdio kind {kind}"))),
            };
            match stream {
                COCOON_STDIN => b.process.stdin = s,
                COCOON_STDOUT => b.process.stdout = s,
                _ => b.process.stderr = s,
            }
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
            b.init = yes != 0;
            Ok(())
        })
    }
}

// ---------------------------------------------------------------------------------------
// RESERVED: cgroup limits (cocoon_builder_set_memory_max, _set_pids_max, _set_cpu_*, ...)
// and SELinux labels (cocoon_builder_set_selinux_*) are added here once the cgroup and
// SELinux work is merged. Follow the pattern above: `unsafe extern "C"`, `#[no_mangle]`,
// `with_builder`, eager value checks with the core's validators, a `COCOON_E_CGROUP` /
// `COCOON_E_SELINUX` code for runtime failures, one doc comment per function, the symbol
// added to tests/abi/symbols.txt, and a call (plus NULL test) in tests/abi/abi_test.c.
// ---------------------------------------------------------------------------------------
