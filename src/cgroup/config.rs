//! `CgroupConfig`: typed limits, checked against the host before anything is created.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use super::{BlockDevice, Bytes, CgroupError, CpuShares, CpuWeight, DeviceRule, IdSet, IoLimit, IoRate};

/// The default parent cgroup (relative to every hierarchy's root).
pub const DEFAULT_PARENT: &str = "cocoon";

/// Largest `pids.max` the kernel accepts (`PID_MAX_LIMIT`).
pub const PIDS_MAX_LIMIT: u64 = 4 * 1024 * 1024;

/// Limits for a container's cgroup, built with chained setters.
///
/// ```
/// use std::time::Duration;
/// use cocoon::cgroup::{Bytes, CgroupConfig, CpuWeight};
/// let cfg = CgroupConfig::new()
///     .memory_max(Bytes::mib(256))
///     .pids_max(64)
///     .cpu_weight(CpuWeight(200))
///     .cpu_quota(Duration::from_millis(50), Duration::from_millis(100));
/// # let _ = cfg;
/// ```
///
/// Values are checked by [`CgroupConfig::validate`] (and again when the cgroup is created):
/// zero, negative-looking or overflowing values, CPUs or nodes the host does not have,
/// missing devices, unknown huge page sizes and values the host's cgroup version cannot
/// express all give a typed [`CgroupError`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CgroupConfig {
    pub(crate) parent: Option<PathBuf>,
    /// The cgroup's own directory name (default: the container id).
    pub(crate) name: Option<String>,
    pub(crate) cpu_shares: Option<CpuShares>,
    pub(crate) cpu_weight: Option<CpuWeight>,
    pub(crate) cpu_quota: Option<(Duration, Duration)>,
    pub(crate) cpu_burst: Option<Duration>,
    pub(crate) cpus: Option<IdSet>,
    pub(crate) mems: Option<IdSet>,
    pub(crate) memory_max: Option<Bytes>,
    pub(crate) memory_high: Option<Bytes>,
    pub(crate) memory_low: Option<Bytes>,
    pub(crate) swap_max: Option<Bytes>,
    pub(crate) oom_kill_disable: bool,
    pub(crate) pids_max: Option<u64>,
    pub(crate) io_weight: Option<u16>,
    pub(crate) io_limits: Vec<IoLimit>,
    pub(crate) hugetlb: Vec<(Bytes, Bytes)>,
    pub(crate) devices: Vec<DeviceRule>,
    /// Only the hierarchy that carries the device policy (a container without limits).
    pub(crate) policy_only: bool,
    /// A policy-only cgroup may be the machine's shared one (the container has a PID
    /// namespace, so it never needs a cgroup to kill all of it).
    pub(crate) policy_shared: bool,
}

impl CgroupConfig {
    /// No limits; the cgroup still gets a freezer (pause/resume, kill) and accounting.
    pub fn new() -> CgroupConfig {
        CgroupConfig::default()
    }

    /// The parent cgroup, relative to each hierarchy's root (default [`DEFAULT_PARENT`]).
    /// Missing directories are created and, once empty, removed again; directories cocoon
    /// did not create are never modified or removed.
    pub fn parent(mut self, path: impl Into<PathBuf>) -> Self {
        self.parent = Some(path.into());
        self
    }

