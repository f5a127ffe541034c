//! Writing a [`CgroupConfig`]'s limits into a new cgroup: controllers through `cgroups-rs`,
//! the files it lacks (CPU burst, I/O weight) directly, and the device policy; and changing
//! the limits of a live one.

use cgroups_rs::fs::blkio::BlkIoController;
use cgroups_rs::fs::cpu::CpuController;
use cgroups_rs::fs::cpuset::CpuSetController;
use cgroups_rs::fs::hugetlb::HugeTlbController;
use cgroups_rs::fs::memory::{MemController, SetMemory};
use cgroups_rs::fs::pid::PidController;
use cgroups_rs::fs::MaxValue;

use super::create::needed_controllers;
use super::{lib_err, write, Cgroup};
use crate::cgroup::bpf::DeviceProgram;
use crate::cgroup::layout::{layout, Layout};
use crate::cgroup::resolve::Resolved;
use crate::cgroup::{CgroupConfig, CgroupError, CgroupVersion, IoRate};

impl Cgroup {
    /// Changes the limits of a cgroup that may already hold processes: the ones `cfg`
    /// sets are written, the others stay. Everything is checked before the first write
    /// (values against the host, a directory on every controller a limit needs); only the
    /// kernel refusing a value (e.g. a memory limit below what v1 can reclaim to) can stop
    /// it part-way, and the error names that file. Device rules are fixed at creation.
    pub(crate) fn update(&self, cfg: &CgroupConfig) -> Result<(), CgroupError> {
        if self.policy_only {
            return Err(CgroupError::invalid("cgroup", "update", "a cgroup that only carries the device policy has no limits"));
        }
        if !cfg.devices.is_empty() {
            return Err(CgroupError::invalid("devices", "update", "device rules are fixed when the cgroup is created"));
        }
        let layout = layout()?;
        let res = cfg.resolve(layout)?;
        for c in needed_controllers(cfg) {
            if self.dir_for(layout, c).is_none() {
                return Err(CgroupError::ControllerUnavailable {
                    controller: c,
                    reason: format!("{} has no directory on the hierarchy of {c}", self.rel.display()),
                });
            }
        }
        self.check_v2_controllers(cfg, layout)?;
        self.apply(cfg, &res, layout)
    }

