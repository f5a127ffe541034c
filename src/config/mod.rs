//! Phase 1, *describe*: the public builders and value types a container is made from.
//! Nothing here touches the host; [`crate::plan`] turns a description into a `Plan`.
//!
//! The modules are re-exported at the crate root (`cocoon::builder`, `cocoon::process`,
//! ...), which is their public path.

pub mod builder;
mod builder_setters;
pub mod capability;
pub(crate) mod env;
pub mod idmap;
pub mod landlock;
mod lifecycle;
pub mod mount;
pub mod namespace;
pub mod process;
pub mod rootfs;
pub mod subids;
pub(crate) mod sysctl;
