//! Resolving a [`CgroupConfig`] against the host's cgroup layout: every value checked,
//! device paths turned into numbers, v1/v2 conversions computed ([`Resolved`]).

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::config::{validate_parent, PIDS_MAX_LIMIT};
use super::devices::DevicePolicy;
use super::layout::Layout;
use super::{
    BlockDevice, Bytes, CgroupConfig, CgroupError, CgroupVersion, CpuShares, CpuWeight, IdSet, IoRate,
    DEVICE_MAJOR_MAX, DEVICE_MINOR_MAX,
};

impl CgroupConfig {
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

    #[test]
    fn hugetlb_names() {
        assert_eq!(hugetlb_size_name(2 << 20), "2MB");
        assert_eq!(hugetlb_size_name(1 << 30), "1GB");
        assert_eq!(hugetlb_size_name(64 << 10), "64KB");
    }
}
