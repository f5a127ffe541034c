//! Subordinate ids for an unprivileged caller: 65,536 ids from its ranges in /etc/subuid
//! and /etc/subgid (two ranges here, so the map spans them), written by newuidmap and
//! newgidmap; chown to any of them works inside and lands on the right host ids outside;
//! both layouts; too few ids, no range, a missing helper, and ids outside the caller's
//! ranges are typed errors. The outer test (root) adds the ranges for `nobody` and removes
//! them again, then re-runs this binary as nobody (uid 65534) via setpriv.

use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use cocoon::{ContainerBuilder, Error, IdRange, Mount, Namespaces, Process, Stdio, SubordinateIds};

const INNER: &str = "COCOON_SUBIDS_INNER";
const DATA: &str = "COCOON_SUBIDS_DATA";
const RANGES: &str = "nobody:300000:60000\nnobody:400000:10000\n";

/// Restores /etc/subuid and /etc/subgid (or removes them) however the test ends.
struct Restore(Vec<(PathBuf, Option<Vec<u8>>)>);

impl Drop for Restore {
    fn drop(&mut self) {
        for (p, old) in &self.0 {
            match old {
                Some(b) => std::fs::write(p, b).expect("restore"),
                None => std::fs::remove_file(p).expect("remove"),
            }
        }
    }
}

fn add_ranges() -> Restore {
    let mut saved = Vec::new();
    for f in ["/etc/subuid", "/etc/subgid"] {
        let old = std::fs::read(f).ok();
        let mut text = old.clone().unwrap_or_default();
        text.extend_from_slice(RANGES.as_bytes());
        saved.push((PathBuf::from(f), old));
        std::fs::write(f, text).expect("write ranges");
    }
    Restore(saved)
}

fn owner(p: &Path) -> (u32, u32) {
    let m = std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (m.uid(), m.gid())
}

#[test]
fn an_unprivileged_caller_gets_65536_ids_from_its_subordinate_ranges() {
    // SAFETY: geteuid cannot fail.
    assert_eq!(unsafe { libc::geteuid() }, 0, "the outer test runs as root to drop to nobody");
    assert!(Path::new("/usr/bin/newuidmap").exists(), "the uidmap package (.ci/deps.sh)");
    // Root has no ranges: a typed error naming the file and the user, nothing spawned.
    let before = std::fs::read("/etc/subuid").ok();
    if !before.as_deref().unwrap_or_default().starts_with(b"root:") {
        match ContainerBuilder::new(Process::new("/bin/true")).subordinate_ids(SubordinateIds::new()).prepare() {
            Err(Error::InvalidConfig { what: "subordinate ids", reason }) => {
                assert!(reason.contains("/etc/subuid gives root (uid 0) 0 ids, 65536 asked for"), "{reason}")
            }
            other => panic!("root without ranges: {other:?}"),
        }
    }
    let restore = add_ranges();
    let me = std::env::current_exe().expect("test binary");
    let dir = std::env::temp_dir().join(format!("cocoon-subids-{}", std::process::id()));
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("tempdir");
    let copy = dir.join("subids-test");
    std::fs::copy(&me, &copy).expect("copy test binary");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).expect("chmod data");
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&copy)
        .args(["--ignored", "--exact", "subids_inner", "--nocapture", "--test-threads=1"])
        .env(INNER, "1")
        .env(DATA, &data)
        .current_dir("/")
        .output()
        .expect("setpriv");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    // Outside: root inside is the caller; 1..=60000 the first range, then the second.
    let owners = [("root", 65534), ("f1000", 300999), ("f60000", 359999), ("f65000", 404999), ("g1000", 301000)];
    let got: Vec<(&str, (u32, u32))> = owners.iter().map(|(f, _)| (*f, owner(&data.join(f)))).collect();
    let _ = std::fs::remove_dir_all(&dir);
    drop(restore);
    assert!(out.status.success(), "inner test as nobody failed:\n{text}");
    assert!(text.contains("1 passed"), "the inner test ran:\n{text}");
    for ((f, want), (_, (uid, gid))) in owners.iter().zip(&got) {
        assert_eq!((uid, gid), (want, want), "{f} outside:\n{text}");
    }
    assert_eq!(std::fs::read("/etc/subuid").ok(), before, "the ranges are gone again");
}

