//! The monitor's log writer: reads the program's stdout and stderr pipes and appends CRI
//! records (`<time> <stream> <F|P> <text>\n`, see [`crate::logs`]) to the log file,
//! rotating it by size.
//!
//! Runs in the monitor, under the AUDIT RULES of `child/mod.rs`: no allocation (every
//! buffer is a fixed array on the monitor's stack), no locks, no panics (slices only at
//! checked bounds), syscalls through `raw`. One timestamp per `read`: the records of one
//! read arrived together, and a clock call per line would cost more than the line.
//!
//! Writes block: a slow disk slows the reads, the pipe fills and the program's writes
//! wait (back-pressure, nothing dropped). A failing write (ENOSPC, EIO) drops what it could
//! not write instead, so the program never blocks forever on a full disk: the bytes are
//! counted in the [`LogStatus`] the caller reads, and a marker record says how many were
//! lost once a write succeeds again.

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use libc::c_int;

use crate::child::raw;
use crate::logs::{LogTime, MAX_CHUNK, TIME_LEN};

/// Longest base name of a log file: room for `.NNNNNNNNNN` and the NUL within NAME_MAX.
pub(crate) const NAME_CAP: usize = 256;
pub(crate) const MAX_NAME: usize = NAME_CAP - 16;

/// What the writer tells the caller, in memory that outlives both (the top of the
/// monitor's stack mapping, see `spawn::MonitorStack`).
#[derive(Debug, Default)]
#[repr(C)]
pub(crate) struct LogStatus {
    /// Bytes of output that could not be written.
    pub lost: AtomicU64,
    /// The errno of the last failed write (0: none yet).
    pub errno: AtomicI32,
}

/// The log's fds and settings, prepared by the caller (`spawn/log.rs`). Plain data: the
/// monitor copies it onto its own stack.
#[derive(Clone, Copy)]
pub(crate) struct LogCtx {
    /// Read ends of the program's stdout and stderr pipes (-1: no log).
    pub pipes: [c_int; 2],
    /// The live file, opened `O_WRONLY | O_APPEND`.
    pub file: c_int,
    /// Its directory, for the renames of a rotation.
    pub dir: c_int,
    /// The file's size when the monitor started.
    pub size: u64,
    pub max_size: u64,
    pub max_files: u32,
    /// The file's base name, NUL-terminated.
    pub name: [u8; NAME_CAP],
    pub name_len: usize,
    /// Where to count lost bytes.
    pub status: *const LogStatus,
}

impl LogCtx {
    pub(crate) const NONE: LogCtx = LogCtx {
        pipes: [-1, -1],
        file: -1,
        dir: -1,
        size: 0,
        max_size: 0,
        max_files: 1,
        name: [0; NAME_CAP],
        name_len: 0,
        status: std::ptr::null(),
    };

    pub(crate) fn enabled(&self) -> bool {
        self.file >= 0
    }
}

/// Bytes taken from a pipe per `read`.
const READ_CHUNK: usize = 64 * 1024;
/// Longest record: time, stream, tag, text, separators and the newline.
const RECORD_MAX: usize = TIME_LEN + 10 + MAX_CHUNK + 1;
/// Records are batched up to this size per `write`.
const OUT_CAP: usize = READ_CHUNK + RECORD_MAX;
/// Room before the batch for the loss marker, written with the batch that follows a loss.
const MARKER_ROOM: usize = 128;

/// The writer's state: the settings plus its buffers, all on the monitor's stack.
pub(crate) struct LogWriter {
    ctx: LogCtx,
    size: u64,
    /// The line being assembled per stream (up to MAX_CHUNK bytes, then a `P` record).
    line: [[u8; MAX_CHUNK]; 2],
    line_len: [usize; 2],
    /// `MARKER_ROOM` bytes for a marker, then the batch (`out_len` bytes).
    out: [u8; MARKER_ROOM + OUT_CAP],
    out_len: usize,
    /// The time stamped on the records being built.
    stamp: [u8; TIME_LEN],
    /// Bytes dropped since the last marker.
    unreported: u64,
}

impl LogWriter {
    /// Initialises `w` in place: it is large (≈ 110 KiB), so it is zeroed where it lives
    /// and never built elsewhere and moved (which would touch twice the stack).
    pub(crate) fn init(w: &mut core::mem::MaybeUninit<LogWriter>, ctx: LogCtx) -> &mut LogWriter {
        // SAFETY: all-zero bytes are a valid LogWriter (integers, byte arrays, and a null
        // raw pointer in `ctx`, which is replaced right below).
        let w = unsafe {
            core::ptr::write_bytes(w.as_mut_ptr(), 0, 1);
            w.assume_init_mut()
        };
        w.ctx = ctx;
        w.size = ctx.size;
        w.stamp = [b'0'; TIME_LEN];
        w
    }

