//! Generated per-container SELinux policies (cocoon::selinux::policy) enforced by a real
//! kernel: the qemu VM, SELinux enforcing (`tests/vm/run-tests.sh`).
//!
//! How the modules get into the VM's policy: the VM has no libsemanage store and no
//! `semodule`, so the policy is built on the host, the way the VM's base policy already
//! is. `run-tests.sh` runs this binary's `emit_vm_policies` on the host with
//! `COCOON_VM_POLICY_EMIT=DIR` (it writes the generated `cocoon_NAME.cil` files there) and
//! hands DIR to `setup.sh`, which adds them to the private-store build (`semodule -p ROOT
//! -n -i ...`) of `policy.33`; the VM loads that at boot (`/sys/fs/selinux/load`). The
//! generation below is the same function on both sides, so what the VM enforces is what
//! the generator gives for these containers. Their bind sources carry test types of
//! `tests/vm/cocoon-vm.cil` that no other rule names.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cocoon::selinux::policy::ContainerPolicy;
use cocoon::selinux::{selinux_enabled, set_file_label, SelinuxConfig};
use cocoon::{ContainerBuilder, Mount, Process, Rootfs, Stdio};

const DATA: &str = "/tmp/cocoon-vm-policy";

/// (directory under DATA, its type)
const DIRS: &[(&str, &str)] = &[
    ("a_rw", "cocoon_vm_a_rw_t"),
    ("a_ro", "cocoon_vm_a_ro_t"),
    ("b_rw", "cocoon_vm_b_rw_t"),
    ("other", "cocoon_vm_other_t"),
];

fn dir(name: &str) -> PathBuf {
    Path::new(DATA).join(name)
}

/// Container A's policy: /rw read-write (a_rw), /ro read-only (a_ro).
fn policy_a() -> ContainerPolicy {
    let b = ContainerBuilder::new(Process::new("/bin/sh"))
        .mount(Mount::bind(dir("a_rw"), "/rw"))
        .mount(Mount::bind(dir("a_ro"), "/ro").read_only(true));
    ContainerPolicy::generator("vmpola")
        .bind_type(dir("a_rw"), "cocoon_vm_a_rw_t")
        .bind_type(dir("a_ro"), "cocoon_vm_a_ro_t")
        .generate(&b)
        .unwrap()
}

/// Container B's policy: /rw read-write (b_rw).
fn policy_b() -> ContainerPolicy {
    let b = ContainerBuilder::new(Process::new("/bin/sh")).mount(Mount::bind(dir("b_rw"), "/rw"));
    ContainerPolicy::generator("vmpolb").bind_type(dir("b_rw"), "cocoon_vm_b_rw_t").generate(&b).unwrap()
}

/// Host side (not ignored, not in the VM): with COCOON_VM_POLICY_EMIT=DIR writes the
/// modules for run-tests.sh; without, only checks they generate.
#[test]
fn emit_vm_policies() {
    let policies = [policy_a(), policy_b()];
    if let Some(out) = std::env::var_os("COCOON_VM_POLICY_EMIT") {
        let out = PathBuf::from(out);
        std::fs::create_dir_all(&out).unwrap();
        for p in &policies {
            std::fs::write(out.join(format!("{}.cil", p.module_name())), p.cil()).unwrap();
        }
    }
}

fn require_vm() {
    assert!(
        std::env::var_os("COCOON_VM_SELINUX").is_some(),
        "runs in the qemu VM with SELinux (COCOON_VM_SELINUX=1 unset)"
    );
    assert!(selinux_enabled());
}

/// The test data: each directory with a file `f`, labelled (at s0: every MCS level may
/// read it, so only type enforcement stands between a container and these files).
fn make_data() {
    let _ = std::fs::remove_dir_all(DATA);
    for (name, ty) in DIRS {
        let d = dir(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("f"), format!("content-{name}\n")).unwrap();
        for p in [d.join("f"), d.clone()] {
            let label = format!("system_u:object_r:{ty}:s0");
            assert!(!set_file_label(&p, &label).unwrap().is_skipped());
        }
    }
}

/// Runs `script` in a container of `policy`'s domain with `binds` (source dir, target).
fn run_in(policy: &ContainerPolicy, binds: &[(&str, &str)], script: &str) -> String {
    run_labelled(Some(policy), binds, script)
}

/// As [`run_in`]; `None`: the default domain (container_t).
fn run_labelled(policy: Option<&ContainerPolicy>, binds: &[(&str, &str)], script: &str) -> String {
    let (r, w) = std::io::pipe().unwrap();
    let w = Arc::new(OwnedFd::from(w));
    let process = Process::new("/bin/sh").args(["-c", script]).stdout(Stdio::Fd(w.clone())).stderr(Stdio::Fd(w));
    let mut b = ContainerBuilder::new(process).rootfs(Rootfs::HostSandbox);
    for (src, dst) in binds {
        b = b.mount(Mount::bind(dir(src), dst));
    }
    let state = std::env::temp_dir().join(format!("cocoon-vm-policy-mcs-{}", std::process::id()));
    let mut b = b.selinux(SelinuxConfig::new().state_dir(&state));
    if let Some(p) = policy {
        b = p.apply(b);
    }
    let mut c = b.spawn().unwrap_or_else(|e| panic!("spawn in {:?}: {e}", policy.map(|p| p.process_type())));
    drop(b);
    let mut out = String::new();
    let mut r = r;
    r.read_to_string(&mut out).unwrap();
    c.wait().unwrap();
    out
}

