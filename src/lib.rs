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
// docs.rs (Cargo.toml, [package.metadata.docs.rs]) marks each item with the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

// The three phases (docs/ARCHITECTURE.md): describe, plan, spawn (parent) + child.
mod config;
pub mod plan;
mod spawn;
mod child;

pub mod cgroup;
pub mod error;
pub mod events;
pub mod ffi;
mod helper;
pub mod image;
pub mod image_file;
pub mod logs;
pub mod net;
#[cfg(feature = "oci")]
pub mod oci;
pub mod seccomp;
pub mod selinux;
pub mod stats;
pub mod supervisor;
pub mod warm;
mod kernel_file;
mod owner;
mod sys;

// The public paths of the description and the running container stay at the root.
pub use config::{builder, capability, idmap, landlock, mount, namespace, process, rootfs, subids};
pub use spawn::container;
pub use spawn::run;

// `no_inline`: listed as re-exports of their modules, as when those sat at the root.
#[doc(no_inline)]
pub use builder::ContainerBuilder;
#[doc(no_inline)]
pub use capability::{CapSet, Capabilities};
pub use capability::Capability;
pub use cgroup::{Bytes, CgroupConfig, CgroupStats};
#[doc(no_inline)]
pub use container::{Container, ExecProcess, ExitStatus, RunningContainer};
pub use run::{EndedBy, Output, RunOptions};
pub use error::{Error, Result, Stage};
#[doc(no_inline)]
pub use idmap::IdRange;
pub use subids::SubordinateIds;
pub use image_file::ImageFileProblem;
#[doc(no_inline)]
pub use mount::Mount;
#[doc(no_inline)]
pub use namespace::{Namespaces, TimeOffsets};
pub use net::{BridgeNetwork, Ipv4Subnet, Network, NetworkInfo, PublishedPort};
pub use plan::Plan;
pub use warm::{Pool, PoolOptions, PoolStats, WarmContainer};
pub use spawn::hold::start_created;
#[doc(no_inline)]
pub use process::{Process, Rlimit, Stdio, User};
#[doc(no_inline)]
pub use rootfs::Rootfs;
#[doc(no_inline)]
pub use seccomp::Seccomp;
pub use landlock::{FsAccess, Landlock, LandlockMode, NetAccess};
pub use plan::LandlockStatus;
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
        send::<crate::WarmContainer>();
        send_sync::<crate::Pool>();
        send_sync::<crate::Error>();
    }
}
