//! A caller killed with SIGKILL never runs its teardown. Its (non-detached) containers
//! must die with it — their monitors watch the caller's thread group — and what it left on
//! the host (cgroups named after its pid) is swept by the next cocoon that starts, and by
//! `cgroup::sweep_stale`. Detached containers survive their caller.
//!
//! The hosts are this test executable, re-run as `host_entry`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio as PStdio};
use std::time::Duration;

use cocoon::{CgroupConfig, ContainerBuilder, Process, Stdio};
use common::*;

/// The container program: `sleep` with an argument no other process has.
const MARK: &str = "977.31415";
const PARENT: &str = "cocoon-test-host-death";

/// Not a test: a host process. Does nothing unless COCOON_HOST is set.
#[test]
#[ignore = "entry point of the host processes, started by the tests below"]
fn host_entry() {
    let mode = std::env::var("COCOON_HOST").unwrap_or_default();
    let n: usize = std::env::var("COCOON_N").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    fn b(p: Process) -> ContainerBuilder {
        ContainerBuilder::new(p).cgroup(CgroupConfig::new().pids_max(8).parent(PARENT))
    }
    fn sleeper() -> ContainerBuilder {
        b(Process::new("/bin/sleep").args([MARK]).stdout(Stdio::Null))
    }
    match mode.as_str() {
        // Holds n containers (and one detached), prints their pids, waits to be killed.
        "hold" => {
            let mut held = Vec::new();
            for _ in 0..n {
                let c = sleeper().spawn().expect("spawn");
                println!("PID {}", c.pid());
                held.push(c);
            }
            let d = sleeper().spawn().expect("spawn");
            println!("DETACHED {} {}", d.pid(), d.cgroup_path().unwrap().display());
            d.detach();
            println!("READY");
            std::thread::sleep(Duration::from_secs(120));
        }
        // Spawns and drops containers in a loop, from two threads, until killed.
        "churn" => {
            let _t = std::thread::spawn(|| loop {
                let _c = sleeper().spawn();
            });
            println!("READY");
            loop {
                let _c = sleeper().spawn();
            }
        }
        // A fresh start: one container, then exit normally.
        "one" => {
            let mut c = b(Process::new("/bin/true")).spawn().expect("spawn");
            c.wait().expect("wait");
        }
        _ => {}
    }
}

fn host(mode: &str, n: usize) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "host_entry", "--nocapture", "--test-threads=1"])
        .env("COCOON_HOST", mode)
        .env("COCOON_N", n.to_string())
        .stdout(PStdio::piped())
        .spawn()
        .unwrap()
}

/// Pids of live processes whose command line holds `needle`.
fn procs_with(needle: &str) -> Vec<i32> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else { continue };
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let zombie = stat.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('Z'));
        if !zombie && String::from_utf8_lossy(&cmd).replace('\0', " ").contains(needle) {
            v.push(pid);
        }
    }
    v
}

/// Our test parent's cgroup directories named after `pid`, on every hierarchy.
fn cgroups_of(pid: u32) -> Vec<PathBuf> {
    let prefix = format!("cocoon-{pid}-");
    let mut v = Vec::new();
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        for base in [h.path().join(PARENT), PathBuf::from("/sys/fs/cgroup").join(PARENT)] {
            for e in std::fs::read_dir(&base).into_iter().flatten().flatten() {
                if e.file_name().to_string_lossy().starts_with(&prefix) {
                    v.push(e.path());
                }
            }
        }
    }
    v.sort();
    v.dedup();
    v
}

/// Removes our test parent from every hierarchy (the hosts that made it are dead).
fn remove_parent() {
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let _ = std::fs::remove_dir(h.path().join(PARENT));
    }
    let _ = std::fs::remove_dir(PathBuf::from("/sys/fs/cgroup").join(PARENT));
}

fn kill9(child: &mut Child) {
    // SAFETY: SIGKILL to a child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
}

