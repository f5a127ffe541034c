//! Extra mounts a caller adds to a container: bind mounts, tmpfs, and the kernel's
//! pseudo-filesystems (proc, sysfs, devpts, mqueue, cgroup).

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// What is mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    /// A host path bound into the container.
    Bind {
        /// The host path (file or directory). It must exist.
        source: PathBuf,
        /// Also bind the mounts below `source` (`rbind`), the default.
        recursive: bool,
    },
    /// A procfs of the container's PID namespace.
    Proc,
    /// A fresh tmpfs.
    Tmpfs {
        /// Size limit in bytes (`None`: the kernel default, half of RAM).
        size: Option<u64>,
        /// Permission bits of the tmpfs root (`None`: 0755).
        mode: Option<u32>,
    },
    /// A sysfs of the container's network namespace.
    Sysfs,
    /// A new devpts instance (its options: [`Mount::fs_option`]; by default
    /// `newinstance,ptmxmode=0666,mode=0620`).
    Devpts,
    /// A POSIX message queue filesystem of the container's IPC namespace.
    Mqueue,
    /// The host's cgroup hierarchies as the container's cgroup namespace shows them
    /// (OCI's `cgroup` type): a `cgroup2` on a v2 host; on a v1 or hybrid host a small
    /// tmpfs holding each v1 controller hierarchy (and `unified`, the cgroup2 of a hybrid
    /// host), made read-only after them when the mount is. Needs
    /// [`crate::Namespaces::CGROUP`] and must be read-only (CVE-2023-25809).
    Cgroup,
    /// A `cgroup2` filesystem (the unified hierarchy). Needs [`crate::Namespaces::CGROUP`]
    /// and must be read-only.
    Cgroup2,
    /// A host character device node bound in, checked in the child to be `major:minor`
    /// (so a node swapped for another cannot be bound). Its use still needs a cgroup
    /// device rule allowing it.
    Device {
        /// The host's node.
        source: PathBuf,
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
}

impl MountKind {
    /// The filesystem options [`Mount::fs_option`] accepts for this kind.
    pub fn fs_option_keys(&self) -> &'static [&'static str] {
        match self {
            MountKind::Tmpfs { .. } => {
                &["size", "mode", "nr_inodes", "nr_blocks", "uid", "gid", "huge", "mpol", "inode32", "inode64", "noswap"]
            }
            MountKind::Devpts => &["newinstance", "ptmxmode", "mode", "gid", "uid", "max"],
            MountKind::Proc => &["hidepid", "subset", "gid"],
            MountKind::Bind { .. }
            | MountKind::Sysfs
            | MountKind::Mqueue
            | MountKind::Cgroup
            | MountKind::Cgroup2
            | MountKind::Device { .. } => &[],
        }
    }

    /// The name of the kind (`bind`, `tmpfs`, the filesystem type).
    pub fn name(&self) -> &'static str {
        match self {
            MountKind::Bind { .. } => "bind",
            MountKind::Proc => "proc",
            MountKind::Tmpfs { .. } => "tmpfs",
            MountKind::Sysfs => "sysfs",
            MountKind::Devpts => "devpts",
            MountKind::Mqueue => "mqueue",
            MountKind::Cgroup => "cgroup",
            MountKind::Cgroup2 => "cgroup2",
            MountKind::Device { .. } => "device",
        }
    }
}

/// How access times are updated on a mount (`MOUNT_ATTR_RELATIME`, `_NOATIME`,
/// `_STRICTATIME`). Without one a new filesystem gets the kernel's default (relatime) and
/// a bind keeps its source's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Atime {
    /// Update the access time when it is older than the modification time (or a day old).
    Relatime,
    /// Never update access times.
    Noatime,
    /// Always update access times.
    Strictatime,
}

