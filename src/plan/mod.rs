//! `Plan`: everything the child needs, computed in the parent before the clone.
//!
//! The child (src/child/) may not allocate, so every string, path, mask and list it
//! uses lives here, built once. A `Plan` can spawn any number of containers.
//!
//! This file wires the parts into a [`Plan`]; the filesystem ops are in `ops.rs`, the
//! host sandbox's in `host.rs`, the process in `process.rs`, user names in `users.rs`,
//! the default seccomp policy in `default_seccomp.rs`. Everything planning reads from
//! the machine comes in as one `HostFacts` (`facts.rs`), so planning is unit-tested
//! (`tests/`) without root.

mod default_seccomp;
mod facts;
mod host;
mod landlock;
mod ops;
mod process;
mod users;
#[cfg(test)]
mod tests;

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::builder::ContainerBuilder;
use crate::cgroup::CgroupConfig;
use crate::container::Container;
use crate::error::{Error, Result, Stage};
use crate::idmap::{self, map_to_host};
use crate::mount::MountKind;
use crate::namespace::Namespaces;
use crate::rootfs::Rootfs;
use crate::selinux::SelinuxConfig;
use crate::sys::MOUNT_ATTR_NODEV;

use host::host_sandbox_ops;
use ops::{default_device_ops, standard_ops, user_mount_ops};
pub(crate) use ops::{InRootPath, Op, Source, TargetKind};
pub use process::DEFAULT_PATH;
pub use crate::process::MAX_PASSED_FDS;
pub(crate) use process::{describe_process, ProcessPlan, RlimitPlan, SECCOMP_DEFAULT_INDEX, SECCOMP_NOTIFY_INDEX, SECCOMP_PROGRAM_INDEX};
pub(crate) use users::NameRoot;
pub(crate) use facts::HostFacts;
pub use landlock::LandlockStatus;
pub(crate) use landlock::{LandlockPlan, Ruleset, LANDLOCK_CREATE_INDEX, LANDLOCK_RESTRICT_INDEX};
#[cfg(test)]
pub(crate) use facts::kernel_at_least;

fn cstring(what: &'static str, bytes: &[u8]) -> Result<CString> {
    CString::new(bytes).map_err(|_| {
        Error::invalid(what, format!("{:?} contains a NUL byte", String::from_utf8_lossy(bytes)))
    })
}

/// The cgroup a container gets: the caller's limits, and, when the caller could give the
/// container working device nodes (see [`crate::cgroup::policy_required`]), the default
/// device policy before the caller's device rules — in a devices-only cgroup if it asked
/// for no limits (the machine's shared one if it has a PID namespace, `pid_ns`).
fn container_cgroup(cfg: Option<&CgroupConfig>, device_policy: bool, pid_ns: bool) -> Option<CgroupConfig> {
    match (cfg, device_policy) {
        (Some(c), true) => Some(c.clone().with_default_devices()),
        (Some(c), false) => Some(c.clone()),
        (None, true) => Some(CgroupConfig::device_policy_only(pid_ns)),
        (None, false) => None,
    }
}

/// A prepared container: everything computed, nothing created yet. Spawn from it as
/// many times as needed with [`Plan::spawn`].
#[derive(Debug)]
pub struct Plan {
    pub(crate) id: Option<String>,
    pub(crate) namespaces: Namespaces,
    pub(crate) clone_flags: u64,
    pub(crate) uid_map: Option<String>,
    pub(crate) gid_map: Option<String>,
    pub(crate) setgroups_deny: bool,
    /// `newuidmap`/`newgidmap` write the maps (subordinate ids of an unprivileged caller).
    pub(crate) id_helpers: Option<IdHelpers>,
    /// uid 0 and gid 0 are mapped: the child becomes root inside right after the maps.
    pub(crate) become_root: bool,
    pub(crate) time_offsets: Option<String>,
    pub(crate) hostname: Option<CString>,
    pub(crate) domainname: Option<CString>,
    pub(crate) root: Source,
    /// For [`Rootfs::Image`]: the image whose fresh writable layer each spawn makes, and
    /// puts into `root`'s `upperdir`/`workdir` ([`Plan::root_for`]).
    pub(crate) image_root: Option<crate::rootfs::ImageRootfs>,
    /// `MOUNT_ATTR_*` set on the root mount before anything is built on it.
    pub(crate) root_attrs: u64,
    pub(crate) root_display: String,
    pub(crate) ops: Vec<Op>,
    pub(crate) masked: Vec<InRootPath>,
    pub(crate) readonly: Vec<InRootPath>,
    pub(crate) read_only_root: bool,
    pub(crate) loopback: bool,
    /// Sysctls to write, as (path below a procfs root, `sys/...`; value), through a
    /// private procfs the child mounts detached.
    pub(crate) sysctls: Vec<(CString, CString)>,
    pub(crate) init: bool,
    /// The first process is the caller's own child (no monitor between them): see
    /// [`crate::ContainerBuilder::direct_child`].
    pub(crate) direct_child: bool,
    /// Namespaces joined by path: (the CLONE_NEW* flag, the namespace file).
    pub(crate) joins: Vec<(i32, PathBuf)>,
    pub(crate) process: ProcessPlan,
    pub(crate) cgroup: Option<CgroupConfig>,
    pub(crate) selinux: Option<SelinuxConfig>,
    /// Bridge networking set up by the parent between READY and GO.
    pub(crate) net: Option<crate::net::NetPlan>,
    /// Bind sources to relabel for the container's SELinux level before the clone.
    pub(crate) relabels: Vec<(PathBuf, crate::selinux::Sharing)>,
    /// The Landlock ruleset and what it became on this kernel, if the builder has one.
    pub(crate) landlock: Option<std::sync::Arc<landlock::Ruleset>>,
}

