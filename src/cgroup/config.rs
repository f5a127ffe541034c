//! `CgroupConfig`: typed limits, checked against the host before anything is created.

use std::collections::BTreeSet;
use std::fmt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use super::devices::DevicePolicy;
use super::layout::Layout;
use super::{CgroupError, CgroupVersion};

/// The default parent cgroup (relative to every hierarchy's root).
pub const DEFAULT_PARENT: &str = "cocoon";

/// Largest `pids.max` the kernel accepts (`PID_MAX_LIMIT`).
pub const PIDS_MAX_LIMIT: u64 = 4 * 1024 * 1024;

/// Largest device major number (12 bits).
pub const DEVICE_MAJOR_MAX: u32 = (1 << 12) - 1;
/// Largest device minor number (20 bits).
pub const DEVICE_MINOR_MAX: u32 = (1 << 20) - 1;

/// A number of bytes.
///
/// The unit constructors saturate at `u64::MAX` on overflow; such a value is then refused by
/// [`CgroupConfig::validate`] as too large, never silently used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(pub u64);

impl Bytes {
    /// `n` bytes.
    pub const fn new(n: u64) -> Bytes {
        Bytes(n)
    }
    /// `n` KiB.
    pub const fn kib(n: u64) -> Bytes {
        Bytes(n.saturating_mul(1 << 10))
    }
    /// `n` MiB.
    pub const fn mib(n: u64) -> Bytes {
        Bytes(n.saturating_mul(1 << 20))
    }
    /// `n` GiB.
    pub const fn gib(n: u64) -> Bytes {
        Bytes(n.saturating_mul(1 << 30))
    }
    /// The number of bytes.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes", self.0)
    }
}

/// cgroup v1 `cpu.shares` (2 to 262144; 1024 is the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CpuShares(pub u64);

/// cgroup v2 `cpu.weight` (1 to 10000; 100 is the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CpuWeight(pub u64);

impl CpuShares {
    /// Smallest valid value.
    pub const MIN: u64 = 2;
    /// Largest valid value.
    pub const MAX: u64 = 262_144;

    /// The v2 weight with the same relative share (the formula runc and crun use:
    /// `1 + (shares - 2) * 9999 / 262142`). Values out of range are clamped first.
    pub fn to_weight(self) -> CpuWeight {
        let s = self.0.clamp(Self::MIN, Self::MAX);
        CpuWeight(1 + ((s - 2) * 9999) / 262_142)
    }
}

impl CpuWeight {
    /// Smallest valid value.
    pub const MIN: u64 = 1;
    /// Largest valid value.
    pub const MAX: u64 = 10_000;

    /// The v1 shares for this weight: the inverse of [`CpuShares::to_weight`], rounded up so
    /// that `w.to_shares().to_weight() == w` for every valid `w`. Out-of-range values are
    /// clamped first.
    pub fn to_shares(self) -> CpuShares {
        let w = self.0.clamp(Self::MIN, Self::MAX);
        CpuShares(2 + ((w - 1) * 262_142).div_ceil(9999))
    }
}

/// A set of CPU or memory-node numbers, written like the kernel's lists: `"0-3,8,10-11"`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct IdSet(BTreeSet<u32>);

impl IdSet {
    /// A set holding these ids.
    pub fn from_ids(ids: impl IntoIterator<Item = u32>) -> IdSet {
        IdSet(ids.into_iter().collect())
    }
    /// Whether the set holds `id`.
    pub fn contains(&self, id: u32) -> bool {
        self.0.contains(&id)
    }
    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The ids, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().copied()
    }
    /// Whether every id of `self` is in `other`.
    pub fn is_subset(&self, other: &IdSet) -> bool {
        self.0.is_subset(&other.0)
    }
}

