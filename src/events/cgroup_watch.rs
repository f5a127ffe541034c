//! The cgroup side of one watched container: OOM, OOM-kill and freeze notifications
//! from the kernel's own mechanisms, and the counters they are diffed against.
//!
//! - cgroup v1 memory: an eventfd registered through `cgroup.event_control` on
//!   `memory.oom_control` (the kernel signals it each time the cgroup is under OOM);
//!   the `oom_kill` line of `memory.oom_control` gives the kill count.
//! - cgroup v2: one inotify fd watching `memory.events` (the `oom` / `oom_kill`
//!   counters) and `cgroup.events` (`frozen`); the kernel emits `IN_MODIFY` on change.
//! - cgroup v1 freezer: the kernel has no notification for `freezer.state`, so it is
//!   re-read each time the source is asked for events (see `EventSource`).

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::EventKind;
use crate::error::{Error, Result};

const ROOT: &str = "/sys/fs/cgroup";

#[derive(Debug)]
struct V1Memory {
    efd: OwnedFd,
    oom_control: PathBuf,
}

#[derive(Debug)]
pub(super) struct CgroupWatch {
    v1_memory: Option<V1Memory>,
    inotify: Option<OwnedFd>,
    memory_events: Option<PathBuf>,
    cgroup_events: Option<PathBuf>,
    freezer_state: Option<PathBuf>,
    /// `freezer_state` kept open: the timer's re-reads are one `pread` each.
    freezer_file: Option<std::fs::File>,
    last_oom: u64,
    last_kill: u64,
    frozen: bool,
}

/// The value of `key` in a flat-keyed cgroup file (`key value` lines).
fn field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        (it.next() == Some(key)).then(|| it.next().and_then(|v| v.parse().ok())).flatten()
    })
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn os(op: &'static str, path: &Path, e: std::io::Error) -> Error {
    Error::os(op, path.display().to_string(), e)
}

/// The cgroup2 directory of `rel`: on a pure v2 host `/sys/fs/cgroup/<rel>`, on a hybrid
/// one `/sys/fs/cgroup/unified/<rel>`, if it exists.
fn v2_dir(rel: &Path) -> Option<PathBuf> {
    [PathBuf::from(ROOT), Path::new(ROOT).join("unified")]
        .into_iter()
        .filter(|r| r.join("cgroup.controllers").exists())
        .map(|r| r.join(rel))
        .find(|d| d.join("cgroup.events").exists())
}

