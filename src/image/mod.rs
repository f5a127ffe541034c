//! OCI images: a content-addressed layer store, import of OCI layouts and oci-/docker-
//! archives, hostile-tarball-safe unpacking, and running containers from an image.
//!
//! Store layout (a directory the caller chooses, default [`DEFAULT_STORE`]):
//!
//! ```text
//! lock                       flock: importers and spawns shared, remove/gc exclusive
//! blobs/sha256/<hex>         manifests and configs (OCI JSON), by digest
//! layers/<hex>/              one unpacked layer per uncompressed digest (diff_id)
//! refs.json                  name:tag -> manifest digest
//! tmp/                       imports in progress (left-overs removed at open)
//! containers/<id>.<nonce>/   a container's writable layer (upper, work, owner)
//! ```
//!
//! The store, import and unpacking need the cargo feature `image` (default on); without
//! it the library links none of the image crates and only [`ImageError`] and the
//! per-container writable layer (used by [`crate::rootfs::Rootfs::Image`]) remain.

mod error;
mod lock;
mod writable;

pub use error::ImageError;
pub(crate) use writable::WritableLayer;

#[cfg(feature = "image")]
mod commit;
#[cfg(feature = "image")]
mod defaults;
#[cfg(feature = "image")]
mod digest;
#[cfg(feature = "image")]
mod import;
#[cfg(feature = "image")]
mod layer_tar;
#[cfg(feature = "image")]
mod source;
#[cfg(feature = "image")]
mod fsat;
#[cfg(feature = "image")]
mod store;
#[cfg(feature = "image")]
mod tarwalk;
#[cfg(feature = "image")]
mod unpack;

#[cfg(feature = "image")]
pub use commit::{CommitOptions, ExportFormat};
#[cfg(feature = "image")]
pub use defaults::ImageDefaults;
#[cfg(feature = "image")]
pub use import::{ArchiveFormat, ImportOptions};
#[cfg(feature = "image")]
pub use store::{GcReport, ImageInfo, ImageStore};

/// The store directory used when the caller names none.
pub const DEFAULT_STORE: &str = "/var/lib/cocoon/images";
