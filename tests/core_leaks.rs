//! Spawning and tearing down containers many times leaves nothing behind: the parent's
//! fds, its mount table, the host's mount table and its children are unchanged.

mod common;

use std::io::Read;

use cocoon::{ContainerBuilder, Namespaces, Process, Stdio};
use common::*;

fn cycles(b: &ContainerBuilder, n: usize) {
    let plan = b.prepare().unwrap();
    for i in 0..n {
        // Alternate the one-shot builder path and the prepared-plan path.
        let mut c = if i % 2 == 0 { b.spawn() } else { plan.spawn() }.unwrap_or_else(|e| panic!("cycle {i}: {e}"));
        match i % 4 {
            // Read the output, then wait.
            0 | 1 => {
                let mut s = String::new();
                c.take_stdout().unwrap().read_to_string(&mut s).unwrap();
                assert_eq!(s, "x\n", "cycle {i}");
                assert!(c.wait().unwrap().success(), "cycle {i}");
            }
            // Wait without touching the pipe (dropped with the handle).
            2 => assert!(c.wait().unwrap().success(), "cycle {i}"),
            // Drop while it may still run: the handle kills and reaps it.
            _ => drop(c),
        }
    }
}

fn echo() -> Process {
    Process::new("/bin/echo").arg("x").stdout(Stdio::Piped).stderr(Stdio::Null)
}

#[test]
fn a_thousand_spawns_without_net_leak_nothing() {
    let _g = lock();
    let ns = Namespaces::MOUNT | Namespaces::UTS | Namespaces::IPC | Namespaces::PID | Namespaces::CGROUP;
    let b = ContainerBuilder::new(echo()).namespaces(ns).hostname("leak");
    // One warm-up so that once-only lazy state is not counted.
    cycles(&b, 1);
    let before = snapshot();
    cycles(&b, 1000);
    let after = snapshot();
    assert_unchanged(&before, &after, "1000 spawn/wait/drop cycles");
    assert_no_children();
}

#[test]
fn a_hundred_spawns_with_net_and_userns_leak_nothing() {
    let _g = lock();
    let b = ContainerBuilder::new(echo()).namespaces(Namespaces::DEFAULT);
    cycles(&b, 1);
    let before = snapshot();
    cycles(&b, 100);
    let map = [cocoon::IdRange::new(0, 200_000, 65_536)];
    cycles(&ContainerBuilder::new(echo()).uid_map(map).gid_map(map), 20);
    let after = snapshot();
    assert_unchanged(&before, &after, "120 spawn/wait/drop cycles with a network namespace");
    assert_no_children();
}

#[test]
fn failed_spawns_and_execs_leak_nothing() {
    let _g = lock();
    let bad = ContainerBuilder::new(Process::new("/no/such/program").stderr(Stdio::Null));
    let good = ContainerBuilder::new(Process::new("/bin/sleep").arg("1000")).namespaces(Namespaces::DEFAULT - Namespaces::NET);
    let _ = bad.spawn();
    let before = snapshot();
    for _ in 0..50 {
        assert!(bad.spawn().is_err());
    }
    let c = good.spawn().unwrap();
    for _ in 0..50 {
        let e = c.exec(&Process::new("/no/such/program")).unwrap_err();
        assert_eq!(e.stage(), Some(cocoon::Stage::Exec), "{e}");
        let mut p = c.exec(&Process::new("/bin/true")).unwrap();
        assert!(p.wait().unwrap().success());
    }
    c.delete().unwrap();
    let after = snapshot();
    assert_unchanged(&before, &after, "failed spawns and execs");
    assert_no_children();
}
