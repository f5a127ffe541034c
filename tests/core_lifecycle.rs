//! Container lifecycle: kill, try_wait, drop, exec, init, delete.

mod common;

use std::time::Duration;

use cocoon::{ContainerBuilder, ExitStatus, Namespaces, Process, Stdio};
use common::*;

fn sleeper() -> ContainerBuilder {
    ContainerBuilder::new(Process::new("/bin/sleep").arg("1000")).namespaces(Namespaces::DEFAULT - Namespaces::NET)
}

#[test]
fn kill_sigkill_gives_signaled_9() {
    let _g = lock();
    let mut c = sleeper().spawn().unwrap();
    assert_eq!(c.try_wait().unwrap(), None);
    c.kill(libc::SIGKILL).unwrap();
    assert_eq!(c.wait().unwrap(), ExitStatus::Signaled(libc::SIGKILL));
    assert_eq!(c.wait().unwrap().signal(), Some(9), "status is remembered");
    assert!(matches!(c.kill(libc::SIGKILL), Err(cocoon::Error::AlreadyExited)));
    assert!(matches!(c.exec(&Process::new("/bin/true")), Err(cocoon::Error::AlreadyExited)));
    assert_no_children();
}

#[test]
fn try_wait_is_none_then_some() {
    let _g = lock();
    let mut c = ContainerBuilder::new(sh("read x; exit 3").stdin(Stdio::Piped)).spawn().unwrap();
    for _ in 0..5 {
        assert_eq!(c.try_wait().unwrap(), None);
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(c.take_stdin());
    let mut got = None;
    wait_until(Duration::from_secs(10), "try_wait to report the exit", || {
        got = c.try_wait().unwrap();
        got.is_some()
    });
    assert_eq!(got, Some(ExitStatus::Exited(3)));
    assert_eq!(c.wait().unwrap(), ExitStatus::Exited(3));
    assert_no_children();
}

#[test]
fn drop_kills_a_running_container() {
    let _g = lock();
    let c = sleeper().spawn().unwrap();
    let pid = c.pid();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert_eq!(status_field(&status, "Name"), "sleep");
    drop(c);
    // Killed and reaped synchronously: no process, not even a zombie.
    assert!(!pid_exists(pid), "pid {pid} survived the drop of its container");
    assert_no_children();
}

#[test]
fn exec_joins_the_running_container() {
    let _g = lock();
    let c = sleeper().hostname("exec-box").spawn().unwrap();
    let pid = c.pid();
    let link = |ns: &str| std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).unwrap().display().to_string();
    let mut p = c
        .exec(&sh("hostname; echo $$; for n in mnt uts ipc pid cgroup; do readlink /proc/self/ns/$n; done; ls /proc | grep -c '^[0-9]'"))
        .unwrap();
    let out = {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut p.take_stdout().unwrap(), &mut s).unwrap();
        s
    };
    assert!(p.wait().unwrap().success(), "{out}");
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(l[0], "exec-box");
    let inner_pid: i32 = l[1].parse().unwrap();
    assert!(inner_pid > 1 && inner_pid < 100, "exec'd process pid {inner_pid} is not in the container's pid ns");
    for (i, ns) in ["mnt", "uts", "ipc", "pid", "cgroup"].iter().enumerate() {
        assert_eq!(l[2 + i], link(ns), "{ns} namespace not joined");
        assert_ne!(l[2 + i], std::fs::read_link(format!("/proc/self/ns/{ns}")).unwrap().display().to_string());
    }
    // sleep (PID 1), sh, ls: the exec'd process sees the container's processes only.
    let n: usize = l[7].parse().unwrap();
    assert!((2..=4).contains(&n), "{n} processes visible");
    // The exec'd process's host parent is us (CLONE_PARENT), and it was reaped.
    c.delete().unwrap();
    assert_no_children();
}

#[test]
fn init_reaps_orphans() {
    let _g = lock();
    // Each subshell forks a `sleep` and exits at once: the sleeps are orphans re-parented
    // to PID 1. Once they end, only an init that reaps leaves no zombie behind.
    let script = "for i in 1 2 3 4 5; do (sleep 0.1 &); done; sleep 0.6; \
                  echo ppid=$PPID; grep -l '^State:.*Z' /proc/[0-9]*/status | wc -l";
    let out = run_ok(ContainerBuilder::new(sh(script)).init(true));
    assert_eq!(out, "ppid=1\n0\n", "zombies left inside (or the program is not below init)");
}

#[test]
fn init_forwards_sigterm() {
    let _g = lock();
    let mut c = ContainerBuilder::new(sh("trap 'exit 7' TERM; echo ready; while :; do sleep 0.05; done")).init(true).spawn().unwrap();
    let mut out = Lines::new(&mut c);
    assert_eq!(out.next(), "ready");
    c.kill(libc::SIGTERM).unwrap();
    assert_eq!(c.wait().unwrap(), ExitStatus::Exited(7));
    assert_no_children();
}

#[test]
fn without_init_pid_1_ignores_sigterm() {
    let _g = lock();
    // Control for the test above: the kernel drops unhandled signals to a PID 1.
    let mut c = sleeper().spawn().unwrap();
    c.kill(libc::SIGTERM).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(c.try_wait().unwrap(), None);
    c.delete().unwrap();
}

#[test]
fn delete_returns_ok_and_cleans_up() {
    let _g = lock();
    let c = sleeper().spawn().unwrap();
    let pid = c.pid();
    c.delete().unwrap();
    assert!(!pid_exists(pid));
    // delete after exit is fine too.
    let mut c = ContainerBuilder::new(Process::new("/bin/true")).spawn().unwrap();
    assert!(c.wait().unwrap().success());
    c.delete().unwrap();
    assert_no_children();
}

/// `poll` on a wait fd: whether it is readable within `ms`.
fn readable(fd: std::os::fd::BorrowedFd<'_>, ms: i32) -> bool {
    use std::os::fd::AsRawFd;
    let mut p = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd.
    let r = unsafe { libc::poll(&mut p, 1, ms) };
    r == 1 && p.revents & libc::POLLIN != 0
}

#[test]
fn wait_fd_polls_readable_once_the_process_exited() {
    let _g = lock();
    let mut c = sleeper().spawn().unwrap();
    let mut p = c.exec(&Process::new("/bin/sleep").arg("1000").stdin(Stdio::Null)).unwrap();
    assert!(!readable(c.wait_fd(), 0) && !readable(p.wait_fd(), 0), "readable while running");
    p.kill(libc::SIGKILL).unwrap();
    assert!(readable(p.wait_fd(), 10_000), "exec'd process: not readable after SIGKILL");
    assert!(!readable(c.wait_fd(), 0), "the container ended with its exec'd process");
    assert_eq!(p.wait().unwrap(), ExitStatus::Signaled(libc::SIGKILL));
    c.kill(libc::SIGKILL).unwrap();
    assert!(readable(c.wait_fd(), 10_000), "container: not readable after SIGKILL");
    assert_eq!(c.wait().unwrap(), ExitStatus::Signaled(libc::SIGKILL));
    assert!(readable(c.wait_fd(), 0), "still readable after the wait");
}
