//! [`OciError`]: why a bundle could not be read or converted.

use std::path::PathBuf;

/// Why a bundle could not be loaded or its spec turned into a builder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OciError {
    /// The bundle's `config.json` could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// `config.json` is not a runtime spec (bad JSON, a wrong type or a missing field).
    #[error("{}: not a valid runtime spec: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// Where and why parsing failed.
        #[source]
        source: serde_json::Error,
    },
    /// A field cocoon cannot honour (ignoring it could weaken the container's isolation).
    #[error("unsupported {field}: {why}")]
    Unsupported {
        /// The field's JSON path, e.g. `linux.seccomp` or `mounts[2].options`.
        field: String,
        /// Why, and what to use instead where there is something.
        why: String,
    },
    /// A field whose value is wrong.
    #[error("invalid {field}: {why}")]
    Invalid {
        /// The field's JSON path, e.g. `process.cwd`.
        field: String,
        /// What is wrong with it.
        why: String,
    },
    /// The builder the spec became was rejected by cocoon (or spawning it failed).
    #[error(transparent)]
    Cocoon(#[from] crate::Error),
}

impl OciError {
    pub(crate) fn unsupported(field: impl Into<String>, why: impl Into<String>) -> OciError {
        OciError::Unsupported { field: field.into(), why: why.into() }
    }

    pub(crate) fn invalid(field: impl Into<String>, why: impl Into<String>) -> OciError {
        OciError::Invalid { field: field.into(), why: why.into() }
    }

    /// The JSON path of the field, for [`OciError::Unsupported`] and [`OciError::Invalid`].
    pub fn field(&self) -> Option<&str> {
        match self {
            OciError::Unsupported { field, .. } | OciError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}
