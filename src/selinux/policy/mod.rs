//! Per-container SELinux policies, in the manner of udica: from one container's
//! configuration (its bind mounts, device binds, published ports and capabilities) a CIL
//! module that declares a domain of its own, `NAME.process`, derived from the `container`
//! template of `src/selinux/policy/cocoon.cil`, and allows it exactly those accesses.
//!
//! ```
//! use cocoon::selinux::policy::ContainerPolicy;
//! use cocoon::{ContainerBuilder, Mount, Process};
//! let b = ContainerBuilder::new(Process::new("/bin/true")).mount(Mount::bind("/srv/www", "/www").read_only(true));
//! let p = ContainerPolicy::generator("web").bind_type("/srv/www", "httpd_sys_content_t").generate(&b)?;
//! assert_eq!(p.process_type(), "web.process");
//! assert!(p.cil().contains("(blockinherit container)"));
//! let b = p.apply(b); // runs in web.process once the module is installed
//! # Ok::<(), cocoon::selinux::SelinuxError>(())
//! ```
//!
//! # What the module allows
//!
//! The template gives every derived domain what all containers need (entering the domain
//! from the launcher, its own `container_file_t` rootfs at its own MCS level, procfs,
//! sysfs, the standard devices, host libraries) and **no** capability and no host file.
//! The generated block adds:
//!
//! - **capabilities**: `(allow process self (capability (...)))` (and `capability2`) for
//!   exactly the process's *bounding* set — what the process and whatever it execs can
//!   ever hold (for uid 0, `execve` refills the permitted set from it). None: no rule.
//! - **bind mounts**: read perms on the source's type for a read-only bind (dir: getattr
//!   search open read; files: getattr open read map; symlinks: read), read and write
//!   (create, unlink, rename, setattr, ...) for a read-write one. Nothing executes from a
//!   bind. SELinux rules are per type: two binds whose sources share a type share the
//!   union of their perms.
//! - **device binds** ([`crate::mount::MountKind::Device`]): `chr_file` open/read/write/ioctl on
//!   the node's type.
//! - **published ports** (a bridge network's [`crate::PublishedPort`]s): a socket of the
//!   protocol, `name_bind` on the container port's type and `node_bind` on `node_t`.
//!
//! # Where the types come from
//!
//! udica asks the host for each path's label (`getfilecon`) and each port's type
//! (`semanage port -l`). cocoon runs where SELinux may be off (then nothing labels files
//! and the port database cannot be queried), so, in this order:
//!
//! 1. an explicit [`PolicyGenerator::bind_type`] / [`PolicyGenerator::port_type`];
//! 2. for a bind relabelled for the container ([`crate::Mount::selinux_relabel`]), the
//!    container's file type (`container_file_t` or [`crate::selinux::SelinuxConfig::file_type`]);
//! 3. the type in the source's `security.selinux` extended attribute (read even with
//!    SELinux off: ext4, xfs and tmpfs keep it);
//! 4. else [`DEFAULT_FILE_TYPE`] (`container_file_t`) for a bind and [`DEFAULT_DEVICE_TYPE`]
//!    (`device_t`, the type of an unlabelled devtmpfs node) for a device; ports below 1024
//!    get `reserved_port_t`, others `unreserved_port_t` — the reference policy's types of
//!    ports it has not named (a named one, 80 = `http_port_t`, needs `port_type`).
//!
//! # Installing
//!
//! The module needs `cocoon.cil` in the policy. [`ContainerPolicy::install`] runs
//! `semodule [-p ROOT] -n -i cocoon_NAME.cil`; with a store root (a private copy of
//! `/var/lib/selinux` and `/etc/selinux` under ROOT, as `tests/vm/setup.sh` makes) the
//! policy is rebuilt there and nothing is loaded into the kernel. Without one the host's
//! store is changed and the policy reloaded. [`remove`] undoes it. The module is named
//! `cocoon_NAME`, never `NAME`, so a container called `apache` cannot replace the
//! distribution's `apache` module.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::path::{Path, PathBuf};

use super::{label, SecurityContext, SelinuxConfig, SelinuxError};
use crate::capability::Capability;
use crate::config::builder::ContainerBuilder;
use crate::config::mount::MountKind;
use crate::net::{Network, Protocol};

mod cil;
mod store;

pub use store::{module_name, remove};

/// The type of a bind source that has no label and no override.
pub const DEFAULT_FILE_TYPE: &str = "container_file_t";
/// The type of a device node that has no label and no override.
pub const DEFAULT_DEVICE_TYPE: &str = "device_t";
/// The longest container policy name.
pub const MAX_POLICY_NAME_LEN: usize = 64;

