//! Scale benchmark: start N = 1, 10, 100, 1000 concurrently live containers (each running
//! `sleep`), and report the total start time, the start latency of the first and of the
//! N-th container, the parent's memory per live container (RSS delta), and the time to
//! tear all of them down, and the memory of each container's monitor process (PSS). Run with `cargo bench --bench scale` (as root).
//!
//! Configuration (b) of the spawn benchmark: mount+pid+uts+ipc+net namespaces, pivoted
//! host-sandbox root, read-only, /proc, /dev, /sys.

use std::time::{Duration, Instant};

use cocoon::{ContainerBuilder, Namespaces, Process, Stdio};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// Memory a container's monitor (the parent of its first process, cocoon's direct
/// child, which never execs) costs the machine: its proportional set size, KiB.
fn monitor_pss_kib(container_pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{container_pid}/stat")).unwrap_or_default();
    let ppid: i32 = stat.rsplit(')').next().and_then(|r| r.split_whitespace().nth(1)?.parse().ok()).unwrap_or(0);
    std::fs::read_to_string(format!("/proc/{ppid}/smaps_rollup"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Pss:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing: do one small round.
    let quick = !std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if quick { &[1, 10] } else { &[1, 10, 100, 1000] };
    // COCOON_SCALE_NO_NET=1 drops the network namespace, to see what it costs at scale.
    let mut ns = Namespaces::MOUNT | Namespaces::PID | Namespaces::UTS | Namespaces::IPC | Namespaces::NET;
    if std::env::var_os("COCOON_SCALE_NO_NET").is_some() {
        ns.remove(Namespaces::NET);
    }
    let plan = ContainerBuilder::new(Process::new("/bin/sleep").arg("3600").stdin(Stdio::Null))
        .namespaces(ns)
        .read_only_root(true)
        .prepare()
        .expect("plan");
    println!("| N | start all | first start | N-th start | N-th / first (median of last 10 / first 10) | parent RSS per container | monitor PSS per container | teardown all |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in sizes {
        let rss0 = rss_kib();
        let mut live = Vec::with_capacity(n);
        let mut lat = Vec::with_capacity(n);
        let t0 = Instant::now();
        for _ in 0..n {
            let t = Instant::now();
            live.push(plan.spawn().expect("spawn"));
            lat.push(t.elapsed());
        }
        let start_all = t0.elapsed();
        let rss1 = rss_kib();
        let monitors: u64 = live.iter().map(|c| monitor_pss_kib(c.pid())).sum();
        let k = (n / 10).clamp(1, 10);
        let first = median(&mut lat[..k].to_vec());
        let last = median(&mut lat[n - k..].to_vec());
        let t1 = Instant::now();
        drop(live);
        let teardown = t1.elapsed();
        println!(
            "| {n} | {:.1} ms | {:.2} ms | {:.2} ms | {:.2}x | {:.1} KiB | {:.1} KiB | {:.1} ms |",
            start_all.as_secs_f64() * 1e3,
            lat[0].as_secs_f64() * 1e3,
            lat[n - 1].as_secs_f64() * 1e3,
            last.as_secs_f64() / first.as_secs_f64(),
            rss1.saturating_sub(rss0) as f64 / n as f64,
            monitors as f64 / n as f64,
            teardown.as_secs_f64() * 1e3,
        );
    }
}
