//! The writable layer of one container run from an image: `<store>/containers/<name>/`
//! with overlayfs' `upper` and `work`, and an `owner` record (the spawning process's pid
//! and start time, and the image's manifest digest) that garbage collection reads to keep
//! the image's layers while the container may live, and to remove what a killed caller
//! left. The [`crate::Container`] owns it and removes it after its processes are gone,
//! unless the caller asked to keep it.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::lock::StoreLock;
use super::ImageError;

/// Where containers' writable layers live below a store.
pub(crate) const CONTAINERS_DIR: &str = "containers";

/// One container's writable layer; removed when dropped unless kept.
#[derive(Debug)]
pub(crate) struct WritableLayer {
    dir: PathBuf,
    keep: bool,
}

impl WritableLayer {
    /// Creates a fresh writable layer in the store at `store` for a container `id` of the
    /// image whose manifest digest is `image`.
    pub(crate) fn create(store: &Path, id: &str, image: &str, keep: bool) -> Result<WritableLayer, ImageError> {
        let _lock = StoreLock::take(store, false)?;
        let parent = store.join(CONTAINERS_DIR);
        let name = format!("{id}.{:016x}", crate::owner::random_u64());
        let dir = parent.join(name);
        std::fs::create_dir(&dir).map_err(|e| ImageError::io("create writable layer", &dir, e))?;
        // From here on the directory goes away again if anything fails.
        let layer = WritableLayer { dir, keep: false };
        for sub in ["upper", "work"] {
            let p = layer.dir.join(sub);
            std::fs::create_dir(&p).map_err(|e| ImageError::io("create writable layer", &p, e))?;
        }
        let pid = std::process::id() as i32;
        let start = crate::owner::process_start_time(pid).unwrap_or(0);
        let owner = layer.dir.join("owner");
        let record = format!("{} {pid} {start}\n{image}\n", if keep { "kept" } else { "live" });
        std::fs::File::create(&owner)
            .and_then(|mut f| f.write_all(record.as_bytes()))
            .map_err(|e| ImageError::io("write writable layer owner", &owner, e))?;
        let mut layer = layer;
        layer.keep = keep;
        Ok(layer)
    }

    /// overlayfs' upper directory: every change the container makes.
    pub(crate) fn upper(&self) -> PathBuf {
        self.dir.join("upper")
    }

    /// overlayfs' work directory.
    pub(crate) fn work(&self) -> PathBuf {
        self.dir.join("work")
    }

    /// Leaves the layer to a detached container: from now on its first process `pid`
    /// owns it (collected once that process is gone).
    pub(crate) fn leave(mut self, pid: i32) {
        self.keep = true;
        if let Some(start) = crate::owner::process_start_time(pid) {
            let image = read_owner(&self.dir).1.unwrap_or_default();
            let kept = std::fs::read_to_string(self.dir.join("owner")).is_ok_and(|t| t.starts_with("kept"));
            if !kept {
                let _ = std::fs::write(self.dir.join("owner"), format!("live {pid} {start}\n{image}\n"));
            }
        }
    }

    /// The layer's directory (`upper`, `work`, `owner`).
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for WritableLayer {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// What an `owner` record says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    /// Kept on purpose: never collected.
    Kept,
    /// The spawning process is alive (the container may be).
    Live,
    /// The spawning process is gone (its monitors killed its containers).
    Stale,
}

/// Reads the record of the writable layer `dir`: who holds it and the image's manifest
/// digest. A directory without a readable record is being created (under the shared
/// lock) or was left by a crash before it; only the exclusive holder calls this, so it
/// is stale.
pub(crate) fn read_owner(dir: &Path) -> (Owner, Option<String>) {
    let Ok(text) = std::fs::read_to_string(dir.join("owner")) else {
        return (Owner::Stale, None);
    };
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    let image = lines.next().map(str::to_string);
    let alive = |pid: &str, start: &str| -> bool {
        match (pid.parse::<i32>(), start.parse::<u64>()) {
            (Ok(pid), Ok(start)) => crate::owner::process_start_time(pid) == Some(start),
            _ => false,
        }
    };
    let owner = match head.as_slice() {
        ["kept", ..] => Owner::Kept,
        ["live", pid, start] if alive(pid, start) => Owner::Live,
        _ => Owner::Stale,
    };
    (owner, image)
}
