//! Parallel spawn scaling (issue 21): T = 1, 2 and 4 threads, each spawning a container
//! running `/bin/true` from one shared `Plan` and waiting for it, N times in a loop
//! (`COCOON_PAR_N`, default 200 per thread). Reports the total throughput (containers/s),
//! each spawn's latency (spawn + wait + drop; p50 and p99 over all threads) and the
//! throughput at T over the throughput at 1. Once without a network namespace
//! (mount+pid+uts+ipc) and once with a plain new one (`Namespaces::NET`, loopback only,
//! no bridge: the host's interfaces are never touched). Pivoted host-sandbox root,
//! read-only, /proc, /dev, /sys, as configuration (a)/(b) of `benches/spawn.rs`.
//!
//! Run with `cargo bench --bench parallel` (as root). `COCOON_PAR_THREADS=2,4` picks the
//! thread counts, `COCOON_PAR_ONLY=net` or `=nonet` one configuration (for `perf`), and
//! `COCOON_PAR_NO_SECCOMP=1` drops the default seccomp policy (to see its share).

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use cocoon::{ContainerBuilder, Namespaces, Plan, Process, Stdio};

fn plan(net: bool) -> Plan {
    let mut ns = Namespaces::MOUNT | Namespaces::PID | Namespaces::UTS | Namespaces::IPC;
    if net {
        ns |= Namespaces::NET;
    }
    let seccomp = std::env::var_os("COCOON_PAR_NO_SECCOMP").is_none();
    ContainerBuilder::new(Process::new("/bin/true").stdin(Stdio::Null).default_seccomp(seccomp))
        .namespaces(ns)
        .read_only_root(true)
        .prepare()
        .expect("plan")
}

fn run_once(plan: &Plan) -> Duration {
    let t = Instant::now();
    let mut c = plan.spawn().expect("spawn");
    assert!(c.wait().expect("wait").success());
    drop(c);
    t.elapsed()
}

struct Round {
    per_s: f64,
    p50: Duration,
    p99: Duration,
}

/// `threads` threads, `n` spawns each, all released together; the wall time runs from the
/// release to the last thread's end.
fn round(plan: &Arc<Plan>, threads: usize, n: usize) -> Round {
    let go = Arc::new(Barrier::new(threads + 1));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (plan, go) = (Arc::clone(plan), Arc::clone(&go));
            std::thread::spawn(move || {
                go.wait();
                (0..n).map(|_| run_once(&plan)).collect::<Vec<_>>()
            })
        })
        .collect();
    go.wait();
    let t0 = Instant::now();
    let mut lat: Vec<Duration> = workers.into_iter().flat_map(|w| w.join().expect("worker")).collect();
    let wall = t0.elapsed();
    lat.sort();
    let pick = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    Round { per_s: lat.len() as f64 / wall.as_secs_f64(), p50: pick(0.50), p99: pick(0.99) }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing: one small round.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n: usize =
        std::env::var("COCOON_PAR_N").ok().and_then(|v| v.parse().ok()).unwrap_or(if quick { 5 } else { 200 });
    let threads: Vec<usize> = std::env::var("COCOON_PAR_THREADS")
        .ok()
        .map(|v| v.split(',').filter_map(|t| t.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 2, 4]);
    let only = std::env::var("COCOON_PAR_ONLY").unwrap_or_default();
    let configs: Vec<(&str, bool)> = [("mnt+pid+uts+ipc", false), ("+ net", true)]
        .into_iter()
        .filter(|(_, net)| match only.as_str() {
            "net" => *net,
            "nonet" => !*net,
            _ => true,
        })
        .collect();
    println!("{n} spawns per thread; {} CPUs", std::thread::available_parallelism().map_or(0, |p| p.get()));
    println!();
    println!("| namespaces | threads | containers/s | p50 latency | p99 latency | throughput / 1 thread |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, net) in configs {
        let plan = Arc::new(plan(net));
        // Warm-up: the first spawns load the seccomp program, the helper, the cgroup layout.
        round(&plan, 1, 10.min(n));
        let mut base = None;
        for &t in &threads {
            let r = round(&plan, t, n);
            let b = *base.get_or_insert(if t == 1 { r.per_s } else { f64::NAN });
            println!(
                "| {name} | {t} | {:.0} | {:.2} ms | {:.2} ms | {:.2}x |",
                r.per_s,
                r.p50.as_secs_f64() * 1e3,
                r.p99.as_secs_f64() * 1e3,
                r.per_s / b,
            );
        }
    }
}
