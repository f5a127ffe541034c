//! `cocoon_container`: spawning a container, waiting for, signalling and exec'ing into it,
//! its cgroup operations and stats, and its teardown (free, delete, detach).
//! The helpers shared with `cocoon_exec_process` (exec_process.rs) live here too.

use std::ffi::{c_char, c_int, CString};
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use super::builder::{builder_ref, cocoon_builder, COCOON_STDERR, COCOON_STDIN, COCOON_STDOUT};
use super::process::cocoon_process;
use super::{guard, nonnull, put, Fail, COCOON_E_NOT_AVAILABLE};
use crate::container::{Container, ExitStatus};

// Still reachable as `cocoon::ffi::container::*`, where they were before the split.
pub use super::exec_process::*;
pub use super::sweep::*;

/// A running container. Opaque; created by `cocoon_container_spawn`, released by exactly
/// one of `cocoon_container_free` (kill + reap + clean up), `cocoon_container_delete`
/// (the same, reporting cleanup errors) or `cocoon_container_detach` (leave it running).
/// Not thread-safe: do not use one handle from two threads at once.
pub struct cocoon_container {
    pub(super) inner: Container,
    id: CString,
    cgroup_path: Option<CString>,
    selinux_label: Option<CString>,
    /// `address/prefix` and the host veth of a bridge network.
    network: Option<(CString, CString)>,
    /// The writable layer's directory of a container run from an image.
    // Read only by the image calls (ffi/image.rs): without `image`, always None.
    #[cfg_attr(not(feature = "image"), allow(dead_code))]
    pub(super) writable: Option<CString>,
}

/// # Safety
/// `c` is NULL or a live container handle.
pub(super) unsafe fn container_mut<'a>(c: *mut cocoon_container) -> Result<&'a mut cocoon_container, Fail> {
    // SAFETY: per the caller's contract.
    unsafe { c.as_mut() }.ok_or_else(|| Fail::null("container"))
}

pub(super) fn check_signal(signal: c_int) -> Result<(), Fail> {
    if !(0..=libc::SIGRTMAX()).contains(&signal) {
        return Err(Fail::arg(format!("signal {signal} is not 0..={}", libc::SIGRTMAX())));
    }
    Ok(())
}

/// Writes a status to the out-parameters (all non-NULL).
///
/// # Safety
/// Both pointers are non-NULL and writable.
pub(super) unsafe fn put_status(s: ExitStatus, exit_code: *mut c_int, signal: *mut c_int) {
    let (code, sig) = match s {
        ExitStatus::Exited(c) => (c, 0),
        ExitStatus::Signaled(s) => (-1, s),
    };
    // SAFETY: per the caller's contract.
    unsafe {
        put(exit_code, code);
        put(signal, sig);
    }
}

/// Writes a try_wait result: `*exited` 1 and the status, or 0, -1, 0 while running.
///
/// # Safety
/// The three pointers are non-NULL and writable.
/// The try-wait calls' common part: checks the three out-pointers, waits with `wait`,
/// writes what [`put_try_wait`] writes.
///
/// # Safety
/// Each pointer is NULL (an error) or writable.
pub(super) unsafe fn try_wait_into(
    exited: *mut c_int,
    exit_code: *mut c_int,
    signal: *mut c_int,
    wait: impl FnOnce() -> crate::Result<Option<ExitStatus>>,
) -> Result<(), Fail> {
    nonnull(exited, "exited")?;
    nonnull(exit_code, "exit_code")?;
    nonnull(signal, "signal")?;
    let s = wait()?;
    // SAFETY: all three checked non-NULL; writable per the caller's contract.
    unsafe { put_try_wait(s, exited, exit_code, signal) };
    Ok(())
}

pub(super) unsafe fn put_try_wait(s: Option<ExitStatus>, exited: *mut c_int, exit_code: *mut c_int, signal: *mut c_int) {
    // SAFETY: per the caller's contract.
    unsafe {
        match s {
            Some(s) => {
                put(exited, 1);
                put_status(s, exit_code, signal);
            }
            None => {
                put(exited, 0);
                put(exit_code, -1);
                put(signal, 0);
            }
        }
    }
}

