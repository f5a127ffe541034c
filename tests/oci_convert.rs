//! OCI bundles on the real kernel: a busybox bundle whose `config.json` is what `runc spec`
//! writes (generated here, then edited with serde_json), converted with
//! `cocoon::oci::builder_from_spec` and run; the container reports what it sees and every
//! mapped field is checked from inside. Bad configs give their typed error and leave no
//! cgroup and no mount behind.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use cocoon::oci::{builder_from_spec, Bundle, OciError};
use cocoon::{Error, Stage, Stdio};
use common::*;
use serde_json::{json, Value};

/// A bundle: `rootfs/` with a static busybox, `config.json` from `runc spec`.
struct TestBundle {
    dir: TempDir,
}

impl TestBundle {
    /// `runc spec`'s bundle.
    fn new(tag: &str) -> TestBundle {
        TestBundle::from_tool(tag, "runc", &["spec"])
    }

    /// The bundle `tool args` (`runc spec`, `crun spec --rootless`…) writes.
    fn from_tool(tag: &str, tool: &str, args: &[&str]) -> TestBundle {
        let dir = TempDir::new(tag);
        busybox_root(&dir.join("rootfs"));
        let out = Command::new(tool)
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap_or_else(|e| panic!("{tool} is missing ({e}): apt-get install -y {tool}"));
        assert!(out.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        TestBundle { dir }
    }

    fn spec(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.dir.join("config.json")).unwrap()).unwrap()
    }

    fn write(&self, v: &Value) {
        std::fs::write(self.dir.join("config.json"), serde_json::to_vec_pretty(v).unwrap()).unwrap();
    }

    fn convert(&self, id: &str) -> Result<cocoon::oci::Converted, OciError> {
        let b = Bundle::load(self.dir.path())?;
        builder_from_spec(&b.spec, &b.dir, id)
    }
}

fn test_id(tag: &str) -> String {
    format!("ocitest-{}-{tag}", std::process::id())
}

/// Every directory named `id` in the host's cgroup hierarchies (cocoon's parent and the
/// roots).
fn cgroups_named(id: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        for p in [h.path().join(id), h.path().join("cocoon").join(id)] {
            if p.exists() {
                found.push(p);
            }
        }
    }
    found
}

/// `key=value` lines of the container's output.
fn keyed(out: &str) -> BTreeMap<String, String> {
    out.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The options of the mount at `mountpoint` in a /proc/mounts text.
fn mount_opts<'a>(mounts: &'a str, mountpoint: &str) -> Option<(&'a str, Vec<&'a str>)> {
    mounts.lines().rev().find_map(|l| {
        let f: Vec<&str> = l.split(' ').collect();
        (f.len() >= 4 && f[1] == mountpoint).then(|| (f[2], f[3].split(',').collect()))
    })
}

const SCRIPT: &str = r#"
echo host=$(hostname)
echo foo=$FOO
echo cwd=$(pwd)
echo id=$(id)
echo nofile=$(ulimit -n)
grep Cap /proc/self/status | tr -d '\t' | tr ':' '='
echo kcore=$(cat /proc/kcore 2>/dev/null | wc -c)
echo timer_list=$(cat /proc/timer_list 2>/dev/null | wc -c)
echo timer_list_dev=$(stat -c %t:%T /proc/timer_list 2>&1)
echo acpi=$(ls -A /proc/acpi | wc -l)
echo mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)
echo pids=$(cat /sys/fs/cgroup/pids/pids.max)
echo cgself=$(grep memory /proc/self/cgroup)
touch /mnt/shared/new 2>/dev/null && echo bind=rw || echo bind=ro
echo hello=$(cat /mnt/shared/hello)
touch /scratch/x && echo scratch=rw || echo scratch=ro
touch /frozen/x 2>/dev/null && echo frozen=rw || echo frozen=ro
echo shmmni=$(cat /proc/sys/kernel/shmmni)
echo null=$(echo x > /dev/null && echo ok)
echo ptmx=$(readlink /dev/ptmx)
echo hosts=$(cat /etc/hosts)
echo resolv=$(cat /etc/resolv.conf)
echo MOUNTS
cat /proc/mounts
"#;

