//! Reading CRI log files back: the rotated files oldest first (`NAME.k` … `NAME.1`), then
//! the live one (`NAME`); optionally only the records from a time on, optionally following
//! the live file (`tail -f`) across rotations (`reader/follow.rs`).
//!
//! The files are opened when the reader is made (newest first, so that a rotation while
//! they are opened shows up as a file seen twice, which is dropped), and read through their
//! fds: a rotation while reading renames files under the reader, it does not change what an
//! open fd reads.

use std::collections::{HashSet, VecDeque};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{parse_time, LogTime, MAX_CHUNK, TIME_LEN};
use crate::error::{Error, Result};

mod follow;
#[cfg(test)]
mod tests;

/// The longest record line accepted (without its newline): the longest text a writer puts
/// in one record plus room for the time (with an offset), the stream and the tag. A longer
/// line is corrupt or hostile: it is skipped without being buffered whole.
pub(crate) const MAX_RECORD: usize = MAX_CHUNK + 64;

/// How much is read from a file at a time.
const READ_SIZE: usize = 64 * 1024;

/// Which stream a record came from.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogStream {
    /// The process's stdout.
    Stdout = 1,
    /// The process's stderr.
    Stderr = 2,
}

impl LogStream {
    /// The stream's name in a record: `stdout` or `stderr`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
        }
    }
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

impl LogLine {
    /// The record as our writer writes it: `<time> <stream> <F|P> <text>\n` (the time with
    /// nine fraction digits and `Z`, whatever form it was read in).
    pub fn to_record(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(TIME_LEN + 10 + self.text.len() + 1);
        let mut t = [0u8; TIME_LEN];
        self.time.format_into(&mut t);
        out.extend_from_slice(&t);
        out.push(b' ');
        out.extend_from_slice(self.stream.as_str().as_bytes());
        out.extend_from_slice(if self.partial { b" P " } else { b" F " });
        out.extend_from_slice(&self.text);
        out.push(b'\n');
        out
    }

    /// Parses one record line (its newline, if there, is dropped): `None` if it is not a
    /// CRI record. The tag may carry more `:`-separated tags after `F`/`P` (ignored); a
    /// record ending right after its tag has an empty text.
    pub fn parse(record: &[u8]) -> Option<LogLine> {
        let rec = record.strip_suffix(b"\n").unwrap_or(record);
        let sp = rec.iter().position(|&b| b == b' ')?;
        let time = parse_time(std::str::from_utf8(&rec[..sp]).ok()?).ok()?;
        let rest = &rec[sp + 1..];
        let (stream, rest) = if let Some(r) = rest.strip_prefix(b"stdout ") {
            (LogStream::Stdout, r)
        } else if let Some(r) = rest.strip_prefix(b"stderr ") {
            (LogStream::Stderr, r)
        } else {
            return None;
        };
        let (tag, text) = match rest.iter().position(|&b| b == b' ') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &[][..]),
        };
        let partial = match tag.split(|&b| b == b':').next() {
            Some(b"F") => false,
            Some(b"P") => true,
            _ => return None,
        };
        Some(LogLine { time, stream, partial, text: text.to_vec() })
    }
}

/// A file's identity: (st_dev, st_ino).
type FileId = (u64, u64);

/// One open log file.
#[derive(Debug)]
struct Source {
    file: File,
    id: FileId,
}

/// Reads a log's records, oldest first.
///
/// ```no_run
/// # fn main() -> cocoon::Result<()> {
/// use cocoon::logs::LogReader;
/// for line in LogReader::open("/var/log/box.log")? {
///     let line = line?;
///     println!("{} {} {}", line.time, line.stream.as_str(), String::from_utf8_lossy(&line.text));
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LogReader {
    /// The live file, `NAME`.
    path: PathBuf,
    /// The files still to read, oldest first; the front one is being read.
    files: VecDeque<Source>,
    /// Bytes read and not yet returned: `buf[start..]`.
    buf: Vec<u8>,
    start: usize,
    /// Inside an overlong line: drop bytes up to the next newline.
    discarding: bool,
    since: Option<LogTime>,
    follow: Option<follow::Follow>,
    skipped: u64,
    /// Ended (the end of the log, or an error): nothing more is returned.
    done: bool,
}

