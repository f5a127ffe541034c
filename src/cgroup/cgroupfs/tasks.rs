//! The processes in a cgroup: attaching, listing, freezing and thawing, killing them all.

use std::thread::sleep;
use std::time::{Duration, Instant};

use cgroups_rs::fs::freezer::FreezerController;
use cgroups_rs::FreezerState;

use super::{lib_err, read, write, Cgroup, Dir, STATE_TIMEOUT};
use crate::cgroup::{CgroupError, CgroupVersion};

impl Cgroup {
    /// Moves `pid` (a process cocoon created) into the cgroup on every hierarchy, by writing
    /// it to each `cgroup.procs` (blkio before memory).
    pub(crate) fn attach(&self, pid: i32) -> Result<(), CgroupError> {
        if pid <= 0 {
            return Err(CgroupError::invalid("cgroup", "pid", format!("{pid} is not a process id")));
        }
        for d in self.dirs.iter().map(|d| &d.path).chain(&self.shared) {
            write(&d.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// The process ids in the cgroup (on any of its hierarchies), ascending.
    pub(crate) fn procs(&self) -> Vec<i32> {
        let mut v: Vec<i32> = self
            .dirs
            .iter()
            .filter_map(|d| crate::kernel_file::read_to_string(d.path.join("cgroup.procs"), 256).ok())
            .flat_map(|t| t.lines().filter_map(|l| l.trim().parse().ok()).collect::<Vec<i32>>())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    fn freezer_dir(&self) -> Option<&Dir> {
        self.dirs
            .iter()
            .find(|d| d.version == CgroupVersion::V1 && d.controllers.iter().any(|c| c == "freezer"))
            .or_else(|| self.dirs.iter().find(|d| d.version == CgroupVersion::V2))
    }

    /// Freezes every process and waits until the kernel reports the cgroup frozen.
    pub(crate) fn freeze(&self) -> Result<(), CgroupError> {
        self.set_frozen(true)
    }

    /// Thaws the cgroup and waits until the kernel reports it thawed.
    pub(crate) fn thaw(&self) -> Result<(), CgroupError> {
        self.set_frozen(false)
    }

    fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError> {
        let op = if frozen { "freeze" } else { "thaw" };
        let Some(d) = self.freezer_dir() else {
            return Err(CgroupError::ControllerUnavailable { controller: "freezer", reason: "no freezer hierarchy".into() });
        };
        let start = Instant::now();
        if d.version == CgroupVersion::V1 {
            let fz = FreezerController::new(d.path.clone(), d.mount.clone(), false);
            loop {
                let r = if frozen { fz.freeze() } else { fz.thaw() };
                r.map_err(lib_err("freezer", &d.path, if frozen { "FROZEN" } else { "THAWED" }))?;
                let state = fz.state().map_err(lib_err("freezer", &d.path, "(read freezer.state)"))?;
                match (frozen, state) {
                    (true, FreezerState::Frozen) | (false, FreezerState::Thawed) => return Ok(()),
                    _ => {}
                }
                if start.elapsed() > STATE_TIMEOUT {
                    if frozen {
                        let _ = fz.thaw();
                    }
                    return Err(CgroupError::Timeout { op, path: d.path.display().to_string(), waited_ms: STATE_TIMEOUT.as_millis() as u64 });
                }
                sleep(Duration::from_millis(1));
            }
        } else {
            // cgroups-rs reports the requested state (cgroup.freeze), not whether the kernel
            // has reached it; `frozen` in cgroup.events is the completed state.
            write(&d.path.join("cgroup.freeze"), if frozen { "1" } else { "0" })?;
            let events = d.path.join("cgroup.events");
            loop {
                let t = read(&events)?;
                let now = t.lines().any(|l| l.trim() == "frozen 1");
                if now == frozen {
                    return Ok(());
                }
                if start.elapsed() > STATE_TIMEOUT {
                    if frozen {
                        let _ = write(&d.path.join("cgroup.freeze"), "0");
                    }
                    return Err(CgroupError::Timeout { op, path: d.path.display().to_string(), waited_ms: STATE_TIMEOUT.as_millis() as u64 });
                }
                sleep(Duration::from_millis(1));
            }
        }
    }

    /// Kills every process in the cgroup and waits until it is empty.
    ///
    /// v2 (and the unified directory of a hybrid host): `cgroup.kill`. v1: freeze, SIGKILL
    /// every pid in `cgroup.procs`, thaw, repeat until empty — freezing first means nothing
    /// can fork while the pids are being killed.
    pub(crate) fn kill_all(&self) -> Result<(), CgroupError> {
        if let Some(d) = self.dirs.iter().find(|d| d.version == CgroupVersion::V2) {
            let kill = d.path.join("cgroup.kill");
            if kill.exists() {
                write(&kill, "1")?;
            }
        }
        let start = Instant::now();
        loop {
            let pids = self.procs();
            if pids.is_empty() {
                return Ok(());
            }
            if start.elapsed() > STATE_TIMEOUT {
                return Err(CgroupError::NotEmpty { path: self.rel.display().to_string(), pids });
            }
            let frozen = self.freezer_dir().is_some() && self.freeze().is_ok();
            for pid in self.procs() {
                // These are processes inside our own cgroup; ESRCH just means it is gone.
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
            if frozen {
                self.thaw()?;
            }
            sleep(Duration::from_millis(2));
        }
    }
}
