//! Following the live file (`tail -f`): inotify on the log's directory wakes the reader
//! when a file in it is written, created, renamed or closed; at the end of the live file
//! the reader checks whether `NAME` is still the file it reads (else a rotation: it reads
//! its fd to the end, then the files newer than it) or was truncated, and waits.

use std::io::{self, Seek};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use super::{collect, split, LogReader};
use crate::error::{Error, Result};

/// The follow state of a reader.
#[derive(Debug)]
pub(super) struct Follow {
    /// End after this long without new data (`None`: never).
    timeout: Option<Duration>,
    /// When data was last read (or following began).
    last_data: Instant,
    /// The directory watch, made at the first end of the live file.
    watch: Option<Inotify>,
    /// `NAME` is no longer the file being read: read it to its end, then switch.
    rotated: bool,
}

impl Follow {
    pub(super) fn new(timeout: Option<Duration>) -> Follow {
        Follow { timeout, last_data: Instant::now(), watch: None, rotated: false }
    }

    pub(super) fn saw_data(&mut self) {
        self.last_data = Instant::now();
    }
}

impl LogReader {
    /// At the end of the last file while following: `Ok(true)` to read on (after waiting
    /// for a change, or switching files), `Ok(false)` when the timeout passed.
    pub(super) fn at_tail_end(&mut self) -> Result<bool> {
        let path = self.path.clone();
        let Some(f) = self.follow.as_mut() else { return Ok(false) };
        let Some(watch) = f.watch.as_ref() else {
            let (dir, _) = split(&path)?;
            let w = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
                .map_err(|e| Error::os("inotify_init1", dir.display().to_string(), e.into()))?;
            let mask = AddWatchFlags::IN_MODIFY
                | AddWatchFlags::IN_CREATE
                | AddWatchFlags::IN_MOVED_FROM
                | AddWatchFlags::IN_MOVED_TO
                | AddWatchFlags::IN_CLOSE_WRITE;
            w.add_watch(dir, mask).map_err(|e| Error::os("inotify_add_watch", dir.display().to_string(), e.into()))?;
            f.watch = Some(w);
            // Data written before the watch existed woke nobody: read once more.
            return Ok(true);
        };
        let Some(cur) = self.files.front_mut() else { return Ok(false) };
        if f.rotated {
            // The old file was read to its end after the rename: on to the newer ones.
            f.rotated = false;
            let newer = collect(&path, Some(cur.id))?;
            if !newer.is_empty() {
                self.next_file();
                self.files.extend(newer);
                return Ok(true);
            }
            // NAME went away again (or is not a regular file): wait for the next change.
        } else {
            match std::fs::metadata(&path) {
                // Not a file to read (a directory or FIFO planted there): as if missing, so
                // that it is not taken for a rotation over and over.
                Ok(m) if !m.is_file() => {}
                Ok(m) if (m.dev(), m.ino()) == cur.id => {
                    let pos =
                        cur.file.stream_position().map_err(|e| Error::os("seek log", path.display().to_string(), e))?;
                    if m.len() < pos {
                        // Truncated in place (rotation with one file): read it from the start.
                        cur.file.rewind().map_err(|e| Error::os("seek log", path.display().to_string(), e))?;
                        self.drop_buffered();
                        return Ok(true);
                    }
                }
                Ok(_) => {
                    // Rotated: what the writer wrote before the rename may have come after our
                    // last read, so read the old fd to its end once more before switching.
                    f.rotated = true;
                    return Ok(true);
                }
                // Between the rename of NAME and the creation of the new one.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::os("stat log", path.display().to_string(), e)),
            }
        }
        let left = match f.timeout {
            None => None,
            Some(d) => {
                let left = d.saturating_sub(f.last_data.elapsed());
                if left.is_zero() {
                    // A quiet stretch: the caller hears of it, and a next call waits anew.
                    f.last_data = std::time::Instant::now();
                    return Ok(false);
                }
                Some(left)
            }
        };
        wait(watch, left)?;
        Ok(true)
    }
}

/// Waits until the watch reports something or `timeout` passes, then drains its events
/// (their content does not matter: the reader looks at the files again).
fn wait(watch: &Inotify, timeout: Option<Duration>) -> Result<()> {
    let ms = match timeout {
        None => -1,
        // Rounded up, so that a sub-millisecond rest does not spin.
        Some(d) => d.as_nanos().div_ceil(1_000_000).min(libc::c_int::MAX as u128) as libc::c_int,
    };
    let mut pfd = libc::pollfd { fd: watch.as_fd().as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: one pollfd on our stack, its count 1; the fd stays open (borrowed from `watch`).
    let r = unsafe { libc::poll(&mut pfd, 1, ms) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(Error::os("poll inotify", String::new(), e));
        }
    }
    loop {
        match watch.read_events() {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => return Ok(()),
            Err(e) => return Err(Error::os("read inotify", String::new(), e.into())),
        }
    }
}
