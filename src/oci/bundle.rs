//! [`Bundle`]: a bundle directory and its `config.json`, read with bounds.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use super::OciError;

/// The largest `config.json` [`Bundle::load`] reads (4 MiB; runc's are a few KiB).
pub const MAX_CONFIG_SIZE: u64 = 4 << 20;

/// An OCI runtime bundle: its directory and its parsed `config.json`.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The bundle directory (relative `root.path` and bind sources are below it).
    pub dir: PathBuf,
    /// The runtime spec.
    pub spec: Spec,
}

impl Bundle {
    /// Reads `dir/config.json`: a regular file (opened without following a symlink at
    /// the last component and non-blocking, so a FIFO cannot hang the runtime) of at most
    /// [`MAX_CONFIG_SIZE`] bytes, whose `ociVersion` is 1.0.x, 1.1.x or 1.2.x.
    pub fn load(dir: &Path) -> Result<Bundle, OciError> {
        let path = dir.join("config.json");
        let io = |source| OciError::Io { path: path.clone(), source };
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&path)
            .map_err(io)?;
        let md = file.metadata().map_err(io)?;
        if !md.is_file() {
            return Err(OciError::invalid("config.json", format!("{} is not a regular file", path.display())));
        }
        if md.len() > MAX_CONFIG_SIZE {
            return Err(OciError::invalid(
                "config.json",
                format!("{} is {} bytes; at most {MAX_CONFIG_SIZE} are read", path.display(), md.len()),
            ));
        }
        let mut text = Vec::with_capacity(md.len() as usize);
        file.take(MAX_CONFIG_SIZE + 1).read_to_end(&mut text).map_err(io)?;
        if text.len() as u64 > MAX_CONFIG_SIZE {
            return Err(OciError::invalid("config.json", format!("{} grew above {MAX_CONFIG_SIZE} bytes", path.display())));
        }
        let spec: Spec = serde_json::from_slice(&text).map_err(|source| OciError::Json { path: path.clone(), source })?;
        check_version(spec.version())?;
        Ok(Bundle { dir: dir.to_path_buf(), spec })
    }
}

/// Accepts `ociVersion` 1.0.x, 1.1.x and 1.2.x (with or without a pre-release suffix such
/// as runc's `1.0.2-dev`).
pub(crate) fn check_version(v: &str) -> Result<(), OciError> {
    let bad = |why: &str| Err(OciError::invalid("ociVersion", format!("{v:?}: {why}")));
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    let [major, minor, patch] = parts.as_slice() else {
        return bad("not a MAJOR.MINOR.PATCH version");
    };
    if parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return bad("not a MAJOR.MINOR.PATCH version");
    }
    let num = |s: &str| s.parse::<u64>().ok();
    match (num(major), num(minor), num(patch)) {
        (Some(1), Some(0..=2), Some(_)) => Ok(()),
        (Some(_), Some(_), Some(_)) => bad("cocoon accepts runtime spec versions 1.0.x to 1.2.x"),
        _ => bad("a component is too large"),
    }
}
