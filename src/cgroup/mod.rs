//! Cgroups: typed controllers, limits, stats and cleanup on v1, v2 and hybrid hosts.
//!
//! [`CgroupConfig`] describes the limits; [`CgroupConfig::validate`] checks them against the
//! host. A container's cgroup is created when it spawns, on every hierarchy that has a
//! controller cocoon uses (on a hybrid host also on the unified hierarchy, which gives
//! `cgroup.kill`), and removed when the container is torn down. [`CgroupHandle`] offers the
//! same machinery for processes you start yourself.
//!
//! Every container spawned by a caller with CAP_SYS_ADMIN in the initial user namespace
//! (root) gets a device policy: Docker's default allowlist plus the configuration's
//! [`DeviceRule`]s, through the v1 devices controller or, on cgroup v2, an eBPF device
//! program. A container without [`CgroupConfig`] gets the cheapest cgroup that carries it
//! (only the v1 devices hierarchy, or the one v2 directory).
//!
//! The spawn path and the handles use a cgroup only through the driver interface
//! (`driver.rs`: `CgroupDriver`, `ContainerCgroup`); today's driver is `cgroupfs/`, where
//! cocoon makes the directories itself.
//!
//! Writing limit values goes through the `cgroups-rs` controllers. cocoon adds what that crate
//! lacks: hybrid-layout detection, creating only the directories it owns and removing exactly
//! those, typed validation, CPU burst, BFQ I/O weights, v2 freeze completion
//! (`cgroup.events`), v1 kill-all, and stats readers that report read errors instead of zeros.

mod bpf;
mod cgroupfs;
mod config;
mod device_rule;
mod devices;
mod driver;
mod handle;
mod layout;
mod resolve;
mod stats;
mod units;

use std::fmt;
use std::path::Path;

pub use config::{CgroupConfig, DEFAULT_PARENT, PIDS_MAX_LIMIT};
pub use device_rule::{DeviceAccess, DeviceKind, DeviceNumber, DeviceRule, DEVICE_MAJOR_MAX, DEVICE_MINOR_MAX};
pub use units::{BlockDevice, Bytes, CpuShares, CpuWeight, IdSet, IdSetParseError, IoLimit, IoRate};
pub use layout::{controller_version, host_mode, CgroupMode};
pub(crate) use layout::{layout, Layout};
pub(crate) use driver::{driver, CgroupDriver, ContainerCgroup};
pub(crate) use devices::policy_required;
#[cfg(feature = "oci")]
pub(crate) use devices::default_rules;
pub use handle::CgroupHandle;
pub use cgroupfs::sweep::sweep_stale;
pub use stats::{CgroupStats, CpuStats, IoStats, MemoryStats, PidsStats};

/// A cgroup hierarchy version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CgroupVersion {
    /// cgroup v1 (one hierarchy per controller or group of controllers).
    V1,
    /// cgroup v2 (the unified hierarchy).
    V2,
}

impl fmt::Display for CgroupVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CgroupVersion::V1 => "cgroup v1",
            CgroupVersion::V2 => "cgroup v2",
        })
    }
}

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

    /// Writing a limit failed (the kernel refused the value, or the file is missing).
    #[error("cgroup {controller}: writing {value:?} to {path}: {source}")]
    Write {
        /// The controller.
        controller: &'static str,
        /// The cgroup directory.
        path: String,
        /// The value written.
        value: String,
        /// What went wrong (the OS error is in its source chain).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A configured value is out of range or names something the host does not have.
    #[error("invalid cgroup {controller} setting {setting}: {reason}")]
    Invalid {
        /// The controller (`"cpu"`, `"memory"`, ...; `"cgroup"` for names and paths).
        controller: &'static str,
        /// The setting.
        setting: &'static str,
        /// Why, naming the value.
        reason: String,
    },

    /// The host's cgroup version for this controller cannot express the value.
    #[error("cgroup {controller} setting {setting} cannot be expressed on {version}: {reason}")]
    Unsupported {
        /// The controller.
        controller: &'static str,
        /// The setting.
        setting: &'static str,
        /// The version of the hierarchy holding the controller.
        version: CgroupVersion,
        /// Why.
        reason: String,
    },

    /// Device rules were given (or the default device policy is needed) but the host has
    /// neither a cgroup v1 devices controller nor a cgroup2 hierarchy to attach an eBPF device
    /// program to.
    #[error(
        "{rules} device rule(s) given, but this host has neither a cgroup v1 devices controller \
         nor a cgroup2 hierarchy for an eBPF device program"
    )]
    DeviceRulesNeedEbpf {
        /// How many rules were given.
        rules: usize,
    },

    /// A controller the configuration needs is not usable here.
    #[error("cgroup controller {controller} is not available: {reason}")]
    ControllerUnavailable {
        /// The controller.
        controller: &'static str,
        /// Why.
        reason: String,
    },

    /// No cgroup filesystem is mounted.
    #[error("no cgroup filesystem is mounted")]
    NoCgroupfs,

    /// A cgroup with the container's name already exists: cocoon never adopts a cgroup it did
    /// not create.
    #[error("cgroup {path} already exists")]
    AlreadyExists {
        /// The directory.
        path: String,
    },

    /// Processes were still in the cgroup after killing them and waiting.
    #[error("cgroup {path} still holds processes {pids:?} after kill and retries")]
    NotEmpty {
        /// The directory.
        path: String,
        /// What was left.
        pids: Vec<i32>,
    },

    /// A state change (freeze, thaw, teardown) did not complete in time.
    #[error("cgroup {op} of {path} did not complete within {waited_ms} ms")]
    Timeout {
        /// The operation.
        op: &'static str,
        /// The directory.
        path: String,
        /// How long cocoon waited.
        waited_ms: u64,
    },
}

impl CgroupError {
    /// The OS error number, if any.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            CgroupError::Io { source, .. } => source.raw_os_error(),
            CgroupError::Write { source, .. } => {
                let mut e: Option<&(dyn std::error::Error + 'static)> = Some(source.as_ref());
                while let Some(err) = e {
                    if let Some(io) = err.downcast_ref::<std::io::Error>() {
                        return io.raw_os_error();
                    }
                    e = err.source();
                }
                None
            }
            _ => None,
        }
    }

    pub(crate) fn io(op: &'static str, path: impl AsRef<Path>, source: std::io::Error) -> Self {
        CgroupError::Io { op, path: path.as_ref().display().to_string(), source }
    }

    pub(crate) fn invalid(controller: &'static str, setting: &'static str, reason: impl Into<String>) -> Self {
        CgroupError::Invalid { controller, setting, reason: reason.into() }
    }

    pub(crate) fn unsupported(
        controller: &'static str,
        setting: &'static str,
        version: CgroupVersion,
        reason: impl Into<String>,
    ) -> Self {
        CgroupError::Unsupported { controller, setting, version, reason: reason.into() }
    }
}