pub(super) fn check_stream(stream: c_int) -> Result<(), Fail> {
    match stream {
        COCOON_STDIN | COCOON_STDOUT | COCOON_STDERR => Ok(()),
        _ => Err(Fail::arg(format!("unknown stream {stream}"))),
    }
}

pub(super) fn take_fd(end: Option<OwnedFd>, name: &str) -> Result<c_int, Fail> {
    end.map(|fd| fd.into_raw_fd()).ok_or_else(|| Fail {
        code: COCOON_E_NOT_AVAILABLE,
        errno: 0,
        stage: 0,
        message: format!("{name} is not a pipe or its end was already taken"),
    })
}

/// Creates and starts a container from `builder` (which is not consumed and may be reused
/// or freed right after). On success `*out` receives the handle. On failure nothing is
/// left behind: no process, no mount, no cgroup; the last error tells why, with the
/// setup stage and errno for failures inside the new container.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_spawn(builder: *const cocoon_builder, out: *mut *mut cocoon_container) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live builder.
        let b = unsafe { builder_ref(builder) }?;
        nonnull(out, "out")?;
        let h = handle(b.inner.spawn()?);
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { put(out, h) };
        Ok(())
    })
}

/// A new C handle around `inner`, with the strings it lends out.
pub(super) fn handle(inner: crate::Container) -> *mut cocoon_container {
    let id = CString::new(inner.id()).unwrap_or_default();
    let cgroup_path = inner.cgroup_path().and_then(|p| CString::new(p.as_os_str().as_bytes()).ok());
    let selinux_label = inner.selinux_label().and_then(|l| CString::new(l).ok());
    let network = inner.network().and_then(|n| {
        Some((CString::new(format!("{}/{}", n.address, n.prefix)).ok()?, CString::new(n.host_interface.as_str()).ok()?))
    });
    let writable = inner.writable_layer().and_then(|p| CString::new(p.as_os_str().as_bytes()).ok());
    Box::into_raw(Box::new(cocoon_container { inner, id, cgroup_path, selinux_label, network, writable }))
}

/// The container id (borrowed: valid until the handle is released; never NULL for a
/// valid handle). NULL if `container` is NULL.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_id(container: *const cocoon_container) -> *const c_char {
    super::guard_value(std::ptr::null(), || {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container.as_ref() }.ok_or_else(|| Fail::null("container"))?;
        Ok(c.id.as_ptr())
    })
}

/// The host pid of the container's first process.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_pid(container: *const cocoon_container, pid: *mut c_int) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container.as_ref() }.ok_or_else(|| Fail::null("container"))?;
        nonnull(pid, "pid")?;
        // SAFETY: non-NULL, writable.
        unsafe { put(pid, c.inner.pid()) };
        Ok(())
    })
}

/// Waits for the container's first process to end. On success `*exit_code` is its exit
/// code and `*signal` 0, or `*exit_code` is -1 and `*signal` the signal that killed it.
/// Waiting again returns the same status.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_wait(
    container: *mut cocoon_container,
    exit_code: *mut c_int,
    signal: *mut c_int,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container_mut(container) }?;
        nonnull(exit_code, "exit_code")?;
        nonnull(signal, "signal")?;
        let s = c.inner.wait()?;
        // SAFETY: both checked non-NULL.
        unsafe { put_status(s, exit_code, signal) };
        Ok(())
    })
}

/// Checks without blocking whether the first process has ended: on success `*exited` is
/// 1 (and `*exit_code`/`*signal` as for `cocoon_container_wait`) or 0 (still running;
/// `*exit_code` -1, `*signal` 0).
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_try_wait(
    container: *mut cocoon_container,
    exited: *mut c_int,
    exit_code: *mut c_int,
    signal: *mut c_int,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container_mut(container) }?;
        // SAFETY: the out-pointers as the caller passed them.
        unsafe { try_wait_into(exited, exit_code, signal, || c.inner.try_wait()) }
    })
}

