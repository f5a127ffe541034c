//! Health checks run by `cocoon::events::EventSource` on real containers: healthy and
//! unhealthy with Docker's semantics (retries, start period), a hung check killed at its
//! timeout without checks piling up, a check in flight when the container exits, and
//! refused configurations that keep nothing.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use cocoon::events::{Event, EventKind, EventSource, HealthCheck, HealthStatus};
use cocoon::{CgroupConfig, Container, ContainerBuilder, Error, Namespaces, Process};
use common::{lock, sh, PATH};

fn sleeper() -> Container {
    ContainerBuilder::new(sh("sleep 60").stdout(cocoon::Stdio::Null).stderr(cocoon::Stdio::Null))
        .namespaces(Namespaces::MOUNT | Namespaces::PID | Namespaces::IPC | Namespaces::UTS)
        .cgroup(CgroupConfig::new().pids_max(64))
        .spawn()
        .expect("spawn")
}

fn check(script: &str) -> HealthCheck {
    HealthCheck::new(Process::new("/bin/sh").args(["-c", script]).env("PATH", PATH))
}

/// Reads events until one of kind `want` comes (or `limit` passes); returns it with the
/// time it came and every event before it.
fn until(src: &mut EventSource, want: EventKind, limit: Duration) -> (Instant, Vec<Event>) {
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    while Instant::now() < deadline {
        if let Some(e) = src.wait_timeout(Duration::from_millis(100)).expect("wait_timeout") {
            let done = e.kind == want;
            got.push(e);
            if done {
                return (Instant::now(), got);
            }
        }
    }
    panic!("{want:?} not seen in {limit:?}; got {got:?}");
}

fn lines(p: &Path) -> usize {
    std::fs::read_to_string(p).map(|s| s.lines().count()).unwrap_or(0)
}

#[test]
fn unhealthy_after_retries_failures_healthy_after_a_pass() {
    let _g = lock();
    let c = sleeper();
    // The container's own /tmp, seen from the host through its root.
    let root = Path::new("/proc").join(c.pid().to_string()).join("root/tmp");
    let (runs, ok) = (root.join("runs"), root.join("ok"));
    let mut src = EventSource::new().expect("source");
    let script = "echo run >> /tmp/runs; test -e /tmp/ok";
    let hc = check(script).interval(Duration::from_millis(100)).timeout(Duration::from_secs(5)).retries(3);
    let added = Instant::now();
    src.add_with_health(&c, 1, hc).expect("add");
    let (at, got) = until(&mut src, EventKind::Health(HealthStatus::Unhealthy), Duration::from_secs(20));
    assert_eq!(got[0].kind, EventKind::Started);
    assert_eq!(got.len(), 2, "nothing between Started and Unhealthy: {got:?}");
    assert!(lines(&runs) >= 3, "three checks ran before unhealthy: {}", lines(&runs));
    assert!(at - added >= Duration::from_millis(300), "three intervals passed: {:?}", at - added);
    // One pass makes it healthy at once.
    std::fs::write(&ok, b"").expect("ok");
    let (_, got) = until(&mut src, EventKind::Health(HealthStatus::Healthy), Duration::from_secs(20));
    assert_eq!(got.len(), 1, "{got:?}");
    // Failing again: unhealthy after three more failures, not before.
    std::fs::remove_file(&ok).expect("rm ok");
    let before = lines(&runs);
    let (_, got) = until(&mut src, EventKind::Health(HealthStatus::Unhealthy), Duration::from_secs(20));
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(lines(&runs) >= before + 3, "three more checks: {} then {}", before, lines(&runs));
    c.kill(libc::SIGKILL).expect("kill");
    let (_, got) =
        until(&mut src, EventKind::Exited(Some(cocoon::ExitStatus::Signaled(libc::SIGKILL))), Duration::from_secs(20));
    assert!(got.iter().all(|e| !matches!(e.kind, EventKind::Health(_))), "no status change: {got:?}");
    assert!(src.is_empty());
}

#[test]
fn failures_in_the_start_period_do_not_count() {
    let _g = lock();
    let c = sleeper();
    let mut src = EventSource::new().expect("source");
    let hc = check("exit 1").interval(Duration::from_millis(50)).retries(1).start_period(Duration::from_millis(1500));
    let added = Instant::now();
    src.add_with_health(&c, 2, hc).expect("add");
    let (at, got) = until(&mut src, EventKind::Health(HealthStatus::Unhealthy), Duration::from_secs(20));
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(at - added >= Duration::from_millis(1500), "not unhealthy inside the start period: {:?}", at - added);
    drop(c);
}

