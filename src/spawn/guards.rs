//! Cleanup on a failed spawn: each guard undoes one thing made so far unless disarmed.

use std::os::fd::{AsRawFd, OwnedFd};

use libc::c_int;

use crate::cgroup::ContainerCgroup;
use super::proc::Proc;
use crate::sys;

use super::MonitorStack;

/// Reaps a monitor that reported a failure (it exits right after), and only then unmaps
/// its stack (a monitor that shares our memory runs on it).
pub(super) struct MonitorGuard(pub(super) Option<(c_int, OwnedFd, Option<MonitorStack>)>);

impl MonitorGuard {
    pub(super) fn disarm(&mut self) -> (c_int, OwnedFd, Option<MonitorStack>) {
        match self.0.take() {
            Some(m) => m,
            None => unreachable!("guard holds the monitor until disarmed"),
        }
    }

    pub(super) fn wait(&mut self) -> Option<()> {
        let (_, fd, stack) = self.0.take()?;
        super::proc::reap_pidfd(&fd);
        drop(stack);
        Some(())
    }
}

impl Drop for MonitorGuard {
    fn drop(&mut self) {
        if let Some((_, fd, stack)) = self.0.take() {
            let _ = sys::pidfd_send_signal(fd.as_raw_fd(), libc::SIGKILL);
            super::proc::reap_pidfd(&fd);
            drop(stack);
        }
    }
}

/// Kills and reaps a child if setup fails halfway.
pub(super) struct ChildGuard(pub(super) Option<Proc>);

impl ChildGuard {
    pub(super) fn pid(&self) -> c_int {
        self.0.as_ref().map_or(-1, |p| p.pid())
    }

    pub(super) fn disarm(mut self) -> Proc {
        match self.0.take() {
            Some(p) => p,
            None => unreachable!("guard holds the child until disarmed"),
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(p) = &mut self.0 {
            p.kill_and_reap();
        }
    }
}

/// Removes a half-made cgroup if spawn fails.
pub(super) struct CgroupGuard(pub(super) Option<Box<dyn ContainerCgroup>>);

impl CgroupGuard {
    pub(super) fn take(&mut self) -> Option<Box<dyn ContainerCgroup>> {
        self.0.take()
    }
}

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            let _ = c.destroy();
        }
    }
}