/// `*fd` receives an fd owned by the handle that polls readable (`POLLIN`) once the
/// container's first process has exited: use it to wait in an event loop (or an
/// interruptible `poll`), then `cocoon_container_wait` returns at once. Only poll it: do
/// not read or close it, and signal with `cocoon_container_kill`, not through the fd.
/// Valid until the handle is released.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_wait_fd(container: *const cocoon_container, fd: *mut c_int) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container.as_ref() }.ok_or_else(|| Fail::null("container"))?;
        nonnull(fd, "fd")?;
        // SAFETY: non-NULL, writable.
        unsafe { put(fd, c.inner.wait_fd().as_raw_fd()) };
        Ok(())
    })
}

/// Sends `signal` (0..=SIGRTMAX) to the container's first process. A PID 1 without a
/// handler ignores everything but SIGKILL (see `cocoon_builder_set_init`).
/// `COCOON_E_ALREADY_EXITED` once it has ended.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_kill(container: *mut cocoon_container, signal: c_int) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container_mut(container) }?;
        check_signal(signal)?;
        c.inner.kill(signal).map_err(Fail::from)
    })
}

/// Takes the caller's end of a piped standard stream (`COCOON_STDIN/STDOUT/STDERR`) of
/// the container's program: `*fd` is then the caller's to close. `COCOON_E_NOT_AVAILABLE`
/// if the stream was not `COCOON_STDIO_PIPE` or was already taken.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_take_stdio(container: *mut cocoon_container, stream: c_int, fd: *mut c_int) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container_mut(container) }?;
        nonnull(fd, "fd")?;
        check_stream(stream)?;
        let raw = take_fd(c.inner.take_stdio_fd(stream), "the stream")?;
        // SAFETY: checked non-NULL.
        unsafe { put(fd, raw) };
        Ok(())
    })
}

/// Runs another process in the running container: it joins every namespace the
/// container has (and its cgroup). Only the process settings of `process` are used
/// (program, args, env, cwd, user, capabilities, no_new_privs, rlimits, umask,
/// oom_score_adj, stdio); `process` is not consumed. On success `*out` receives the
/// handle. `COCOON_E_ALREADY_EXITED` if the container's first process has been reaped.
/// `cocoon_container_exec_process` does the same with a `cocoon_process`, which holds
/// only these settings.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_exec(
    container: *mut cocoon_container,
    process: *const cocoon_builder,
    out: *mut *mut cocoon_exec_process,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or live handles.
        let c = unsafe { container_mut(container) }?;
        // SAFETY: as above.
        let b = unsafe { builder_ref(process) }?;
        // SAFETY: forwarded contract.
        unsafe { exec(c, b.inner.get_process(), out) }
    })
}

/// Runs the process `process` in the running container, as `cocoon_container_exec` does
/// with a builder's process settings. `process` is not consumed: it can be exec'd again.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_exec_process(
    container: *mut cocoon_container,
    process: *const cocoon_process,
    out: *mut *mut cocoon_exec_process,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or live handles.
        let c = unsafe { container_mut(container) }?;
        // SAFETY: as above.
        let p = unsafe { process.as_ref() }.ok_or_else(|| Fail::null("process"))?;
        // SAFETY: forwarded contract.
        unsafe { exec(c, &p.inner, out) }
    })
}