impl LogReader {
    /// Opens the log whose live file is `path`: its rotated files (`path.k` … `path.1`)
    /// are read first, oldest first, then `path`. Neither `path` nor a rotated file:
    /// [`Error::Os`] with `ENOENT`.
    pub fn open(path: impl AsRef<Path>) -> Result<LogReader> {
        let path = path.as_ref().to_path_buf();
        let files = collect(&path, None)?;
        if files.is_empty() {
            return Err(Error::os("open log", path.display().to_string(), io::Error::from_raw_os_error(libc::ENOENT)));
        }
        Ok(LogReader {
            path,
            files: files.into(),
            buf: Vec::new(),
            start: 0,
            discarding: false,
            since: None,
            follow: None,
            skipped: 0,
            done: false,
        })
    }

    /// Returns only the records whose time is `t` or later.
    pub fn since(mut self, t: LogTime) -> Self {
        self.since = Some(t);
        self
    }

    /// At the end of the live file, waits for more (`tail -f`, across rotations) instead of
    /// ending: forever with `None`; with `Some(timeout)`, [`LogReader::next_line`] returns
    /// `None` each time `timeout` passes without new data and follows on when called again.
    pub fn follow(mut self, timeout: Option<Duration>) -> Self {
        self.follow = Some(follow::Follow::new(timeout));
        self
    }

    /// How many lines were skipped because they are not records (junk, a truncated record
    /// at the end of a rotated file, a line longer than `MAX_CHUNK` + 64 bytes).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The live file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next record; `None` at the end of the live file, or when following with a
    /// timeout, once that long passed without new data: then a next call follows on (and
    /// waits up to the timeout again), so a caller can check in between whether to go on.
    /// After an error or the end (not following), nothing more is returned.
    pub fn next_line(&mut self) -> Result<Option<LogLine>> {
        if self.done {
            return Ok(None);
        }
        let got = self.advance();
        if matches!(got, Ok(None)) && self.follow.is_some() && !self.files.is_empty() {
            return got; // a quiet stretch while following: not the end
        }
        if !matches!(got, Ok(Some(_))) {
            self.done = true;
            self.files.clear();
            self.follow = None;
            self.buf = Vec::new();
            self.start = 0;
        }
        got
    }

    fn advance(&mut self) -> Result<Option<LogLine>> {
        loop {
            if let Some((a, b)) = self.take_record() {
                match LogLine::parse(&self.buf[a..b]) {
                    Some(l) if self.since.is_some_and(|s| l.time < s) => {}
                    Some(l) => return Ok(Some(l)),
                    None => self.skipped += 1,
                }
                continue;
            }
            if self.files.is_empty() {
                return Ok(None);
            }
            if self.fill()? > 0 {
                continue;
            }
            if self.files.len() > 1 {
                self.next_file();
                continue;
            }
            // The end of the last file.
            if self.follow.is_none() || !self.at_tail_end()? {
                return Ok(None);
            }
        }
    }

