//! Generated per-container policies (cocoon::selinux::policy) against the real reference
//! policy: each test builds a PRIVATE copy of the policy store (as tests/vm/setup.sh does,
//! `semodule -p ROOT`), loads cocoon.cil into it, and installs/removes generated modules
//! there. The host's /etc/selinux and /var/lib/selinux are only read; nothing is loaded
//! into the kernel (`-n`). Needs root and selinux-policy-default, policycoreutils,
//! semodule-utils (.ci/deps.sh installs them).

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use cocoon::capability::{CapSet, Capabilities, Capability};
use cocoon::net::Protocol;
use cocoon::selinux::policy::{self, ContainerPolicy};
use cocoon::selinux::SelinuxError;
use cocoon::{BridgeNetwork, ContainerBuilder, Ipv4Subnet, Mount, Network, Process, PublishedPort};

const COCOON_CIL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/selinux/policy/cocoon.cil");

/// A private policy store under a temporary root, removed on drop.
struct Store(PathBuf);

impl Store {
    fn new(tag: &str) -> Store {
        assert!(
            Path::new("/var/lib/selinux/default").is_dir() && which("semodule"),
            "needs selinux-policy-default and semodule (policycoreutils, semodule-utils): run .ci/deps.sh"
        );
        let root = std::env::temp_dir().join(format!("cocoon-policy-store-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("var/lib/selinux")).unwrap();
        std::fs::create_dir_all(root.join("etc/selinux")).unwrap();
        let cp = |from: &str, to: &Path| {
            let st = Command::new("cp").arg("-a").arg(from).arg(to).status().unwrap();
            assert!(st.success(), "cp -a {from}");
        };
        cp("/var/lib/selinux/default", &root.join("var/lib/selinux"));
        cp("/etc/selinux/default", &root.join("etc/selinux"));
        cp("/etc/selinux/semanage.conf", &root.join("etc/selinux"));
        std::fs::write(root.join("etc/selinux/config"), "SELINUX=permissive\nSELINUXTYPE=default\n").unwrap();
        let s = Store(root);
        s.semodule(&["-i", COCOON_CIL]).unwrap();
        s
    }

    fn semodule(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("semodule").arg("-p").arg(&self.0).arg("-n").args(args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            Ok(text)
        } else {
            Err(text)
        }
    }

    fn modules(&self) -> Vec<String> {
        self.semodule(&["-l"]).unwrap().lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect()
    }

    /// Every file of the store and the built policy (policy.33, file_contexts, ...): path ->
    /// hash of its content; all but the transaction counter.
    fn snapshot(&self) -> BTreeMap<PathBuf, u64> {
        let mut m = BTreeMap::new();
        // not var/lib/selinux/default/tmp: libsemanage's scratch copy of a transaction,
        // left behind by a failed one and replaced by the next
        for d in ["var/lib/selinux/default/active", "etc/selinux/default"] {
            walk(&self.0.join(d), &self.0, &mut m);
        }
        m
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn walk(dir: &Path, root: &Path, m: &mut BTreeMap<PathBuf, u64>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            walk(&p, root, m);
        } else if ft.is_file() && e.file_name() != "commit_num" {
            // commit_num counts transactions: every semodule run raises it
            let mut h = DefaultHasher::new();
            h.write(&std::fs::read(&p).unwrap());
            m.insert(p.strip_prefix(root).unwrap().to_path_buf(), h.finish());
        }
    }
}

/// The files that differ between two snapshots.
fn diff(a: &BTreeMap<PathBuf, u64>, b: &BTreeMap<PathBuf, u64>) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = a.keys().chain(b.keys()).filter(|k| a.get(*k) != b.get(*k)).cloned().collect();
    v.dedup();
    v.truncate(10);
    v
}

fn which(cmd: &str) -> bool {
    std::env::var_os("PATH").map(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file())).unwrap_or(false)
}

/// A container using all four inputs, with refpolicy types for its binds.
fn full_container() -> (ContainerBuilder, ContainerPolicy) {
    let mut caps = Capabilities::uniform(
        [Capability::CAP_CHOWN, Capability::CAP_NET_BIND_SERVICE, Capability::CAP_BPF, Capability::CAP_PERFMON]
            .into_iter()
            .collect::<CapSet>(),
    );
    caps.ambient = CapSet::EMPTY;
    let net = BridgeNetwork::new("cocoon0", Ipv4Subnet::new("10.88.0.0".parse().unwrap(), 16))
        .publish(PublishedPort::new(8080, 80, Protocol::Tcp))
        .publish(PublishedPort::new(9000, 9000, Protocol::Tcp))
        .publish(PublishedPort::new(5353, 5353, Protocol::Udp));
    let b = ContainerBuilder::new(Process::new("/bin/true").capabilities(caps))
        .mount(Mount::bind("/srv/content", "/content").read_only(true))
        .mount(Mount::bind("/srv/state", "/state"))
        .mount(Mount::bind("/srv/unlabelled-nonexistent", "/other"))
        .mount(Mount::device("/dev/fuse", "/dev/fuse", 10, 229))
        .network(Network::Bridge(net));
    let p = ContainerPolicy::generator("webtest")
        .bind_type("/srv/content", "usr_t")
        .bind_type("/srv/state", "var_lib_t")
        .bind_type("/dev/fuse", "fuse_device_t")
        .port_type(80, Protocol::Tcp, "http_port_t")
        .generate(&b)
        .unwrap();
    (b, p)
}

