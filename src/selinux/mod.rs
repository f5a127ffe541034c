//! SELinux: typed contexts, MCS levels, process/mount/file labels.
//!
//! (Placeholder: filled in by the SELinux work.)

use std::ffi::CString;

/// Why an SELinux operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SelinuxError {
    /// A context string is malformed.
    #[error("invalid SELinux context {0:?}")]
    InvalidContext(String),
}

impl SelinuxError {
    /// The OS error number, if any.
    pub fn raw_os_error(&self) -> Option<i32> {
        None
    }
}

/// SELinux settings of a container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelinuxConfig {}

/// What the spawn engine needs, computed before the clone.
#[derive(Debug, Default)]
pub(crate) struct SelinuxPlan {
    /// Written to `/proc/thread-self/attr/exec` right before exec.
    pub(crate) exec_label: Option<CString>,
    /// Added as `context="..."` to tmpfs/devpts mounts.
    pub(crate) mount_label: Option<CString>,
}

impl SelinuxConfig {
    /// Resolves labels and reserves an MCS level for container `id`.
    pub(crate) fn prepare(&self, _id: &str) -> Result<SelinuxPlan, SelinuxError> {
        Ok(SelinuxPlan::default())
    }
}