#[test]
fn runc_spec_busybox_bundle() {
    let _g = lock();
    let t = TestBundle::new("runc-spec");
    let shared = t.dir.join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::write(shared.join("hello"), "from-the-host\n").unwrap();
    let host_shmmni = std::fs::read_to_string("/proc/sys/kernel/shmmni").unwrap();
    std::fs::write(t.dir.join("hosts"), "10.1.2.3 oci-test\n").unwrap();
    std::fs::write(t.dir.join("resolv.conf"), "nameserver 10.9.9.9\n").unwrap();

    let mut v = t.spec();
    v["process"]["terminal"] = json!(false);
    v["process"]["args"] = json!(["sh", "-c", SCRIPT]);
    v["process"]["env"].as_array_mut().unwrap().push(json!("FOO=bar baz"));
    v["process"]["cwd"] = json!("/tmp");
    v["process"]["user"] = json!({"uid": 1234, "gid": 2345, "additionalGids": [777, 5]});
    v["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}]);
    // runc's ambient set needs the inheritable one to be raised.
    v["process"]["capabilities"]["inheritable"] = v["process"]["capabilities"]["bounding"].clone();
    v["hostname"] = json!("oci-test");
    v["root"]["readonly"] = json!(true);
    let mounts = v["mounts"].as_array_mut().unwrap();
    mounts.push(json!({"destination": "/mnt/shared", "type": "bind", "source": "shared", "options": ["rbind", "ro", "nosuid", "nodev"]}));
    // podman's binds of the files it writes into the bundle.
    for f in ["hosts", "resolv.conf"] {
        let dst = format!("/etc/{f}");
        mounts.push(json!({"destination": dst, "type": "bind", "source": t.dir.join(f), "options": ["bind", "rprivate", "ro", "nosuid", "noexec", "nodev"]}));
    }
    mounts.push(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777", "size=1m"]}));
    mounts.push(json!({"destination": "/frozen", "type": "tmpfs", "source": "tmpfs", "options": ["mode=1777", "size=1m"]}));
    v["linux"]["readonlyPaths"].as_array_mut().unwrap().push(json!("/frozen"));
    v["linux"]["resources"]["memory"] = json!({"limit": 64 << 20});
    v["linux"]["resources"]["pids"] = json!({"limit": 32});
    v["linux"]["sysctl"] = json!({"kernel.shmmni": "1000"});
    t.write(&v);

    let id = test_id("run");
    let before = snapshot();
    let mut conv = t.convert(&id).unwrap_or_else(|e| panic!("conversion failed: {e}"));
    assert!(!conv.terminal);
    assert_eq!(conv.cgroups_path, None);
    assert!(conv.warnings.iter().any(|w| w.contains("cgroup namespace")), "{:?}", conv.warnings);
    conv.builder.process_mut().set_stdout(Stdio::Piped).set_stderr(Stdio::Piped);
    let mut c = conv.builder.spawn().unwrap_or_else(|e| panic!("spawn failed: {e}"));
    let host_cgroup = PathBuf::from("/sys/fs/cgroup/memory/cocoon").join(&id);
    assert!(host_cgroup.exists(), "the container's cgroup {host_cgroup:?} exists while it runs");
    let out = collect(&mut c).ok().stdout;
    drop(c);

    let (head, mounts) = out.split_once("MOUNTS\n").unwrap_or((&out, ""));
    let k = keyed(head);
    let get = |key: &str| k.get(key).map(String::as_str).unwrap_or_else(|| panic!("no {key} in:\n{out}"));
    assert_eq!(get("host"), "oci-test");
    assert_eq!(get("foo"), "bar baz");
    assert_eq!(get("cwd"), "/tmp");
    let idline = get("id");
    assert!(idline.starts_with("uid=1234(alice) gid=2345(alice)"), "{idline}");
    assert!(idline.contains("777(staff)") && (idline.contains("groups=5") || idline.contains(",5")), "{idline}");
    assert_eq!(get("nofile"), "512");
    // AUDIT_WRITE (29), KILL (5), NET_BIND_SERVICE (10), in every set (ambient too).
    for set in ["CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb"] {
        assert_eq!(get(set), "0000000020000420", "{set}");
    }
    // maskedPaths (runc's list): /proc/kcore is empty (or, as on this kernel, absent),
    // the files are covered by /dev/null, the directories by an empty tmpfs.
    assert_eq!(get("kcore"), "0", "/proc/kcore masked");
    assert_eq!(get("timer_list"), "0", "/proc/timer_list masked");
    assert_eq!(get("timer_list_dev"), "1:3", "/proc/timer_list is covered by /dev/null");
    assert_eq!(get("acpi"), "0", "/proc/acpi is an empty directory");
    assert_eq!(get("mem"), (64u64 << 20).to_string());
    assert_eq!(get("pids"), "32");
    assert!(get("cgself").ends_with(":/"), "the cgroup namespace's root is the container's cgroup");
    assert_eq!(get("bind"), "ro");
    assert_eq!(get("hello"), "from-the-host");
    assert_eq!(get("scratch"), "rw");
    assert_eq!(get("frozen"), "ro", "readonlyPaths");
    assert_eq!(get("shmmni"), "1000", "sysctl in the container's IPC namespace");
    assert_eq!(get("null"), "ok", "/dev/null works after the spec's deny-all device rule");
    assert_eq!(get("ptmx"), "pts/ptmx");

    let opts = |mp: &str| mount_opts(mounts, mp).unwrap_or_else(|| panic!("{mp} not mounted:\n{mounts}"));
    assert!(opts("/").1.contains(&"ro"), "read-only root: {:?}", opts("/"));
    let (fs, o) = opts("/dev/pts");
    assert_eq!(fs, "devpts");
    for want in ["rw", "nosuid", "noexec", "gid=5", "mode=620", "ptmxmode=666"] {
        assert!(o.contains(&want), "/dev/pts lacks {want}: {o:?}");
    }
    let (fs, o) = opts("/dev/shm");
    assert_eq!(fs, "tmpfs");
    for want in ["nosuid", "nodev", "noexec", "size=65536k"] {
        assert!(o.contains(&want), "/dev/shm lacks {want}: {o:?}");
    }
    let (fs, o) = opts("/sys");
    assert_eq!(fs, "sysfs");
    for want in ["ro", "nosuid", "nodev", "noexec"] {
        assert!(o.contains(&want), "/sys lacks {want}: {o:?}");
    }
    let (fs, o) = opts("/dev");
    assert_eq!(fs, "tmpfs");
    // strictatime: the kernel then shows neither relatime nor noatime.
    assert!(!o.contains(&"relatime") && !o.contains(&"noatime") && o.contains(&"size=65536k"), "/dev: {o:?}");
    assert!(o.contains(&"nodev"), "cocoon's /dev tmpfs is nodev: {o:?}");
    assert_eq!(opts("/dev/mqueue").0, "mqueue");
    assert!(opts("/sys/fs/cgroup").1.contains(&"ro"));
    let (fs, o) = opts("/sys/fs/cgroup/memory");
    assert!(fs == "cgroup" && o.contains(&"ro") && o.contains(&"memory"), "{fs} {o:?}");
    assert!(opts("/mnt/shared").1.contains(&"ro"));
    assert_eq!(get("hosts"), "10.1.2.3 oci-test");
    assert_eq!(get("resolv"), "nameserver 10.9.9.9");
    for f in ["/etc/hosts", "/etc/resolv.conf"] {
        let o = opts(f).1;
        assert!(o.contains(&"ro") && o.contains(&"noexec") && o.contains(&"nodev"), "{f}: {o:?}");
    }
    assert!(opts("/proc/sys").1.contains(&"ro"), "readonlyPaths /proc/sys");

    // The host is untouched: its sysctl, its mounts, and the cgroup is gone.
    assert_eq!(std::fs::read_to_string("/proc/sys/kernel/shmmni").unwrap(), host_shmmni);
    assert!(!shared.join("new").exists());
    assert!(cgroups_named(&id).is_empty(), "left behind: {:?}", cgroups_named(&id));
    assert_unchanged(&before, &snapshot(), "runc spec bundle");
}

/// Each bad config: its typed error, and nothing left on the host.
#[test]
fn bad_configs_fail_typed_and_leave_nothing() {
    let _g = lock();
    let t = TestBundle::new("bad");
    let good = t.spec();
    let before = snapshot();

    type Edit = fn(&mut Value);
    let cases: Vec<(&str, Edit, &str, &str)> = vec![
        ("unknown mount option", |v| v["mounts"][1]["options"].as_array_mut().unwrap().push(json!("frobnicate=1")), "invalid", "mounts[1].options"),
        ("bad ociVersion", |v| v["ociVersion"] = json!("3.0.0"), "invalid", "ociVersion"),
        ("relative cwd", |v| v["process"]["cwd"] = json!("tmp"), "invalid", "process.cwd"),
        ("seccomp notify", |v| v["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_NOTIFY"}), "unsupported", "linux.seccomp.defaultAction"),
        ("intelRdt", |v| v["linux"]["intelRdt"] = json!({"closID": "c1"}), "unsupported", "linux.intelRdt"),
        ("writable cgroupfs", |v| v["mounts"][6]["options"] = json!(["nosuid", "rw"]), "unsupported", "mounts[6].options"),
        ("host sysctl", |v| v["linux"]["sysctl"] = json!({"vm.swappiness": "1"}), "unsupported", "linux.sysctl.vm.swappiness"),
        ("shared propagation", |v| v["linux"]["rootfsPropagation"] = json!("shared"), "unsupported", "linux.rootfsPropagation"),
    ];
    for (what, edit, kind, field) in cases {
        let id = test_id("bad");
        let mut v = good.clone();
        edit(&mut v);
        t.write(&v);
        let e = match t.convert(&id) {
            Ok(_) => panic!("{what}: converted"),
            Err(e) => e,
        };
        let got = match &e {
            OciError::Invalid { field, .. } => ("invalid", field.as_str()),
            OciError::Unsupported { field, .. } => ("unsupported", field.as_str()),
            other => panic!("{what}: {other:?}"),
        };
        assert_eq!(got, (kind, field), "{what}: {e}");
        assert!(cgroups_named(&id).is_empty(), "{what}: {:?}", cgroups_named(&id));
    }

    // An oversized config.json is refused before it is parsed.
    let mut big = serde_json::to_vec(&good).unwrap();
    big.resize(cocoon::oci::MAX_CONFIG_SIZE as usize + 1, b' ');
    std::fs::write(t.dir.join("config.json"), &big).unwrap();
    match t.convert(&test_id("big")) {
        Err(OciError::Invalid { field, .. }) => assert_eq!(field, "config.json"),
        other => panic!("oversized config.json: {other:?}"),
    }

    // A config that converts but cannot start (a hard limit above the caller's): the
    // spawn's typed error, and its cgroup is removed again.
    let mut v = good.clone();
    v["process"]["terminal"] = json!(false);
    v["process"]["args"] = json!(["true"]);
    v["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "hard": 1u64 << 30, "soft": 1024}]);
    v["linux"]["resources"]["memory"] = json!({"limit": 64 << 20});
    t.write(&v);
    let id = test_id("setup");
    let conv = t.convert(&id).unwrap_or_else(|e| panic!("{e}"));
    match conv.builder.spawn() {
        Err(Error::Setup { stage: Stage::Rlimit, .. }) => {}
        Err(e) => panic!("expected a setrlimit failure, got {e}"),
        Ok(_) => panic!("spawned with an impossible rlimit"),
    }
    assert!(cgroups_named(&id).is_empty(), "left behind: {:?}", cgroups_named(&id));

    // A namespaced sysctl the kernel does not have: the child's write fails, reported
    // with the sysctl's name.
    let mut v = good.clone();
    v["process"]["terminal"] = json!(false);
    v["process"]["args"] = json!(["true"]);
    v["linux"]["sysctl"] = json!({"net.ipv4.no_such_knob": "1"});
    t.write(&v);
    let id = test_id("sysctl");
    let conv = t.convert(&id).unwrap_or_else(|e| panic!("{e}"));
    match conv.builder.spawn() {
        Err(e @ Error::Setup { stage: Stage::Sysctl, .. }) => {
            assert_eq!(e.raw_os_error(), Some(libc::ENOENT), "{e}");
            assert!(e.to_string().contains("/proc/sys/net/ipv4/no_such_knob = 1"), "{e}");
        }
        Err(e) => panic!("expected a sysctl failure, got {e}"),
        Ok(_) => panic!("spawned with a missing sysctl"),
    }
    assert!(cgroups_named(&id).is_empty(), "left behind: {:?}", cgroups_named(&id));
    assert_unchanged(&before, &snapshot(), "bad configs");
}

/// `runc spec --rootless`: a user namespace with runc's mappings, converted and run.
#[test]
fn rootless_spec_runs_in_a_user_namespace() {
    let _g = lock();
    let t = TestBundle::from_tool("rootless", "runc", &["spec", "--rootless"]);
    let mut v = t.spec();
    v["process"]["terminal"] = json!(false);
    v["process"]["args"] = json!(["sh", "-c", "cat /proc/self/uid_map; id -u; grep ' /sys ' /proc/mounts"]);
    t.write(&v);
    let id = test_id("rootless");
    let mut conv = t.convert(&id).unwrap_or_else(|e| panic!("{e}"));
    assert!(conv.builder.get_namespaces().contains(cocoon::Namespaces::USER));
    conv.builder.process_mut().set_stdout(Stdio::Piped).set_stderr(Stdio::Piped);
    let mut c = conv.builder.spawn().unwrap_or_else(|e| panic!("spawn failed: {e}"));
    let out = collect(&mut c).ok().stdout;
    drop(c);
    let mut lines = out.lines();
    let map: Vec<&str> = lines.next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(map, ["0", "0", "1"], "runc's rootless mapping of the caller (root here): {out}");
    assert_eq!(lines.next(), Some("0"));
    assert!(cgroups_named(&id).is_empty());
}

/// `crun spec` and `crun spec --rootless` (crun's own defaults: an empty inheritable set,
/// a user namespace for rootless) convert and run.
#[test]
fn crun_specs_run() {
    let _g = lock();
    for (tag, args) in [("crun", &["spec"][..]), ("crun-rootless", &["spec", "--rootless"][..])] {
        let t = TestBundle::from_tool(tag, "crun", args);
        let mut v = t.spec();
        v["process"]["terminal"] = json!(false);
        v["process"]["args"] = json!(["sh", "-c", "hostname; grep CapEff /proc/self/status; grep ' /dev/pts ' /proc/mounts"]);
        t.write(&v);
        let id = test_id(tag);
        let mut conv = t.convert(&id).unwrap_or_else(|e| panic!("crun {args:?}: {e}"));
        conv.builder.process_mut().set_stdout(Stdio::Piped).set_stderr(Stdio::Piped);
        let mut c = conv.builder.spawn().unwrap_or_else(|e| panic!("crun {args:?}: spawn failed: {e}"));
        let out = collect(&mut c).ok().stdout;
        drop(c);
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some("crun"), "{out}");
        assert_eq!(lines.next().map(|l| l.split_whitespace().last()), Some(Some("0000000020000420")), "{out}");
        assert!(lines.next().is_some_and(|l| l.contains(" /dev/pts devpts ") && l.contains("ptmxmode=666")), "{out}");
        assert!(cgroups_named(&id).is_empty());
    }
}

/// `linux.devices`: the host's node is bound (checked by number) and allowed in the
/// cgroup after runc's deny-all rule, so root inside can open it; the default devices
/// listed there too change nothing.
#[test]
fn spec_devices_are_bound_and_allowed() {
    use std::os::unix::fs::MetadataExt;
    let _g = lock();
    let md = std::fs::metadata("/dev/fuse").expect("the host has /dev/fuse");
    let (major, minor) = (libc::major(md.rdev()), libc::minor(md.rdev()));
    let t = TestBundle::new("devices");
    let mut v = t.spec();
    v["process"]["terminal"] = json!(false);
    v["process"]["args"] = json!(["sh", "-c", "stat -c %t:%T /dev/fuse; head -c 0 /dev/fuse && echo open=ok; head -c 0 /dev/null && echo null=ok"]);
    v["linux"]["devices"] = json!([
        {"path": "/dev/fuse", "type": "c", "major": major, "minor": minor},
        {"path": "/dev/null", "type": "c", "major": 1, "minor": 3},
    ]);
    t.write(&v);
    let id = test_id("devices");
    let mut conv = t.convert(&id).unwrap_or_else(|e| panic!("{e}"));
    conv.builder.process_mut().set_stdout(Stdio::Piped).set_stderr(Stdio::Piped);
    let mut c = conv.builder.spawn().unwrap_or_else(|e| panic!("spawn failed: {e}"));
    let out = collect(&mut c).ok().stdout;
    drop(c);
    assert_eq!(out, format!("{major:x}:{minor:x}\nopen=ok\nnull=ok\n"));
    assert!(cgroups_named(&id).is_empty());
}
