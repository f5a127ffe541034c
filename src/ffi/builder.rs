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
use crate::cgroup::{
    BlockDevice, Bytes, CgroupConfig, CgroupError, CpuShares, CpuWeight, DeviceAccess, DeviceKind, DeviceNumber,
    DeviceRule, IdSet, IoRate,
};
use crate::idmap::IdRange;
use crate::mount::Mount;
use crate::namespace::{Namespaces, TimeOffsets};
use crate::process::{Process, Rlimit, Stdio, User};
use crate::rootfs::Rootfs;
use crate::selinux::{Level, McsRange, SelinuxConfig, SelinuxError, Sharing};

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
            let mut vars = crate::env::EnvVars::default();
            for e in entries {
                let eq = e.iter().position(|&c| c == b'=').filter(|&i| i > 0).ok_or_else(|| {
                    Fail::from(crate::Error::InvalidConfig {
                        what: "environment variable",
                        reason: format!("{:?} is not KEY=VALUE with a non-empty KEY", String::from_utf8_lossy(e)),
                    })
                })?;
                vars.set(OsStr::from_bytes(&e[..eq]).to_os_string(), OsStr::from_bytes(&e[eq + 1..]).to_os_string());
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

/// A seccomp deny-list for the process: the `n` syscall numbers at `syscalls` (`SYS_*`
/// of the running architecture) fail with `errno_value` (1..=4095, e.g. `EPERM`), every
/// other syscall is allowed — on top of the default policy (see
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
    unsafe {
        with_builder(builder, |b| {
            // SAFETY: the caller passes NULL (with n == 0) or n readable i64s.
            let nrs = array_arg(syscalls, n, "syscalls")?;
            let filter = crate::Seccomp::deny(nrs.iter().copied()).errno(errno_value);
            filter.validate()?;
            b.process.seccomp = Some(filter);
            Ok(())
        })
    }
}

/// The conservative default deny-list (`cocoon::Seccomp::default_deny`: keyrings, new
/// user namespaces, modules, kexec, BPF, perf, userfaultfd, ptrace, mounts, swap,
/// reboot, clocks, accounting, quotas, handle-based opens) failing with `EPERM`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_seccomp_default_deny(builder: *mut cocoon_builder) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            b.process.seccomp = Some(crate::Seccomp::default_deny());
            Ok(())
        })
    }
}

/// Removes the seccomp deny-list (the default: none). The default policy stays unless
/// turned off with `cocoon_builder_set_default_seccomp(builder, 0)`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_clear_seccomp(builder: *mut cocoon_builder) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            b.process.seccomp = None;
            Ok(())
        })
    }
}

/// Whether the default seccomp policy is installed (`enabled` non-zero; the default is
/// on): `keyctl`, `add_key`, `request_key`, `setns`, and `clone`/`unshare` with any
/// `CLONE_NEW*` flag fail with `EPERM`, `clone3` with `ENOSYS` (libcs then use `clone`);
/// fork and threads work. It keeps container root out of host root's user keyring and
/// from making namespaces of its own; turn it off (0) only for programs that need those
/// calls. Applies to containers spawned from the builder and to processes exec'd with
/// it (`cocoon_container_exec`).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_default_seccomp(builder: *mut cocoon_builder, enabled: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            b.process.default_seccomp = enabled != 0;
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
// Cgroup limits. The first call of any of these gives the container its own cgroup
// (`cocoon_builder_enable_cgroup` gives one without limits). Each setter applies its value
// to a copy of the cgroup settings and checks the whole copy against the host
// (`CgroupConfig::validate`: ranges, online CPUs and memory nodes, block devices, huge
// page sizes, what the host's cgroup version can express); on failure the builder is
// unchanged and the code is `COCOON_E_CGROUP` (the message names the setting and value).
// ---------------------------------------------------------------------------------------

/// `cocoon_builder_add_io_limit`: bytes read per second.
pub const COCOON_IO_READ_BPS: c_int = 0;
/// `cocoon_builder_add_io_limit`: bytes written per second.
pub const COCOON_IO_WRITE_BPS: c_int = 1;
/// `cocoon_builder_add_io_limit`: read operations per second.
pub const COCOON_IO_READ_IOPS: c_int = 2;
/// `cocoon_builder_add_io_limit`: write operations per second.
pub const COCOON_IO_WRITE_IOPS: c_int = 3;

