//! The commands on an existing container, each in a process of its own (as engines call
//! them): `start`, `state`, `list`, `kill`, `delete`, `pause`, `resume`, `ps`, `events`
//! (`start` and `delete` run the poststart and poststop hooks recorded at create).
//! A container is found from its state directory; its process is addressed by a pidfd
//! opened from the recorded pid and checked against the recorded start time (a reused pid
//! is never signalled); its cgroup through `CgroupHandle::open`.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use cocoon::cgroup::CgroupHandle;
use serde_json::json;

use crate::hooks::{self, Phase};
use crate::args::{DeleteArgs, EventsArgs, Format, KillArgs, ListArgs, PsArgs};
use crate::state::{self, Record, Status};
use crate::{Failure, Global};

fn load(g: &Global, id: &str) -> Result<Record, Failure> {
    Record::load(&g.root, id)
}

pub fn start(g: &Global, id: &str) -> Result<u8, Failure> {
    let rec = load(g, id)?;
    match rec.status(&g.root) {
        Status::Created => {}
        s => return Err(Failure::msg(format!("cannot start a container in the {} state", s.name()))),
    }
    match cocoon::start_created(state::start_socket(&g.root, id)) {
        Ok(()) => {}
        Err(cocoon::Error::NotCreated) => return Err(Failure::msg("cannot start a container that has already been started")),
        Err(e) => return Err(Failure::Cocoon(e.to_string())),
    }
    // As runc: a failing poststart hook destroys the container.
    if let Err(e) = hooks::run(&rec, Phase::Poststart) {
        let _ = stop(&rec);
        remove_state(g, &rec);
        hooks::run_poststop(g, &rec);
        return Err(e);
    }
    Ok(0)
}

pub fn state(g: &Global, id: &str) -> Result<u8, Failure> {
    let rec = load(g, id)?;
    println!("{}", serde_json::to_string_pretty(&rec.to_json(&g.root)).unwrap_or_default());
    Ok(0)
}

pub fn list(g: &Global, a: &ListArgs) -> Result<u8, Failure> {
    let recs: Vec<Record> = state::ids(&g.root).iter().filter_map(|id| Record::load(&g.root, id).ok()).collect();
    if a.quiet {
        for r in &recs {
            println!("{}", r.id);
        }
        return Ok(0);
    }
    match a.format {
        Format::Json => {
            let v: Vec<_> = recs.iter().map(|r| r.to_json(&g.root)).collect();
            println!("{}", serde_json::Value::Array(v));
        }
        Format::Table => {
            println!("{:<20} {:<10} {:<10} {:<40} {:<30} OWNER", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
            for r in &recs {
                let s = r.status(&g.root);
                let pid = if s == Status::Stopped { 0 } else { r.pid };
                println!("{:<20} {:<10} {:<10} {:<40} {:<30} root", r.id, pid, s.name(), r.bundle.display(), r.created);
            }
        }
    }
    Ok(0)
}

/// A signal by name (`KILL`, `SIGKILL`, `sigkill`) or number.
pub fn parse_signal(s: &str) -> Result<i32, Failure> {
    if let Ok(n) = s.parse::<i32>() {
        if (0..=libc::SIGRTMAX()).contains(&n) {
            return Ok(n);
        }
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    let n = match name {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "ILL" => libc::SIGILL,
        "TRAP" => libc::SIGTRAP,
        "ABRT" | "IOT" => libc::SIGABRT,
        "BUS" => libc::SIGBUS,
        "FPE" => libc::SIGFPE,
        "KILL" => libc::SIGKILL,
        "USR1" => libc::SIGUSR1,
        "SEGV" => libc::SIGSEGV,
        "USR2" => libc::SIGUSR2,
        "PIPE" => libc::SIGPIPE,
        "ALRM" => libc::SIGALRM,
        "TERM" => libc::SIGTERM,
        "STKFLT" => libc::SIGSTKFLT,
        "CHLD" => libc::SIGCHLD,
        "CONT" => libc::SIGCONT,
        "STOP" => libc::SIGSTOP,
        "TSTP" => libc::SIGTSTP,
        "TTIN" => libc::SIGTTIN,
        "TTOU" => libc::SIGTTOU,
        "URG" => libc::SIGURG,
        "XCPU" => libc::SIGXCPU,
        "XFSZ" => libc::SIGXFSZ,
        "VTALRM" => libc::SIGVTALRM,
        "PROF" => libc::SIGPROF,
        "WINCH" => libc::SIGWINCH,
        "IO" | "POLL" => libc::SIGIO,
        "PWR" => libc::SIGPWR,
        "SYS" => libc::SIGSYS,
        _ => return Err(Failure::msg(format!("unknown signal {s:?}"))),
    };
    Ok(n)
}

/// A pidfd of the container's first process, if it is still the one `create` made.
fn pidfd(rec: &Record) -> Option<OwnedFd> {
    // SAFETY: pidfd_open with integer arguments; the result is a new fd (or -1).
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, rec.pid, 0) } as i32;
    if fd < 0 {
        return None;
    }
    // SAFETY: just returned by pidfd_open, owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // Checked after opening: the pidfd now pins that process, so this cannot race.
    rec.alive().then_some(fd)
}

