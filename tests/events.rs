//! `cocoon::events::EventSource` on the real kernel: exits through pidfds, OOM through
//! the cgroup v1 memory notification (this host is hybrid; v2 is the VM's), pause and
//! resume, and the error path of adding a reaped container.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use cocoon::events::{Event, EventKind, EventSource};
use cocoon::{Bytes, CgroupConfig, ContainerBuilder, Error, ExitStatus, Namespaces};
use common::{lock, sh};

/// Reads events until `pred` accepts one or 30 s pass; returns all read.
fn events_until(src: &mut EventSource, mut pred: impl FnMut(&Event) -> bool) -> Vec<Event> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    while Instant::now() < deadline {
        if let Some(e) = src.wait_timeout(Duration::from_millis(500)).expect("wait_timeout") {
            let done = pred(&e);
            got.push(e);
            if done {
                return got;
            }
        }
    }
    panic!("event not seen in 30 s; got {got:?}");
}

#[test]
fn exits_of_200_containers_each_once_with_their_code() {
    let _g = lock();
    let mut src = EventSource::new().expect("source");
    let mut handles = HashMap::new();
    for i in 0..200u64 {
        let c = ContainerBuilder::new(
            sh(&format!("exit {}", i % 100)).stdout(cocoon::Stdio::Null).stderr(cocoon::Stdio::Null),
        )
        .namespaces(Namespaces::MOUNT | Namespaces::PID)
        .spawn()
        .expect("spawn");
        src.add(&c, i).expect("add");
        handles.insert(i, c);
    }
    let mut started = HashMap::new();
    let mut exited = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while exited.len() < 200 && Instant::now() < deadline {
        let Some(e) = src.wait_timeout(Duration::from_secs(1)).expect("wait") else {
            continue;
        };
        assert_eq!(handles[&e.tag].id(), e.id, "the tag and id belong together");
        match e.kind {
            EventKind::Started => *started.entry(e.tag).or_insert(0) += 1,
            EventKind::Exited(s) => {
                assert!(exited.insert(e.tag, s).is_none(), "exit of {} doubled", e.tag);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(exited.len(), 200, "every exit seen");
    assert!(started.values().all(|&n| n == 1) && started.len() == 200, "one Started each");
    for (tag, s) in &exited {
        assert_eq!(*s, Some(ExitStatus::Exited((tag % 100) as i32)), "code of {tag}");
    }
    assert!(src.is_empty(), "exited containers leave the source");
    assert_eq!(src.next_event().expect("next"), None, "nothing more pending");
    for (tag, mut c) in handles {
        assert_eq!(c.wait().expect("wait"), ExitStatus::Exited((tag % 100) as i32), "the handle still reaps");
    }
}

#[test]
fn oom_and_oom_kill_from_a_container_over_its_memory_limit() {
    let _g = lock();
    let mut src = EventSource::new().expect("source");
    // `tail` buffers /dev/zero looking for a newline: it grows until the limit.
    let c = ContainerBuilder::new(sh("tail /dev/zero").stdout(cocoon::Stdio::Null).stderr(cocoon::Stdio::Null))
        .namespaces(Namespaces::MOUNT | Namespaces::PID)
        .cgroup(CgroupConfig::new().memory_max(Bytes::mib(32)))
        .spawn()
        .expect("spawn");
    src.add(&c, 42).expect("add");
    let got = events_until(&mut src, |e| matches!(e.kind, EventKind::Exited(_)));
    let kinds: Vec<EventKind> = got.iter().map(|e| e.kind).collect();
    assert!(got.iter().all(|e| e.tag == 42 && e.id == c.id()), "{got:?}");
    let oom = kinds.iter().position(|k| *k == EventKind::Oom).unwrap_or_else(|| panic!("an Oom event: {kinds:?}"));
    let kill = kinds
        .iter()
        .position(|k| matches!(k, EventKind::OomKill { count } if *count >= 1))
        .unwrap_or_else(|| panic!("an OomKill event: {kinds:?}"));
    assert!(oom <= kill && kill < kinds.len() - 1, "Oom, OomKill, then Exited: {kinds:?}");
    drop(c); // kills and removes the cgroup
}

#[test]
fn pause_and_resume_are_events() {
    let _g = lock();
    let mut src = EventSource::new().expect("source");
    let c = ContainerBuilder::new(sh("sleep 30").stdout(cocoon::Stdio::Null).stderr(cocoon::Stdio::Null))
        .namespaces(Namespaces::MOUNT | Namespaces::PID)
        .cgroup(CgroupConfig::new().pids_max(8))
        .spawn()
        .expect("spawn");
    src.add(&c, 1).expect("add");
    assert_eq!(src.next_event().expect("next").map(|e| e.kind), Some(EventKind::Started));
    c.pause().expect("pause");
    let got = events_until(&mut src, |e| e.kind == EventKind::Paused);
    assert_eq!(got.len(), 1, "only Paused: {got:?}");
    c.resume().expect("resume");
    let got = events_until(&mut src, |e| e.kind == EventKind::Resumed);
    assert_eq!(got.len(), 1, "only Resumed: {got:?}");
    c.kill(libc::SIGKILL).expect("kill");
    let got = events_until(&mut src, |e| matches!(e.kind, EventKind::Exited(_)));
    assert_eq!(got.last().map(|e| e.kind), Some(EventKind::Exited(Some(ExitStatus::Signaled(libc::SIGKILL)))));
    drop(c);
}

#[test]
fn pauses_are_seen_past_the_per_tick_freezer_budget() {
    let _g = lock();
    // More v1-freezer containers than one tick re-reads (50): each is still read, round robin.
    let mut src = EventSource::new().expect("source");
    let cs: Vec<_> = (0..120u64)
        .map(|i| {
            let c = ContainerBuilder::new(sh("sleep 60").stdout(cocoon::Stdio::Null).stderr(cocoon::Stdio::Null))
                .namespaces(Namespaces::MOUNT | Namespaces::PID)
                .cgroup(CgroupConfig::new().pids_max(8))
                .spawn()
                .expect("spawn");
            src.add(&c, i).expect("add");
            c
        })
        .collect();
    while src.next_event().expect("next").is_some() {}
    for i in [0usize, 77, 119] {
        cs[i].pause().expect("pause");
        let t = Instant::now();
        let got = events_until(&mut src, |e| e.kind == EventKind::Paused);
        assert_eq!(got.iter().map(|e| (e.tag, e.kind)).collect::<Vec<_>>(), [(i as u64, EventKind::Paused)]);
        // Three ticks cover 120 containers; allow for a slow machine.
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        cs[i].resume().expect("resume");
        let got = events_until(&mut src, |e| e.kind == EventKind::Resumed);
        assert_eq!(got.iter().map(|e| e.tag).collect::<Vec<_>>(), [i as u64]);
    }
    for c in &cs {
        c.kill(libc::SIGKILL).expect("kill");
    }
    let mut exits = std::collections::HashSet::new();
    while exits.len() < cs.len() {
        let got = events_until(&mut src, |e| matches!(e.kind, EventKind::Exited(_)));
        for e in got {
            assert!(matches!(e.kind, EventKind::Exited(_)), "{e:?}");
            assert!(exits.insert(e.tag), "exit of {} twice", e.tag);
        }
    }
}

#[test]
fn adding_a_reaped_container_is_a_typed_error_and_keeps_no_fd() {
    let _g = lock();
    let mut src = EventSource::new().expect("source");
    let mut c = ContainerBuilder::new(sh("true").stdout(cocoon::Stdio::Null).stderr(cocoon::Stdio::Null))
        .namespaces(Namespaces::MOUNT | Namespaces::PID)
        .cgroup(CgroupConfig::new().pids_max(8))
        .spawn()
        .expect("spawn");
    c.wait().expect("wait");
    let before = common::fds();
    let err = src.add(&c, 3).expect_err("a reaped container cannot be watched");
    assert!(matches!(err, Error::AlreadyExited), "{err:?}");
    assert_eq!(common::fds(), before, "no fd left behind");
    assert!(src.is_empty());
    assert_eq!(src.next_event().expect("next"), None);
    c.delete().expect("delete");
}

/// Deleting a container removes its cgroup, which signals the v1 OOM eventfd too: that is
/// not an OOM. Only Started and Exited come.
#[test]
fn deleting_a_container_is_not_an_oom() {
    let _g = lock();
    let mut src = EventSource::new().expect("source");
    let mut c = ContainerBuilder::new(sh("exit 0"))
        .namespaces(Namespaces::MOUNT | Namespaces::PID)
        .cgroup(CgroupConfig::new().memory_max(Bytes::mib(64)))
        .spawn()
        .expect("spawn");
    src.add(&c, 7).expect("add");
    assert_eq!(c.wait().expect("wait"), ExitStatus::Exited(0));
    c.delete().expect("delete");
    let mut kinds = Vec::new();
    while let Some(e) = src.wait_timeout(Duration::from_millis(300)).expect("wait") {
        kinds.push(e.kind);
    }
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert!(matches!(kinds[0], EventKind::Started) && matches!(kinds[1], EventKind::Exited(None)), "{kinds:?}");
}
