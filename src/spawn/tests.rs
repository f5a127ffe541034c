//! The spawn path through the cgroup driver interface: real spawns (root only; skipped
//! otherwise) with a driver that records every call and hands the work to the cgroupfs
//! driver. What a systemd driver would see is exactly this sequence of calls.

use std::os::fd::{OwnedFd, RawFd};
use std::path::Path;
use std::sync::Mutex;

use super::spawn_with;
use crate::cgroup::{driver, CgroupConfig, CgroupDriver, CgroupError, CgroupStats, ContainerCgroup};
use crate::{ContainerBuilder, Error, Process, Stdio};

/// Every call, as `"<id> <call>"`.
static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn log(id: &str, call: impl AsRef<str>) {
    LOG.lock().unwrap_or_else(|p| p.into_inner()).push(format!("{id} {}", call.as_ref()));
}

/// The calls made for container `id`, in order.
fn calls(id: &str) -> Vec<String> {
    let log = LOG.lock().unwrap_or_else(|p| p.into_inner());
    log.iter().filter_map(|l| l.strip_prefix(id).and_then(|c| c.strip_prefix(' '))).map(str::to_string).collect()
}

struct Recorder;

impl CgroupDriver for Recorder {
    fn create(&self, cfg: &CgroupConfig, id: &str) -> Result<Box<dyn ContainerCgroup>, CgroupError> {
        log(id, "create");
        Ok(Box::new(Recorded { id: id.to_string(), inner: driver(cfg).create(cfg, id)? }))
    }

    fn sweep_once(&self, parent: &Path) {
        log("driver", format!("sweep_once {}", parent.display()));
    }
}

#[derive(Debug)]
struct Recorded {
    id: String,
    inner: Box<dyn ContainerCgroup>,
}

