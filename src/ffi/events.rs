//! `cocoon_events_*`: many containers' events behind one pollable fd (`cocoon::events`).

use std::ffi::{c_char, c_int};
use std::os::fd::AsRawFd;
use std::time::Duration;

use super::container::cocoon_container;
use super::process::cocoon_process;
use super::{guard, nonnull, put, Fail};
use crate::events::{Event, EventKind, EventSource, HealthCheck, HealthStatus};
use crate::ExitStatus;

/// Opaque: an event source watching any number of containers.
pub struct cocoon_events {
    inner: EventSource,
}

/// `cocoon_event.kind`: the container was added while running (its first event).
pub const COCOON_EVENT_STARTED: u32 = 1;
/// `cocoon_event.kind`: the first process ended (its last event; `exit_code`/`signal`).
pub const COCOON_EVENT_EXITED: u32 = 2;
/// `cocoon_event.kind`: the cgroup hit its memory limit.
pub const COCOON_EVENT_OOM: u32 = 3;
/// `cocoon_event.kind`: the kernel OOM-killed `count` processes since the last report.
pub const COCOON_EVENT_OOM_KILL: u32 = 4;
/// `cocoon_event.kind`: the cgroup became frozen.
pub const COCOON_EVENT_PAUSED: u32 = 5;
/// `cocoon_event.kind`: the cgroup was thawed.
pub const COCOON_EVENT_RESUMED: u32 = 6;
/// `cocoon_event.kind`: the health checks changed the status (`health`).
pub const COCOON_EVENT_HEALTH: u32 = 7;

/// `cocoon_event.health`: no check has passed yet (and not enough failed).
pub const COCOON_HEALTH_STARTING: u32 = 1;
/// `cocoon_event.health`: the last check passed.
pub const COCOON_HEALTH_HEALTHY: u32 = 2;
/// `cocoon_event.health`: `retries` checks in a row failed.
pub const COCOON_HEALTH_UNHEALTHY: u32 = 3;

/// Room for a container id (at most 64 bytes) and its NUL.
pub const COCOON_EVENT_ID_MAX: usize = 65;

/// One event, filled by `cocoon_events_next` / `cocoon_events_wait`.
///
/// The struct grows at its end in later versions: set `size` to `sizeof(cocoon_event)`
/// before the call; cocoon fills at most that many bytes and sets `size` to how many it
/// filled. Kinds added later are new `COCOON_EVENT_*` values: ignore unknown ones.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cocoon_event {
    /// In: `sizeof(cocoon_event)` as the caller knows it. Out: the bytes cocoon filled.
    pub size: u32,
    /// What happened: a `COCOON_EVENT_*` value.
    pub kind: u32,
    /// The tag given to `cocoon_events_add`.
    pub tag: u64,
    /// `COCOON_EVENT_EXITED`: the exit code, or -1 when a signal ended it (or when the
    /// handle had reaped the process first: then `signal` is 0 too). Otherwise 0.
    pub exit_code: i32,
    /// `COCOON_EVENT_EXITED`: the signal that killed it, else 0.
    pub signal: i32,
    /// `COCOON_EVENT_OOM_KILL`: how many processes were killed since the previous one.
    pub count: u64,
    /// `COCOON_EVENT_HEALTH`: the new status, a `COCOON_HEALTH_*` value. Otherwise 0.
    pub health: u32,
    /// The container's id, NUL-terminated.
    pub id: [c_char; COCOON_EVENT_ID_MAX],
}

/// The smallest `cocoon_event.size` accepted: the size of the first version.
pub const COCOON_EVENT_SIZE_V1: u32 = 104;

const _: () = assert!(std::mem::size_of::<cocoon_event>() == COCOON_EVENT_SIZE_V1 as usize);

