//! `cocoon_log_reader_*`: reading CRI log files back (`cocoon::logs::LogReader`).

use std::ffi::{c_char, c_int, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use super::{cstr_arg, guard, nonnull, put, Fail};
use crate::logs::{LogLine, LogReader, LogTime};

/// `cocoon_log_line.stream`: the process's stdout.
pub const COCOON_LOG_STDOUT: u8 = 1;
/// `cocoon_log_line.stream`: the process's stderr.
pub const COCOON_LOG_STDERR: u8 = 2;

/// Opaque: a reader of a log's records (its rotated files oldest first, then the live one).
pub struct cocoon_log_reader {
    inner: LogReader,
    /// The line last returned: `cocoon_log_line.text` points into it.
    line: Option<LogLine>,
}

/// One record, filled by `cocoon_log_reader_next`.
///
/// The struct grows at its end in later versions: set `size` to `sizeof(cocoon_log_line)`
/// before the call; cocoon fills at most that many bytes and sets `size` to how many it
/// filled.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cocoon_log_line {
    /// In: `sizeof(cocoon_log_line)` as the caller knows it. Out: the bytes cocoon filled.
    pub size: u32,
    /// `COCOON_LOG_STDOUT` or `COCOON_LOG_STDERR`.
    pub stream: u8,
    /// 1 for a partial line (`P`: the next record of the same stream continues it), else 0.
    pub partial: u8,
    /// Zero.
    pub reserved: [u8; 2],
    /// The record's time: seconds since the Unix epoch (UTC)...
    pub secs: i64,
    /// ... and nanoseconds within the second.
    pub nanos: u32,
    /// The text without the record's newline: `len` bytes, not NUL-terminated, any bytes
    /// (not necessarily UTF-8). Borrowed from the reader until its next call (next or free).
    pub text: *const u8,
    /// The text's length in bytes.
    pub len: usize,
}

/// The smallest `cocoon_log_line.size` accepted: the size of the first version.
pub const COCOON_LOG_LINE_SIZE_V1: u32 = 40;

const _: () = assert!(std::mem::size_of::<cocoon_log_line>() == COCOON_LOG_LINE_SIZE_V1 as usize);

/// Opens the log whose live file is `path` (its rotated files `path.k` ... `path.1` are read
/// first, oldest first). `since_secs` >= 0: only records at or after `since_secs` +
/// `since_nanos` (nanos below 1e9). `follow` != 0: at the end of the live file wait for
/// more (across rotations), forever if `timeout_ms` < 0, else until `timeout_ms` pass
/// without new data. Neither `path` nor a rotated file -> `COCOON_E_OS` (errno `ENOENT`).
/// Free with `cocoon_log_reader_free`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_log_reader_open(
    path: *const c_char,
    since_secs: i64,
    since_nanos: u32,
    follow: c_int,
    timeout_ms: i64,
    out: *mut *mut cocoon_log_reader,
) -> c_int {
    guard(|| {
        // SAFETY: NULL or a NUL-terminated string per the contract.
        let path = unsafe { cstr_arg(path, "path") }?;
        nonnull(out, "out")?;
        if path.is_empty() {
            return Err(Fail::arg("path is empty"));
        }
        if since_nanos >= 1_000_000_000 {
            return Err(Fail::arg(format!("since_nanos {since_nanos} is not below 1000000000")));
        }
        let mut inner = LogReader::open(OsStr::from_bytes(path))?;
        if since_secs >= 0 {
            inner = inner.since(LogTime { secs: since_secs, nanos: since_nanos });
        }
        if follow != 0 {
            let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
            inner = inner.follow(timeout);
        }
        // SAFETY: checked non-NULL.
        unsafe { put(out, Box::into_raw(Box::new(cocoon_log_reader { inner, line: None }))) };
        Ok(())
    })
}

/// Reads the next record into `out` (`out->size` must be set, see `cocoon_log_line`):
/// returns 1 with a record, 0 at the end of the live file (then always 0) or, following
/// with a timeout, when `timeout_ms` passed without new data (a next call follows on and
/// waits again: check in between whether to go on), a negative `COCOON_E_*` code on an error (`out` untouched; the reader is then
/// at its end). Lines that are not records are skipped. The previous record's `text` is no
/// longer valid. A following reader blocks the calling thread while it waits for more.
#[no_mangle]
pub unsafe extern "C" fn cocoon_log_reader_next(reader: *mut cocoon_log_reader, out: *mut cocoon_log_line) -> c_int {
    let mut got = 0;
    let rc = guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let r = unsafe { reader.as_mut() }.ok_or_else(|| Fail::null("reader"))?;
        nonnull(out, "out")?;
        // SAFETY: non-NULL; every version of the struct starts with `size`.
        let size = unsafe { std::ptr::addr_of!((*out).size).read_unaligned() };
        if size < COCOON_LOG_LINE_SIZE_V1 {
            return Err(Fail::arg(format!(
                "out->size is {size}; set it to sizeof(cocoon_log_line) (at least {COCOON_LOG_LINE_SIZE_V1})"
            )));
        }
        r.line = None;
        let Some(line) = r.inner.next_line()? else { return Ok(()) };
        let line = r.line.insert(line);
        let n = (size as usize).min(std::mem::size_of::<cocoon_log_line>());
        let c = cocoon_log_line {
            size: n as u32,
            stream: line.stream as u8,
            partial: u8::from(line.partial),
            reserved: [0; 2],
            secs: line.time.secs,
            nanos: line.time.nanos,
            text: line.text.as_ptr(),
            len: line.text.len(),
        };
        // SAFETY: the caller's struct holds at least `size` >= `n` writable bytes; `c` is a
        // local of `size_of::<cocoon_log_line>()` >= `n` bytes; they do not overlap.
        unsafe { std::ptr::copy_nonoverlapping((&c as *const cocoon_log_line).cast::<u8>(), out.cast::<u8>(), n) };
        got = 1;
        Ok(())
    });
    if rc == 0 {
        got
    } else {
        rc
    }
}

/// How many lines the reader skipped so far because they are not records (junk, a
/// truncated record, a line longer than 16 KiB + 64 bytes) into `*count`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_log_reader_skipped(reader: *const cocoon_log_reader, count: *mut u64) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let r = unsafe { reader.as_ref() }.ok_or_else(|| Fail::null("reader"))?;
        nonnull(count, "count")?;
        // SAFETY: checked non-NULL.
        unsafe { put(count, r.inner.skipped()) };
        Ok(())
    })
}

/// Frees the reader (and the text of the last record). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn cocoon_log_reader_free(reader: *mut cocoon_log_reader) {
    guard(|| {
        if !reader.is_null() {
            // SAFETY: a non-NULL handle came from `cocoon_log_reader_open`; freed once.
            drop(unsafe { Box::from_raw(reader) });
        }
        Ok(())
    });
}
