//! Exec into a container from its pid (`RunningContainer`), as another process would:
//! the exec'd process joins the container's namespaces and cgroup; bad pids are typed
//! errors; a direct child is the caller's own and can be detached.

use std::io::Read;

use cocoon::container::RunningContainer;
use cocoon::{CgroupConfig, ContainerBuilder, Error, Namespaces, Process, Stdio};

fn output(p: &mut cocoon::ExecProcess) -> String {
    let mut s = String::new();
    p.take_stdout().expect("piped").read_to_string(&mut s).expect("read");
    s
}

#[test]
fn exec_by_pid_joins_the_container() {
    let c = ContainerBuilder::new(Process::new("/bin/sleep").arg("30").stdin(Stdio::Null))
        .hostname("by-pid")
        // No cgroup namespace: /proc/self/cgroup shows the real path.
        .namespaces(Namespaces::DEFAULT - Namespaces::CGROUP)
        .cgroup(CgroupConfig::new().pids_max(32))
        .spawn()
        .expect("spawn");
    let r = RunningContainer::open(c.pid(), c.cgroup_path()).expect("open");
    assert!(r.namespaces().contains(Namespaces::MOUNT | Namespaces::PID | Namespaces::UTS | Namespaces::NET), "{:?}", r.namespaces());
    let script = "echo host=$(hostname) pid=$$; grep -c . /proc/net/dev; cat /proc/self/cgroup; exit 6";
    let mut p = r.exec(&Process::new("/bin/sh").args(["-c", script]).stdout(Stdio::Piped).stdin(Stdio::Null)).expect("exec");
    let out = output(&mut p);
    assert_eq!(p.wait().expect("wait").code(), Some(6));
    assert!(out.starts_with("host=by-pid pid="), "{out}");
    // Only loopback in its network namespace: two header lines + lo.
    assert!(out.lines().nth(1) == Some("3"), "{out}");
    let cg = c.cgroup_path().expect("cgroup").to_string_lossy().into_owned();
    assert!(out.lines().any(|l| l.contains(":pids:") && l.ends_with(&cg)), "in the container's cgroup: {out}");
    drop(r);
    c.delete().expect("delete");
}

#[test]
fn a_direct_child_is_ours_and_can_be_detached() {
    let c = ContainerBuilder::new(Process::new("/bin/sleep").arg("30").stdin(Stdio::Null)).spawn().expect("spawn");
    let mut r = RunningContainer::open(c.pid(), None).expect("open");
    r.direct_child(true);
    let p = r.exec(&Process::new("/bin/sleep").arg("30").stdin(Stdio::Null)).expect("exec");
    let pid = p.pid();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let ppid = stat.lines().find_map(|l| l.strip_prefix("PPid:")).map(str::trim).unwrap_or_default();
    assert_eq!(ppid, std::process::id().to_string(), "the exec'd program is our child");
    assert_eq!(p.detach(), pid);
    // Still running after the handle is gone; the end of the container's PID namespace
    // kills it, and (as for any child) reaping it is ours: the namespace's init finishes
    // exiting only once it is reaped, so reap before waiting for the container.
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    c.kill(libc::SIGKILL).expect("kill the container");
    let mut st = 0;
    // SAFETY: waitpid on our own (detached) child with a valid status pointer.
    assert_eq!(unsafe { libc::waitpid(pid, &mut st, 0) }, pid);
    assert!(libc::WIFSIGNALED(st), "killed with its container: {st:#x}");
    c.delete().expect("delete");
}

#[test]
fn bad_pids_are_typed_errors() {
    assert!(matches!(RunningContainer::open(0, None), Err(Error::InvalidConfig { .. })));
    // Our own process shares every namespace with us: not a container.
    assert!(matches!(RunningContainer::open(std::process::id() as i32, None), Err(Error::InvalidConfig { .. })));
    // A process that has exited and been reaped.
    let mut child = std::process::Command::new("/bin/true").spawn().expect("true");
    let pid = child.id() as i32;
    child.wait().expect("wait");
    assert!(matches!(RunningContainer::open(pid, None), Err(Error::AlreadyExited)));
    // A cgroup that does not exist: a cgroup error, nothing opened.
    let c = ContainerBuilder::new(Process::new("/bin/sleep").arg("30").stdin(Stdio::Null)).spawn().expect("spawn");
    assert!(matches!(RunningContainer::open(c.pid(), Some("cocoon/no-such-cgroup".as_ref())), Err(Error::Cgroup(_))));
    c.delete().expect("delete");
}
