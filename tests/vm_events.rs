//! `cocoon::events` on a pure cgroup v2 host (the qemu VM, tests/vm/run-tests.sh): OOM and
//! OOM kills through inotify on `memory.events`, pause and resume through `cgroup.events`,
//! a health check, and the memory limit from `memory.max`. Ignored on the hybrid host,
//! where tests/events.rs covers the v1 paths.

use std::time::{Duration, Instant};

use cocoon::cgroup::{host_mode, CgroupMode};
use cocoon::events::{Event, EventKind, EventSource, HealthCheck, HealthStatus};
use cocoon::{Bytes, CgroupConfig, ContainerBuilder, ExitStatus, Namespaces, Process, Stdio};

fn in_vm() {
    assert_eq!(std::env::var("COCOON_VM").as_deref(), Ok("1"), "this test only runs inside the qemu VM");
    assert_eq!(host_mode().ok(), Some(CgroupMode::V2), "the VM mounts a pure cgroup v2 hierarchy");
}

fn sh(script: &str) -> Process {
    Process::new("/bin/sh").args(["-c", script]).stdin(Stdio::Null).stdout(Stdio::Null).stderr(Stdio::Null)
}

fn until(src: &mut EventSource, pred: impl Fn(&Event) -> bool) -> Vec<Event> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    while Instant::now() < deadline {
        if let Some(e) = src.wait_timeout(Duration::from_millis(200)).expect("wait") {
            let done = pred(&e);
            got.push(e);
            if done {
                return got;
            }
        }
    }
    panic!("not seen in 30 s: {got:?}");
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn v2_oom_kill_pause_resume_and_health_are_events() {
    in_vm();
    let mut src = EventSource::new().expect("source");
    // OOM: memory.events oom and oom_kill grow; both come before the exit.
    let hog = ContainerBuilder::new(sh(
        "(echo 1000 >/proc/self/oom_score_adj && head -c 64m /dev/zero | tail >/dev/null); exit 0",
    ))
    .namespaces(Namespaces::MOUNT | Namespaces::PID)
    .cgroup(CgroupConfig::new().memory_max(Bytes::mib(32)))
    .spawn()
    .expect("spawn");
    assert_eq!(hog.stats().expect("stats").memory.expect("memory").limit, Some(32 << 20));
    src.add(&hog, 1).expect("add");
    let got = until(&mut src, |e| matches!(e.kind, EventKind::Exited(_)));
    let kinds: Vec<EventKind> = got.iter().map(|e| e.kind).collect();
    assert_eq!(kinds.first(), Some(&EventKind::Started));
    assert!(kinds.contains(&EventKind::Oom), "{kinds:?}");
    assert!(kinds.iter().any(|k| matches!(k, EventKind::OomKill { count } if *count >= 1)), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&EventKind::Exited(Some(ExitStatus::Exited(0)))));
    drop(hog);

    // Pause and resume: cgroup.events frozen 1 / 0, and a health check that passes.
    let c = ContainerBuilder::new(sh("sleep 60"))
        .namespaces(Namespaces::MOUNT | Namespaces::PID)
        .cgroup(CgroupConfig::new().pids_max(16))
        .spawn()
        .expect("spawn");
    let check = HealthCheck::new(Process::new("/bin/true")).interval(Duration::from_millis(100));
    src.add_with_health(&c, 2, check).expect("add");
    until(&mut src, |e| e.kind == EventKind::Health(HealthStatus::Healthy));
    c.pause().expect("pause");
    until(&mut src, |e| e.kind == EventKind::Paused);
    c.resume().expect("resume");
    until(&mut src, |e| e.kind == EventKind::Resumed);
    c.kill(libc::SIGKILL).expect("kill");
    let got = until(&mut src, |e| matches!(e.kind, EventKind::Exited(_)));
    assert_eq!(got.last().map(|e| e.kind), Some(EventKind::Exited(Some(ExitStatus::Signaled(libc::SIGKILL)))));
    assert!(src.is_empty());
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn v2_logs_of_a_confined_container_under_selinux_enforcing() {
    in_vm();
    let dir = std::env::temp_dir().join(format!("cocoon-vm-logs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let log = dir.join("c.log");
    // A container_t process with its MCS level writes into the monitor's pipes; the
    // monitor (the caller's label) writes the file, rotated at 4 KiB.
    let p = sh("busybox seq 1 500; cat /proc/self/attr/current; echo; echo done >&2")
        .log(cocoon::logs::LogConfig::new(&log).rotate(4096, 3));
    let mut c = ContainerBuilder::new(p)
        .namespaces(Namespaces::MOUNT | Namespaces::PID)
        .cgroup(CgroupConfig::new().memory_max(Bytes::mib(32)))
        .selinux(cocoon::SelinuxConfig::new().state_dir(&dir))
        .spawn()
        .expect("spawn");
    assert!(c.wait().expect("wait").success());
    assert_eq!(c.log_lost_bytes(), 0);
    let lines: Vec<cocoon::logs::LogLine> =
        cocoon::logs::LogReader::open(&log).expect("open").collect::<Result<_, _>>().expect("read");
    let texts: Vec<String> = lines.iter().map(|l| String::from_utf8_lossy(&l.text).into_owned()).collect();
    assert_eq!(texts.last().map(String::as_str), Some("done"), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains(":container_t:s0:c")), "written by a confined process: {texts:?}");
    assert!(texts.iter().any(|t| t == "500"), "{texts:?}");
    assert!(std::fs::metadata(dir.join("c.log.2")).is_ok(), "rotated twice");
    drop(c);
    let _ = std::fs::remove_dir_all(&dir);
}
