//! Reading CRI log files back (placeholder: implemented on the logs-reader branch).

use super::LogTime;

/// Which stream a record came from.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogStream {
    /// The process's stdout.
    Stdout = 1,
    /// The process's stderr.
    Stderr = 2,
}

/// One record of a log file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// When the monitor read it.
    pub time: LogTime,
    /// Where it came from.
    pub stream: LogStream,
    /// A partial line (`P`): the next record of the same stream continues it.
    pub partial: bool,
    /// The text, without the record's newline (bytes as the process wrote them).
    pub text: Vec<u8>,
}

/// Reads a log's records, oldest first.
#[derive(Debug)]
pub struct LogReader {}