fn to_c_event(e: &Event) -> cocoon_event {
    let mut out = cocoon_event {
        size: 0,
        kind: 0,
        tag: e.tag,
        exit_code: 0,
        signal: 0,
        count: 0,
        health: 0,
        id: [0; COCOON_EVENT_ID_MAX],
    };
    out.kind = match e.kind {
        EventKind::Started => COCOON_EVENT_STARTED,
        EventKind::Exited(s) => {
            (out.exit_code, out.signal) = match s {
                Some(ExitStatus::Exited(c)) => (c, 0),
                Some(ExitStatus::Signaled(s)) => (-1, s),
                None => (-1, 0),
            };
            COCOON_EVENT_EXITED
        }
        EventKind::Oom => COCOON_EVENT_OOM,
        EventKind::OomKill { count } => {
            out.count = count;
            COCOON_EVENT_OOM_KILL
        }
        EventKind::Paused => COCOON_EVENT_PAUSED,
        EventKind::Resumed => COCOON_EVENT_RESUMED,
        EventKind::Health(h) => {
            out.health = match h {
                HealthStatus::Starting => COCOON_HEALTH_STARTING,
                HealthStatus::Healthy => COCOON_HEALTH_HEALTHY,
                HealthStatus::Unhealthy => COCOON_HEALTH_UNHEALTHY,
            };
            COCOON_EVENT_HEALTH
        }
    };
    // Ids are validated to 1..=64 bytes without NUL; the last byte stays the terminator.
    for (d, s) in out.id.iter_mut().zip(e.id.as_bytes().iter().take(COCOON_EVENT_ID_MAX - 1)) {
        *d = *s as c_char;
    }
    out
}

/// Copies `e` into the caller's `out` (at most its `size` bytes), checked beforehand by
/// [`check_out`].
///
/// # Safety
/// `out` points to at least `caller_size` writable bytes.
unsafe fn write_event(e: &Event, out: *mut cocoon_event, caller_size: u32) {
    let mut c = to_c_event(e);
    let n = (caller_size as usize).min(std::mem::size_of::<cocoon_event>());
    c.size = n as u32;
    // SAFETY: the caller's struct holds at least `caller_size` >= `n` writable bytes; `c`
    // is a local of `size_of::<cocoon_event>()` >= `n` bytes; they do not overlap.
    unsafe { std::ptr::copy_nonoverlapping((&c as *const cocoon_event).cast::<u8>(), out.cast::<u8>(), n) };
}

/// The caller's `out->size`, if `out` is usable.
///
/// # Safety
/// `out` is NULL or points to a struct starting with the `size` field.
unsafe fn check_out(out: *mut cocoon_event) -> Result<u32, Fail> {
    nonnull(out, "out")?;
    // SAFETY: non-NULL; every version of the struct starts with `size`.
    let size = unsafe { std::ptr::addr_of!((*out).size).read_unaligned() };
    if size < COCOON_EVENT_SIZE_V1 {
        return Err(Fail::arg(format!(
            "out->size is {size}; set it to sizeof(cocoon_event) (at least {COCOON_EVENT_SIZE_V1})"
        )));
    }
    Ok(size)
}

/// Delivers `got` (if any) into `out` and `*have`.
///
/// # Safety
/// As [`write_event`]; `have` is non-NULL and writable.
unsafe fn deliver(got: Option<Event>, out: *mut cocoon_event, size: u32, have: *mut c_int) {
    match got {
        Some(e) => {
            // SAFETY: forwarded contract.
            unsafe { write_event(&e, out, size) };
            // SAFETY: forwarded contract.
            unsafe { put(have, 1) };
        }
        // SAFETY: forwarded contract.
        None => unsafe { put(have, 0) },
    }
}

/// A new, empty event source. Free with `cocoon_events_free`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_events_new(out: *mut *mut cocoon_events) -> c_int {
    guard(|| {
        nonnull(out, "out")?;
        let inner = EventSource::new()?;
        // SAFETY: checked non-NULL.
        unsafe { put(out, Box::into_raw(Box::new(cocoon_events { inner }))) };
        Ok(())
    })
}

/// Watches `container` (running) under `tag`: it yields `COCOON_EVENT_STARTED` first (queued
/// at once: drain `cocoon_events_next` after adding), `COCOON_EVENT_EXITED` last, and then
/// leaves the source. The source keeps its own fds: the container handle stays the owner
/// of its process and may be freed before the source. A container whose process was already
/// reaped -> `COCOON_E_ALREADY_EXITED`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_events_add(
    events: *mut cocoon_events,
    container: *const cocoon_container,
    tag: u64,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let ev = unsafe { events.as_mut() }.ok_or_else(|| Fail::null("events"))?;
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container.as_ref() }.ok_or_else(|| Fail::null("container"))?;
        ev.inner.add(&c.inner, tag).map_err(Fail::from)
    })
}