/// `cocoon_builder_add_device_rule` kind: every device (`a`; major and minor must be
/// `COCOON_DEVICE_ANY`).
pub const COCOON_DEVICE_ALL: c_int = 0;
/// `cocoon_builder_add_device_rule` kind: character devices (`c`).
pub const COCOON_DEVICE_CHAR: c_int = 1;
/// `cocoon_builder_add_device_rule` kind: block devices (`b`).
pub const COCOON_DEVICE_BLOCK: c_int = 2;
/// `cocoon_builder_add_device_rule` major or minor number: any (`*`).
pub const COCOON_DEVICE_ANY: u32 = u32::MAX;
/// `cocoon_builder_add_device_rule` access: read.
pub const COCOON_DEVICE_READ: u32 = 1 << 0;
/// `cocoon_builder_add_device_rule` access: write.
pub const COCOON_DEVICE_WRITE: u32 = 1 << 1;
/// `cocoon_builder_add_device_rule` access: mknod.
pub const COCOON_DEVICE_MKNOD: u32 = 1 << 2;

/// Applies `f` to a copy of the builder's cgroup settings (a default one if there is none
/// yet), validates the copy against the host, and stores it only if that succeeds.
///
/// # Safety
/// As [`builder_mut`].
unsafe fn with_cgroup(
    b: *mut cocoon_builder,
    f: impl FnOnce(CgroupConfig) -> Result<CgroupConfig, Fail>,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(b, |b| {
            let cfg = f(b.cgroup.clone().unwrap_or_default())?;
            cfg.validate().map_err(crate::Error::from)?;
            b.cgroup = Some(cfg);
            Ok(())
        })
    }
}

fn cgroup_invalid(controller: &'static str, setting: &'static str, reason: impl Into<String>) -> Fail {
    crate::Error::from(CgroupError::invalid(controller, setting, reason)).into()
}

/// Gives the container its own cgroup even without limits (it still gets accounting for
/// `cocoon_container_stats`, the freezer for `cocoon_container_pause`, and a cgroup-wide
/// kill on teardown). Calling it again keeps the settings already made.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_enable_cgroup(builder: *mut cocoon_builder) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_cgroup(builder, Ok) }
}

/// Removes every cgroup setting: the container gets no cgroup of its own.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_clear_cgroup(builder: *mut cocoon_builder) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            b.cgroup = None;
            Ok(())
        })
    }
}

/// The parent of the container's cgroup, relative to every hierarchy's root (default
/// "cocoon"): plain names joined by '/', no "." or "..", not absolute. Missing
/// directories are created at spawn and removed again once empty; directories cocoon did
/// not create are never modified or removed.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_cgroup_parent(builder: *mut cocoon_builder, path: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_cgroup(builder, |c| {
            let p = cstr_arg(path, "path")?;
            Ok(c.parent(self::path(p)))
        })
    }
}

/// Hard memory limit in bytes (1..=2^63-1; v1 `memory.limit_in_bytes`, v2 `memory.max`).
/// Above it the kernel reclaims, then the OOM killer kills a process of the container
/// (counted in `cocoon_stats.memory_oom_kills`).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_memory_max(builder: *mut cocoon_builder, bytes: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_cgroup(builder, |c| Ok(c.memory_max(Bytes(bytes)))) }
}

/// Memory throttling threshold in bytes (v2 `memory.high`; at most the memory max).
/// cgroup v1 cannot express it: `COCOON_E_CGROUP` where the memory controller is v1.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_memory_high(builder: *mut cocoon_builder, bytes: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_cgroup(builder, |c| Ok(c.memory_high(Bytes(bytes)))) }
}

/// Memory protection/reservation in bytes (v1 `memory.soft_limit_in_bytes`, v2
/// `memory.low`; 0 allowed).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_memory_low(builder: *mut cocoon_builder, bytes: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_cgroup(builder, |c| Ok(c.memory_low(Bytes(bytes)))) }
}

