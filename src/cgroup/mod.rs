//! Cgroups: typed controllers, limits, stats and cleanup on v1, v2 and hybrid hosts.
//!
//! (Placeholder: filled in by the cgroups work.)

use std::os::fd::RawFd;

/// Why a cgroup operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CgroupError {
    /// An OS call on cgroupfs failed.
    #[error("cgroup {op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The cgroupfs path.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl CgroupError {
    /// The OS error number, if any.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            CgroupError::Io { source, .. } => source.raw_os_error(),
        }
    }
}

/// Limits for a container's cgroup.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CgroupConfig {}

/// A cgroup cocoon created for one container.
#[derive(Debug)]
pub(crate) struct Cgroup {}

impl Cgroup {
    /// Creates the container's cgroup and applies the limits.
    pub(crate) fn create(_cfg: &CgroupConfig, _id: &str) -> Result<Cgroup, CgroupError> {
        Ok(Cgroup {})
    }

    /// The v2 directory fd for `CLONE_INTO_CGROUP`, when the whole container fits in v2.
    pub(crate) fn clone_into_fd(&self) -> Option<RawFd> {
        None
    }

    /// Moves `pid` (a process cocoon created) into the cgroup on every hierarchy.
    pub(crate) fn attach(&self, _pid: i32) -> Result<(), CgroupError> {
        Ok(())
    }

    /// Kills what is left in the cgroup and removes it.
    pub(crate) fn destroy(self) -> Result<(), CgroupError> {
        Ok(())
    }
}