impl CgroupWatch {
    /// Sets up the notifications for the cgroup at `rel` (relative to each hierarchy's
    /// root, as [`crate::Container::cgroup_path`]).
    pub(super) fn new(rel: &Path) -> Result<CgroupWatch> {
        let mut w = CgroupWatch {
            v1_memory: None,
            inotify: None,
            memory_events: None,
            cgroup_events: None,
            freezer_state: None,
            freezer_file: None,
            last_oom: 0,
            last_kill: 0,
            frozen: false,
        };
        let v1_mem = Path::new(ROOT).join("memory").join(rel);
        let v2 = v2_dir(rel);
        if v1_mem.join("memory.oom_control").exists() {
            let oom_control = v1_mem.join("memory.oom_control");
            let file = File::open(&oom_control).map_err(|e| os("open", &oom_control, e))?;
            // SAFETY: eventfd has no memory preconditions; the result is checked.
            let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
            if raw < 0 {
                return Err(Error::os("eventfd", "oom notification", std::io::Error::last_os_error()));
            }
            // SAFETY: `raw` is a fresh fd that nothing else owns.
            let efd = unsafe { OwnedFd::from_raw_fd(raw) };
            let control = v1_mem.join("cgroup.event_control");
            let line = format!("{} {}", efd.as_raw_fd(), file.as_raw_fd());
            std::fs::OpenOptions::new()
                .write(true)
                .open(&control)
                .and_then(|mut f| f.write_all(line.as_bytes()))
                .map_err(|e| os("write cgroup.event_control", &control, e))?;
            // The registration holds its own reference to the oom_control file: ours can go.
            drop(file);
            w.last_kill = read(&oom_control).and_then(|t| field(&t, "oom_kill")).unwrap_or(0);
            w.v1_memory = Some(V1Memory { efd, oom_control });
        } else if let Some(d) = v2.as_ref().filter(|d| d.join("memory.events").exists()) {
            let p = d.join("memory.events");
            let t = read(&p).unwrap_or_default();
            w.last_oom = field(&t, "oom").unwrap_or(0);
            w.last_kill = field(&t, "oom_kill").unwrap_or(0);
            w.memory_events = Some(p);
        }
        let v1_freezer = Path::new(ROOT).join("freezer").join(rel).join("freezer.state");
        if v1_freezer.exists() {
            w.frozen = read(&v1_freezer).is_some_and(|s| s.trim() == "FROZEN");
            w.freezer_file = std::fs::File::open(&v1_freezer).ok();
            w.freezer_state = Some(v1_freezer);
        } else if let Some(d) = v2.as_ref() {
            let p = d.join("cgroup.events");
            w.frozen = read(&p).and_then(|t| field(&t, "frozen")) == Some(1);
            w.cgroup_events = Some(p);
        }
        let watched: Vec<&PathBuf> = w.memory_events.iter().chain(w.cgroup_events.iter()).collect();
        if !watched.is_empty() {
            // SAFETY: inotify_init1 has no memory preconditions; the result is checked.
            let raw = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
            if raw < 0 {
                return Err(Error::os("inotify_init1", "cgroup events", std::io::Error::last_os_error()));
            }
            // SAFETY: `raw` is a fresh fd that nothing else owns.
            let ino = unsafe { OwnedFd::from_raw_fd(raw) };
            for p in watched {
                let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes())
                    .map_err(|_| Error::invalid("cgroup path", p.display().to_string()))?;
                // SAFETY: a valid inotify fd and a NUL-terminated path.
                if unsafe { libc::inotify_add_watch(ino.as_raw_fd(), c.as_ptr(), libc::IN_MODIFY) } < 0 {
                    return Err(os("inotify_add_watch", p, std::io::Error::last_os_error()));
                }
            }
            w.inotify = Some(ino);
        }
        Ok(w)
    }

    /// The fds to wait on (readable when the kernel reported something).
    pub(super) fn fds(&self) -> impl Iterator<Item = BorrowedFd<'_>> {
        self.v1_memory.as_ref().map(|m| m.efd.as_fd()).into_iter().chain(self.inotify.as_ref().map(|i| i.as_fd()))
    }

    /// Whether the freezer state must be re-read on each call (v1: no notification).
    pub(super) fn needs_rescan(&self) -> bool {
        self.freezer_state.is_some()
    }

    /// Drains the fds and appends what changed since the last call to `out`.
    pub(super) fn poll(&mut self, out: &mut Vec<EventKind>) {
        // The eventfd counts notifications: reading it resets it.
        let v1_fired = self.v1_memory.as_ref().is_some_and(|m| drain(m.efd.as_fd()));
        if let Some(i) = &self.inotify {
            drain(i.as_fd());
        }
        if let Some(m) = &self.v1_memory {
            // An OOM is reported when the kernel signalled the eventfd or the kill
            // counter grew (a notification read before an exit is never lost).
            // The kernel also signals the eventfd when the cgroup is removed (a handle
            // deleting its container): only a cgroup that still exists had an OOM.
            let text = read(&m.oom_control);
            let alive = text.is_some();
            let t = text.unwrap_or_default();
            let kill = field(&t, "oom_kill").unwrap_or(self.last_kill);
            if kill > self.last_kill || (v1_fired && alive) {
                out.push(EventKind::Oom);
            }
            if kill > self.last_kill {
                out.push(EventKind::OomKill { count: kill - self.last_kill });
                self.last_kill = kill;
            }
        }
        if let Some(p) = &self.memory_events {
            let t = read(p).unwrap_or_default();
            let oom = field(&t, "oom").unwrap_or(self.last_oom);
            let kill = field(&t, "oom_kill").unwrap_or(self.last_kill);
            if oom > self.last_oom {
                out.push(EventKind::Oom);
                self.last_oom = oom;
            }
            if kill > self.last_kill {
                out.push(EventKind::OomKill { count: kill - self.last_kill });
                self.last_kill = kill;
            }
        }
        let frozen = if let Some(p) = &self.freezer_state {
            read(p).map(|s| s.trim() == "FROZEN")
        } else {
            self.cgroup_events.as_ref().and_then(|p| read(p)).and_then(|t| field(&t, "frozen")).map(|f| f == 1)
        };
        if let Some(f) = frozen {
            if f != self.frozen {
                out.push(if f { EventKind::Paused } else { EventKind::Resumed });
                self.frozen = f;
            }
        }
    }
}

impl CgroupWatch {
    /// The timer's re-read of a v1 freezer state: `Paused`/`Resumed` if it changed.
    pub(super) fn poll_freezer(&mut self, out: &mut Vec<EventKind>) {
        let frozen = match &self.freezer_file {
            Some(f) => {
                let mut buf = [0u8; 16];
                // The cgroup may be gone (its container was deleted): nothing to report.
                let Ok(n) = std::os::unix::fs::FileExt::read_at(f, &mut buf, 0) else { return };
                buf.get(..n).is_some_and(|b| b.trim_ascii() == b"FROZEN")
            }
            None => match self.freezer_state.as_ref().and_then(|p| read(p)) {
                Some(s) => s.trim() == "FROZEN",
                None => return,
            },
        };
        if frozen != self.frozen {
            out.push(if frozen { EventKind::Paused } else { EventKind::Resumed });
            self.frozen = frozen;
        }
    }

    /// Whether the cgroup is frozen or asked to freeze, read now: a process exec'd into it
    /// would stop before it reports, and the exec with it.
    pub(super) fn frozen_now(&self) -> bool {
        if let Some(p) = &self.freezer_state {
            return read(p).is_some_and(|s| s.trim() != "THAWED");
        }
        self.cgroup_events
            .as_ref()
            .and_then(|p| p.parent())
            .and_then(|d| read(&d.join("cgroup.freeze")))
            .is_some_and(|s| s.trim() == "1")
    }
}

/// Reads a non-blocking fd until it is empty; whether anything was read.
fn drain(fd: BorrowedFd<'_>) -> bool {
    let mut buf = [0u8; 4096];
    let mut any = false;
    loop {
        // SAFETY: reading into a local buffer of the given length.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            return any;
        }
        any = true;
    }
}