/// The setuid helpers that write the maps of subordinate ids (`crate::subids`), with them.
#[derive(Debug, Clone)]
pub(crate) struct IdHelpers {
    pub newuidmap: PathBuf,
    pub newgidmap: PathBuf,
    pub uid_map: Vec<idmap::IdRange>,
    pub gid_map: Vec<idmap::IdRange>,
}

impl Plan {
    /// Plans the (validated) description `b` for the host `host` describes; reads from
    /// the machine only `b`'s own paths (rootfs, bind sources, the image's passwd).
    pub(crate) fn new(b: &ContainerBuilder, host: &HostFacts<'_>) -> Result<Plan> {
        if b.direct_child && b.process.log.is_some() {
            // The log is written by the monitor, which a direct child does without.
            return Err(Error::invalid("log", "a log needs the container's monitor: not with direct_child"));
        }
        let ns = b.namespaces;
        let userns = ns.contains(Namespaces::USER);
        // Without CAP_SETGID over the parent namespace the kernel only accepts a gid map
        // after `setgroups` is denied.
        let setgroups_deny = userns && !host.cap_setgid && b.id_helpers.is_none();
        let (root, root_display, name_root) = match &b.rootfs {
            Rootfs::HostSandbox => (
                Source::fs(c"tmpfs", &[("mode", Some("755"))], true),
                "host sandbox".to_string(),
                NameRoot::Sandbox,
            ),
            Rootfs::Directory(dir) => {
                check_dir("rootfs", dir)?;
                (
                    Source::Bind { path: cstring("rootfs", dir.as_os_str().as_bytes())?, recursive: true, device: None },
                    dir.display().to_string(),
                    NameRoot::Dirs(vec![dir.as_path()]),
                )
            }
            Rootfs::Layers { lower, upper, work } => {
                let source = overlay_source(lower, upper, work, host)?;
                check_dir("rootfs upper layer", upper)?;
                check_dir("rootfs work directory", work)?;
                let mut dirs: Vec<&Path> = vec![upper.as_path()];
                dirs.extend(lower.iter().map(|p| p.as_path()));
                (
                    source,
                    format!("overlay of {} layers", lower.len()),
                    NameRoot::Dirs(dirs),
                )
            }
            Rootfs::Image(img) => {
                // The writable layer is made per spawn; these placeholders are replaced
                // (`Plan::root_for`). The image's own files name its users.
                let ph = Path::new("/");
                (
                    overlay_source(&img.lower, ph, ph, host)?,
                    format!("image {} ({} layers)", img.image, img.lower.len()),
                    NameRoot::Dirs(img.lower.iter().map(|p| p.as_path()).collect()),
                )
            }
        };
        let mut ops = Vec::new();
        if b.rootfs == Rootfs::HostSandbox {
            ops.extend(host_sandbox_ops(b.hostname.as_deref(), host)?);
        }
        if b.standard_mounts {
            ops.extend(standard_ops(ns, &b.gid_map, host.cgroup_mode()));
        }
        for m in &b.mounts {
            ops.extend(user_mount_ops(m, host.cgroup)?);
        }
        if !b.standard_mounts && b.default_devices {
            ops.extend(default_device_ops());
        }
        let sysctls = b
            .sysctls
            .iter()
            .map(|(k, v)| {
                let path = format!("sys/{}", crate::config::sysctl::sysctl_path(k)?);
                Ok((cstring("sysctl", path.as_bytes())?, cstring("sysctl value", v.as_bytes())?))
            })
            .collect::<Result<Vec<_>>>()?;
        let masked = b.masked_paths.iter().map(|p| InRootPath::new("masked path", p)).collect::<Result<_>>()?;
        let readonly = b.readonly_paths.iter().map(|p| InRootPath::new("read-only path", p)).collect::<Result<_>>()?;
        let mut process = ProcessPlan::new(&b.process, name_root, !setgroups_deny, host.last_cap)?;
        let landlock = match &b.landlock {
            Some(l) => {
                let (lp, status) = landlock::plan(l, host.landlock_abi, &process.candidates, process.may_restrict())?;
                process.landlock = lp;
                Some(std::sync::Arc::new(landlock::Ruleset { config: l.clone(), kernel_abi: host.landlock_abi, status }))
            }
            None => None,
        };
        if userns {
            check_user_mapped(&process, &b.uid_map, &b.gid_map)?;
        }
        Ok(Plan {
            id: b.id.clone(),
            namespaces: ns,
            clone_flags: ns.clone_flags(),
            uid_map: userns.then(|| idmap::render(&b.uid_map)),
            gid_map: userns.then(|| idmap::render(&b.gid_map)),
            setgroups_deny,
            id_helpers: b.id_helpers.clone(),
            become_root: userns && map_to_host(&b.uid_map, 0).is_some() && map_to_host(&b.gid_map, 0).is_some(),
            time_offsets: ns.contains(Namespaces::TIME).then(|| b.time_offsets.render()),
            hostname: b.hostname.as_deref().map(|h| cstring("hostname", h.as_bytes())).transpose()?,
            domainname: b.domainname.as_deref().map(|h| cstring("domainname", h.as_bytes())).transpose()?,
            root,
            image_root: match &b.rootfs {
                Rootfs::Image(img) => Some(img.clone()),
                _ => None,
            },
            // nodev on every root (sandbox tmpfs, overlay, directory): a device node made or
            // found in it is unusable. The /dev binds are mounts of their own.
            root_attrs: MOUNT_ATTR_NODEV,
            root_display,
            ops,
            masked,
            readonly,
            read_only_root: b.read_only_root,
            loopback: ns.contains(Namespaces::NET),
            sysctls,
            init: b.init,
            direct_child: b.direct_child,
            joins: b.joins.iter().map(|(ns, p)| (ns.setns_flags(), p.clone())).collect(),
            process,
            cgroup: container_cgroup(
                b.cgroup.as_ref(),
                host.device_policy,
                ns.contains(Namespaces::PID) && !b.joins.iter().any(|(n, _)| n.contains(Namespaces::PID)),
            ),
            selinux: b.selinux.clone(),
            net: match &b.network {
                crate::net::Network::Bridge(n) => Some(crate::net::NetPlan::new(n)),
                _ => None,
            },
            relabels: b
                .mounts
                .iter()
                .filter_map(|m| match (&m.kind, m.relabel) {
                    (MountKind::Bind { source, .. }, Some(sharing)) => Some((source.clone(), sharing)),
                    _ => None,
                })
                .collect(),
            landlock,
        })
    }

