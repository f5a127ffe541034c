//! [`CgroupHandle`]: the public handle on a cgroup cocoon creates, for processes the caller
//! starts itself.

use std::os::fd::RawFd;
use std::path::Path;

use super::driver::{driver, ContainerCgroup};
use super::{CgroupConfig, CgroupError, CgroupStats};

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
pub struct CgroupHandle(Box<dyn ContainerCgroup>);

impl CgroupHandle {
    /// Creates the cgroup `<parent>/<name>` on every hierarchy and applies `cfg`. Nothing is
    /// left behind on error. A cgroup of that name that already exists is an error.
    pub fn create(cfg: &CgroupConfig, name: &str) -> Result<CgroupHandle, CgroupError> {
        driver(cfg).create(cfg, name).map(CgroupHandle)
    }
    /// The existing cgroup at `path` (relative to the hierarchy roots, `<parent>/<name>`),
    /// made by cocoon in this or another process (an OCI runtime's `delete`, `pause`, `ps`
    /// and `events` run in other processes than its `create`). Dropping this handle, like
    /// one from [`CgroupHandle::create`], kills what is in it and removes it;
    /// [`CgroupHandle::release`] lets go of it untouched.
    pub fn open(path: impl AsRef<Path>) -> Result<CgroupHandle, CgroupError> {
        Ok(CgroupHandle(Box::new(crate::cgroup::cgroupfs::Cgroup::open(path.as_ref())?)))
    }
    /// The driver's cgroup, for the exec path.
    pub(crate) fn driver(&self) -> &dyn ContainerCgroup {
        self.0.as_ref()
    }
    /// Lets go of the cgroup without touching it (it stays, with its processes).
    pub fn release(self) {
        self.0.forget();
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
    /// Changes the limits of the live cgroup: those `cfg` sets are written, the others
    /// stay (its parent and name are not used). Values are checked before anything is
    /// written; device rules cannot change ([`CgroupError::Invalid`]).
    pub fn update(&self, cfg: &CgroupConfig) -> Result<(), CgroupError> {
        self.0.update(cfg)
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