/// Words a policy name cannot be: CIL keywords the name would be confused with, and the
/// names of cocoon's own template and module.
const RESERVED: &[&str] = &[
    "container",
    "cocoon",
    "process",
    "self",
    "all",
    "allow",
    "auditallow",
    "dontaudit",
    "neverallow",
    "block",
    "blockinherit",
    "blockabstract",
    "in",
    "macro",
    "call",
    "optional",
    "type",
    "typeattribute",
    "typeattributeset",
    "role",
    "roletype",
    "user",
    "class",
    "classpermission",
    "and",
    "or",
    "not",
    "xor",
    "eq",
    "neq",
    "dom",
    "domby",
    "incomp",
    "range",
    "low",
    "high",
    "object_r",
    "system_r",
    "system_u",
];

/// Checks a container policy name: a letter, then letters, digits and `_`, at most
/// [`MAX_POLICY_NAME_LEN`] bytes, not a CIL keyword. It names the CIL block (and so the
/// domain `NAME.process`) and, prefixed with `cocoon_`, the policy module and its file.
pub fn validate_policy_name(name: &str) -> Result<(), SelinuxError> {
    let bad = |why: String| Err(SelinuxError::InvalidConfig(format!("policy name {name:?}: {why}")));
    let Some(first) = name.bytes().next() else {
        return bad("empty".into());
    };
    if !first.is_ascii_alphabetic() {
        return bad("must start with a letter".into());
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_')) {
        return bad(format!("holds {c:?}; only letters, digits and '_' are allowed"));
    }
    if name.len() > MAX_POLICY_NAME_LEN {
        return bad(format!("{} bytes long, at most {MAX_POLICY_NAME_LEN}", name.len()));
    }
    if RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
        return bad("a reserved word (CIL keyword or cocoon's own name)".into());
    }
    Ok(())
}

/// A type name taken from the caller or a file's label, checked before it goes into CIL.
fn checked_type(what: &str, ty: &str) -> Result<String, SelinuxError> {
    super::context::validate_name(what, ty).map_err(SelinuxError::InvalidConfig)?;
    Ok(ty.to_string())
}

/// The access a bind gives to its source's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Access {
    Read,
    ReadWrite,
}

/// One rule source, kept for the comment that explains the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    pub(crate) ty: String,
    pub(crate) access: Access,
    pub(crate) why: String,
}

/// Options of a generation: the type overrides. [`ContainerPolicy::generator`].
#[derive(Debug, Clone)]
pub struct PolicyGenerator {
    name: String,
    bind_types: Vec<(PathBuf, String)>,
    port_types: Vec<(u16, Protocol, String)>,
}

impl PolicyGenerator {
    /// The type of bind (or device) source `source` (the host path exactly as given to
    /// [`crate::Mount::bind`]), instead of its label.
    pub fn bind_type(mut self, source: impl Into<PathBuf>, ty: impl Into<String>) -> Self {
        self.bind_types.push((source.into(), ty.into()));
        self
    }

    /// The type of container port `port`/`protocol` (as `semanage port -l` names it).
    pub fn port_type(mut self, port: u16, protocol: Protocol, ty: impl Into<String>) -> Self {
        self.port_types.push((port, protocol, ty.into()));
        self
    }

    fn type_of(&self, source: &Path, relabel: bool, file_type: &str, default: &str) -> Result<String, SelinuxError> {
        if let Some((_, t)) = self.bind_types.iter().rev().find(|(p, _)| p == source) {
            return checked_type("bind type", t);
        }
        if relabel {
            return checked_type("file type", file_type);
        }
        let c = CString::new(source.as_os_str().as_encoded_bytes())
            .map_err(|_| SelinuxError::InvalidConfig(format!("bind source {} holds a NUL byte", source.display())))?;
        let raw = match label::get_label(&c) {
            Ok(l) => l,
            // ENODATA/ENOTSUP come back as None; a missing source is the mount's problem
            // (spawn reports it), here it simply has no label.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => None,
            Err(source_err) => {
                return Err(SelinuxError::Io {
                    op: "lgetxattr(security.selinux)",
                    path: source.into(),
                    source: source_err,
                })
            }
        };
        match raw {
            Some(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let ctx: SecurityContext = text.trim_end_matches('\0').parse()?;
                checked_type("label type", ctx.type_())
            }
            None => Ok(default.to_string()),
        }
    }