    /// Reads once from stream `i`'s pipe (0 stdout, 1 stderr). False once the pipe is
    /// done (EOF or an error): the caller stops polling it.
    pub(crate) fn pump(&mut self, i: usize, buf: &mut [u8; READ_CHUNK]) -> bool {
        let fd = self.ctx.pipes[i & 1];
        let n = match raw::read(fd, buf) {
            Ok(0) => {
                self.end_stream(i & 1);
                return false;
            }
            Ok(n) => n.min(buf.len()),
            Err(libc::EINTR) | Err(libc::EAGAIN) => return true,
            Err(_) => {
                self.end_stream(i & 1);
                return false;
            }
        };
        self.stamp_now();
        let mut rest = buf.get(..n).unwrap_or(&[]);
        while !rest.is_empty() {
            match rest.iter().position(|b| *b == b'\n') {
                Some(p) => {
                    let (seg, tail) = rest.split_at(p);
                    self.take(i & 1, seg);
                    self.record(i & 1, false);
                    rest = tail.get(1..).unwrap_or(&[]);
                }
                None => {
                    self.take(i & 1, rest);
                    rest = &[];
                }
            }
        }
        self.flush();
        true
    }

    /// Ends stream `i`: a last line without its newline is still a full line.
    pub(crate) fn end_stream(&mut self, i: usize) {
        if self.line_len[i & 1] > 0 {
            self.stamp_now();
            self.record(i & 1, false);
        }
        self.flush();
        raw::close(self.ctx.pipes[i & 1]);
        self.ctx.pipes[i & 1] = -1;
    }

    /// The pipe fd of stream `i` (-1 once done).
    pub(crate) fn pipe(&self, i: usize) -> c_int {
        self.ctx.pipes[i & 1]
    }

    fn stamp_now(&mut self) {
        let (secs, nanos) = raw::realtime();
        LogTime { secs, nanos }.format_into(&mut self.stamp);
    }

    /// Appends `seg` to stream `i`'s line, cutting `P` records at MAX_CHUNK.
    fn take(&mut self, i: usize, mut seg: &[u8]) {
        while !seg.is_empty() {
            let len = self.line_len[i];
            let room = MAX_CHUNK - len;
            let n = room.min(seg.len());
            if let (Some(dst), Some(src)) = (self.line[i].get_mut(len..len + n), seg.get(..n)) {
                dst.copy_from_slice(src);
            }
            self.line_len[i] = len + n;
            seg = seg.get(n..).unwrap_or(&[]);
            if self.line_len[i] == MAX_CHUNK {
                self.record(i, true);
            }
        }
    }

    /// Moves stream `i`'s line into the output as one record.
    fn record(&mut self, i: usize, partial: bool) {
        let len = self.line_len[i].min(MAX_CHUNK);
        let rec_len = TIME_LEN + 10 + len + 1;
        if self.out_len + rec_len > OUT_CAP {
            self.flush();
        }
        let total = self.size + self.out_len as u64;
        if self.ctx.max_size > 0 && total > 0 && total + rec_len as u64 > self.ctx.max_size {
            self.flush();
            self.rotate();
        }
        let stream: &[u8; 6] = if i == 0 { b"stdout" } else { b"stderr" };
        let tag = if partial { b'P' } else { b'F' };
        let stamp = self.stamp;
        let mut at = MARKER_ROOM + self.out_len;
        let mut put = |out: &mut [u8; MARKER_ROOM + OUT_CAP], bytes: &[u8]| {
            if let Some(dst) = out.get_mut(at..at + bytes.len()) {
                dst.copy_from_slice(bytes);
                at += bytes.len();
            }
        };
        put(&mut self.out, &stamp);
        put(&mut self.out, b" ");
        put(&mut self.out, stream);
        put(&mut self.out, &[b' ', tag, b' ']);
        put(&mut self.out, self.line[i].get(..len).unwrap_or(&[]));
        put(&mut self.out, b"\n");
        self.out_len = at - MARKER_ROOM;
        self.line_len[i] = 0;
    }

