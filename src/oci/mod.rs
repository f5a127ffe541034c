//! OCI runtime bundles: a bundle's `config.json` (the [OCI runtime spec], typed by the
//! `oci-spec` crate) turned into a [`ContainerBuilder`](crate::ContainerBuilder) (cargo feature `oci`).
//!
//! ```no_run
//! use std::path::Path;
//! let bundle = cocoon::oci::Bundle::load(Path::new("/run/bundles/web"))?;
//! let conv = cocoon::oci::builder_from_spec(&bundle.spec, &bundle.dir, "web")?;
//! for w in &conv.warnings {
//!     eprintln!("warning: {w}");
//! }
//! let mut c = conv.builder.spawn().map_err(cocoon::oci::OciError::from)?;
//! c.wait().map_err(cocoon::oci::OciError::from)?;
//! # Ok::<(), cocoon::oci::OciError>(())
//! ```
//!
//! The conversion is strict: a field cocoon cannot honour is an
//! [`OciError::Unsupported`] naming it by its JSON path (`linux.seccomp`,
//! `mounts[3].options`), a value that is wrong an [`OciError::Invalid`]; only fields that
//! cannot weaken isolation become [`Converted::warnings`] (`process.apparmorProfile` on a
//! host cocoon does not label with AppArmor, as crun does). What maps where:
//!
//! | spec | cocoon |
//! |---|---|
//! | `root.path` (relative to the bundle), `root.readonly` | [`Rootfs::Directory`](crate::Rootfs::Directory), `read_only_root` |
//! | `process.*` | [`Process`](crate::Process): args, env, cwd, user, umask, capabilities, rlimits, noNewPrivileges, oomScoreAdj (`terminal` is returned) |
//! | `hostname`, `domainname` | the same |
//! | `linux.namespaces`, `uidMappings`, `gidMappings`, `timeOffsets` | [`Namespaces`](crate::Namespaces), `join_namespace` (net, ipc, uts), id maps, [`TimeOffsets`](crate::TimeOffsets) |
//! | `mounts` | the only mounts (`standard_mounts(false)`, then each in order, then the default devices and `/dev` links) |
//! | `linux.maskedPaths`, `readonlyPaths`, `sysctl`, `rootfsPropagation` | the same (sysctls of the container's namespaces only) |
//! | `linux.devices` | character devices: the host's node bound in and allowed in the cgroup |
//! | `linux.resources` | [`CgroupConfig`](crate::CgroupConfig); `linux.cgroupsPath` is returned |
//! | `hooks` | returned as they are; `annotations` ignored |
//!
//! [OCI runtime spec]: https://github.com/opencontainers/runtime-spec

mod bundle;
mod convert;
mod error;
#[cfg(test)]
mod tests;

pub use bundle::{Bundle, MAX_CONFIG_SIZE};
pub use convert::{builder_from_spec, exec_process_from_spec, update_from_resources, Converted};
pub use error::OciError;
pub use oci_spec::runtime::{Hooks, Spec};
