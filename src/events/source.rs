//! [`EventSource`]: many containers, one epoll fd.

use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use super::cgroup_watch::CgroupWatch;
use super::health::{Health, HealthCheck};
use super::{Event, EventKind};
use crate::error::{Error, Result};
use crate::{Container, ExitStatus};

/// The epoll data of the timer that re-reads v1 `freezer.state`.
const TIMER: u64 = u64::MAX;
/// The epoll data of the one-shot timer of the next health check deadline.
const HEALTH_TIMER: u64 = u64::MAX - 1;
/// Epoll data of a container's fds: `key * 4 +` one of these.
const EXIT: u64 = 0;
const CGROUP: u64 = 1;
const CHECK: u64 = 2;
/// How often v1 freezer states are re-read (the kernel has no notification for them).
const FREEZER_TICK: Duration = Duration::from_millis(100);
/// The most v1 freezer states re-read per tick, round robin: watching many containers
/// costs a bounded 500 reads a second (each one `pread` of an open file), and a pause is
/// seen within `FREEZER_TICK` × ⌈containers / budget⌉ (2 s for 1,000).
const FREEZER_BUDGET: usize = 50;

#[derive(Debug)]
struct Entry {
    id: String,
    tag: u64,
    /// Our own dup of the container's wait fd (its monitor's pidfd): readable on exit.
    exit: OwnedFd,
    cgroup: Option<CgroupWatch>,
    health: Option<Health>,
}

/// Events of many containers behind one pollable fd (an epoll fd: [`AsFd`]).
///
/// Put the fd in an event loop (epoll, `select`, asyncio's `add_reader`); when it is
/// readable, call [`EventSource::next_event`] until it returns `Ok(None)`. Each added
/// container yields [`EventKind::Started`] first and [`EventKind::Exited`] last, exactly
/// once each; it is then dropped from the source. `Started` is queued by `add` itself
/// (the fd is not readable for it): drain `next_event` after adding.
///
/// Exit statuses are read without reaping (`waitid(WNOWAIT)`): the [`Container`] handle
/// stays the owner of its process. If the handle reaped it first ([`Container::wait`]
/// before the event was read), the `Exited` event carries `None`.
///
/// cgroup v1 freezer: the kernel has no notification for `freezer.state`, so while a
/// container with a v1 freezer cgroup is watched, a timerfd in the epoll set wakes the fd
/// every 100 ms and up to 50 states are re-read, round robin (so a pause is seen within
/// 100 ms for up to 50 such containers, within 2 s for 1,000; a pause and resume both
/// between two reads are not seen; every state a reader can observe is reported once, in
/// order).
#[derive(Debug)]
pub struct EventSource {
    epoll: OwnedFd,
    entries: HashMap<u64, Entry>,
    next_key: u64,
    pending: VecDeque<Event>,
    timer: Option<OwnedFd>,
    health_timer: Option<OwnedFd>,
    /// Keys of the entries whose v1 freezer is re-read on the timer, and where the next
    /// tick's round starts.
    rescan: Vec<u64>,
    rescan_at: usize,
}

fn last_os(op: &'static str, detail: impl Into<String>) -> Error {
    Error::os(op, detail, std::io::Error::last_os_error())
}