/// The exec shared by both functions above.
///
/// # Safety
/// `out` is NULL or writable.
unsafe fn exec(c: &mut cocoon_container, p: &crate::process::Process, out: *mut *mut cocoon_exec_process) -> Result<(), Fail> {
    nonnull(out, "out")?;
    // Checked before the container's state, as before exec had its own check.
    p.validate()?;
    let inner = c.inner.exec(p)?;
    let h = Box::into_raw(Box::new(cocoon_exec_process { inner }));
    // SAFETY: checked non-NULL; writable per the contract.
    unsafe { put(out, h) };
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Cgroup operations (the container needs a cgroup: see `cocoon_builder_enable_cgroup` and
// the cgroup limit setters; without one they fail with `COCOON_E_INVALID_CONFIG`).
// ---------------------------------------------------------------------------------------

/// `cocoon_stats.valid`: the `cpu_*` fields are filled.
pub const COCOON_STATS_CPU: u32 = 1 << 0;
/// `cocoon_stats.valid`: `memory_current`, `memory_oom_events`, `memory_oom_kills` are
/// filled.
pub const COCOON_STATS_MEMORY: u32 = 1 << 1;
/// `cocoon_stats.valid`: `memory_peak` is filled (v2 kernels before 5.19 have no peak).
pub const COCOON_STATS_MEMORY_PEAK: u32 = 1 << 2;
/// `cocoon_stats.valid`: `pids_current` is filled.
pub const COCOON_STATS_PIDS: u32 = 1 << 3;
/// `cocoon_stats.valid`: the `io_*` fields are filled.
pub const COCOON_STATS_IO: u32 = 1 << 4;
/// `cocoon_stats.valid`: `memory_limit` is filled (unset: no limit, or no memory group).
pub const COCOON_STATS_MEMORY_LIMIT: u32 = 1 << 5;

/// Resource usage of a container's cgroup, filled by `cocoon_container_stats`.
///
/// The struct grows at its end in later versions. Before the call set `size` to
/// `sizeof(cocoon_stats)` (the size the caller was compiled with); cocoon fills at most
/// that many bytes and sets `size` to how many it filled. A group of fields is meaningful
/// only when its `COCOON_STATS_*` bit is set in `valid` (a controller may be missing on
/// the host, e.g. no I/O accounting); fields of a group that is not valid are 0.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct cocoon_stats {
    /// In: `sizeof(cocoon_stats)` as the caller knows it. Out: the bytes cocoon filled.
    pub size: u32,
    /// Which groups of fields are filled: an OR of `COCOON_STATS_*`.
    pub valid: u32,
    /// CPU time used by all tasks of the container, in microseconds.
    pub cpu_usage_us: u64,
    /// CPU time in user mode, in microseconds.
    pub cpu_user_us: u64,
    /// CPU time in kernel mode, in microseconds.
    pub cpu_system_us: u64,
    /// Memory in use now, in bytes (v1 `memory.usage_in_bytes`, v2 `memory.current`).
    pub memory_current: u64,
    /// The highest memory use seen, in bytes (valid with `COCOON_STATS_MEMORY_PEAK`).
    pub memory_peak: u64,
    /// How often the memory limit was hit: v2 `memory.events` oom; v1 `memory.failcnt`
    /// (which counts every charge that hit the limit, reclaimed or not).
    pub memory_oom_events: u64,
    /// Processes of the container killed by the OOM killer.
    pub memory_oom_kills: u64,
    /// Tasks (processes and threads) in the container now.
    pub pids_current: u64,
    /// Bytes read from block devices.
    pub io_read_bytes: u64,
    /// Bytes written to block devices.
    pub io_write_bytes: u64,
    /// Block device read operations.
    pub io_read_ops: u64,
    /// Block device write operations.
    pub io_write_ops: u64,
    /// The memory limit in bytes (valid with `COCOON_STATS_MEMORY_LIMIT`; added after the
    /// first version: a caller whose `size` is `COCOON_STATS_SIZE_V1` does not get it).
    pub memory_limit: u64,
}

/// The smallest `cocoon_stats.size` accepted: the size of the first version of the struct.
pub const COCOON_STATS_SIZE_V1: u32 = 104;

/// The size of `cocoon_stats` with `memory_limit`.
pub const COCOON_STATS_SIZE_V2: u32 = 112;

const _: () = assert!(std::mem::size_of::<cocoon_stats>() == COCOON_STATS_SIZE_V2 as usize);

fn to_c_stats(s: &crate::cgroup::CgroupStats) -> cocoon_stats {
    let us = |d: std::time::Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    let mut out = cocoon_stats::default();
    if let Some(c) = &s.cpu {
        out.valid |= COCOON_STATS_CPU;
        out.cpu_usage_us = us(c.usage);
        out.cpu_user_us = us(c.user);
        out.cpu_system_us = us(c.system);
    }
    if let Some(m) = &s.memory {
        out.valid |= COCOON_STATS_MEMORY;
        out.memory_current = m.current;
        out.memory_oom_events = m.oom_events;
        out.memory_oom_kills = m.oom_kills;
        if let Some(p) = m.peak {
            out.valid |= COCOON_STATS_MEMORY_PEAK;
            out.memory_peak = p;
        }
        if let Some(l) = m.limit {
            out.valid |= COCOON_STATS_MEMORY_LIMIT;
            out.memory_limit = l;
        }
    }
    if let Some(p) = &s.pids {
        out.valid |= COCOON_STATS_PIDS;
        out.pids_current = p.current;
    }
    if let Some(io) = &s.io {
        out.valid |= COCOON_STATS_IO;
        out.io_read_bytes = io.read_bytes;
        out.io_write_bytes = io.write_bytes;
        out.io_read_ops = io.read_ops;
        out.io_write_ops = io.write_ops;
    }
    out
}

/// Freezes every process of the container (cgroup freezer; returns once they are
/// frozen). Signals, even SIGKILL, take effect only after `cocoon_container_resume`;
/// freeing or deleting a paused container still kills and removes it. Needs a cgroup.
/// `COCOON_E_CGROUP` (with errno) if the freezer fails or times out.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_pause(container: *mut cocoon_container) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container_mut(container) }?;
        c.inner.pause().map_err(Fail::from)
    })
}

