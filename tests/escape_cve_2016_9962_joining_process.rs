//! CVE-2016-9962 / CVE-2019-5736, the joining window: between `setns` and `execve` the
//! process joining a container (Container::exec) is a copy of the host process (this
//! test executable). If it were dumpable, a process inside the container could open its
//! `/proc/<pid>/exe` (the host binary) or its memory during that window.
//!
//! The observer is this same test executable, run inside the container as a watcher
//! (entry point `watcher_entry`, started with COCOON_WATCHER=1): it has every capability
//! of the container's identity-mapped user namespace and the joining process's uid, so
//! only the non-dumpable flag can stop it (see escape_cve_2019_5736_exec_exe.rs for why
//! an identity map is needed). It scans /proc in a tight loop and tries to open the exe
//! of every other process; an exe with the same inode as its own is the host binary.
//! The host meanwhile execs /bin/true into the container hundreds of times.
//!
//! This is a race by nature: against a dumpable joining process it fails with high
//! probability (verified by removing the prctl in monitor.rs, which the joining process
//! inherits), but a pass is not a proof.

mod common;

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use cocoon::{Capabilities, CapSet, ContainerBuilder, IdRange, Mount, Process, Stdio};
use common::*;

const EXECS: usize = 300;

fn stdin_closed() -> bool {
    let mut p = libc::pollfd { fd: 0, events: libc::POLLIN, revents: 0 };
    // SAFETY: poll on fd 0 with a zero timeout.
    let r = unsafe { libc::poll(&mut p, 1, 0) };
    r > 0 && p.revents & (libc::POLLHUP | libc::POLLIN) != 0
}

/// Not a test: the in-container watcher. Does nothing unless COCOON_WATCHER is set.
#[test]
#[ignore = "entry point of the in-container watcher, started by joining_process_is_never_reachable"]
fn watcher_entry() {
    if std::env::var_os("COCOON_WATCHER").is_none() {
        return;
    }
    let me = std::fs::metadata("/proc/self/exe").unwrap();
    let self_pid = std::process::id().to_string();
    let (mut caught, mut opened_other, mut scans) = (Vec::new(), 0u64, 0u64);
    // Straight to fd 1: libtest captures print! output.
    let mut out = std::io::stdout();
    writeln!(out, "WATCHER-READY").unwrap();
    out.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !stdin_closed() && Instant::now() < deadline {
        scans += 1;
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if !name.bytes().all(|b| b.is_ascii_digit()) || name == self_pid {
                continue;
            }
            if let Ok(f) = std::fs::File::open(format!("/proc/{name}/exe")) {
                let md = f.metadata().unwrap();
                if (md.dev(), md.ino()) == (me.dev(), me.ino()) {
                    caught.push(name.to_string());
                } else {
                    opened_other += 1;
                }
            }
        }
    }
    let n = caught.len();
    caught.dedup();
    caught.truncate(10);
    writeln!(out, "WATCHER caught={n} opened_other={opened_other} scans={scans} first_pids={caught:?}").unwrap();
    out.flush().unwrap();
    std::process::exit(0);
}

#[test]
fn joining_process_is_never_reachable() {
    let _g = lock();
    let me = std::env::current_exe().unwrap();
    let dir = me.parent().unwrap().to_path_buf();
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap").unwrap().trim().parse().unwrap();
    let all = Capabilities::uniform(CapSet((1u64 << (last + 1)) - 1));
    let map = [IdRange::new(0, 0, 65_536)];
    let c = ContainerBuilder::new(Process::new("/bin/sleep").arg("1000"))
        .uid_map(map)
        .gid_map(map)
        .mount(Mount::bind(&dir, "/watcher").read_only(true))
        .spawn()
        .unwrap();
    let exe_inside = format!("/watcher/{}", me.file_name().unwrap().to_string_lossy());
    let mut w = c
        .exec(
            &Process::new(&exe_inside)
                .args(["--exact", "watcher_entry", "--ignored", "--nocapture", "--test-threads=1"])
                .env("COCOON_WATCHER", "1")
                .capabilities(all)
                .stdin(Stdio::Piped)
                .stdout(Stdio::Piped)
                .stderr(Stdio::Null),
        )
        .unwrap();
    let mut lines = Lines::from(w.take_stdout().unwrap());
    loop {
        let l = lines.next();
        // libtest prints "test watcher_entry ... " on the same line.
        if l.ends_with("WATCHER-READY") {
            break;
        }
        assert!(!l.is_empty() || w.try_wait().unwrap().is_none(), "watcher did not start");
    }
    for i in 0..EXECS {
        let mut p = c.exec(&Process::new("/bin/true")).unwrap_or_else(|e| panic!("exec {i}: {e}"));
        assert!(p.wait().unwrap().success());
    }
    drop(w.take_stdin());
    let report = loop {
        let l = lines.next();
        if let Some(i) = l.find("WATCHER caught=") {
            break l[i..].to_string();
        }
        assert!(!l.is_empty(), "watcher ended without a report");
    };
    assert!(w.wait().unwrap().success());
    c.delete().unwrap();
    let field = |k: &str| -> u64 {
        report.split_whitespace().find_map(|f| f.strip_prefix(k)).unwrap().parse().unwrap()
    };
    assert_eq!(field("caught="), 0, "a joining process (host binary) was opened from inside: {report}");
    // The watcher really ran alongside the execs: it opened PID 1 (sleep) many times.
    assert!(field("scans=") > 100 && field("opened_other=") > 100, "watcher barely ran: {report}");
}