#[test]
fn containers_die_with_their_killed_host_and_the_next_start_sweeps_its_cgroups() {
    let _l = lock();
    let mut h = host("hold", 20);
    let mut lines = BufReader::new(h.stdout.take().unwrap()).lines();
    let (mut pids, mut detached) = (Vec::new(), None);
    for l in lines.by_ref() {
        let l = l.unwrap();
        // libtest may have printed "test host_entry ... " on the same line.
        let l = ["PID ", "DETACHED ", "READY"].iter().find_map(|k| l.find(k).map(|i| l[i..].to_string())).unwrap_or(l);
        if let Some(p) = l.strip_prefix("PID ") {
            pids.push(p.parse::<i32>().unwrap());
        } else if let Some(rest) = l.strip_prefix("DETACHED ") {
            let (pid, cg) = rest.split_once(' ').unwrap();
            detached = Some((pid.parse::<i32>().unwrap(), cg.to_string()));
        } else if l == "READY" {
            break;
        }
    }
    assert_eq!(pids.len(), 20);
    let (dpid, dcg) = detached.unwrap();
    let hpid = h.id();
    kill9(&mut h);
    wait_until(Duration::from_secs(10), "the killed host's containers to die", || pids.iter().all(|p| !pid_exists(*p)));
    assert!(pid_exists(dpid), "the detached container died with its host");
    // Only the detached container's cgroup may still hold a process; the 20 others are
    // empty leftovers until the next start.
    assert!(cgroups_of(hpid).len() >= 20, "expected the dead host's cgroups to be there: {:?}", cgroups_of(hpid));
    let mut next = host("one", 1);
    assert!(next.wait().unwrap().success());
    let left: Vec<PathBuf> = cgroups_of(hpid).into_iter().filter(|p| !p.ends_with(std::path::Path::new(&dcg).file_name().unwrap())).collect();
    assert!(left.is_empty(), "the next start did not sweep the dead host's cgroups: {left:?}");
    // Kill the detached one (it is not ours to reap: its monitor was the dead host's
    // child); once it is gone, the explicit sweep takes its cgroup too.
    // SAFETY: SIGKILL to the detached container's process, which this test made.
    unsafe { libc::kill(dpid, libc::SIGKILL) };
    wait_until(Duration::from_secs(5), "the detached container to die", || !pid_exists(dpid));
    wait_until(Duration::from_secs(5), "the explicit sweep", || {
        let _ = cocoon::cgroup::sweep_stale(Some(std::path::Path::new(PARENT)));
        cgroups_of(hpid).is_empty()
    });
    assert!(procs_with(MARK).is_empty(), "container processes left: {:?}", procs_with(MARK));
    remove_parent();
}

#[test]
fn hosts_killed_mid_spawn_leave_nothing_after_the_next_start() {
    let _l = lock();
    let mut dead = Vec::new();
    for i in 0..40u64 {
        let mut h = host("churn", 1);
        let mut out = BufReader::new(h.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        // Somewhere inside a spawn: 0 to ~20 ms after the loops started.
        std::thread::sleep(Duration::from_micros((i * 7919) % 20_000));
        dead.push(h.id());
        kill9(&mut h);
    }
    wait_until(Duration::from_secs(10), "every container of the killed hosts to die", || procs_with(MARK).is_empty());
    // No monitor (a copy of a host: its command line names host_entry) outlived its host.
    // (They may take a moment to notice and exit after their program died.)
    let me = std::process::id() as i32;
    let others = || procs_with("host_entry").into_iter().filter(|p| *p != me).collect::<Vec<i32>>();
    let t = std::time::Instant::now();
    while !others().is_empty() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let left: Vec<String> = others()
        .iter()
        .map(|p| format!("{p}: {}", std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default()))
        .collect();
    assert!(left.is_empty(), "monitor processes left: {left:?}");
    let mut next = host("one", 1);
    assert!(next.wait().unwrap().success());
    let left: Vec<PathBuf> = dead.iter().flat_map(|p| cgroups_of(*p)).collect();
    assert!(left.is_empty(), "cgroups of dead hosts left after the next start: {left:?}");
    remove_parent();
}

#[test]
fn a_cpuset_parent_a_killed_host_left_uninitialised_is_repaired() {
    let _l = lock();
    // A host killed between mkdir and writing cpuset.cpus/mems of a parent leaves a v1
    // cpuset that takes no process (ENOSPC on cgroup.procs).
    let cpuset = PathBuf::from("/sys/fs/cgroup/cpuset");
    if !cpuset.join("cpuset.cpus").exists() {
        return; // no v1 cpuset hierarchy on this host: nothing to leave half-made
    }
    let parent = "cocoon-test-half-made";
    std::fs::create_dir(cpuset.join(parent)).unwrap();
    assert_eq!(std::fs::read_to_string(cpuset.join(parent).join("cpuset.cpus")).unwrap().trim(), "");
    let r = ContainerBuilder::new(Process::new("/bin/true"))
        .cgroup(CgroupConfig::new().pids_max(8).parent(parent))
        .spawn()
        .and_then(|mut c| c.wait());
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let _ = std::fs::remove_dir(h.path().join(parent));
    }
    assert!(matches!(r, Ok(s) if s.success()), "spawn under a half-made parent: {r:?}");
}