fn send(fd: &OwnedFd, sig: i32) -> std::io::Result<()> {
    // SAFETY: pidfd_send_signal on a pidfd we own, no siginfo.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, fd.as_raw_fd(), sig, std::ptr::null::<libc::siginfo_t>(), 0) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

pub fn kill(g: &Global, a: &KillArgs) -> Result<u8, Failure> {
    let rec = load(g, &a.id)?;
    let sig = parse_signal(&a.signal)?;
    if a.all {
        let cg = CgroupHandle::open(&rec.cgroup).map_err(|e| Failure::msg(format!("container {}: {e}", a.id)))?;
        for pid in cg.procs() {
            // SAFETY: kill with integer arguments; these are the processes in the
            // container's cgroup right now.
            unsafe { libc::kill(pid, sig) };
        }
        cg.release();
        return Ok(0);
    }
    let fd = pidfd(&rec).ok_or_else(|| Failure::msg("container not running"))?;
    send(&fd, sig).map_err(|e| Failure::msg(format!("kill {}: {e}", a.id)))?;
    Ok(0)
}

/// Waits until the process behind `fd` has ended (its pidfd polls readable).
fn wait_gone(fd: &OwnedFd, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut p = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: poll on one pollfd on our stack.
        let r = unsafe { libc::poll(&mut p, 1, left.as_millis().min(i32::MAX as u128) as i32) };
        if r > 0 {
            return true;
        }
        if r == 0 || left.is_zero() {
            return false;
        }
    }
}

/// Removes what is left of a container: its cgroup and its state directory.
pub fn remove_state(g: &Global, rec: &Record) {
    if let Ok(cg) = CgroupHandle::open(&rec.cgroup) {
        if let Err(e) = cg.destroy() {
            g.warn(&format!("container {}: removing its cgroup: {e}", rec.id));
        }
    }
    let _ = std::fs::remove_dir_all(state::dir(&g.root, &rec.id));
}

pub fn delete(g: &Global, a: &DeleteArgs) -> Result<u8, Failure> {
    let rec = match load(g, &a.id) {
        Ok(r) => r,
        Err(Failure::NotExist(_)) if a.force => return Ok(0),
        Err(e) => return Err(e),
    };
    match rec.status(&g.root) {
        Status::Stopped => {}
        // As runc: a created container is deleted without --force (its program never ran).
        Status::Created => stop(&rec)?,
        s if a.force => {
            if s == Status::Paused {
                if let Ok(cg) = CgroupHandle::open(&rec.cgroup) {
                    let _ = cg.thaw();
                    cg.release();
                }
            }
            stop(&rec)?
        }
        s => return Err(Failure::msg(format!("cannot delete container {} that is not stopped: {}", a.id, s.name()))),
    }
    remove_state(g, &rec);
    hooks::run_poststop(g, &rec);
    Ok(0)
}

/// SIGKILLs the container's first process and waits for it to end.
fn stop(rec: &Record) -> Result<(), Failure> {
    if let Some(fd) = pidfd(rec) {
        let _ = send(&fd, libc::SIGKILL);
        if !wait_gone(&fd, Duration::from_secs(10)) {
            return Err(Failure::msg(format!("container {}: pid {} did not die of SIGKILL within 10 s", rec.id, rec.pid)));
        }
    }
    Ok(())
}