    /// Writes the batched records (after a loss, behind a marker saying how much was
    /// lost); on failure drops them and counts the loss. A batch goes in whole or not at
    /// all: a write cut short (the disk filled up mid-way) is truncated back, so the file
    /// never holds a torn record.
    pub(crate) fn flush(&mut self) {
        if self.out_len == 0 {
            return;
        }
        let start = if self.unreported > 0 { MARKER_ROOM - self.marker() } else { MARKER_ROOM };
        let end = MARKER_ROOM + self.out_len;
        let mut done = start;
        while done < end {
            let Some(chunk) = self.out.get(done..end) else { break };
            match raw::write(self.ctx.file, chunk) {
                Ok(n) if n > 0 => done += n,
                Err(libc::EINTR) => {}
                r => {
                    if done > start {
                        let _ = raw::ftruncate(self.ctx.file, self.size);
                    }
                    self.note_errno(match r {
                        Err(e) => e,
                        Ok(_) => libc::EIO,
                    });
                    self.lose(self.out_len as u64);
                    return;
                }
            }
        }
        self.size += (end - start) as u64;
        self.out_len = 0;
        self.unreported = 0;
    }

    fn lose(&mut self, n: u64) {
        self.unreported += n;
        self.out_len = 0;
        // SAFETY: `status` points into the monitor's stack mapping, which outlives us.
        if let Some(s) = unsafe { self.ctx.status.as_ref() } {
            s.lost.fetch_add(n, Ordering::Relaxed);
        }
    }

    fn note_errno(&self, e: c_int) {
        // SAFETY: as in `lose`.
        if let Some(s) = unsafe { self.ctx.status.as_ref() } {
            s.errno.store(e, Ordering::Relaxed);
        }
    }

    /// Puts `<time> stderr F cocoon: N bytes of output lost (errno E)` right before the
    /// batch; returns its length.
    fn marker(&mut self) -> usize {
        let mut rec = [0u8; MARKER_ROOM];
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            if let Some(dst) = rec.get_mut(at..at + bytes.len()) {
                dst.copy_from_slice(bytes);
                at += bytes.len();
            }
        };
        put(&self.stamp);
        put(b" stderr F cocoon: ");
        let mut num = [0u8; 20];
        put(decimal(self.unreported, &mut num));
        put(b" bytes of output lost (errno ");
        // SAFETY: as in `lose`.
        let e = unsafe { self.ctx.status.as_ref() }.map_or(0, |s| s.errno.load(Ordering::Relaxed));
        put(decimal(e.max(0) as u64, &mut num));
        put(b")\n");
        match (self.out.get_mut(MARKER_ROOM - at..MARKER_ROOM), rec.get(..at)) {
            (Some(dst), Some(src)) => {
                dst.copy_from_slice(src);
                at
            }
            _ => 0,
        }
    }

    /// `NAME` → `NAME.1` → … → `NAME.(max_files-1)` (the oldest replaced), a new `NAME`;
    /// or, keeping one file, truncate it.
    fn rotate(&mut self) {
        let keep = self.ctx.max_files;
        if keep <= 1 {
            if raw::ftruncate(self.ctx.file, 0).is_ok() {
                self.size = 0;
            }
            return;
        }
        let mut from = [0u8; NAME_CAP];
        let mut to = [0u8; NAME_CAP];
        for k in (1..keep - 1).rev() {
            let (Some(f), Some(t)) = (self.numbered(&mut from, k), self.numbered(&mut to, k + 1)) else { return };
            let _ = raw::renameat(self.ctx.dir, f, t);
        }
        let name = self.ctx.name;
        let Some(base) = name.get(..self.ctx.name_len + 1) else { return };
        let Some(first) = self.numbered(&mut to, 1) else { return };
        if raw::renameat(self.ctx.dir, base, first).is_err() {
            return;
        }
        let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        match raw::openat(self.ctx.dir, base, flags, 0o640) {
            Ok(fd) => {
                raw::close(self.ctx.file);
                self.ctx.file = fd;
                self.size = 0;
            }
            // Still writing to the renamed file: better than losing lines.
            Err(e) => self.note_errno(e),
        }
    }

    /// `NAME.k` NUL-terminated in `buf`.
    fn numbered<'b>(&self, buf: &'b mut [u8; NAME_CAP], k: u32) -> Option<&'b [u8]> {
        let n = self.ctx.name_len;
        buf.get_mut(..n)?.copy_from_slice(self.ctx.name.get(..n)?);
        *buf.get_mut(n)? = b'.';
        let mut num = [0u8; 20];
        let digits = decimal(u64::from(k), &mut num);
        buf.get_mut(n + 1..n + 1 + digits.len())?.copy_from_slice(digits);
        let end = n + 1 + digits.len();
        *buf.get_mut(end)? = 0;
        buf.get(..end + 1)
    }
}

/// `v` in decimal, in `buf`.
fn decimal(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    buf.get(i..).unwrap_or(&[])
}

/// The monitor's read buffer type.
pub(crate) type ReadBuf = [u8; READ_CHUNK];
