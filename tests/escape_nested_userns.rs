//! New namespaces from inside (hardening issue 9, item 7): with the library's defaults,
//! root in a container must not create user namespaces (which hand it CAP_SYS_ADMIN over
//! a fresh namespace and the kernel's userns attack surface), nor any other namespace,
//! nor join one — by `unshare`, `clone` with a `CLONE_NEW*` flag, `clone3` (ENOSYS, so
//! libcs fall back to `clone`), `setns`, or through the i386 entry (`int 0x80`, which
//! the default profile answers by killing the process, SIGSYS). Plain fork and threads
//! keep working. With CAP_SYS_ADMIN kept, the default profile allows namespaces, as
//! Docker's does (the container was given them).
//!
//! The prober is this test executable, run inside the container (entry `probe_entry`
//! with COCOON_PROBE=1): it makes each call with raw syscalls and prints `name=errno`
//! (0 = the call succeeded); the outer tests check the values.

mod common;

use std::collections::BTreeMap;
use std::io::Write;

use cocoon::{CapSet, Capabilities, Container, ContainerBuilder, Mount, Process, Stdio};
use common::*;

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(-1)
}

/// Waits for a child the probe made (raw clone children are ordinary SIGCHLD children).
fn reap(pid: libc::c_long) {
    let mut st = 0;
    // SAFETY: waitpid on our own child.
    unsafe { libc::waitpid(pid as libc::pid_t, &mut st, 0) };
}

/// `clone(flags)` like fork (no new stack): 0 if it made a child, else the errno.
fn clone_errno(flags: u64) -> i32 {
    // SAFETY: a fork-like clone; the child only calls _exit.
    let r = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
    if r == 0 {
        // SAFETY: the child leaves at once.
        unsafe { libc::_exit(0) };
    }
    if r < 0 {
        return errno();
    }
    reap(r);
    0
}

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
}

fn clone3_errno(flags: u64) -> i32 {
    let args = CloneArgs { flags, exit_signal: libc::SIGCHLD as u64, ..Default::default() };
    // SAFETY: clone3 with a valid args struct; the child only calls _exit.
    let r = unsafe { libc::syscall(libc::SYS_clone3, &args as *const CloneArgs, std::mem::size_of::<CloneArgs>()) };
    if r == 0 {
        // SAFETY: the child leaves at once.
        unsafe { libc::_exit(0) };
    }
    if r < 0 {
        return errno();
    }
    reap(r);
    0
}

fn ret_errno(r: libc::c_long) -> i32 {
    if r < 0 {
        errno()
    } else {
        0
    }
}

/// An i386 syscall through `int 0x80` (the compat entry, which a filter sees as
/// AUDIT_ARCH_I386): returns the raw result (-errno on failure).
#[cfg(target_arch = "x86_64")]
fn int80(nr: u32, a: u32, b: u32, c: u32) -> i32 {
    let ret: i32;
    // SAFETY: the compat entry reads eax/ebx/ecx/edx; rbx is reserved by LLVM, so it is
    // swapped in and out; the kernel may clobber r8-r11.
    unsafe {
        std::arch::asm!(
            "xchg {a:r}, rbx",
            "int 0x80",
            "xchg {a:r}, rbx",
            a = inout(reg) a as u64 => _,
            inlateout("eax") nr as i32 => ret,
            in("ecx") b,
            in("edx") c,
            out("r8") _, out("r9") _, out("r10") _, out("r11") _,
        );
    }
    ret
}

/// Runs an i386 call in a forked child: `-signal` if the child was killed, else what it
/// returned (its result as the exit status: 0 or an errno).
#[cfg(target_arch = "x86_64")]
fn i386_in_child(nr: u32, a: u32, b: u32) -> i32 {
    // SAFETY: fork; the child makes one raw syscall and _exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let r = int80(nr, a, b, 0);
        // SAFETY: leaving the child.
        unsafe { libc::_exit(if r < 0 { -r } else { 0 }) };
    }
    let mut st = 0;
    // SAFETY: waitpid on our own child.
    unsafe { libc::waitpid(pid, &mut st, 0) };
    if libc::WIFSIGNALED(st) {
        -libc::WTERMSIG(st)
    } else {
        libc::WEXITSTATUS(st)
    }
}

const SIGCHLD: u64 = libc::SIGCHLD as u64;
const FLAGS: [(&str, libc::c_int); 7] = [
    ("user", libc::CLONE_NEWUSER),
    ("ns", libc::CLONE_NEWNS),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("uts", libc::CLONE_NEWUTS),
    ("ipc", libc::CLONE_NEWIPC),
    ("pid", libc::CLONE_NEWPID),
    ("net", libc::CLONE_NEWNET),
];