/// Thaws a paused container (a no-op on one that is not paused). Needs a cgroup.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_resume(container: *mut cocoon_container) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container_mut(container) }?;
        c.inner.resume().map_err(Fail::from)
    })
}

/// Reads the resource usage of the container's cgroup into `*out` (see `cocoon_stats`:
/// set `out->size = sizeof(cocoon_stats)` first; a size below `COCOON_STATS_SIZE_V1` ->
/// `COCOON_E_INVALID_ARGUMENT`). The counters cover every process that ever ran in the
/// container, also after the first process exited (until the handle is released).
/// Needs a cgroup. A failed read -> `COCOON_E_CGROUP` with errno, and `*out` untouched.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_stats(container: *const cocoon_container, out: *mut cocoon_stats) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container.as_ref() }.ok_or_else(|| Fail::null("container"))?;
        nonnull(out, "out")?;
        // SAFETY: `out` is non-NULL and points to a struct of at least the `size` field
        // (every version starts with it).
        let caller_size = unsafe { std::ptr::addr_of!((*out).size).read_unaligned() };
        if caller_size < COCOON_STATS_SIZE_V1 {
            return Err(Fail::arg(format!(
                "out->size is {caller_size}; set it to sizeof(cocoon_stats) (at least {COCOON_STATS_SIZE_V1})"
            )));
        }
        let mut s = to_c_stats(&c.inner.stats()?);
        let n = (caller_size as usize).min(std::mem::size_of::<cocoon_stats>());
        s.size = n as u32;
        // SAFETY: the caller's struct holds at least `caller_size` >= `n` writable bytes;
        // `s` is a local of `size_of::<cocoon_stats>()` >= `n` bytes; they do not overlap.
        unsafe { std::ptr::copy_nonoverlapping((&s as *const cocoon_stats).cast::<u8>(), out.cast::<u8>(), n) };
        Ok(())
    })
}

/// The container's cgroup path relative to the root of every cgroup hierarchy, i.e.
/// `<parent>/<id>` (default parent "cocoon"): its directories are
/// `/sys/fs/cgroup/<path>` on a cgroup v2 host and `/sys/fs/cgroup/<controller>/<path>`
/// on v1 (and hybrid) hosts. `*path` is borrowed: valid until the handle is released. A
/// container without a cgroup -> `COCOON_E_INVALID_CONFIG`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_cgroup_path(container: *const cocoon_container, path: *mut *const c_char) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container.as_ref() }.ok_or_else(|| Fail::null("container"))?;
        nonnull(path, "path")?;
        let p = c.cgroup_path.as_ref().ok_or_else(|| {
            Fail::from(crate::Error::InvalidConfig {
                what: "cgroup",
                reason: "this container has no cgroup (no cgroup setting was made on its builder)".into(),
            })
        })?;
        // SAFETY: checked non-NULL.
        unsafe { put(path, p.as_ptr()) };
        Ok(())
    })
}

