//! Device nodes (Docker's default device policy): root inside keeps CAP_MKNOD, so on a
//! `/dev` (or `/tmp`, or root) without `nodev` and with no device policy it could
//! `mknod /dev/x b 7 0` and read and write a host loop device, write the host kernel log
//! through `c 1 11`, open `/dev/kvm` or `/dev/mem`. cocoon gives every container a device
//! policy (deny all but null, zero, full, random, urandom, tty, console, ptmx and pts; on
//! this hybrid host through the v1 devices controller for containers with limits and an
//! eBPF program on the unified hierarchy for those without; pure v2 in tests/vm_devices.rs)
//! and mounts every tmpfs and the root `nodev`, except the device binds.

mod common;

use cocoon::cgroup::{CgroupConfig, DeviceRule};
use cocoon::{ContainerBuilder, IdRange, Mount, Namespaces, Rootfs};
use common::*;

/// (name, type, major, minor) of nodes a container must never get to use.
const FORBIDDEN: &[(&str, &str, u32, u32)] =
    &[("loop0", "b", 7, 0), ("kmsg", "c", 1, 11), ("kvm", "c", 10, 232), ("mem", "c", 1, 1)];

/// A script that tries mknod + open (read and write) of each forbidden node in `/dev`,
/// `/tmp`, a user tmpfs at `/scratch` and `/`, printing `MADE`/`OPENED` lines.
fn forbidden_script() -> String {
    let mut s = String::from(
        "try() { for d in /dev /tmp /scratch ''; do p=$d/cocoon-node-$1; \
           if mknod $p $2 $3 $4 2>/dev/null; then echo \"MADE $1 in $d/\"; \
             if (: < $p) 2>/dev/null || (: > $p) 2>/dev/null; then echo \"OPENED $1 in $d/\"; fi; rm -f $p; \
           fi; done; }; ",
    );
    for (name, t, maj, min) in FORBIDDEN {
        s.push_str(&format!("try {name} {t} {maj} {min}; "));
    }
    s.push_str("echo done");
    s
}

fn builder(script: &str) -> ContainerBuilder {
    ContainerBuilder::new(sh(script)).mount(Mount::tmpfs("/scratch"))
}

fn assert_refused(out: &str, what: &str) {
    assert!(out.ends_with("done\n"), "{what}: the script did not finish: {out}");
    assert!(!out.contains("OPENED"), "{what}: a forbidden device node was opened:\n{out}");
    assert!(!out.contains("MADE"), "{what}: a forbidden device node was created (mknod must be refused):\n{out}");
}

/// Where a container without limits gets its policy-only cgroup: the unified hierarchy of
/// this hybrid host (an eBPF device program), else the v1 devices hierarchy.
fn policy_base() -> &'static str {
    if std::path::Path::new("/sys/fs/cgroup/unified/cgroup.procs").exists() {
        "/sys/fs/cgroup/unified"
    } else {
        "/sys/fs/cgroup/devices"
    }
}

fn devices_dir(id: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("{}/cocoon/{id}", policy_base()))
}

/// The unified-hierarchy cgroup of a running process, as the host sees it.
fn v2_cgroup_of(pid: i32) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    text.lines().find_map(|l| l.strip_prefix("0::")).unwrap_or("").to_string()
}

/// The machine's shared policy directory a container with a PID namespace and no cgroup
/// of its own runs in (`cocoon.devices-<hash>` at the unified root).
fn in_shared_policy_dir(pid: i32) -> bool {
    v2_cgroup_of(pid).starts_with("/cocoon.devices-")
}

/// Namespaces without PID: such a container gets a policy cgroup of its own.
fn no_pid_ns() -> Namespaces {
    Namespaces::DEFAULT - Namespaces::PID
}

#[test]
fn forbidden_nodes_cannot_be_made_or_opened_with_library_defaults() {
    let _g = lock();
    let id = format!("devnodes-default-{}", std::process::id());
    let out = run_ok(builder(&forbidden_script()).id(&id));
    assert_refused(&out, "defaults, no cgroup config");
    assert!(!devices_dir(&id).exists(), "a container with a PID namespace gets no policy cgroup of its own");
    // Without a PID namespace: a policy cgroup of its own, removed with the container.
    let out = run_ok(builder(&forbidden_script()).namespaces(no_pid_ns()).id(&id));
    assert_refused(&out, "defaults without a PID namespace");
    assert!(!devices_dir(&id).exists(), "the policy-only cgroup is removed with the container");
}

