//! What watching idle containers costs: N containers (`sleep`, each in a cgroup with a
//! memory limit, so OOM is watched too) in one `EventSource`, one thread blocked in
//! `wait_timeout` for 10 s; the CPU time used meanwhile by this process (every thread) and
//! by the N monitors, as a share of one CPU. Then every container is killed and each exit
//! event must arrive once. Run as root: `cargo bench --bench watch` (N = 1000;
//! `COCOON_WATCH_BENCH_N` to change it).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use cocoon::events::{EventKind, EventSource};
use cocoon::{Bytes, CgroupConfig, ContainerBuilder, Namespaces, Process, Stdio};

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let f: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    // After the command: state is field 3, utime 14, stime 15 (1-based).
    f.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
}

fn ppid(pid: i32) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit(')').next().and_then(|r| r.split_whitespace().nth(1)?.parse().ok()).unwrap_or(0)
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let n: usize = if quick {
        10
    } else {
        std::env::var("COCOON_WATCH_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(1000)
    };
    let window = if quick { Duration::from_millis(500) } else { Duration::from_secs(10) };
    let plan = ContainerBuilder::new(Process::new("/bin/sleep").arg("3600").stdin(Stdio::Null))
        .namespaces(Namespaces::MOUNT | Namespaces::PID | Namespaces::IPC | Namespaces::UTS)
        .read_only_root(true)
        .cgroup(CgroupConfig::new().memory_max(Bytes::mib(64)))
        .prepare()
        .expect("plan");
    let t0 = Instant::now();
    let mut live = Vec::with_capacity(n);
    let mut events = EventSource::new().expect("event source");
    for i in 0..n {
        let c = plan.spawn().expect("spawn");
        events.add(&c, i as u64).expect("watch");
        live.push(c);
    }
    let started = t0.elapsed();
    // Drain the Started events, then measure an idle stretch.
    while let Some(e) = events.wait_timeout(Duration::from_millis(200)).expect("wait") {
        assert!(matches!(e.kind, EventKind::Started), "{e:?}");
    }
    let monitors: Vec<i32> = live.iter().map(|c| ppid(c.pid())).collect();
    let me = std::process::id() as i32;
    let before: u64 = cpu_ticks(me) + monitors.iter().map(|p| cpu_ticks(*p)).sum::<u64>();
    let t = Instant::now();
    let idle = events.wait_timeout(window).expect("wait");
    let elapsed = t.elapsed();
    let after: u64 = cpu_ticks(me) + monitors.iter().map(|p| cpu_ticks(*p)).sum::<u64>();
    assert!(idle.is_none(), "an idle container made an event: {idle:?}");
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let share = (after - before) as f64 / hz / elapsed.as_secs_f64() * 100.0;
    // Every exit, once.
    for c in &live {
        c.kill(libc::SIGKILL).expect("kill");
    }
    let mut exited = HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while exited.len() < n && Instant::now() < deadline {
        if let Some(e) = events.wait_timeout(Duration::from_secs(1)).expect("wait") {
            if matches!(e.kind, EventKind::Exited(_)) {
                assert!(exited.insert(e.tag), "exit of {} twice", e.tag);
            }
        }
    }
    assert_eq!(exited.len(), n, "every exit event");
    drop(live);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("watching {n} idle containers (started in {:.1} s), load {}", started.as_secs_f64(), load.trim());
    println!(
        "| containers | idle window | CPU used (this process + monitors) | share of one CPU |\n|---:|---:|---:|---:|\n| {n} | {:.1} s | {:.0} ms | {share:.3} % |",
        elapsed.as_secs_f64(),
        (after - before) as f64 / hz * 1e3
    );
}
