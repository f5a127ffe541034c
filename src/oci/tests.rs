//! Unit tests of the conversion: each mapping and each error, on specs built here.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value};

use super::{builder_from_spec, Bundle, Converted, OciError, MAX_CONFIG_SIZE};
use crate::cgroup::{Bytes, DeviceAccess, DeviceKind, DeviceNumber, DeviceRule};
use crate::mount::{Atime, MountKind};
use crate::{Capability, Namespaces, Rlimit, User};

/// A bundle directory with an empty `rootfs`, removed on drop.
struct TempBundle(PathBuf);

impl TempBundle {
    fn new() -> TempBundle {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir()
            .join(format!("cocoon-oci-unit-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir_all(dir.join("rootfs")).expect("temp bundle");
        TempBundle(dir)
    }
}

impl Drop for TempBundle {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A spec like `runc spec` writes (smaller), as JSON to modify.
fn base() -> Value {
    json!({
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/bin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL"],
                "effective": ["CAP_AUDIT_WRITE", "CAP_KILL"],
                "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL"],
                "ambient": ["CAP_KILL"]
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "runc",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}
        ],
        "linux": {
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
            "maskedPaths": ["/proc/kcore"],
            "readonlyPaths": ["/proc/sys"]
        }
    })
}

fn convert(v: &Value, bundle: &TempBundle) -> Result<Converted, OciError> {
    let spec = serde_json::from_value(v.clone()).expect("a valid spec");
    builder_from_spec(&spec, &bundle.0, "unit")
}

fn ok(v: &Value) -> Converted {
    let t = TempBundle::new();
    match convert(v, &t) {
        Ok(c) => c,
        Err(e) => panic!("conversion failed: {e}"),
    }
}

#[track_caller]
fn err(v: &Value) -> OciError {
    let t = TempBundle::new();
    match convert(v, &t) {
        Ok(_) => panic!("conversion succeeded"),
        Err(e) => e,
    }
}

#[track_caller]
fn unsupported(e: OciError, field: &str) {
    match e {
        OciError::Unsupported { field: f, .. } if f == field => {}
        other => panic!("expected Unsupported {field}, got {other:?}"),
    }
}

#[track_caller]
fn invalid(e: OciError, field: &str) {
    match e {
        OciError::Invalid { field: f, .. } if f == field => {}
        other => panic!("expected Invalid {field}, got {other:?}"),
    }
}

fn set(v: &mut Value, path: &str, x: Value) {
    let mut cur = v;
    let parts: Vec<&str> = path.split('.').collect();
    for p in &parts[..parts.len() - 1] {
        cur = match p.parse::<usize>() {
            Ok(i) => &mut cur[i],
            Err(_) => &mut cur[*p],
        };
    }
    cur[parts[parts.len() - 1]] = x;
}

#[test]
fn process_maps() {
    let mut v = base();
    set(&mut v, "process.args", json!(["/bin/echo", "a", "b"]));
    set(&mut v, "process.cwd", json!("/tmp"));
    set(&mut v, "process.user", json!({"uid": 1000, "gid": 100, "additionalGids": [5, 7], "umask": 18}));
    set(&mut v, "process.oomScoreAdj", json!(100));
    set(&mut v, "process.rlimits", json!([{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}, {"type": "RLIMIT_LOCKS", "hard": 9, "soft": 9}]));
    let c = ok(&v);
    let p = c.builder.get_process();
    assert_eq!(p.program, "/bin/echo");
    assert_eq!(p.args, vec!["a", "b"]);
    let env: Vec<String> = p.env.iter().map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy())).collect();
    assert_eq!(env, vec!["PATH=/usr/bin:/bin", "TERM=xterm"]);
    assert_eq!(p.cwd, Path::new("/tmp"));
    assert_eq!(p.user, User::Id { uid: 1000, gid: 100, groups: vec![5, 7] });
    assert_eq!(p.umask, Some(0o22));
    assert_eq!(p.oom_score_adj, Some(100));
    assert_eq!(p.rlimits, vec![(Rlimit::Nofile, 512, 1024), (Rlimit::Locks, 9, 9)]);
    assert!(p.no_new_privs);
    assert!(!c.terminal);
    assert_eq!(c.builder.hostname.as_deref(), Some("runc"));
    assert!(c.builder.read_only_root);
}