/// Swap limit in bytes (v2 `memory.swap.max`; 0 = no swap). On cgroup v1 swap is
/// limited together with memory, so set the memory max first (the kernel gets
/// `memory.memsw.limit_in_bytes` = memory max + swap max), and the host needs swap
/// accounting; otherwise `COCOON_E_CGROUP`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_swap_max(builder: *mut cocoon_builder, bytes: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_cgroup(builder, |c| Ok(c.swap_max(Bytes(bytes)))) }
}

/// Disables the OOM killer for the container (non-zero = yes): at the memory limit its
/// tasks wait instead of being killed. cgroup v1 only (`COCOON_E_CGROUP` on v2).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_oom_kill_disable(builder: *mut cocoon_builder, yes: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_cgroup(builder, |c| Ok(c.oom_kill_disable(yes != 0))) }
}

/// At most `max` tasks (processes and threads) in the container (1..=4194304): a fork
/// or clone beyond it fails with EAGAIN inside the container.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_pids_max(builder: *mut cocoon_builder, max: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_cgroup(builder, |c| Ok(c.pids_max(max))) }
}

/// At most `quota_us` microseconds of CPU time every `period_us` microseconds (period
/// 1000..=1000000, quota at least 1000; e.g. 50000/100000 = half a CPU). Replaces an
/// earlier quota; a burst set before must still fit in the new quota.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_cpu_quota(builder: *mut cocoon_builder, quota_us: u64, period_us: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_cgroup(builder, |c| Ok(c.cpu_quota(Duration::from_micros(quota_us), Duration::from_micros(period_us))))
    }
}

/// Unused CPU quota, in microseconds, that may be carried over to a later period (at
/// most the quota; needs `cocoon_builder_set_cpu_quota` first; v1 needs a kernel with
/// `cpu.cfs_burst_us`).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_cpu_burst(builder: *mut cocoon_builder, burst_us: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_cgroup(builder, |c| Ok(c.cpu_burst(Duration::from_micros(burst_us)))) }
}

/// Relative CPU share as a cgroup v2 weight (1..=10000, default 100; converted to v1
/// `cpu.shares` on v1). Replaces a share set with `cocoon_builder_set_cpu_shares`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_cpu_weight(builder: *mut cocoon_builder, weight: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_cgroup(builder, |mut c| {
            c.cpu_shares = None;
            Ok(c.cpu_weight(CpuWeight(weight)))
        })
    }
}

/// Relative CPU share as cgroup v1 shares (2..=262144, default 1024; converted to a v2
/// weight on v2). Replaces a weight set with `cocoon_builder_set_cpu_weight`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_cpu_shares(builder: *mut cocoon_builder, shares: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_cgroup(builder, |mut c| {
            c.cpu_weight = None;
            Ok(c.cpu_shares(CpuShares(shares)))
        })
    }
}

fn id_list(list: &[u8], setting: &'static str) -> Result<IdSet, Fail> {
    let text = utf8_arg(list, setting)?;
    text.parse::<IdSet>().map_err(|e| cgroup_invalid("cpuset", setting, e.to_string()))
}

/// The CPUs the container may run on, as a kernel list such as "0-3,8" (UTF-8; every
/// CPU must be online, the set must not be empty).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_cpuset_cpus(builder: *mut cocoon_builder, list: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_cgroup(builder, |c| Ok(c.cpus(id_list(cstr_arg(list, "list")?, "cpuset.cpus")?))) }
}

/// The memory (NUMA) nodes the container may allocate from, as a list such as "0"
/// (UTF-8; every node must be online).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_cpuset_mems(builder: *mut cocoon_builder, list: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_cgroup(builder, |c| Ok(c.mems(id_list(cstr_arg(list, "list")?, "cpuset.mems")?))) }
}

/// Relative block I/O weight: 1..=10000 on cgroup v2 `io.weight`; 1..=1000 where only
/// BFQ's weight exists (v1 `blkio.bfq.weight`).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_io_weight(builder: *mut cocoon_builder, weight: u32) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_cgroup(builder, |c| {
            let w = u16::try_from(weight).map_err(|_| cgroup_invalid("io", "io weight", format!("{weight} is outside 1..=10000")))?;
            Ok(c.io_weight(w))
        })
    }
}

