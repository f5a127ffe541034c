//! The default device policy on a pure cgroup v2 host, where it is an eBPF
//! `BPF_PROG_TYPE_CGROUP_DEVICE` program on the container's cgroup (tests/escape_device_nodes.rs
//! covers the v1 devices controller on the build host). Runs inside the qemu VM
//! (tests/vm/run-tests.sh); ignored on the hybrid build host.

use std::io::Read;
use std::path::{Path, PathBuf};

use cocoon::cgroup::{host_mode, CgroupConfig, CgroupHandle, CgroupMode, DeviceRule};
use cocoon::{Container, ContainerBuilder, Mount, Process, Stdio};

fn in_vm() {
    assert_eq!(std::env::var("COCOON_VM").as_deref(), Ok("1"), "this test only runs inside the qemu VM");
    assert_eq!(host_mode().ok(), Some(CgroupMode::V2), "the VM mounts a pure cgroup v2 hierarchy");
}

fn sh(script: &str) -> Process {
    Process::new("/bin/sh").args(["-c", script]).stdout(Stdio::Piped).stderr(Stdio::Piped).stdin(Stdio::Null)
}

fn run(b: ContainerBuilder) -> String {
    let mut c = b.spawn().expect("spawn");
    let out = output(&mut c);
    let st = c.wait().expect("wait");
    assert!(st.success(), "container failed: {st:?}: {out}");
    out
}

fn output(c: &mut Container) -> String {
    let mut s = String::new();
    c.take_stdout().expect("piped stdout").read_to_string(&mut s).expect("read stdout");
    let mut e = String::new();
    c.take_stderr().expect("piped stderr").read_to_string(&mut e).expect("read stderr");
    s + &e
}

/// mknod + open of a block device (loop), kmsg, kvm and mem in /dev, /tmp and /.
const FORBIDDEN: &str = "try() { for d in /dev /tmp ''; do p=$d/cocoon-node-$1; \
      if mknod $p $2 $3 $4 2>/dev/null; then echo \"MADE $1 in $d/\"; \
        if (: < $p) 2>/dev/null || (: > $p) 2>/dev/null; then echo \"OPENED $1 in $d/\"; fi; rm -f $p; \
      fi; done; }; \
    try loop0 b 7 0; try kmsg c 1 11; try kvm c 10 232; try mem c 1 1; \
    (: > /dev/host-kmsg) 2>&1 && echo OPENED host kmsg; (: < /dev/host-mem) 2>/dev/null && echo OPENED host mem; \
    echo done";

fn forbidden_builder() -> ContainerBuilder {
    ContainerBuilder::new(sh(FORBIDDEN))
        .mount(Mount::bind("/dev/kmsg", "/dev/host-kmsg").nodev(false))
        .mount(Mount::bind("/dev/mem", "/dev/host-mem").nodev(false))
}

fn assert_refused(out: &str, what: &str) {
    assert!(out.contains("done"), "{what}: the script did not finish: {out}");
    assert!(!out.contains("OPENED") && !out.contains("MADE"), "{what}: a forbidden device was made or opened:\n{out}");
}

// --- raw bpf(2) for inspecting what is attached (the library exposes no prog ids) ---

const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_CGROUP_DEVICE: u32 = 6;

#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

/// Ids of the device programs attached directly to cgroup directory `dir`.
fn attached_programs(dir: &Path) -> Vec<u32> {
    let f = std::fs::File::open(dir).expect("open cgroup dir");
    let mut ids = [0u32; 8];
    let mut attr = QueryAttr {
        target_fd: std::os::fd::AsRawFd::as_raw_fd(&f) as u32,
        attach_type: BPF_CGROUP_DEVICE,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        ..Default::default()
    };
    // SAFETY: attr is a valid BPF_PROG_QUERY attr; prog_ids points to prog_cnt u32s.
    let r = unsafe { libc::syscall(libc::SYS_bpf, BPF_PROG_QUERY, &mut attr as *mut QueryAttr, std::mem::size_of::<QueryAttr>()) };
    assert_eq!(r, 0, "BPF_PROG_QUERY: {}", std::io::Error::last_os_error());
    ids[..attr.prog_cnt as usize].to_vec()
}

