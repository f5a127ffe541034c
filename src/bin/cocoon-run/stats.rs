//! `cocoon-run stats`: one sample of the detached containers' resource use from the
//! registry, as `podman stats --no-stream` prints it (CPU % over a short interval, memory
//! used / limit, pids, block I/O), read from their cgroups by another process than the
//! one that created them.

use std::time::{Duration, Instant};

use cocoon::cgroup::CgroupHandle;
use cocoon::stats::cpu_percent;
use cocoon::CgroupStats;

use crate::args::StatsArgs;
use crate::state;
use crate::Failure;

/// The cgroup's stats now, if the container runs and has one.
fn sample(st: &state::State) -> Option<(Instant, CgroupStats)> {
    if !st.keeper_alive() || st.cgroup.is_empty() {
        return None;
    }
    let cg = CgroupHandle::open(&st.cgroup).ok()?;
    let stats = cg.stats();
    cg.release();
    Some((Instant::now(), stats.ok()?))
}

fn mib(n: u64) -> String {
    format!("{:.1}MiB", n as f64 / (1024.0 * 1024.0))
}

pub fn stats(a: &StatsArgs) -> Result<u8, Failure> {
    let ids: Vec<String> =
        if a.ids.is_empty() { state::list().into_iter().map(|(id, _)| id).collect() } else { a.ids.clone() };
    let states: Vec<(String, Option<state::State>)> = ids
        .iter()
        .map(|id| match state::read(id) {
            Ok(s) => Ok((id.clone(), Some(s))),
            // A named container that is not in the registry is an error; a listed one that
            // went away meanwhile is just not running.
            Err(e) if !a.ids.is_empty() => Err(e),
            Err(_) => Ok((id.clone(), None)),
        })
        .collect::<Result<_, _>>()?;
    let first: Vec<_> = states.iter().map(|(_, s)| s.as_ref().and_then(sample)).collect();
    std::thread::sleep(Duration::from_millis(a.interval_ms));
    println!("{:<20} {:>7} {:>24} {:>6} {:>21}", "ID", "CPU %", "MEM USAGE / LIMIT", "PIDS", "BLOCK I/O");
    for ((id, st), before) in states.iter().zip(first) {
        let now = st.as_ref().and_then(sample);
        let Some((t1, s)) = now else {
            println!("{id:<20} {:>7} {:>24} {:>6} {:>21}", "-", "not running", "-", "-");
            continue;
        };
        let cpu = match (before, s.cpu) {
            (Some((t0, b)), Some(c)) => b.cpu.map_or(0.0, |p| cpu_percent(&p, &c, t1.saturating_duration_since(t0))),
            _ => 0.0,
        };
        let mem = s
            .memory
            .map_or("-".into(), |m| format!("{} / {}", mib(m.current), m.limit.map_or("unlimited".into(), mib)));
        let pids = s.pids.map_or("-".into(), |p| p.current.to_string());
        let io = s.io.map_or("-".into(), |io| format!("{} / {}", mib(io.read_bytes), mib(io.write_bytes)));
        println!("{id:<20} {cpu:>6.2}% {mem:>24} {pids:>6} {io:>21}");
    }
    Ok(0)
}