/// Like `cocoon_events_add`, and runs the health check `check` (a process handle: exec'd
/// into the container, its stdio becomes /dev/null; not consumed) with Docker's
/// semantics: `interval_ms` after the add and after each check ends, killed at
/// `timeout_ms` (a failure), `retries` failures in a row (not counting those in the first
/// `start_period_ms`) make it unhealthy, a pass makes it healthy; each change is a
/// `COCOON_EVENT_HEALTH` event. Checks run while the source is read (`cocoon_events_next`/
/// `_wait` do what is due), one at a time, none while the container is paused. An
/// interval or timeout of 0 or retries of 0 -> `COCOON_E_INVALID_CONFIG`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_events_add_health(
    events: *mut cocoon_events,
    container: *const cocoon_container,
    tag: u64,
    check: *const cocoon_process,
    interval_ms: u64,
    timeout_ms: u64,
    retries: u32,
    start_period_ms: u64,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let ev = unsafe { events.as_mut() }.ok_or_else(|| Fail::null("events"))?;
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container.as_ref() }.ok_or_else(|| Fail::null("container"))?;
        // SAFETY: the caller passes NULL or a live handle.
        let p = unsafe { check.as_ref() }.ok_or_else(|| Fail::null("check"))?;
        let hc = HealthCheck::new(p.inner.clone())
            .interval(Duration::from_millis(interval_ms))
            .timeout(Duration::from_millis(timeout_ms))
            .retries(retries)
            .start_period(Duration::from_millis(start_period_ms));
        ev.inner.add_with_health(&c.inner, tag, hc).map_err(Fail::from)
    })
}

/// `*fd` receives the source's fd (owned by it: poll it, do not read or close it). It polls
/// readable (`POLLIN`) when `cocoon_events_next` has something to return.
#[no_mangle]
pub unsafe extern "C" fn cocoon_events_fd(events: *const cocoon_events, fd: *mut c_int) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let ev = unsafe { events.as_ref() }.ok_or_else(|| Fail::null("events"))?;
        nonnull(fd, "fd")?;
        // SAFETY: checked non-NULL.
        unsafe { put(fd, std::os::fd::AsFd::as_fd(&ev.inner).as_raw_fd()) };
        Ok(())
    })
}

/// `*count` receives how many containers are watched (those whose exit was not read yet).
#[no_mangle]
pub unsafe extern "C" fn cocoon_events_count(events: *const cocoon_events, count: *mut usize) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let ev = unsafe { events.as_ref() }.ok_or_else(|| Fail::null("events"))?;
        nonnull(count, "count")?;
        // SAFETY: checked non-NULL.
        unsafe { put(count, ev.inner.len()) };
        Ok(())
    })
}

/// The next event without blocking: `*got` is 1 and `*out` filled, or `*got` is 0 when
/// nothing is pending (`out->size` must be set, see `cocoon_event`).
#[no_mangle]
pub unsafe extern "C" fn cocoon_events_next(
    events: *mut cocoon_events,
    out: *mut cocoon_event,
    got: *mut c_int,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let ev = unsafe { events.as_mut() }.ok_or_else(|| Fail::null("events"))?;
        // SAFETY: NULL or a caller's struct.
        let size = unsafe { check_out(out) }?;
        nonnull(got, "got")?;
        let e = ev.inner.next_event()?;
        // SAFETY: `out` holds `size` bytes, `got` is non-NULL.
        unsafe { deliver(e, out, size, got) };
        Ok(())
    })
}

/// Like `cocoon_events_next`, waiting up to `timeout_ms` milliseconds for an event (-1:
/// until one comes; then `*got` is 0 only when nothing is watched and nothing is pending).
#[no_mangle]
pub unsafe extern "C" fn cocoon_events_wait(
    events: *mut cocoon_events,
    timeout_ms: c_int,
    out: *mut cocoon_event,
    got: *mut c_int,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let ev = unsafe { events.as_mut() }.ok_or_else(|| Fail::null("events"))?;
        if timeout_ms < -1 {
            return Err(Fail::arg(format!("timeout_ms {timeout_ms} is below -1")));
        }
        // SAFETY: NULL or a caller's struct.
        let size = unsafe { check_out(out) }?;
        nonnull(got, "got")?;
        let e = match u64::try_from(timeout_ms) {
            Ok(ms) => ev.inner.wait_timeout(Duration::from_millis(ms))?,
            Err(_) => ev.inner.wait()?,
        };
        // SAFETY: `out` holds `size` bytes, `got` is non-NULL.
        unsafe { deliver(e, out, size, got) };
        Ok(())
    })
}

/// Frees the source (the containers are not touched). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn cocoon_events_free(events: *mut cocoon_events) {
    guard(|| {
        if !events.is_null() {
            // SAFETY: a non-NULL handle came from `cocoon_events_new`; freed once.
            drop(unsafe { Box::from_raw(events) });
        }
        Ok(())
    });
}