fn spawn_sh(ids: SubordinateIds, data: &str, script: &str) -> String {
    let p = Process::new("/bin/sh").args(["-c", script]).stdout(Stdio::Piped).stderr(Stdio::Piped);
    let mut c = ContainerBuilder::new(p)
        .subordinate_ids(ids)
        .mount(Mount::bind(data, "/data"))
        .spawn()
        .unwrap_or_else(|e| panic!("spawn with subordinate ids: {e} ({e:?})"));
    let (mut out, mut err) = (String::new(), String::new());
    c.take_stdout().expect("stdout").read_to_string(&mut out).expect("read");
    c.take_stderr().expect("stderr").read_to_string(&mut err).expect("read");
    assert!(c.wait().expect("wait").success(), "{out}\n{err}");
    out
}

#[test]
#[ignore = "run by an_unprivileged_caller_gets_65536_ids_from_its_subordinate_ranges as uid 65534"]
fn subids_inner() {
    assert_eq!(std::env::var(INNER).as_deref(), Ok("1"), "only run by the outer test");
    let data = std::env::var(DATA).expect("data dir");
    // SAFETY: geteuid cannot fail.
    let uid = unsafe { libc::geteuid() };
    assert_eq!(uid, 65534, "runs as nobody");
    let script = "id -u; cat /proc/self/uid_map; cat /proc/self/gid_map; cat /proc/self/setgroups; \
        touch /data/root /data/f1000 /data/f60000 /data/f65000; \
        chown 1000:1000 /data/f1000 && chown 60000:60000 /data/f60000 && chown 65000:65000 /data/f65000 && echo chowned";
    let out = spawn_sh(SubordinateIds::new(), &data, script);
    let lines: Vec<Vec<&str>> = out.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(lines.first().map(|l| l.join(" ")), Some("0".into()), "root inside: {out}");
    let want = [vec!["0", "65534", "1"], vec!["1", "300000", "60000"], vec!["60001", "400000", "5536"]];
    assert_eq!(lines.get(1..4), Some(&want[..]), "uid map: {out}");
    assert_eq!(lines.get(4..7), Some(&want[..]), "gid map: {out}");
    assert_eq!(lines.get(7).map(|l| l.join(" ")), Some("allow".into()), "setgroups stays allowed: {out}");
    assert!(out.contains("chowned"), "{out}");
    // The whole-range layout: root inside is the first subordinate id, the caller unmapped.
    let out = spawn_sh(
        SubordinateIds::whole_range(),
        &data,
        "cat /proc/self/uid_map; touch /data/g1000; chown 1000:1000 /data/g1000 && echo ok",
    );
    assert!(out.starts_with("         0     300000      60000\n") && out.contains("ok"), "{out}");
    // Supplementary groups work (setgroups is allowed through newgidmap).
    let p = Process::new("/bin/sh").args(["-c", "id -G"]).stdout(Stdio::Piped).user(cocoon::User::Id {
        uid: 0,
        gid: 0,
        groups: vec![10, 1000],
    });
    let mut c = ContainerBuilder::new(p).subordinate_ids(SubordinateIds::new()).spawn().expect("groups");
    let mut g = String::new();
    c.take_stdout().expect("stdout").read_to_string(&mut g).expect("read");
    assert!(c.wait().expect("wait").success());
    assert_eq!(g.trim(), "0 10 1000", "groups inside");

    // More ids than the ranges hold, a missing helper: typed errors before anything exists.
    let t = || ContainerBuilder::new(Process::new("/bin/true"));
    match t().subordinate_ids(SubordinateIds::new().count(80000)).spawn() {
        Err(Error::InvalidConfig { reason, .. }) => {
            assert!(reason.contains("/etc/subuid gives nobody (uid 65534) 70000 ids, 80000 asked for"), "{reason}")
        }
        other => panic!("too many: {other:?}"),
    }
    match t().subordinate_ids(SubordinateIds::new().helpers("/nonexistent/newuidmap", "/usr/bin/newgidmap")).spawn() {
        Err(Error::InvalidConfig { reason, .. }) => assert!(reason.contains("install the uidmap package"), "{reason}"),
        other => panic!("no helper: {other:?}"),
    }
    match t().subordinate_ids(SubordinateIds::new()).uid_map([IdRange::new(0, uid, 1)]).spawn() {
        Err(Error::InvalidConfig { what: "subordinate ids", .. }) => {}
        other => panic!("both: {other:?}"),
    }
    // Ids outside the caller's ranges, asked for directly: the kernel refuses the map.
    let e = t()
        .namespaces(Namespaces::DEFAULT | Namespaces::USER)
        .uid_map([IdRange::new(0, uid, 1), IdRange::new(1, 500000, 10)])
        .gid_map([IdRange::new(0, 65534, 1)])
        .spawn()
        .expect_err("ids outside the ranges");
    assert_eq!(e.raw_os_error(), Some(libc::EPERM), "{e:?}");
}