#[test]
fn a_pass_in_the_start_period_makes_it_healthy() {
    let _g = lock();
    let c = sleeper();
    let mut src = EventSource::new().expect("source");
    let hc = check("true").interval(Duration::from_millis(50)).start_period(Duration::from_secs(30));
    src.add_with_health(&c, 3, hc).expect("add");
    let (_, got) = until(&mut src, EventKind::Health(HealthStatus::Healthy), Duration::from_secs(20));
    assert_eq!(got.len(), 2, "{got:?}");
    drop(c);
}

#[test]
fn a_hung_check_is_killed_at_its_timeout_and_checks_never_pile_up() {
    let _g = lock();
    let c = sleeper();
    let runs = Path::new("/proc").join(c.pid().to_string()).join("root/tmp/runs");
    let mut src = EventSource::new().expect("source");
    let hc = check("echo run >> /tmp/runs; exec sleep 100")
        .interval(Duration::from_millis(20))
        .timeout(Duration::from_millis(300))
        .retries(2);
    let added = Instant::now();
    src.add_with_health(&c, 4, hc).expect("add");
    let mut most = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut unhealthy_at = None;
    // Keep reading for a while past unhealthy: checks keep running, one at a time.
    while Instant::now() < deadline && unhealthy_at.is_none_or(|t: Instant| t.elapsed() < Duration::from_millis(1200)) {
        if let Some(e) = src.wait_timeout(Duration::from_millis(30)).expect("wait") {
            if e.kind == EventKind::Health(HealthStatus::Unhealthy) {
                unhealthy_at = Some(Instant::now());
            }
        }
        let pids = c.stats().expect("stats").pids.map_or(0, |p| p.current);
        most = most.max(pids);
    }
    let at = unhealthy_at.expect("unhealthy within 20 s");
    assert!(at - added >= Duration::from_millis(600), "two timeouts of 300 ms: {:?}", at - added);
    assert!(at - added < Duration::from_secs(10), "the hung checks were killed: {:?}", at - added);
    let n = lines(&runs);
    assert!(n >= 3, "checks went on after each kill: {n}");
    // The container's sleep (and its shell, if it does not exec), plus one check at a time
    // (its shell execs sleep); checks started every 20 ms without waiting would be dozens.
    eprintln!("hung checks: {n} started, unhealthy after {:?}, at most {most} tasks", at - added);
    assert!(most <= 3, "at most one check in flight: {most} tasks seen");
    drop(c);
}

#[test]
fn a_check_in_flight_when_the_container_exits_is_killed_and_reaped() {
    let _g = lock();
    let children_before = common::children();
    let c = sleeper();
    let mut src = EventSource::new().expect("source");
    let hc = check("sleep 100").interval(Duration::from_millis(20)).timeout(Duration::from_secs(60));
    src.add_with_health(&c, 5, hc).expect("add");
    // Let a check start, then end the container.
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.stats().expect("stats").pids.map_or(0, |p| p.current) < 2 && Instant::now() < deadline {
        let _ = src.wait_timeout(Duration::from_millis(20)).expect("wait");
    }
    assert!(c.stats().expect("stats").pids.map_or(0, |p| p.current) >= 2, "a check is running");
    c.kill(libc::SIGKILL).expect("kill");
    let (_, got) =
        until(&mut src, EventKind::Exited(Some(cocoon::ExitStatus::Signaled(libc::SIGKILL))), Duration::from_secs(20));
    assert!(got.iter().all(|e| !matches!(e.kind, EventKind::Health(_))), "{got:?}");
    drop(c);
    assert_eq!(common::children(), children_before, "no check process (or its monitor) left");
}

#[test]
fn refused_health_checks_keep_nothing() {
    let _g = lock();
    let c = sleeper();
    let mut src = EventSource::new().expect("source");
    let before = common::fds();
    for (hc, words) in [
        (check("true").retries(0), "retries"),
        (check("true").interval(Duration::ZERO), "interval"),
        (check("true").timeout(Duration::from_micros(10)), "timeout"),
        (HealthCheck::new(Process::new("")), "program"),
    ] {
        let err = src.add_with_health(&c, 6, hc).expect_err("refused");
        assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");
        assert!(err.to_string().contains(words), "{err} names {words}");
        assert!(src.is_empty());
        assert_eq!(src.next_event().expect("next"), None, "not even Started");
        assert_eq!(common::fds(), before, "no fd left behind");
    }
    // A check whose program does not exist is a failing check, not an error.
    let hc = HealthCheck::new(Process::new("/no/such/check")).interval(Duration::from_millis(50)).retries(2);
    src.add_with_health(&c, 7, hc).expect("add");
    let (_, got) = until(&mut src, EventKind::Health(HealthStatus::Unhealthy), Duration::from_secs(20));
    assert_eq!(got.len(), 2, "{got:?}");
    drop(c);
}
