//! Smoke tests of the qemu test VM itself (`tests/vm/run-tests.sh`): the guest really has
//! cgroup v2 with every controller, enforces `pids.max`, and (with `--selinux`, which
//! run-tests.sh uses) runs SELinux enforcing with cocoon's policy module, so a process
//! labelled `container_t:s0:c1,c2` reads its own files and is refused another level's.
//!
//! These tests change the machine (mount, cgroups, labels): on the host they are ignored
//! and, if forced, refuse to run outside the VM.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
const SELINUX_MAGIC: i64 = 0xf97c_ff8c;
/// Set in the re-executed probe child of the SELinux test: the directory holding the files.
const PROBE_ENV: &str = "COCOON_VM_SMOKE_PROBE_DIR";
const PROBE_TEST: &str = "selinux_container_label_and_mcs_separation";

fn require_vm() {
    assert_eq!(
        std::env::var("COCOON_VM").as_deref(),
        Ok("1"),
        "this test changes the machine and runs only in the qemu VM: tests/vm/run-tests.sh"
    );
}

fn selinux_expected() -> bool {
    std::env::var("COCOON_VM_SELINUX").as_deref() == Ok("1")
}

fn cpath(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap()
}

fn statfs_type(p: &Path) -> i64 {
    let c = cpath(p);
    // SAFETY: zeroed statfs is a valid out-buffer; `c` is a NUL-terminated path.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers for the duration of the call.
    let r = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    assert_eq!(
        r,
        0,
        "statfs {}: {}",
        p.display(),
        io::Error::last_os_error()
    );
    st.f_type as i64
}

fn words(p: &str) -> Vec<String> {
    fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("read {p}: {e}"))
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn cgroup2_is_mounted_with_all_controllers() {
    require_vm();
    assert_eq!(
        statfs_type(Path::new("/sys/fs/cgroup")),
        CGROUP2_SUPER_MAGIC,
        "/sys/fs/cgroup is not cgroup2"
    );
    let available = words("/sys/fs/cgroup/cgroup.controllers");
    let enabled = words("/sys/fs/cgroup/cgroup.subtree_control");
    for c in ["memory", "pids", "cpu", "io", "cpuset"] {
        assert!(
            available.iter().any(|a| a == c),
            "{c} not in cgroup.controllers {available:?}"
        );
        assert!(
            enabled.iter().any(|a| a == c),
            "{c} not enabled in the root {enabled:?}"
        );
    }
    // A child cgroup gets the controllers' interface files.
    let cg = Path::new("/sys/fs/cgroup/cocoon-vm-smoke-files");
    fs::create_dir(cg).unwrap();
    for f in ["memory.max", "pids.max", "cpu.max", "io.max", "cpuset.cpus"] {
        assert!(cg.join(f).exists(), "{f} missing in a child cgroup");
    }
    fs::remove_dir(cg).unwrap();
}

/// `struct clone_args` of clone3(2), up to `cgroup` (CLONE_ARGS_SIZE_VER2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Forks a child directly into the cgroup whose directory is open at `cg_fd`; the child
/// sleeps until killed.
fn fork_into_cgroup(cg_fd: libc::c_int) -> io::Result<libc::pid_t> {
    let mut args = CloneArgs {
        flags: CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cg_fd as u64,
        ..CloneArgs::default()
    };
    // SAFETY: clone3 without CLONE_VM is a fork: the child gets a copy of the address
    // space and only calls async-signal-safe functions (pause) until it is killed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    if r == 0 {
        loop {
            // SAFETY: pause is async-signal-safe; the parent SIGKILLs us.
            unsafe { libc::pause() };
        }
    }
    Ok(r as libc::pid_t)
}