/// A mount inside the container. Built with [`Mount::bind`], [`Mount::tmpfs`],
/// [`Mount::proc`], [`Mount::sysfs`], [`Mount::devpts`], [`Mount::mqueue`],
/// [`Mount::cgroup`] or [`Mount::cgroup2`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub(crate) target: PathBuf,
    pub(crate) kind: MountKind,
    pub(crate) read_only: bool,
    pub(crate) nosuid: bool,
    pub(crate) nodev: bool,
    pub(crate) noexec: bool,
    pub(crate) atime: Option<Atime>,
    pub(crate) nodiratime: bool,
    /// Filesystem options passed to `fsconfig` as they are (key, value or a flag).
    pub(crate) fs_options: Vec<(String, Option<String>)>,
    pub(crate) relabel: Option<crate::selinux::Sharing>,
}

impl Mount {
    fn new(target: PathBuf, kind: MountKind, nosuid: bool, nodev: bool, noexec: bool) -> Mount {
        Mount {
            target,
            kind,
            read_only: false,
            nosuid,
            nodev,
            noexec,
            atime: None,
            nodiratime: false,
            fs_options: Vec::new(),
            relabel: None,
        }
    }

    /// Binds host path `source` at `target` inside the container (recursive, read-write,
    /// nosuid, nodev).
    pub fn bind(source: impl Into<PathBuf>, target: impl Into<PathBuf>) -> Mount {
        Mount::new(target.into(), MountKind::Bind { source: source.into(), recursive: true }, true, true, false)
    }

    /// Mounts a procfs at `target` (nosuid, nodev, noexec). Only needed when the
    /// standard mounts are off ([`crate::ContainerBuilder::standard_mounts`]).
    pub fn proc(target: impl Into<PathBuf>) -> Mount {
        Mount::new(target.into(), MountKind::Proc, true, true, true)
    }

    /// Mounts a new tmpfs at `target` inside the container (nosuid, nodev).
    pub fn tmpfs(target: impl Into<PathBuf>) -> Mount {
        Mount::new(target.into(), MountKind::Tmpfs { size: None, mode: None }, true, true, false)
    }

    /// Mounts a sysfs at `target` (nosuid, nodev, noexec). Without a new network
    /// namespace it shows the host's network devices.
    pub fn sysfs(target: impl Into<PathBuf>) -> Mount {
        Mount::new(target.into(), MountKind::Sysfs, true, true, true)
    }

    /// Mounts a new devpts instance at `target` (nosuid, noexec). Without
    /// [`Mount::fs_option`]s it gets `newinstance,ptmxmode=0666,mode=0620`.
    pub fn devpts(target: impl Into<PathBuf>) -> Mount {
        Mount::new(target.into(), MountKind::Devpts, true, false, true)
    }

    /// Mounts an mqueue filesystem at `target` (nosuid, nodev, noexec).
    pub fn mqueue(target: impl Into<PathBuf>) -> Mount {
        Mount::new(target.into(), MountKind::Mqueue, true, true, true)
    }

    /// Mounts the container's cgroup hierarchies at `target` ([`MountKind::Cgroup`]),
    /// read-only, nosuid, nodev, noexec.
    pub fn cgroup(target: impl Into<PathBuf>) -> Mount {
        Mount::new(target.into(), MountKind::Cgroup, true, true, true).read_only(true)
    }

    /// Mounts a cgroup2 filesystem at `target`, read-only, nosuid, nodev, noexec.
    pub fn cgroup2(target: impl Into<PathBuf>) -> Mount {
        Mount::new(target.into(), MountKind::Cgroup2, true, true, true).read_only(true)
    }

    /// Binds the host's character device node `source` at `target`, checked to be
    /// `major:minor` when it is bound (nosuid, noexec).
    pub fn device(source: impl Into<PathBuf>, target: impl Into<PathBuf>, major: u32, minor: u32) -> Mount {
        Mount::new(target.into(), MountKind::Device { source: source.into(), major, minor }, true, false, true)
    }

    /// Makes the mount read-only (recursively, for a recursive bind).
    pub fn read_only(mut self, yes: bool) -> Mount {
        self.read_only = yes;
        self
    }

