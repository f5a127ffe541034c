//! Creating, configuring, freezing, killing and removing one container's cgroup.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::thread::sleep;
use std::time::{Duration, Instant};

use cgroups_rs::fs::blkio::BlkIoController;
use cgroups_rs::fs::cpu::CpuController;
use cgroups_rs::fs::cpuset::CpuSetController;
use cgroups_rs::fs::freezer::FreezerController;
use cgroups_rs::fs::hugetlb::HugeTlbController;
use cgroups_rs::fs::memory::{MemController, SetMemory};
use cgroups_rs::fs::pid::PidController;
use cgroups_rs::fs::MaxValue;
use cgroups_rs::FreezerState;

use super::bpf::DeviceProgram;
use super::config::{validate_name, CgroupConfig, IoRate, Resolved};
use super::layout::{layout, Hierarchy, Layout};
use super::stats::{self, CgroupStats};
use super::{CgroupError, CgroupVersion};

/// How long freeze/thaw and teardown wait for the kernel.
const STATE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `rmdir` is retried while the kernel finishes tearing tasks down.
const RMDIR_TIMEOUT: Duration = Duration::from_secs(2);

/// Parent directories this process created, with the number of live cgroups below each.
/// A parent is removed when its count drops to zero; parents that already existed are never
/// in this map and never touched.
static OWNED_PARENTS: Mutex<BTreeMap<PathBuf, usize>> = Mutex::new(BTreeMap::new());

/// Cgroups of detached containers, removed once their processes are gone.
static DETACHED: Mutex<Vec<Cgroup>> = Mutex::new(Vec::new());

fn detached() -> MutexGuard<'static, Vec<Cgroup>> {
    DETACHED.lock().unwrap_or_else(|p| p.into_inner())
}

/// Removes the cgroups of detached containers that have ended (a few per call, so a host
/// with many detached containers does not pay for all of them on every spawn).
fn sweep_detached() {
    let mut left = detached();
    let n = left.len().min(8);
    for _ in 0..n {
        let mut cg = left.remove(0);
        if cg.procs().is_empty() && cg.remove_all(&mut registry(), true).is_ok() {
            continue;
        }
        left.push(cg);
    }
}

fn registry() -> MutexGuard<'static, BTreeMap<PathBuf, usize>> {
    // The map stays consistent even if a holder panicked: every update is a single insert,
    // increment or removal.
    OWNED_PARENTS.lock().unwrap_or_else(|p| p.into_inner())
}

/// One directory of the cgroup, on one hierarchy.
#[derive(Debug)]
struct Dir {
    version: CgroupVersion,
    mount: PathBuf,
    controllers: Vec<String>,
    path: PathBuf,
}

/// A cgroup cocoon created for one container.
///
/// Dropping it without [`Cgroup::destroy`] kills its processes and removes it, best effort.
#[derive(Debug)]
pub(crate) struct Cgroup {
    rel: PathBuf,
    dirs: Vec<Dir>,
    parents: Vec<PathBuf>,
    /// The hierarchy mounts this cgroup has a directory on.
    mounts_used: Vec<PathBuf>,
    v2_fd: Option<OwnedFd>,
    /// The eBPF device program attached to the v2 directory.
    device_prog: Option<DeviceProgram>,
    /// Only carries the device policy of a container that asked for no cgroup.
    policy_only: bool,
    done: bool,
}

fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    fs::write(path, value).map_err(|e| CgroupError::io("write", path, e))
}

fn read(path: &Path) -> Result<String, CgroupError> {
    fs::read_to_string(path).map_err(|e| CgroupError::io("read", path, e))
}

fn lib_err(controller: &'static str, dir: &Path, value: impl Into<String>) -> impl FnOnce(cgroups_rs::fs::error::Error) -> CgroupError {
    let path = dir.display().to_string();
    let value = value.into();
    move |e| CgroupError::Write { controller, path, value, source: Box::new(e) }
}

