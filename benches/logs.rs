//! Logging throughput: a container `cat`s a file of 100-byte lines to its stdout, which
//! its monitor writes to a CRI log file (`Process::log`); beside it, in the same run and
//! interleaved, the same bytes through `cat | cat > file` on the host (the peer:
//! a pipe into a file with no formatting at all) and the same container writing straight
//! into a file (`Stdio::Fd`, the container's own cost without a log). Reports MB/s of the
//! container's output and the ratio to the peer. Run as root:
//! `cargo bench --bench logs` (`COCOON_LOG_BENCH_MB`, default 256; 5 rounds).

use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cocoon::logs::LogConfig;
use cocoon::{ContainerBuilder, Namespaces, Process, Stdio};

fn container(input: &Path, out: Option<&Path>, log: Option<&Path>) -> Duration {
    let file = Arc::new(OwnedFd::from(std::fs::File::open(input).expect("input")));
    let mut p = Process::new("/bin/sh")
        .args(["-c", "exec busybox cat <&3"])
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::Null)
        .pass_fd(file, 3);
    if let Some(o) = out {
        p = p.stdout(Stdio::Fd(Arc::new(OwnedFd::from(std::fs::File::create(o).expect("out")))));
    }
    if let Some(l) = log {
        let _ = std::fs::remove_file(l);
        p = p.log(LogConfig::new(l));
    }
    let b =
        ContainerBuilder::new(p).namespaces(Namespaces::MOUNT | Namespaces::PID | Namespaces::IPC | Namespaces::UTS);
    let t = Instant::now();
    let mut c = b.spawn().expect("spawn");
    assert!(c.wait().expect("wait").success());
    let d = t.elapsed();
    assert_eq!(c.log_lost_bytes(), 0);
    d
}

fn peer(input: &Path, out: &Path) -> Duration {
    let t = Instant::now();
    let st = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("cat {} | cat > {}", input.display(), out.display()))
        .status()
        .expect("sh");
    assert!(st.success());
    t.elapsed()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing: one small round.
    let quick = !std::env::args().any(|a| a == "--bench");
    let mb: usize =
        if quick { 4 } else { std::env::var("COCOON_LOG_BENCH_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(256) };
    let rounds = if quick { 1 } else { 5 };
    let dir = std::env::temp_dir().join(format!("cocoon-bench-logs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let input = dir.join("input");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&input).expect("input"));
        let mut line = [b'x'; 100];
        line[99] = b'\n';
        for _ in 0..mb * 10_000 {
            f.write_all(&line).expect("write");
        }
    }
    let bytes = (mb * 1_000_000) as f64;
    let (log, plain, peer_out) = (dir.join("c.log"), dir.join("plain"), dir.join("peer"));
    let (mut t_log, mut t_plain, mut t_peer) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        t_peer.push(peer(&input, &peer_out).as_secs_f64());
        t_log.push(container(&input, None, Some(&log)).as_secs_f64());
        t_plain.push(container(&input, Some(&plain), None).as_secs_f64());
    }
    // Every line made it, once, as a record.
    let logged = std::fs::metadata(&log).expect("log").len();
    assert_eq!(logged, (mb * 10_000) as u64 * (30 + 10 + 99 + 1), "one record per line");
    let (l, p, c) = (median(&mut t_log), median(&mut t_peer), median(&mut t_plain));
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("logging throughput, {mb} MB of 100-byte lines, median of {rounds} (load {})", load.trim());
    println!("| what | time | MB/s of output | vs the peer |");
    println!("|---|---:|---:|---:|");
    println!("| container → CRI log (monitor) | {:.0} ms | {:.0} | {:.2}x |", l * 1e3, bytes / l / 1e6, p / l);
    println!("| container → file (Stdio::Fd) | {:.0} ms | {:.0} | {:.2}x |", c * 1e3, bytes / c / 1e6, p / c);
    println!("| `cat FILE \\| cat > file` (peer) | {:.0} ms | {:.0} | 1.00x |", p * 1e3, bytes / p / 1e6);
    let _ = std::fs::remove_dir_all(&dir);
}
