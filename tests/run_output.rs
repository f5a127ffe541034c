//! One-shot runs (`ContainerBuilder::run` / `output` / `status`) and waits with a time
//! limit (`wait_timeout`), on the real kernel: time limits kill the whole container and
//! leave nothing, 10 MB each way do not deadlock, and every way a run ends is told apart.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cocoon::{Bytes, CgroupConfig, ContainerBuilder, EndedBy, Error, ExitStatus, Namespaces, Process, RunOptions, Stdio};
use common::{assert_unchanged, lock, snapshot, PATH};

fn sh(script: &str) -> Process {
    Process::new("/bin/sh").args(["-c", script]).env("PATH", PATH)
}

fn unique(tag: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    format!("cocoon-run-{tag}-{}-{}", std::process::id(), N.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// Every directory named `id` under any cgroup hierarchy.
fn cgroup_dirs(id: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![PathBuf::from("/sys/fs/cgroup")];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) && !p.ends_with("process_api") {
                if p.file_name().is_some_and(|n| n == id) {
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

/// Pids of every process whose cmdline holds `marker` (a container's leftovers).
fn processes_with(marker: &str) -> Vec<i32> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        if let Ok(c) = std::fs::read(e.path().join("cmdline")) {
            if String::from_utf8_lossy(&c).contains(marker) && pid != std::process::id() as i32 {
                v.push(pid);
            }
        }
    }
    v
}

#[test]
fn a_program_that_loops_forever_is_killed_at_the_time_limit_and_leaves_nothing() {
    let _l = lock();
    let before = snapshot();
    // With a PID namespace (pid 1's death kills the rest) and without one (the cgroup is
    // killed): a background loop must die too.
    for ns in [Namespaces::DEFAULT, Namespaces::DEFAULT - Namespaces::PID] {
        let id = unique("loop");
        let marker = format!("loop-marker-{id}");
        let script = format!("sh -c 'while :; do :; done # {marker}' & while :; do :; done");
        let b = ContainerBuilder::new(sh(&script)).id(&id).namespaces(ns).cgroup(CgroupConfig::new().pids_max(16));
        let t0 = Instant::now();
        let out = b.run(&RunOptions::new().capture_output().timeout(Duration::from_millis(500))).expect("run");
        let took = t0.elapsed();
        assert_eq!(out.ended_by, EndedBy::Timeout, "{ns:?}: {out:?}");
        assert_eq!(out.status, ExitStatus::Signaled(libc::SIGKILL), "{ns:?}");
        assert!(!out.success());
        assert!(took >= Duration::from_millis(500), "{ns:?}: killed before the limit, after {took:?}");
        assert!(took < Duration::from_millis(3000), "{ns:?}: killed {took:?} after the start (limit 0.5 s)");
        assert_eq!(cgroup_dirs(&id), Vec::<PathBuf>::new(), "{ns:?}: the cgroup is removed");
        assert_eq!(processes_with(&marker), Vec::<i32>::new(), "{ns:?}: the background loop is dead");
    }
    assert_unchanged(&before, &snapshot(), "timed-out runs");
}

/// 10 MiB of bytes no two runs share the layout of (xorshift).
fn pattern(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn ten_megabytes_each_way_arrive_intact_without_deadlock() {
    let _l = lock();
    let before = snapshot();
    let input = pattern(10 << 20);
    // tee copies stdin to stdout and stderr as it reads: both output pipes fill while
    // the input is still being fed.
    let out = ContainerBuilder::new(sh("tee /proc/self/fd/2"))
        .run(&RunOptions::new().input(input.clone()).capture_output().timeout(Duration::from_secs(60)))
        .expect("run");
    assert_eq!(out.ended_by, EndedBy::Exited, "{:?}", out.status);
    assert!(out.success());
    assert_eq!(out.stdout.len(), input.len());
    assert!(out.stdout == input, "stdout differs from the input");
    assert_eq!(out.stderr.len(), input.len());
    assert!(out.stderr == input, "stderr differs from the input");
    assert_unchanged(&before, &snapshot(), "a 10 MB run");
}

#[test]
fn a_program_that_does_not_read_its_input_is_no_error() {
    let _l = lock();
    let out = ContainerBuilder::new(sh("echo done"))
        .run(&RunOptions::new().input(pattern(1 << 20)).capture_stdout(true))
        .expect("run");
    assert_eq!(out.stdout, b"done\n");
    assert_eq!(out.stderr, b"", "stderr was not captured");
    assert_eq!(out.ended_by, EndedBy::Exited);
}

#[test]
fn output_and_status_as_std_process() {
    let _l = lock();
    let out = ContainerBuilder::new(sh("echo out; echo err >&2; exit 3")).output().expect("output");
    assert_eq!((out.stdout.as_slice(), out.stderr.as_slice()), (&b"out\n"[..], &b"err\n"[..]));
    assert_eq!(out.status, ExitStatus::Exited(3));
    assert_eq!(out.ended_by, EndedBy::Exited);
    let st = ContainerBuilder::new(sh("exit 5").stdout(Stdio::Null)).status().expect("status");
    assert_eq!(st, ExitStatus::Exited(5));
}

#[test]
fn every_way_a_run_ends_is_told_apart() {
    let _l = lock();
    let before = snapshot();
    // A normal exit.
    let out = ContainerBuilder::new(sh("exit 0")).cgroup(CgroupConfig::new().pids_max(8)).output().unwrap();
    assert_eq!((out.ended_by, out.status), (EndedBy::Exited, ExitStatus::Exited(0)));

    // A signal (no PID namespace: a PID 1 ignores signals it has no handler for).
    let out = ContainerBuilder::new(sh("kill -TERM $$"))
        .namespaces(Namespaces::DEFAULT - Namespaces::PID)
        .output()
        .unwrap();
    assert_eq!((out.ended_by, out.status), (EndedBy::Signaled, ExitStatus::Signaled(libc::SIGTERM)));

    // The time limit.
    let out = ContainerBuilder::new(sh("sleep 30")).run(&RunOptions::new().timeout(Duration::from_millis(300))).unwrap();
    assert_eq!(out.ended_by, EndedBy::Timeout);

    // The memory limit: tail keeps 64 MiB without a newline under a 32 MiB limit. The
    // subshell offers its whole pipeline to the OOM killer first (oom_score_adj 1000): if
    // tail exits slowly the kernel kills again, and must not take the reporting shell.
    let id = unique("oom");
    let out = ContainerBuilder::new(sh("(echo 1000 >/proc/self/oom_score_adj && head -c 64m /dev/zero | tail)"))
        .id(&id)
        .cgroup(CgroupConfig::new().memory_max(Bytes::mib(32)))
        .output()
        .unwrap();
    assert_eq!(out.ended_by, EndedBy::OomKill, "{out:?}");
    assert_eq!(out.status, ExitStatus::Exited(128 + libc::SIGKILL), "the shell reports tail's SIGKILL: {out:?}");
    assert_eq!(cgroup_dirs(&id), Vec::<PathBuf>::new());

    // The pids limit: forks beyond 4 tasks are refused.
    let id = unique("pids");
    let out = ContainerBuilder::new(sh("for i in 1 2 3 4 5 6 7 8; do sleep 1 & done 2>/dev/null; wait"))
        .id(&id)
        .cgroup(CgroupConfig::new().pids_max(4))
        .output()
        .unwrap();
    assert_eq!(out.ended_by, EndedBy::PidsLimit, "{out:?}");
    assert_eq!(cgroup_dirs(&id), Vec::<PathBuf>::new());
    assert_unchanged(&before, &snapshot(), "runs that ended every way");
}

#[test]
fn a_run_that_cannot_start_is_a_typed_error_and_leaves_nothing() {
    let _l = lock();
    let before = snapshot();
    let id = unique("missing");
    let err = ContainerBuilder::new(Process::new("/no/such/program"))
        .id(&id)
        .cgroup(CgroupConfig::new().pids_max(4))
        .run(&RunOptions::new().input(b"x".to_vec()).capture_output().timeout(Duration::from_secs(5)))
        .unwrap_err();
    assert!(matches!(err, Error::Setup { .. }), "{err:?}");
    assert_eq!(cgroup_dirs(&id), Vec::<PathBuf>::new());
    assert_unchanged(&before, &snapshot(), "a failed run");
}

#[test]
fn wait_timeout_returns_none_while_running_and_the_status_once_ended() {
    let _l = lock();
    let before = snapshot();
    let mut c = ContainerBuilder::new(sh("sleep 30")).spawn().unwrap();
    let t0 = Instant::now();
    assert_eq!(c.wait_timeout(Duration::from_millis(300)).unwrap(), None);
    assert!(t0.elapsed() >= Duration::from_millis(300), "returned after {:?}", t0.elapsed());
    assert_eq!(c.wait_timeout(Duration::ZERO).unwrap(), None);

    let mut p = c.exec(&sh("sleep 30")).unwrap();
    assert_eq!(p.wait_timeout(Duration::from_millis(100)).unwrap(), None);
    p.kill(libc::SIGKILL).unwrap();
    assert_eq!(p.wait_timeout(Duration::from_secs(20)).unwrap(), Some(ExitStatus::Signaled(libc::SIGKILL)));
    drop(p);

    c.kill(libc::SIGKILL).unwrap();
    assert_eq!(c.wait_timeout(Duration::from_secs(20)).unwrap(), Some(ExitStatus::Signaled(libc::SIGKILL)));
    // Waiting again returns the same status at once; an unrepresentable limit waits.
    assert_eq!(c.wait_timeout(Duration::ZERO).unwrap(), Some(ExitStatus::Signaled(libc::SIGKILL)));
    assert_eq!(c.wait_timeout(Duration::MAX).unwrap(), Some(ExitStatus::Signaled(libc::SIGKILL)));
    c.delete().unwrap();
    assert_unchanged(&before, &snapshot(), "wait_timeout");
}

#[test]
fn a_spawned_container_tells_what_ended_it() {
    let _l = lock();
    let mut c = ContainerBuilder::new(sh("for i in 1 2 3 4 5 6 7 8; do sleep 1 & done 2>/dev/null; wait"))
        .cgroup(CgroupConfig::new().pids_max(4))
        .spawn()
        .unwrap();
    assert_eq!(c.ended_by().unwrap(), None, "still running");
    c.wait().unwrap();
    assert_eq!(c.ended_by().unwrap(), Some(EndedBy::PidsLimit));
    c.delete().unwrap();
    let mut c = ContainerBuilder::new(sh("exit 4")).spawn().unwrap();
    c.wait().unwrap();
    assert_eq!(c.ended_by().unwrap(), Some(EndedBy::Exited), "no cgroup: the status tells");
}
