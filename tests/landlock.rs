//! Landlock on the real kernel: writes outside the allowed paths fail with EACCES, a
//! read-only path is readable, TCP connects to a port without a rule fail with EACCES
//! while an allowed port reaches the network stack (and an echo listener on an allowed
//! bind port answers through it), the program cannot lift it, the ABI
//! is negotiated (best effort drops and reports, required refuses before any clone), and
//! bad or missing paths are typed errors that leave nothing behind.

mod common;

use cocoon::{ContainerBuilder, Error, FsAccess, Landlock, LandlockMode, Mount, Namespaces, Stage};
use common::*;

/// Landlock ABI the running kernel has (these tests need at least 4: TCP rules).
fn kernel_abi() -> i64 {
    // SAFETY: the version query of landlock_create_ruleset creates nothing.
    unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<u8>(), 0usize, 1u32) }
}

/// Read and execute everywhere, write only in the /scratch tmpfs.
fn scratch_only() -> Landlock {
    Landlock::new().read("/").execute("/").read_write("/scratch")
}

fn with_scratch(script: &str) -> ContainerBuilder {
    ContainerBuilder::new(sh(script)).mount(Mount::tmpfs("/scratch"))
}

const WRITES: &str = "echo in > /scratch/a && cat /scratch/a; \
                      echo out > /tmp/x 2>&1 || echo tmp-denied; \
                      cat /data/f; echo changed > /data/f || echo data-denied; \
                      ls /tmp";

#[test]
fn writes_only_beneath_read_write_paths() {
    let _g = lock();
    assert!(kernel_abi() >= 1, "this kernel has no Landlock");
    let dir = TempDir::new("landlock-data");
    std::fs::write(dir.join("f"), "host-file\n").unwrap();
    let build = |l: Option<Landlock>| {
        let b = with_scratch(WRITES).mount(Mount::bind(dir.path(), "/data"));
        match l {
            Some(l) => b.landlock(l),
            None => b,
        }
    };
    // Control: without a ruleset /tmp and the rw bind are writable.
    let out = run(build(None)).ok().stdout;
    assert!(!out.contains("tmp-denied") && !out.contains("data-denied") && out.lines().any(|l| l == "x"), "control: {out}");
    std::fs::write(dir.join("f"), "host-file\n").unwrap();

    let o = run(build(Some(scratch_only()))).ok();
    assert!(o.stdout.starts_with("in\n"), "write beneath /scratch: {o:?}");
    assert!(o.stdout.contains("tmp-denied") && o.stderr.contains("Permission denied"), "{o:?}");
    assert!(o.stdout.contains("host-file"), "the read-only bind is readable: {o:?}");
    assert!(o.stdout.contains("data-denied"), "the read-only bind is not writable: {o:?}");
    assert!(!o.stdout.lines().any(|l| l == "x"), "/tmp/x was created: {o:?}");
    assert_eq!(std::fs::read_to_string(dir.join("f")).unwrap(), "host-file\n");
}

#[test]
fn the_errno_is_eacces() {
    let _g = lock();
    // dash reports the open's errno by name; busybox's touch via strerror too.
    let out = run(with_scratch("touch /tmp/y 2>&1; echo rc=$?").landlock(scratch_only())).ok().stdout;
    assert!(out.contains("Permission denied") && out.contains("rc=1"), "{out}");
}

#[test]
fn the_program_cannot_lift_it() {
    let _g = lock();
    // A new mount over /tmp, a rename of it, a new shell: Landlock refuses mounts to a
    // restricted process and stays across exec; the write is still refused.
    let script = "mount -t tmpfs none /tmp 2>&1; mv /tmp /tmp2 2>&1; \
                  /bin/sh -c 'echo out > /tmp/x' 2>&1 || echo still-denied; \
                  exec /bin/sh -c 'echo out > /tmp/z || echo still-denied-after-exec'";
    let out = run(with_scratch(script).landlock(scratch_only())).stdout;
    assert!(out.contains("still-denied\n") && out.contains("still-denied-after-exec"), "{out}");
}