/// Why an [`IdSet`] could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad id list {input:?}: {reason}")]
pub struct IdSetParseError {
    /// The text.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// The largest id accepted in a list (guards against `0-4294967295` eating memory).
const IDSET_MAX_ID: u32 = 1 << 16;

impl FromStr for IdSet {
    type Err = IdSetParseError;
    fn from_str(s: &str) -> Result<IdSet, IdSetParseError> {
        let err = |reason| IdSetParseError { input: s.to_string(), reason };
        let mut set = BTreeSet::new();
        let t = s.trim();
        if t.is_empty() {
            return Ok(IdSet(set));
        }
        for part in t.split(',') {
            let num = |x: &str| -> Result<u32, IdSetParseError> {
                if x.is_empty() || !x.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err("expected a number or a range like 0-3"));
                }
                let v: u32 = x.parse().map_err(|_| err("number too large"))?;
                if v > IDSET_MAX_ID {
                    return Err(err("number too large"));
                }
                Ok(v)
            };
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (num(a)?, num(b)?);
                    if a > b {
                        return Err(err("range start is after its end"));
                    }
                    set.extend(a..=b);
                }
                None => {
                    set.insert(num(part)?);
                }
            }
        }
        Ok(IdSet(set))
    }
}

impl fmt::Display for IdSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut it = self.0.iter().copied().peekable();
        while let Some(start) = it.next() {
            let mut end = start;
            while it.peek() == Some(&(end + 1)) {
                end += 1;
                it.next();
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if start == end {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
        }
        Ok(())
    }
}

/// A block device, named by its path or its numbers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BlockDevice {
    /// A block device node, e.g. `/dev/vda`.
    Path(PathBuf),
    /// `major:minor`.
    Number {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
}

impl From<&str> for BlockDevice {
    fn from(p: &str) -> BlockDevice {
        BlockDevice::Path(PathBuf::from(p))
    }
}

impl From<PathBuf> for BlockDevice {
    fn from(p: PathBuf) -> BlockDevice {
        BlockDevice::Path(p)
    }
}

impl From<(u32, u32)> for BlockDevice {
    fn from((major, minor): (u32, u32)) -> BlockDevice {
        BlockDevice::Number { major, minor }
    }
}

/// Which I/O rate an [`IoLimit`] caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IoRate {
    /// Bytes read per second.
    ReadBps,
    /// Bytes written per second.
    WriteBps,
    /// Read operations per second.
    ReadIops,
    /// Write operations per second.
    WriteIops,
}

impl IoRate {
    pub(crate) fn v2_key(self) -> &'static str {
        match self {
            IoRate::ReadBps => "rbps",
            IoRate::WriteBps => "wbps",
            IoRate::ReadIops => "riops",
            IoRate::WriteIops => "wiops",
        }
    }
}

/// A per-device I/O throttle.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IoLimit {
    /// The device.
    pub device: BlockDevice,
    /// Which rate.
    pub rate: IoRate,
    /// The limit (bytes or operations per second; at least 1).
    pub value: u64,
}

/// The kind of device a [`DeviceRule`] covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// Every device (`a`); major and minor must be [`DeviceNumber::Any`].
    All,
    /// Character devices (`c`).
    Char,
    /// Block devices (`b`).
    Block,
}

/// A major or minor number in a [`DeviceRule`], or a wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceNumber {
    /// `*`.
    Any,
    /// This number.
    Num(u32),
}

bitflags::bitflags! {
    /// What a [`DeviceRule`] allows or denies.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct DeviceAccess: u8 {
        /// Read (`r`).
        const READ = 1;
        /// Write (`w`).
        const WRITE = 2;
        /// mknod (`m`).
        const MKNOD = 4;
    }
}

/// A device access rule, with the v1 `devices` controller's semantics (on cgroup v2 cocoon
/// enforces the same list with an eBPF device program). Rules apply in order. A container's
/// list starts with cocoon's default policy (Docker's: deny all, allow `rwm` on null, zero,
/// full, random, urandom, tty, console, ptmx and `136:*` pts), so a rule allowing one more
/// device is enough; `DeviceRule::allow(DeviceKind::All, ..)` turns the policy off. A
/// [`crate::cgroup::CgroupHandle`] starts from its parent's list (v1) or allow-all (v2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceRule {
    /// Allow (true) or deny (false).
    pub allow: bool,
    /// Device kind.
    pub kind: DeviceKind,
    /// Major number.
    pub major: DeviceNumber,
    /// Minor number.
    pub minor: DeviceNumber,
    /// Access bits (not empty).
    pub access: DeviceAccess,
}