#[test]
fn capabilities_map_and_ambient_needs_inheritable() {
    let c = ok(&base());
    let caps = c.builder.get_process().capabilities;
    assert!(caps.bounding.contains(Capability::CAP_KILL) && caps.bounding.contains(Capability::CAP_AUDIT_WRITE));
    assert!(!caps.bounding.contains(Capability::CAP_SYS_ADMIN));
    assert_eq!(caps.inheritable.0, 0);
    // CAP_KILL is ambient in the spec but not inheritable: dropped, with a warning.
    assert_eq!(caps.ambient.0, 0);
    assert!(c.warnings.iter().any(|w| w.contains("process.capabilities.ambient")), "{:?}", c.warnings);

    let mut v = base();
    set(&mut v, "process.capabilities.inheritable", json!(["CAP_KILL"]));
    let caps = ok(&v).builder.get_process().capabilities;
    assert!(caps.ambient.contains(Capability::CAP_KILL));

    // No capabilities in the spec: none at all (never the runtime's own).
    let mut v = base();
    v["process"].as_object_mut().map(|p| p.remove("capabilities"));
    let caps = ok(&v).builder.get_process().capabilities;
    assert_eq!((caps.bounding.0, caps.effective.0, caps.permitted.0), (0, 0, 0));

    let mut v = base();
    set(&mut v, "process.capabilities.effective", json!(["CAP_SYS_ADMIN"]));
    invalid(err(&v), "process.capabilities.effective");
}

#[test]
fn namespaces_and_id_maps() {
    let mut v = base();
    set(
        &mut v,
        "linux.namespaces",
        json!([{"type": "mount"}, {"type": "user"}, {"type": "uts"}, {"type": "network", "path": "/proc/1/ns/net"}]),
    );
    set(&mut v, "linux.uidMappings", json!([{"containerID": 0, "hostID": 100000, "size": 65536}]));
    set(&mut v, "linux.gidMappings", json!([{"containerID": 0, "hostID": 100000, "size": 65536}]));
    let c = ok(&v);
    assert_eq!(c.builder.get_namespaces(), Namespaces::MOUNT | Namespaces::USER | Namespaces::UTS);
    assert_eq!(c.builder.joins, vec![(Namespaces::NET, PathBuf::from("/proc/1/ns/net"))]);
    assert_eq!(c.builder.uid_map, vec![crate::IdRange::new(0, 100000, 65536)]);

    // A user namespace without mappings maps the caller to root (as crun); one map alone
    // is an error.
    let mut v = base();
    set(&mut v, "linux.namespaces", json!([{"type": "mount"}, {"type": "user"}]));
    set(&mut v, "hostname", Value::Null);
    let c = ok(&v);
    // SAFETY: geteuid has no preconditions.
    assert_eq!(c.builder.uid_map, vec![crate::IdRange::new(0, unsafe { libc::geteuid() }, 1)]);
    assert!(c.warnings.iter().any(|w| w.starts_with("linux.uidMappings")));
    set(&mut v, "linux.uidMappings", json!([{"containerID": 0, "hostID": 100000, "size": 1}]));
    invalid(err(&v), "linux.uidMappings");

    let mut v = base();
    set(&mut v, "linux.namespaces", json!([{"type": "mount"}, {"type": "pid", "path": "/proc/1/ns/pid"}]));
    set(&mut v, "hostname", Value::Null);
    unsupported(err(&v), "linux.namespaces[1].path");

    let mut v = base();
    set(&mut v, "linux.namespaces", json!([{"type": "mount"}, {"type": "mount"}]));
    invalid(err(&v), "linux.namespaces[1]");

    let mut v = base();
    set(&mut v, "linux.namespaces", json!([{"type": "pid"}, {"type": "uts"}]));
    unsupported(err(&v), "linux.namespaces");

    // A hostname needs a new UTS namespace.
    let mut v = base();
    set(&mut v, "linux.namespaces", json!([{"type": "mount"}]));
    invalid(err(&v), "hostname");

    // Time offsets need a time namespace; negative offsets are refused.
    let mut v = base();
    set(&mut v, "linux.namespaces", json!([{"type": "mount"}, {"type": "uts"}, {"type": "time"}]));
    set(&mut v, "linux.timeOffsets", json!({"monotonic": {"secs": 7, "nanosecs": 5}}));
    let t = ok(&v).builder.time_offsets;
    assert_eq!(t.monotonic, std::time::Duration::new(7, 5));
    set(&mut v, "linux.timeOffsets", json!({"boottime": {"secs": -1}}));
    unsupported(err(&v), "linux.timeOffsets.boottime");
}