#[test]
fn only_the_program_is_executable_without_an_execute_rule() {
    let _g = lock();
    // The program's PATH candidates get EXECUTE automatically; its loader does not.
    let l = Landlock::new().read("/").read_write("/scratch");
    let e = with_scratch("true").landlock(l.clone()).spawn().err();
    let Some(Error::Setup { stage: Stage::Exec, source, .. }) = &e else { panic!("{e:?}") };
    assert_eq!(source.raw_os_error(), Some(libc::EACCES), "{e:?}");
    // With the loader's and libraries' directories executable the shell runs, but
    // another program does not.
    let l = l.execute("/usr/lib").execute("/usr/lib64");
    let out = run(with_scratch("/usr/bin/id -u 2>&1; echo rc=$?").landlock(l)).ok().stdout;
    assert!(out.contains("Permission denied") && out.contains("rc=126"), "{out}");
}

#[test]
fn tcp_connect_only_to_allowed_ports() {
    let _g = lock();
    assert!(kernel_abi() >= 4, "TCP rules need Landlock ABI 4");
    // Nothing listens in the new network namespace: an allowed port reaches the stack
    // (connection refused), a port without a rule is refused by Landlock (EACCES).
    let script = "busybox nc -w 2 127.0.0.1 8001 </dev/null 2>&1; \
                  busybox nc -w 2 127.0.0.1 8002 </dev/null 2>&1; \
                  busybox timeout 1 busybox nc -l -p 8003 </dev/null 2>&1; echo listen=$?";
    let b = ContainerBuilder::new(sh(script))
        .namespaces(Namespaces::default() | Namespaces::NET)
        .landlock(Landlock::new().connect_port(8001));
    let c = b.prepare().unwrap();
    assert_eq!(c.landlock_status().map(|s| s.dropped().len()), Some(0));
    let mut ct = c.spawn().unwrap();
    let o = collect(&mut ct);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert!(lines.first().is_some_and(|l| l.contains("Connection refused")), "8001: {o:?}");
    assert!(lines.get(1).is_some_and(|l| l.contains("Permission denied")), "8002: {o:?}");
    // Only connect is handled: binding stays allowed (the listener is killed by timeout).
    assert!(o.stdout.contains("listen=143"), "bind not handled: {o:?}");

    // A real round trip through the allowed port to an echo listener bound to it (an
    // allowed bind port): the client retries until the listener is up.
    let script = "busybox nc -l -p 8001 -e cat & \
                  for i in $(seq 300); do r=$(echo hello | busybox nc -w 2 127.0.0.1 8001 2>/dev/null) && break; sleep 0.1; done; \
                  kill $! 2>/dev/null; wait; echo got=$r";
    let out = run(
        ContainerBuilder::new(sh(script).stdin(cocoon::Stdio::Null))
            .namespaces(Namespaces::default() | Namespaces::NET)
            .landlock(Landlock::new().read("/").execute("/").read_write("/dev/null").connect_port(8001).bind_port(8001)),
    )
    .ok()
    .stdout;
    assert_eq!(out, "got=hello\n");

    let out = run(
        ContainerBuilder::new(sh("busybox nc -l -p 8004 </dev/null 2>&1; echo listen=$?"))
            .namespaces(Namespaces::default() | Namespaces::NET)
            .landlock(Landlock::new().bind_port(8003)),
    )
    .stdout;
    assert!(out.contains("Permission denied") && out.contains("listen=1"), "bind 8004: {out}");
}

#[test]
fn required_mode_refuses_rights_above_the_abi_before_any_clone() {
    let _g = lock();
    let before = snapshot();
    // ABI 4 lacks IOCTL_DEV (ABI 5), which read_write includes.
    let l = scratch_only().max_abi(4).mode(LandlockMode::Required);
    let e = with_scratch("true").landlock(l).spawn().err();
    let Some(Error::Unsupported { what: "landlock", reason }) = &e else { panic!("{e:?}") };
    assert!(reason.contains("/scratch: IOCTL_DEV needs ABI 5"), "{reason}");
    // A right no ABI has (a future one), asked for as bits.
    let future = Landlock::new().allow("/", FsAccess::READ | FsAccess::from_bits_retain(1 << 50));
    let e = with_scratch("true").landlock(future.clone().mode(LandlockMode::Required)).spawn().err();
    assert!(matches!(e, Some(Error::Unsupported { .. })), "{e:?}");
    assert_unchanged(&before, &snapshot(), "refused landlock");
    assert_no_children();
}