impl DeviceRule {
    /// Allows `access` to the `kind` device `major:minor`.
    pub fn allow(kind: DeviceKind, major: DeviceNumber, minor: DeviceNumber, access: DeviceAccess) -> Self {
        DeviceRule { allow: true, kind, major, minor, access }
    }
    /// Denies `access` to the `kind` device `major:minor`.
    pub fn deny(kind: DeviceKind, major: DeviceNumber, minor: DeviceNumber, access: DeviceAccess) -> Self {
        DeviceRule { allow: false, kind, major, minor, access }
    }
    /// Denies every access to every device (`a *:* rwm`).
    pub fn deny_all() -> Self {
        DeviceRule::deny(DeviceKind::All, DeviceNumber::Any, DeviceNumber::Any, DeviceAccess::all())
    }
    /// Allows `rwm` on the character device `major:minor`.
    pub fn allow_char(major: u32, minor: u32) -> Self {
        DeviceRule::allow(DeviceKind::Char, DeviceNumber::Num(major), DeviceNumber::Num(minor), DeviceAccess::all())
    }

    fn validate(&self) -> Result<(), CgroupError> {
        let bad = |reason: String| Err(CgroupError::invalid("devices", "device rule", reason));
        if self.access.is_empty() {
            return bad(format!("{self:?} has no access bits"));
        }
        if let DeviceNumber::Num(m) = self.major {
            if m > DEVICE_MAJOR_MAX {
                return bad(format!("major {m} is above {DEVICE_MAJOR_MAX}"));
            }
        }
        if let DeviceNumber::Num(m) = self.minor {
            if m > DEVICE_MINOR_MAX {
                return bad(format!("minor {m} is above {DEVICE_MINOR_MAX}"));
            }
        }
        if self.kind == DeviceKind::All
            && (self.major != DeviceNumber::Any || self.minor != DeviceNumber::Any)
        {
            return bad("a rule for all device kinds must use * for major and minor".into());
        }
        Ok(())
    }
}

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
    /// asked for no limits: only the devices hierarchy (v1) or the unified directory (v2).
    pub(crate) fn device_policy_only() -> Self {
        CgroupConfig { policy_only: true, ..CgroupConfig::default() }.with_default_devices()
    }

    /// The parent path (default [`DEFAULT_PARENT`]).
    pub fn get_parent(&self) -> &Path {
        self.parent.as_deref().unwrap_or(Path::new(DEFAULT_PARENT))
    }

    /// Checks every value against the host (online CPUs and nodes, devices, huge page
    /// sizes, what the host's cgroup versions can express) without creating anything.
    pub fn validate(&self) -> Result<(), CgroupError> {
        self.resolve(super::layout::layout()?).map(|_| ())
    }

    /// Validates and resolves device paths to numbers.
    pub(crate) fn resolve(&self, layout: &Layout) -> Result<Resolved, CgroupError> {
        self.resolve_for(layout, layout.devices_home())
    }

    /// [`Self::resolve`], with device rules enforced on hierarchy `devices` (v1: written;
    /// v2: an eBPF program).
    pub(crate) fn resolve_for(&self, layout: &Layout, devices: Option<&super::layout::Hierarchy>) -> Result<Resolved, CgroupError> {
        validate_parent(self.get_parent())?;
        let version = |controller: &'static str| -> Result<CgroupVersion, CgroupError> {
            layout.find(controller).map(|h| h.version).ok_or_else(|| CgroupError::ControllerUnavailable {
                controller,
                reason: "no mounted hierarchy offers it".into(),
            })
        };

        // cpu
        let mut cpu_weight = None;
        if self.cpu_shares.is_some() && self.cpu_weight.is_some() {
            return Err(CgroupError::invalid("cpu", "shares/weight", "set shares or weight, not both"));
        }
        if let Some(CpuShares(s)) = self.cpu_shares {
            if !(CpuShares::MIN..=CpuShares::MAX).contains(&s) {
                return Err(CgroupError::invalid(
                    "cpu",
                    "cpu.shares",
                    format!("{s} is outside {}..={}", CpuShares::MIN, CpuShares::MAX),
                ));
            }
            cpu_weight = Some(CpuShares(s).to_weight());
        }
        if let Some(CpuWeight(w)) = self.cpu_weight {
            if !(CpuWeight::MIN..=CpuWeight::MAX).contains(&w) {
                return Err(CgroupError::invalid(
                    "cpu",
                    "cpu.weight",
                    format!("{w} is outside {}..={}", CpuWeight::MIN, CpuWeight::MAX),
                ));
            }
            cpu_weight = Some(CpuWeight(w));
        }
        let cpu_shares_v1 = self.cpu_shares.or(self.cpu_weight.map(CpuWeight::to_shares));
        let mut cpu_quota_us = None;
        if let Some((q, p)) = self.cpu_quota {
            let (q, p) = (q.as_micros(), p.as_micros());
            if !(1000..=1_000_000).contains(&p) {
                return Err(CgroupError::invalid("cpu", "cpu period", format!("{p} µs is outside 1 ms..=1 s")));
            }
            // The kernel's max_cfs_runtime is about 17 years in µs; cap far below it.
            if !(1000..=(1u128 << 40)).contains(&q) {
                return Err(CgroupError::invalid("cpu", "cpu quota", format!("{q} µs is outside 1 ms..=2^40 µs")));
            }
            cpu_quota_us = Some((q as u64, p as u64));
        }
        let mut cpu_burst_us = None;
        if let Some(b) = self.cpu_burst {
            let Some((q, _)) = cpu_quota_us else {
                return Err(CgroupError::invalid("cpu", "cpu burst", "a burst needs a quota"));
            };
            let b = b.as_micros();
            if b > u128::from(q) {
                return Err(CgroupError::invalid("cpu", "cpu burst", format!("{b} µs exceeds the quota {q} µs")));
            }
            cpu_burst_us = Some(b as u64);
        }
        if cpu_weight.is_some() || cpu_quota_us.is_some() {
            version("cpu")?;
        }
        if cpu_burst_us.is_some() && version("cpu")? == CgroupVersion::V1 {
            if let Some(h) = layout.find("cpu") {
                if !h.mount.join("cpu.cfs_burst_us").exists() {
                    return Err(CgroupError::unsupported("cpu", "cpu burst", CgroupVersion::V1, "this kernel has no cpu.cfs_burst_us"));
                }
            }
        }

        // cpuset
        for (what, set, online) in [
            ("cpuset.cpus", &self.cpus, "/sys/devices/system/cpu/online"),
            ("cpuset.mems", &self.mems, "/sys/devices/system/node/online"),
        ] {
            let Some(set) = set else { continue };
            if set.is_empty() {
                return Err(CgroupError::invalid("cpuset", what, "the set is empty"));
            }
            let host = match std::fs::read_to_string(online) {
                Ok(t) => t.parse::<IdSet>().map_err(|e| CgroupError::invalid("cpuset", what, e.to_string()))?,
                // Kernels without NUMA have no node directory: node 0 only.
                Err(_) if what == "cpuset.mems" => IdSet::from_ids([0]),
                Err(e) => return Err(CgroupError::io("read", online, e)),
            };
            if let Some(missing) = set.iter().find(|i| !host.contains(*i)) {
                return Err(CgroupError::invalid(
                    "cpuset",
                    what,
                    format!("{missing} is not online on this host (online: {host})"),
                ));
            }
            version("cpuset")?;
        }

        // memory
        let mut mem_version = None;
        for (what, v) in [
            ("memory max", self.memory_max),
            ("memory high", self.memory_high),
            ("memory low", self.memory_low),
            ("swap max", self.swap_max),
        ] {
            let Some(Bytes(b)) = v else { continue };
            if b > i64::MAX as u64 {
                return Err(CgroupError::invalid("memory", what, format!("{b} bytes overflows the kernel's 63-bit counters")));
            }
            if b == 0 && what != "swap max" && what != "memory low" {
                return Err(CgroupError::invalid("memory", what, "0 bytes leaves nothing to run in"));
            }
            mem_version = Some(version("memory")?);
        }
        if self.oom_kill_disable {
            mem_version = Some(version("memory")?);
        }
        let mut memsw_v1 = None;
        match mem_version {
            Some(CgroupVersion::V1) => {
                if self.memory_high.is_some() {
                    return Err(CgroupError::unsupported("memory", "memory high", CgroupVersion::V1, "v1 has no throttling threshold (memory.high)"));
                }
                if let Some(Bytes(s)) = self.swap_max {
                    let Some(Bytes(m)) = self.memory_max else {
                        return Err(CgroupError::unsupported("memory", "swap max", CgroupVersion::V1, "v1 limits memory+swap together; set memory max too"));
                    };
                    let total = m.checked_add(s).filter(|t| *t <= i64::MAX as u64).ok_or_else(|| {
                        CgroupError::invalid("memory", "swap max", "memory max + swap max overflows")
                    })?;
                    if let Some(h) = layout.find("memory") {
                        if !h.mount.join("memory.memsw.limit_in_bytes").exists() {
                            return Err(CgroupError::unsupported("memory", "swap max", CgroupVersion::V1, "swap accounting is off (no memory.memsw.limit_in_bytes)"));
                        }
                    }
                    memsw_v1 = Some(total);
                }
            }
            Some(CgroupVersion::V2) if self.oom_kill_disable => {
                return Err(CgroupError::unsupported("memory", "oom kill disable", CgroupVersion::V2, "v2 has no way to disable the OOM killer"));
            }
            Some(CgroupVersion::V2) | None => {}
        }
        if let (Some(h), Some(m)) = (self.memory_high, self.memory_max) {
            if h > m {
                return Err(CgroupError::invalid("memory", "memory high", format!("{h} is above memory max {m}")));
            }
        }

        // pids
        if let Some(n) = self.pids_max {
            if n == 0 || n > PIDS_MAX_LIMIT {
                return Err(CgroupError::invalid("pids", "pids.max", format!("{n} is outside 1..={PIDS_MAX_LIMIT}")));
            }
            version("pids")?;
        }

        // io
        let mut io_weight = None;
        if let Some(w) = self.io_weight {
            let v = version("io")?;
            if w == 0 || w > 10_000 {
                return Err(CgroupError::invalid("io", "io weight", format!("{w} is outside 1..=10000")));
            }
            io_weight = Some((w, v));
        }
        let mut io_limits = Vec::new();
        for l in &self.io_limits {
            if l.value == 0 {
                return Err(CgroupError::invalid("io", "io limit", format!("{:?}: 0 would remove the limit, not set it", l.device)));
            }
            let (major, minor) = resolve_block_device(&l.device)?;
            version("io")?;
            io_limits.push((major, minor, l.rate, l.value));
        }

        // hugetlb
        let mut hugetlb = Vec::new();
        for &(Bytes(page), Bytes(limit)) in &self.hugetlb {
            if page == 0 || page % 1024 != 0 {
                return Err(CgroupError::invalid("hugetlb", "page size", format!("{page} bytes is not a huge page size")));
            }
            let dir = format!("/sys/kernel/mm/hugepages/hugepages-{}kB", page / 1024);
            if !Path::new(&dir).is_dir() {
                return Err(CgroupError::invalid("hugetlb", "page size", format!("{page} bytes: the host has no {dir}")));
            }
            if limit % page != 0 || limit > i64::MAX as u64 {
                return Err(CgroupError::invalid("hugetlb", "limit", format!("{limit} bytes is not a multiple of the page size {page} (or overflows)")));
            }
            version("hugetlb")?;
            hugetlb.push((hugetlb_size_name(page), limit));
        }

        // devices
        for r in &self.devices {
            r.validate()?;
        }
        let mut device_policy = None;
        if !self.devices.is_empty() {
            match devices {
                Some(h) if h.version == CgroupVersion::V1 => {}
                Some(_) => device_policy = Some(DevicePolicy::from_rules(&self.devices)),
                None => return Err(CgroupError::DeviceRulesNeedEbpf { rules: self.devices.len() }),
            }
        }

        Ok(Resolved {
            cpu_weight,
            cpu_shares_v1,
            cpu_quota_us,
            cpu_burst_us,
            memsw_v1,
            io_weight,
            io_limits,
            hugetlb,
            device_policy,
        })
    }
}

