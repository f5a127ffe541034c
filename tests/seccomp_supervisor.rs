//! Seccomp supervisor (user notification): a container's `mount` goes to the caller, who
//! performs the one mount it allows (in the container's mount namespace) and refuses every
//! other; a dead supervisor makes the calls fail with ENOSYS (kernel behaviour) and nothing
//! hangs; requests name the calling process and its arguments are read safely; bad
//! configurations are typed errors before anything exists; exec'd processes get their own.

mod common;

use std::io::Read;
use std::time::Duration;

use cocoon::supervisor::{Notify, Received, Request, Response, Supervisor};
use cocoon::{Container, ContainerBuilder, Error, Process};
use common::*;

const BB: &str = "/bin/busybox";

fn spawn(p: Process) -> Container {
    ContainerBuilder::new(p.seccomp_notify(Notify::syscalls([libc::SYS_mount])))
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e} ({e:?})"))
}

fn next(s: &Supervisor) -> Request {
    match s.recv(Some(Duration::from_secs(20))) {
        Ok(Received::Request(r)) => r,
        other => panic!("no request: {other:?}"),
    }
}

fn string(s: &Supervisor, r: &Request, arg: usize) -> String {
    let b = s.read_c_string(r, r.args[arg], 4096).unwrap_or_else(|e| panic!("read arg {arg}: {e}"));
    String::from_utf8_lossy(&b).into_owned()
}

/// Mounts a small tmpfs at `target` in the mount namespace of `pid` (as the supervisor
/// would: it does the work, the container only asked).
fn mount_for(pid: u32, target: &str) {
    let st = std::process::Command::new("nsenter")
        .args(["-t", &pid.to_string(), "-m", "--", BB, "mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", target])
        .status()
        .unwrap_or_else(|e| panic!("nsenter: {e}"));
    assert!(st.success(), "nsenter mount failed: {st}");
}

#[test]
fn the_supervisor_allows_one_tmpfs_mount_and_refuses_every_other() {
    let _g = lock();
    let script = format!(
        "mkdir -p /tmp/ok /tmp/no; {BB} mount -t tmpfs -o size=1m tmpfs /tmp/ok; echo ok=$?; \
         {BB} mount -t proc proc /tmp/no 2>&1; echo no=$?; {BB} mount -t tmpfs tmpfs /tmp/no 2>&1; echo no2=$?; \
         grep -c ' /tmp/ok ' /proc/self/mountinfo; grep -c ' /tmp/no ' /proc/self/mountinfo; true"
    );
    let mut c = spawn(sh(&script));
    let sup = c.take_seccomp_supervisor().expect("a supervisor for a notified process");
    assert!(c.take_seccomp_supervisor().is_none(), "taken once");
    let mut seen = Vec::new();
    for _ in 0..3 {
        let r = next(&sup);
        assert_eq!(r.syscall, libc::SYS_mount);
        // The calling process is busybox's mount, in the container (a host pid here).
        let comm = std::fs::read_to_string(format!("/proc/{}/comm", r.pid)).unwrap_or_default();
        assert_eq!(comm.trim(), "busybox", "request names the caller");
        let (fstype, target) = (string(&sup, &r, 2), string(&sup, &r, 1));
        let allowed = fstype == "tmpfs" && target == "/tmp/ok";
        if allowed {
            mount_for(r.pid, &target);
            sup.respond(r.id, Response::Value(0)).unwrap();
        } else {
            sup.respond(r.id, Response::Errno(libc::EPERM)).unwrap();
        }
        seen.push((fstype, target, allowed));
    }
    let out = collect(&mut c).ok().stdout;
    assert_eq!(
        seen,
        [
            ("tmpfs".into(), "/tmp/ok".into(), true),
            ("proc".into(), "/tmp/no".into(), false),
            ("tmpfs".into(), "/tmp/no".into(), false)
        ]
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.contains(&"ok=0"), "{out}");
    // busybox's words for EPERM.
    assert!(out.matches("permission denied").count() == 2 && lines.contains(&"no=1"), "{out}");
    // The allowed tmpfs is really there, the refused ones are not.
    assert_eq!(lines.get(lines.len() - 2..), Some(&["1", "0"][..]), "{out}");
    // Nothing notified after the container ended: the listener hangs up.
    assert_eq!(sup.recv(Some(Duration::from_secs(5))).ok(), Some(Received::Ended));
}