    /// What [`ContainerBuilder::prepare`] does, on the host `host` describes: validates
    /// `b` (its cgroup settings against `host`'s layout), then plans it.
    #[cfg(test)]
    pub(crate) fn for_host(b: &ContainerBuilder, host: &HostFacts<'_>) -> Result<Plan> {
        b.validate_in(|| host.cgroup_layout())?;
        Plan::new(b, host)
    }

    /// Creates and starts a container from this plan. On error nothing is left behind.
    pub fn spawn(&self) -> Result<Container> {
        crate::spawn::spawn(self)
    }

    /// Creates a container set up completely and held right before its program's exec
    /// (OCI's `create`): [`Container::start`] runs the program. Dropping the handle
    /// before that kills the container. On error nothing is left behind.
    pub fn create(&self) -> Result<Container> {
        crate::spawn::create(self, crate::spawn::hold::StartBy::Handle)
    }

    /// As [`Plan::create`], but the container is started by connecting to a unix socket
    /// made at `start_socket` (which must not exist; keep it in a directory only the
    /// starter can reach): [`crate::start_created`], from any process, also after this one
    /// has exited (detach the handle, and see [`crate::ContainerBuilder::direct_child`]).
    /// [`Container::start`] works too. The socket file is removed when it is used (or the
    /// creation fails).
    pub fn create_at(&self, start_socket: impl AsRef<std::path::Path>) -> Result<Container> {
        crate::spawn::create(self, crate::spawn::hold::StartBy::Socket(start_socket.as_ref()))
    }

    /// The namespaces containers from this plan get.
    pub fn namespaces(&self) -> Namespaces {
        self.namespaces
    }

    /// What the builder's Landlock ruleset became on this kernel (the ABI used, the
    /// rights dropped in best-effort mode); `None` without a ruleset.
    pub fn landlock_status(&self) -> Option<&LandlockStatus> {
        self.landlock.as_deref().map(|r| &*r.status)
    }

