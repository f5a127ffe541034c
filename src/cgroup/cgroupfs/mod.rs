//! The cgroupfs driver: a container's cgroup is directories cocoon makes itself, with
//! `mkdir` on every hierarchy it uses (or the machine's shared device-policy directory,
//! `shared_policy.rs`). This file holds the cgroup and its removal: the directories, the
//! parents this process owns, and detached containers' cgroups left to remove later.
//! Creating it is in `create.rs`, writing the limits in `limits.rs`, the processes in it in
//! `tasks.rs`, what killed callers left behind in `sweep.rs`.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::cgroup::bpf::DeviceProgram;
use crate::cgroup::driver::{CgroupDriver, ContainerCgroup};
use crate::cgroup::layout::{layout, Hierarchy, Layout};
use crate::cgroup::stats::{self, CgroupStats};
use crate::cgroup::{CgroupConfig, CgroupError, CgroupVersion};

mod create;
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
    crate::kernel_file::read_to_string(path, 1024).map_err(|e| CgroupError::io("read", path, e))
}

fn lib_err(controller: &'static str, dir: &Path, value: impl Into<String>) -> impl FnOnce(cgroups_rs::fs::error::Error) -> CgroupError {
    let path = dir.display().to_string();
    let value = value.into();
    move |e| CgroupError::Write { controller, path, value, source: Box::new(e) }
}

impl Cgroup {
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

/// The cgroupfs driver (see the module comment).
pub(crate) struct Cgroupfs;

impl CgroupDriver for Cgroupfs {
    fn create(&self, cfg: &CgroupConfig, id: &str) -> Result<Box<dyn ContainerCgroup>, CgroupError> {
        Ok(Box::new(Cgroup::create(cfg, id)?))
    }

    fn sweep_once(&self, parent: &Path) {
        sweep::sweep_once(parent)
    }
}

impl ContainerCgroup for Cgroup {
    fn clone_into_fd(&self) -> Option<RawFd> {
        Cgroup::clone_into_fd(self)
    }
    fn kill_fd(&self) -> Option<OwnedFd> {
        self.kill_file().map(OwnedFd::from)
    }
    fn attach(&self, pid: i32) -> Result<(), CgroupError> {
        Cgroup::attach(self, pid)
    }
    fn policy_only(&self) -> bool {
        Cgroup::policy_only(self)
    }
    fn freeze(&self) -> Result<(), CgroupError> {
        Cgroup::freeze(self)
    }
    fn thaw(&self) -> Result<(), CgroupError> {
        Cgroup::thaw(self)
    }
    fn stats(&self) -> Result<CgroupStats, CgroupError> {
        Cgroup::stats(self)
    }
    fn update(&self, cfg: &CgroupConfig) -> Result<(), CgroupError> {
        Cgroup::update(self, cfg)
    }
    fn procs(&self) -> Vec<i32> {
        Cgroup::procs(self)
    }
    fn kill_all(&self) -> Result<(), CgroupError> {
        Cgroup::kill_all(self)
    }
    fn path(&self) -> &Path {
        Cgroup::path(self)
    }
    fn dirs(&self) -> Vec<&Path> {
        Cgroup::dirs(self)
    }
    fn destroy(self: Box<Self>) -> Result<(), CgroupError> {
        Cgroup::destroy(*self)
    }
    fn leave(self: Box<Self>) {
        Cgroup::leave(*self)
    }
    fn forget(mut self: Box<Self>) {
        self.done = true;
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
                let pids: Vec<i32> = crate::kernel_file::read_to_string(path.join("cgroup.procs"), 256)
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