#[test]
fn a_dead_supervisor_makes_notified_calls_fail_with_enosys_and_nothing_hangs() {
    let _g = lock();
    let mount = format!("mkdir -p /tmp/m; {BB} mount -t tmpfs tmpfs /tmp/m 2>&1; echo rc=$?");
    // A pending call: the supervisor received it and dies without answering.
    let mut c = spawn(sh(&mount));
    let sup = c.take_seccomp_supervisor().unwrap();
    let r = next(&sup);
    assert!(sup.id_valid(r.id));
    drop(sup);
    let out = collect(&mut c).ok().stdout;
    assert!(out.contains("Function not implemented") && out.contains("rc=255"), "pending: {out}");
    // Calls made after it died.
    let mut c = spawn(sh(&format!("sleep 0.2; {mount}; {mount}")));
    drop(c.take_seccomp_supervisor());
    let out = collect(&mut c).ok().stdout;
    assert_eq!(out.matches("Function not implemented").count(), 2, "after: {out}");
    assert_no_children();
}

#[test]
fn an_untaken_supervisor_goes_with_the_container() {
    let _g = lock();
    let before = snapshot();
    // The program blocks in mount (nobody answers); deleting the container ends it.
    let mut c = spawn(Process::new(BB).args(["mount", "-t", "tmpfs", "tmpfs", "/tmp"]));
    std::thread::sleep(Duration::from_millis(300));
    assert!(c.try_wait().unwrap().is_none(), "the call waits for an answer");
    c.delete().unwrap();
    assert_no_children();
    assert_unchanged(&before, &snapshot(), "an untaken supervisor");
}

#[test]
fn memory_reads_are_bounded_and_answers_checked() {
    let _g = lock();
    // 3,000 bytes in components of 200 (NAME_MAX is 255): the string spans pages.
    let long = vec!["x".repeat(199); 15].join("/");
    let mut c = spawn(sh(&format!("mkdir -p /tmp/{long}; {BB} mount -t tmpfs tmpfs /tmp/{long} 2>&1; echo rc=$?")));
    let sup = c.take_seccomp_supervisor().unwrap();
    let r = next(&sup);
    // Longer than allowed: a typed error, not a truncated string.
    let e = sup.read_c_string(&r, r.args[1], 100).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENAMETOOLONG), "{e}");
    assert_eq!(string(&sup, &r, 1), format!("/tmp/{long}"), "across pages");
    // A raw read of the first bytes.
    let mut buf = [0u8; 5];
    assert_eq!(sup.read_memory(&r, r.args[1], &mut buf).unwrap(), 5);
    assert_eq!(&buf, b"/tmp/");
    assert!(matches!(sup.respond(r.id, Response::Errno(0)), Err(Error::InvalidConfig { .. })));
    // (busybox retries read-only after EACCES or EROFS: answer with another errno.)
    sup.respond(r.id, Response::Errno(libc::EBUSY)).unwrap();
    // Answered: no longer valid, and a second answer is refused by the kernel (EINPROGRESS
    // while the caller has not picked the first up yet, ENOENT after).
    assert!(!sup.id_valid(r.id));
    let again = sup.respond(r.id, Response::Value(0)).unwrap_err().raw_os_error();
    assert!(matches!(again, Some(libc::ENOENT | libc::EINPROGRESS)), "{again:?}");
    let out = collect(&mut c).ok().stdout;
    assert!(out.contains("Device or resource busy") && out.contains("rc=255"), "{out}");
    // Reading a request that is gone: ESRCH (the pid may be reused by now).
    assert!(sup.read_memory(&r, r.args[1], &mut buf).is_err());
}

