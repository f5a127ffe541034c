//! Rootless: an unprivileged caller (uid 65534 here) creates a container in its own user
//! namespace, mapping only its own ids (setgroups is denied for it), and is root inside.
//! The outer test re-runs this test binary as `nobody` (via setpriv) for the inner one.

use std::io::Read;
use std::process::Command;

use cocoon::{ContainerBuilder, IdRange, Namespaces, Process, Stdio};

const INNER: &str = "COCOON_ROOTLESS_INNER";

#[test]
fn unprivileged_caller_gets_a_rootless_container() {
    // SAFETY: geteuid cannot fail.
    assert_eq!(unsafe { libc::geteuid() }, 0, "the outer test runs as root to drop to nobody");
    // A copy of this binary anyone can execute, wherever the checkout lives.
    let me = std::env::current_exe().expect("test binary");
    let dir = std::env::temp_dir().join(format!("cocoon-rootless-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tempdir");
    let copy = dir.join("rootless-test");
    std::fs::copy(&me, &copy).expect("copy test binary");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&copy)
        .args(["--ignored", "--exact", "rootless_inner", "--nocapture", "--test-threads=1"])
        .env(INNER, "1")
        .current_dir("/")
        .output()
        .expect("setpriv");
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "inner test as nobody failed:\n{text}");
    assert!(text.contains("1 passed"), "the inner test ran:\n{text}");
}

#[test]
#[ignore = "run by unprivileged_caller_gets_a_rootless_container as uid 65534"]
fn rootless_inner() {
    assert_eq!(std::env::var(INNER).as_deref(), Ok("1"), "only run by the outer test");
    // SAFETY: geteuid/getegid cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    assert_ne!(uid, 0, "runs unprivileged");
    let script = "id -u; cat /proc/self/uid_map; hostname; cat /proc/self/status | grep ^CapEff";
    let mut c = ContainerBuilder::new(Process::new("/bin/sh").args(["-c", script]).stdout(Stdio::Piped))
        .namespaces(Namespaces::DEFAULT | Namespaces::USER)
        .uid_map([IdRange::new(0, uid, 1)])
        .gid_map([IdRange::new(0, gid, 1)])
        .hostname("rootless")
        .read_only_root(true)
        .spawn()
        .expect("an unprivileged caller can spawn with a user namespace");
    let mut out = String::new();
    c.take_stdout().expect("stdout").read_to_string(&mut out).expect("read");
    assert!(c.wait().expect("wait").success(), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first().copied(), Some("0"), "root inside: {out}");
    let map: Vec<&str> = lines.get(1).map(|l| l.split_whitespace().collect()).unwrap_or_default();
    assert_eq!(map, vec!["0", &uid.to_string(), "1"], "mapped to the caller outside: {out}");
    assert_eq!(lines.get(2).copied(), Some("rootless"), "{out}");
    // Supplementary groups are refused up front (setgroups is denied for this caller).
    let err = ContainerBuilder::new(Process::new("/bin/true").user(cocoon::User::Id { uid: 0, gid: 0, groups: vec![0] }))
        .namespaces(Namespaces::DEFAULT | Namespaces::USER)
        .uid_map([IdRange::new(0, uid, 1)])
        .gid_map([IdRange::new(0, gid, 1)])
        .spawn()
        .expect_err("groups need setgroups");
    assert!(matches!(err, cocoon::Error::InvalidConfig { what: "supplementary groups", .. }), "{err:?}");
}
