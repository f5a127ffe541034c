//! Created containers (OCI's create/start split): `Plan::create` holds the container right
//! before its program's exec; `Container::start` or `cocoon::start_created` (from another
//! process, after the creator exited) runs it. And `direct_child`: the first process is
//! the caller's own child, adopted by a subreaper once the caller is gone.

mod common;

use std::path::Path;
use std::time::Duration;

use cocoon::{ContainerBuilder, Error, ExitStatus, Mount, Namespaces, Process, Stage};
use common::*;

fn builder(out: &Path, script: &str) -> ContainerBuilder {
    ContainerBuilder::new(sh(script)).namespaces(Namespaces::DEFAULT - Namespaces::NET).mount(Mount::bind(out, "/out"))
}

/// The name of a process (its `comm`).
fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).map(|s| s.trim().to_string()).unwrap_or_default()
}

#[test]
fn the_program_runs_only_once_started() {
    let _g = lock();
    let before = snapshot();
    let dir = TempDir::new("create");
    let mut c = builder(dir.path(), "echo ran > /out/marker; echo out").prepare().unwrap().create().unwrap();
    assert!(c.is_created());
    // Held by cocoon's exec helper: set up, not yet the program.
    std::thread::sleep(Duration::from_millis(200));
    assert!(!dir.join("marker").exists(), "the program ran before start");
    assert_eq!(comm(c.pid()), "cocoon-held", "the held process is the sealed helper");
    assert_eq!(c.try_wait().unwrap(), None);
    c.start().unwrap();
    assert!(!c.is_created());
    let o = collect(&mut c).ok();
    assert_eq!(o.stdout, "out\n");
    assert_eq!(std::fs::read_to_string(dir.join("marker")).unwrap(), "ran\n");
    assert!(matches!(c.start(), Err(Error::NotCreated)), "a second start is refused");
    drop(c);
    assert_unchanged(&before, &snapshot(), "create + start + wait");
    assert_no_children();
}

#[test]
fn an_init_container_is_held_too() {
    let _g = lock();
    let dir = TempDir::new("create-init");
    let mut c = builder(dir.path(), "echo ran > /out/marker; exit 7").init(true).prepare().unwrap().create().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert!(!dir.join("marker").exists());
    c.start().unwrap();
    assert_eq!(c.wait().unwrap(), ExitStatus::Exited(7));
    assert!(dir.join("marker").exists());
    drop(c);
    assert_no_children();
}

#[test]
fn dropping_a_created_container_kills_it_and_leaves_nothing() {
    let _g = lock();
    let before = snapshot();
    let dir = TempDir::new("create-drop");
    let c = builder(dir.path(), "echo ran > /out/marker").prepare().unwrap().create().unwrap();
    let pid = c.pid();
    drop(c);
    assert!(!pid_exists(pid), "the held process survived the drop");
    assert!(!dir.join("marker").exists(), "the program ran although never started");
    assert_unchanged(&before, &snapshot(), "create + drop");
    assert_no_children();
}

#[test]
fn an_exec_failure_is_reported_by_start() {
    let _g = lock();
    let c = ContainerBuilder::new(Process::new("/no/such/program")).namespaces(Namespaces::DEFAULT - Namespaces::NET);
    let mut c = c.prepare().unwrap().create().unwrap();
    match c.start() {
        Err(Error::Setup { stage: Stage::Exec, detail, source }) => {
            assert_eq!(source.raw_os_error(), Some(libc::ENOENT));
            assert!(detail.contains("/no/such/program"), "{detail}");
        }
        other => panic!("expected an exec setup error, got {other:?}"),
    }
    assert_eq!(c.wait().unwrap(), ExitStatus::Exited(127));
    drop(c);
    assert_no_children();
}

#[test]
fn a_socket_starts_it_and_is_used_once() {
    let _g = lock();
    let dir = TempDir::new("create-at");
    let sock = dir.join("start.sock");
    let mut c = builder(dir.path(), "echo ran > /out/marker").prepare().unwrap().create_at(&sock).unwrap();
    assert!(sock.exists());
    cocoon::start_created(&sock).unwrap();
    assert!(!sock.exists(), "the start socket goes once used");
    assert_eq!(c.wait().unwrap(), ExitStatus::Exited(0));
    assert!(dir.join("marker").exists());
    assert!(matches!(cocoon::start_created(&sock), Err(Error::NotCreated)));
    drop(c);
    assert_no_children();
}