fn avc_denials() -> String {
    let out = std::process::Command::new("dmesg").output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains("avc:  denied")).collect::<Vec<_>>().join("\n")
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_policy_allows_its_binds_and_denies_the_rest() {
    require_vm();
    make_data();
    let a = policy_a();
    // /ro is mounted read-WRITE here: a write refused there is refused by the policy
    // (generated for a read-only bind), not by the mount. No `2>/dev/null`: the VM's
    // devtmpfs /dev/null is unlabelled for container domains, a redirect to it fails
    // before the command runs (which would fake a denial); stderr goes to the pipe.
    let script = "cat /proc/self/attr/current; echo; \
        echo new > /rw/g && echo rw-write-ok; cat /rw/f; \
        cat /ro/f; echo x > /ro/g || echo ro-write-denied; \
        cat /other/f || echo other-read-denied; \
        ls /other || echo other-list-denied";
    let out = run_in(&a, &[("a_rw", "/rw"), ("a_ro", "/ro"), ("other", "/other")], script);
    let label = out.lines().next().unwrap_or_default().trim_end_matches('\0');
    assert!(label.starts_with("system_u:system_r:vmpola.process:s0:c"), "{out}");
    assert!(out.contains("rw-write-ok") && out.contains("content-a_rw"), "{out}");
    assert!(out.contains("content-a_ro"), "{out}");
    assert!(out.contains("ro-write-denied"), "{out}");
    assert!(!dir("a_ro").join("g").exists(), "the write to the read-only bind happened");
    assert_eq!(std::fs::read_to_string(dir("a_rw").join("g")).unwrap(), "new\n");
    assert!(out.contains("other-read-denied") && out.contains("other-list-denied"), "{out}");
    assert!(!out.contains("content-other"), "{out}");
    // the kernel logged the refusals against the generated domain
    let avc = avc_denials();
    assert!(
        avc.lines().any(|l| l.contains("scontext=system_u:system_r:vmpola.process") && l.contains("cocoon_vm_other_t")),
        "no AVC for the bind the policy was not generated for:\n{avc}"
    );
    assert!(
        avc.lines().any(|l| l.contains("vmpola.process") && l.contains("cocoon_vm_a_ro_t") && l.contains("write")),
        "no AVC for the write to the read-only bind:\n{avc}"
    );
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_policy_two_containers_cannot_touch_each_others_files() {
    require_vm();
    make_data();
    let (a, b) = (policy_a(), policy_b());
    // (no 2>/dev/null: see above)
    let script = "cat /mine/f; echo t > /mine/t && echo mine-write-ok; \
        cat /theirs/f || echo theirs-read-denied; \
        echo t > /theirs/t || echo theirs-write-denied";
    let out_a = run_in(&a, &[("a_rw", "/mine"), ("b_rw", "/theirs")], script);
    let out_b = run_in(&b, &[("b_rw", "/mine"), ("a_rw", "/theirs")], script);
    for (out, mine, theirs) in [(&out_a, "a_rw", "b_rw"), (&out_b, "b_rw", "a_rw")] {
        assert!(out.contains(&format!("content-{mine}")) && out.contains("mine-write-ok"), "{out}");
        assert!(out.contains("theirs-read-denied") && out.contains("theirs-write-denied"), "{out}");
        assert!(!out.contains(&format!("content-{theirs}")), "{out}");
    }
    // only each container's own write landed
    assert!(dir("a_rw").join("t").exists() && dir("b_rw").join("t").exists());
    assert_eq!(std::fs::read_to_string(dir("a_rw").join("t")).unwrap(), "t\n");
    let avc = avc_denials();
    assert!(avc.lines().any(|l| l.contains("vmpola.process") && l.contains("cocoon_vm_b_rw_t")), "{avc}");
    assert!(avc.lines().any(|l| l.contains("vmpolb.process") && l.contains("cocoon_vm_a_rw_t")), "{avc}");
}

/// Inside a labelled container SELinux looks disabled (no selinuxfs: libselinux's
/// is_selinux_enabled() is false there, and nothing can load policy or switch enforcing),
/// while the host is enforcing.
#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_policy_container_sees_no_selinuxfs_while_the_host_enforces() {
    require_vm();
    assert_eq!(std::fs::read_to_string("/sys/fs/selinux/enforce").unwrap().trim(), "1");
    assert!(std::fs::read_to_string("/proc/self/mounts").unwrap().contains(" selinuxfs "));
    make_data();
    let script = "grep -c selinuxfs /proc/self/mounts; \
        test -e /sys/fs/selinux/enforce && echo has-enforce || echo no-enforce; \
        test -e /sys/fs/selinux/load && echo has-load || echo no-load";
    let (a, b) = (policy_a(), policy_b());
    for p in [Some(&a), Some(&b), None] {
        let out = run_labelled(p, &[], script);
        assert_eq!(out, "0\nno-enforce\nno-load\n", "{:?}: {out}", p.map(|p| p.process_type()));
    }
}
