//! Resource usage of a cgroup.
//!
//! cgroups-rs's stat readers turn every read or parse error into 0, which would make a
//! broken read look like an idle container; these readers report errors instead.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use super::{CgroupError, CgroupVersion};

/// Resource usage of a container's cgroup. A field is `None` when the host has no hierarchy
/// for that controller (or it is not enabled for the cgroup).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CgroupStats {
    /// CPU time.
    pub cpu: Option<CpuStats>,
    /// Memory.
    pub memory: Option<MemoryStats>,
    /// Tasks.
    pub pids: Option<PidsStats>,
    /// Block I/O, summed over devices.
    pub io: Option<IoStats>,
}

/// CPU time used by the cgroup's tasks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CpuStats {
    /// Total.
    pub usage: Duration,
    /// In user mode.
    pub user: Duration,
    /// In kernel mode.
    pub system: Duration,
}

/// Memory use of the cgroup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemoryStats {
    /// Bytes in use now (v1 `memory.usage_in_bytes`, v2 `memory.current`).
    pub current: u64,
    /// Highest use seen (v1 `memory.max_usage_in_bytes`, v2 `memory.peak`; `None` on
    /// kernels before 5.19 on v2).
    pub peak: Option<u64>,
    /// How often the limit was hit: v2 `memory.events` `oom`; v1 `memory.failcnt` (v1
    /// counts every charge that hit the limit, reclaimed or not).
    pub oom_events: u64,
    /// Processes killed by the OOM killer (v1 `memory.oom_control` `oom_kill`, v2
    /// `memory.events` `oom_kill`).
    pub oom_kills: u64,
    /// The limit in bytes (v1 `memory.limit_in_bytes`, v2 `memory.max`); `None` when
    /// unlimited.
    pub limit: Option<u64>,
}

/// v1 says "unlimited" with the largest page-aligned counter (2^63 - page size).
const V1_UNLIMITED: u64 = 1 << 62;

/// Tasks in the cgroup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PidsStats {
    /// Tasks now (`pids.current`).
    pub current: u64,
    /// How often a fork was refused because of `pids.max` (`pids.events` `max`; `None`
    /// where the kernel has no `pids.events`).
    pub limit_hits: Option<u64>,
}

/// Block I/O done by the cgroup, summed over devices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IoStats {
    /// Bytes read.
    pub read_bytes: u64,
    /// Bytes written.
    pub write_bytes: u64,
    /// Read operations.
    pub read_ops: u64,
    /// Write operations.
    pub write_ops: u64,
}

type Loc<'a> = Option<(&'a Path, CgroupVersion)>;

fn read(p: &Path) -> Result<String, CgroupError> {
    std::fs::read_to_string(p).map_err(|e| CgroupError::io("read", p, e))
}

fn parse_u64(p: &Path, s: &str) -> Result<u64, CgroupError> {
    s.trim().parse().map_err(|_| {
        CgroupError::io("parse", p, std::io::Error::new(std::io::ErrorKind::InvalidData, format!("not a number: {s:?}")))
    })
}

fn read_u64(p: &Path) -> Result<u64, CgroupError> {
    parse_u64(p, &read(p)?)
}

/// `key value` lines.
fn flat_keyed(p: &Path) -> Result<HashMap<String, u64>, CgroupError> {
    Ok(read(p)?
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect())
}

fn key(m: &HashMap<String, u64>, p: &Path, k: &str) -> Result<u64, CgroupError> {
    m.get(k).copied().ok_or_else(|| {
        CgroupError::io("parse", p, std::io::Error::new(std::io::ErrorKind::InvalidData, format!("no {k:?} line")))
    })
}

pub(crate) fn collect(cpu: Loc<'_>, memory: Loc<'_>, pids: Loc<'_>, io: Loc<'_>) -> Result<CgroupStats, CgroupError> {
    Ok(CgroupStats {
        cpu: cpu.map(|(d, v)| cpu_stats(d, v)).transpose()?,
        memory: memory.map(|(d, v)| memory_stats(d, v)).transpose()?.flatten(),
        pids: match pids {
            Some((d, _)) if d.join("pids.current").exists() => Some(pids_stats(d)?),
            _ => None,
        },
        io: io.map(|(d, v)| io_stats(d, v)).transpose()?.flatten(),
    })
}