    /// For a bind mount: whether mounts below the source come along (default true).
    pub fn recursive(mut self, yes: bool) -> Mount {
        if let MountKind::Bind { recursive, .. } = &mut self.kind {
            *recursive = yes;
        }
        self
    }

    /// For a tmpfs: its size limit in bytes.
    pub fn size(mut self, bytes: u64) -> Mount {
        if let MountKind::Tmpfs { size, .. } = &mut self.kind {
            *size = Some(bytes);
        }
        self
    }

    /// For a tmpfs: the permission bits of its root directory (at most 0o7777).
    pub fn mode(mut self, bits: u32) -> Mount {
        if let MountKind::Tmpfs { mode, .. } = &mut self.kind {
            *mode = Some(bits);
        }
        self
    }

    /// Adds a filesystem option passed to the kernel as it is (`fsconfig`): `key=value`,
    /// or the flag `key` when `value` is `None`. Only the keys
    /// [`MountKind::fs_option_keys`] lists for the kind are accepted (checked by
    /// [`Mount::validate`]), e.g. `size=64m`, `nr_inodes=1k`, `mode=1777` for a tmpfs
    /// (applied after [`Mount::size`] and [`Mount::mode`], so they win).
    /// A devpts given any gets only these (instead of its defaults).
    pub fn fs_option(mut self, key: impl Into<String>, value: Option<&str>) -> Mount {
        self.fs_options.push((key.into(), value.map(str::to_string)));
        self
    }

    /// Whether set-user-id bits are ignored (default true).
    pub fn nosuid(mut self, yes: bool) -> Mount {
        self.nosuid = yes;
        self
    }

    /// Whether device nodes are unusable (default true).
    pub fn nodev(mut self, yes: bool) -> Mount {
        self.nodev = yes;
        self
    }

    /// Whether programs cannot be executed from it (default false).
    pub fn noexec(mut self, yes: bool) -> Mount {
        self.noexec = yes;
        self
    }

    /// How access times are updated (default: the kernel's for a new filesystem, the
    /// source's for a bind).
    pub fn atime(mut self, a: Atime) -> Mount {
        self.atime = Some(a);
        self
    }

    /// Whether directory access times are never updated (default false).
    pub fn nodiratime(mut self, yes: bool) -> Mount {
        self.nodiratime = yes;
        self
    }

    /// For a bind mount: relabel the source for the container before it starts, shared
    /// with every container (`z`, level `s0`) or private to this one (`Z`, its MCS level).
    /// Needs [`crate::ContainerBuilder::selinux`]; system directories (`/`, `/usr`,
    /// `/etc`, `/home`, ...) are refused. A no-op when SELinux is disabled.
    pub fn selinux_relabel(mut self, sharing: crate::selinux::Sharing) -> Mount {
        if let MountKind::Bind { .. } = self.kind {
            self.relabel = Some(sharing);
        }
        self
    }

    /// The target path inside the container.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// What is mounted.
    pub fn kind(&self) -> &MountKind {
        &self.kind
    }

    /// Whether the mount is read-only.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The filesystem options given with [`Mount::fs_option`].
    pub fn fs_options(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.fs_options.iter().map(|(k, v)| (k.as_str(), v.as_deref()))
    }

