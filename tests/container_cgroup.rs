//! Containers with cgroups on this host's layout (v1 or hybrid here; the pure-v2 path is
//! covered in the VM by tests/vm_container.rs), through the public API.

mod cgroup_support;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use cocoon::cgroup::CgroupError;
use cocoon::{Bytes, CgroupConfig, ContainerBuilder, Error, Namespaces, Process, Stdio};

fn sh(script: &str) -> Process {
    Process::new("/bin/sh").args(["-c", script]).stdout(Stdio::Piped).stdin(Stdio::Null)
}

fn output(c: &mut cocoon::Container) -> String {
    let mut s = String::new();
    c.take_stdout().expect("piped").read_to_string(&mut s).expect("read");
    s
}

/// Every directory named `id` under any cgroup hierarchy.
fn cgroup_dirs(id: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![std::path::PathBuf::from("/sys/fs/cgroup")];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) && !p.ends_with("process_api") {
                if p.file_name().map(|n| n == id).unwrap_or(false) {
                    found.push(p.clone());
                }
                if p.components().count() < 8 {
                    stack.push(p);
                }
            }
        }
    }
    found
}

#[test]
fn program_runs_in_its_cgroup_and_pids_limit_holds() {
    let id = format!("cocoon-ct-pids-{}", std::process::id());
    let mut c = ContainerBuilder::new(sh("cat /proc/self/cgroup; for i in 1 2 3 4 5 6 7 8; do sleep 5 & echo forked; done 2>/dev/null"))
        .id(&id)
        .namespaces(Namespaces::DEFAULT - Namespaces::CGROUP)
        .cgroup(CgroupConfig::new().pids_max(4).memory_max(Bytes::mib(64)))
        .spawn()
        .expect("spawn");
    assert!(!cgroup_dirs(&id).is_empty(), "cgroup exists while running");
    let out = output(&mut c);
    assert!(out.lines().any(|l| l.contains(":pids:") && l.ends_with(&format!("/{id}"))), "born in its pids cgroup: {out}");
    assert!(out.lines().any(|l| l.contains(":memory:") && l.ends_with(&format!("/{id}"))), "and its memory cgroup: {out}");
    let forked = out.lines().filter(|l| *l == "forked").count();
    assert!((1..=3).contains(&forked), "pids.max=4 allows sh + 3 children, got {forked}: {out}");
    c.wait().expect("wait");
    c.delete().expect("delete");
    assert_eq!(cgroup_dirs(&id), Vec::<std::path::PathBuf>::new(), "delete removes every cgroup directory");
}

#[test]
fn oom_kill_is_reported_in_stats() {
    // The subshell and its pipeline are the OOM killer's first victims (oom_score_adj 1000):
    // if tail exits slowly the kernel kills again, and must not take the reporting shell.
    let mut c = ContainerBuilder::new(sh("(echo 1000 >/proc/self/oom_score_adj && head -c 200M /dev/zero | tail -c 200M >/dev/null); echo rc=$?"))
        .cgroup(CgroupConfig::new().memory_max(Bytes::mib(32)))
        .spawn()
        .expect("spawn");
    let out = output(&mut c);
    assert!(out.contains("rc=137"), "killed by the OOM killer: {out}");
    let mem = c.stats().expect("stats").memory.expect("memory stats");
    assert!(mem.oom_kills >= 1, "{mem:?}");
    assert!(mem.peak.unwrap_or(0) <= 32 << 20, "{mem:?}");
    c.wait().expect("wait");
}

#[test]
fn pause_freezes_and_resume_thaws() {
    let c = ContainerBuilder::new(Process::new("/bin/sh").args(["-c", "while :; do :; done"]).stdin(Stdio::Null))
        .cgroup(CgroupConfig::new())
        .spawn()
        .expect("spawn");
    cgroup_support::assert_pause_freezes_and_resume_thaws(&c);
    c.delete().expect("delete");
}

#[test]
fn container_without_cgroup_says_so() {
    let c = ContainerBuilder::new(Process::new("/bin/sleep").arg("10")).spawn().expect("spawn");
    assert!(matches!(c.pause(), Err(Error::InvalidConfig { what: "cgroup", .. })));
    assert!(matches!(c.stats(), Err(Error::InvalidConfig { what: "cgroup", .. })));
}

#[test]
fn bad_cgroup_config_fails_before_any_process_and_leaves_nothing() {
    let id = format!("cocoon-ct-bad-{}", std::process::id());
    let cpus = "63".parse().expect("id set");
    let err = ContainerBuilder::new(Process::new("/bin/true"))
        .id(&id)
        .cgroup(CgroupConfig::new().cpus(cpus))
        .spawn()
        .expect_err("cpu 63 does not exist on this 2-core machine");
    assert!(matches!(err, Error::Cgroup(CgroupError::Invalid { .. })), "{err:?}");
    let err = ContainerBuilder::new(Process::new("/bin/true"))
        .id(&id)
        .cgroup(CgroupConfig::new().pids_max(0))
        .spawn()
        .expect_err("pids.max 0");
    assert!(matches!(err, Error::Cgroup(_)), "{err:?}");
    // A setup failure after the cgroup exists (missing program) removes it too.
    let err = ContainerBuilder::new(Process::new("/nonexistent"))
        .id(&id)
        .cgroup(CgroupConfig::new().pids_max(10))
        .spawn()
        .expect_err("missing program");
    assert_eq!(err.stage(), Some(cocoon::Stage::Exec));
    assert_eq!(cgroup_dirs(&id), Vec::<std::path::PathBuf>::new());
    assert!(!Path::new("/sys/fs/cgroup/pids/cocoon").join(&id).exists());
}

#[test]
fn thousand_containers_with_cgroups_leave_no_directories() {
    let plan_for = |i: usize| {
        ContainerBuilder::new(Process::new("/bin/true").stdin(Stdio::Null))
            .id(format!("cocoon-ct-k{}-{i}", std::process::id()))
            .namespaces(Namespaces::MOUNT | Namespaces::PID | Namespaces::IPC | Namespaces::UTS)
            .standard_mounts(false)
            .masked_paths(Vec::<String>::new())
            .readonly_paths(Vec::<String>::new())
            .cgroup(CgroupConfig::new().pids_max(16).memory_max(Bytes::mib(64)))
    };
    for i in 0..1000 {
        let mut c = plan_for(i).spawn().expect("spawn");
        assert!(c.wait().expect("wait").success());
        c.delete().expect("delete");
    }
    let left: Vec<_> = ["pids", "memory", "cpu", "freezer", "unified"]
        .iter()
        .filter_map(|h| std::fs::read_dir(Path::new("/sys/fs/cgroup").join(h).join("cocoon")).ok())
        .flat_map(|rd| rd.flatten().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().contains(&format!("cocoon-ct-k{}-", std::process::id())))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn dropping_a_paused_container_does_not_hang() {
    let c = ContainerBuilder::new(Process::new("/bin/sleep").arg("1000").stdin(Stdio::Null))
        .cgroup(CgroupConfig::new())
        .spawn()
        .expect("spawn");
    c.pause().expect("pause");
    let pid = c.pid();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(c);
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(30)).expect("drop of a paused container returns");
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "process gone");
}
