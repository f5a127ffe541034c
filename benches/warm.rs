//! Warm starts (issue 21): the time from "run this" to the program's first write, for
//! - **bare**: a process forked ahead, blocked on a pipe, released through it, exec'ing
//!   static busybox `echo` with stdout on a pipe — the physical limit, one exec;
//! - **warm, made ahead**: N `Plan::warm` containers made first, then started in turn
//!   (`WarmContainer::start`), nothing else running;
//! - **warm, pool**: `Pool::start` of the same program from a pool filled beforehand (a
//!   burst of N starts from a pool of N, its refill thread preparing meanwhile on the
//!   same 2 CPUs);
//! - **cold**: `Plan::spawn` of the same plan.
//!
//! All three in one run, so the ratios come from one machine state. Then **sustained**:
//! starts per second from a pool refilled by 2 threads, for a few seconds, with the
//! number of starts that found the pool empty.
//!
//! `cargo bench --bench warm` (as root; needs busybox-static). `COCOON_WARM_N` sets N
//! (default 100), `COCOON_WARM_SECS` the sustained run (default 3).

use std::ffi::CString;
use std::io::Read;
use std::time::{Duration, Instant};

use cocoon::{ContainerBuilder, Namespaces, Plan, Pool, PoolOptions, Process, Stdio};

const BUSYBOX: &str = "/bin/busybox";

/// The plan's own process is what a cold spawn runs; a warm container gets `process()`.
fn plan() -> Plan {
    ContainerBuilder::new(process())
        .namespaces(Namespaces::MOUNT | Namespaces::PID | Namespaces::UTS | Namespaces::IPC)
        .read_only_root(true)
        .prepare()
        .expect("plan")
}

fn process() -> Process {
    Process::new(BUSYBOX).args(["echo", "hi"]).stdin(Stdio::Null).stdout(Stdio::Piped)
}

fn pipe() -> (i32, i32) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two fds into the array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    (fds[0], fds[1])
}

/// `n` processes forked ahead, each released and timed to its first write in turn.
fn bare(n: usize) -> Vec<Duration> {
    let path = CString::new(BUSYBOX).unwrap();
    let args = [CString::new("busybox").unwrap(), CString::new("echo").unwrap(), CString::new("hi").unwrap()];
    let argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).chain([std::ptr::null()]).collect();
    let envp: [*const libc::c_char; 1] = [std::ptr::null()];
    let mut ahead = Vec::new();
    for _ in 0..n {
        let (rel_r, rel_w) = pipe();
        let (out_r, out_w) = pipe();
        // SAFETY: the child only reads, dup2s and execs (async-signal-safe), then _exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            // SAFETY: async-signal-safe calls on fds this process holds.
            unsafe {
                let mut b = 0u8;
                libc::read(rel_r, (&mut b as *mut u8).cast(), 1);
                libc::dup2(out_w, 1);
                libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr());
                libc::_exit(127);
            }
        }
        // SAFETY: closing the child's ends in the parent.
        unsafe {
            libc::close(rel_r);
            libc::close(out_w);
        }
        ahead.push((pid, rel_w, out_r));
    }
    let mut lat = Vec::new();
    for (pid, rel_w, out_r) in ahead {
        let mut b = [0u8; 1];
        let t = Instant::now();
        // SAFETY: one byte to the release pipe, one read of the output pipe, both ours.
        unsafe {
            assert_eq!(libc::write(rel_w, [1u8].as_ptr().cast(), 1), 1);
            assert_eq!(libc::read(out_r, b.as_mut_ptr().cast(), 1), 1);
        }
        lat.push(t.elapsed());
        // SAFETY: closing our ends and reaping our child.
        unsafe {
            libc::close(rel_w);
            libc::close(out_r);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
    }
    lat
}

/// Times one container from `start` to its first byte of stdout.
fn first_byte(start: impl FnOnce() -> cocoon::Container) -> (Duration, cocoon::Container) {
    let t = Instant::now();
    let mut c = start();
    let mut b = [0u8; 1];
    c.take_stdout().expect("stdout").read_exact(&mut b).expect("first byte");
    (t.elapsed(), c)
}

