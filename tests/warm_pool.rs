//! Warm containers and pools (issue 21): a container made up to its process, started
//! later with a process given only then; a pool that keeps some ready. Correctness only:
//! speed is in benches/warm.rs.

mod common;

use std::collections::HashSet;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Duration;

use cocoon::{
    Capabilities, CgroupConfig, ContainerBuilder, Error, ExitStatus, Landlock, Namespaces, Pool, PoolOptions, Process,
    Rlimit, Stage, Stdio, User,
};
use common::*;

fn builder() -> ContainerBuilder {
    ContainerBuilder::new(Process::new("/bin/true")).namespaces(Namespaces::DEFAULT - Namespaces::NET)
}

fn cgroup_dirs(id: &str) -> Vec<String> {
    let mut found = Vec::new();
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let d = h.path().join("cocoon").join(id);
        if d.exists() {
            found.push(d.display().to_string());
        }
    }
    found
}

#[test]
fn a_started_warm_container_runs_exactly_the_process_it_was_given() {
    let _g = lock();
    let before = snapshot();
    let w = builder().prepare().unwrap().warm().unwrap();
    // Set up, not running anything of its own yet.
    std::thread::sleep(Duration::from_millis(100));
    assert!(pid_exists(w.pid()));
    let p = Process::new("/bin/sh")
        .env("PATH", PATH)
        .stdout(Stdio::Piped)
        .stderr(Stdio::Piped)
        .args(["-c", "id -u; id -g; id -G; pwd; echo \"$GREETING\"; ulimit -n; umask; grep -e ^NoNewPrivs -e '^Seccomp:' /proc/self/status; echo \"$0 $1\"", "zero", "one"])
        .env("GREETING", "hello warm")
        .cwd("/tmp")
        .user(User::Id { uid: 1234, gid: 4321, groups: vec![7, 8] })
        .rlimit(Rlimit::Nofile, 77, 77)
        .umask(0o027);
    let mut c = w.start(&p).unwrap();
    let o = collect(&mut c).ok();
    assert_eq!(
        o.stdout, "1234\n4321\n4321 7 8\n/tmp\nhello warm\n77\n0027\nNoNewPrivs:\t1\nSeccomp:\t2\nzero one\n",
        "stderr: {}",
        o.stderr
    );
    drop(c);
    assert_unchanged(&before, &snapshot(), "warm + start + wait");
    assert_no_children();
}

#[test]
fn stdin_and_passed_fds_come_with_the_start() {
    let _g = lock();
    let w = builder().prepare().unwrap().warm().unwrap();
    let (r, mut wr) = std::io::pipe().unwrap();
    writeln!(wr, "through fd 5").unwrap();
    drop(wr);
    let p = sh("read a; echo \"stdin: $a\"; read b <&5; echo \"fd5: $b\"")
        .stdin(Stdio::Piped)
        .pass_fd(Arc::new(OwnedFd::from(r)), 5);
    let mut c = w.start(&p).unwrap();
    let mut i = c.take_stdin().unwrap();
    writeln!(i, "typed").unwrap();
    drop(i);
    let o = collect(&mut c).ok();
    assert_eq!(o.stdout, "stdin: typed\nfd5: through fd 5\n");
    drop(c);
    assert_no_children();
}

#[test]
fn a_warm_container_never_started_leaves_nothing_when_dropped() {
    let _g = lock();
    let before = snapshot();
    let id = format!("warm-drop-{}", std::process::id());
    let plan = builder().id(id.clone()).cgroup(CgroupConfig::new().pids_max(20)).prepare().unwrap();
    let w = plan.warm().unwrap();
    let pid = w.pid();
    assert!(!cgroup_dirs(&id).is_empty(), "a warm container has its cgroup already");
    drop(w);
    assert!(!pid_exists(pid) || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_err());
    assert_eq!(cgroup_dirs(&id), Vec::<String>::new(), "cgroup left behind");
    assert_unchanged(&before, &snapshot(), "warm, dropped");
    assert_no_children();
}

#[test]
fn a_start_with_a_bad_process_is_a_typed_error() {
    let _g = lock();
    let plan = builder().prepare().unwrap();
    // Unknown user name: refused before anything reaches the container.
    let w = plan.warm().unwrap();
    let e = w.start(&Process::new("/bin/true").user(User::Name("no-such-user".into()))).unwrap_err();
    assert!(matches!(e, Error::InvalidConfig { .. }), "{e:?}");
    // A missing program: the container tries it and reports.
    let w = plan.warm().unwrap();
    let e = w.start(&Process::new("/no/such/program")).unwrap_err();
    assert!(matches!(&e, Error::Setup { stage: Stage::Exec, .. }), "{e:?}");
    assert!(e.to_string().contains("/no/such/program"), "{e}");
    // Security settings are the plan's.
    let w = plan.warm().unwrap();
    let e = w.start(&Process::new("/bin/true").capabilities(Capabilities::none())).unwrap_err();
    assert!(matches!(&e, Error::InvalidConfig { what, .. } if what.contains("capabilities")), "{e:?}");
    let w = plan.warm().unwrap();
    let e = w.start(&Process::new("/bin/true").no_new_privs(false)).unwrap_err();
    assert!(matches!(&e, Error::InvalidConfig { what, .. } if what.contains("no_new_privs")), "{e:?}");
    // An fd target above what a warm container places.
    let w = plan.warm().unwrap();
    let (r, _wr) = std::io::pipe().unwrap();
    let e = w.start(&Process::new("/bin/true").pass_fd(Arc::new(OwnedFd::from(r)), 200)).unwrap_err();
    assert!(matches!(&e, Error::InvalidConfig { .. }), "{e:?}");
    assert_no_children();
}