    /// The cgroup's own directory name below the parent (default: the container's id), for
    /// callers that are told where the cgroup goes (an OCI `linux.cgroupsPath`). A plain
    /// name, checked as container ids are.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// Relative CPU share as v1 shares (converted to a weight on v2).
    pub fn cpu_shares(mut self, s: CpuShares) -> Self {
        self.cpu_shares = Some(s);
        self
    }
    /// Relative CPU share as a v2 weight (converted to shares on v1).
    pub fn cpu_weight(mut self, w: CpuWeight) -> Self {
        self.cpu_weight = Some(w);
        self
    }
    /// Removes a share set with [`Self::cpu_shares`].
    pub fn clear_cpu_shares(mut self) -> Self {
        self.cpu_shares = None;
        self
    }
    /// Removes a weight set with [`Self::cpu_weight`].
    pub fn clear_cpu_weight(mut self) -> Self {
        self.cpu_weight = None;
        self
    }
    /// At most `quota` of CPU time every `period` (period 1 ms to 1 s, quota at least 1 ms).
    pub fn cpu_quota(mut self, quota: Duration, period: Duration) -> Self {
        self.cpu_quota = Some((quota, period));
        self
    }
    /// Unused quota that may be carried over (at most the quota; needs [`Self::cpu_quota`]).
    pub fn cpu_burst(mut self, burst: Duration) -> Self {
        self.cpu_burst = Some(burst);
        self
    }
    /// The CPUs the container may run on (must be online).
    pub fn cpus(mut self, set: IdSet) -> Self {
        self.cpus = Some(set);
        self
    }
    /// The memory nodes the container may allocate from (must be online).
    pub fn mems(mut self, set: IdSet) -> Self {
        self.mems = Some(set);
        self
    }
    /// Hard memory limit (v1 `memory.limit_in_bytes`, v2 `memory.max`).
    pub fn memory_max(mut self, b: Bytes) -> Self {
        self.memory_max = Some(b);
        self
    }
    /// Throttling threshold (v2 `memory.high`; v1 cannot express it).
    pub fn memory_high(mut self, b: Bytes) -> Self {
        self.memory_high = Some(b);
        self
    }
    /// Memory reservation (v1 `memory.soft_limit_in_bytes`, v2 `memory.low`).
    pub fn memory_low(mut self, b: Bytes) -> Self {
        self.memory_low = Some(b);
        self
    }
    /// Swap limit (v2 `memory.swap.max`; v1 `memory.memsw.limit_in_bytes` = memory max +
    /// swap, so v1 needs [`Self::memory_max`] too).
    pub fn swap_max(mut self, b: Bytes) -> Self {
        self.swap_max = Some(b);
        self
    }
    /// Disables the OOM killer (v1 only: tasks pause at the limit instead of dying).
    pub fn oom_kill_disable(mut self, yes: bool) -> Self {
        self.oom_kill_disable = yes;
        self
    }
    /// At most `n` tasks (1 to [`PIDS_MAX_LIMIT`]).
    pub fn pids_max(mut self, n: u64) -> Self {
        self.pids_max = Some(n);
        self
    }
    /// Relative I/O weight: 1 to 10000 for v2 `io.weight`; 1 to 1000 where only BFQ's
    /// `blkio.bfq.weight`/`io.bfq.weight` exists.
    pub fn io_weight(mut self, w: u16) -> Self {
        self.io_weight = Some(w);
        self
    }
    /// Throttles `device` (a whole disk) to `value` per second of `rate`.
    pub fn io_limit(mut self, device: impl Into<BlockDevice>, rate: IoRate, value: u64) -> Self {
        self.io_limits.push(IoLimit { device: device.into(), rate, value });
        self
    }
    /// Caps huge pages of `page_size` (one of /sys/kernel/mm/hugepages) to `limit` bytes
    /// (a multiple of the page size).
    pub fn hugetlb_limit(mut self, page_size: Bytes, limit: Bytes) -> Self {
        self.hugetlb.push((page_size, limit));
        self
    }
    /// Removes the limits set for huge pages of `page_size`.
    pub fn clear_hugetlb_limit(mut self, page_size: Bytes) -> Self {
        self.hugetlb.retain(|(p, _)| *p != page_size);
        self
    }
    /// Adds a device rule (v1: written to `devices.allow`/`devices.deny`; v2: compiled into
    /// the cgroup's eBPF device program). For a container the rules come after the default
    /// device policy.
    pub fn device_rule(mut self, rule: DeviceRule) -> Self {
        self.devices.push(rule);
        self
    }

    /// This configuration with the container default device policy before its own rules.
    pub(crate) fn with_default_devices(mut self) -> Self {
        let mut rules = super::devices::default_rules();
        rules.append(&mut self.devices);
        self.devices = rules;
        self
    }

