//! Container logs in the CRI format Kubernetes reads: one record per line of output,
//! `<RFC 3339 time> <stdout|stderr> <F|P> <text>\n`, `P` marking a partial line (a line
//! longer than [`MAX_CHUNK`] is cut into `P` records and ends with an `F` one, as kubelet
//! does).
//!
//! Writing: [`crate::Process::log`] sends the container's stdout and stderr through pipes
//! to its monitor (`child/logwrite.rs`), which timestamps and writes the records itself.
//! The monitor is the process that outlives the caller for a detached container, so
//! logging goes on after the creating process exits, and a crashing container's lines are
//! already in the pipe (the monitor drains it before it exits). A full pipe blocks the
//! container's writes: back-pressure, not drops. Only a failing file (a full disk) loses
//! output: the monitor keeps draining so the container is never stuck, counts the bytes it
//! could not write ([`crate::Container::log_lost_bytes`]) and writes a marker record once
//! it can again.
//!
//! Rotation by size: when the file would grow past `max_size`, `NAME` becomes `NAME.1`,
//! `NAME.1` becomes `NAME.2` and so on; at most `max_files` files exist (`NAME` included).
//!
//! Reading: [`LogReader`] walks the rotated files oldest first, then the live one, and can
//! follow it (`tail -f`, across rotations) and start at a timestamp.

mod reader;
mod time;

pub use reader::{LogLine, LogReader, LogStream};
pub use time::{format_time, parse_time, BadTime, LogTime, TIME_LEN};

use std::path::{Path, PathBuf};

/// The longest line text in one record: longer lines become partial (`P`) records.
/// kubelet's limit, so its readers and ours agree on where lines were cut.
pub const MAX_CHUNK: usize = 16 * 1024;

/// Where and how a process's output is logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    pub(crate) path: PathBuf,
    pub(crate) max_size: u64,
    pub(crate) max_files: u32,
}

impl LogConfig {
    /// Log to `path` (created with mode 0640 if missing, appended to otherwise; its
    /// directory must exist), with no rotation.
    pub fn new(path: impl Into<PathBuf>) -> LogConfig {
        LogConfig { path: path.into(), max_size: 0, max_files: 1 }
    }

    /// Rotate when the file would pass `max_size` bytes, keeping at most `max_files`
    /// files (the live one included; 1 truncates the file instead). `max_size` 0: never.
    pub fn rotate(mut self, max_size: u64, max_files: u32) -> LogConfig {
        self.max_size = max_size;
        self.max_files = max_files.max(1);
        self
    }

    /// The live log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rotation size in bytes (0: no rotation).
    pub fn max_size(&self) -> u64 {
        self.max_size
    }

    /// The most files kept, the live one included.
    pub fn max_files(&self) -> u32 {
        self.max_files
    }
}