fn io_rate(kind: c_int) -> Result<IoRate, Fail> {
    Ok(match kind {
        COCOON_IO_READ_BPS => IoRate::ReadBps,
        COCOON_IO_WRITE_BPS => IoRate::WriteBps,
        COCOON_IO_READ_IOPS => IoRate::ReadIops,
        COCOON_IO_WRITE_IOPS => IoRate::WriteIops,
        _ => return Err(Fail::arg(format!("unknown I/O rate kind {kind}"))),
    })
}

/// Throttles the whole disk at host path `device_path` (a block device node such as
/// "/dev/vda", not a partition) to `value` (>= 1) per second of `rate_kind`
/// (`COCOON_IO_*`; unknown -> `COCOON_E_INVALID_ARGUMENT`). Limits add up: one per
/// device and kind.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_add_io_limit(
    builder: *mut cocoon_builder,
    device_path: *const c_char,
    rate_kind: c_int,
    value: u64,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_cgroup(builder, |c| {
            let dev = path(cstr_arg(device_path, "device_path")?);
            let rate = io_rate(rate_kind)?;
            Ok(c.io_limit(BlockDevice::Path(dev), rate, value))
        })
    }
}

/// As `cocoon_builder_add_io_limit`, naming the disk by its `major:minor` numbers.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_add_io_limit_dev(
    builder: *mut cocoon_builder,
    major: u32,
    minor: u32,
    rate_kind: c_int,
    value: u64,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_cgroup(builder, |c| {
            let rate = io_rate(rate_kind)?;
            Ok(c.io_limit(BlockDevice::Number { major, minor }, rate, value))
        })
    }
}

/// Caps huge pages of `page_size` bytes (a size the host offers in
/// /sys/kernel/mm/hugepages, e.g. 2097152) to `limit` bytes (a multiple of the page
/// size). Replaces an earlier limit for the same page size.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_hugetlb_limit(builder: *mut cocoon_builder, page_size: u64, limit: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_cgroup(builder, |mut c| {
            c.hugetlb.retain(|(p, _)| p.0 != page_size);
            Ok(c.hugetlb_limit(Bytes(page_size), Bytes(limit)))
        })
    }
}

fn device_number(n: u32) -> DeviceNumber {
    if n == COCOON_DEVICE_ANY {
        DeviceNumber::Any
    } else {
        DeviceNumber::Num(n)
    }
}

const DEVICE_ACCESS: u32 = COCOON_DEVICE_READ | COCOON_DEVICE_WRITE | COCOON_DEVICE_MKNOD;

/// Appends a device access rule (cgroup v1 `devices` controller semantics; on cgroup v2
/// compiled into an eBPF device program). `allow` non-zero allows, 0 denies; `kind` is
/// `COCOON_DEVICE_ALL/CHAR/BLOCK`; `major`/`minor` a number or `COCOON_DEVICE_ANY`;
/// `access` an OR of `COCOON_DEVICE_READ/WRITE/MKNOD` (not 0). Rules apply in order on top
/// of the default device policy every container of a root caller gets (Docker's: null,
/// zero, full, random, urandom, tty, console, ptmx, pts), so allowing one more device is
/// one rule; allow ALL turns the policy off.
/// Unknown kind or access bits -> `COCOON_E_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_add_device_rule(
    builder: *mut cocoon_builder,
    allow: c_int,
    kind: c_int,
    major: u32,
    minor: u32,
    access: u32,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_cgroup(builder, |c| {
            let kind = match kind {
                COCOON_DEVICE_ALL => DeviceKind::All,
                COCOON_DEVICE_CHAR => DeviceKind::Char,
                COCOON_DEVICE_BLOCK => DeviceKind::Block,
                _ => return Err(Fail::arg(format!("unknown device kind {kind}"))),
            };
            if access & !DEVICE_ACCESS != 0 {
                return Err(Fail::arg(format!("device access {access:#x} holds unknown bits")));
            }
            let mut acc = DeviceAccess::empty();
            for (bit, a) in [
                (COCOON_DEVICE_READ, DeviceAccess::READ),
                (COCOON_DEVICE_WRITE, DeviceAccess::WRITE),
                (COCOON_DEVICE_MKNOD, DeviceAccess::MKNOD),
            ] {
                if access & bit != 0 {
                    acc |= a;
                }
            }
            let (major, minor) = (device_number(major), device_number(minor));
            let rule = if allow != 0 {
                DeviceRule::allow(kind, major, minor, acc)
            } else {
                DeviceRule::deny(kind, major, minor, acc)
            };
            Ok(c.device_rule(rule))
        })
    }
}


