//! Changing a live container's cgroup limits (`Container::update_cgroup`,
//! `CgroupHandle::update`): the new values reach the kernel's files and hold for the
//! processes already inside; what is not given stays; a bad update is a typed error that
//! changes nothing.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use cocoon::cgroup::{CgroupError, CgroupHandle, CpuWeight, DeviceRule};
use cocoon::{Bytes, CgroupConfig, ContainerBuilder, Error, Namespaces, Process, Stdio};

/// The first of `files` (v1 `<controller>/<rel>/<file>`, v2 `<rel>/<file>`) that exists,
/// read and trimmed.
fn read_limit(rel: &Path, controller: &str, files: &[&str]) -> String {
    let roots = [PathBuf::from("/sys/fs/cgroup").join(controller), PathBuf::from("/sys/fs/cgroup"), PathBuf::from("/sys/fs/cgroup/unified")];
    for root in &roots {
        for f in files {
            if let Ok(s) = std::fs::read_to_string(root.join(rel).join(f)) {
                return s.trim().to_string();
            }
        }
    }
    panic!("no {files:?} for {} on {controller}", rel.display());
}

fn pids_max(rel: &Path) -> String {
    read_limit(rel, "pids", &["pids.max"])
}

fn memory_max(rel: &Path) -> String {
    read_limit(rel, "memory", &["memory.limit_in_bytes", "memory.max"])
}

#[test]
fn limits_change_for_the_processes_already_inside() {
    // The shell waits for a line, then forks 8 sleeps: after the update only 3 fit.
    let script = "read go; for i in 1 2 3 4 5 6 7 8; do sleep 5 & echo forked; done 2>/dev/null";
    let mut c = ContainerBuilder::new(
        Process::new("/bin/sh").args(["-c", script]).stdin(Stdio::Piped).stdout(Stdio::Piped),
    )
    .namespaces(Namespaces::DEFAULT - Namespaces::CGROUP)
    .cgroup(CgroupConfig::new().pids_max(64).memory_max(Bytes::mib(64)))
    .spawn()
    .expect("spawn");
    let rel = c.cgroup_path().expect("a cgroup").to_path_buf();
    assert_eq!(pids_max(&rel), "64");

    c.update_cgroup(&CgroupConfig::new().pids_max(4)).expect("update pids");
    assert_eq!(pids_max(&rel), "4");
    assert_eq!(memory_max(&rel), (64u64 << 20).to_string(), "a limit the update does not set stays");

    c.update_cgroup(&CgroupConfig::new().memory_max(Bytes::mib(48)).cpu_quota(Duration::from_millis(50), Duration::from_millis(100)))
        .expect("update memory and cpu");
    assert_eq!(memory_max(&rel), (48u64 << 20).to_string());
    assert_eq!(pids_max(&rel), "4");
    let quota = read_limit(&rel, "cpu", &["cpu.cfs_quota_us", "cpu.max"]);
    assert!(quota == "50000" || quota == "50000 100000", "cpu quota: {quota}");

    c.take_stdin().expect("piped").write_all(b"go\n").expect("release the shell");
    let mut out = String::new();
    c.take_stdout().expect("piped").read_to_string(&mut out).expect("read");
    let forked = out.lines().filter(|l| *l == "forked").count();
    assert!((1..=3).contains(&forked), "pids.max=4 after the update allows sh + 3 children, got {forked}: {out}");
    c.wait().expect("wait");
    c.delete().expect("delete");
}

#[test]
fn bad_updates_are_typed_errors_that_change_nothing() {
    let c = ContainerBuilder::new(Process::new("/bin/sleep").arg("30"))
        .cgroup(CgroupConfig::new().pids_max(16).memory_max(Bytes::mib(64)))
        .spawn()
        .expect("spawn");
    let rel = c.cgroup_path().expect("a cgroup").to_path_buf();
    let bad: [(CgroupConfig, &str); 4] = [
        // A valid limit with an invalid one: checked first, so neither is written.
        (CgroupConfig::new().pids_max(8).cpu_weight(CpuWeight(0)), "cpu"),
        (CgroupConfig::new().memory_max(Bytes::mib(8)).cpu_quota(Duration::ZERO, Duration::from_millis(100)), "cpu"),
        (CgroupConfig::new().cpus("4095".parse().expect("id set")), "cpuset"),
        (CgroupConfig::new().pids_max(8).device_rule(DeviceRule::allow_char(1, 3)), "devices"),
    ];
    for (cfg, controller) in bad {
        match c.update_cgroup(&cfg) {
            Err(Error::Cgroup(CgroupError::Invalid { controller: got, .. })) => assert_eq!(got, controller, "{cfg:?}"),
            other => panic!("{cfg:?}: expected an invalid {controller} setting, got {other:?}"),
        }
        assert_eq!(pids_max(&rel), "16", "{cfg:?} changed pids.max");
        assert_eq!(memory_max(&rel), (64u64 << 20).to_string(), "{cfg:?} changed the memory limit");
    }
    c.delete().expect("delete");

    // No cgroup: nothing to update, said so.
    let c = ContainerBuilder::new(Process::new("/bin/sleep").arg("30")).spawn().expect("spawn");
    assert!(matches!(c.update_cgroup(&CgroupConfig::new().pids_max(4)), Err(Error::InvalidConfig { what: "cgroup", .. })));
    c.delete().expect("delete");
}

#[test]
fn a_handle_updates_the_cgroup_of_processes_the_caller_started() {
    let name = format!("cocoon-upd-{}", std::process::id());
    let cg = CgroupHandle::create(&CgroupConfig::new().pids_max(10), &name).expect("create");
    let mut child = std::process::Command::new("/bin/sleep").arg("30").spawn().expect("sleep");
    cg.attach(child.id()).expect("attach");
    cg.update(&CgroupConfig::new().pids_max(3)).expect("update");
    assert_eq!(pids_max(cg.path()), "3");
    // Another handle on the same cgroup (as a second process would open it) sees it too.
    let other = CgroupHandle::open(cg.path()).expect("open");
    other.update(&CgroupConfig::new().pids_max(5)).expect("update via open");
    assert_eq!(pids_max(cg.path()), "5");
    other.release();
    let path = cg.path().to_path_buf();
    cg.destroy().expect("destroy");
    let _ = child.wait();
    assert!(!Path::new("/sys/fs/cgroup/pids").join(&path).exists(), "destroyed");
}
