//! What can be wrong with an image: a digest that does not match, a hostile or malformed
//! archive, a missing reference. Every variant leaves nothing behind in the store.

use std::io;
use std::path::PathBuf;

/// Why an image could not be imported, found, unpacked or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// A blob's sha256 is not the digest that names it (a corrupt or tampered archive).
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        /// Which blob (manifest, config, layer N).
        what: String,
        /// The digest the referencing document names.
        expected: String,
        /// The digest of the bytes read.
        actual: String,
    },
    /// A layer entry would land outside its layer directory, or is refused (a device node
    /// without the right to make one, a hardlink to outside, an overlay xattr).
    #[error("unsafe layer entry {path:?}: {reason}")]
    UnsafeEntry {
        /// The entry's path as the archive names it.
        path: String,
        /// Why it is refused.
        reason: String,
    },
    /// A device node in a layer, and the importer may not create device nodes (not root,
    /// or [`crate::image::ImportOptions::device_nodes`] turned off).
    #[error("layer entry {path:?} is a device node, and creating device nodes is not permitted")]
    DeviceNotPermitted {
        /// The entry's path.
        path: String,
    },
    /// A document, header, path or blob exceeds its bound.
    #[error("{what} is larger than the limit of {limit}")]
    TooLarge {
        /// What exceeded it.
        what: String,
        /// The limit (bytes, or a count).
        limit: u64,
    },
    /// The archive or a document in it is malformed, truncated or of an unsupported kind.
    #[error("malformed image ({what}): {reason}")]
    Malformed {
        /// Which part.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// No image of that name (or digest) in the store, or no manifest for this platform.
    #[error("image not found: {0}")]
    NotFound(String),
    /// Reading or writing the store or the archive failed.
    #[error("{op} failed ({}): {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

impl ImageError {
    /// The OS error number, for `Io`.
    pub(crate) fn raw_os_error(&self) -> Option<i32> {
        match self {
            ImageError::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> ImageError {
        ImageError::Io { op, path: path.into(), source }
    }

    #[cfg_attr(not(feature = "image"), allow(dead_code))]
    pub(crate) fn malformed(what: impl Into<String>, reason: impl Into<String>) -> ImageError {
        ImageError::Malformed { what: what.into(), reason: reason.into() }
    }

    #[cfg_attr(not(feature = "image"), allow(dead_code))]
    pub(crate) fn unsafe_entry(path: impl Into<String>, reason: impl Into<String>) -> ImageError {
        ImageError::UnsafeEntry { path: path.into(), reason: reason.into() }
    }
}
