//! CVE-2019-5736 and CVE-2016-9962: a process joining the container must not expose the
//! host binary (cocoon runs in-process: the "runtime binary" is this test executable).
//! - The exec'd process, once running, is the container's program: its
//!   `/proc/<pid>/exe` is the container binary, never the host executable, and it holds
//!   no host fd.
//! - cocoon's init (init(true)) is the sealed exec helper in its init mode, never a copy
//!   of the host: its `/proc/1/exe` is a sealed memfd. It is non-dumpable, so the
//!   container (root, default capabilities) cannot open its `/proc/1/exe`, `mem`,
//!   `environ`, `fd`, nor ptrace it; and where a fully capable root in a user namespace
//!   can (the init exec'd in that namespace), all it reaches is the read-only helper.

mod common;

use std::os::unix::fs::MetadataExt;

use cocoon::{ContainerBuilder, Namespaces, Process, Rootfs, Stdio};
use common::*;

fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    let (a, b) = (std::fs::metadata(a).unwrap(), std::fs::metadata(b).unwrap());
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

#[test]
fn exec_d_process_is_the_container_binary() {
    let _g = lock();
    let me = std::env::current_exe().unwrap();
    let root = TempDir::new("img");
    busybox_root(root.path());
    let c = ContainerBuilder::new(Process::new("/bin/sleep").arg("1000"))
        .namespaces(Namespaces::DEFAULT - Namespaces::NET)
        .rootfs(Rootfs::directory(root.path()))
        .spawn()
        .unwrap();
    let p = c.exec(&Process::new("/bin/sleep").arg("1000").stdout(Stdio::Null)).unwrap();
    let exe = std::path::PathBuf::from(format!("/proc/{}/exe", p.pid()));
    assert!(same_file(&exe, &root.join("bin/busybox")), "exe of the exec'd process is not the image's busybox");
    assert!(!same_file(&exe, &me), "the exec'd process runs the host binary");
    assert_eq!(std::fs::read_dir(format!("/proc/{}/fd", p.pid())).unwrap().count(), 3, "host fds held by the exec'd process");
    // From inside, the exec'd process's exe is reachable only as the container binary.
    let mut q = c.exec(&sh("readlink /proc/self/exe; for p in /proc/[0-9]*; do readlink $p/exe; done | sort -u")).unwrap();
    let mut s = String::new();
    std::io::Read::read_to_string(&mut q.take_stdout().unwrap(), &mut s).unwrap();
    assert!(q.wait().unwrap().success());
    for l in s.lines() {
        assert_eq!(l, "/bin/busybox", "a host binary is visible inside: {s}");
    }
    p.kill(libc::SIGKILL).unwrap();
    drop(p);
    c.delete().unwrap();
}

#[test]
fn init_is_not_dumpable_and_its_exe_is_out_of_reach() {
    let _g = lock();
    let me = std::env::current_exe().unwrap();
    let script = "echo ppid=$PPID; \
                  for f in exe mem environ; do cat /proc/1/$f > /dev/null 2>&1 && echo OPENED-$f; done; \
                  readlink /proc/1/exe 2>/dev/null && echo READLINK; [ -n \"$(ls /proc/1/fd/ 2>/dev/null)\" ] && echo FDS-LISTED; \
                  ls /proc/1/root/ > /dev/null 2>&1 && echo ROOT-LINK; ls /proc/1/cwd/ > /dev/null 2>&1 && echo CWD-LINK; \
                  echo x >> /proc/1/exe 2>/dev/null && echo WROTE-EXE; \
                  stat -L -c %i /proc/1/exe 2>/dev/null && echo STAT-EXE; \
                  sleep 5 & readlink /proc/$!/exe > /dev/null && echo SIBLING-OK; kill $!; echo done";
    let mut c = ContainerBuilder::new(sh(script)).init(true).spawn().unwrap();
    // From the host, the init is the sealed helper, not this executable, and holds no fd.
    let exe = std::path::PathBuf::from(format!("/proc/{}/exe", c.pid()));
    assert!(!same_file(&exe, &me), "the init runs the host binary");
    assert_eq!(std::fs::read_link(&exe).unwrap(), std::path::Path::new("/memfd:cocoon-helper (deleted)"));
    // (Its close_range may still be running when spawn returns.)
    let t = std::time::Instant::now();
    while std::fs::read_dir(format!("/proc/{}/fd", c.pid())).unwrap().count() != 0 && t.elapsed() < std::time::Duration::from_secs(2) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(std::fs::read_dir(format!("/proc/{}/fd", c.pid())).unwrap().count(), 0, "the init holds fds");
    let out = collect(&mut c).ok().stdout;
    // Control (SIBLING-OK): the same probes work on a dumpable process of the container.
    assert_eq!(out, "ppid=1\nSIBLING-OK\ndone\n", "the container reached its init (the host binary): {out}");
}

/// Every capability the running kernel knows.
fn all_caps() -> cocoon::CapSet {
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap").unwrap().trim().parse().unwrap();
    cocoon::CapSet((1u64 << (last + 1)) - 1)
}

#[test]
fn init_reached_by_a_fully_capable_root_in_a_user_namespace_is_only_the_sealed_helper() {
    let _g = lock();
    // With an identity map (root stays kuid 0) and every capability of the container's
    // user namespace, the program has the init's uid and a superset of its capabilities,
    // and the init exec'd inside that namespace: the non-dumpable flag no longer keeps
    // it out. What it reaches must be the sealed helper, which cannot be written.
    let me = std::env::current_exe().unwrap();
    let before = std::fs::read(&me).unwrap();
    let map = [cocoon::IdRange::new(0, 0, 65_536)];
    let script = "readlink /proc/1/exe 2>/dev/null; \
                  (printf x >> /proc/1/exe) 2>/dev/null && echo WROTE-EXE; \
                  (printf x 1<> /proc/1/exe) 2>/dev/null && echo WROTE-EXE; \
                  (exec 3< /proc/1/exe; printf x 1<> /proc/self/fd/3) 2>/dev/null && echo WROTE-EXE; \
                  echo done";
    let out = run_ok(
        ContainerBuilder::new(sh(script).capabilities(cocoon::Capabilities::uniform(all_caps())))
            .uid_map(map)
            .gid_map(map)
            .init(true),
    );
    assert!(!out.contains("WROTE"), "the container wrote its init's exe: {out}");
    for l in out.lines().filter(|l| *l != "done") {
        assert_eq!(l, "/memfd:cocoon-helper (deleted)", "the init's exe is not the sealed helper: {out}");
    }
    assert!(std::fs::read(&me).unwrap() == before);
}
