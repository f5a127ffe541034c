//! CVE-2022-29162, CVE-2022-27650: processes started with non-empty inheritable (or
//! ambient) capabilities. cocoon sets every set explicitly: inheritable and ambient are
//! empty unless asked for. To make a naive runtime (one that leaves the sets as the
//! calling thread has them) fail, the spawning thread first gets a non-empty inheritable
//! and ambient set of its own.

mod common;

use cocoon::{CapSet, Capabilities, Capability, ContainerBuilder};
use common::*;

fn caps_inside(out: &str) -> [u64; 5] {
    ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"].map(|k| u64::from_str_radix(status_field(out, k), 16).unwrap())
}

/// Gives the current thread CAP_NET_RAW and CAP_SYS_ADMIN in inheritable and ambient;
/// undone on drop.
struct DirtyThreadCaps;
impl DirtyThreadCaps {
    fn new() -> DirtyThreadCaps {
        use caps::{CapSet as S, Capability as C};
        for c in [C::CAP_NET_RAW, C::CAP_SYS_ADMIN] {
            caps::raise(None, S::Inheritable, c).unwrap();
            caps::raise(None, S::Ambient, c).unwrap();
        }
        let st = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        assert_ne!(status_field(&st, "CapAmb"), "0000000000000000", "setup: ambient not raised");
        DirtyThreadCaps
    }
}
impl Drop for DirtyThreadCaps {
    fn drop(&mut self) {
        let _ = caps::clear(None, caps::CapSet::Ambient);
        let _ = caps::clear(None, caps::CapSet::Inheritable);
    }
}

#[test]
fn inheritable_and_ambient_are_empty_by_default() {
    let _g = lock();
    let _dirty = DirtyThreadCaps::new();
    let out = run_ok(ContainerBuilder::new(sh("grep ^Cap /proc/self/status")));
    let [inh, prm, eff, bnd, amb] = caps_inside(&out);
    assert_eq!(inh, 0, "inheritable capabilities inside: {out}");
    assert_eq!(amb, 0, "ambient capabilities inside: {out}");
    let docker = Capabilities::docker_default().bounding.0;
    assert_eq!((prm, eff, bnd), (docker, docker, docker), "{out}");
    assert_eq!(eff & Capability::CAP_SYS_ADMIN.bitmask(), 0);
    // An unprivileged user gets nothing at all after exec.
    let out = run_ok(ContainerBuilder::new(sh("grep ^Cap /proc/self/status").uid_gid(1000, 1000)));
    let [inh, prm, eff, _, amb] = caps_inside(&out);
    assert_eq!((inh, prm, eff, amb), (0, 0, 0, 0), "{out}");
    // Same for exec into a container.
    let c = ContainerBuilder::new(cocoon::Process::new("/bin/sleep").arg("1000")).spawn().unwrap();
    let mut p = c.exec(&sh("grep ^Cap /proc/self/status")).unwrap();
    let mut s = String::new();
    std::io::Read::read_to_string(&mut p.take_stdout().unwrap(), &mut s).unwrap();
    assert!(p.wait().unwrap().success());
    let [inh, _, _, _, amb] = caps_inside(&s);
    assert_eq!((inh, amb), (0, 0), "exec: {s}");
    c.delete().unwrap();
}

#[test]
fn explicitly_requested_ambient_capabilities_are_honoured() {
    let _g = lock();
    let nbs = CapSet::EMPTY.with(Capability::CAP_NET_BIND_SERVICE);
    let mut c = Capabilities::uniform(nbs);
    c.inheritable = nbs;
    c.ambient = nbs;
    let out = run_ok(ContainerBuilder::new(sh("grep ^Cap /proc/self/status").uid_gid(1000, 1000).capabilities(c)));
    let [inh, prm, eff, bnd, amb] = caps_inside(&out);
    assert_eq!([inh, prm, eff, bnd, amb], [nbs.0; 5], "{out}");
}