#[test]
fn containers_without_a_cgroup_share_one_policy_directory_that_a_dead_cocoon_left_half_made() {
    let _g = lock();
    if policy_base() != "/sys/fs/cgroup/unified" {
        return; // a v1-only host: every container has a devices cgroup of its own
    }
    let spawn_sleeper = |ns: Namespaces| {
        ContainerBuilder::new(cocoon::Process::new("/bin/sleep").arg("30").stdin(cocoon::Stdio::Null))
            .namespaces(ns)
            .mount(Mount::bind("/dev/kmsg", "/dev/host-kmsg").nodev(false))
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn_sleeper(Namespaces::DEFAULT), spawn_sleeper(Namespaces::DEFAULT));
    let shared = v2_cgroup_of(a.pid());
    assert!(in_shared_policy_dir(a.pid()), "born in the shared policy directory: {shared}");
    assert_eq!(v2_cgroup_of(b.pid()), shared, "both containers share it");
    let own = spawn_sleeper(no_pid_ns());
    assert!(!in_shared_policy_dir(own.pid()), "no PID namespace: a cgroup of its own ({})", v2_cgroup_of(own.pid()));
    let dir = std::path::PathBuf::from(format!("/sys/fs/cgroup/unified{shared}"));
    // Held while containers run in it: an explicit sweep keeps it.
    assert!(!cocoon::cgroup::sweep_stale(None).unwrap().contains(&dir));
    assert!(dir.is_dir());
    drop((a, b, own));
    // Empty: the explicit sweep removes it (the one directory cocoon keeps between processes).
    assert!(cocoon::cgroup::sweep_stale(None).unwrap().contains(&dir), "an explicit sweep removes it when empty");
    assert!(!dir.exists());
    // A cocoon killed between mkdir and attach leaves it without a program: the next one
    // attaches it, so the policy holds (a process of this test spawns in another process
    // would find the dir the same way).
    std::fs::create_dir(&dir).unwrap();
    let c = spawn_sleeper(Namespaces::DEFAULT);
    assert_eq!(v2_cgroup_of(c.pid()), shared);
    let mut p = c.exec(&sh("(: > /dev/host-kmsg) 2>&1; true")).unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut p.take_stdout().unwrap(), &mut out).unwrap();
    assert!(p.wait().unwrap().success());
    assert!(out.contains("not permitted"), "the completed directory enforces the policy: {out}");
    drop(c);
    assert!(cocoon::cgroup::sweep_stale(None).unwrap().contains(&dir));
}

#[test]
fn forbidden_nodes_cannot_be_made_or_opened_with_limits_and_image_roots() {
    let _g = lock();
    // With a cgroup configuration (the policy comes before its rules).
    let out = run_ok(builder(&forbidden_script()).cgroup(CgroupConfig::new().pids_max(64)));
    assert_refused(&out, "with pids limit");
    // A directory root and an overlay root (writable roots must be nodev too).
    let img = TempDir::new("devimg");
    busybox_root(img.path());
    std::os::unix::fs::symlink("busybox", img.join("bin/mknod")).unwrap();
    std::fs::create_dir_all(img.join("scratch")).unwrap();
    let out = run_ok(builder(&forbidden_script()).rootfs(Rootfs::directory(img.path())));
    assert_refused(&out, "directory root");
    let layers = TempDir::new("devlayers");
    for d in ["upper", "work"] {
        std::fs::create_dir_all(layers.join(d)).unwrap();
    }
    let out = run_ok(builder(&forbidden_script()).rootfs(Rootfs::layers([img.path()], layers.join("upper"), layers.join("work"))));
    assert_refused(&out, "overlay root");
}