    /// The next complete line in the buffer, as `buf[a..b]` (consumed), skipping overlong
    /// ones; `None` if the buffer holds no newline.
    fn take_record(&mut self) -> Option<(usize, usize)> {
        loop {
            let pending = &self.buf[self.start..];
            match pending.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    let (a, b) = (self.start, self.start + i);
                    self.start = b + 1;
                    if self.discarding {
                        // The end of an overlong line (counted when it began).
                        self.discarding = false;
                    } else if i > MAX_RECORD {
                        self.skipped += 1;
                    } else {
                        return Some((a, b));
                    }
                }
                None => {
                    if pending.len() > MAX_RECORD {
                        if !self.discarding {
                            self.skipped += 1;
                            self.discarding = true;
                        }
                        self.start = self.buf.len();
                    }
                    return None;
                }
            }
        }
    }

    /// Reads more of the current file into the buffer: the bytes read (0 at its end).
    fn fill(&mut self) -> Result<usize> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let Some(src) = self.files.front_mut() else { return Ok(0) };
        let old = self.buf.len();
        self.buf.resize(old + READ_SIZE, 0);
        let got = loop {
            match src.file.read(&mut self.buf[old..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r,
            }
        };
        let n = *got.as_ref().unwrap_or(&0);
        self.buf.truncate(old + n);
        let n = got.map_err(|e| Error::os("read log", self.path.display().to_string(), e))?;
        if n > 0 {
            if let Some(f) = &mut self.follow {
                f.saw_data();
            }
        }
        Ok(n)
    }

    /// Done with the current file (not the last one): a fragment left at its end is a
    /// truncated record, skipped.
    fn next_file(&mut self) {
        self.files.pop_front();
        if self.start < self.buf.len() && !self.discarding {
            self.skipped += 1;
        }
        self.drop_buffered();
    }

    fn drop_buffered(&mut self) {
        self.buf.clear();
        self.start = 0;
        self.discarding = false;
    }
}

impl Iterator for LogReader {
    type Item = Result<LogLine>;

    fn next(&mut self) -> Option<Result<LogLine>> {
        self.next_line().transpose()
    }
}

/// The directory and file name of the live file.
fn split(live: &Path) -> Result<(&Path, &OsStr)> {
    let name =
        live.file_name().ok_or_else(|| Error::invalid("log path", format!("{} names no file", live.display())))?;
    let dir = match live.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    Ok((dir, name))
}

/// The numbers k of the files `NAME.k` in the directory, ascending, and one more than the
/// highest (a rotation may be adding it while we look).
fn rotated_numbers(dir: &Path, name: &OsStr) -> Result<Vec<u32>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::os("read log directory", dir.display().to_string(), e)),
    };
    let mut prefix = name.as_bytes().to_vec();
    prefix.push(b'.');
    let mut nums = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::os("read log directory", dir.display().to_string(), e))?;
        let file_name = entry.file_name();
        let Some(rest) = file_name.as_bytes().strip_prefix(prefix.as_slice()) else { continue };
        if rest.is_empty() || rest.len() > 9 || rest[0] == b'0' || !rest.iter().all(u8::is_ascii_digit) {
            continue;
        }
        nums.push(rest.iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0')));
    }
    nums.sort_unstable();
    if let Some(&max) = nums.last() {
        nums.push(max + 1);
    }
    Ok(nums)
}

fn rotated_path(dir: &Path, name: &OsStr, k: u32) -> PathBuf {
    let mut n = OsString::from(name);
    n.push(format!(".{k}"));
    dir.join(n)
}

/// Opens `NAME`, then `NAME.1`, `NAME.2` … (newest first) up to the file `stop` (excluded)
/// or the oldest, dropping a file seen twice (a rotation while opening) and anything not a
/// regular file. Returned oldest first.
fn collect(live: &Path, stop: Option<FileId>) -> Result<Vec<Source>> {
    let (dir, name) = split(live)?;
    let nums = rotated_numbers(dir, name)?;
    let candidates = std::iter::once(live.to_path_buf()).chain(nums.iter().map(|&k| rotated_path(dir, name, k)));
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    for p in candidates {
        // O_NONBLOCK: a FIFO planted under the name must not block the open.
        let file = match std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&p) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::os("open log", p.display().to_string(), e)),
        };
        let meta = file.metadata().map_err(|e| Error::os("stat log", p.display().to_string(), e))?;
        if !meta.is_file() {
            continue;
        }
        let id = (meta.dev(), meta.ino());
        if Some(id) == stop {
            break;
        }
        if seen.insert(id) {
            found.push(Source { file, id });
        }
    }
    found.reverse();
    Ok(found)
}