#[test]
fn mounts_are_the_specs() {
    let t = TempBundle::new();
    std::fs::write(t.0.join("hosts"), "127.0.0.1 localhost\n").expect("file");
    let mut v = base();
    let mounts = v["mounts"].as_array_mut().expect("mounts");
    mounts.push(json!({"destination": "/etc/hosts", "type": "bind", "source": "hosts", "options": ["rbind", "ro", "nosuid", "rprivate"]}));
    mounts.push(json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}));
    mounts.push(json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}));
    mounts.push(json!({"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nr_inodes=1k", "size=1m", "noatime"]}));
    let c = convert(&v, &t).unwrap_or_else(|e| panic!("{e}"));
    let b = &c.builder;
    assert!(!b.standard_mounts && b.default_devices);
    let m = &b.mounts;
    assert_eq!(m.len(), 8);
    assert_eq!(m[0].kind, MountKind::Proc);
    assert!(!m[0].nosuid && !m[0].nodev && !m[0].noexec, "the spec said nothing: kernel defaults");
    assert!(matches!(m[1].kind, MountKind::Tmpfs { .. }));
    assert!(m[1].nosuid && m[1].nodev, "/dev tmpfs gets nodev");
    assert_eq!(m[1].atime, Some(Atime::Strictatime));
    assert_eq!(m[1].fs_options().collect::<Vec<_>>(), vec![("mode", Some("755")), ("size", Some("65536k"))]);
    assert!(c.warnings.iter().any(|w| w.contains("mounts[1]")));
    assert_eq!(m[2].kind, MountKind::Devpts);
    assert!(m[2].fs_options().any(|o| o == ("ptmxmode", Some("0666"))));
    assert!(m[3].read_only && m[3].kind == MountKind::Sysfs);
    assert_eq!(m[4].kind, MountKind::Bind { source: t.0.join("hosts"), recursive: true });
    assert!(m[4].read_only && m[4].nosuid && !m[4].nodev);
    assert_eq!(m[5].kind, MountKind::Cgroup);
    // The cgroup mount brought a cgroup namespace.
    assert!(b.get_namespaces().contains(Namespaces::CGROUP));
    assert!(c.warnings.iter().any(|w| w.contains("cgroup namespace")));
    assert_eq!(m[6].kind, MountKind::Mqueue);
    assert_eq!(m[7].atime, Some(Atime::Noatime));
    assert_eq!(m[7].fs_options().count(), 2);
    assert_eq!(b.masked_paths, vec![PathBuf::from("/proc/kcore")]);
    assert_eq!(b.readonly_paths, vec![PathBuf::from("/proc/sys")]);
}

#[test]
fn mount_errors() {
    let with = |m: Value| {
        let mut v = base();
        v["mounts"].as_array_mut().expect("mounts").push(m);
        v
    };
    // An option cocoon does not know, on a tmpfs and on a bind.
    invalid(err(&with(json!({"destination": "/x", "type": "tmpfs", "options": ["bogus=1"]}))), "mounts[4].options");
    invalid(err(&with(json!({"destination": "/x", "type": "bind", "source": "/tmp", "options": ["rbind", "mode=755"]}))), "mounts[4].options");
    // Known but not honoured.
    unsupported(err(&with(json!({"destination": "/x", "type": "bind", "source": "/tmp", "options": ["rbind", "rshared"]}))), "mounts[4].options");
    unsupported(err(&with(json!({"destination": "/x", "type": "tmpfs", "options": ["tmpcopyup"]}))), "mounts[4].options");
    // A writable cgroupfs.
    unsupported(err(&with(json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "options": ["nosuid"]}))), "mounts[4].options");
    // Types cocoon does not mount, a bind without source, a missing bind source.
    unsupported(err(&with(json!({"destination": "/x", "type": "ext4", "source": "/dev/sda1"}))), "mounts[4].type");
    invalid(err(&with(json!({"destination": "/x", "type": "bind", "options": ["rbind"]}))), "mounts[4].source");
    invalid(err(&with(json!({"destination": "/x", "type": "bind", "source": "no-such-dir"}))), "mounts[4].source");
    unsupported(
        err(&with(json!({"destination": "/x", "type": "bind", "source": "/tmp", "uidMappings": [{"containerID": 0, "hostID": 1, "size": 1}]}))),
        "mounts[4].uidMappings",
    );
}

#[test]
fn process_errors() {
    let mut v = base();
    set(&mut v, "process.cwd", json!("relative/dir"));
    invalid(err(&v), "process.cwd");
    let mut v = base();
    set(&mut v, "process.args", json!([]));
    invalid(err(&v), "process.args");
    let mut v = base();
    set(&mut v, "process.env", json!(["NOEQUALS"]));
    invalid(err(&v), "process.env[0]");
    let mut v = base();
    set(&mut v, "process.rlimits", json!([{"type": "RLIMIT_NOFILE", "hard": 1, "soft": 2}]));
    invalid(err(&v), "process.rlimits[0]");
    let mut v = base();
    set(&mut v, "process.selinuxLabel", json!("system_u:system_r:container_t:s0"));
    unsupported(err(&v), "process.selinuxLabel");
    let mut v = base();
    set(&mut v, "process.apparmorProfile", json!("docker-default"));
    assert!(ok(&v).warnings.iter().any(|w| w.starts_with("process.apparmorProfile")));
    let mut v = base();
    v.as_object_mut().map(|o| o.remove("process"));
    invalid(err(&v), "process");
}