#[test]
fn forbidden_nodes_are_refused_in_a_user_namespace_of_a_root_caller() {
    let _g = lock();
    // Root inside maps to host root, so only the device policy stands between it and a
    // host node bound in without nodev.
    let script = format!("{}; (: > /dev/host-kmsg) 2>&1 && echo OPENED host kmsg; true", forbidden_script());
    let out = run_ok(
        builder(&script)
            .namespaces(Namespaces::DEFAULT | Namespaces::USER)
            .uid_map([IdRange::new(0, 0, 65536)])
            .gid_map([IdRange::new(0, 0, 65536)])
            .mount(Mount::bind("/dev/kmsg", "/dev/host-kmsg").nodev(false)),
    );
    assert!(!out.contains("OPENED"), "user namespace: a forbidden device was opened:\n{out}");
    assert!(out.contains("not permitted"), "the device policy (EPERM) refused it: {out}");
}

#[test]
fn host_device_nodes_bound_in_without_nodev_are_refused() {
    let _g = lock();
    let mut b = ContainerBuilder::new(sh(
        "for d in kmsg kvm loop0; do [ -e /dev/host-$d ] || continue; \
           (: < /dev/host-$d) 2>/dev/null && echo OPENED $d; (: > /dev/host-$d) 2>&1 && echo OPENED $d; done; echo done",
    ));
    for d in ["kmsg", "kvm", "loop0"] {
        if std::path::Path::new(&format!("/dev/{d}")).exists() {
            b = b.mount(Mount::bind(format!("/dev/{d}"), format!("/dev/host-{d}")).nodev(false));
        }
    }
    let out = run_ok(b);
    assert!(!out.contains("OPENED"), "a host device bound in was opened:\n{out}");
    assert!(out.contains("not permitted"), "the device policy (EPERM) refused it: {out}");
}

#[test]
fn allowed_devices_work() {
    let _g = lock();
    let out = run_ok(ContainerBuilder::new(sh(
        "echo x > /dev/null && echo null; \
         head -c 4 /dev/zero | wc -c; \
         (exec 3>/dev/full) && echo full; \
         head -c 4 /dev/urandom | wc -c; head -c 4 /dev/random | wc -c; \
         (: < /dev/tty) 2>&1 | grep -q 'not permitted' || echo tty; \
         /usr/bin/python3 -c 'import os; m, s = os.openpty(); print(\"pts\", os.major(os.fstat(s).st_rdev))'",
    )));
    assert_eq!(out, "null\n4\nfull\n4\n4\ntty\npts 136\n");
}

#[test]
fn allowed_nodes_made_on_tmpfs_or_root_are_unusable_nodev() {
    let _g = lock();
    // c 1:3 may be created (the policy allows mknod for it) but not opened: nodev.
    let out = run_ok(builder(
        "for d in /dev /tmp /scratch ''; do mknod $d/mynull c 1 3 && { (echo x > $d/mynull) 2>&1 | grep -q 'Permission denied' && echo nodev $d/; }; done",
    ));
    assert_eq!(out, "nodev /dev/\nnodev /tmp/\nnodev /scratch/\nnodev /\n");
}

#[test]
fn a_user_device_rule_allows_one_more_device() {
    let _g = lock();
    // kmsg opened for writing only, and nothing written.
    let script = "(: > /dev/host-kmsg) 2>&1 && echo kmsg; echo x > /dev/null && echo null; (: < /dev/host-mem-like) 2>/dev/null || echo other-refused";
    let b = |cfg: Option<CgroupConfig>| {
        let b = ContainerBuilder::new(sh(script))
            .mount(Mount::bind("/dev/kmsg", "/dev/host-kmsg").nodev(false))
            .mount(Mount::bind("/dev/loop0", "/dev/host-mem-like").nodev(false));
        match cfg {
            Some(c) => b.cgroup(c),
            None => b,
        }
    };
    let out = run_ok(b(Some(CgroupConfig::new().device_rule(DeviceRule::allow_char(1, 11)))));
    assert_eq!(out, "kmsg\nnull\nother-refused\n", "the rule allows kmsg, the rest of the policy holds");
    let out = run_ok(b(None));
    assert!(out.contains("not permitted") && !out.contains("kmsg\n"), "without the rule kmsg is refused: {out}");
}

