//! The default seccomp profile (Docker's allowlist, `Profile::default_profile`) in real
//! containers: what it refuses, with the errno seen inside; that ordinary workloads
//! (busybox, python3, a Rust binary) run under it; that kept capabilities widen it; that
//! a profile of one's own replaces it; and that bad profiles are typed errors at spawn.

mod common;

use std::io::Write;

use cocoon::seccomp::{Action, Arg, Op, Profile, ProfileError, Rule};
use cocoon::{CapSet, Capabilities, Capability, ContainerBuilder, Error, Mount, Process, Stdio};
use common::*;

/// Python through ctypes: each call printed as `name=result` (0 or -errno). Arguments are
/// harmless (NULL pointers, zero lengths): the filter decides before the kernel looks.
const PROBE: &str = r#"
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def call(*a):
    r = libc.syscall(*a)
    return 0 if r >= 0 else -ctypes.get_errno()
out = []
# mount first: after unshare(CLONE_NEWUSER) the mount namespace belongs to another userns.
out.append(("mount", call(165, b"none", b"/tmp", b"tmpfs", 0, 0)))
out.append(("unshare_user", call(272, 0x10000000)))
out.append(("keyctl", call(250, 0, -4, 0)))
out.append(("add_key", call(248, b"user", b"k", b"v", 1, -4)))
out.append(("bpf", call(321, 0, 0, 0)))
out.append(("perf_event_open", call(298, 0, 0, -1, -1, 0)))
out.append(("kexec_load", call(246, 0, 0, 0, 0)))
out.append(("open_by_handle_at", call(304, -100, 0, 0)))
out.append(("ptrace", call(101, 0x4206, os.getppid(), 0, 0)))
out.append(("clone3", call(435, 0, 0)))
print(" ".join(f"{k}={v}" for k, v in out))
"#;

/// Runs the probe (the caller holds [`lock`]).
fn probe(p: Process) -> std::collections::BTreeMap<String, i32> {
    let out = run_ok(ContainerBuilder::new(p.args(["-c", PROBE]).stdout(Stdio::Piped).stderr(Stdio::Piped)));
    out.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.parse().unwrap_or_else(|_| panic!("{out}"))))
        .collect()
}

fn py() -> Process {
    Process::new("/usr/bin/python3")
}

#[test]
fn the_default_profile_refuses_with_eperm() {
    let _g = lock();
    let r = probe(py());
    let eperm = -libc::EPERM;
    for k in [
        "unshare_user",
        "keyctl",
        "add_key",
        "bpf",
        "perf_event_open",
        "kexec_load",
        "open_by_handle_at",
        "mount",
        "ptrace",
    ] {
        assert_eq!(r.get(k), Some(&eperm), "{k}: {r:?}");
    }
    assert_eq!(r.get("clone3"), Some(&-libc::ENOSYS), "{r:?}");
    // The control: without the profile keyrings and user namespaces work, clone3 is there.
    let off = probe(py().default_seccomp(false));
    assert_eq!(off.get("keyctl"), Some(&0), "{off:?}");
    assert_eq!(off.get("unshare_user"), Some(&0), "{off:?}");
    assert_eq!(off.get("clone3"), Some(&-libc::EINVAL), "{off:?}");
}

#[test]
fn cap_sys_admin_and_cap_sys_ptrace_widen_it() {
    let _g = lock();
    let caps = Capabilities::docker_default().bounding.with(Capability::CAP_SYS_ADMIN).with(Capability::CAP_SYS_PTRACE);
    let r = probe(py().capabilities(Capabilities::uniform(caps)));
    assert_eq!(r.get("mount"), Some(&0), "tmpfs on /tmp with CAP_SYS_ADMIN: {r:?}");
    assert_ne!(r.get("clone3"), Some(&-libc::ENOSYS), "{r:?}");
    // Keyrings and kexec stay refused whatever the capabilities.
    assert_eq!(r.get("keyctl"), Some(&-libc::EPERM), "{r:?}");
    assert_eq!(r.get("kexec_load"), Some(&-libc::EPERM), "{r:?}");
    // ptrace reaches the kernel (which refuses PTRACE_SEIZE of the parent here differently).
    assert_ne!(r.get("ptrace"), Some(&-libc::EPERM), "{r:?}");
}

#[test]
fn busybox_and_python_work_under_it() {
    let _g = lock();
    let script = "set -e; cd /tmp; mkdir -p w/d; echo hello > w/d/f; cp w/d/f w/g; ls w | sort | tr '\\n' ' '; \
                  tar cf w.tar w; mkdir x; tar xf w.tar -C x; cat x/w/d/f; busybox wget --help 2>&1 | head -1 | cut -c1-7; \
                  busybox sh -c 'echo nested $$ >/dev/null; echo subshell'; sleep 0; echo done";
    let out = run_ok(ContainerBuilder::new(sh(script)));
    assert!(
        out.contains("d g") && out.contains("hello") && out.contains("subshell") && out.ends_with("done\n"),
        "{out}"
    );
    assert!(out.contains("BusyBox") || out.contains("Usage"), "wget -h: {out}");
    let py_script = r#"
import os, socket, subprocess, threading, tempfile
r = []
ts = [threading.Thread(target=r.append, args=(i,)) for i in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
a, b = socket.socketpair(); a.sendall(b"ping"); assert b.recv(4) == b"ping"
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM); s.close()
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s6.close()
p = subprocess.run(["/bin/echo", "child"], capture_output=True, check=True)
with tempfile.NamedTemporaryFile("w+", dir="/tmp") as f:
    f.write("data"); f.flush(); f.seek(0); assert f.read() == "data"
os.makedirs("/tmp/py/a", exist_ok=True); os.rename("/tmp/py/a", "/tmp/py/b")
print("threads", len(r), p.stdout.decode().strip(), "ok")
"#;
    let out = run_ok(ContainerBuilder::new(py().args(["-c", py_script]).stdout(Stdio::Piped).stderr(Stdio::Piped)));
    assert_eq!(out.trim(), "threads 8 child ok");
}