    /// The cheapest cgroup that carries the default device policy, for a container that
    /// asked for no limits: only the devices hierarchy (v1) or the unified directory (v2);
    /// with `shared` (the container has a PID namespace), the machine's shared policy
    /// directory where there is a unified hierarchy.
    pub(crate) fn device_policy_only(shared: bool) -> Self {
        CgroupConfig { policy_only: true, policy_shared: shared, ..CgroupConfig::default() }.with_default_devices()
    }

    /// The parent path (default [`DEFAULT_PARENT`]).
    pub fn get_parent(&self) -> &Path {
        self.parent.as_deref().unwrap_or(Path::new(DEFAULT_PARENT))
    }

    /// Checks every value against the host (online CPUs and nodes, devices, huge page
    /// sizes, what the host's cgroup versions can express) without creating anything.
    pub fn validate(&self) -> Result<(), CgroupError> {
        self.validate_on(super::layout::layout()?)
    }

    /// [`Self::validate`] against `layout` (the host's, or a test's).
    pub(crate) fn validate_on(&self, layout: &super::layout::Layout) -> Result<(), CgroupError> {
        self.resolve(layout).map(|_| ())
    }
}

/// Checks a parent path: relative, no `..` or `.`, every component a plain name.
pub(crate) fn validate_parent(p: &Path) -> Result<(), CgroupError> {
    let bad = |reason: &str| Err(CgroupError::invalid("cgroup", "parent", format!("{}: {reason}", p.display())));
    if p.as_os_str().is_empty() {
        return bad("empty (the host's root cgroup is not cocoon's)");
    }
    for c in p.components() {
        match c {
            Component::Normal(n) => {
                let Some(n) = n.to_str() else { return bad("not UTF-8") };
                validate_name(n).or_else(|_| bad("components may hold letters, digits, '_', '-', '.' and not start with '.'"))?;
            }
            _ => return bad("must be a relative path without '.' or '..'"),
        }
    }
    Ok(())
}

/// Checks a cgroup directory name (a container id).
pub(crate) fn validate_name(n: &str) -> Result<(), CgroupError> {
    let ok = !n.is_empty()
        // NAME_MAX: engines name cgroups `libpod-<64 hex digits>` and the like.
        && n.len() <= 255
        && !n.starts_with('.')
        && n.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        // Names of cgroupfs control files would collide with the directory.
        && !V1_FILE_PREFIXES.iter().any(|p| n.starts_with(p));
    if ok {
        Ok(())
    } else {
        Err(CgroupError::invalid(
            "cgroup",
            "name",
            format!("{n:?} must be 1 to 255 letters, digits, '_', '-', '.', not start with '.' or a controller prefix"),
        ))
    }
}

const V1_FILE_PREFIXES: &[&str] = &["cgroup.", "tasks", "notify_on_release", "release_agent"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clear_methods_undo_one_setting() {
        let c = CgroupConfig::new().cpu_shares(CpuShares(512)).clear_cpu_shares().cpu_weight(CpuWeight(100));
        assert_eq!((c.cpu_shares, c.cpu_weight), (None, Some(CpuWeight(100))));
        let c = c.clear_cpu_weight().cpu_shares(CpuShares(256));
        assert_eq!((c.cpu_shares, c.cpu_weight), (Some(CpuShares(256)), None));
        let two_m = Bytes::mib(2);
        let c = CgroupConfig::new()
            .hugetlb_limit(two_m, Bytes::mib(4))
            .hugetlb_limit(Bytes::gib(1), Bytes::gib(1))
            .clear_hugetlb_limit(two_m)
            .hugetlb_limit(two_m, Bytes::mib(8));
        assert_eq!(c.hugetlb, vec![(Bytes::gib(1), Bytes::gib(1)), (two_m, Bytes::mib(8))]);
    }

    #[test]
    fn parent_rules() {
        assert!(validate_parent(Path::new("cocoon")).is_ok());
        assert!(validate_parent(Path::new("cocoon/ci")).is_ok());
        for bad in ["", "/cocoon", "../x", "a/../b", "./a", ".hidden", "a//cgroup.procs", "tasks"] {
            assert!(validate_parent(Path::new(bad)).is_err(), "{bad:?} accepted");
        }
    }
}
