//! Health checks with Docker's semantics, run by an [`super::EventSource`]: one check at a
//! time per container, exec'd into it, killed at its timeout.

use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::{Container, ExecProcess, ExitStatus, Process, RunningContainer, Stdio};

/// A container's health as its checks have found it (Docker's `starting`, `healthy`,
/// `unhealthy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthStatus {
    /// No check has passed yet, and fewer than `retries` failed in a row after the start
    /// period.
    Starting,
    /// The last check passed.
    Healthy,
    /// `retries` checks in a row failed (outside the start period).
    Unhealthy,
}

/// How to check a container's health, with Docker's `HEALTHCHECK` semantics: the command is
/// exec'd into the container (its namespaces, cgroup, label, Landlock ruleset) `interval`
/// after the container was added and then `interval` after each check ended; it passes
/// when it exits 0. A check still running at `timeout` is killed and counts as a failure.
/// Checks never overlap. Failures during `start_period` do not count, but a pass during it
/// makes the container healthy.
#[derive(Debug, Clone)]
pub struct HealthCheck {
    pub(crate) process: Process,
    pub(crate) interval: Duration,
    pub(crate) timeout: Duration,
    pub(crate) retries: u32,
    pub(crate) start_period: Duration,
}

impl HealthCheck {
    /// Runs `process` as the check (its stdin, stdout and stderr become `/dev/null`), with
    /// Docker's defaults: every 30 s, a 30 s timeout, 3 retries, no start period.
    pub fn new(process: Process) -> HealthCheck {
        let process = process.stdin(Stdio::Null).stdout(Stdio::Null).stderr(Stdio::Null);
        HealthCheck {
            process,
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(30),
            retries: 3,
            start_period: Duration::ZERO,
        }
    }

    /// Docker's `CMD-SHELL` form: `/bin/sh -c command`.
    pub fn shell(command: &str) -> HealthCheck {
        HealthCheck::new(Process::new("/bin/sh").args(["-c", command]))
    }

    /// Time from the end of one check (or the start of watching) to the next.
    pub fn interval(mut self, d: Duration) -> HealthCheck {
        self.interval = d;
        self
    }

    /// How long a check may run before it is killed and counted as failed.
    pub fn timeout(mut self, d: Duration) -> HealthCheck {
        self.timeout = d;
        self
    }

    /// Failures in a row that make the container unhealthy.
    pub fn retries(mut self, n: u32) -> HealthCheck {
        self.retries = n;
        self
    }

    /// Time after the start of watching during which failures do not count.
    pub fn start_period(mut self, d: Duration) -> HealthCheck {
        self.start_period = d;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        self.process.validate()?;
        let ms = Duration::from_millis(1);
        if self.interval < ms {
            return Err(Error::invalid("health check interval", format!("{:?} is below 1 ms", self.interval)));
        }
        if self.timeout < ms {
            return Err(Error::invalid("health check timeout", format!("{:?} is below 1 ms", self.timeout)));
        }
        if self.retries == 0 {
            return Err(Error::invalid("health check retries", "0: at least one failure must count"));
        }
        Ok(())
    }
}

/// A check in flight.
#[derive(Debug)]
struct Running {
    proc_: ExecProcess,
    deadline: Instant,
}

/// One container's health: its state machine and the check in flight.
#[derive(Debug)]
pub(super) struct Health {
    check: HealthCheck,
    target: RunningContainer,
    status: HealthStatus,
    failures: u32,
    start_ends: Instant,
    next_due: Instant,
    running: Option<Running>,
}

impl Health {
    pub(super) fn new(container: &Container, check: HealthCheck) -> Result<Health> {
        check.validate()?;
        let target = RunningContainer::of(container)?;
        let now = Instant::now();
        Ok(Health {
            start_ends: now + check.start_period,
            next_due: now + check.interval,
            check,
            target,
            status: HealthStatus::Starting,
            failures: 0,
            running: None,
        })
    }

    /// The wait fd of the check in flight.
    fn check_fd(&self) -> Option<RawFd> {
        self.running.as_ref().map(|r| r.proc_.wait_fd().as_fd().as_raw_fd())
    }

    /// When [`Health::step`] has something to do next.
    pub(super) fn next_deadline(&self) -> Instant {
        self.running.as_ref().map_or(self.next_due, |r| r.deadline)
    }

    /// Advances the state machine at `now`: reaps an ended check (or kills one past its
    /// timeout) and judges it, then starts the next check if one is due (and the container
    /// is not `paused`: then the check is skipped). A running
    /// check's wait fd is in `epoll` under `data` (taken out before the check is dropped).
    /// Returns the new status if it changed.
    pub(super) fn step(&mut self, now: Instant, paused: bool, epoll: RawFd, data: u64) -> Option<HealthStatus> {
        let mut changed = None;
        if let Some(r) = self.running.as_mut() {
            let ended = match r.proc_.try_wait() {
                Ok(Some(s)) => Some(s == ExitStatus::Exited(0)),
                Ok(None) if now >= r.deadline => {
                    // Hung: kill it and wait for it (it dies of SIGKILL at once).
                    let _ = r.proc_.kill(libc::SIGKILL);
                    let _ = r.proc_.wait();
                    Some(false)
                }
                Ok(None) => None,
                Err(_) => Some(false),
            };
            if let Some(passed) = ended {
                self.stop(epoll);
                self.next_due = now + self.check.interval;
                changed = self.judge(passed, now);
            }
        }
        if self.running.is_none() && now >= self.next_due && paused {
            // A process exec'd into a frozen cgroup stops before it reports: skip this one.
            self.next_due = now + self.check.interval;
        }
        if self.running.is_none() && now >= self.next_due {
            let started = self.target.exec(&self.check.process).map_err(|_| ()).and_then(|proc_| {
                let fd = proc_.wait_fd().as_fd().as_raw_fd();
                // Not in the set, it would never be reaped on time: dropping kills it.
                super::source::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, fd, data).map_err(|_| ())?;
                Ok(proc_)
            });
            match started {
                Ok(proc_) => self.running = Some(Running { proc_, deadline: now + self.check.timeout }),
                // A check that cannot even start (the program is missing, the container is
                // ending) is a failed check.
                Err(()) => {
                    self.next_due = now + self.check.interval;
                    if let Some(s) = self.judge(false, now) {
                        changed = Some(s);
                    }
                }
            }
        }
        changed
    }

    /// Takes the check in flight out of `epoll`, then kills and reaps it (dropping an
    /// [`ExecProcess`] does both; one that ended is only reaped).
    pub(super) fn stop(&mut self, epoll: RawFd) {
        if let Some(fd) = self.check_fd() {
            let _ = super::source::epoll_ctl(epoll, libc::EPOLL_CTL_DEL, fd, 0);
        }
        self.running = None;
    }

    fn judge(&mut self, passed: bool, now: Instant) -> Option<HealthStatus> {
        let before = self.status;
        if passed {
            self.failures = 0;
            self.status = HealthStatus::Healthy;
        } else if now >= self.start_ends {
            self.failures = self.failures.saturating_add(1);
            if self.failures >= self.check.retries {
                self.status = HealthStatus::Unhealthy;
            }
        }
        (self.status != before).then_some(self.status)
    }
}