fn kill_and_reap(pid: libc::pid_t) {
    // SAFETY: pid is our own child; kill/waitpid have no memory preconditions.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn cgroup2_pids_max_refuses_a_third_process() {
    require_vm();
    let cg = PathBuf::from("/sys/fs/cgroup/cocoon-vm-smoke-pids");
    fs::create_dir(&cg).unwrap();
    fs::write(cg.join("pids.max"), "2").unwrap();

    // First member: a Command that moves itself in (write "0" to cgroup.procs) before exec.
    let procs = cpath(&cg.join("cgroup.procs"));
    let mut cmd = Command::new("/bin/busybox");
    cmd.args(["sleep", "1000"]);
    // SAFETY: the hook only calls open/write/close (async-signal-safe) on memory prepared
    // before the fork.
    unsafe {
        cmd.pre_exec(move || {
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let n = libc::write(fd, b"0".as_ptr().cast(), 1);
            let err = io::Error::last_os_error();
            libc::close(fd);
            if n != 1 {
                return Err(err);
            }
            Ok(())
        });
    }
    let mut first = cmd.spawn().unwrap();
    let own = fs::read_to_string(format!("/proc/{}/cgroup", first.id())).unwrap();
    assert_eq!(own.trim(), "0::/cocoon-vm-smoke-pids");

    // Second member: forked straight into the cgroup with clone3(CLONE_INTO_CGROUP).
    let dir = fs::File::open(&cg).unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&dir);
    let second = fork_into_cgroup(fd).expect("second process fits in pids.max=2");
    assert_eq!(
        fs::read_to_string(cg.join("pids.current")).unwrap().trim(),
        "2"
    );

    // Third: refused with EAGAIN, and the refusal is counted.
    let third = fork_into_cgroup(fd);
    let third_err = match third {
        Ok(pid) => {
            kill_and_reap(pid);
            None
        }
        Err(e) => Some(e),
    };
    let events = fs::read_to_string(cg.join("pids.events")).unwrap();

    kill_and_reap(second);
    first.kill().unwrap();
    first.wait().unwrap();
    drop(dir);
    fs::remove_dir(&cg).unwrap();

    let e = third_err.expect("a third process was created despite pids.max=2");
    assert_eq!(e.raw_os_error(), Some(libc::EAGAIN), "third fork: {e}");
    assert!(
        events.contains("max 1"),
        "pids.events did not count the refusal: {events:?}"
    );
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn selinux_state_matches_the_vm_mode() {
    require_vm();
    if !selinux_expected() {
        // Booted without --selinux: there must be no SELinux policy in force.
        assert!(
            fs::read_to_string("/sys/fs/selinux/enforce").is_err(),
            "COCOON_VM_SELINUX is unset but selinuxfs is mounted"
        );
        return;
    }
    assert_eq!(statfs_type(Path::new("/sys/fs/selinux")), SELINUX_MAGIC);
    assert_eq!(
        fs::read_to_string("/sys/fs/selinux/enforce")
            .unwrap()
            .trim(),
        "1"
    );
    let me = fs::read_to_string("/proc/self/attr/current").unwrap();
    assert!(
        me.starts_with("system_u:system_r:kernel_t:"),
        "VM test runs as {me:?}"
    );
    let config = fs::read_to_string("/etc/selinux/config").unwrap();
    assert!(config.contains("SELINUX=enforcing") && config.contains("SELINUXTYPE=default"));
}