impl ContainerCgroup for Recorded {
    fn clone_into_fd(&self) -> Option<RawFd> {
        let fd = self.inner.clone_into_fd();
        log(&self.id, if fd.is_some() { "clone_into_fd some" } else { "clone_into_fd none" });
        fd
    }
    fn kill_fd(&self) -> Option<OwnedFd> {
        log(&self.id, "kill_fd");
        self.inner.kill_fd()
    }
    fn attach(&self, pid: i32) -> Result<(), CgroupError> {
        log(&self.id, format!("attach {pid}"));
        self.inner.attach(pid)
    }
    fn update(&self, cfg: &CgroupConfig) -> Result<(), CgroupError> {
        log(&self.id, "update");
        self.inner.update(cfg)
    }
    fn policy_only(&self) -> bool {
        self.inner.policy_only()
    }
    fn freeze(&self) -> Result<(), CgroupError> {
        log(&self.id, "freeze");
        self.inner.freeze()
    }
    fn thaw(&self) -> Result<(), CgroupError> {
        log(&self.id, "thaw");
        self.inner.thaw()
    }
    fn stats(&self) -> Result<CgroupStats, CgroupError> {
        log(&self.id, "stats");
        self.inner.stats()
    }
    fn procs(&self) -> Vec<i32> {
        log(&self.id, "procs");
        self.inner.procs()
    }
    fn kill_all(&self) -> Result<(), CgroupError> {
        log(&self.id, "kill_all");
        self.inner.kill_all()
    }
    fn path(&self) -> &Path {
        self.inner.path()
    }
    fn dirs(&self) -> Vec<&Path> {
        self.inner.dirs()
    }
    fn destroy(self: Box<Self>) -> Result<(), CgroupError> {
        log(&self.id, "destroy");
        self.inner.destroy()
    }
    fn leave(self: Box<Self>) {
        log(&self.id, "leave");
        self.inner.leave()
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn spawn_recorded(b: &ContainerBuilder) -> crate::Result<crate::Container> {
    let plan = b.prepare()?;
    spawn_with(&plan, plan.cgroup.as_ref().map(|c| (c, &Recorder as &dyn CgroupDriver)), super::hold::StartBy::Now)
}

/// A container with limits: created, placed (born in it on cgroup2, else attached between
/// READY and GO with the program's pid), paused, resumed, listed, measured and destroyed,
/// each through the driver.
#[test]
fn a_spawn_uses_the_cgroup_only_through_the_driver() {
    if !is_root() {
        return;
    }
    let id = format!("cocoon-unit-driver-{}", std::process::id());
    let b = ContainerBuilder::new(Process::new("/bin/sleep").arg("30").stdin(Stdio::Null)).id(&id).cgroup(CgroupConfig::new().pids_max(8));
    let c = spawn_recorded(&b).expect("spawn");
    let pid = c.pid();
    c.pause().expect("pause");
    c.resume().expect("resume");
    assert!(c.pids().expect("pids").contains(&pid), "the program is in the driver's cgroup");
    c.stats().expect("stats");
    assert_eq!(c.cgroup_path(), Some(Path::new("cocoon").join(&id).as_path()));
    c.delete().expect("delete");
    let got = calls(&id);
    let born_in = got.first().map(String::as_str) == Some("create") && got.get(1).map(String::as_str) == Some("clone_into_fd some");
    let mut want = vec!["create".to_string(), if born_in { "clone_into_fd some" } else { "clone_into_fd none" }.to_string(), "kill_fd".to_string()];
    if !born_in {
        want.push(format!("attach {pid}"));
    }
    want.extend(["freeze", "thaw", "procs", "stats", "thaw", "destroy"].map(String::from));
    assert_eq!(got, want);
    assert!(calls("driver").contains(&"sweep_once cocoon".to_string()), "housekeeping goes through the driver: {:?}", calls("driver"));
}

/// A spawn that fails after the cgroup exists (the program cannot be executed) destroys
/// it through the driver, and a detached container leaves it to the driver.
#[test]
fn a_failed_spawn_destroys_and_a_detached_container_leaves_the_cgroup() {
    if !is_root() {
        return;
    }
    let id = format!("cocoon-unit-driver-fail-{}", std::process::id());
    let b = ContainerBuilder::new(Process::new("/nonexistent/program")).id(&id).cgroup(CgroupConfig::new().pids_max(8));
    let e = spawn_recorded(&b).expect_err("no such program");
    assert!(matches!(e, Error::Setup { .. }), "{e:?}");
    assert_eq!(calls(&id).last().map(String::as_str), Some("destroy"), "{:?}", calls(&id));

    let id = format!("cocoon-unit-driver-detach-{}", std::process::id());
    let b = ContainerBuilder::new(Process::new("/bin/true")).id(&id).cgroup(CgroupConfig::new().pids_max(8));
    let c = spawn_recorded(&b).expect("spawn");
    let dirs: Vec<std::path::PathBuf> = c.cgroup().map(|cg| cg.dirs().iter().map(|d| d.to_path_buf()).collect()).unwrap_or_default();
    assert!(!dirs.is_empty());
    let monitor = c.detach();
    assert_eq!(calls(&id).last().map(String::as_str), Some("leave"), "{:?}", calls(&id));
    // Reap the monitor (it exits with /bin/true's status); the cgroupfs driver removes the
    // cgroup at a later create, now that it is empty.
    // SAFETY: a zeroed siginfo_t is valid; waitid writes into it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid on our own child's pid with a valid siginfo pointer.
    let r = unsafe { libc::waitid(libc::P_PID, monitor as libc::id_t, &mut info, libc::WEXITED | libc::__WALL) };
    assert_eq!(r, 0, "reap the monitor: {}", std::io::Error::last_os_error());
    crate::cgroup::CgroupHandle::create(&CgroupConfig::new().pids_max(8), &format!("{id}-next")).and_then(|h| h.destroy()).expect("a later cgroup");
    assert!(dirs.iter().all(|d| !d.exists()), "the ended detached container's cgroup is gone: {dirs:?}");
}