impl Cgroup {
    /// Creates the container's cgroup `<parent>/<id>` on every hierarchy cocoon uses and
    /// applies every limit of `cfg`. On any failure, everything created is removed again.
    pub(crate) fn create(cfg: &CgroupConfig, id: &str) -> Result<Cgroup, CgroupError> {
        sweep_detached();
        let layout = layout()?;
        validate_name(id)?;
        if !cfg.policy_only {
            return Cgroup::create_on(cfg, id, layout, None);
        }
        // A container without limits: one directory that carries the device policy. The
        // unified one if there is one (an eBPF program, and CLONE_INTO_CGROUP: no task
        // migration, no handshake), else the v1 devices hierarchy.
        let unified = layout.hierarchies.iter().find(|h| h.version == CgroupVersion::V2);
        let v1 = layout.find("devices").filter(|h| h.version == CgroupVersion::V1);
        match (unified, v1) {
            (Some(u), Some(h)) => Cgroup::create_on(cfg, id, layout, Some(u)).or_else(|e| match e {
                CgroupError::AlreadyExists { .. } | CgroupError::Invalid { .. } => Err(e),
                // e.g. no cgroup BPF in this kernel: the v1 controller does the same.
                _ => Cgroup::create_on(cfg, id, layout, Some(h)),
            }),
            (Some(h), None) | (None, Some(h)) => Cgroup::create_on(cfg, id, layout, Some(h)),
            (None, None) => Err(CgroupError::DeviceRulesNeedEbpf { rules: cfg.devices.len() }),
        }
    }