/// The bridge network of the container: `*address` receives its `eth0` address with the
/// prefix (`"10.88.0.2/16"`), `*host_interface` the host end of its veth pair (either may
/// be NULL; both borrowed: valid until the handle is released). A container without a
/// bridge network -> `COCOON_E_NOT_AVAILABLE`, nothing written.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_network(
    container: *const cocoon_container,
    address: *mut *const c_char,
    host_interface: *mut *const c_char,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container.as_ref() }.ok_or_else(|| Fail::null("container"))?;
        let (a, h) = c.network.as_ref().ok_or_else(|| Fail {
            code: COCOON_E_NOT_AVAILABLE,
            errno: 0,
            stage: 0,
            message: "this container has no bridge network".into(),
        })?;
        if !address.is_null() {
            // SAFETY: non-NULL, writable per the contract.
            unsafe { put(address, a.as_ptr()) };
        }
        if !host_interface.is_null() {
            // SAFETY: as above.
            unsafe { put(host_interface, h.as_ptr()) };
        }
        Ok(())
    })
}

/// The SELinux label the container's processes run with, e.g.
/// "system_u:system_r:container_t:s0:c5,c900". `*label` is borrowed: valid until the
/// handle is released. A container running unlabelled -> `COCOON_E_NOT_AVAILABLE`
/// (`*label` untouched): its builder had no SELinux settings, or SELinux is disabled on
/// the host (`cocoon_has_feature("selinux")` is 0) and the settings did not require it.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_selinux_label(container: *const cocoon_container, label: *mut *const c_char) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container.as_ref() }.ok_or_else(|| Fail::null("container"))?;
        nonnull(label, "label")?;
        let l = c.selinux_label.as_ref().ok_or_else(|| Fail {
            code: COCOON_E_NOT_AVAILABLE,
            errno: 0,
            stage: 0,
            message: if crate::selinux::selinux_enabled() {
                "this container has no SELinux label (no SELinux setting was made on its builder)".into()
            } else {
                "this container has no SELinux label: SELinux is disabled on this host".into()
            },
        })?;
        // SAFETY: checked non-NULL.
        unsafe { put(label, l.as_ptr()) };
        Ok(())
    })
}

/// Thaws a possibly paused container before it is torn down: the teardown SIGKILLs and
/// then waits for the first process, and a frozen process cannot die until thawed (the
/// wait would never return). Errors are ignored: the teardown reports its own.
fn thaw_before_teardown(c: &cocoon_container) {
    if c.cgroup_path.is_some() {
        let _ = c.inner.resume();
    }
}

/// Kills every process of the container, reaps them, removes its cgroup and frees the
/// handle, which is invalid afterwards even when this fails (the failure, e.g. a cgroup
/// that could not be removed, is reported). NULL -> `COCOON_E_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_delete(container: *mut cocoon_container) -> c_int {
    guard(|| {
        nonnull(container, "container")?;
        // SAFETY: a non-NULL handle came from `cocoon_container_spawn`; released once.
        let c = unsafe { Box::from_raw(container) };
        thaw_before_teardown(&c);
        c.inner.delete().map_err(Fail::from)
    })
}

/// Frees the handle, leaving the container running (it also outlives the caller's
/// process): `*pid` receives the pid the caller must reap — cocoon's monitor of the
/// container, the caller's direct child, which exits with the status of the container's
/// first process (`waitid(P_PID, pid, &info, WEXITED | __WALL)`: it has no exit signal).
/// Read `cocoon_container_pid` before for the first process's own pid. On a NULL `pid`
/// the handle is NOT freed. Its cgroup (with the device policy) stays while it runs; the
/// next spawn of this process removes it once the container has ended.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_detach(container: *mut cocoon_container, pid: *mut c_int) -> c_int {
    guard(|| {
        nonnull(container, "container")?;
        nonnull(pid, "pid")?;
        // SAFETY: a non-NULL handle came from `cocoon_container_spawn`; released once.
        let c = unsafe { Box::from_raw(container) };
        let p = c.inner.detach();
        // SAFETY: checked non-NULL.
        unsafe { put(pid, p) };
        Ok(())
    })
}

/// Kills every process of the container, reaps them, cleans up and frees the handle.
/// NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_free(container: *mut cocoon_container) {
    guard(|| {
        if !container.is_null() {
            // SAFETY: a non-NULL handle came from `cocoon_container_spawn`; released once.
            let c = unsafe { Box::from_raw(container) };
            thaw_before_teardown(&c);
            drop(c);
        }
        Ok(())
    });
}
