//! The cgroup driver interface: everything the spawn path, [`Container`](crate::Container)
//! and [`CgroupHandle`](super::CgroupHandle) ask of a cgroup, whoever makes it.
//!
//! A [`CgroupDriver`] creates one [`ContainerCgroup`] per container, in the parent before the
//! clone. The child only ever sees the raw fds taken from it before the clone
//! ([`ContainerCgroup::clone_into_fd`], [`ContainerCgroup::kill_fd`]): nothing of the driver
//! runs between clone and exec, so a driver may allocate, lock and talk to other processes.
//!
//! Today's only driver is `cgroupfs` (`cgroupfs/`: cocoon makes the directories itself).
//! A systemd driver (a transient scope per container, asked for over D-Bus, as crun and
//! runc do with `--systemd-cgroup`) is a second implementation beside it, chosen by
//! [`driver`]; `src/spawn/` does not change.

use std::fmt;
use std::os::fd::{OwnedFd, RawFd};
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::path::Path;

use super::{CgroupConfig, CgroupError, CgroupStats};

/// Makes containers' cgroups.
pub(crate) trait CgroupDriver: Sync {
    /// Creates the cgroup of container `id` with `cfg`'s limits and device policy, before
    /// the container's first process exists. Nothing is left behind on error; a cgroup of
    /// that name that already exists is [`CgroupError::AlreadyExists`].
    fn create(&self, cfg: &CgroupConfig, id: &str) -> Result<Box<dyn ContainerCgroup>, CgroupError>;

    /// Housekeeping at the first spawn of this process under `parent`: what callers killed
    /// before their teardown left behind. Called while the first child sets itself up;
    /// never a reason for a spawn to fail (a driver ignores its own errors here).
    fn sweep_once(&self, parent: &Path);
}

/// One container's cgroup, made by a [`CgroupDriver`].
///
/// Dropping it without [`destroy`](ContainerCgroup::destroy) or
/// [`leave`](ContainerCgroup::leave) kills its processes and removes it, best effort. The
/// auto-trait bounds keep [`Container`](crate::Container) and
/// [`CgroupHandle`](super::CgroupHandle) `Send`, `Sync` and unwind-safe.
pub(crate) trait ContainerCgroup: fmt::Debug + Send + Sync + UnwindSafe + RefUnwindSafe {
    /// Placing the child, first way: a cgroup2 directory fd the container's first process
    /// is born in (`clone3(CLONE_INTO_CGROUP)`), when the cgroup is on cgroup2 only. `None`:
    /// the parent [`attach`](ContainerCgroup::attach)es it between READY and GO. The fd
    /// lives as long as `self` and is close-on-exec.
    fn clone_into_fd(&self) -> Option<RawFd>;

    /// A writable `cgroup.kill` for the monitor, which writes it when the caller dies (so
    /// that processes out of the PID namespace's reach die too); `None` if there is none.
    fn kill_fd(&self) -> Option<OwnedFd>;

    /// Placing the child, second way: moves process `pid` (one cocoon created: the first
    /// process, or one exec'd into the container) into the cgroup.
    fn attach(&self, pid: i32) -> Result<(), CgroupError>;

    /// Whether it only carries the device policy of a container that asked for no cgroup:
    /// the container then says it has no cgroup (no freeze, stats, pids or path).
    fn policy_only(&self) -> bool;

    /// Freezes every process and waits until the kernel reports the cgroup frozen.
    fn freeze(&self) -> Result<(), CgroupError>;

    /// Thaws the cgroup and waits until the kernel reports it thawed.
    fn thaw(&self) -> Result<(), CgroupError>;

    /// Current resource usage.
    fn stats(&self) -> Result<CgroupStats, CgroupError>;

    /// Writes the limits `cfg` sets into the live cgroup (the others stay).
    fn update(&self, cfg: &CgroupConfig) -> Result<(), CgroupError>;

    /// The process ids in the cgroup, ascending.
    fn procs(&self) -> Vec<i32>;

    /// Kills every process in the cgroup and waits until it is empty.
    fn kill_all(&self) -> Result<(), CgroupError>;

    /// The cgroup's path relative to the hierarchy roots (`<parent>/<id>`).
    fn path(&self) -> &Path;

    /// The absolute directories, one per hierarchy.
    fn dirs(&self) -> Vec<&Path>;

    /// Kills what is left in the cgroup and removes it, reporting failures.
    fn destroy(self: Box<Self>) -> Result<(), CgroupError>;

    /// Leaves the cgroup as it is (a detached container keeps running in it); the driver
    /// removes it once it is empty.
    fn leave(self: Box<Self>);

    /// Lets go of the cgroup without touching it or remembering it (a handle from
    /// [`crate::cgroup::CgroupHandle::open`] on another process's cgroup). By default as
    /// [`ContainerCgroup::leave`].
    fn forget(self: Box<Self>) {
        self.leave()
    }
}

/// The driver that makes `cfg`'s cgroup. A systemd driver is chosen here (e.g. by a setting
/// of `cfg`, or by the host running systemd with a delegated subtree).
pub(crate) fn driver(cfg: &CgroupConfig) -> &'static dyn CgroupDriver {
    let _ = cfg;
    &super::cgroupfs::Cgroupfs
}

#[cfg(test)]
mod tests {
    use std::panic::{RefUnwindSafe, UnwindSafe};

    fn auto_traits<T: Send + Sync + UnwindSafe + RefUnwindSafe + Unpin>() {}

    /// Holding a `Box<dyn ContainerCgroup>` keeps the public handles' auto traits (they had
    /// them when they held the cgroupfs type itself).
    #[test]
    fn public_handles_keep_their_auto_traits() {
        auto_traits::<crate::Container>();
        auto_traits::<super::super::CgroupHandle>();
    }
}
