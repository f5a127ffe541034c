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
    /// An image of an image store (`cocoon::image::ImageStore::rootfs`): its layers as
    /// read-only lowers, shared by every container of the image, and a fresh writable
    /// layer per container, made in the store at each spawn and removed with the
    /// [`crate::Container`] (unless [`ImageRootfs::keep_upper`]).
    Image(ImageRootfs),
}

/// The layers of an image in a store, as [`Rootfs::Image`] uses them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRootfs {
    /// The store's directory.
    pub(crate) store: PathBuf,
    /// The unpacked layers, top-most first.
    pub(crate) lower: Vec<PathBuf>,
    /// The image's manifest digest (recorded with each writable layer, for collection).
    pub(crate) image: String,
    /// Whether each container's writable layer stays after the container is gone.
    pub(crate) keep_upper: bool,
}

impl ImageRootfs {
    /// An image's layers (top-most first) in the store at `store`; `image` is its
    /// manifest digest.
    #[cfg_attr(not(feature = "image"), allow(dead_code))]
    pub(crate) fn new(store: PathBuf, lower: Vec<PathBuf>, image: String) -> ImageRootfs {
        ImageRootfs { store, lower, image, keep_upper: false }
    }

    /// Keep each container's writable layer (`<store>/containers/<id>.<nonce>/upper`,
    /// see [`crate::Container::writable_layer`]) after the container is gone, e.g. to
    /// commit it; it is then never garbage-collected and the caller removes it.
    pub fn keep_upper(mut self, yes: bool) -> ImageRootfs {
        self.keep_upper = yes;
        self
    }

    /// The read-only layers, top-most first.
    pub fn layers(&self) -> &[PathBuf] {
        &self.lower
    }

    /// The image's manifest digest.
    pub fn image_digest(&self) -> &str {
        &self.image
    }
}

impl Rootfs {
    /// Checks what needs no host access: layers need at least one lower layer.
    pub fn validate(&self) -> crate::Result<()> {
        if let Rootfs::Layers { lower, .. } | Rootfs::Image(ImageRootfs { lower, .. }) = self {
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