#[test]
fn best_effort_drops_and_reports() {
    let _g = lock();
    let b = with_scratch(WRITES.split(';').take(2).collect::<Vec<_>>().join(";").as_str())
        .landlock(scratch_only().max_abi(4));
    let plan = b.prepare().unwrap();
    let st = plan.landlock_status().unwrap();
    assert_eq!((st.abi(), st.applied()), (4, true));
    assert!(st.kernel_abi() >= 4);
    assert_eq!(st.dropped(), ["/scratch: IOCTL_DEV"]);
    let mut c = plan.spawn().unwrap();
    assert_eq!(c.landlock_status().map(|s| s.dropped().len()), Some(1));
    let o = collect(&mut c);
    assert!(o.stdout.starts_with("in\n") && o.stdout.contains("tmp-denied"), "{o:?}");
    // The future right is dropped, the rest applies.
    let future = Landlock::new().allow("/", FsAccess::READ | FsAccess::EXECUTE | FsAccess::from_bits_retain(1 << 50));
    let plan = with_scratch("echo x > /scratch/a || echo denied").landlock(future).prepare().unwrap();
    assert_eq!(plan.landlock_status().unwrap().dropped(), ["/: 0x4000000000000"]);
    let out = run_plan(&plan);
    assert!(out.contains("denied"), "{out}");
}

fn run_plan(p: &cocoon::Plan) -> String {
    let mut c = p.spawn().unwrap();
    collect(&mut c).stdout
}

#[test]
fn bad_and_missing_paths_are_typed_errors() {
    let _g = lock();
    let before = snapshot();
    for bad in ["relative/path", "/a/../etc", "/a\0b"] {
        let e = with_scratch("true").landlock(Landlock::new().read(bad)).spawn().err();
        assert!(matches!(e, Some(Error::InvalidConfig { what: "landlock path", .. })), "{bad}: {e:?}");
    }
    let e = with_scratch("true").landlock(scratch_only().read("/does/not/exist")).spawn().err();
    let Some(Error::Setup { stage: Stage::Landlock, detail, source }) = &e else { panic!("{e:?}") };
    assert_eq!(source.raw_os_error(), Some(libc::ENOENT));
    assert!(detail.contains("/does/not/exist"), "{detail}");
    assert_unchanged(&before, &snapshot(), "landlock errors");
    assert_no_children();
}

#[test]
fn exec_into_the_container_and_its_init_are_under_the_ruleset() {
    let _g = lock();
    // The container's program waits on stdin; an exec'd shell gets the same ruleset.
    let mut c = ContainerBuilder::new(sh("read x; true").stdin(cocoon::Stdio::Piped))
        .mount(Mount::tmpfs("/scratch"))
        .landlock(scratch_only())
        .spawn()
        .unwrap();
    let mut p = c.exec(&sh("echo in > /scratch/e && cat /scratch/e; echo out > /tmp/x || echo tmp-denied")).unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut p.take_stdout().unwrap(), &mut out).unwrap();
    assert!(p.wait().unwrap().success(), "{out}");
    assert_eq!(out, "in\ntmp-denied\n");
    drop(c.take_stdin());
    assert!(c.wait().unwrap().success());
    // With cocoon's init as PID 1 (the helper forks, the child execs the program).
    let b = with_scratch("echo in > /scratch/a && cat /scratch/a; echo out > /tmp/x || echo tmp-denied")
        .init(true)
        .landlock(scratch_only());
    let o = run(b).ok();
    assert_eq!(o.stdout, "in\ntmp-denied\n", "{o:?}");
}

#[test]
fn a_program_symlinked_to_a_directory_widens_nothing() {
    let _g = lock();
    // The image's program is a symlink to "/": the automatic EXECUTE|READ_FILE rule for
    // it must not become a rule on the whole root. The container runs /bin/sh by name
    // through PATH=/img:/bin, where /img/sh -> / comes first.
    let dir = TempDir::new("landlock-img");
    std::os::unix::fs::symlink("/", dir.join("sh")).unwrap();
    let p = cocoon::Process::new("sh")
        .args(["-c", "cat /etc/hostname >/dev/null 2>&1 && echo read-ok || echo read-denied"])
        .env("PATH", "/img:/bin")
        .stdout(cocoon::Stdio::Piped)
        .stderr(cocoon::Stdio::Piped);
    // Reading and executing only beneath /usr (the shell, its loader and libraries).
    let l = Landlock::new().read("/usr").execute("/usr").read_write("/dev/null");
    let o = run(ContainerBuilder::new(p).mount(Mount::bind(dir.path(), "/img")).landlock(l)).ok();
    assert_eq!(o.stdout, "read-denied\n", "{o:?}");
}
