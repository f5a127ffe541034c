//! Containers with cgroups on a pure cgroup v2 host, through the library's public API.
//! Runs inside the qemu VM (tests/vm/run-tests.sh), where cgroup2 is mounted at
//! /sys/fs/cgroup with every controller; ignored on the hybrid build host.

mod cgroup_support;
use std::io::Read;

use cocoon::cgroup::{host_mode, CgroupMode};
use cocoon::{Bytes, CgroupConfig, ContainerBuilder, Namespaces, Process, Stdio};

const VM: &str = "runs in the qemu VM: tests/vm/run-tests.sh";

fn in_vm() {
    assert_eq!(std::env::var("COCOON_VM").as_deref(), Ok("1"), "this test only runs inside the qemu VM");
    assert_eq!(host_mode().ok(), Some(CgroupMode::V2), "the VM mounts a pure cgroup v2 hierarchy");
}

fn sh(script: &str) -> Process {
    Process::new("/bin/sh").args(["-c", script]).stdout(Stdio::Piped).stdin(Stdio::Null)
}

fn output(c: &mut cocoon::Container) -> String {
    let mut s = String::new();
    c.take_stdout().expect("piped stdout").read_to_string(&mut s).expect("read stdout");
    s
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn program_starts_inside_its_cgroup_and_limits_hold() {
    in_vm();
    let _ = VM;
    // No cgroup namespace: /proc/self/cgroup shows the real path, proving the program
    // was born in its cgroup (CLONE_INTO_CGROUP), never outside it.
    let ns = Namespaces::DEFAULT - Namespaces::CGROUP;
    let mut c = ContainerBuilder::new(sh(
        "cat /proc/self/cgroup; for i in 1 2 3 4 5 6 7 8; do sleep 5 & echo forked; done 2>/dev/null",
    ))
    .id("cocoon-vm-pids")
    .namespaces(ns)
    .cgroup(CgroupConfig::new().pids_max(4).memory_max(Bytes::mib(64)))
    .spawn()
    .expect("spawn");
    let dir = std::path::PathBuf::from("/sys/fs/cgroup/cocoon/cocoon-vm-pids");
    assert!(dir.is_dir(), "cgroup directory exists while running");
    let out = output(&mut c);
    assert!(out.contains("0::/cocoon/cocoon-vm-pids"), "born in its cgroup: {out}");
    // The shell may die at the refused fork; what it printed before counts.
    let started = out.lines().filter(|l| *l == "forked").count();
    assert!((1..=3).contains(&started), "pids.max=4 (sh + 3) refuses more forks, started {started}: {out}");
    c.wait().expect("wait");
    c.delete().expect("delete");
    assert!(!dir.exists(), "delete removes the cgroup");
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn memory_limit_oom_kill_is_reported() {
    in_vm();
    // The subshell and its pipeline are the OOM killer's first victims (oom_score_adj 1000):
    // if tail exits slowly the kernel kills again, and must not take the reporting shell.
    let mut c = ContainerBuilder::new(sh("(echo 1000 >/proc/self/oom_score_adj && head -c 100m /dev/zero | tail -c 100m >/dev/null); echo rc=$?"))
        .cgroup(CgroupConfig::new().memory_max(Bytes::mib(24)))
        .spawn()
        .expect("spawn");
    let out = output(&mut c);
    assert!(out.contains("rc=137"), "the allocating process is OOM-killed: {out}");
    let stats = c.stats().expect("stats");
    let mem = stats.memory.expect("memory stats on v2");
    assert!(mem.oom_kills >= 1, "OOM kill counted: {mem:?}");
    c.wait().expect("wait");
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn pause_freezes_and_resume_thaws() {
    in_vm();
    let c = ContainerBuilder::new(Process::new("/bin/sh").args(["-c", "while :; do :; done"]).stdin(Stdio::Null))
        .cgroup(CgroupConfig::new())
        .spawn()
        .expect("spawn");
    cgroup_support::assert_pause_freezes_and_resume_thaws(&c);
    c.delete().expect("delete");
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn limits_change_on_a_running_container() {
    in_vm();
    let c = ContainerBuilder::new(Process::new("/bin/sleep").arg("30").stdin(Stdio::Null))
        .cgroup(CgroupConfig::new().pids_max(16).memory_max(Bytes::mib(64)))
        .spawn()
        .expect("spawn");
    let dir = std::path::Path::new("/sys/fs/cgroup").join(c.cgroup_path().expect("a cgroup"));
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}")).trim().to_string();
    c.update_cgroup(
        &CgroupConfig::new()
            .pids_max(5)
            .memory_high(Bytes::mib(40))
            .cpu_quota(std::time::Duration::from_millis(25), std::time::Duration::from_millis(100)),
    )
    .expect("update");
    assert_eq!(read("pids.max"), "5");
    assert_eq!(read("memory.high"), (40u64 << 20).to_string());
    assert_eq!(read("memory.max"), (64u64 << 20).to_string(), "not in the update: unchanged");
    assert_eq!(read("cpu.max"), "25000 100000");
    c.delete().expect("delete");
}
