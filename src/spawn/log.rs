//! The caller's half of a container's log (see [`crate::logs`]): opens the file and its
//! directory and makes the stdout/stderr pipes whose read ends the monitor keeps, before
//! the clone; the monitor does the writing (`child/logwrite.rs`).

use std::ffi::OsStr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;

use crate::child::logwrite::{LogCtx, MAX_NAME, NAME_CAP};
use crate::error::{Error, Result};
use crate::logs::LogConfig;

/// What the monitor gets: the open file, its directory and the pipes' read ends (the
/// caller's copies are closed once the monitor has its own).
pub(crate) struct PreparedLog {
    file: OwnedFd,
    dir: OwnedFd,
    reads: [OwnedFd; 2],
    /// The write ends: the program's stdout and stderr.
    pub(crate) writes: [OwnedFd; 2],
    size: u64,
    max_size: u64,
    max_files: u32,
    name: [u8; NAME_CAP],
    name_len: usize,
}

/// Removes a log file this spawn created, if the spawn fails: a container that never ran
/// leaves no empty log behind (an existing file, appended to, is kept).
pub(crate) struct CreatedLog(Option<std::path::PathBuf>);

impl CreatedLog {
    /// The spawn succeeded: the file stays.
    pub(crate) fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for CreatedLog {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            if std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_file() && m.len() == 0) {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
}

/// Checks a log configuration without touching the filesystem (part of
/// `Process::validate`, which every plan has passed before [`PreparedLog::open`]).
pub(crate) fn check(cfg: &LogConfig) -> Result<()> {
    let name = cfg.path.file_name().map(OsStr::as_bytes).unwrap_or_default();
    // No file name: `/`, `dir/..` or an empty path.
    if name.is_empty() {
        return Err(Error::invalid("log", format!("{}: not a file path", cfg.path.display())));
    }
    if name.len() > MAX_NAME {
        return Err(Error::invalid("log", format!("file name longer than {MAX_NAME} bytes: {}", cfg.path.display())));
    }
    if name.contains(&0) {
        return Err(Error::invalid("log", "the path contains a NUL byte"));
    }
    Ok(())
}

impl PreparedLog {
    /// Opens the log's file and directory and makes its pipes; the guard removes the file
    /// again if this call created it and the spawn fails.
    pub(crate) fn open(cfg: &LogConfig) -> Result<(PreparedLog, CreatedLog)> {
        let existed = std::fs::symlink_metadata(&cfg.path).is_ok();
        let dir_path = match cfg.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => std::path::Path::new("."),
        };
        let dir: OwnedFd = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(dir_path)
            .map_err(|e| Error::os("open log directory", dir_path.display().to_string(), e))?
            .into();
        // Not through a symlink: the file is written with the caller's privileges.
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o640)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&cfg.path)
            .map_err(|e| Error::os("open log file", cfg.path.display().to_string(), e))?;
        let created = CreatedLog((!existed).then(|| cfg.path.clone()));
        let meta = file.metadata().map_err(|e| Error::os("stat", cfg.path.display().to_string(), e))?;
        if !meta.is_file() {
            return Err(Error::invalid("log", format!("{}: not a regular file", cfg.path.display())));
        }
        let (r_out, w_out) = pipe()?;
        let (r_err, w_err) = pipe()?;
        let mut name = [0u8; NAME_CAP];
        let base = cfg.path.file_name().map(OsStr::as_bytes).unwrap_or_default();
        name[..base.len()].copy_from_slice(base);
        let prepared = PreparedLog {
            file: file.into(),
            dir,
            reads: [r_out, r_err],
            writes: [w_out, w_err],
            size: meta.len(),
            max_size: cfg.max_size,
            max_files: cfg.max_files.max(1),
            name,
            name_len: base.len(),
        };
        Ok((prepared, created))
    }

    /// The monitor's view (its `status` pointer is set once the monitor's stack exists).
    pub(crate) fn ctx(&self) -> LogCtx {
        LogCtx {
            pipes: [self.reads[0].as_raw_fd(), self.reads[1].as_raw_fd()],
            file: self.file.as_raw_fd(),
            dir: self.dir.as_raw_fd(),
            size: self.size,
            max_size: self.max_size,
            max_files: self.max_files,
            name: self.name,
            name_len: self.name_len,
            status: std::ptr::null(),
        }
    }
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| Error::os("pipe2", "log", std::io::Error::from(e)))
}