#[test]
fn processes_exec_ed_into_a_container_get_the_policy_too() {
    let _g = lock();
    let id = format!("devnodes-exec-{}", std::process::id());
    let c = ContainerBuilder::new(cocoon::Process::new("/bin/sleep").arg("30").stdin(cocoon::Stdio::Null))
        .mount(Mount::bind("/dev/kmsg", "/dev/host-kmsg").nodev(false))
        .id(&id)
        .spawn()
        .unwrap();
    // The shared policy directory carries the policy, but the container still has no
    // cgroup of the caller's.
    assert!(in_shared_policy_dir(c.pid()), "the shared policy directory carries the policy: {}", v2_cgroup_of(c.pid()));
    assert!(c.cgroup_path().is_none() && c.pause().is_err(), "no user-visible cgroup was asked for");
    let mut p = c.exec(&sh(&format!("{}; (: > /dev/host-kmsg) 2>&1 && echo OPENED host kmsg; true", forbidden_script()))).unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut p.take_stdout().unwrap(), &mut out).unwrap();
    assert!(p.wait().unwrap().success(), "{out}");
    assert!(!out.contains("OPENED") && !out.contains("MADE"), "exec: a forbidden device was made or opened:\n{out}");
    assert!(out.contains("not permitted"), "the device policy (EPERM) refused it: {out}");
    c.delete().unwrap();
    assert!(!devices_dir(&id).exists(), "never had one of its own");
}

#[test]
fn a_detached_container_keeps_running_under_its_policy() {
    let _g = lock();
    let id = format!("devnodes-detach-{}", std::process::id());
    let tmp = TempDir::new("detach");
    let out = tmp.join("kmsg");
    // Without a PID namespace, so that it has a policy cgroup of its own to sweep later.
    let c = ContainerBuilder::new(cocoon::Process::new("/bin/sh").args([
        "-c",
        "sleep 0.3; (: > /dev/host-kmsg) 2>/out/kmsg; echo $? >> /out/kmsg",
    ]))
    .namespaces(no_pid_ns())
    .mount(Mount::bind("/dev/kmsg", "/dev/host-kmsg").nodev(false))
    .mount(Mount::bind(tmp.path(), "/out"))
    .id(&id)
    .spawn()
    .unwrap();
    let pid = c.detach();
    // If the test fails half-way: kill and reap the child, remove its cgroup.
    struct Owned(std::path::PathBuf, std::cell::Cell<i32>);
    impl Drop for Owned {
        fn drop(&mut self) {
            if self.1.get() > 0 {
                // SAFETY: our own detached child, not reaped yet (so the pid is still ours).
                unsafe { libc::kill(self.1.get(), libc::SIGKILL) };
                // SAFETY: reaping it; a zeroed siginfo_t is valid.
                let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
                // SAFETY: as above.
                unsafe { libc::waitid(libc::P_PID, self.1.get() as libc::id_t, &mut info, libc::WEXITED | libc::__WALL) };
            }
            let t = std::time::Instant::now();
            while std::fs::remove_dir(&self.0).is_err() && self.0.exists() && t.elapsed().as_secs() < 5 {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let _ = std::fs::remove_dir(format!("{}/cocoon", policy_base()));
        }
    }
    let owned = Owned(devices_dir(&id), std::cell::Cell::new(pid));
    assert!(devices_dir(&id).is_dir(), "the policy cgroup stays with the detached container");
    // SAFETY: siginfo_t is plain data; waitid reaps the detached child we own.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer; pid is our child.
    assert_eq!(unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::__WALL) }, 0);
    owned.1.set(0);
    // SAFETY: filled by a successful waitid.
    assert_eq!((info.si_code, unsafe { info.si_status() }), (libc::CLD_EXITED, 0), "not killed by the detach");
    let said = std::fs::read_to_string(&out).unwrap();
    assert!(said.contains("not permitted"), "the policy still applied after detach: {said}");
    // The next spawn of this process removes the ended detached container's cgroup.
    run_ok(ContainerBuilder::new(sh("true")));
    assert!(!devices_dir(&id).exists(), "the detached container's cgroup was swept once it ended");
}
