//! `linux.resources` → [`CgroupConfig`]: memory, pids, cpu, devices, blockIO, hugepages.

use std::time::Duration;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType, LinuxResources, LinuxThrottleDevice};

use crate::cgroup::{Bytes, CgroupConfig, CpuShares, DeviceAccess, DeviceKind, DeviceNumber, DeviceRule, IdSet, IoRate};
use crate::oci::OciError;

/// The container's cgroup: every OCI container gets one of its own (as with runc), with
/// the spec's limits if it has any. The spec's device rules come first, then the default
/// devices are allowed (runc's order: its allowed devices follow the spec's rules).
pub(super) fn convert(r: Option<&LinuxResources>, warnings: &mut Vec<String>) -> Result<CgroupConfig, OciError> {
    let mut cfg = CgroupConfig::new();
    let Some(r) = r else { return Ok(cfg) };
    let unsupported = |field: &str, why: &str| Err(OciError::unsupported(format!("linux.resources.{field}"), why));

    if let Some(m) = r.memory() {
        let bytes = |field: &str, v: Option<i64>| -> Result<Option<Bytes>, OciError> {
            match v {
                None | Some(-1) | Some(0) => Ok(None),
                Some(v) if v > 0 => Ok(Some(Bytes(v as u64))),
                Some(v) => Err(OciError::invalid(format!("linux.resources.memory.{field}"), format!("{v} is negative"))),
            }
        };
        let limit = bytes("limit", m.limit())?;
        if let Some(l) = limit {
            cfg = cfg.memory_max(l);
        }
        if let Some(l) = bytes("reservation", m.reservation())? {
            cfg = cfg.memory_low(l);
        }
        if let Some(s) = bytes("swap", m.swap())? {
            // The spec's swap is memory + swap (v1's memsw); cocoon's is the swap alone.
            let Some(l) = limit else {
                return unsupported("memory.swap", "a swap limit needs memory.limit too");
            };
            if s.0 < l.0 {
                return Err(OciError::invalid(
                    "linux.resources.memory.swap",
                    format!("{} (memory + swap) is below memory.limit {}", s.0, l.0),
                ));
            }
            cfg = cfg.swap_max(Bytes(s.0 - l.0));
        }
        if m.kernel().is_some() || m.kernel_tcp().is_some() {
            return unsupported("memory.kernel", "kernel memory limits are gone from the kernel");
        }
        if m.swappiness().is_some() {
            return unsupported("memory.swappiness", "not set by cocoon");
        }
        if m.disable_oom_killer() == Some(true) {
            cfg = cfg.oom_kill_disable(true);
        }
        if m.use_hierarchy().is_some() || m.check_before_update().is_some() {
            warnings.push("linux.resources.memory: useHierarchy and checkBeforeUpdate are ignored".to_string());
        }
    }

    if let Some(p) = r.pids() {
        if p.limit() > 0 {
            cfg = cfg.pids_max(p.limit() as u64);
        }
    }

    if let Some(c) = r.cpu() {
        if let Some(s) = c.shares().filter(|s| *s > 0) {
            cfg = cfg.cpu_shares(CpuShares(s));
        }
        match c.quota() {
            None | Some(-1) | Some(0) => {}
            Some(q) if q > 0 => {
                let period = c.period().filter(|p| *p > 0).unwrap_or(100_000);
                cfg = cfg.cpu_quota(Duration::from_micros(q as u64), Duration::from_micros(period));
            }
            Some(q) => return Err(OciError::invalid("linux.resources.cpu.quota", format!("{q} is negative"))),
        }
        if let Some(b) = c.burst().filter(|b| *b > 0) {
            cfg = cfg.cpu_burst(Duration::from_micros(b));
        }
        if c.idle().is_some_and(|i| i != 0) {
            return unsupported("cpu.idle", "SCHED_IDLE cgroups are not set by cocoon");
        }
        if c.realtime_runtime().is_some() || c.realtime_period().is_some() {
            return unsupported("cpu.realtimeRuntime", "real-time CPU bandwidth is not set by cocoon");
        }
        for (field, v) in [("cpus", c.cpus()), ("mems", c.mems())] {
            let Some(text) = v.as_deref().filter(|s| !s.trim().is_empty()) else { continue };
            let set: IdSet = text
                .parse()
                .map_err(|e: crate::cgroup::IdSetParseError| OciError::invalid(format!("linux.resources.cpu.{field}"), e.to_string()))?;
            cfg = if field == "cpus" { cfg.cpus(set) } else { cfg.mems(set) };
        }
    }

    if let Some(io) = r.block_io() {
        if let Some(w) = io.weight() {
            cfg = cfg.io_weight(w);
        }
        if io.leaf_weight().is_some() {
            return unsupported("blockIO.leafWeight", "not set by cocoon");
        }
        if io.weight_device().as_ref().is_some_and(|v| !v.is_empty()) {
            return unsupported("blockIO.weightDevice", "per-device weights are not set by cocoon");
        }
        let throttles: [(&str, &Option<Vec<LinuxThrottleDevice>>, IoRate); 4] = [
            ("throttleReadBpsDevice", io.throttle_read_bps_device(), IoRate::ReadBps),
            ("throttleWriteBpsDevice", io.throttle_write_bps_device(), IoRate::WriteBps),
            ("throttleReadIOPSDevice", io.throttle_read_iops_device(), IoRate::ReadIops),
            ("throttleWriteIOPSDevice", io.throttle_write_iops_device(), IoRate::WriteIops),
        ];
        for (field, list, rate) in throttles {
            for (i, t) in list.iter().flatten().enumerate() {
                let num = |n: i64| u32::try_from(n).ok();
                let (Some(major), Some(minor)) = (num(t.major()), num(t.minor())) else {
                    return Err(OciError::invalid(
                        format!("linux.resources.blockIO.{field}[{i}]"),
                        format!("{}:{} is not a device number", t.major(), t.minor()),
                    ));
                };
                cfg = cfg.io_limit((major, minor), rate, t.rate());
            }
        }
    }

    for (i, h) in r.hugepage_limits().iter().flatten().enumerate() {
        let field = format!("linux.resources.hugepageLimits[{i}]");
        let size = page_size(h.page_size()).ok_or_else(|| {
            OciError::invalid(&field, format!("page size {:?} is not like 2MB or 1GB", h.page_size()))
        })?;
        let limit = u64::try_from(h.limit()).map_err(|_| OciError::invalid(&field, "the limit is negative"))?;
        cfg = cfg.hugetlb_limit(size, Bytes(limit));
    }

    if r.network().is_some() {
        return unsupported("network", "net_cls/net_prio settings are not supported yet");
    }
    if r.rdma().as_ref().is_some_and(|m| !m.is_empty()) {
        return unsupported("rdma", "the rdma controller is not supported");
    }
    if r.unified().as_ref().is_some_and(|m| !m.is_empty()) {
        return unsupported("unified", "raw cgroup v2 files are not written by cocoon");
    }

    let rules = r.devices().as_deref().unwrap_or(&[]);
    for (i, d) in rules.iter().enumerate() {
        cfg = cfg.device_rule(device_rule(i, d)?);
    }
    if !rules.is_empty() {
        for rule in crate::cgroup::default_rules().into_iter().filter(|r| r.allow) {
            cfg = cfg.device_rule(rule);
        }
    }
    Ok(cfg)
}

