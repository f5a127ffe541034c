//! Where the container's root filesystem comes from.

use std::path::PathBuf;

/// The root filesystem of a container.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Rootfs {
    /// The embedded default, needing no image: a fresh tmpfs holding the host's `/usr`
    /// bound read-only, the usual `/bin`, `/sbin`, `/lib*` links (or binds, on a host
    /// without merged /usr), a minimal `/etc` (passwd, group, hosts, plus what the host's
    /// /usr needs from its /etc, bound read-only: alternatives, ld.so.cache, ssl/certs,
    /// ssl/openssl.cnf, localtime), empty `/root`,
    /// `/home`, `/run`, and a `/tmp` tmpfs of its own (writable even under a read-only
    /// root). Like a bubblewrap sandbox.
    #[default]
    HostSandbox,
    /// An existing directory, bound as the root.
    Directory(PathBuf),
    /// Image layers: read-only `lower` directories (first = top-most) under one writable
    /// `upper` directory, joined with overlayfs. `work` is overlayfs' scratch directory;
    /// it must be empty and on the same filesystem as `upper`.
    Layers {
        /// Read-only layers, top-most first.
        lower: Vec<PathBuf>,
        /// The writable layer: every change the container makes lands here.
        upper: PathBuf,
        /// overlayfs work directory, on the same filesystem as `upper`.
        work: PathBuf,
    },
}

impl Rootfs {
    /// Checks what needs no host access: layers need at least one lower layer.
    pub fn validate(&self) -> crate::Result<()> {
        if let Rootfs::Layers { lower, .. } = self {
            if lower.is_empty() {
                return Err(crate::Error::invalid("rootfs layers", "at least one lower layer is needed"));
            }
        }
        Ok(())
    }

    /// A root from an existing directory.
    pub fn directory(path: impl Into<PathBuf>) -> Rootfs {
        Rootfs::Directory(path.into())
    }

    /// A root from image layers (top-most lower layer first) and a writable layer.
    pub fn layers(
        lower: impl IntoIterator<Item = impl Into<PathBuf>>,
        upper: impl Into<PathBuf>,
        work: impl Into<PathBuf>,
    ) -> Rootfs {
        Rootfs::Layers {
            lower: lower.into_iter().map(Into::into).collect(),
            upper: upper.into(),
            work: work.into(),
        }
    }
}