pub fn pause(g: &Global, id: &str, freeze: bool) -> Result<u8, Failure> {
    let rec = load(g, id)?;
    let s = rec.status(&g.root);
    let ok = if freeze { s == Status::Running } else { s == Status::Paused };
    if !ok {
        return Err(Failure::msg(format!("container {id} is {}, not {}", s.name(), if freeze { "running" } else { "paused" })));
    }
    let cg = CgroupHandle::open(&rec.cgroup).map_err(|e| Failure::msg(format!("container {id}: {e}")))?;
    let r = if freeze { cg.freeze() } else { cg.thaw() };
    cg.release();
    r.map_err(|e| Failure::Cocoon(e.to_string()))?;
    Ok(0)
}

pub fn ps(g: &Global, a: &PsArgs) -> Result<u8, Failure> {
    let rec = load(g, &a.id)?;
    let pids = match CgroupHandle::open(&rec.cgroup) {
        Ok(cg) => {
            let p = cg.procs();
            cg.release();
            p
        }
        Err(_) => Vec::new(),
    };
    match a.format {
        Format::Json => println!("{}", json!(pids)),
        Format::Table => {
            println!("{:>8} {:<6} CMD", "PID", "STAT");
            for pid in pids {
                let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let cmd: Vec<String> = cmd.split(|b| *b == 0).filter(|s| !s.is_empty()).map(|s| String::from_utf8_lossy(s).into_owned()).collect();
                let st = state::proc_stat(pid).map(|(s, _)| s).unwrap_or('?');
                println!("{pid:>8} {st:<6} {}", cmd.join(" "));
            }
        }
    }
    Ok(0)
}

fn stats_json(id: &str, s: &cocoon::CgroupStats) -> serde_json::Value {
    json!({
        "type": "stats",
        "id": id,
        "data": {
            "cpu": s.cpu.map(|c| json!({"usage": {"total": c.usage.as_nanos() as u64, "user": c.user.as_nanos() as u64, "kernel": c.system.as_nanos() as u64}})),
            "memory": s.memory.map(|m| json!({"usage": {"usage": m.current, "max": m.peak.unwrap_or(0), "failcnt": m.oom_events}, "oom_kill": m.oom_kills})),
            "pids": s.pids.map(|p| json!({"current": p.current, "limitHits": p.limit_hits})),
        }
    })
}

pub fn parse_interval(s: &str) -> Result<Duration, Failure> {
    let bad = || Failure::msg(format!("--interval {s:?}: expected e.g. 5s or 500ms"));
    let (num, unit) = s.find(|c: char| !c.is_ascii_digit()).map_or((s, "s"), |i| s.split_at(i));
    let n: u64 = num.parse().map_err(|_| bad())?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        _ => return Err(bad()),
    };
    if d.is_zero() {
        return Err(bad());
    }
    Ok(d)
}

pub fn events(g: &Global, a: &EventsArgs) -> Result<u8, Failure> {
    let rec = load(g, &a.id)?;
    let interval = parse_interval(&a.interval)?;
    let cg = CgroupHandle::open(&rec.cgroup).map_err(|e| Failure::msg(format!("container {}: {e}", a.id)))?;
    let stats = || cg.stats().map_err(|e| Failure::Cocoon(e.to_string()));
    if a.stats {
        let s = stats();
        cg.release();
        println!("{}", stats_json(&a.id, &s?));
        return Ok(0);
    }
    // Follow: a stats line every interval, an "oom" event whenever the OOM killer struck,
    // until the container has ended.
    let mut kills = stats().ok().and_then(|s| s.memory).map_or(0, |m| m.oom_kills);
    while rec.alive() {
        if let Ok(s) = stats() {
            let now = s.memory.map_or(0, |m| m.oom_kills);
            if now > kills {
                println!("{}", json!({"type": "oom", "id": a.id}));
            }
            kills = now;
            println!("{}", stats_json(&a.id, &s));
        }
        std::thread::sleep(interval);
    }
    cg.release();
    Ok(0)
}