// ---------------------------------------------------------------------------------------
// More mounts: procfs, and bind mounts whose source is relabelled for SELinux.
// ---------------------------------------------------------------------------------------

/// `cocoon_builder_add_bind_relabel`: relabel the source for every container (`z`: the
/// container's file type at level `s0`).
pub const COCOON_RELABEL_SHARED: c_int = 0;
/// `cocoon_builder_add_bind_relabel`: relabel the source for this container only (`Z`:
/// the container's file label at its own MCS level).
pub const COCOON_RELABEL_PRIVATE: c_int = 1;

const PROC_FLAGS: u32 = COCOON_MOUNT_READONLY;

/// Adds a procfs of the container's PID namespace at `target` (absolute, no ".."),
/// always nosuid, nodev and noexec; `flags` may hold `COCOON_MOUNT_READONLY` (other
/// bits -> `COCOON_E_INVALID_ARGUMENT`). Only needed with the standard mounts off
/// (`cocoon_builder_set_standard_mounts(b, 0)`), which already mount /proc.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_add_proc(builder: *mut cocoon_builder, target: *const c_char, flags: u32) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            let target = cstr_arg(target, "target")?;
            if flags & !PROC_FLAGS != 0 {
                return Err(Fail::arg(format!("proc mount flags {flags:#x} hold unknown bits")));
            }
            let m = Mount::proc(path(target)).read_only(flags & COCOON_MOUNT_READONLY != 0);
            m.validate()?;
            b.mounts.push(m);
            Ok(())
        })
    }
}

/// As `cocoon_builder_add_bind`, and the source is relabelled for the container's
/// SELinux label before it starts (recursively, skipping files already right):
/// `sharing` is `COCOON_RELABEL_SHARED` (`z`) or `COCOON_RELABEL_PRIVATE` (`Z`; unknown
/// -> `COCOON_E_INVALID_ARGUMENT`). System directories (`/`, `/usr`, `/etc`, `/home`,
/// anything below `/usr` or `/etc`, ... or a symlink to one) are refused with
/// `COCOON_E_SELINUX`: here when the source already exists, otherwise at spawn. The
/// container needs SELinux settings (`cocoon_builder_enable_selinux` or a
/// `cocoon_builder_set_selinux_*` call), or spawn fails with `COCOON_E_INVALID_CONFIG`.
/// On a host without SELinux nothing is relabelled, but system directories are still
/// refused.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_add_bind_relabel(
    builder: *mut cocoon_builder,
    source: *const c_char,
    target: *const c_char,
    flags: u32,
    sharing: c_int,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            let source = path(cstr_arg(source, "source")?);
            let target = cstr_arg(target, "target")?;
            if flags & !BIND_FLAGS != 0 {
                return Err(Fail::arg(format!("bind mount flags {flags:#x} hold unknown bits")));
            }
            let sharing = match sharing {
                COCOON_RELABEL_SHARED => Sharing::Shared,
                COCOON_RELABEL_PRIVATE => Sharing::Private,
                _ => return Err(Fail::arg(format!("unknown relabel sharing {sharing}"))),
            };
            let m = apply_flags(Mount::bind(source.clone(), path(target)), flags)
                .recursive(flags & COCOON_MOUNT_NONRECURSIVE == 0)
                .selinux_relabel(sharing);
            m.validate()?;
            // Refuse system directories now; a source that does not exist yet (or cannot
            // be resolved) is checked again at spawn, where it must exist.
            if let Err(e @ SelinuxError::RelabelRefused { .. }) = crate::selinux::label::check_relabel_path(&source) {
                return Err(crate::Error::from(e).into());
            }
            b.mounts.push(m);
            Ok(())
        })
    }
}

