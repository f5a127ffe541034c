//! Warm containers: made up to the last step before their process — namespaces, mounts,
//! pivot_root, cgroup, network, labels — and held, then started by handing them the
//! process ([`WarmContainer::start`]); and a [`Pool`] that keeps some ready.
//!
//! The process is given late, but the child never allocates for it: the parent writes
//! it into a shared mapping made before the clone (`src/spawn/late.rs`) and sends one start
//! message with the stdio and passed fds. The child then runs the same process steps as
//! any container's first process (rlimits, stdio, keyring, seccomp, ids, capabilities,
//! cwd, the exec helper), in the same order. What can differ per start: the program and
//! arguments, environment, working directory, user and groups, rlimits, umask, stdio and
//! passed fds. The security settings (capabilities, no_new_privs, seccomp, the notify
//! filter, oom_score_adj, the log) are the plan's: a process that asks for others is
//! refused, so a pool never hands out weaker or stronger containers than it was made for.

mod pool;

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use pool::{Pool, PoolOptions, PoolStats};

use crate::container::Container;
use crate::error::{Error, Result};
use crate::plan::{NameRoot, Plan, ProcessPlan};
use crate::process::Process;
use crate::seccomp::Programs;
use crate::spawn::warm::Parked;

/// Fds a warm container's process may get: below this number (stdio and 64 more).
pub const WARM_FD_LIMIT: i32 = 3 + crate::plan::MAX_PASSED_FDS as i32;

/// A container set up completely except for its process, which [`WarmContainer::start`]
/// supplies. Dropping it unstarted kills it and removes everything it had (cgroup,
/// network, writable layer), as dropping a [`Container`] does.
pub struct WarmContainer {
    container: Container,
    parked: Parked,
    fixed: Fixed,
    setgroups_allowed: bool,
    prepared_at: Instant,
}

impl std::fmt::Debug for WarmContainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WarmContainer").field("id", &self.container.id()).field("pid", &self.container.pid()).finish()
    }
}

impl Plan {
    /// Makes a warm container from this plan: everything but the process, held until
    /// [`WarmContainer::start`]. The plan's own program is not run. A plan with a Landlock
    /// ruleset is refused (its rules give the planned program's PATH candidates EXECUTE,
    /// and the program is known only at the start). On error nothing is left behind.
    pub fn warm(&self) -> Result<WarmContainer> {
        if self.landlock.is_some() {
            return Err(Error::invalid(
                "landlock",
                "a warm container's program is known only when it starts, and a Landlock ruleset is planned for one program",
            ));
        }
        let block = crate::spawn::late::Block::new()?;
        let floor = WARM_FD_LIMIT.max(self.process.fd_floor);
        let s = crate::spawn::warm(self, &block, floor)?;
        Ok(WarmContainer {
            container: s.container,
            parked: Parked {
                sock: s.sock,
                block,
                helper_prefix: s.helper_prefix,
                floor,
                logged: self.process.log.is_some(),
            },
            fixed: Fixed::of(&self.process),
            setgroups_allowed: !self.setgroups_deny,
            prepared_at: Instant::now(),
        })
    }
}

impl WarmContainer {
    /// The container's id (names its cgroup).
    pub fn id(&self) -> &str {
        self.container.id()
    }

    /// The host pid of the process that becomes the program.
    pub fn pid(&self) -> i32 {
        self.container.pid()
    }

    /// How long it has been ready.
    pub fn age(&self) -> Duration {
        self.prepared_at.elapsed()
    }

    /// Runs `process` in the container and returns it as a running [`Container`]. Its
    /// user names are looked up and its PATH searched in the container's root. Errors:
    /// [`Error::InvalidConfig`] for a process this container cannot run (checked before
    /// anything is sent: the container is dropped with the error), [`Error::Setup`] for
    /// a step that failed inside it (e.g. a missing program).
    pub fn start(self, process: &Process) -> Result<Container> {
        self.start_or_keep(process).map_err(|(e, _)| e)
    }

    /// As [`WarmContainer::start`], but a process refused before anything was sent to the
    /// container (planning, the checks, a block that would not hold it) gives the warm
    /// container back with the error (a pool keeps it).
    pub(crate) fn start_or_keep(
        self,
        process: &Process,
    ) -> std::result::Result<Container, (Error, Option<Box<WarmContainer>>)> {
        let mut w = self;
        let pp = match w.plan_process(process) {
            Ok(pp) => pp,
            Err(e) => return Err((e, Some(Box::new(w)))),
        };
        match crate::spawn::warm::start(&mut w.parked, &pp) {
            Ok((ends, listener)) => {
                w.container.started_warm(ends, listener);
                Ok(w.container)
            }
            Err((e, true)) => Err((e, Some(Box::new(w)))),
            // The child was told to go on (or the socket broke): this container is spent.
            Err((e, false)) => Err((e, None)),
        }
    }

    /// The process planned against this container's root, checked against what is fixed.
    fn plan_process(&mut self, process: &Process) -> Result<ProcessPlan> {
        process.validate()?;
        if self.container.try_wait()?.is_some() {
            return Err(Error::AlreadyExited);
        }
        let root = std::path::PathBuf::from(format!("/proc/{}/root", self.container.pid()));
        let pp = ProcessPlan::new(
            process,
            NameRoot::Dirs(vec![root.as_path()]),
            self.setgroups_allowed,
            crate::capability::last_cap(),
        )?;
        self.fixed.check(&pp)?;
        Ok(pp)
    }
}

/// The same compiled programs (usually the same cached `Arc`; else compared by content).
fn same_programs(a: &Option<Arc<Programs>>, b: &Option<Arc<Programs>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(a, b) || (a.filters == b.filters && a.flags == b.flags),
        _ => false,
    }
}

/// The process settings a warm container was made with and keeps.
struct Fixed {
    caps: crate::capability::Capabilities,
    no_new_privs: bool,
    seccomp: Option<Vec<seccompiler::sock_filter>>,
    notify: Option<Vec<seccompiler::sock_filter>>,
    default_seccomp: Option<Arc<Programs>>,
    programs: Option<Arc<Programs>>,
    oom_score_adj: Option<i32>,
}

impl Fixed {
    fn of(p: &ProcessPlan) -> Fixed {
        Fixed {
            caps: p.caps,
            no_new_privs: p.no_new_privs,
            seccomp: p.seccomp.clone(),
            notify: p.seccomp_notify.clone(),
            default_seccomp: p.default_seccomp.clone(),
            programs: p.seccomp_programs.clone(),
            oom_score_adj: p.oom_score_adj,
        }
    }

    fn check(&self, p: &ProcessPlan) -> Result<()> {
        let differs = |what: &'static str| {
            Err(Error::invalid(
                what,
                "a warm container keeps the security settings it was made with: set them on the builder, not on the started process",
            ))
        };
        if p.caps != self.caps {
            return differs("capabilities");
        }
        if p.no_new_privs != self.no_new_privs {
            return differs("no_new_privs");
        }
        if p.seccomp != self.seccomp
            || !same_programs(&p.default_seccomp, &self.default_seccomp)
            || !same_programs(&p.seccomp_programs, &self.programs)
        {
            return differs("seccomp");
        }
        if p.seccomp_notify != self.notify {
            return differs("seccomp_notify");
        }
        if p.oom_score_adj.is_some() && p.oom_score_adj != self.oom_score_adj {
            return differs("oom_score_adj");
        }
        if p.log.is_some() {
            return differs("log");
        }
        Ok(())
    }
}
