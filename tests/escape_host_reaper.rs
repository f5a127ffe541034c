//! A host with its own child reaping must never see (and steal) cocoon's children. The
//! kernel resets a process's exit signal to SIGCHLD when it execs, so a container program
//! cloned straight from the host would, from its exec on, be reaped by a host SIGCHLD
//! handler or a `waitpid(-1)` loop, and `Container::wait` would fail with ECHILD. cocoon's
//! direct child is a monitor that never execs.
//!
//! This binary holds one test only: the handler and the reaper thread reap every child of
//! the process, as a Python service or a C server with such a loop would.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use cocoon::{ContainerBuilder, ExitStatus, Process};
use common::*;

static STOLEN: AtomicUsize = AtomicUsize::new(0);
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigchld(_: libc::c_int) {
    loop {
        let mut status = 0;
        // SAFETY: waitpid is async-signal-safe; status is a local.
        let r = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if r <= 0 {
            break;
        }
        STOLEN.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn host_sigchld_handler_and_waitpid_loop_never_reap_containers() {
    let _l = lock();
    // SAFETY: installing a handler that only calls waitpid and touches an atomic.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigchld as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigaction(libc::SIGCHLD, &sa, std::ptr::null_mut());
    }
    let reaper = std::thread::spawn(|| {
        while !STOP.load(Ordering::Relaxed) {
            let mut status = 0;
            // SAFETY: a blocking reap of any child; status is a local.
            let r = unsafe { libc::waitpid(-1, &mut status, 0) };
            if r > 0 {
                STOLEN.fetch_add(1, Ordering::Relaxed);
            } else {
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        }
    });
    let plan = ContainerBuilder::new(Process::new("/bin/true")).prepare().unwrap();
    let exec_plan = ContainerBuilder::new(Process::new("/bin/sleep").args(["3600"])).prepare().unwrap();
    let mut failures = Vec::new();
    for i in 0..300 {
        match plan.spawn().and_then(|mut c| c.wait()) {
            Ok(ExitStatus::Exited(0)) => {}
            other => failures.push(format!("spawn {i}: {other:?}")),
        }
    }
    // Processes exec'd into a container are our children too. The container outlives the
    // loop however slow the machine is (a loaded CI host took > 5 s for 100 execs); drop kills it.
    let c = exec_plan.spawn().unwrap();
    for i in 0..100 {
        match c.exec(&Process::new("/bin/true")).and_then(|mut p| p.wait()) {
            Ok(ExitStatus::Exited(0)) => {}
            other => failures.push(format!("exec {i}: {other:?}")),
        }
    }
    drop(c);
    STOP.store(true, Ordering::Relaxed);
    // SAFETY: restoring the default disposition.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
    reaper.join().unwrap();
    assert!(failures.is_empty(), "{} of 400 waits failed, e.g. {:?}", failures.len(), &failures[..failures.len().min(3)]);
    assert_eq!(STOLEN.load(Ordering::Relaxed), 0, "the host's reapers reaped cocoon's children");
}
