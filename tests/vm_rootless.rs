//! Rootless cgroups on a pure cgroup v2 host (the qemu VM, tests/vm/run-tests.sh): an
//! unprivileged caller that owns a delegated subtree (what systemd gives a user session with
//! Delegate=yes, made here by hand) creates containers in it, in a user namespace of its
//! own, with memory and pids limits that hold and stats that read; without delegation the
//! cgroup is a typed error and nothing is left. The outer test (root) makes the subtree,
//! moves a child into it, drops that child to uid 65534 and re-runs this binary there.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use cocoon::cgroup::{Bytes, CgroupConfig};
use cocoon::{ContainerBuilder, Error, IdRange, Namespaces, Process, Stdio};

const INNER: &str = "COCOON_VM_ROOTLESS_INNER";
const NOBODY: u32 = 65534;

fn chown(p: &Path) {
    std::os::unix::fs::chown(p, Some(NOBODY), Some(NOBODY)).unwrap_or_else(|e| panic!("chown {}: {e}", p.display()));
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_rootless_limits_in_a_delegated_subtree() {
    assert_eq!(std::env::var("COCOON_VM").as_deref(), Ok("1"), "run through tests/vm/run-tests.sh");
    let name = format!("cocoon-deleg-{}", std::process::id());
    let deleg = Path::new("/sys/fs/cgroup").join(&name);
    std::fs::create_dir(&deleg).unwrap();
    std::fs::write(deleg.join("cgroup.subtree_control"), "+memory +pids").unwrap();
    let session = deleg.join("session");
    std::fs::create_dir(&session).unwrap();
    // Delegation as systemd does it: the directories and the files that move processes and
    // enable controllers belong to the user.
    for d in [&deleg, &session] {
        chown(d);
        for f in ["cgroup.procs", "cgroup.subtree_control", "cgroup.threads"] {
            chown(&d.join(f));
        }
    }
    let procs = std::ffi::CString::new(session.join("cgroup.procs").into_os_string().into_encoded_bytes()).unwrap();
    let me = std::env::current_exe().unwrap();
    let mut cmd = Command::new(me);
    cmd.args(["--ignored", "--exact", "vm_rootless_inner", "--nocapture", "--test-threads=1"])
        .env(INNER, &name)
        .current_dir("/");
    // SAFETY: the closure runs in the forked child before exec and makes only raw syscalls:
    // it joins the session cgroup as root, then drops to nobody for good.
    unsafe {
        cmd.pre_exec(move || {
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                return Err(std::io::Error::last_os_error());
            }
            libc::close(fd);
            let n = NOBODY as libc::c_long;
            if libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) != 0
                || libc::syscall(libc::SYS_setresgid, n, n, n) != 0
                || libc::syscall(libc::SYS_setresuid, n, n, n) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    // Nothing of the containers is left in the subtree: only the session.
    let left: Vec<String> = std::fs::read_dir(&deleg)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let _ = std::fs::remove_dir(&session);
    let _ = std::fs::remove_dir(&deleg);
    assert!(out.status.success(), "inner test as nobody failed:\n{text}");
    assert!(text.contains("1 passed"), "the inner test ran:\n{text}");
    assert_eq!(left, vec!["session".to_string()], "container cgroups left behind:\n{text}");
    assert!(!deleg.exists(), "the delegated subtree is removed");
}

fn rootless(script: &str) -> ContainerBuilder {
    // SAFETY: getuid/getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    ContainerBuilder::new(Process::new("/bin/sh").args(["-c", script]).stdout(Stdio::Piped).stderr(Stdio::Piped))
        .namespaces(Namespaces::DEFAULT | Namespaces::USER)
        .uid_map([IdRange::new(0, uid, 1)])
        .gid_map([IdRange::new(0, gid, 1)])
}

fn output(b: ContainerBuilder) -> (cocoon::ExitStatus, String, Option<cocoon::CgroupStats>) {
    let mut c = b.spawn().unwrap_or_else(|e| panic!("spawn: {e} ({e:?})"));
    let mut out = String::new();
    c.take_stdout().unwrap().read_to_string(&mut out).unwrap();
    let mut err = String::new();
    c.take_stderr().unwrap().read_to_string(&mut err).unwrap();
    let stats = c.stats().ok();
    (c.wait().unwrap(), out + &err, stats)
}

#[test]
#[ignore = "run by vm_rootless_limits_in_a_delegated_subtree as uid 65534"]
fn vm_rootless_inner() {
    // The VM runs every ignored test: this half only means something when the outer test
    // (above) runs it as nobody inside the delegated subtree.
    let Ok(name) = std::env::var(INNER) else { return };
    // SAFETY: geteuid cannot fail.
    assert_eq!(unsafe { libc::geteuid() }, NOBODY);
    let parent = name.clone();
    // pids.max 8: the ninth concurrent process fails to fork.
    let script = "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 3 & done; echo spawned; cat /proc/self/cgroup";
    let (st, out, stats) = output(rootless(script).cgroup(CgroupConfig::new().parent(&parent).pids_max(8)));
    // busybox sh gives up at the first refused fork.
    assert!(!st.success() && !out.contains("spawned") && out.contains("can't fork"), "pids.max held: {st:?} {out}");
    let stats = stats.expect("stats of a rootless cgroup");
    assert!(stats.pids.as_ref().is_some_and(|p| p.current <= 8), "{stats:?}");
    // memory.max 32 MiB: a 200 MiB allocation is OOM-killed.
    let (st, out, _) = output(
        rootless("x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived ${#x}")
            .cgroup(CgroupConfig::new().parent(&parent).memory_max(Bytes::mib(32))),
    );
    // The OOM killer ends whichever process holds the memory: never all 100 MB in.
    assert!(!out.contains("survived 100000000"), "memory.max held: {st:?} {out}");
    // No delegation (a parent nobody owns): a typed cgroup error, nothing created.
    match rootless("true").cgroup(CgroupConfig::new().parent("cocoon-not-delegated").pids_max(8)).spawn() {
        Err(Error::Cgroup(e)) => eprintln!("without delegation: {e}"),
        other => panic!("without delegation: {other:?}"),
    }
    assert!(!Path::new("/sys/fs/cgroup/cocoon-not-delegated").exists());
}