/// Not a test: a Rust workload run inside (this executable, COCOON_WORKLOAD=1): threads,
/// a child process, files, a socket pair, a pipe.
#[test]
#[ignore = "entry point of the in-container workload, started by rust_binary_works_under_it"]
fn workload_entry() {
    if std::env::var_os("COCOON_WORKLOAD").is_none() {
        return;
    }
    let sum: u64 = (0..4u64).map(|i| std::thread::spawn(move || i * 10)).map(|t| t.join().unwrap()).sum();
    let child = std::process::Command::new("/bin/echo").arg("child").output().unwrap();
    std::fs::create_dir_all("/tmp/rs").unwrap();
    std::fs::write("/tmp/rs/f", b"data").unwrap();
    let back = std::fs::read("/tmp/rs/f").unwrap();
    let (mut a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    a.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    std::io::Read::read_exact(&mut b, &mut buf).unwrap();
    let mut out = std::io::stdout();
    writeln!(
        out,
        "\nWORKLOAD sum={sum} child={} file={} sock={}",
        String::from_utf8_lossy(&child.stdout).trim(),
        String::from_utf8_lossy(&back),
        String::from_utf8_lossy(&buf)
    )
    .unwrap();
    out.flush().unwrap();
}

#[test]
fn rust_binary_works_under_it() {
    let _g = lock();
    let me = std::env::current_exe().unwrap();
    let name = me.file_name().unwrap().to_string_lossy().into_owned();
    let p = Process::new(format!("/probe/{name}"))
        .args(["--ignored", "--exact", "workload_entry", "--nocapture", "--test-threads=1"])
        .env("COCOON_WORKLOAD", "1")
        .stdout(Stdio::Piped)
        .stderr(Stdio::Piped);
    let b = ContainerBuilder::new(p).mount(Mount::bind(me.parent().unwrap(), "/probe").read_only(true));
    let out = run_ok(b);
    assert!(out.contains("WORKLOAD sum=60 child=child file=data sock=ping"), "{out}");
}

#[test]
fn a_profile_of_ones_own_replaces_the_default() {
    let _g = lock();
    let profile = Profile::new(Action::Allow)
        .named("test")
        .rule(Rule::new(Action::Errno(libc::EACCES as u32), ["mkdir", "mkdirat"]));
    let out = run_ok(ContainerBuilder::new(sh("mkdir /tmp/x 2>&1; echo rc=$?").seccomp_profile(profile)));
    assert!(out.contains("Permission denied") && out.contains("rc=1"), "{out}");
    // An argument condition: kill(pid, 0) refused, other signals allowed.
    let profile = Profile::new(Action::Allow)
        .rule(Rule::new(Action::Errno(libc::EACCES as u32), ["kill"]).arg(Arg::new(1, Op::Eq, 0)));
    let script = "kill -0 $$ 2>/dev/null && echo zero-ok; kill -CONT $$ && echo cont-ok";
    let out = run_ok(ContainerBuilder::new(sh(script).seccomp_profile(profile)));
    assert!(!out.contains("zero-ok") && out.contains("cont-ok"), "{out}");
    // The default profile is gone: keyrings work.
    let out = probe(py().seccomp_profile(Profile::new(Action::Allow)));
    assert_eq!(out.get("keyctl"), Some(&0), "{out:?}");
}

#[test]
fn bad_profiles_are_typed_errors_at_spawn() {
    let _g = lock();
    let before = snapshot();
    let spawn =
        |p: Profile| ContainerBuilder::new(Process::new("/bin/true").stdin(Stdio::Null).seccomp_profile(p)).spawn();
    let err = spawn(Profile::new(Action::Allow).rule(Rule::new(Action::Errno(1), ["no_such_call"])))
        .expect_err("unknown name");
    assert!(
        matches!(&err, Error::Seccomp(ProfileError::UnknownSyscall { rule: 0, name }) if name == "no_such_call"),
        "{err:?}"
    );
    let bad_arg = Rule::new(Action::Errno(1), ["read"]).arg(Arg::new(6, Op::Eq, 0));
    let err = spawn(Profile::new(Action::Allow).rule(bad_arg)).expect_err("arg index 6");
    assert!(matches!(err, Error::Seccomp(ProfileError::ArgIndex { rule: 0, index: 6 })), "{err:?}");
    let err = spawn(Profile::new(Action::Notify)).expect_err("notify");
    assert!(matches!(err, Error::Seccomp(ProfileError::Notify { rule: None })), "{err:?}");
    assert_unchanged(&before, &snapshot(), "refused profiles create nothing");
}

#[test]
fn the_default_profile_needs_no_capability_set_of_its_own() {
    // No capabilities at all, and without no_new_privs: the profile still goes on.
    let _g = lock();
    let r = probe(py().capabilities(Capabilities::uniform(CapSet::EMPTY)).no_new_privs(false));
    assert_eq!(r.get("keyctl"), Some(&-libc::EPERM), "{r:?}");
    assert_eq!(r.get("unshare_user"), Some(&-libc::EPERM), "{r:?}");
}