/// Values computed from a [`CgroupConfig`] during validation.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) cpu_weight: Option<CpuWeight>,
    pub(crate) cpu_shares_v1: Option<CpuShares>,
    pub(crate) cpu_quota_us: Option<(u64, u64)>,
    pub(crate) cpu_burst_us: Option<u64>,
    pub(crate) memsw_v1: Option<u64>,
    pub(crate) io_weight: Option<(u16, CgroupVersion)>,
    pub(crate) io_limits: Vec<(u32, u32, IoRate, u64)>,
    pub(crate) hugetlb: Vec<(String, u64)>,
    /// The device rules reduced for an eBPF program (v2 only; v1 writes the rules).
    pub(crate) device_policy: Option<DevicePolicy>,
}

/// The kernel's name for a huge page size in hugetlb file names (`2MB`, `1GB`, `64KB`).
pub(crate) fn hugetlb_size_name(page: u64) -> String {
    if page >= 1 << 30 {
        format!("{}GB", page >> 30)
    } else if page >= 1 << 20 {
        format!("{}MB", page >> 20)
    } else {
        format!("{}KB", page >> 10)
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
        && n.len() <= 64
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
            format!("{n:?} must be 1 to 64 letters, digits, '_', '-', '.', not start with '.' or a controller prefix"),
        ))
    }
}