    /// [`Cgroup::create`] on every hierarchy, or `only` on one (that also enforces the
    /// device rules).
    fn create_on(cfg: &CgroupConfig, id: &str, layout: &Layout, only: Option<&Hierarchy>) -> Result<Cgroup, CgroupError> {
        let res = match only {
            Some(h) => cfg.resolve_for(layout, Some(h))?,
            None => cfg.resolve(layout)?,
        };
        let parent = cfg.get_parent().to_path_buf();
        let mut cg = Cgroup {
            rel: parent.join(id),
            dirs: Vec::new(),
            parents: Vec::new(),
            mounts_used: Vec::new(),
            v2_fd: None,
            device_prog: None,
            policy_only: cfg.policy_only,
            done: false,
        };
        {
            let mut reg = registry();
            let made = layout
                .hierarchies
                .iter()
                .filter(|h| only.is_none_or(|o| o.mount == h.mount))
                .try_for_each(|h| cg.make_dir(&mut reg, h, &parent, id));
            if let Err(e) = made {
                // The original error is the one to report; removing directories that were
                // just created (and hold no process) only fails if someone else filled them.
                let _cleanup = cg.remove_all(&mut reg, true);
                cg.done = true;
                return Err(e);
            }
        }
        let applied = cg
            .check_v2_controllers(cfg, layout)
            .and_then(|()| cg.apply(cfg, &res, layout))
            .and_then(|()| cg.attach_device_program(&res));
        if let Err(e) = applied {
            let _cleanup = cg.remove_all(&mut registry(), true);
            cg.done = true;
            return Err(e);
        }
        // Only v2 directories (a pure v2 host, or the policy-only unified directory of a
        // hybrid host): the child can be born in it.
        if cg.dirs.iter().all(|d| d.version == CgroupVersion::V2) {
            if let Some(d) = cg.dirs.first() {
                match nix::fcntl::open(
                    &d.path,
                    nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
                    nix::sys::stat::Mode::empty(),
                ) {
                    // SAFETY: `open` just returned this fd and nothing else owns it.
                    Ok(fd) => cg.v2_fd = Some(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) }),
                    Err(e) => {
                        let err = CgroupError::io("open", &d.path, io::Error::from(e));
                        let _cleanup = cg.remove_all(&mut registry(), true);
                        cg.done = true;
                        return Err(err);
                    }
                }
            }
        }
        Ok(cg)
    }

    /// Creates the missing parents and the cgroup directory on hierarchy `h`.
    fn make_dir(
        &mut self,
        reg: &mut BTreeMap<PathBuf, usize>,
        h: &Hierarchy,
        parent: &Path,
        id: &str,
    ) -> Result<(), CgroupError> {
        self.make_dir_inner(reg, h, parent, id, false)
    }

    fn make_dir_inner(
        &mut self,
        reg: &mut BTreeMap<PathBuf, usize>,
        h: &Hierarchy,
        parent: &Path,
        id: &str,
        retried_parent: bool,
    ) -> Result<(), CgroupError> {
        let mut cur = h.mount.clone();
        for comp in parent.components() {
            let next = cur.join(comp);
            match fs::create_dir(&next) {
                Ok(()) => {
                    reg.insert(next.clone(), 0);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(CgroupError::io("mkdir", &next, e)),
            }
            if let Some(n) = reg.get_mut(&next) {
                *n += 1;
                self.parents.push(next.clone());
                // A parent of ours: make it usable for children (again if a previous
                // initialisation failed half-way).
                init_dir(h, &next, true)?;
            } else if h.version == CgroupVersion::V1 && h.has("cpuset") {
                // Someone else's parent, or one a killed cocoon made and never finished:
                // a v1 cpuset with no cpus or mems takes no process. Filling only empty
                // values changes nothing that was usable.
                init_dir(h, &next, true)?;
            }
            cur = next;
        }
        let path = cur.join(id);
        match fs::create_dir(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(CgroupError::AlreadyExists { path: path.display().to_string() })
            }
            // Another process removed the (then empty) default parent between our check
            // and our mkdir: create it again, once.
            Err(e) if e.kind() == io::ErrorKind::NotFound && !retried_parent => {
                return self.make_dir_inner(reg, h, parent, id, true);
            }
            Err(e) => return Err(CgroupError::io("mkdir", &path, e)),
        }
        self.mounts_used.push(h.mount.clone());
        self.dirs.push(Dir {
            version: h.version,
            mount: h.mount.clone(),
            controllers: h.controllers.clone(),
            path: path.clone(),
        });
        init_dir(h, &path, false)
    }

    /// On v2, every controller the configuration uses must be enabled for the new cgroup
    /// (cocoon enables them in parents it created; it never changes other cgroups).
    fn check_v2_controllers(&self, cfg: &CgroupConfig, layout: &Layout) -> Result<(), CgroupError> {
        let mut needed: Vec<&'static str> = Vec::new();
        if cfg.cpu_shares.is_some() || cfg.cpu_weight.is_some() || cfg.cpu_quota.is_some() {
            needed.push("cpu");
        }
        if cfg.cpus.is_some() || cfg.mems.is_some() {
            needed.push("cpuset");
        }
        if cfg.memory_max.is_some() || cfg.memory_high.is_some() || cfg.memory_low.is_some() || cfg.swap_max.is_some() {
            needed.push("memory");
        }
        if cfg.pids_max.is_some() {
            needed.push("pids");
        }
        if cfg.io_weight.is_some() || !cfg.io_limits.is_empty() {
            needed.push("io");
        }
        if !cfg.hugetlb.is_empty() {
            needed.push("hugetlb");
        }
        for c in needed {
            let Some(h) = layout.find(c) else { continue };
            if h.version != CgroupVersion::V2 {
                continue;
            }
            let Some(d) = self.dir_on(h) else { continue };
            let enabled = read(&d.path.join("cgroup.controllers"))?;
            if !enabled.split_whitespace().any(|x| x == c) {
                let parent = d.path.parent().unwrap_or(&d.path);
                return Err(CgroupError::ControllerUnavailable {
                    controller: c,
                    reason: format!(
                        "the v2 hierarchy at {} offers it, but it is not enabled in {}/cgroup.subtree_control \
                         (cocoon enables controllers only in cgroups it created)",
                        h.mount.display(),
                        parent.display()
                    ),
                });
            }
        }
        Ok(())
    }

    fn dir_on(&self, h: &Hierarchy) -> Option<&Dir> {
        self.dirs.iter().find(|d| d.mount == h.mount)
    }

    fn dir_for(&self, layout: &Layout, controller: &str) -> Option<&Dir> {
        layout.find(controller).and_then(|h| self.dir_on(h))
    }

    /// Writes every limit.
    fn apply(&self, cfg: &CgroupConfig, res: &Resolved, layout: &Layout) -> Result<(), CgroupError> {
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
            let val = |b: Option<super::Bytes>| b.map(|b| MaxValue::Value(b.0 as i64));
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
            super::devices::write_v1(&d.path, &cfg.devices)?;
        }
        Ok(())
    }

    /// devices on v2: the rules compiled into an eBPF program on the v2 directory, attached
    /// before any process can enter the cgroup.
    fn attach_device_program(&mut self, res: &Resolved) -> Result<(), CgroupError> {
        let Some(policy) = &res.device_policy else { return Ok(()) };
        let Some(d) = self.dirs.iter().find(|d| d.version == CgroupVersion::V2) else {
            return Err(CgroupError::DeviceRulesNeedEbpf { rules: policy.exceptions.len() });
        };
        self.device_prog = Some(DeviceProgram::attach(&d.path, policy)?);
        Ok(())
    }

    /// The v2 directory fd for `CLONE_INTO_CGROUP`, when the cgroup is only on v2 (a pure
    /// v2 host, or a policy-only cgroup on a hybrid host's unified hierarchy; otherwise the
    /// child must be [`attach`](Self::attach)ed). The fd is
    /// close-on-exec and lives as long as this `Cgroup`.
    pub(crate) fn clone_into_fd(&self) -> Option<RawFd> {
        self.v2_fd.as_ref().map(|fd| fd.as_raw_fd())
    }

    /// `cgroup.kill` of the cgroup's v2 directory (v2, or the unified directory of a hybrid
    /// host) opened for writing, if there is one: the monitor writes it when the caller dies.
    pub(crate) fn kill_file(&self) -> Option<fs::File> {
        let d = self.dirs.iter().find(|d| d.version == CgroupVersion::V2)?;
        fs::OpenOptions::new().write(true).open(d.path.join("cgroup.kill")).ok()
    }

    /// Moves `pid` (a process cocoon created) into the cgroup on every hierarchy, by writing
    /// it to each `cgroup.procs` (blkio before memory).
    pub(crate) fn attach(&self, pid: i32) -> Result<(), CgroupError> {
        if pid <= 0 {
            return Err(CgroupError::invalid("cgroup", "pid", format!("{pid} is not a process id")));
        }
        for d in &self.dirs {
            write(&d.path.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// The process ids in the cgroup (on any of its hierarchies), ascending.
    pub(crate) fn procs(&self) -> Vec<i32> {
        let mut v: Vec<i32> = self
            .dirs
            .iter()
            .filter_map(|d| fs::read_to_string(d.path.join("cgroup.procs")).ok())
            .flat_map(|t| t.lines().filter_map(|l| l.trim().parse().ok()).collect::<Vec<i32>>())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Whether this cgroup only carries the device policy (the container asked for none):
    /// the container's cgroup operations then say it has no cgroup.
    pub(crate) fn policy_only(&self) -> bool {
        self.policy_only
    }

    /// The cgroup's path relative to each hierarchy's root (`<parent>/<id>`).
    pub(crate) fn path(&self) -> &Path {
        &self.rel
    }

    /// The absolute directories, one per hierarchy.
    pub(crate) fn dirs(&self) -> Vec<&Path> {
        self.dirs.iter().map(|d| d.path.as_path()).collect()
    }

    fn freezer_dir(&self) -> Option<&Dir> {
        self.dirs
            .iter()
            .find(|d| d.version == CgroupVersion::V1 && d.controllers.iter().any(|c| c == "freezer"))
            .or_else(|| self.dirs.iter().find(|d| d.version == CgroupVersion::V2))
    }

    /// Freezes every process and waits until the kernel reports the cgroup frozen.
    pub(crate) fn freeze(&self) -> Result<(), CgroupError> {
        self.set_frozen(true)
    }

    /// Thaws the cgroup and waits until the kernel reports it thawed.
    pub(crate) fn thaw(&self) -> Result<(), CgroupError> {
        self.set_frozen(false)
    }

    fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError> {
        let op = if frozen { "freeze" } else { "thaw" };
        let Some(d) = self.freezer_dir() else {
            return Err(CgroupError::ControllerUnavailable { controller: "freezer", reason: "no freezer hierarchy".into() });
        };
        let start = Instant::now();
        if d.version == CgroupVersion::V1 {
            let fz = FreezerController::new(d.path.clone(), d.mount.clone(), false);
            loop {
                let r = if frozen { fz.freeze() } else { fz.thaw() };
                r.map_err(lib_err("freezer", &d.path, if frozen { "FROZEN" } else { "THAWED" }))?;
                let state = fz.state().map_err(lib_err("freezer", &d.path, "(read freezer.state)"))?;
                match (frozen, state) {
                    (true, FreezerState::Frozen) | (false, FreezerState::Thawed) => return Ok(()),
                    _ => {}
                }
                if start.elapsed() > STATE_TIMEOUT {
                    if frozen {
                        let _ = fz.thaw();
                    }
                    return Err(CgroupError::Timeout { op, path: d.path.display().to_string(), waited_ms: STATE_TIMEOUT.as_millis() as u64 });
                }
                sleep(Duration::from_millis(1));
            }
        } else {
            // cgroups-rs reports the requested state (cgroup.freeze), not whether the kernel
            // has reached it; `frozen` in cgroup.events is the completed state.
            write(&d.path.join("cgroup.freeze"), if frozen { "1" } else { "0" })?;
            let events = d.path.join("cgroup.events");
            loop {
                let t = read(&events)?;
                let now = t.lines().any(|l| l.trim() == "frozen 1");
                if now == frozen {
                    return Ok(());
                }
                if start.elapsed() > STATE_TIMEOUT {
                    if frozen {
                        let _ = write(&d.path.join("cgroup.freeze"), "0");
                    }
                    return Err(CgroupError::Timeout { op, path: d.path.display().to_string(), waited_ms: STATE_TIMEOUT.as_millis() as u64 });
                }
                sleep(Duration::from_millis(1));
            }
        }
    }

    /// Current resource usage.
    pub(crate) fn stats(&self) -> Result<CgroupStats, CgroupError> {
        let l = layout()?;
        let dir = |c: &str| self.dir_for(l, c).map(|d| (d.path.as_path(), d.version));
        stats::collect(dir("cpuacct").or(dir("cpu")), dir("memory"), dir("pids"), dir("io"))
    }

    /// Kills every process in the cgroup and waits until it is empty.
    ///
    /// v2 (and the unified directory of a hybrid host): `cgroup.kill`. v1: freeze, SIGKILL
    /// every pid in `cgroup.procs`, thaw, repeat until empty — freezing first means nothing
    /// can fork while the pids are being killed.
    pub(crate) fn kill_all(&self) -> Result<(), CgroupError> {
        if let Some(d) = self.dirs.iter().find(|d| d.version == CgroupVersion::V2) {
            let kill = d.path.join("cgroup.kill");
            if kill.exists() {
                write(&kill, "1")?;
            }
        }
        let start = Instant::now();
        loop {
            let pids = self.procs();
            if pids.is_empty() {
                return Ok(());
            }
            if start.elapsed() > STATE_TIMEOUT {
                return Err(CgroupError::NotEmpty { path: self.rel.display().to_string(), pids });
            }
            let frozen = self.freezer_dir().is_some() && self.freeze().is_ok();
            for pid in self.procs() {
                // These are processes inside our own cgroup; ESRCH just means it is gone.
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
            if frozen {
                self.thaw()?;
            }
            sleep(Duration::from_millis(2));
        }
    }

    /// Leaves the cgroup as it is: a detached container keeps running in it, its device
    /// program still attached (this handle's fds are closed). It is removed, with its
    /// parents, by a later [`Cgroup::create`] of this process once it is empty.
    pub(crate) fn leave(mut self) {
        self.done = true;
        self.device_prog = None;
        self.v2_fd = None;
        detached().push(self);
    }

    /// Kills what is left in the cgroup and removes it from every hierarchy. A directory that
    /// still holds processes after the retries is reported as [`CgroupError::NotEmpty`].
    pub(crate) fn destroy(mut self) -> Result<(), CgroupError> {
        self.done = true;
        let killed = self.kill_all();
        let removed = self.remove_all(&mut registry(), killed.is_ok());
        killed.and(removed)
    }

    /// Removes every directory this cgroup created (retrying while the kernel is still
    /// tearing tasks down) and releases the parents. `empty`: no process is left, so the
    /// device program may be detached (otherwise it stays, and goes with the cgroup).
    fn remove_all(&mut self, reg: &mut BTreeMap<PathBuf, usize>, empty: bool) -> Result<(), CgroupError> {
        self.v2_fd = None;
        if let Some(p) = self.device_prog.take() {
            if empty {
                // The kernel detaches it with the cgroup anyway; this only makes it prompt.
                let _ = p.detach();
            }
        }
        let mut first_err = None;
        for d in self.dirs.drain(..).rev() {
            if let Err(e) = rmdir_retry(&d.path) {
                first_err.get_or_insert(e);
            }
        }
        for p in self.parents.drain(..).rev() {
            if let Some(n) = reg.get_mut(&p) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    reg.remove(&p);
                    // Someone else may have put a cgroup there meanwhile: then it stays.
                    let _ = fs::remove_dir(&p);
                }
            }
        }
        // cocoon's own default parent is removed by whichever process empties it last,
        // even if another process created it (rmdir fails harmlessly while it holds
        // other containers; a process that loses the race re-creates it).
        if self.rel.parent() == Some(Path::new(super::DEFAULT_PARENT)) {
            for mount in &self.mounts_used {
                let p = mount.join(super::DEFAULT_PARENT);
                if !reg.contains_key(&p) {
                    let _ = fs::remove_dir(&p);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        if !self.done {
            self.done = true;
            let empty = self.kill_all().is_ok();
            let _ = self.remove_all(&mut registry(), empty);
        }
    }
}

fn rmdir_retry(path: &Path) -> Result<(), CgroupError> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(1);
    loop {
        match fs::remove_dir(path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && start.elapsed() < RMDIR_TIMEOUT => {
                sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(100));
            }
            Err(e) => {
                let pids: Vec<i32> = fs::read_to_string(path.join("cgroup.procs"))
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|l| l.trim().parse().ok())
                    .collect();
                if !pids.is_empty() {
                    return Err(CgroupError::NotEmpty { path: path.display().to_string(), pids });
                }
                return Err(CgroupError::io("rmdir", path, e));
            }
        }
    }
}

/// Prepares a new directory: v1 cpuset needs cpus and mems before it can hold tasks; a v2
/// parent cocoon created gets every available controller enabled for its children.
fn init_dir(h: &Hierarchy, path: &Path, is_parent: bool) -> Result<(), CgroupError> {
    match h.version {
        CgroupVersion::V1 if h.has("cpuset") => {
            // cgroups-rs does this in CpuSetController::post_create but only logs failures.
            for f in ["cpuset.cpus", "cpuset.mems"] {
                let own = path.join(f);
                if read(&own)?.trim().is_empty() {
                    let parent = path.parent().unwrap_or(path).join(f);
                    let v = read(&parent)?;
                    write(&own, v.trim())?;
                }
            }
            Ok(())
        }
        CgroupVersion::V2 if is_parent => {
            let available = read(&path.join("cgroup.controllers"))?;
            let enabled = read(&path.join("cgroup.subtree_control"))?;
            for c in available.split_whitespace() {
                if !enabled.split_whitespace().any(|e| e == c) {
                    write(&path.join("cgroup.subtree_control"), &format!("+{c}"))?;
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A cgroup cocoon created and owns: the same machinery a container uses, for processes you
/// start yourself.
///
/// ```no_run
/// use cocoon::cgroup::{CgroupConfig, CgroupHandle};
/// let cg = CgroupHandle::create(&CgroupConfig::new().pids_max(16), "cocoon-job-1")?;
/// let child = std::process::Command::new("sleep").arg("1").spawn().unwrap();
/// cg.attach(child.id())?;
/// println!("{:?}", cg.stats()?);
/// cg.destroy()?;
/// # Ok::<(), cocoon::cgroup::CgroupError>(())
/// ```
///
/// Dropping the handle kills the processes in the cgroup and removes it (errors ignored);
/// [`CgroupHandle::destroy`] does the same and reports errors.
#[derive(Debug)]
pub struct CgroupHandle(Cgroup);

impl CgroupHandle {
    /// Creates the cgroup `<parent>/<name>` on every hierarchy and applies `cfg`. Nothing is
    /// left behind on error. A cgroup of that name that already exists is an error.
    pub fn create(cfg: &CgroupConfig, name: &str) -> Result<CgroupHandle, CgroupError> {
        Cgroup::create(cfg, name).map(CgroupHandle)
    }
    /// Moves process `pid` into the cgroup on every hierarchy.
    pub fn attach(&self, pid: u32) -> Result<(), CgroupError> {
        let pid = i32::try_from(pid).map_err(|_| CgroupError::invalid("cgroup", "pid", format!("{pid} is not a process id")))?;
        self.0.attach(pid)
    }
    /// The v2 directory fd for `clone3(CLONE_INTO_CGROUP)` on a pure v2 host.
    pub fn clone_into_fd(&self) -> Option<RawFd> {
        self.0.clone_into_fd()
    }
    /// Freezes the processes and waits until they are frozen.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        self.0.freeze()
    }
    /// Thaws the processes and waits until they run again.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        self.0.thaw()
    }
    /// Current resource usage.
    pub fn stats(&self) -> Result<CgroupStats, CgroupError> {
        self.0.stats()
    }
    /// The processes in the cgroup.
    pub fn procs(&self) -> Vec<i32> {
        self.0.procs()
    }
    /// Kills every process in the cgroup and waits until it is empty.
    pub fn kill_all(&self) -> Result<(), CgroupError> {
        self.0.kill_all()
    }
    /// The path relative to the hierarchy roots (`<parent>/<name>`).
    pub fn path(&self) -> &Path {
        self.0.path()
    }
    /// The absolute directories, one per hierarchy.
    pub fn dirs(&self) -> Vec<&Path> {
        self.0.dirs()
    }
    /// Kills the processes and removes the cgroup.
    pub fn destroy(self) -> Result<(), CgroupError> {
        self.0.destroy()
    }
}