// ---------------------------------------------------------------------------------------
// Joining existing namespaces, passing file descriptors.
// ---------------------------------------------------------------------------------------

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
            *b = b.clone().join_namespace(flag, p);
            Ok(())
        })
    }
}

/// Forgets every namespace to join (the namespace flags are left as they are: add the
/// flags back with `cocoon_builder_set_namespaces` to create those namespaces new).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_clear_namespace_joins(builder: *mut cocoon_builder) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            b.joins.clear();
            Ok(())
        })
    }
}

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
    unsafe {
        with_builder(builder, |b| {
            if fd < 0 {
                return Err(Fail::arg(format!("fd {fd} is negative")));
            }
            // SAFETY: fcntl(F_DUPFD_CLOEXEC) only reads the descriptor number.
            let d = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3);
            if d < 0 {
                return Err(crate::Error::Os {
                    op: "dup",
                    detail: format!("passed fd {fd}"),
                    source: std::io::Error::last_os_error(),
                }
                .into());
            }
            // SAFETY: `d` is a fresh descriptor we own (closed again if the check fails).
            let owned = Arc::new(OwnedFd::from_raw_fd(d));
            let mut p = b.process.clone();
            p.fds.retain(|(_, t)| *t != target);
            p.fds.push((owned, target));
            crate::plan::validate_process(&p)?;
            b.process.fds = p.fds;
            Ok(())
        })
    }
}

/// Forgets every passed descriptor (closing the builder's duplicates).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_clear_passed_fds(builder: *mut cocoon_builder) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            b.process.fds.clear();
            Ok(())
        })
    }
}

// ---------------------------------------------------------------------------------------
// SELinux labels. The first call of any of these gives the container SELinux settings
// (`cocoon_builder_enable_selinux` gives the defaults: the policy's lxc_contexts types,
// or container_t / container_file_t, at a fresh unique MCS level). Each setter applies
// its value to a copy of the settings and checks the copy's syntax
// (`SelinuxConfig::validate`); on failure the builder is unchanged and the code is
// `COCOON_E_SELINUX` (the message names the value). Checks against the loaded policy
// happen at spawn. On a host without SELinux (`cocoon_has_feature("selinux")` is 0) a
// labelled container runs unlabelled, unless `cocoon_builder_set_selinux_require` asks
// for an error; `cocoon_container_selinux_label` tells which happened.
// ---------------------------------------------------------------------------------------

/// Applies `f` to a copy of the builder's SELinux settings (the defaults if there are none
/// yet), checks the copy's syntax, and stores it only if that succeeds.
///
/// # Safety
/// As [`builder_mut`].
unsafe fn with_selinux(
    b: *mut cocoon_builder,
    f: impl FnOnce(SelinuxConfig) -> Result<SelinuxConfig, Fail>,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(b, |b| {
            let cfg = f(b.selinux.clone().unwrap_or_default())?;
            cfg.validate().map_err(crate::Error::from)?;
            b.selinux = Some(cfg);
            Ok(())
        })
    }
}

/// A UTF-8 SELinux name or context argument.
///
/// # Safety
/// As [`cstr_arg`].
unsafe fn selinux_text<'a>(p: *const c_char, what: &str) -> Result<&'a str, Fail> {
    // SAFETY: forwarded contract.
    utf8_arg(unsafe { cstr_arg(p, what) }?, what)
}

fn selinux_level(text: &str) -> Result<Level, Fail> {
    text.parse::<Level>().map_err(|e| crate::Error::from(e).into())
}

/// Gives the container SELinux settings with the defaults (see above). Calling it again
/// keeps the settings already made.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_enable_selinux(builder: *mut cocoon_builder) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_selinux(builder, Ok) }
}

/// Removes every SELinux setting: the container runs with the caller's label rules
/// (no exec label, no `context=` mounts). Relabelled bind mounts then fail at spawn.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_clear_selinux(builder: *mut cocoon_builder) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            b.selinux = None;
            Ok(())
        })
    }
}