const V1_FILE_PREFIXES: &[&str] = &["cgroup.", "tasks", "notify_on_release", "release_agent"];

/// Resolves a block device to `(major, minor)` and checks it is a whole disk the kernel knows.
fn resolve_block_device(d: &BlockDevice) -> Result<(u32, u32), CgroupError> {
    let (major, minor) = match d {
        BlockDevice::Path(p) => {
            let md = std::fs::metadata(p).map_err(|e| CgroupError::io("stat block device", p, e))?;
            if !md.file_type().is_block_device() {
                return Err(CgroupError::invalid("io", "device", format!("{} is not a block device", p.display())));
            }
            let rdev = md.rdev();
            (libc::major(rdev), libc::minor(rdev))
        }
        BlockDevice::Number { major, minor } => (*major, *minor),
    };
    if major > DEVICE_MAJOR_MAX || minor > DEVICE_MINOR_MAX {
        return Err(CgroupError::invalid("io", "device", format!("{major}:{minor} is not a valid device number")));
    }
    let sys = PathBuf::from(format!("/sys/dev/block/{major}:{minor}"));
    if !sys.exists() {
        return Err(CgroupError::invalid("io", "device", format!("no block device {major}:{minor} on this host")));
    }
    if sys.join("partition").exists() {
        return Err(CgroupError::invalid("io", "device", format!("{major}:{minor} is a partition; I/O limits apply to whole disks")));
    }
    Ok((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shares_weight_bounds() {
        assert_eq!(CpuShares(2).to_weight(), CpuWeight(1));
        assert_eq!(CpuShares(262_144).to_weight(), CpuWeight(10_000));
        assert_eq!(CpuShares(1024).to_weight(), CpuWeight(39));
        assert_eq!(CpuWeight(1).to_shares(), CpuShares(2));
        assert_eq!(CpuWeight(10_000).to_shares(), CpuShares(262_144));
    }

    proptest! {
        #[test]
        fn weight_round_trips(w in CpuWeight::MIN..=CpuWeight::MAX) {
            let s = CpuWeight(w).to_shares();
            prop_assert!((CpuShares::MIN..=CpuShares::MAX).contains(&s.0));
            prop_assert_eq!(s.to_weight(), CpuWeight(w));
        }

        #[test]
        fn shares_round_trip_within_one_weight_step(s in CpuShares::MIN..=CpuShares::MAX) {
            let w = CpuShares(s).to_weight();
            prop_assert!((CpuWeight::MIN..=CpuWeight::MAX).contains(&w.0));
            let back = w.to_shares().0;
            // One weight step spans 262142/9999 ≈ 26.2 shares.
            prop_assert!(back <= s && s - back <= 27, "{} -> {:?} -> {}", s, w, back);
        }

        #[test]
        fn conversion_is_monotonic(a in CpuShares::MIN..=CpuShares::MAX, b in CpuShares::MIN..=CpuShares::MAX) {
            if a <= b {
                prop_assert!(CpuShares(a).to_weight() <= CpuShares(b).to_weight());
            }
        }

        #[test]
        fn idset_display_parses_back(ids in proptest::collection::btree_set(0u32..512, 0..40)) {
            let set = IdSet(ids);
            let text = set.to_string();
            prop_assert_eq!(text.parse::<IdSet>().unwrap(), set);
        }
    }

    #[test]
    fn idset_parse() {
        assert_eq!("0-2,5".parse::<IdSet>().unwrap(), IdSet::from_ids([0, 1, 2, 5]));
        assert_eq!("0-1\n".parse::<IdSet>().unwrap().to_string(), "0-1");
        for bad in ["a", "3-1", "1,,2", "-1", "0-99999999", "1-", " 1 - 2"] {
            assert!(bad.parse::<IdSet>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn hugetlb_names() {
        assert_eq!(hugetlb_size_name(2 << 20), "2MB");
        assert_eq!(hugetlb_size_name(1 << 30), "1GB");
        assert_eq!(hugetlb_size_name(64 << 10), "64KB");
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