fn pids_stats(d: &Path) -> Result<PidsStats, CgroupError> {
    let ev = d.join("pids.events");
    let limit_hits = if ev.exists() { Some(key(&flat_keyed(&ev)?, &ev, "max")?) } else { None };
    Ok(PidsStats { current: read_u64(&d.join("pids.current"))?, limit_hits })
}

fn cpu_stats(d: &Path, v: CgroupVersion) -> Result<CpuStats, CgroupError> {
    match v {
        CgroupVersion::V1 => {
            let ns = |f: &str| read_u64(&d.join(f)).map(Duration::from_nanos);
            Ok(CpuStats { usage: ns("cpuacct.usage")?, user: ns("cpuacct.usage_user")?, system: ns("cpuacct.usage_sys")? })
        }
        CgroupVersion::V2 => {
            let p = d.join("cpu.stat");
            let m = flat_keyed(&p)?;
            let us = |k| key(&m, &p, k).map(Duration::from_micros);
            Ok(CpuStats { usage: us("usage_usec")?, user: us("user_usec")?, system: us("system_usec")? })
        }
    }
}

fn memory_stats(d: &Path, v: CgroupVersion) -> Result<Option<MemoryStats>, CgroupError> {
    match v {
        CgroupVersion::V1 => {
            let oc = d.join("memory.oom_control");
            let oom = flat_keyed(&oc)?;
            Ok(Some(MemoryStats {
                current: read_u64(&d.join("memory.usage_in_bytes"))?,
                peak: Some(read_u64(&d.join("memory.max_usage_in_bytes"))?),
                oom_events: read_u64(&d.join("memory.failcnt"))?,
                oom_kills: key(&oom, &oc, "oom_kill")?,
                limit: Some(read_u64(&d.join("memory.limit_in_bytes"))?).filter(|&l| l < V1_UNLIMITED),
            }))
        }
        CgroupVersion::V2 => {
            if !d.join("memory.current").exists() {
                return Ok(None);
            }
            let ev = d.join("memory.events");
            let events = flat_keyed(&ev)?;
            let peak = d.join("memory.peak");
            Ok(Some(MemoryStats {
                current: read_u64(&d.join("memory.current"))?,
                peak: if peak.exists() { Some(read_u64(&peak)?) } else { None },
                oom_events: key(&events, &ev, "oom")?,
                oom_kills: key(&events, &ev, "oom_kill")?,
                limit: {
                    let p = d.join("memory.max");
                    let t = read(&p)?;
                    if t.trim() == "max" {
                        None
                    } else {
                        Some(parse_u64(&p, &t)?)
                    }
                },
            }))
        }
    }
}

fn io_stats(d: &Path, v: CgroupVersion) -> Result<Option<IoStats>, CgroupError> {
    let mut s = IoStats::default();
    match v {
        CgroupVersion::V1 => {
            // "MAJ:MIN Read N" lines, plus a "Total N" line.
            for (file, is_bytes) in [
                ("blkio.throttle.io_service_bytes_recursive", true),
                ("blkio.throttle.io_serviced_recursive", false),
            ] {
                let p = d.join(file);
                if !p.exists() {
                    return Ok(None);
                }
                for line in read(&p)?.lines() {
                    let f: Vec<&str> = line.split_whitespace().collect();
                    if f.len() != 3 {
                        continue;
                    }
                    let n = parse_u64(&p, f[2])?;
                    match (f[1], is_bytes) {
                        ("Read", true) => s.read_bytes += n,
                        ("Write", true) => s.write_bytes += n,
                        ("Read", false) => s.read_ops += n,
                        ("Write", false) => s.write_ops += n,
                        _ => {}
                    }
                }
            }
        }
        CgroupVersion::V2 => {
            // "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N" lines.
            let p = d.join("io.stat");
            if !p.exists() {
                return Ok(None);
            }
            for line in read(&p)?.lines() {
                for kv in line.split_whitespace().skip(1) {
                    let Some((k, v)) = kv.split_once('=') else { continue };
                    let n = parse_u64(&p, v)?;
                    match k {
                        "rbytes" => s.read_bytes += n,
                        "wbytes" => s.write_bytes += n,
                        "rios" => s.read_ops += n,
                        "wios" => s.write_ops += n,
                        _ => {}
                    }
                }
            }
        }
    }
    Ok(Some(s))
}