    /// Checks the mount's values (not the host: the source's existence is checked at
    /// spawn time).
    pub fn validate(&self) -> Result<()> {
        container_path("mount target", &self.target)?;
        match &self.kind {
            MountKind::Bind { source, .. } => {
                if !source.is_absolute() {
                    return Err(Error::invalid(
                        "bind source",
                        format!("{} is not an absolute path", source.display()),
                    ));
                }
                no_nul("bind source", source)?;
            }
            MountKind::Tmpfs { size, mode } => {
                if *size == Some(0) {
                    return Err(Error::invalid("tmpfs size", "a size of 0 bytes"));
                }
                if let Some(m) = mode {
                    if *m > 0o7777 {
                        return Err(Error::invalid("tmpfs mode", format!("{m:#o} is above 0o7777")));
                    }
                }
            }
            MountKind::Cgroup | MountKind::Cgroup2 => {
                if !self.read_only {
                    return Err(Error::invalid(
                        "cgroup mount",
                        format!(
                            "{} must be read-only: a writable cgroupfs would let the container change its own limits",
                            self.target.display()
                        ),
                    ));
                }
            }
            MountKind::Device { source, major, minor } => {
                if !source.is_absolute() {
                    return Err(Error::invalid("device source", format!("{} is not an absolute path", source.display())));
                }
                no_nul("device source", source)?;
                if *major > crate::cgroup::DEVICE_MAJOR_MAX || *minor > crate::cgroup::DEVICE_MINOR_MAX {
                    return Err(Error::invalid("device", format!("{major}:{minor} is not a device number")));
                }
            }
            MountKind::Proc | MountKind::Sysfs | MountKind::Devpts | MountKind::Mqueue => {}
        }
        let keys = self.kind.fs_option_keys();
        for (k, v) in self.fs_options() {
            if !keys.contains(&k) {
                return Err(Error::invalid(
                    "mount option",
                    format!("{k:?} is not an option cocoon passes to a {} mount (known: {})", self.kind.name(), keys.join(", ")),
                ));
            }
            if k.contains('\0') || v.is_some_and(|v| v.contains('\0')) {
                return Err(Error::invalid("mount option", format!("{k:?} contains a NUL byte")));
            }
        }
        Ok(())
    }
}

fn no_nul(what: &'static str, p: &Path) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    if p.as_os_str().as_bytes().contains(&0) {
        return Err(Error::invalid(what, format!("{p:?} contains a NUL byte")));
    }
    Ok(())
}

/// Normalises a path inside the container to its components, relative to the root.
///
/// It must be absolute, must not contain `..` or NUL, and must not be `/` itself.
/// Symlinks are not resolved here: that happens in the child, relative to the root fd.
pub(crate) fn container_path(what: &'static str, p: &Path) -> Result<Vec<std::ffi::OsString>> {
    no_nul(what, p)?;
    if !p.is_absolute() {
        return Err(Error::invalid(what, format!("{} is not absolute", p.display())));
    }
    let mut parts = Vec::new();
    for c in p.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(s) => parts.push(s.to_os_string()),
            Component::ParentDir => {
                return Err(Error::invalid(what, format!("{} contains '..'", p.display())))
            }
            Component::Prefix(_) => unreachable!("no path prefixes on Linux"),
        }
    }
    if parts.is_empty() {
        return Err(Error::invalid(what, "the container root itself is not a valid target"));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn targets() {
        assert!(container_path("t", Path::new("relative")).is_err());
        assert!(container_path("t", Path::new("/a/../b")).is_err());
        assert!(container_path("t", Path::new("/")).is_err());
        assert_eq!(container_path("t", Path::new("//a/./b/")).unwrap(), vec!["a", "b"]);
        assert!(Mount::tmpfs("/t").mode(0o17777).validate().is_err());
        assert!(Mount::tmpfs("/t").size(0).validate().is_err());
        assert!(Mount::bind("rel", "/t").validate().is_err());
        assert!(Mount::bind("/x", "/t").read_only(true).validate().is_ok());
    }

    proptest! {
        // Accepted targets never climb out of the root and never carry NUL.
        #[test]
        fn accepted_targets_stay_inside(s in "[a-z./\\x00]{0,24}") {
            if let Ok(parts) = container_path("t", Path::new(&s)) {
                prop_assert!(!parts.is_empty());
                for p in parts {
                    prop_assert!(p != ".." && p != "." && !p.is_empty());
                    prop_assert!(!p.to_string_lossy().contains('\0'));
                }
            }
        }

        #[test]
        fn tmpfs_mode_bounds(m in any::<u32>()) {
            prop_assert_eq!(Mount::tmpfs("/t").mode(m).validate().is_ok(), m <= 0o7777);
        }
    }
}
