//! Creating and removing one container's cgroup: its directories on every hierarchy, the
//! parents this process owns, and detached containers' cgroups left to remove later.
//! Writing the limits is in `limits.rs`, the processes in it in `tasks.rs`.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::cgroup::bpf::DeviceProgram;
use crate::cgroup::config::{validate_name, CgroupConfig};
use crate::cgroup::layout::{layout, Hierarchy, Layout};
use crate::cgroup::stats::{self, CgroupStats};
use crate::cgroup::{CgroupError, CgroupVersion};

mod limits;
pub(crate) mod shared_policy;
pub(crate) mod sweep;
mod tasks;

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
    /// The machine's shared policy directory the container is born in (`shared_policy`):
    /// not this cgroup's to list, kill or remove. Then `dirs` is empty.
    shared: Option<PathBuf>,
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
        if cfg.policy_shared {
            // Any failure (e.g. a program that is not ours attached there): a cgroup of its own.
            if let Some(c) = unified.and_then(|u| Cgroup::shared(cfg, layout, u).ok()) {
                return Ok(c);
            }
        }
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

    /// A policy-only cgroup that is the machine's shared policy directory on `unified`.
    fn shared(cfg: &CgroupConfig, layout: &Layout, unified: &Hierarchy) -> Result<Cgroup, CgroupError> {
        let res = cfg.resolve_for(layout, Some(unified))?;
        let Some(policy) = &res.device_policy else {
            return Err(CgroupError::invalid("cgroup", "devices", "a policy-only cgroup without a policy"));
        };
        let (path, fd) = shared_policy::open(unified, policy)?;
        Ok(Cgroup {
            rel: path.strip_prefix(&unified.mount).unwrap_or(&path).to_path_buf(),
            dirs: Vec::new(),
            parents: Vec::new(),
            mounts_used: Vec::new(),
            v2_fd: Some(fd),
            device_prog: None,
            policy_only: true,
            shared: Some(path),
            done: false,
        })
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
            shared: None,
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

    /// Current resource usage.
    pub(crate) fn stats(&self) -> Result<CgroupStats, CgroupError> {
        let l = layout()?;
        let dir = |c: &str| self.dir_for(l, c).map(|d| (d.path.as_path(), d.version));
        stats::collect(dir("cpuacct").or(dir("cpu")), dir("memory"), dir("pids"), dir("io"))
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
        if self.rel.parent() == Some(Path::new(crate::cgroup::DEFAULT_PARENT)) {
            for mount in &self.mounts_used {
                let p = mount.join(crate::cgroup::DEFAULT_PARENT);
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
