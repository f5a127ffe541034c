//! `cocoon stats`: the resource use of the containers under `--root` as `podman stats`
//! shows it — a table refreshed in place (CPU %, memory used / limit, pids, network and
//! block I/O), or JSON lines, or the Prometheus text format of one sample.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use cocoon::cgroup::CgroupHandle;
use cocoon::stats::{cpu_percent, prometheus, ContainerMetrics, InterfaceStats};
use cocoon::CgroupStats;
use serde_json::json;

use crate::args::{StatsArgs, StatsFormat};
use crate::manage::parse_interval;
use crate::state::{self, Record};
use crate::{Failure, Global};

/// One container's sample.
struct Sample {
    id: String,
    at: Instant,
    stats: CgroupStats,
    net: Vec<InterfaceStats>,
}

/// Whether `pid` has a network namespace other than ours (else its interfaces are the
/// host's, not the container's).
fn own_netns(pid: i32) -> bool {
    let ns = |p: String| std::fs::metadata(p).map(|m| (m.dev(), m.ino()));
    match (ns(format!("/proc/{pid}/ns/net")), ns("/proc/self/ns/net".into())) {
        (Ok(a), Ok(b)) => a != b,
        _ => false,
    }
}

fn sample(rec: &Record) -> Option<Sample> {
    if !rec.alive() {
        return None;
    }
    let cg = CgroupHandle::open(&rec.cgroup).ok()?;
    let stats = cg.stats();
    cg.release();
    let net =
        if own_netns(rec.pid) { cocoon::stats::net_stats_of_pid(rec.pid).unwrap_or_default() } else { Vec::new() };
    Some(Sample { id: rec.id.clone(), at: Instant::now(), stats: stats.ok()?, net })
}

fn records(g: &Global, ids: &[String]) -> Result<Vec<Record>, Failure> {
    if ids.is_empty() {
        return Ok(state::ids(&g.root).iter().filter_map(|id| Record::load(&g.root, id).ok()).collect());
    }
    ids.iter().map(|id| Record::load(&g.root, id)).collect()
}

/// `1.2MB` (SI units, as podman prints them).
fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n}B")
    } else {
        format!("{v:.3}{}", UNITS[u]).replace(".000", "")
    }
}

struct Row {
    id: String,
    cpu: f64,
    mem: u64,
    limit: Option<u64>,
    pids: u64,
    net_rx: u64,
    net_tx: u64,
    blk_r: u64,
    blk_w: u64,
}

fn row(prev: Option<&Sample>, s: &Sample) -> Row {
    let cpu = match (prev.and_then(|p| p.stats.cpu.map(|c| (p.at, c))), s.stats.cpu) {
        (Some((t0, a)), Some(b)) => cpu_percent(&a, &b, s.at.saturating_duration_since(t0)),
        _ => 0.0,
    };
    let m = s.stats.memory;
    let io = s.stats.io;
    // Loopback traffic never left the container: podman counts the other interfaces.
    let ext = || s.net.iter().filter(|i| i.name != "lo");
    Row {
        id: s.id.clone(),
        cpu,
        mem: m.map_or(0, |m| m.current),
        limit: m.and_then(|m| m.limit),
        pids: s.stats.pids.map_or(0, |p| p.current),
        net_rx: ext().map(|i| i.rx_bytes).sum(),
        net_tx: ext().map(|i| i.tx_bytes).sum(),
        blk_r: io.map_or(0, |i| i.read_bytes),
        blk_w: io.map_or(0, |i| i.write_bytes),
    }
}

fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<24} {:>8} {:>22} {:>8} {:>20} {:>20} {:>6}\n",
        "ID", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"
    );
    for r in rows {
        let (limit, pct) = match r.limit {
            Some(l) if l > 0 => (human(l), format!("{:.2}%", r.mem as f64 / l as f64 * 100.0)),
            _ => ("--".to_string(), "--".to_string()),
        };
        out.push_str(&format!(
            "{:<24} {:>7.2}% {:>22} {:>8} {:>20} {:>20} {:>6}\n",
            r.id,
            r.cpu,
            format!("{} / {limit}", human(r.mem)),
            pct,
            format!("{} / {}", human(r.net_rx), human(r.net_tx)),
            format!("{} / {}", human(r.blk_r), human(r.blk_w)),
            r.pids
        ));
    }
    out
}

fn json_line(r: &Row) -> String {
    json!({
        "id": r.id, "cpu_percent": r.cpu, "memory_bytes": r.mem, "memory_limit_bytes": r.limit,
        "pids": r.pids, "net_rx_bytes": r.net_rx, "net_tx_bytes": r.net_tx,
        "block_read_bytes": r.blk_r, "block_write_bytes": r.blk_w,
    })
    .to_string()
}

pub fn stats(g: &Global, a: &StatsArgs) -> Result<u8, Failure> {
    let interval = parse_interval(&a.interval)?;
    // Named containers must exist (a typo is an error, not an empty table).
    records(g, &a.ids)?;
    if a.format == StatsFormat::Prometheus {
        let samples: Vec<Sample> = records(g, &a.ids)?.iter().filter_map(sample).collect();
        let m: Vec<ContainerMetrics<'_>> =
            samples.iter().map(|s| ContainerMetrics { id: &s.id, stats: &s.stats, net: &s.net }).collect();
        print!("{}", prometheus(&m));
        return Ok(0);
    }
    let tty = std::io::stdout().is_terminal();
    let mut prev: HashMap<String, Sample> =
        records(g, &a.ids)?.iter().filter_map(sample).map(|s| (s.id.clone(), s)).collect();
    loop {
        std::thread::sleep(interval.max(Duration::from_millis(10)));
        let now: Vec<Sample> = records(g, &a.ids)?.iter().filter_map(sample).collect();
        let rows: Vec<Row> = now.iter().map(|s| row(prev.get(&s.id), s)).collect();
        let mut out = std::io::stdout().lock();
        match a.format {
            StatsFormat::Json => {
                for r in &rows {
                    let _ = writeln!(out, "{}", json_line(r));
                }
            }
            _ => {
                // Refreshed in place on a terminal: home, clear, the table.
                let _ = write!(out, "{}{}", if tty && !a.no_stream { "\x1b[H\x1b[2J" } else { "" }, table(&rows));
            }
        }
        let _ = out.flush();
        if a.no_stream || (!a.ids.is_empty() && now.is_empty()) {
            return Ok(0);
        }
        prev = now.into_iter().map(|s| (s.id.clone(), s)).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::human;

    #[test]
    fn human_sizes_are_si_like_podmans() {
        assert_eq!(human(0), "0B");
        assert_eq!(human(999), "999B");
        assert_eq!(human(1000), "1kB");
        assert_eq!(human(1_234_567), "1.235MB");
        assert_eq!(human(64 << 20), "67.109MB");
    }
}