#[test]
fn unsupported_fields() {
    for (path, value, field) in [
        ("linux.intelRdt", json!({"closID": "x"}), "linux.intelRdt"),
        ("linux.rootfsPropagation", json!("rshared"), "linux.rootfsPropagation"),
        ("linux.resources", json!({"network": {"classID": 1}}), "linux.resources.network"),
        ("linux.resources", json!({"memory": {"swappiness": 10}}), "linux.resources.memory.swappiness"),
        ("linux.resources", json!({"unified": {"memory.max": "1"}}), "linux.resources.unified"),
        ("linux.devices", json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 1}]), "linux.devices[0]"),
        ("linux.devices", json!([{"path": "/dev/loop0", "type": "b", "major": 7, "minor": 0}]), "linux.devices[0]"),
        ("linux.devices", json!([{"path": "/dev/no-such-node", "type": "c", "major": 10, "minor": 1}]), "linux.devices[0]"),
        ("linux.sysctl", json!({"kernel.panic": "1"}), "linux.sysctl.kernel.panic"),
        ("windows", json!({"layerFolders": []}), "windows"),
    ] {
        let mut v = base();
        set(&mut v, path, value);
        unsupported(err(&v), field);
    }
    // Notify rules without a listenerPath are invalid; with one the process gets them.
    let mut v = base();
    set(&mut v, "linux.seccomp", json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}]}));
    invalid(err(&v), "linux.seccomp.listenerPath");
    let mut v = base();
    set(&mut v, "linux.seccomp", json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/s.sock", "listenerMetadata": "m",
        "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}]}));
    let c = ok(&v);
    assert_eq!(c.seccomp_listener, Some(("/run/s.sock".into(), "m".to_string())));
    assert!(c.builder.get_process().get_seccomp_notify().is_some());
    // A rootfsPropagation cocoon gives anyway is fine.
    let mut v = base();
    set(&mut v, "linux.rootfsPropagation", json!("rprivate"));
    ok(&v);
}

#[test]
fn sysctls_of_own_namespaces() {
    let mut v = base();
    set(&mut v, "linux.sysctl", json!({"net.ipv4.ip_forward": "1", "kernel.shmmni": "100"}));
    let b = ok(&v).builder;
    assert_eq!(b.sysctls.len(), 2);
    // net.* without a network namespace of its own would change the host's.
    set(&mut v, "linux.namespaces", json!([{"type": "mount"}, {"type": "uts"}, {"type": "ipc"}]));
    invalid(err(&v), "linux.sysctl.net.ipv4.ip_forward");
    let mut v = base();
    set(&mut v, "linux.sysctl", json!({"net/../../x": "1"}));
    invalid(err(&v), "linux.sysctl.net/../../x");
}

#[test]
fn resources_map() {
    let mut v = base();
    set(
        &mut v,
        "linux.resources",
        json!({
            "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 10, "minor": 200, "access": "rw"}],
            "memory": {"limit": 67108864, "reservation": 33554432, "swap": 100663296},
            "pids": {"limit": 32},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
            "blockIO": {"weight": 100}
        }),
    );
    set(&mut v, "linux.cgroupsPath", json!("/cocoon-test/unit"));
    let c = ok(&v);
    let cg = c.builder.get_cgroup().expect("a cgroup");
    assert_eq!(cg.memory_max, Some(Bytes::mib(64)));
    assert_eq!(cg.memory_low, Some(Bytes::mib(32)));
    assert_eq!(cg.swap_max, Some(Bytes::mib(32)));
    assert_eq!(cg.pids_max, Some(32));
    assert_eq!(cg.cpu_shares, Some(crate::cgroup::CpuShares(512)));
    assert_eq!(cg.cpu_quota, Some((std::time::Duration::from_millis(50), std::time::Duration::from_millis(100))));
    assert_eq!(cg.io_weight, Some(100));
    assert_eq!(cg.devices[0], DeviceRule::deny_all());
    assert_eq!(
        cg.devices[1],
        DeviceRule::allow(DeviceKind::Char, DeviceNumber::Num(10), DeviceNumber::Num(200), DeviceAccess::READ | DeviceAccess::WRITE)
    );
    // Then the default devices, allowed after the spec's rules (runc's order).
    assert!(cg.devices[2..].contains(&DeviceRule::allow_char(1, 3)));
    assert_eq!(c.cgroups_path, Some(PathBuf::from("/cocoon-test/unit")));

    // Every container gets a cgroup of its own.
    let mut v = base();
    v["linux"].as_object_mut().map(|l| l.remove("resources"));
    assert!(ok(&v).builder.get_cgroup().is_some());

    let mut v = base();
    set(&mut v, "linux.resources", json!({"memory": {"limit": 100, "swap": 50}}));
    invalid(err(&v), "linux.resources.memory.swap");
    let mut v = base();
    set(&mut v, "linux.resources", json!({"devices": [{"allow": true, "type": "a", "major": 1}]}));
    invalid(err(&v), "linux.resources.devices[0]");
}

