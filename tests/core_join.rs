//! Joining existing namespaces by path (`ContainerBuilder::join_namespace`).

mod common;
use std::io::Read;
use std::process::Command;

use cocoon::{ContainerBuilder, Error, Namespaces, Process, Stage, Stdio};

/// A named network namespace made with iproute2, deleted on drop.
struct NetNs(String);

impl NetNs {
    fn new(tag: &str) -> NetNs {
        let name = format!("cocoon-{tag}-{}", std::process::id());
        let ok = Command::new("ip").args(["netns", "add", &name]).status().expect("ip").success();
        assert!(ok, "ip netns add {name}");
        NetNs(name)
    }
    fn path(&self) -> String {
        format!("/run/netns/{}", self.0)
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
fn joins_a_network_namespace_by_path() {
    let _g = common::lock();
    let ns = NetNs::new("join");
    let ok = Command::new("ip").args(["-n", &ns.0, "link", "add", "cocoonj0", "type", "veth", "peer", "name", "cocoonj1"]).status().expect("ip").success();
    assert!(ok);
    let mut c = ContainerBuilder::new(Process::new("/bin/cat").arg("/proc/net/dev").stdout(Stdio::Piped))
        .join_namespace(Namespaces::NET, ns.path())
        .spawn()
        .expect("spawn");
    let mut out = String::new();
    c.take_stdout().expect("stdout").read_to_string(&mut out).expect("read");
    assert!(c.wait().expect("wait").success());
    // Exactly the joined namespace's interfaces: its loopback and the veth pair made in it.
    let mut names: Vec<&str> = out.lines().skip(2).filter_map(|l| l.split(':').next()).map(str::trim).collect();
    names.sort_unstable();
    assert_eq!(names, ["cocoonj0", "cocoonj1", "lo"], "{out}");
}

#[test]
fn joining_errors_are_typed_and_leave_nothing() {
    let _g = common::lock();
    let err = ContainerBuilder::new(Process::new("/bin/true"))
        .join_namespace(Namespaces::NET, "/run/netns/cocoon-does-not-exist")
        .spawn()
        .expect_err("missing namespace file");
    assert!(matches!(err, Error::Os { op: "open namespace", .. }), "{err:?}");
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    // Not a namespace file: setns fails in the child with EINVAL.
    let err = ContainerBuilder::new(Process::new("/bin/true"))
        .join_namespace(Namespaces::NET, "/etc/hostname")
        .spawn()
        .expect_err("not a namespace");
    assert_eq!(err.stage(), Some(Stage::JoinNamespaces), "{err:?}");
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
    // PID cannot be joined by path; a namespace cannot be both joined and created.
    let err = ContainerBuilder::new(Process::new("/bin/true"))
        .join_namespace(Namespaces::PID, "/proc/1/ns/pid")
        .spawn()
        .expect_err("pid join");
    assert!(matches!(err, Error::InvalidConfig { what: "namespace to join", .. }), "{err:?}");
    let err = ContainerBuilder::new(Process::new("/bin/true"))
        .join_namespace(Namespaces::UTS, "/proc/1/ns/uts")
        .hostname("x")
        .spawn()
        .expect_err("hostname in joined uts");
    assert!(matches!(err, Error::InvalidConfig { what: "hostname", .. }), "{err:?}");
    // No child left: waitid on any child of ours (with __WALL) finds none.
    // SAFETY: siginfo is plain data.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid with a valid siginfo pointer; WNOHANG does not block.
    let r = unsafe { libc::waitid(libc::P_ALL, 0, &mut info, libc::WEXITED | libc::WNOHANG | libc::__WALL) };
    let errno = std::io::Error::last_os_error().raw_os_error();
    // SAFETY: info is initialised (zeroed, or filled by waitid), so reading the si_pid
    // union field is reading plain integers.
    let pid = unsafe { info.si_pid() };
    assert!(r == -1 && errno == Some(libc::ECHILD) || pid == 0);
}
