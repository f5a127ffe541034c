//! `spec` (a default config.json, from oci-spec's defaults: runc's) and `features` (what
//! this runtime supports, in the runtime spec's features.md schema).

use serde_json::json;

use crate::args::SpecArgs;
use crate::Failure;

pub fn spec(a: &SpecArgs) -> Result<u8, Failure> {
    let path = a.bundle.join("config.json");
    if path.exists() {
        return Err(Failure::msg(format!("{} already exists: remove it first", path.display())));
    }
    let spec = if a.rootless {
        // SAFETY: getuid/getgid have no preconditions.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        oci_spec::runtime::Spec::rootless(uid, gid)
    } else {
        oci_spec::runtime::Spec::default()
    };
    let text = serde_json::to_string_pretty(&spec).map_err(|e| Failure::msg(format!("config.json: {e}")))?;
    std::fs::write(&path, text + "\n").map_err(|e| Failure::msg(format!("{}: {e}", path.display())))?;
    Ok(0)
}

/// The mount options `cocoon::oci` maps (src/oci/convert/mounts.rs).
const MOUNT_OPTIONS: &[&str] = &[
    "bind", "rbind", "ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "relatime", "norelatime",
    "noatime", "atime", "strictatime", "nostrictatime", "nodiratime", "diratime", "rro", "rrw", "rnosuid",
    "rsuid", "rnodev", "rdev", "rnoexec", "rexec", "rrelatime", "rnoatime", "rstrictatime", "rnodiratime",
    "rdiratime", "private", "rprivate", "defaults", "async", "silent", "loud",
];

pub fn features() -> Result<u8, Failure> {
    let mut all: Vec<cocoon::Capability> = caps::all().into_iter().collect();
    all.sort_by_key(|c| c.index());
    let caps: Vec<String> = all.iter().map(|c| c.to_string()).collect();
    let v = json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.2.1",
        "hooks": ["prestart", "createRuntime", "poststart", "poststop"],
        "mountOptions": MOUNT_OPTIONS,
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": caps,
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false, "rdma": false},
            "seccomp": {
                "enabled": true,
                "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"],
                "operators": ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"],
                "archs": ["SCMP_ARCH_X86_64"],
                "knownFlags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
                "supportedFlags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
            },
            "apparmor": {"enabled": false},
            "selinux": {"enabled": true},
            "intelRdt": {"enabled": false},
            "mountExtensions": {"idmap": {"enabled": false}},
        },
        "annotations": {
            "org.opencontainers.runtime-spec.features.runtime": "cocoon",
            "io.github.cocoon.version": env!("CARGO_PKG_VERSION"),
        },
    });
    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    Ok(0)
}
