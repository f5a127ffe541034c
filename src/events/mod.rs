//! Container events on one pollable fd: exits (from each container's pidfd), OOM and
//! OOM kills (cgroup v1 `cgroup.event_control` + eventfd, cgroup v2 inotify on
//! `memory.events`), pause/resume (v2 inotify on `cgroup.events`; v1 by a re-read of
//! `freezer.state`, see [`EventSource`]).
//!
//! ```no_run
//! use cocoon::events::EventSource;
//! # fn f(c: &cocoon::Container) -> cocoon::Result<()> {
//! let mut events = EventSource::new()?;
//! events.add(c, 7)?;
//! while let Some(ev) = events.wait_timeout(std::time::Duration::from_secs(1))? {
//!     println!("{} (tag {}): {:?}", ev.id, ev.tag, ev.kind);
//! }
//! # Ok(()) }
//! ```

mod cgroup_watch;
mod health;
mod source;

pub use health::{HealthCheck, HealthStatus};
pub use source::EventSource;

/// What happened to a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// The container was added to the source while running (the first event of each).
    Started,
    /// The container's first process ended with this status (the last event of each;
    /// `None` if its [`crate::Container`] handle reaped it before the event was read).
    Exited(Option<crate::ExitStatus>),
    /// The cgroup hit its memory limit (v1: the `memory.oom_control` notification; v2:
    /// the `oom` counter of `memory.events` grew).
    Oom,
    /// The kernel OOM-killed `count` processes in the cgroup since the last report.
    OomKill {
        /// How many processes were killed since the previous `OomKill` of this container.
        count: u64,
    },
    /// The cgroup became frozen.
    Paused,
    /// The cgroup was thawed.
    Resumed,
    /// The health checks ([`EventSource::add_with_health`]) changed the container's status.
    Health(HealthStatus),
}

/// One event of one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The container's id ([`crate::Container::id`]).
    pub id: String,
    /// The tag given to [`EventSource::add`].
    pub tag: u64,
    /// What happened.
    pub kind: EventKind,
}