/// `linux.resources` of `runc update --resources`: the limits to change in a running
/// container's cgroup. Device rules are fixed at creation: given here, they are ignored
/// with a warning (as runc ignores them).
pub fn update_from_resources(r: &LinuxResources) -> Result<(CgroupConfig, Vec<String>), OciError> {
    let mut warnings = Vec::new();
    let mut r = r.clone();
    if r.devices().as_ref().is_some_and(|d| !d.is_empty()) {
        warnings.push("linux.resources.devices: ignored by update (device rules are fixed at creation)".to_string());
    }
    r.set_devices(None);
    let cfg = convert(Some(&r), &mut warnings)?;
    Ok((cfg, warnings))
}

fn device_rule(i: usize, d: &LinuxDeviceCgroup) -> Result<DeviceRule, OciError> {
    let field = format!("linux.resources.devices[{i}]");
    let kind = match d.typ() {
        None | Some(LinuxDeviceType::A) => DeviceKind::All,
        Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => DeviceKind::Char,
        Some(LinuxDeviceType::B) => DeviceKind::Block,
        Some(LinuxDeviceType::P) => return Err(OciError::invalid(field, "a FIFO (p) is not a device type of a cgroup rule")),
    };
    let number = |what: &str, n: Option<i64>| -> Result<DeviceNumber, OciError> {
        match n {
            None | Some(-1) => Ok(DeviceNumber::Any),
            Some(n) => u32::try_from(n)
                .map(DeviceNumber::Num)
                .map_err(|_| OciError::invalid(&field, format!("{what} {n} is not a device number"))),
        }
    };
    let (major, minor) = (number("major", d.major())?, number("minor", d.minor())?);
    if kind == DeviceKind::All && (major != DeviceNumber::Any || minor != DeviceNumber::Any) {
        return Err(OciError::invalid(field, "a rule for all device types cannot name a major or minor"));
    }
    let access = match d.access().as_deref() {
        None => DeviceAccess::all(),
        Some(a) => {
            let mut acc = DeviceAccess::empty();
            for c in a.chars() {
                acc |= match c {
                    'r' => DeviceAccess::READ,
                    'w' => DeviceAccess::WRITE,
                    'm' => DeviceAccess::MKNOD,
                    _ => return Err(OciError::invalid(field, format!("access {a:?}: only r, w and m"))),
                };
            }
            if acc.is_empty() {
                return Err(OciError::invalid(field, "the access is empty"));
            }
            acc
        }
    };
    Ok(if d.allow() {
        DeviceRule::allow(kind, major, minor, access)
    } else {
        DeviceRule::deny(kind, major, minor, access)
    })
}

/// `2MB`, `1GB`, `64KB` (the runtime spec's hugepage sizes) in bytes.
fn page_size(s: &str) -> Option<Bytes> {
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let mult: u64 = match unit {
        "KB" | "kB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult).map(Bytes)
}
