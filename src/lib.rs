//! # cocoon
//!
//! Linux containers built in-process: namespaces, cgroups, SELinux labels and a pivoted
//! root filesystem, behind typed builders, safe to call from a multithreaded host.
//!
//! The README's quick start (run as a doc test, as root):
//!
//! ```
//! use cocoon::{Bytes, CgroupConfig, ContainerBuilder, Namespaces, Process};
//!
//! let mut container = ContainerBuilder::new(Process::new("/bin/sh").args(["-c", "hostname; id"]))
//!     .namespaces(Namespaces::DEFAULT)          // mount, uts, ipc, pid, net, cgroup
//!     .hostname("sandbox")
//!     .read_only_root(true)                     // root: the embedded host sandbox
//!     .cgroup(CgroupConfig::new().memory_max(Bytes::mib(64)).pids_max(32))
//!     .spawn()?;
//! assert!(container.wait()?.success());         // dropping the handle kills and cleans up
//! # Ok::<(), cocoon::Error>(())
//! ```
//!
//! The layout of the crate is described in `docs/ARCHITECTURE.md`.
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(clippy::missing_safety_doc)]
#![cfg(target_os = "linux")]

pub mod builder;
pub mod capability;
pub mod cgroup;
mod child;
mod env;
pub mod container;
pub mod error;
pub mod ffi;
mod helper;
mod monitor_stack;
pub mod idmap;
pub mod image_file;
pub mod mount;
pub mod namespace;
pub mod plan;
pub mod process;
pub mod rootfs;
pub mod seccomp;
pub mod selinux;
mod spawn;
mod sys;

pub use builder::ContainerBuilder;
pub use capability::{CapSet, Capabilities, Capability};
pub use cgroup::{Bytes, CgroupConfig, CgroupStats};
pub use container::{Container, ExecProcess, ExitStatus};
pub use error::{Error, Result, Stage};
pub use idmap::IdRange;
pub use image_file::ImageFileProblem;
pub use mount::Mount;
pub use namespace::{Namespaces, TimeOffsets};
pub use plan::Plan;
pub use process::{Process, Rlimit, Stdio, User};
pub use rootfs::Rootfs;
pub use seccomp::Seccomp;
pub use selinux::SelinuxConfig;

#[cfg(test)]
mod thread_safety {
    // A multithreaded host shares plans and moves handles between threads.
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}

    #[test]
    fn handles_cross_threads() {
        send_sync::<crate::Plan>();
        send_sync::<crate::ContainerBuilder>();
        send::<crate::Container>();
        send::<crate::ExecProcess>();
        send_sync::<crate::Error>();
    }
}