#[test]
fn an_exec_into_a_running_container_has_its_own_supervisor() {
    let _g = lock();
    let mut c = ContainerBuilder::new(Process::new(BB).args(["sleep", "30"])).spawn().unwrap();
    assert!(c.take_seccomp_supervisor().is_none(), "no notify, no supervisor");
    let p = Process::new(BB)
        .args(["sh", "-c", "mkdir -p /tmp/e; busybox mount -t tmpfs tmpfs /tmp/e 2>&1; echo rc=$?"])
        .env("PATH", PATH)
        .stdout(cocoon::Stdio::Piped)
        .seccomp_notify(Notify::syscalls([libc::SYS_mount, libc::SYS_umount2]));
    let mut e = c.exec(&p).unwrap();
    let sup = e.take_seccomp_supervisor().expect("the exec'd process's supervisor");
    let r = next(&sup);
    assert_eq!(string(&sup, &r, 1), "/tmp/e");
    sup.respond(r.id, Response::Errno(libc::ENODEV)).unwrap();
    let mut out = String::new();
    e.take_stdout().unwrap().read_to_string(&mut out).unwrap();
    assert!(e.wait().unwrap().success());
    assert!(out.contains("No such device") && out.contains("rc=255"), "{out}");
    c.delete().unwrap();
}

#[test]
fn bad_notify_configurations_are_typed_errors_and_leave_nothing() {
    let _g = lock();
    let before = snapshot();
    let cases: [(Notify, &str); 4] = [
        (Notify::syscalls([]), "names no syscall"),
        (Notify::syscalls([5000]), "not a syscall number"),
        (Notify::syscalls([libc::SYS_mount, libc::SYS_execve]), "execve cannot be notified"),
        (Notify::syscalls(0..300), "at most 256"),
    ];
    for (n, want) in cases {
        match ContainerBuilder::new(Process::new(BB).arg("true").seccomp_notify(n)).spawn() {
            Err(Error::InvalidConfig { ref reason, .. }) if reason.contains(want) => {}
            other => panic!("{want}: {other:?}"),
        }
    }
    assert_no_children();
    assert_unchanged(&before, &snapshot(), "refused notify configurations");
}

#[test]
fn a_profiles_notify_rules_go_to_the_supervisor() {
    use cocoon::seccomp::{Action, Profile, Rule};
    let _g = lock();
    let script =
        format!("mkdir -p /tmp/p; {BB} mount -t tmpfs tmpfs /tmp/p 2>&1; echo rc=$?; unshare -U true 2>&1; echo u=$?");
    // The typed profile (default allow, mount notified) and its Docker JSON form.
    let typed = Profile::new(Action::Allow)
        .rule(Rule::new(Action::Notify, ["mount"]))
        .rule(Rule::new(Action::Errno(libc::EPERM as u32), ["unshare"]));
    let json = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mount"], "action": "SCMP_ACT_NOTIFY"},
        {"names": ["unshare"], "action": "SCMP_ACT_ERRNO"}]}"#;
    for p in [sh(&script).seccomp_profile(typed), sh(&script).seccomp_profile_json(json)] {
        let mut c = ContainerBuilder::new(p).spawn().unwrap_or_else(|e| panic!("spawn: {e} ({e:?})"));
        let sup = c.take_seccomp_supervisor().expect("a profile with notify rules has a supervisor");
        let r = next(&sup);
        assert_eq!((r.syscall, string(&sup, &r, 1)), (libc::SYS_mount, "/tmp/p".to_string()));
        sup.respond(r.id, Response::Errno(libc::EBUSY)).unwrap();
        let out = collect(&mut c).ok().stdout;
        // The supervisor's answer, and the profile's other rule still in force.
        assert!(out.contains("Device or resource busy") && out.contains("rc=255"), "{out}");
        assert!(out.contains("Operation not permitted") && out.contains("u=1"), "{out}");
    }
    // A notify rule with argument conditions is refused before anything exists.
    let cond = Profile::new(Action::Allow).rule(Rule::new(Action::Notify, ["mount"]).arg(cocoon::seccomp::Arg::new(
        3,
        cocoon::seccomp::Op::Eq,
        0,
    )));
    match ContainerBuilder::new(Process::new(BB).arg("true").seccomp_profile(cond)).spawn() {
        Err(Error::Seccomp(cocoon::seccomp::ProfileError::Notify { rule: Some(0) })) => {}
        other => panic!("{other:?}"),
    }
}
