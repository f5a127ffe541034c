//! The spec → builder conversion: [`builder_from_spec`] and its parts, one file per
//! concern (`process.rs`, `mounts.rs`, `namespaces.rs`, `resources.rs`, `linux.rs`).

mod linux;
mod mounts;
mod namespaces;
mod process;
mod resources;
pub use resources::update_from_resources;
mod seccomp;

use std::path::{Path, PathBuf};

use oci_spec::runtime::{Hooks, Spec};

use super::OciError;
use crate::{ContainerBuilder, Rootfs};

/// What a spec became.
#[derive(Debug)]
pub struct Converted {
    /// The container, ready to prepare or spawn.
    pub builder: ContainerBuilder,
    /// The spec's hooks, as they are (the runtime runs them).
    pub hooks: Option<Hooks>,
    /// Fields that were not honoured but cannot weaken isolation, and adjustments cocoon
    /// made, one sentence each naming the field.
    pub warnings: Vec<String>,
    /// `process.terminal`: the runtime gives the process a pseudo-terminal.
    pub terminal: bool,
    /// `linux.cgroupsPath`, for the runtime to place the container's cgroup.
    pub cgroups_path: Option<PathBuf>,
    /// `linux.seccomp.listenerPath` and `listenerMetadata` when the profile has notify
    /// rules: the runtime sends the container's seccomp listener there.
    pub seccomp_listener: Option<(PathBuf, String)>,
}

/// A process to run in an existing container (`runc exec --process process.json`): the
/// process converted as [`builder_from_spec`] converts the spec's own, under the
/// container spec's seccomp profile (as runc applies it to exec'd processes). Returns the
/// process, `terminal`, and the warnings.
pub fn exec_process_from_spec(process: &oci_spec::runtime::Process, spec: &Spec) -> Result<(crate::Process, bool, Vec<String>), OciError> {
    let mut warnings = Vec::new();
    let (mut p, terminal) = process::convert(process, &mut warnings)?;
    if let Some(s) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        let (programs, notify) = seccomp::convert(s, &mut warnings)?;
        p.set_seccomp_programs(programs);
        if let Some(n) = notify {
            p.set_seccomp_notify(n);
        }
    }
    Ok((p, terminal, warnings))
}

/// Turns `spec` (of the bundle at `bundle_dir`, which relative paths are taken from) into a
/// builder for container `id`. Nothing on the host is changed; bind sources and the root
/// directory are looked at, and the builder is validated (its cgroup settings against the
/// host's hierarchies).
pub fn builder_from_spec(spec: &Spec, bundle_dir: &Path, id: &str) -> Result<Converted, OciError> {
    super::bundle::check_version(spec.version())?;
    crate::builder::validate_id(id).map_err(|e| OciError::invalid("id", e.to_string()))?;
    let mut warnings = Vec::new();
    for (field, set) in [
        ("solaris", spec.solaris().is_some()),
        ("windows", spec.windows().is_some()),
        ("vm", spec.vm().is_some()),
        ("zos", spec.zos().is_some()),
    ] {
        if set {
            return Err(OciError::unsupported(field, "cocoon runs Linux containers only"));
        }
    }
    let proc = spec.process().as_ref().ok_or_else(|| OciError::invalid("process", "a container needs a process"))?;
    let (process, terminal) = process::convert(proc, &mut warnings)?;
    let mut b = ContainerBuilder::new(process);
    b.set_id(id);

    let root = spec.root().as_ref().ok_or_else(|| OciError::invalid("root", "a Linux container needs a root"))?;
    let root_path = absolute_in_bundle(bundle_dir, root.path());
    if !root_path.is_dir() {
        return Err(OciError::invalid("root.path", format!("{} is not a directory", root_path.display())));
    }
    b.set_rootfs(Rootfs::directory(root_path));
    b.set_read_only_root(root.readonly().unwrap_or(false));

    let Some(linux) = spec.linux().as_ref() else {
        return Err(OciError::unsupported("linux", "a Linux container needs the linux section (at least its mount namespace)"));
    };
    let mounts = spec.mounts().as_deref().unwrap_or(&[]);
    namespaces::convert(&mut b, spec, linux, mounts, &mut warnings)?;
    mounts::convert(&mut b, mounts, bundle_dir, &mut warnings)?;
    let device_rules = linux::convert(&mut b, linux)?;
    let mut seccomp_listener = None;
    if let Some(s) = linux.seccomp() {
        let (programs, notify) = seccomp::convert(s, &mut warnings)?;
        b.process_mut().set_seccomp_programs(programs);
        if let Some(n) = notify {
            b.process_mut().set_seccomp_notify(n);
            seccomp_listener = s.listener_path().clone().map(|p| (p, s.listener_metadata().clone().unwrap_or_default()));
        }
    }
    let mut cgroup = resources::convert(linux.resources().as_ref(), &mut warnings)?;
    for rule in device_rules {
        cgroup = cgroup.device_rule(rule);
    }
    b.set_cgroup(cgroup);

    b.validate()?;
    Ok(Converted {
        builder: b,
        hooks: spec.hooks().clone(),
        warnings,
        terminal,
        cgroups_path: linux.cgroups_path().clone(),
        seccomp_listener,
    })
}

/// `p` if absolute, else below the bundle directory.
fn absolute_in_bundle(bundle_dir: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        bundle_dir.join(p)
    }
}