/// Not a test: the in-container prober. Does nothing unless COCOON_PROBE is set.
#[test]
#[ignore = "entry point of the in-container prober, started by the tests below"]
fn probe_entry() {
    if std::env::var_os("COCOON_PROBE").is_none() {
        return;
    }
    let mut r: Vec<(String, i32)> = Vec::new();
    // What must keep working, first: without the policy the calls below succeed, and a
    // new PID namespace would make thread creation fail.
    r.push(("fork".into(), clone_errno(SIGCHLD)));
    // SAFETY: unshare of the fd table only.
    r.push(("unshare_files".into(), ret_errno(unsafe { libc::syscall(libc::SYS_unshare, libc::CLONE_FILES) })));
    let t = std::thread::spawn(|| 7).join();
    r.push(("thread".into(), if matches!(t, Ok(7)) { 0 } else { -1 }));
    #[cfg(target_arch = "x86_64")]
    r.push(("i386_fork".into(), i386_in_child(120, libc::SIGCHLD as u32, 0)));
    for (name, f) in FLAGS {
        r.push((format!("clone_{name}"), clone_errno(f as u64 | SIGCHLD)));
        // SAFETY: unshare in the prober only.
        r.push((format!("unshare_{name}"), ret_errno(unsafe { libc::syscall(libc::SYS_unshare, f) })));
    }
    // SAFETY: as above.
    r.push(("unshare_time".into(), ret_errno(unsafe { libc::syscall(libc::SYS_unshare, libc::CLONE_NEWTIME) })));
    r.push(("clone3_user".into(), clone3_errno(libc::CLONE_NEWUSER as u64)));
    r.push(("clone3_plain".into(), clone3_errno(0)));
    let uts = std::fs::File::open("/proc/self/ns/uts").expect("own uts namespace");
    use std::os::fd::AsRawFd;
    // SAFETY: setns on an fd we hold, into the namespace we are already in.
    r.push((
        "setns_uts".into(),
        ret_errno(unsafe { libc::syscall(libc::SYS_setns, uts.as_raw_fd(), libc::CLONE_NEWUTS) }),
    ));
    #[cfg(target_arch = "x86_64")]
    {
        r.push(("i386_clone_user".into(), i386_in_child(120, libc::CLONE_NEWUSER as u32 | libc::SIGCHLD as u32, 0)));
        r.push(("i386_unshare_user".into(), i386_in_child(310, libc::CLONE_NEWUSER as u32, 0)));
        r.push(("i386_clone3".into(), i386_in_child(435, 0, 0)));
        // keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0)
        r.push(("i386_keyctl".into(), i386_in_child(288, 0, -4i32 as u32)));
    }
    let line: Vec<String> = r.iter().map(|(k, v)| format!("{k}={v}")).collect();
    // Straight to fd 1: libtest captures print! output.
    let mut out = std::io::stdout();
    writeln!(out, "\nPROBE {}", line.join(" ")).unwrap();
    out.flush().unwrap();
}

/// Every capability this host process may pass on (its bounding set; CAP_SYS_ADMIN is
/// what matters here).
fn all_caps() -> Capabilities {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hex = status.lines().find_map(|l| l.strip_prefix("CapBnd:")).unwrap().trim();
    let set = u64::from_str_radix(hex, 16).unwrap();
    assert_ne!(set & (1 << 21/* CAP_SYS_ADMIN */), 0, "the test needs CAP_SYS_ADMIN to pass on");
    Capabilities::uniform(CapSet(set))
}

/// The prober as a process, with the directory of this executable bound at /probe.
fn prober(caps: Option<Capabilities>) -> Process {
    let me = std::env::current_exe().unwrap();
    let mut p = Process::new(format!("/probe/{}", me.file_name().unwrap().to_string_lossy()))
        .args(["--exact", "probe_entry", "--ignored", "--nocapture", "--test-threads=1"])
        .env("COCOON_PROBE", "1")
        .stdout(Stdio::Piped)
        .stderr(Stdio::Piped);
    if let Some(c) = caps {
        p = p.capabilities(c);
    }
    p
}

fn probe_mount() -> Mount {
    let me = std::env::current_exe().unwrap();
    Mount::bind(me.parent().unwrap(), "/probe").read_only(true)
}

