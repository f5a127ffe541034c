//! CVE-2024-21626: a host directory fd leaked into the container plus
//! `cwd=/proc/self/fd/N` gave access to the host filesystem. cocoon closes (or marks
//! close-on-exec) every fd it was not asked to pass, and resolves the cwd in-root without
//! magic links. A naive runtime that relies on the caller's O_CLOEXEC discipline leaks
//! the fds opened below without it.

mod common;

use std::collections::BTreeSet;
use std::os::fd::OwnedFd;
use std::sync::Arc;

use cocoon::{ContainerBuilder, Error, Namespaces, Process, Stage, Stdio};
use common::*;

fn fd_numbers_now(pid: i32) -> BTreeSet<i32> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_string_lossy().parse().ok())
        .collect()
}

/// The process's fds once its start-up is over: right after exec, the dynamic loader of
/// the program briefly holds an fd of each library it maps (libc.so.6 at fd 3), so a
/// set that differs from `want` is read again for up to 2 s. A leaked fd stays.
fn fd_numbers(pid: i32, want: &BTreeSet<i32>) -> BTreeSet<i32> {
    let t = std::time::Instant::now();
    loop {
        let fds = fd_numbers_now(pid);
        if &fds == want || t.elapsed() > std::time::Duration::from_secs(2) {
            return fds;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

struct Leaks(Vec<i32>);
impl Leaks {
    /// A host directory, a host file and a dup of the directory, all without CLOEXEC.
    fn open(dir: &TempDir) -> Leaks {
        std::fs::write(dir.join("host-secret"), "secret").unwrap();
        let d = open_leaky(dir.path(), libc::O_RDONLY | libc::O_DIRECTORY);
        let f = open_leaky(&dir.join("host-secret"), libc::O_RDONLY);
        // SAFETY: dup of an fd we own, without CLOEXEC.
        let dup = unsafe { libc::dup(d) };
        assert!(dup >= 0);
        for fd in [d, f, dup] {
            // SAFETY: F_GETFD on our fd.
            assert_eq!(unsafe { libc::fcntl(fd, libc::F_GETFD) } & libc::FD_CLOEXEC, 0);
        }
        Leaks(vec![d, f, dup])
    }
}
impl Drop for Leaks {
    fn drop(&mut self) {
        for fd in &self.0 {
            close(*fd);
        }
    }
}

fn quiet_sleep() -> Process {
    Process::new("/bin/sleep").arg("1000").stdin(Stdio::Null).stdout(Stdio::Null).stderr(Stdio::Null)
}

#[test]
fn host_fds_without_cloexec_do_not_reach_the_container() {
    let _g = lock();
    let dir = TempDir::new("leak");
    let leaks = Leaks::open(&dir);
    let passed = TempDir::new("passed");
    std::fs::write(passed.join("given"), "given").unwrap();
    let given = Arc::new(OwnedFd::from(std::fs::File::open(passed.join("given")).unwrap()));
    let c = ContainerBuilder::new(quiet_sleep().pass_fd(given, 7))
        .namespaces(Namespaces::DEFAULT - Namespaces::NET)
        .spawn()
        .unwrap();
    // Exactly stdio plus the passed fd, seen from the host.
    let want = BTreeSet::from([0, 1, 2, 7]);
    assert_eq!(fd_numbers(c.pid(), &want), want, "leaked fds {:?}", leaks.0);
    let target = std::fs::read_link(format!("/proc/{}/fd/7", c.pid())).unwrap();
    assert!(target.ends_with("given"), "{target:?}");
    // Same for a process exec'd into it (CVE-2016-9962: the joining process held host fds).
    let p = c.exec(&quiet_sleep()).unwrap();
    let want = BTreeSet::from([0, 1, 2]);
    let fds = fd_numbers(p.pid(), &want);
    let links: Vec<String> = fds.iter().map(|f| format!("{f} -> {:?}", std::fs::read_link(format!("/proc/{}/fd/{f}", p.pid())))).collect();
    let exe = std::fs::read_link(format!("/proc/{}/exe", p.pid()));
    assert_eq!(fds, want, "leaked fds into exec {:?}: {links:?} (exe {exe:?})", leaks.0);
    drop(p);
    c.delete().unwrap();
    // And from inside: the container's shell sees only its stdio.
    let out = run_ok(ContainerBuilder::new(sh("ls /proc/$$/fd")));
    assert_eq!(out.split_whitespace().collect::<Vec<_>>(), ["0", "1", "2"], "inside: {out}");
}

#[test]
fn cwd_through_a_leaked_fd_is_rejected() {
    let _g = lock();
    let dir = TempDir::new("leak");
    let leaks = Leaks::open(&dir);
    for cwd in [format!("/proc/self/fd/{}", leaks.0[0]), format!("/proc/self/fd/{}", leaks.0[2]), "/proc/1/cwd".into(), "/proc/self/root/proc/self/fd/0".into()] {
        let before = snapshot();
        let r = ContainerBuilder::new(sh("pwd; ls").cwd(&cwd)).spawn();
        match r {
            Err(Error::Setup { stage: Stage::Cwd, ref detail, .. }) => assert_eq!(*detail, cwd),
            Err(e) => panic!("cwd {cwd}: expected a Cwd setup error, got {e:?}"),
            Ok(mut c) => {
                let o = collect(&mut c);
                panic!("cwd {cwd} was accepted: {o:?}");
            }
        }
        assert_unchanged(&before, &snapshot(), &cwd);
        assert_no_children();
    }
    // The exec path checks the cwd the same way.
    let c = ContainerBuilder::new(quiet_sleep()).namespaces(Namespaces::DEFAULT - Namespaces::NET).spawn().unwrap();
    let e = c.exec(&quiet_sleep().cwd(format!("/proc/self/fd/{}", leaks.0[0]))).unwrap_err();
    assert_eq!(e.stage(), Some(Stage::Cwd), "{e}");
    c.delete().unwrap();
    assert_no_children();
}

#[test]
fn leaked_fd_number_reaches_nothing_inside() {
    let _g = lock();
    let dir = TempDir::new("leak");
    let leaks = Leaks::open(&dir);
    // Even a program that guesses the leaked numbers finds nothing behind them.
    let script = leaks
        .0
        .iter()
        .map(|fd| format!("ls /proc/self/fd/{fd}/ 2>/dev/null && echo LEAK-{fd}; cat <&{fd} 2>/dev/null && echo READ-{fd};"))
        .collect::<String>();
    let out = run(ContainerBuilder::new(sh(&script)));
    assert!(!out.stdout.contains("LEAK") && !out.stdout.contains("READ") && !out.stdout.contains("host-secret"), "{out:?}");
    // Sanity: the fds are really open here.
    // SAFETY: fcntl F_GETFD on our own fds.
    assert!(leaks.0.iter().all(|fd| unsafe { libc::fcntl(*fd, libc::F_GETFD) } >= 0));
}