pub(super) fn epoll_ctl(epoll: RawFd, op: i32, fd: RawFd, data: u64) -> std::io::Result<()> {
    let mut ev = libc::epoll_event { events: libc::EPOLLIN as u32, u64: data };
    // SAFETY: valid fds and a valid epoll_event pointer (ignored for EPOLL_CTL_DEL).
    if unsafe { libc::epoll_ctl(epoll, op, fd, &mut ev) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Peeks at the exit status behind `pidfd` without reaping: `Ok(None)` while it runs,
/// `Err` (ECHILD) once someone reaped it.
fn peek_status(pidfd: BorrowedFd<'_>) -> std::io::Result<Option<ExitStatus>> {
    loop {
        // SAFETY: siginfo_t is plain data; waitid fills it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid on a pidfd we hold with a valid siginfo pointer.
        let r = unsafe {
            libc::waitid(
                libc::P_PIDFD,
                pidfd.as_raw_fd() as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT | libc::__WALL,
            )
        };
        if r != 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        // SAFETY: waitid succeeded; si_pid/si_status are valid for CLD_* codes.
        let (pid, code, status) = unsafe { (info.si_pid(), info.si_code, info.si_status()) };
        if pid == 0 {
            return Ok(None);
        }
        return Ok(Some(if code == libc::CLD_EXITED {
            ExitStatus::Exited(status)
        } else {
            ExitStatus::Signaled(status)
        }));
    }
}

impl EventSource {
    /// An empty source.
    pub fn new() -> Result<EventSource> {
        // SAFETY: epoll_create1 has no memory preconditions; the result is checked.
        let raw = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if raw < 0 {
            return Err(last_os("epoll_create1", "event source"));
        }
        // SAFETY: `raw` is a fresh fd that nothing else owns.
        let epoll = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(EventSource {
            epoll,
            entries: HashMap::new(),
            next_key: 0,
            pending: VecDeque::new(),
            timer: None,
            health_timer: None,
            rescan: Vec::new(),
            rescan_at: 0,
        })
    }

    /// How many containers are watched (those whose `Exited` was not read yet).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no container is watched.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Watches `container`, whose events carry `tag`. Fails with
    /// [`Error::AlreadyExited`] if its process was already reaped (then nothing is kept).
    pub fn add(&mut self, container: &Container, tag: u64) -> Result<()> {
        self.add_inner(container, tag, None)
    }

    /// Like [`EventSource::add`], and runs `check` on the container (Docker's
    /// `HEALTHCHECK`): its status starts as [`super::HealthStatus::Starting`] and each
    /// change is an [`EventKind::Health`] event. The checks run while this source is read
    /// (each `next_event`/`wait` call does what is due), so keep reading it; a check is
    /// exec'd from the reading thread, one at a time per container, and none while the
    /// container is paused. A check still running when the container exits is killed.
    pub fn add_with_health(&mut self, container: &Container, tag: u64, check: HealthCheck) -> Result<()> {
        self.add_inner(container, tag, Some(check))
    }

    fn add_inner(&mut self, container: &Container, tag: u64, check: Option<HealthCheck>) -> Result<()> {
        let id = container.id().to_string();
        // SAFETY: F_DUPFD_CLOEXEC on a valid fd the container owns; the result is checked.
        let raw = unsafe { libc::fcntl(container.wait_fd().as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
        if raw < 0 {
            return Err(last_os("dup wait fd", id));
        }
        // SAFETY: `raw` is a fresh fd that nothing else owns.
        let exit = unsafe { OwnedFd::from_raw_fd(raw) };
        match peek_status(exit.as_fd()) {
            Err(e) if e.raw_os_error() == Some(libc::ECHILD) => return Err(Error::AlreadyExited),
            Err(e) => return Err(Error::os("waitid", id, e)),
            Ok(_) => {}
        }
        let cgroup = container.cgroup_path().map(CgroupWatch::new).transpose()?;
        let health = check.map(|c| Health::new(container, c)).transpose()?;
        if health.is_some() {
            self.ensure_health_timer()?;
        }
        let key = self.next_key;
        self.next_key += 1;
        let entry = Entry { id, tag, exit, cgroup, health };
        let mut added: Vec<RawFd> = Vec::new();
        let fds: Vec<(RawFd, u64)> = std::iter::once((entry.exit.as_raw_fd(), key * 4 + EXIT))
            .chain(entry.cgroup.iter().flat_map(|c| c.fds()).map(|f| (f.as_raw_fd(), key * 4 + CGROUP)))
            .collect();
        for (fd, data) in fds {
            if let Err(e) = epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, data) {
                self.unregister(&added);
                return Err(Error::os("epoll_ctl add", entry.id, e));
            }
            added.push(fd);
        }
        if entry.cgroup.as_ref().is_some_and(|c| c.needs_rescan()) {
            if let Err(e) = self.start_timer() {
                self.unregister(&added);
                return Err(e);
            }
        }
        if entry.cgroup.as_ref().is_some_and(|c| c.needs_rescan()) {
            self.rescan.push(key);
        }
        self.pending.push_back(Event { id: entry.id.clone(), tag, kind: EventKind::Started });
        self.entries.insert(key, entry);
        self.arm_health_timer();
        Ok(())
    }

    fn ensure_health_timer(&mut self) -> Result<()> {
        if self.health_timer.is_some() {
            return Ok(());
        }
        // SAFETY: timerfd_create has no memory preconditions; the result is checked.
        let raw = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_CLOEXEC | libc::TFD_NONBLOCK) };
        if raw < 0 {
            return Err(last_os("timerfd_create", "health checks"));
        }
        // SAFETY: `raw` is a fresh fd that nothing else owns.
        let timer = unsafe { OwnedFd::from_raw_fd(raw) };
        epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, timer.as_raw_fd(), HEALTH_TIMER)
            .map_err(|e| Error::os("epoll_ctl add", "health timer", e))?;
        self.health_timer = Some(timer);
        Ok(())
    }

    /// Sets the health timer to the earliest deadline of any container's checks (a
    /// one-shot timer: re-armed after each round), or disarms it.
    fn arm_health_timer(&self) {
        let Some(t) = &self.health_timer else {
            return;
        };
        let next = self.entries.values().filter_map(|e| e.health.as_ref()).map(Health::next_deadline).min();
        let zero = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        let value = match next {
            None => zero,
            Some(at) => {
                // At least 1 ns: an all-zero value would disarm the timer.
                let d = at.saturating_duration_since(Instant::now()).max(Duration::from_nanos(1));
                libc::timespec {
                    tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
                    tv_nsec: d.subsec_nanos() as libc::c_long,
                }
            }
        };
        let spec = libc::itimerspec { it_interval: zero, it_value: value };
        // SAFETY: a valid timerfd and a valid itimerspec; the old value is not wanted. It
        // cannot fail for these arguments.
        unsafe { libc::timerfd_settime(t.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
    }

    /// Advances the health checks of `keys` and of every container whose check deadline
    /// has come.
    fn step_health(&mut self, mut keys: Vec<u64>) {
        let now = Instant::now();
        keys.extend(
            self.entries
                .iter()
                .filter(|(_, e)| e.health.as_ref().is_some_and(|h| h.next_deadline() <= now))
                .map(|(k, _)| *k),
        );
        keys.sort_unstable();
        keys.dedup();
        let epoll = self.epoll.as_raw_fd();
        for key in keys {
            let Some(entry) = self.entries.get_mut(&key) else {
                continue;
            };
            let paused = entry.cgroup.as_ref().is_some_and(CgroupWatch::frozen_now);
            let Some(h) = entry.health.as_mut() else {
                continue;
            };
            if let Some(status) = h.step(now, paused, epoll, key * 4 + CHECK) {
                self.pending.push_back(Event { id: entry.id.clone(), tag: entry.tag, kind: EventKind::Health(status) });
            }
        }
        self.arm_health_timer();
    }

    fn unregister(&self, fds: &[RawFd]) {
        for &fd in fds {
            // The container keeps the file open, so closing our fd would not take it out
            // of the epoll set: remove it explicitly. An error here leaves nothing to undo.
            let _ = epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, 0);
        }
    }

    fn start_timer(&mut self) -> Result<()> {
        if self.timer.is_some() {
            return Ok(());
        }
        // SAFETY: timerfd_create has no memory preconditions; the result is checked.
        let raw = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_CLOEXEC | libc::TFD_NONBLOCK) };
        if raw < 0 {
            return Err(last_os("timerfd_create", "freezer re-read"));
        }
        // SAFETY: `raw` is a fresh fd that nothing else owns.
        let timer = unsafe { OwnedFd::from_raw_fd(raw) };
        let tick = libc::timespec { tv_sec: 0, tv_nsec: FREEZER_TICK.as_nanos() as libc::c_long };
        let spec = libc::itimerspec { it_interval: tick, it_value: tick };
        // SAFETY: a valid timerfd and a valid itimerspec; the old value is not wanted.
        if unsafe { libc::timerfd_settime(timer.as_raw_fd(), 0, &spec, std::ptr::null_mut()) } < 0 {
            return Err(last_os("timerfd_settime", "freezer re-read"));
        }
        epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, timer.as_raw_fd(), TIMER)
            .map_err(|e| Error::os("epoll_ctl add", "freezer timer", e))?;
        self.timer = Some(timer);
        Ok(())
    }

    /// The next pending event, without blocking: `Ok(None)` when nothing is pending.
    pub fn next_event(&mut self) -> Result<Option<Event>> {
        if self.pending.is_empty() {
            self.collect(0)?;
        }
        Ok(self.pending.pop_front())
    }

    /// The next event, waiting at most `limit` for one: `Ok(None)` if none came.
    pub fn wait_timeout(&mut self, limit: Duration) -> Result<Option<Event>> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(e) = self.next_event()? {
                return Ok(Some(e));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            // Round up so that a sub-millisecond rest does not spin.
            let ms = i32::try_from(left.as_millis() + 1).unwrap_or(i32::MAX);
            self.collect(ms)?;
        }
    }

    /// The next event, waiting as long as it takes. `Ok(None)` only when nothing is
    /// watched and nothing is pending (it would wait forever).
    pub fn wait(&mut self) -> Result<Option<Event>> {
        loop {
            if let Some(e) = self.next_event()? {
                return Ok(Some(e));
            }
            if self.entries.is_empty() {
                return Ok(None);
            }
            self.collect(-1)?;
        }
    }

    /// One `epoll_wait` (`timeout_ms` as it takes it), turning what is ready into events.
    fn collect(&mut self, timeout_ms: i32) -> Result<()> {
        let mut ready = [libc::epoll_event { events: 0, u64: 0 }; 64];
        // SAFETY: a valid epoll fd and a buffer of `ready.len()` events.
        let n = unsafe { libc::epoll_wait(self.epoll.as_raw_fd(), ready.as_mut_ptr(), ready.len() as i32, timeout_ms) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                return Ok(());
            }
            return Err(Error::os("epoll_wait", "event source", e));
        }
        let mut exited = Vec::new();
        let mut cgroup_keys = Vec::new();
        let mut check_keys = Vec::new();
        for ev in &ready[..n as usize] {
            let data = ev.u64;
            if data == TIMER {
                if let Some(t) = &self.timer {
                    let mut buf = [0u8; 8];
                    // SAFETY: reading the 8-byte expiry count of our timerfd into `buf`.
                    unsafe { libc::read(t.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                }
                self.rescan_freezers();
            } else if data == HEALTH_TIMER {
                if let Some(t) = &self.health_timer {
                    let mut buf = [0u8; 8];
                    // SAFETY: reading the 8-byte expiry count of our timerfd into `buf`.
                    unsafe { libc::read(t.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                }
            } else {
                match data % 4 {
                    EXIT => exited.push(data / 4),
                    CGROUP => cgroup_keys.push(data / 4),
                    _ => check_keys.push(data / 4),
                }
            }
        }
        cgroup_keys.sort_unstable();
        cgroup_keys.dedup();
        for key in cgroup_keys {
            self.poll_cgroup(key);
        }
        if self.health_timer.is_some() {
            self.step_health(check_keys);
        }
        exited.sort_unstable();
        for key in exited {
            // What the cgroup reported before the exit comes before it.
            self.poll_cgroup(key);
            self.finish(key)?;
        }
        Ok(())
    }

    /// One tick's round of v1 freezer re-reads (see `FREEZER_BUDGET`).
    fn rescan_freezers(&mut self) {
        let n = self.rescan.len();
        for i in 0..n.min(FREEZER_BUDGET) {
            let key = self.rescan[(self.rescan_at + i) % n];
            let Some(entry) = self.entries.get_mut(&key) else { continue };
            let Some(cg) = entry.cgroup.as_mut() else { continue };
            let mut kinds = Vec::new();
            cg.poll_freezer(&mut kinds);
            for kind in kinds {
                self.pending.push_back(Event { id: entry.id.clone(), tag: entry.tag, kind });
            }
        }
        self.rescan_at = if n == 0 { 0 } else { (self.rescan_at + FREEZER_BUDGET) % n };
    }

    fn poll_cgroup(&mut self, key: u64) {
        let Some(entry) = self.entries.get_mut(&key) else {
            return;
        };
        let Some(cg) = entry.cgroup.as_mut() else {
            return;
        };
        let mut kinds = Vec::new();
        cg.poll(&mut kinds);
        for kind in kinds {
            self.pending.push_back(Event { id: entry.id.clone(), tag: entry.tag, kind });
        }
    }

    /// Emits the exit of the container at `key` and stops watching it.
    fn finish(&mut self, key: u64) -> Result<()> {
        let Some(entry) = self.entries.get(&key) else {
            return Ok(());
        };
        let status = match peek_status(entry.exit.as_fd()) {
            Ok(None) => return Ok(()), // spurious wake-up: still running
            Ok(Some(s)) => Some(s),
            Err(e) if e.raw_os_error() == Some(libc::ECHILD) => None, // reaped by its handle
            Err(e) => return Err(Error::os("waitid", entry.id.clone(), e)),
        };
        let Some(mut entry) = self.entries.remove(&key) else {
            return Ok(());
        };
        if let Some(h) = entry.health.as_mut() {
            h.stop(self.epoll.as_raw_fd());
        }
        let fds: Vec<RawFd> = std::iter::once(entry.exit.as_raw_fd())
            .chain(entry.cgroup.iter().flat_map(|c| c.fds()).map(|f| f.as_raw_fd()))
            .collect();
        self.unregister(&fds);
        self.pending.push_back(Event { id: entry.id, tag: entry.tag, kind: EventKind::Exited(status) });
        self.rescan.retain(|k| *k != key);
        if self.timer.is_some() && self.rescan.is_empty() {
            if let Some(t) = self.timer.take() {
                self.unregister(&[t.as_raw_fd()]);
            }
        }
        Ok(())
    }
}

impl AsFd for EventSource {
    /// The epoll fd: readable when [`EventSource::next_event`] has something to return.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.epoll.as_fd()
    }
}

impl Iterator for EventSource {
    type Item = Result<Event>;

    /// Blocks for the next event; ends when nothing is watched or pending.
    fn next(&mut self) -> Option<Result<Event>> {
        self.wait().transpose()
    }
}