    /// Writes every limit.
    pub(super) fn apply(&self, cfg: &CgroupConfig, res: &Resolved, layout: &Layout) -> Result<(), CgroupError> {
        // cpu
        if let Some(d) = self.dir_for(layout, "cpu") {
            let v2 = d.version == CgroupVersion::V2;
            let cpu = CpuController::new(d.path.clone(), d.mount.clone(), v2);
            let share = if v2 { res.cpu_weight.map(|w| w.0) } else { res.cpu_shares_v1.map(|s| s.0) };
            if let Some(s) = share {
                cpu.set_shares(s).map_err(lib_err("cpu", &d.path, s.to_string()))?;
            }
            if let Some((q, p)) = res.cpu_quota_us {
                cpu.set_cfs_quota_and_period(Some(q as i64), Some(p))
                    .map_err(lib_err("cpu", &d.path, format!("{q} {p}")))?;
            }
            // cgroups-rs has no CPU burst setter.
            if let Some(b) = res.cpu_burst_us {
                let f = if v2 { "cpu.max.burst" } else { "cpu.cfs_burst_us" };
                write(&d.path.join(f), &b.to_string())?;
            }
        }
        // cpuset
        if let Some(d) = self.dir_for(layout, "cpuset") {
            let cs = CpuSetController::new(d.path.clone(), d.mount.clone(), d.version == CgroupVersion::V2);
            if let Some(m) = &cfg.mems {
                cs.set_mems(&m.to_string()).map_err(lib_err("cpuset", &d.path, m.to_string()))?;
            }
            if let Some(c) = &cfg.cpus {
                cs.set_cpus(&c.to_string()).map_err(lib_err("cpuset", &d.path, c.to_string()))?;
            }
        }
        // memory
        if let Some(d) = self.dir_for(layout, "memory") {
            let v2 = d.version == CgroupVersion::V2;
            let mem = MemController::new(d.path.clone(), d.mount.clone(), v2);
            let val = |b: Option<crate::cgroup::Bytes>| b.map(|b| MaxValue::Value(b.0 as i64));
            if v2 {
                if cfg.memory_max.is_some() || cfg.memory_high.is_some() || cfg.memory_low.is_some() {
                    let m = SetMemory { low: val(cfg.memory_low), high: val(cfg.memory_high), min: None, max: val(cfg.memory_max) };
                    mem.set_mem(m).map_err(lib_err("memory", &d.path, format!("{cfg:?}")))?;
                }
                if let Some(s) = cfg.swap_max {
                    mem.set_memswap_limit(s.0 as i64).map_err(lib_err("memory", &d.path, s.0.to_string()))?;
                }
            } else {
                if let Some(m) = cfg.memory_max {
                    mem.set_limit(m.0 as i64).map_err(lib_err("memory", &d.path, m.0.to_string()))?;
                }
                if let Some(t) = res.memsw_v1 {
                    mem.set_memswap_limit(t as i64).map_err(lib_err("memory", &d.path, t.to_string()))?;
                }
                if let Some(l) = cfg.memory_low {
                    mem.set_soft_limit(l.0 as i64).map_err(lib_err("memory", &d.path, l.0.to_string()))?;
                }
                if cfg.oom_kill_disable {
                    mem.disable_oom_killer().map_err(lib_err("memory", &d.path, "1"))?;
                }
            }
        }
        // pids
        if let (Some(d), Some(n)) = (self.dir_for(layout, "pids"), cfg.pids_max) {
            let p = PidController::new(d.path.clone(), d.mount.clone(), d.version == CgroupVersion::V2);
            p.set_pid_max(MaxValue::Value(n as i64)).map_err(lib_err("pids", &d.path, n.to_string()))?;
        }
        // io
        if let Some(d) = self.dir_for(layout, "io") {
            let v2 = d.version == CgroupVersion::V2;
            let io = BlkIoController::new(d.path.clone(), d.mount.clone(), v2);
            for &(maj, min, rate, v) in &res.io_limits {
                let (maj, min) = (u64::from(maj), u64::from(min));
                let r = match rate {
                    IoRate::ReadBps => io.throttle_read_bps_for_device(maj, min, v),
                    IoRate::WriteBps => io.throttle_write_bps_for_device(maj, min, v),
                    IoRate::ReadIops => io.throttle_read_iops_for_device(maj, min, v),
                    IoRate::WriteIops => io.throttle_write_iops_for_device(maj, min, v),
                };
                r.map_err(lib_err("io", &d.path, format!("{maj}:{min} {}={v}", rate.v2_key())))?;
            }
            // cgroups-rs writes only blkio.weight (gone with CFQ) or io.bfq.weight; pick the
            // file this kernel has.
            if let Some((w, version)) = res.io_weight {
                let candidates: &[(&str, u16, &str)] = if v2 {
                    &[("io.weight", 10_000, "default "), ("io.bfq.weight", 1000, "")]
                } else {
                    &[("blkio.weight", 1000, ""), ("blkio.bfq.weight", 1000, "")]
                };
                let Some((file, max, prefix)) = candidates.iter().find(|(f, ..)| d.path.join(f).exists()) else {
                    return Err(CgroupError::unsupported("io", "io weight", version, "no weight file: neither io cost nor the BFQ scheduler is active"));
                };
                if w > *max {
                    return Err(CgroupError::unsupported("io", "io weight", version, format!("{file} takes 1..={max}, got {w}")));
                }
                write(&d.path.join(file), &format!("{prefix}{w}"))?;
            }
        }
        // hugetlb (cgroups-rs reads /sys/kernel/mm/hugepages to build the controller: only
        // when there is a limit to write)
        if let Some(d) = self.dir_for(layout, "hugetlb").filter(|_| !res.hugetlb.is_empty()) {
            let h = HugeTlbController::new(d.path.clone(), d.mount.clone(), d.version == CgroupVersion::V2);
            for (size, limit) in &res.hugetlb {
                h.set_limit_in_bytes(size, *limit).map_err(lib_err("hugetlb", &d.path, format!("{size} {limit}")))?;
            }
        }
        // devices on v1: the rules in order (the kernel keeps the list)
        if let Some(d) = self.dir_for(layout, "devices").filter(|d| d.version == CgroupVersion::V1) {
            crate::cgroup::devices::write_v1(&d.path, &cfg.devices)?;
        }
        Ok(())
    }

    /// devices on v2: the rules compiled into an eBPF program on the v2 directory, attached
    /// before any process can enter the cgroup.
    pub(super) fn attach_device_program(&mut self, res: &Resolved) -> Result<(), CgroupError> {
        let Some(policy) = &res.device_policy else { return Ok(()) };
        let Some(d) = self.dirs.iter().find(|d| d.version == CgroupVersion::V2) else {
            return Err(CgroupError::DeviceRulesNeedEbpf { rules: policy.exceptions.len() });
        };
        self.device_prog = Some(DeviceProgram::attach(&d.path, policy)?);
        Ok(())
    }
}
