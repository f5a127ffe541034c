//! The store's lock file: importers and spawns hold it shared, removal and garbage
//! collection exclusive, so a collection never sees a half-recorded image or container.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

use super::ImageError;

/// A held `flock` on `<store>/lock`; released when dropped (the fd closes).
#[derive(Debug)]
pub(crate) struct StoreLock(#[allow(dead_code)] File);

impl StoreLock {
    /// Takes the lock of the store at `root`, shared or exclusive, waiting for it.
    pub(crate) fn take(root: &Path, exclusive: bool) -> Result<StoreLock, ImageError> {
        let path = root.join("lock");
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| ImageError::io("open store lock", &path, e))?;
        let op = if exclusive { libc::LOCK_EX } else { libc::LOCK_SH };
        loop {
            // SAFETY: flock on an fd we own.
            if unsafe { libc::flock(f.as_raw_fd(), op) } == 0 {
                return Ok(StoreLock(f));
            }
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(ImageError::io("flock store lock", &path, e));
            }
        }
    }
}