#[test]
fn create_at_a_bad_path_fails_cleanly() {
    let _g = lock();
    let before = snapshot();
    let dir = TempDir::new("create-bad");
    // Exists already.
    std::fs::write(dir.join("taken"), "").unwrap();
    let plan = builder(dir.path(), "true").prepare().unwrap();
    assert!(matches!(plan.create_at(dir.join("taken")), Err(Error::Os { op: "bind", .. })));
    // Longer than a unix socket path can be.
    let long = dir.join("x".repeat(120));
    assert!(matches!(plan.create_at(&long), Err(Error::Os { .. })));
    // A setup failure after the socket was made removes it again.
    let sock = dir.join("s.sock");
    let bad = builder(dir.path(), "true").mount(Mount::bind("/no/such/source", "/x")).prepare();
    if let Ok(p) = bad {
        assert!(p.create_at(&sock).is_err());
        assert!(!sock.exists(), "a failed create left its socket");
    }
    assert!(matches!(cocoon::start_created(dir.join("never")), Err(Error::NotCreated)));
    drop(plan);
    assert_unchanged(&before, &snapshot(), "failed creates");
    assert_no_children();
}

#[test]
fn direct_child_is_our_own_child() {
    let _g = lock();
    let mut c = ContainerBuilder::new(Process::new("/bin/sleep").arg("1000"))
        .namespaces(Namespaces::DEFAULT - Namespaces::NET)
        .direct_child(true)
        .spawn()
        .unwrap();
    let status = std::fs::read_to_string(format!("/proc/{}/status", c.pid())).unwrap();
    assert_eq!(status_field(&status, "PPid"), std::process::id().to_string());
    assert_eq!(children(), vec![c.pid()], "no monitor in between");
    c.kill(libc::SIGKILL).unwrap();
    assert_eq!(c.wait().unwrap(), ExitStatus::Signaled(libc::SIGKILL));
    drop(c);
    assert_no_children();
}

/// Not a test on its own: the creator process of
/// `another_process_starts_it_after_the_creator_exited`, run as a separate process.
#[test]
#[ignore]
fn creator_process() {
    let Ok(sock) = std::env::var("COCOON_TEST_START_SOCKET") else { return };
    let out = std::env::var("COCOON_TEST_OUT").unwrap();
    let c = ContainerBuilder::new(Process::new("/bin/sh").args(["-c", "echo $PPID > /out/marker"]).env("PATH", PATH))
        .namespaces(Namespaces::DEFAULT - Namespaces::NET)
        .mount(Mount::bind(out, "/out"))
        .direct_child(true)
        .prepare()
        .unwrap()
        .create_at(&sock)
        .unwrap();
    let pid = c.pid();
    c.detach();
    std::fs::write(Path::new(&sock).with_extension("pid"), pid.to_string()).unwrap();
}

#[test]
fn another_process_starts_it_after_the_creator_exited() {
    let _g = lock();
    let dir = TempDir::new("create-xproc");
    let sock = dir.join("start.sock");
    // As conmon and containerd's shim are: a subreaper that the container is handed to.
    // SAFETY: prctl with integer arguments.
    assert_eq!(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }, 0);
    let st = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "creator_process", "--ignored", "--test-threads=1"])
        .env("COCOON_TEST_START_SOCKET", &sock)
        .env("COCOON_TEST_OUT", dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .status()
        .unwrap();
    assert!(st.success(), "creator failed: {st}");
    let pid: i32 = std::fs::read_to_string(sock.with_extension("pid")).unwrap().parse().unwrap();
    // The creator is gone; the held container is ours now (reparented to the subreaper).
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert_eq!(status_field(&status, "PPid"), std::process::id().to_string());
    assert!(!dir.join("marker").exists());
    cocoon::start_created(&sock).unwrap();
    // Reaped by us, as a subreaper would: a plain waitpid (the exit signal is SIGCHLD now).
    let mut ws = 0;
    // SAFETY: waitpid on a child of ours with a valid status pointer.
    let r = unsafe { libc::waitpid(pid, &mut ws, 0) };
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) };
    assert_eq!(r, pid, "waitpid: {}", std::io::Error::last_os_error());
    assert!(libc::WIFEXITED(ws) && libc::WEXITSTATUS(ws) == 0, "status {ws:#x}");
    // It ran as PID 1 of its own PID namespace (no parent visible inside).
    assert_eq!(std::fs::read_to_string(dir.join("marker")).unwrap().trim(), "0");
    assert_no_children();
}
