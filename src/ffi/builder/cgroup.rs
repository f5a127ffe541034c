//! Cgroup limits. The first call of any of these gives the container its own cgroup
//! (`cocoon_builder_enable_cgroup` gives one without limits). Each setter applies its value
//! to a copy of the cgroup settings and checks the whole copy against the host
//! (`CgroupConfig::validate`: ranges, online CPUs and memory nodes, block devices, huge
//! page sizes, what the host's cgroup version can express); on failure the builder is
//! unchanged and the code is `COCOON_E_CGROUP` (the message names the setting and value).

use std::ffi::{c_char, c_int};
use std::time::Duration;

use super::{cocoon_builder, path, with_builder};
use crate::cgroup::{
    BlockDevice, Bytes, CgroupConfig, CgroupError, CpuShares, CpuWeight, DeviceAccess, DeviceKind, DeviceNumber,
    DeviceRule, IdSet, IoRate,
};
use crate::ffi::{cstr_arg, utf8_arg, Fail};

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
/// As [`super::builder_mut`].
unsafe fn with_cgroup(
    b: *mut cocoon_builder,
    f: impl FnOnce(CgroupConfig) -> Result<CgroupConfig, Fail>,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(b, |b| {
            let cfg = f(b.get_cgroup().cloned().unwrap_or_default())?;
            cfg.validate().map_err(crate::Error::from)?;
            b.set_cgroup(cfg);
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
    unsafe { with_builder(builder, |b| { b.clear_cgroup(); }) }
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
        with_cgroup(builder, |c| Ok(c.clear_cpu_shares().cpu_weight(CpuWeight(weight))))
    }
}

/// Relative CPU share as cgroup v1 shares (2..=262144, default 1024; converted to a v2
/// weight on v2). Replaces a weight set with `cocoon_builder_set_cpu_weight`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_cpu_shares(builder: *mut cocoon_builder, shares: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_cgroup(builder, |c| Ok(c.clear_cpu_weight().cpu_shares(CpuShares(shares))))
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
        with_cgroup(builder, |c| Ok(c.clear_hugetlb_limit(Bytes(page_size)).hugetlb_limit(Bytes(page_size), Bytes(limit))))
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