/// Whether a program with this id still exists anywhere in the kernel.
fn program_exists(id: u32) -> bool {
    let mut attr = [id, 0, 0, 0];
    // SAFETY: a BPF_PROG_GET_FD_BY_ID attr (prog_id, next_id, open_flags).
    let fd = unsafe { libc::syscall(libc::SYS_bpf, BPF_PROG_GET_FD_BY_ID, attr.as_mut_ptr(), 16usize) };
    if fd >= 0 {
        // SAFETY: closing the fd we just got.
        unsafe { libc::close(fd as i32) };
        return true;
    }
    let e = std::io::Error::last_os_error().raw_os_error();
    assert_eq!(e, Some(libc::ENOENT), "BPF_PROG_GET_FD_BY_ID");
    false
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_default_container_gets_an_ebpf_device_policy_and_leaves_nothing() {
    in_vm();
    // Containers without any cgroup configuration and without a PID namespace: one v2
    // directory each, with the one device program this process loaded for the default policy.
    let mut seen = Vec::new();
    for i in 0..5 {
        let id = format!("cocoon-vm-devpolicy-{i}");
        let mut c = ContainerBuilder::new(Process::new("/bin/sleep").arg("60").stdin(Stdio::Null))
            .namespaces(cocoon::Namespaces::DEFAULT - cocoon::Namespaces::PID)
            .id(&id)
            .spawn()
            .expect("spawn");
        let dir = PathBuf::from(format!("/sys/fs/cgroup/cocoon/{id}"));
        assert!(dir.is_dir(), "the policy cgroup exists while the container runs");
        let ids = attached_programs(&dir);
        assert_eq!(ids.len(), 1, "one device program attached: {ids:?}");
        seen.extend(ids);
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap();
        assert!(procs.lines().any(|l| l.trim() == c.pid().to_string()), "the container is in it: {procs}");
        c.kill(libc::SIGKILL).expect("kill");
        let _ = c.wait();
        c.delete().expect("delete");
        assert!(!dir.exists(), "delete removes the cgroup (and with it the attachment)");
    }
    seen.dedup();
    assert_eq!(seen.len(), 1, "the program is loaded once per process, not per container: {seen:?}");
    assert!(program_exists(seen[0]), "kept loaded (one fd) for the next container");
    // With a PID namespace (the default): all in the machine's shared policy directory,
    // which carries one program (this process's, or that of the cocoon that made it).
    let mut shared = Vec::new();
    for _ in 0..3 {
        let c = ContainerBuilder::new(Process::new("/bin/sleep").arg("60").stdin(Stdio::Null)).spawn().expect("spawn");
        let cg = std::fs::read_to_string(format!("/proc/{}/cgroup", c.pid())).unwrap();
        let rel = cg.lines().find_map(|l| l.strip_prefix("0::")).unwrap_or("").to_string();
        assert!(rel.starts_with("/cocoon.devices-"), "born in the shared policy directory: {cg}");
        let ids = attached_programs(&PathBuf::from(format!("/sys/fs/cgroup{rel}")));
        assert_eq!(ids.len(), 1, "one device program attached there: {ids:?}");
        shared.extend(ids);
        c.delete().expect("delete");
    }
    shared.dedup();
    assert_eq!(shared.len(), 1, "the same directory and program each time: {shared:?}");
    let swept = cocoon::cgroup::sweep_stale(None).expect("sweep");
    assert!(swept.iter().any(|p| p.to_string_lossy().contains("cocoon.devices-")), "an explicit sweep removes the empty shared directory: {swept:?}");

    let out = run(forbidden_builder());
    assert_refused(&out, "defaults");
    assert!(out.contains("not permitted"), "the eBPF policy answered EPERM: {out}");
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_limits_and_user_namespace_get_the_policy_too() {
    in_vm();
    let out = run(forbidden_builder().cgroup(CgroupConfig::new().pids_max(64)));
    assert_refused(&out, "with limits");
    let out = run(
        forbidden_builder()
            .namespaces(cocoon::Namespaces::DEFAULT | cocoon::Namespaces::USER)
            .uid_map([cocoon::IdRange::new(0, 0, 65536)])
            .gid_map([cocoon::IdRange::new(0, 0, 65536)]),
    );
    assert_refused(&out, "user namespace");
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_allowed_devices_work_and_nodes_made_are_nodev() {
    in_vm();
    let out = run(ContainerBuilder::new(sh(
        "echo x > /dev/null && echo null; head -c 4 /dev/zero | wc -c; (exec 3>/dev/full) && echo full; \
         head -c 4 /dev/urandom | wc -c; head -c 4 /dev/random | wc -c; \
         (: < /dev/tty) 2>&1 | grep -q 'not permitted' || echo tty; (exec 3<>/dev/ptmx) && echo ptmx; \
         for d in /dev /tmp ''; do mknod $d/mynull c 1 3 && { (echo x > $d/mynull) 2>&1 | grep -q 'denied' && echo nodev $d/; }; done",
    )));
    assert_eq!(out, "null\n4\nfull\n4\n4\ntty\nptmx\nnodev /dev/\nnodev /tmp/\nnodev /\n");
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_a_user_device_rule_allows_one_more_device() {
    in_vm();
    let b = || {
        ContainerBuilder::new(sh("(: > /dev/host-kmsg) 2>&1 && echo kmsg; (: < /dev/host-mem) 2>/dev/null || echo mem-refused"))
            .mount(Mount::bind("/dev/kmsg", "/dev/host-kmsg").nodev(false))
            .mount(Mount::bind("/dev/mem", "/dev/host-mem").nodev(false))
    };
    let out = run(b().cgroup(CgroupConfig::new().device_rule(DeviceRule::allow_char(1, 11))));
    assert_eq!(out, "kmsg\nmem-refused\n");
    let out = run(b());
    assert!(!out.contains("kmsg\n") && out.contains("not permitted"), "without the rule kmsg is refused: {out}");
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_cgroup_handle_device_rules_are_enforced_on_v2() {
    in_vm();
    // A handle starts from allow-all; deny_all + allow null is the whole policy.
    let name = format!("cocoon-vm-devhandle-{}", std::process::id());
    let cfg = CgroupConfig::new().device_rule(DeviceRule::deny_all()).device_rule(DeviceRule::allow_char(1, 3));
    let h = CgroupHandle::create(&cfg, &name).expect("device rules work on v2");
    let dir = h.dirs()[0].to_path_buf();
    assert_eq!(attached_programs(&dir).len(), 1);
    let child = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > {}/cgroup.procs; echo x > /dev/null && echo null; (: < /dev/zero) 2>&1 | grep -q 'not permitted' && echo zero-refused",
            dir.display()
        ))
        .output()
        .unwrap();
    h.destroy().unwrap();
    assert!(!dir.exists());
    assert_eq!(String::from_utf8_lossy(&child.stdout), "null\nzero-refused\n");
}