#[test]
fn a_plan_with_landlock_cannot_be_warmed() {
    let _g = lock();
    let plan = builder().landlock(Landlock::new()).prepare().unwrap();
    let e = plan.warm().unwrap_err();
    assert!(matches!(&e, Error::InvalidConfig { what, .. } if what.contains("landlock")), "{e:?}");
    assert_no_children();
}

#[test]
fn a_pool_hands_out_ready_containers_and_refills() {
    let _g = lock();
    let before = snapshot();
    let pool = Pool::new(builder().prepare().unwrap(), 3).unwrap();
    assert_eq!(pool.wait_ready(3, Duration::from_secs(10)), 3);
    let mut pids = HashSet::new();
    for i in 0..8 {
        let mut c = pool.start(&sh(&format!("echo run {i}"))).unwrap();
        assert!(pids.insert(c.pid()), "a container handed out twice");
        assert_eq!(collect(&mut c).ok().stdout, format!("run {i}\n"));
    }
    assert_eq!(pool.wait_ready(3, Duration::from_secs(10)), 3, "the pool refills");
    let s = pool.stats();
    assert_eq!(s.started, 8);
    assert!(s.ready + s.in_flight <= 3, "never more than size ready + in flight: {s:?}");
    // A refused process leaves the container in the pool, and the pool goes on.
    let ready = pool.stats().ready;
    let e = pool.start(&Process::new("/bin/true").user(User::Name("no-such-user".into()))).unwrap_err();
    assert!(matches!(e, Error::InvalidConfig { .. }), "{e:?}");
    assert_eq!(pool.stats().ready, ready, "the container went back");
    // Refused while writing the late process: too large for the block, an fd too high.
    let big = "x".repeat((1 << 20) + 16);
    let e = pool.start(&Process::new("/bin/true").env("BIG", &big)).unwrap_err();
    assert!(matches!(e, Error::InvalidConfig { .. }), "{e:?}");
    let (r, wr) = std::io::pipe().unwrap();
    let e = pool.start(&Process::new("/bin/true").pass_fd(Arc::new(OwnedFd::from(r)), 200)).unwrap_err();
    assert!(matches!(e, Error::InvalidConfig { .. }), "{e:?}");
    drop(wr);
    assert_eq!(pool.stats().ready, ready, "refused before the start message: the containers went back");
    let st = pool.stats();
    assert!(st.ready + st.in_flight <= 3, "a container put back never makes the pool exceed its size: {st:?}");
    let e = pool.start(&Process::new("/no/such/program")).unwrap_err();
    assert!(matches!(&e, Error::Setup { stage: Stage::Exec, .. }), "{e:?}");
    let mut c = pool.start(&sh("echo still fine")).unwrap();
    assert_eq!(collect(&mut c).ok().stdout, "still fine\n");
    drop(c);
    drop(pool);
    assert_unchanged(&before, &snapshot(), "pool dropped");
    assert_no_children();
}