fn label_of(p: &Path) -> String {
    let c = cpath(p);
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for buf.len() bytes; names are NUL-terminated.
    let n = unsafe {
        libc::getxattr(
            c.as_ptr(),
            c"security.selinux".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    assert!(
        n >= 0,
        "getxattr {}: {}",
        p.display(),
        io::Error::last_os_error()
    );
    String::from_utf8_lossy(&buf[..n as usize])
        .trim_end_matches('\0')
        .to_owned()
}

fn set_label(p: &Path, label: &str) {
    let c = cpath(p);
    // SAFETY: pointers are valid for the given lengths for the duration of the call.
    let r = unsafe {
        libc::setxattr(
            c.as_ptr(),
            c"security.selinux".as_ptr(),
            label.as_ptr().cast(),
            label.len(),
            0,
        )
    };
    assert_eq!(
        r,
        0,
        "setxattr {} {label}: {}",
        p.display(),
        io::Error::last_os_error()
    );
}

fn mount_tmpfs(target: &Path, data: &str) {
    fs::create_dir_all(target).unwrap();
    let t = cpath(target);
    let d = CString::new(data).unwrap();
    // SAFETY: all strings are NUL-terminated and outlive the call.
    let r = unsafe {
        libc::mount(
            c"tmpfs".as_ptr(),
            t.as_ptr(),
            c"tmpfs".as_ptr(),
            0,
            d.as_ptr().cast(),
        )
    };
    assert_eq!(
        r,
        0,
        "mount tmpfs {} ({data}): {}",
        target.display(),
        io::Error::last_os_error()
    );
}

fn umount(target: &Path) {
    let t = cpath(target);
    // SAFETY: NUL-terminated path.
    unsafe { libc::umount2(t.as_ptr(), libc::MNT_DETACH) };
}

/// What the probe child saw, as `key=value` lines prefixed with `probe:`.
fn probe_report(dir: &Path) {
    let current = fs::read_to_string("/proc/self/attr/current")
        .map(|s| s.trim_end_matches(['\0', '\n']).to_owned())
        .unwrap_or_else(|e| format!("error {e}"));
    println!("probe: current={current}");
    for name in ["c1c2", "c3c4"] {
        match fs::read_to_string(dir.join(name)) {
            Ok(s) => println!("probe: {name}=read:{}", s.trim()),
            Err(e) => println!("probe: {name}=errno:{}", e.raw_os_error().unwrap_or(-1)),
        }
    }
}

fn parse_probe(out: &str, key: &str) -> String {
    out.lines()
        // libtest may print "test NAME ... " on the same line before the report.
        .filter_map(|l| l.find("probe: ").map(|i| &l[i + "probe: ".len()..]))
        .find_map(|l| l.strip_prefix(key).and_then(|l| l.strip_prefix('=')))
        .unwrap_or_else(|| panic!("probe did not report {key}; output:\n{out}"))
        .to_owned()
}

/// Runs `exe` (a copy of this test binary) as `label`, through /proc/thread-self/attr/exec.
fn run_probe(exe: &Path, label: &str, data: &Path) -> String {
    let label_c = CString::new(label).unwrap();
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        PROBE_TEST,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(PROBE_ENV, data)
    // A pipe from us rather than /dev/null: the VM's devtmpfs nodes carry odd labels
    // (no udev/restorecon there) and the inherited fd would be denied and replaced.
    .stdin(Stdio::piped());
    // SAFETY: the hook only calls open/write/close (async-signal-safe) on memory prepared
    // before the fork.
    unsafe {
        cmd.pre_exec(move || {
            // No O_CREAT: procfs attr files exist; O_CREAT would log a spurious denial.
            let fd = libc::open(
                c"/proc/thread-self/attr/exec".as_ptr(),
                libc::O_WRONLY | libc::O_CLOEXEC,
            );
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let b = label_c.as_bytes();
            let n = libc::write(fd, b.as_ptr().cast(), b.len());
            let err = io::Error::last_os_error();
            libc::close(fd);
            if n != b.len() as isize {
                return Err(err);
            }
            Ok(())
        });
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("spawn probe as {label}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "probe as {label} failed ({}):\n{text}",
        out.status
    );
    text
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn selinux_container_label_and_mcs_separation() {
    if let Some(dir) = std::env::var_os(PROBE_ENV) {
        // We are the probe child, re-executed by the test below in the container domain.
        probe_report(Path::new(&dir));
        return;
    }
    require_vm();
    if !selinux_expected() {
        assert!(
            fs::metadata("/sys/fs/selinux/enforce").is_err(),
            "selinuxfs mounted without COCOON_VM_SELINUX"
        );
        return;
    }
    let base = PathBuf::from("/tmp/cocoon-vm-smoke-selinux");
    let data = base.join("data");
    // Files of two containers on one ordinary tmpfs, labelled with setxattr.
    mount_tmpfs(&data, "mode=0755");
    let file_label = |cats: &str| format!("system_u:object_r:container_file_t:s0:{cats}");
    for (name, cats) in [("c1c2", "c1,c2"), ("c3c4", "c3,c4")] {
        let p = data.join(name);
        fs::write(&p, format!("content of {name}\n")).unwrap();
        set_label(&p, &file_label(cats));
        assert_eq!(label_of(&p), file_label(cats));
    }

    let me = std::env::current_exe().unwrap();
    let mut results = Vec::new();
    for (cats, own, other) in [("c1,c2", "c1c2", "c3c4"), ("c3,c4", "c3c4", "c1c2")] {
        // Each container's rootfs: a tmpfs mounted with context=, holding its program.
        let root = base.join(format!("root-{own}"));
        mount_tmpfs(
            &root,
            &format!("mode=0755,context=\"{}\"", file_label(cats)),
        );
        assert_eq!(label_of(&root), file_label(cats), "context= mount label");
        let exe = root.join("probe");
        fs::copy(&me, &exe).unwrap();
        fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            label_of(&exe),
            file_label(cats),
            "file created on the context= tmpfs"
        );

        let label = format!("system_u:system_r:container_t:s0:{cats}");
        let out = run_probe(&exe, &label, &data);
        results.push((label, own, other, out));
        umount(&root);
    }
    // We (kernel_t, unconfined) can still read both: the refusals below are MCS, not DAC.
    let both_readable = ["c1c2", "c3c4"]
        .iter()
        .all(|n| fs::read(data.join(n)).is_ok());
    umount(&data);
    let _ = fs::remove_dir_all(&base);

    assert!(both_readable);
    for (label, own, other, out) in results {
        assert_eq!(
            parse_probe(&out, "current"),
            label,
            "probe label; output:\n{out}"
        );
        assert_eq!(
            parse_probe(&out, own),
            format!("read:content of {own}"),
            "own level; output:\n{out}"
        );
        assert_eq!(
            parse_probe(&out, other),
            format!("errno:{}", libc::EACCES),
            "other container's level must be refused; output:\n{out}"
        );
    }
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_cwd_is_writable() {
    require_vm();
    let cwd = std::env::current_dir().unwrap();
    let probe = cwd.join("cocoon-vm-smoke-writable");
    fs::write(&probe, "x").unwrap();
    fs::remove_file(&probe).unwrap();
}
