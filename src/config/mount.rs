//! Extra mounts a caller adds to a container: bind mounts and tmpfs.

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
}

/// A mount inside the container. Built with [`Mount::bind`] or [`Mount::tmpfs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub(crate) target: PathBuf,
    pub(crate) kind: MountKind,
    pub(crate) read_only: bool,
    pub(crate) nosuid: bool,
    pub(crate) nodev: bool,
    pub(crate) noexec: bool,
    pub(crate) relabel: Option<crate::selinux::Sharing>,
}

impl Mount {
    /// Binds host path `source` at `target` inside the container (recursive, read-write,
    /// nosuid, nodev).
    pub fn bind(source: impl Into<PathBuf>, target: impl Into<PathBuf>) -> Mount {
        Mount {
            target: target.into(),
            kind: MountKind::Bind { source: source.into(), recursive: true },
            read_only: false,
            nosuid: true,
            nodev: true,
            noexec: false,
            relabel: None,
        }
    }

    /// Mounts a procfs at `target` (nosuid, nodev, noexec). Only needed when the
    /// standard mounts are off ([`crate::ContainerBuilder::standard_mounts`]).
    pub fn proc(target: impl Into<PathBuf>) -> Mount {
        Mount {
            target: target.into(),
            kind: MountKind::Proc,
            read_only: false,
            nosuid: true,
            nodev: true,
            noexec: true,
            relabel: None,
        }
    }

    /// Mounts a new tmpfs at `target` inside the container (nosuid, nodev).
    pub fn tmpfs(target: impl Into<PathBuf>) -> Mount {
        Mount {
            target: target.into(),
            kind: MountKind::Tmpfs { size: None, mode: None },
            read_only: false,
            nosuid: true,
            nodev: true,
            noexec: false,
            relabel: None,
        }
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
            MountKind::Proc => {}
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