fn warm(plan: Plan, n: usize) -> Vec<Duration> {
    let pool = Pool::with_options(plan, PoolOptions { size: n, refill_threads: 1, max_age: None }).expect("pool");
    assert_eq!(pool.wait_ready(n, Duration::from_secs(120)), n, "pool filled: {:?}", pool.last_error());
    let p = process();
    let mut done = Vec::new();
    let lat = (0..n)
        .map(|_| {
            let (d, c) = first_byte(|| pool.start(&p).expect("start"));
            done.push(c);
            d
        })
        .collect();
    for mut c in done {
        assert!(c.wait().expect("wait").success());
    }
    lat
}

/// `n` warm containers made ahead with `Plan::warm` (nothing refills), started in turn.
fn prepared(plan: &Plan, n: usize) -> Vec<Duration> {
    let ready: Vec<_> = (0..n).map(|_| plan.warm().expect("warm")).collect();
    let p = process();
    let mut done = Vec::new();
    let lat = ready
        .into_iter()
        .map(|w| {
            let (d, c) = first_byte(|| w.start(&p).expect("start"));
            done.push(c);
            d
        })
        .collect();
    for mut c in done {
        assert!(c.wait().expect("wait").success());
    }
    lat
}

fn cold(plan: &Plan, n: usize) -> Vec<Duration> {
    (0..n)
        .map(|_| {
            let (d, mut c) = first_byte(|| plan.spawn().expect("spawn"));
            assert!(c.wait().expect("wait").success());
            d
        })
        .collect()
}

fn sustained(plan: Plan, secs: u64) -> (f64, u64, u64) {
    let pool = Pool::with_options(plan, PoolOptions { size: 64, refill_threads: 2, max_age: None }).expect("pool");
    pool.wait_ready(64, Duration::from_secs(60));
    let p = Process::new(BUSYBOX).args(["true"]).stdin(Stdio::Null);
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed() < Duration::from_secs(secs) {
        let mut c = pool.start(&p).expect("start");
        assert!(c.wait().expect("wait").success());
        n += 1;
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    let s = pool.stats();
    (rate, n, s.missed)
}

fn pct(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let pick = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)].as_secs_f64() * 1e3;
    (pick(0.50), pick(0.99))
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing: a small round.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n: usize =
        std::env::var("COCOON_WARM_N").ok().and_then(|v| v.parse().ok()).unwrap_or(if quick { 5 } else { 100 });
    let secs: u64 =
        std::env::var("COCOON_WARM_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(if quick { 1 } else { 3 });
    // Warm-up: helper memfd, seccomp programs, cgroup layout; busybox in the page cache.
    cold(&plan(), 3);
    bare(3);
    let (b50, b99) = pct(bare(n));
    let (p50, p99) = pct(prepared(&plan(), n));
    let (w50, w99) = pct(warm(plan(), n));
    let (c50, c99) = pct(cold(&plan(), n));
    println!("{n} starts each, to the program's first write (static busybox echo)");
    println!();
    println!("| path | p50 | p99 | p50 / bare | p99 / bare |");
    println!("|---|---:|---:|---:|---:|");
    for (name, p50, p99) in [
        ("bare fork → exec", b50, b99),
        ("warm, made ahead (WarmContainer::start)", p50, p99),
        ("warm, pool refilling (Pool::start)", w50, w99),
        ("cold (Plan::spawn)", c50, c99),
    ] {
        println!("| {name} | {p50:.3} ms | {p99:.3} ms | {:.2}x | {:.2}x |", p50 / b50, p99 / b99);
    }
    println!();
    println!("cold / warm at p50: made ahead {:.2}x, pool {:.2}x", c50 / p50, c50 / w50);
    let (rate, total, missed) = sustained(plan(), secs);
    println!(
        "sustained: {rate:.0} starts/s over {secs} s ({total} starts, {missed} found the pool empty; 2 refill threads)"
    );
}