#[test]
fn eight_threads_share_a_pool_without_hangs_or_double_hand_outs() {
    let _g = lock();
    let before = snapshot();
    let opts = PoolOptions { size: 4, refill_threads: 2, max_age: None };
    let pool = Arc::new(Pool::with_options(builder().prepare().unwrap(), opts).unwrap());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Others allocate meanwhile (the child must not depend on the allocator's state).
    let churn: Vec<_> = (0..2)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let v: Vec<String> = (0..64).map(|i| format!("{i}-{n}")).collect();
                    n += v.len() as u64;
                }
                n
            })
        })
        .collect();
    let takers: Vec<_> = (0..8)
        .map(|t| {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                for i in 0..5 {
                    let mut c = pool.start(&sh(&format!("echo {t}.{i}"))).unwrap();
                    seen.push((c.pid(), c.id().to_string()));
                    let o = collect(&mut c).ok();
                    assert_eq!(o.stdout, format!("{t}.{i}\n"));
                }
                seen
            })
        })
        .collect();
    let mut ids = HashSet::new();
    for t in takers {
        for (_, id) in t.join().unwrap() {
            assert!(ids.insert(id.clone()), "container {id} handed out twice");
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for c in churn {
        c.join().unwrap();
    }
    assert_eq!(ids.len(), 40);
    assert_eq!(pool.stats().started, 40);
    drop(pool);
    assert_unchanged(&before, &snapshot(), "shared pool dropped");
    assert_no_children();
}

#[test]
fn a_pool_dropped_under_load_leaves_nothing() {
    let _g = lock();
    let before = snapshot();
    let opts = PoolOptions { size: 6, refill_threads: 2, max_age: None };
    let plan = builder().cgroup(CgroupConfig::new().pids_max(50)).prepare().unwrap();
    let pool = Pool::with_options(plan, opts).unwrap();
    let mut running = Vec::new();
    for _ in 0..3 {
        running.push(pool.start(&Process::new("/bin/sleep").arg("0.2")).unwrap());
    }
    // Drop while the refill threads are busy preparing.
    drop(pool);
    for mut c in running {
        assert_eq!(c.wait().unwrap(), ExitStatus::Exited(0));
    }
    assert_unchanged(&before, &snapshot(), "pool dropped under load");
    assert_no_children();
    // No cgroup of ours is left under cocoon's parent.
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let d = h.path().join("cocoon");
        if let Ok(rd) = std::fs::read_dir(&d) {
            let mine: Vec<_> = rd
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&format!("cocoon-{}-", std::process::id())))
                .map(|e| e.path())
                .collect();
            assert!(mine.is_empty(), "cgroups left: {mine:?}");
        }
    }
}

#[test]
fn ready_containers_that_sit_too_long_are_recycled() {
    let _g = lock();
    let before = snapshot();
    let opts = PoolOptions { size: 2, refill_threads: 1, max_age: Some(Duration::from_millis(150)) };
    let pool = Pool::with_options(builder().prepare().unwrap(), opts).unwrap();
    wait_until(Duration::from_secs(10), "recycling", || pool.stats().recycled >= 2);
    let mut c = pool.start(&sh("echo fresh")).unwrap();
    assert_eq!(collect(&mut c).ok().stdout, "fresh\n");
    drop(c);
    drop(pool);
    assert_unchanged(&before, &snapshot(), "recycling pool dropped");
    assert_no_children();
}

#[test]
fn a_pool_refuses_a_zero_size_and_a_plan_that_cannot_warm() {
    let _g = lock();
    let e = Pool::new(builder().prepare().unwrap(), 0).unwrap_err();
    assert!(matches!(e, Error::InvalidConfig { .. }), "{e:?}");
    let e = Pool::new(builder().landlock(Landlock::new()).prepare().unwrap(), 2).unwrap_err();
    assert!(matches!(e, Error::InvalidConfig { .. }), "{e:?}");
    assert_no_children();
}

#[test]
fn a_held_warm_container_keeps_no_copy_of_the_callers_fds() {
    let _g = lock();
    // A careless host fd (not close-on-exec) and a pipe of another container's kind.
    let leaky = open_leaky(std::path::Path::new("/etc/hostname"), libc::O_RDONLY);
    let (_r, w) = std::io::pipe().unwrap();
    let warm = builder().prepare().unwrap().warm().unwrap();
    let fds: Vec<i32> = std::fs::read_dir(format!("/proc/{}/fd", warm.pid()))
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse().ok())
        .filter(|fd| *fd > 2)
        .collect();
    // The setup socket and the sealed helper, nothing else.
    assert_eq!(fds.len(), 2, "fds held while warm: {fds:?}");
    assert!(!fds.contains(&leaky));
    drop(w);
    close(leaky);
    drop(warm);
    assert_no_children();
}

#[test]
fn a_logged_warm_container_keeps_its_log_and_refuses_piped_output() {
    let _g = lock();
    let before = snapshot();
    let dir = TempDir::new("warm-log");
    let log = dir.join("c.log");
    let plan = ContainerBuilder::new(Process::new("/bin/true").log(cocoon::logs::LogConfig::new(&log)))
        .namespaces(Namespaces::DEFAULT - Namespaces::NET)
        .prepare()
        .unwrap();
    let pool = Pool::new(plan, 1).unwrap();
    assert_eq!(pool.wait_ready(1, Duration::from_secs(10)), 1);
    let e = pool.start(&sh("echo piped")).unwrap_err();
    assert!(matches!(&e, Error::InvalidConfig { what, .. } if what.contains("stdio")), "{e:?}");
    assert_eq!(pool.stats().ready, 1, "the container went back");
    let mut c = pool.start(&Process::new("/bin/sh").args(["-c", "echo logged line"])).unwrap();
    assert!(c.wait().unwrap().success());
    drop(c);
    drop(pool);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("logged line"), "log: {text}");
    assert_unchanged(&before, &snapshot(), "logged pool dropped");
    assert_no_children();
}