#[test]
fn versions() {
    for good in ["1.0.0", "1.0.2-dev", "1.1.0", "1.2.1", "1.2.0+build"] {
        assert!(super::bundle::check_version(good).is_ok(), "{good}");
    }
    for bad in ["", "1", "1.3.0", "2.0.0", "0.9.0", "1.x.0", "1.0", "01.0.0.0"] {
        assert!(matches!(super::bundle::check_version(bad), Err(OciError::Invalid { .. })), "{bad}");
    }
    let mut v = base();
    set(&mut v, "ociVersion", json!("2.0.0"));
    invalid(err(&v), "ociVersion");
}

#[test]
fn bundle_load_bounds() {
    let t = TempBundle::new();
    let cfg = t.0.join("config.json");
    std::fs::write(&cfg, serde_json::to_vec(&base()).expect("json")).expect("write");
    let b = Bundle::load(&t.0).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.spec.hostname().as_deref(), Some("runc"));

    // Oversized: refused before it is read.
    let f = std::fs::File::create(&cfg).expect("create");
    f.set_len(MAX_CONFIG_SIZE + 1).expect("grow");
    invalid(Bundle::load(&t.0).expect_err("refused"), "config.json");

    // Not JSON, a bad version, a symlink, a FIFO.
    std::fs::write(&cfg, b"{ not json").expect("write");
    assert!(matches!(Bundle::load(&t.0), Err(OciError::Json { .. })));
    let mut v = base();
    set(&mut v, "ociVersion", json!("1.9.0"));
    std::fs::write(&cfg, serde_json::to_vec(&v).expect("json")).expect("write");
    invalid(Bundle::load(&t.0).expect_err("refused"), "ociVersion");
    std::fs::remove_file(&cfg).expect("rm");
    std::os::unix::fs::symlink("/etc/hostname", &cfg).expect("symlink");
    assert!(matches!(Bundle::load(&t.0), Err(OciError::Io { .. })));
    std::fs::remove_file(&cfg).expect("rm");
    let c = std::ffi::CString::new(cfg.to_str().expect("utf-8")).expect("path");
    // SAFETY: mkfifo with a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    invalid(Bundle::load(&t.0).expect_err("refused"), "config.json");
    assert!(matches!(Bundle::load(Path::new("/nonexistent-bundle")), Err(OciError::Io { .. })));
}

#[test]
fn devices_bind_the_hosts_node_and_allow_it() {
    use std::os::unix::fs::MetadataExt;
    let Ok(md) = std::fs::metadata("/dev/fuse") else { return };
    let (major, minor) = (libc::major(md.rdev()), libc::minor(md.rdev()));
    let mut v = base();
    set(&mut v, "linux.devices", json!([
        {"path": "/dev/null", "type": "c", "major": 1, "minor": 3},
        {"path": "/dev/fuse", "type": "c", "major": major, "minor": minor, "fileMode": md.mode() & 0o7777, "uid": md.uid()},
    ]));
    set(&mut v, "linux.resources", json!({"devices": [{"allow": false, "access": "rwm"}]}));
    let c = ok(&v);
    let dev = c.builder.mounts.last().expect("a mount");
    assert_eq!(dev.kind, MountKind::Device { source: PathBuf::from("/dev/fuse"), major, minor });
    let rules = &c.builder.get_cgroup().expect("cgroup").devices;
    assert_eq!(rules.last(), Some(&DeviceRule::allow_char(major, minor)), "allowed after the spec's deny-all");
    // A mode other than the host node's cannot be given to a bind.
    set(&mut v, "linux.devices", json!([{"path": "/dev/fuse", "type": "c", "major": major, "minor": minor, "fileMode": 0o7777}]));
    unsupported(err(&v), "linux.devices[0]");
}