/// The host's own store and policy (only ever read by these tests).
fn host_snapshot() -> BTreeMap<PathBuf, u64> {
    let mut m = BTreeMap::new();
    for d in ["/var/lib/selinux/default/active", "/etc/selinux/default"] {
        walk(Path::new(d), Path::new("/"), &mut m);
    }
    m
}

#[test]
fn generated_policy_compiles_installs_and_removes_cleanly() {
    let host_before = host_snapshot();
    let store = Store::new("install");
    let before_mods = store.modules();
    let before = store.snapshot();
    assert!(before_mods.iter().any(|m| m == "cocoon"), "{before_mods:?}");

    let (_, p) = full_container();
    p.install(Some(store.path())).unwrap_or_else(|e| panic!("{e}\n{}", p.cil()));
    let mods = store.modules();
    assert!(mods.iter().any(|m| m == "cocoon_webtest"), "{mods:?}");
    assert_eq!(mods.len(), before_mods.len() + 1);
    let stored = store.path().join("var/lib/selinux/default/active/modules/400/cocoon_webtest");
    assert!(stored.is_dir(), "{}", stored.display());
    assert_ne!(store.snapshot(), before, "installing changed nothing");

    policy::remove("webtest", Some(store.path())).unwrap();
    assert_eq!(store.modules(), before_mods);
    let changed = diff(&before, &store.snapshot());
    assert!(changed.is_empty(), "install + remove left the store different: {changed:?}");

    // removing again: a semodule error, typed
    let e = policy::remove("webtest", Some(store.path())).unwrap_err();
    assert!(matches!(e, SelinuxError::Semodule { .. }), "{e:?}");
    // the host's store was never written (-p ROOT -n)
    assert!(diff(&host_before, &host_snapshot()).is_empty(), "the host's policy store changed");
}

#[test]
fn generated_policy_needs_the_template_and_known_types() {
    let store = Store::new("errors");
    let before = store.snapshot();
    // a type the policy does not have: the module does not link, the store is untouched
    let b = ContainerBuilder::new(Process::new("/bin/true")).mount(Mount::bind("/srv/x", "/x"));
    let p = ContainerPolicy::generator("badtype").bind_type("/srv/x", "no_such_type_t").generate(&b).unwrap();
    let e = p.install(Some(store.path())).unwrap_err();
    assert!(matches!(&e, SelinuxError::Semodule { stderr, .. } if stderr.contains("Failed to resolve")), "{e:?}");
    assert!(!store.modules().iter().any(|m| m == "cocoon_badtype"));
    let changed = diff(&before, &store.snapshot());
    assert!(changed.is_empty(), "a failed install changed the store: {changed:?}");

    // without cocoon.cil (the `container` template) nothing generated links
    store.semodule(&["-r", "cocoon"]).unwrap();
    let (_, p) = full_container();
    let e = p.install(Some(store.path())).unwrap_err();
    assert!(matches!(&e, SelinuxError::Semodule { .. }), "{e:?}");
    assert!(!store.modules().iter().any(|m| m == "cocoon_webtest"));
}

#[test]
fn two_generated_policies_coexist() {
    let store = Store::new("two");
    let mk = |name: &str, ty: &str| {
        let b = ContainerBuilder::new(Process::new("/bin/true")).mount(Mount::bind("/srv/d", "/d"));
        ContainerPolicy::generator(name).bind_type("/srv/d", ty).generate(&b).unwrap()
    };
    let (a, b) = (mk("appa", "var_t"), mk("appb", "tmp_t"));
    a.install(Some(store.path())).unwrap();
    b.install(Some(store.path())).unwrap();
    let mods = store.modules();
    assert!(mods.iter().any(|m| m == "cocoon_appa") && mods.iter().any(|m| m == "cocoon_appb"), "{mods:?}");
    policy::remove("appa", Some(store.path())).unwrap();
    policy::remove("appb", Some(store.path())).unwrap();
}