fn parse(out: Output) -> BTreeMap<String, i32> {
    let out = out.ok();
    let line = out.stdout.lines().find_map(|l| l.strip_prefix("PROBE ")).unwrap_or_else(|| {
        panic!("no probe report:\n{}\n{}", out.stdout, out.stderr);
    });
    line.split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

fn run_probe(caps: Option<Capabilities>) -> BTreeMap<String, i32> {
    let _g = lock();
    parse(run(ContainerBuilder::new(prober(caps)).mount(probe_mount())))
}

/// The values every probe must show with the default policy, whatever the capabilities.
fn assert_refused(r: &BTreeMap<String, i32>) {
    let want = |k: &str, v: i32| assert_eq!(r.get(k), Some(&v), "{k} (0 = succeeded, else errno): {r:?}");
    for (name, _) in FLAGS {
        want(&format!("clone_{name}"), libc::EPERM);
        want(&format!("unshare_{name}"), libc::EPERM);
    }
    want("unshare_time", libc::EPERM);
    want("clone3_user", libc::ENOSYS);
    want("clone3_plain", libc::ENOSYS);
    want("setns_uts", libc::EPERM);
    want("fork", 0);
    want("unshare_files", 0);
    want("thread", 0);
    assert_i386_killed(r);
}

/// Every i386 call kills the caller (the profile filters x86_64 numbers only).
fn assert_i386_killed(r: &BTreeMap<String, i32>) {
    if cfg!(target_arch = "x86_64") {
        for k in ["i386_clone_user", "i386_unshare_user", "i386_clone3", "i386_keyctl", "i386_fork"] {
            assert_eq!(r.get(k), Some(&-libc::SIGSYS), "{k} (negative: killed by that signal): {r:?}");
        }
    }
}

/// With CAP_SYS_ADMIN kept the default profile allows namespaces (as Docker's does):
/// the first calls of the probe succeed (later ones run inside the namespaces made
/// before: after `unshare(CLONE_NEWPID)` forks fail once its init exits); i386 is killed.
fn assert_widened(r: &BTreeMap<String, i32>) {
    let want = |k: &str, v: i32| assert_eq!(r.get(k), Some(&v), "{k} (0 = succeeded, else errno): {r:?}");
    want("fork", 0);
    want("unshare_files", 0);
    want("thread", 0);
    want("clone_user", 0);
    want("clone_ns", 0);
    want("unshare_ns", 0);
    want("setns_uts", 0);
    assert_ne!(r.get("clone3_plain"), Some(&libc::ENOSYS), "clone3 is allowed with CAP_SYS_ADMIN: {r:?}");
    if cfg!(target_arch = "x86_64") {
        want("i386_fork", -libc::SIGSYS);
    }
}

#[test]
fn root_inside_cannot_make_namespaces() {
    // Docker's default capabilities: no CAP_SYS_ADMIN, so without the filter only the
    // user namespace (alone or with others) could be made — and it is refused too.
    assert_refused(&run_probe(None));
}

#[test]
fn every_capability_widens_the_profile_as_docker_does() {
    // With CAP_SYS_ADMIN the container was given namespaces: the profile allows them.
    assert_widened(&run_probe(Some(all_caps())));
}

#[test]
fn processes_exec_into_a_container_get_the_policy() {
    let _g = lock();
    let c: Container = ContainerBuilder::new(Process::new("/bin/sleep").arg("1000").stdin(Stdio::Null))
        .mount(probe_mount())
        .spawn()
        .unwrap();
    for (caps, admin) in [(None, false), (Some(all_caps()), true)] {
        let mut p = c.exec(&prober(caps)).unwrap();
        let mut stdout = String::new();
        let mut stderr = String::new();
        use std::io::Read;
        let err = p.take_stderr().unwrap();
        let t = std::thread::spawn(move || {
            let mut e = err;
            let mut s = String::new();
            let _ = e.read_to_string(&mut s);
            s
        });
        p.take_stdout().unwrap().read_to_string(&mut stdout).unwrap();
        stderr.push_str(&t.join().unwrap());
        let status = p.wait().unwrap();
        let r = parse(Output { status, stdout, stderr });
        if admin {
            assert_widened(&r)
        } else {
            assert_refused(&r)
        }
    }
    c.delete().unwrap();
}

#[test]
fn shell_unshare_fails_while_pipelines_and_threads_work() {
    let _g = lock();
    let script = "unshare -U true 2>&1 && echo UNSHARED; \
                  echo abc | tr a x | tr b y; \
                  python3 -c 'import threading; r=[]; ts=[threading.Thread(target=r.append, args=(i,)) for i in range(8)]; \
                  [t.start() for t in ts]; [t.join() for t in ts]; print(\"threads\", len(r))'";
    let out = run_ok(ContainerBuilder::new(sh(script)));
    assert!(!out.contains("UNSHARED"), "unshare -U worked inside: {out}");
    assert!(out.contains("Operation not permitted"), "{out}");
    assert!(out.contains("xyc"), "pipeline: {out}");
    assert!(out.contains("threads 8"), "python threads: {out}");
}