    /// A one-line description of the child setup item `(stage, index)` for errors.
    pub(crate) fn describe(&self, stage: Stage, index: u32) -> String {
        let i = index as usize;
        match stage {
            Stage::Mount | Stage::MountTarget | Stage::CreateFile | Stage::Device => {
                self.ops.get(i).map(Op::describe).unwrap_or_default()
            }
            Stage::MaskPath => self.masked.get(i).map(|p| p.display.clone()).unwrap_or_default(),
            Stage::Sysctl => self
                .sysctls
                .get(i)
                .map(|(k, v)| format!("/proc/{} = {}", k.to_string_lossy(), v.to_string_lossy()))
                .unwrap_or_default(),
            Stage::ReadonlyPath => self.readonly.get(i).map(|p| p.display.clone()).unwrap_or_default(),
            Stage::PivotRoot if index == 0 => format!(
                "{}; EINVAL here means the caller's root cannot be pivoted (e.g. an initramfs \
                 root: switch_root to a real filesystem first)",
                self.root_display
            ),
            Stage::Rootfs | Stage::PivotRoot | Stage::ReadonlyRoot => self.root_display.clone(),
            Stage::JoinNamespaces => {
                self.joins.get(i).map(|(_, p)| p.display().to_string()).unwrap_or_default()
            }
            Stage::Hostname => self.hostname.as_ref().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default(),
            Stage::Domainname => {
                self.domainname.as_ref().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default()
            }
            _ => describe_process(&self.process, stage, index),
        }
    }
}

impl Plan {
    /// The root overlay with a container's own writable layer `upper`/`work` (for
    /// [`Rootfs::Image`], whose plan holds placeholders there).
    pub(crate) fn root_for(&self, upper: &Path, work: &Path) -> Result<Source> {
        let mut root = self.root.clone();
        if let Source::Fs { options, .. } = &mut root {
            for (k, v) in options.iter_mut() {
                if k.as_bytes() == b"upperdir" {
                    *v = Some(cstring("rootfs upper layer", upper.as_os_str().as_bytes())?);
                } else if k.as_bytes() == b"workdir" {
                    *v = Some(cstring("rootfs work directory", work.as_os_str().as_bytes())?);
                }
            }
        }
        Ok(root)
    }
}

/// The overlayfs mount of `lower` (top-most first) under `upper`, with `work`.
fn overlay_source(lower: &[PathBuf], upper: &Path, work: &Path, host: &HostFacts<'_>) -> Result<Source> {
    for l in lower {
        check_dir("rootfs lower layer", l)?;
    }
    let mut options = Vec::new();
    if host.kernel_at_least(6, 8) {
        // One `lowerdir+` per layer: no escaping of ':' needed.
        for l in lower {
            options.push((c"lowerdir+".into(), Some(cstring("rootfs lower layer", l.as_os_str().as_bytes())?)));
        }
    } else {
        let mut joined = Vec::new();
        for (i, l) in lower.iter().enumerate() {
            let b = l.as_os_str().as_bytes();
            if b.iter().any(|c| matches!(c, b':' | b',' | b'\\')) {
                return Err(Error::invalid(
                    "rootfs lower layer",
                    format!("{} contains ':', ',' or '\\', which overlayfs before Linux 6.8 cannot take", l.display()),
                ));
            }
            if i > 0 {
                joined.push(b':');
            }
            joined.extend_from_slice(b);
        }
        options.push((c"lowerdir".into(), Some(cstring("rootfs lower layer", &joined)?)));
    }
    options.push((c"upperdir".into(), Some(cstring("rootfs upper layer", upper.as_os_str().as_bytes())?)));
    options.push((c"workdir".into(), Some(cstring("rootfs work directory", work.as_os_str().as_bytes())?)));
    Ok(Source::Fs { fstype: c"overlay", options, labeled: true })
}

fn check_dir(what: &'static str, p: &Path) -> Result<()> {
    match std::fs::metadata(p) {
        Ok(md) if md.is_dir() => Ok(()),
        Ok(_) => Err(Error::invalid(what, format!("{} is not a directory", p.display()))),
        Err(e) => Err(Error::invalid(what, format!("{}: {e}", p.display()))),
    }
}

fn check_user_mapped(p: &ProcessPlan, uid_map: &[idmap::IdRange], gid_map: &[idmap::IdRange]) -> Result<()> {
    if map_to_host(uid_map, p.uid).is_none() {
        return Err(Error::invalid("user", format!("uid {} is not in the uid map", p.uid)));
    }
    for g in std::iter::once(&p.gid).chain(&p.groups) {
        if map_to_host(gid_map, *g).is_none() {
            return Err(Error::invalid("user", format!("gid {g} is not in the gid map")));
        }
    }
    Ok(())
}