    /// Generates the module for `builder`'s container. Reads only the bind sources'
    /// labels; writes nothing.
    pub fn generate(&self, builder: &ContainerBuilder) -> Result<ContainerPolicy, SelinuxError> {
        validate_policy_name(&self.name)?;
        let file_type =
            builder.selinux.as_ref().and_then(|s| s.file_type.clone()).unwrap_or_else(|| DEFAULT_FILE_TYPE.to_string());
        let mut binds: BTreeMap<String, Grant> = BTreeMap::new();
        let mut devices: BTreeMap<String, Grant> = BTreeMap::new();
        for m in &builder.mounts {
            match &m.kind {
                MountKind::Bind { source, .. } => {
                    let ty = self.type_of(source, m.relabel.is_some(), &file_type, DEFAULT_FILE_TYPE)?;
                    let access = if m.read_only { Access::Read } else { Access::ReadWrite };
                    let why = format!(
                        "bind {} -> {} ({})",
                        source.display(),
                        m.target.display(),
                        if m.read_only { "ro" } else { "rw" }
                    );
                    merge(&mut binds, ty, access, why);
                }
                MountKind::Device { source, major, minor } => {
                    let ty = self.type_of(source, false, &file_type, DEFAULT_DEVICE_TYPE)?;
                    let access = if m.read_only { Access::Read } else { Access::ReadWrite };
                    let why = format!("device {} ({major}:{minor}) -> {}", source.display(), m.target.display());
                    merge(&mut devices, ty, access, why);
                }
                _ => {}
            }
        }
        let mut ports: BTreeMap<(Protocol, String), Vec<u16>> = BTreeMap::new();
        if let Network::Bridge(b) = &builder.network {
            for p in b.published_ports() {
                let (port, proto) = (p.container_port(), p.protocol());
                let ty = match self.port_types.iter().rev().find(|(n, pr, _)| *n == port && *pr == proto) {
                    Some((_, _, t)) => checked_type("port type", t)?,
                    None if port < 1024 => "reserved_port_t".to_string(),
                    None => "unreserved_port_t".to_string(),
                };
                let list = ports.entry((proto, ty)).or_default();
                if !list.contains(&port) {
                    list.push(port);
                }
            }
        }
        let mut caps: Vec<Capability> = builder.process.capabilities.bounding.iter().collect();
        // CapSet::iter follows caps::all(), a HashSet: sort by number for a stable text.
        caps.sort_by_key(|c| c.bitmask());
        let cil = cil::render(&self.name, &caps, &binds, &devices, &ports);
        Ok(ContainerPolicy { name: self.name.clone(), cil, process_type: format!("{}.process", self.name) })
    }
}

fn merge(map: &mut BTreeMap<String, Grant>, ty: String, access: Access, why: String) {
    match map.get_mut(&ty) {
        Some(g) => {
            g.access = g.access.max(access);
            g.why.push_str("; ");
            g.why.push_str(&why);
        }
        None => {
            map.insert(ty.clone(), Grant { ty, access, why });
        }
    }
}

/// A generated per-container policy module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPolicy {
    name: String,
    cil: String,
    process_type: String,
}

impl ContainerPolicy {
    /// The module for `builder`'s container, with the default type lookup (see the module
    /// documentation). A bad `name` is [`SelinuxError::InvalidConfig`].
    pub fn generate(name: &str, builder: &ContainerBuilder) -> Result<ContainerPolicy, SelinuxError> {
        ContainerPolicy::generator(name).generate(builder)
    }

    /// A generator with type overrides.
    pub fn generator(name: &str) -> PolicyGenerator {
        PolicyGenerator { name: name.to_string(), bind_types: Vec::new(), port_types: Vec::new() }
    }

    /// The policy name (the CIL block).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The module's name in the policy store: `cocoon_NAME`.
    pub fn module_name(&self) -> String {
        module_name(&self.name)
    }

    /// The CIL text.
    pub fn cil(&self) -> &str {
        &self.cil
    }

    /// The domain the module declares: `NAME.process`.
    pub fn process_type(&self) -> &str {
        &self.process_type
    }

    /// The SELinux settings that run a container in this domain: `base` with the process
    /// type set (level, user, file type and the rest are kept).
    pub fn selinux_config(&self, base: SelinuxConfig) -> SelinuxConfig {
        base.process_type(self.process_type.clone())
    }

    /// `builder` set to run in this domain (its own SELinux settings kept, or the defaults).
    pub fn apply(&self, builder: ContainerBuilder) -> ContainerBuilder {
        let base = builder.selinux.clone().unwrap_or_default();
        builder.selinux(self.selinux_config(base))
    }

    /// Installs the module: `semodule [-p store] -n -i cocoon_NAME.cil` (the file is
    /// written to a private temporary directory and removed). With `store` the policy
    /// store under that root is changed and nothing is loaded; without, the host's store
    /// is changed and the policy reloaded (`-n` is then left out).
    pub fn install(&self, store: Option<&Path>) -> Result<(), SelinuxError> {
        store::install(&self.module_name(), &self.cil, store)
    }
}

#[cfg(test)]
mod tests;