/// The SELinux user of the process and its files (UTF-8 name such as "system_u";
/// default from the policy).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_selinux_user(builder: *mut cocoon_builder, user: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_selinux(builder, |c| Ok(c.user(selinux_text(user, "user")?))) }
}

/// The role of the process (UTF-8 name; default "system_r"; files keep "object_r").
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_selinux_role(builder: *mut cocoon_builder, role: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_selinux(builder, |c| Ok(c.role(selinux_text(role, "role")?))) }
}

/// The process type (UTF-8 name; default from lxc_contexts, or "container_t").
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_selinux_process_type(builder: *mut cocoon_builder, ty: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_selinux(builder, |c| Ok(c.process_type(selinux_text(ty, "type")?))) }
}

/// The file type of the container's mounts and relabelled content (UTF-8 name; default
/// from lxc_contexts, or "container_file_t").
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_selinux_file_type(builder: *mut cocoon_builder, ty: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_selinux(builder, |c| Ok(c.file_type(selinux_text(ty, "type")?))) }
}

/// Runs at exactly this level, e.g. "s0:c1,c2", reserved for this container alone (spawn
/// fails with `COCOON_E_SELINUX` while a live container holds it). A malformed level, or
/// one set after `cocoon_builder_set_selinux_shared_level` (they exclude each other) ->
/// `COCOON_E_SELINUX`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_selinux_level(builder: *mut cocoon_builder, level: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_selinux(builder, |c| Ok(c.level(selinux_level(selinux_text(level, "level")?)?))) }
}

/// Runs at this level, shared with the other containers that ask for it (a pod); it
/// stays reserved until the last of them goes. Excludes `cocoon_builder_set_selinux_level`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_selinux_shared_level(builder: *mut cocoon_builder, level: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_selinux(builder, |c| Ok(c.shared_level(selinux_level(selinux_text(level, "level")?)?))) }
}

/// The full label of the container's tmpfs/devpts/overlay mounts, e.g.
/// "system_u:object_r:container_file_t:s0:c1,c2" (default: the file label at the
/// container's level). A malformed context -> `COCOON_E_SELINUX`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_selinux_mount_label(builder: *mut cocoon_builder, label: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_selinux(builder, |c| Ok(c.mount_label(selinux_text(label, "label")?))) }
}

/// Whether SELinux must be enabled (non-zero = yes; default no). With yes, spawning on a
/// host without SELinux fails with `COCOON_E_SELINUX` instead of running unlabelled.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_selinux_require(builder: *mut cocoon_builder, yes: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_selinux(builder, |c| Ok(c.require(yes != 0))) }
}

/// The categories fresh MCS pairs are drawn from: `c<first>`..=`c<last>` (first < last
/// <= 1023, else `COCOON_E_SELINUX`; default 0..=1023).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_selinux_mcs_range(builder: *mut cocoon_builder, first: u32, last: u32) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_selinux(builder, |c| {
            let bad = || {
                Fail::from(crate::Error::from(SelinuxError::InvalidLevel {
                    level: format!("c{first}.c{last}"),
                    reason: "an MCS range needs two categories cFIRST < cLAST <= c1023".into(),
                }))
            };
            let (f, l) = (u16::try_from(first).map_err(|_| bad())?, u16::try_from(last).map_err(|_| bad())?);
            Ok(c.mcs_range(McsRange::new(f, l).map_err(crate::Error::from)?))
        })
    }
}

/// Where MCS reservations are recorded (absolute path; default "/run/cocoon/mcs"). Every
/// process that must not hand out the same level has to use the same directory.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_selinux_state_dir(builder: *mut cocoon_builder, dir: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_selinux(builder, |c| Ok(c.state_dir(absolute("SELinux state directory", cstr_arg(dir, "dir")?)?))) }
}

/// The policy root holding contexts/lxc_contexts (absolute path; default from
/// /etc/selinux/config: `/etc/selinux/<SELINUXTYPE>`).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_selinux_policy_root(builder: *mut cocoon_builder, dir: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_selinux(builder, |c| Ok(c.policy_root(absolute("SELinux policy root", cstr_arg(dir, "dir")?)?))) }
}
