//! Shared helpers for the core and escape test suites.
//!
//! Every test runs real containers on the real kernel, as root. Tests of one binary share
//! the process (fd table, mount namespace, children), so each test takes [`lock`] to run
//! alone: the leak checks compare exact before/after snapshots.
#![allow(dead_code)]

mod netns;
#[allow(unused_imports)] // only the network tests use it
pub use netns::in_test_netns;

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cocoon::{Container, ContainerBuilder, ExitStatus, Process, Stdio};

pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Fails (never skips) when not root: these tests are meaningless otherwise.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(euid, 0, "the cocoon core tests create namespaces and mounts: run them as root (euid is {euid})");
}

static LOCK: Mutex<()> = Mutex::new(());

/// Serialises the tests of one binary and checks for root.
pub fn lock() -> MutexGuard<'static, ()> {
    require_root();
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// `/bin/sh -c script` with PATH set and stdout/stderr piped.
pub fn sh(script: &str) -> Process {
    Process::new("/bin/sh")
        .args(["-c", script])
        .env("PATH", PATH)
        .stdout(Stdio::Piped)
        .stderr(Stdio::Piped)
}

/// What a container printed and how it ended.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Asserts exit code 0, showing stderr otherwise.
    pub fn ok(self) -> Output {
        assert!(self.status.success(), "container failed: {:?}\nstdout:\n{}\nstderr:\n{}", self.status, self.stdout, self.stderr);
        self
    }
}

/// Reads stdout and stderr to the end (stderr on a thread, no pipe deadlock) and waits.
pub fn collect(c: &mut Container) -> Output {
    let err = c.take_stderr().map(|mut e| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = e.read_to_string(&mut s);
            s
        })
    });
    let mut stdout = String::new();
    if let Some(mut o) = c.take_stdout() {
        o.read_to_string(&mut stdout).unwrap();
    }
    let stderr = err.map(|t| t.join().unwrap()).unwrap_or_default();
    let status = c.wait().unwrap();
    Output { status, stdout, stderr }
}

/// Spawns, collects the output, waits.
pub fn run(b: ContainerBuilder) -> Output {
    let mut c = b.spawn().unwrap_or_else(|e| panic!("spawn failed: {e} ({e:?})"));
    collect(&mut c)
}

/// Spawns, collects, asserts success, returns stdout.
pub fn run_ok(b: ContainerBuilder) -> String {
    run(b).ok().stdout
}

/// A line-by-line reader of a container's stdout for handshakes with a live container.
pub struct Lines(std::io::BufReader<std::process::ChildStdout>);

impl Lines {
    pub fn new(c: &mut Container) -> Lines {
        Lines(std::io::BufReader::new(c.take_stdout().expect("stdout must be piped")))
    }
    pub fn from(o: std::process::ChildStdout) -> Lines {
        Lines(std::io::BufReader::new(o))
    }
    pub fn next(&mut self) -> String {
        use std::io::BufRead;
        let mut s = String::new();
        self.0.read_line(&mut s).unwrap();
        s.trim_end().to_string()
    }
}

/// A directory removed on drop (no tempfile crate in the dev-dependencies).
pub struct TempDir(PathBuf);

static NEXT: AtomicU64 = AtomicU64::new(0);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "cocoon-test-{}-{}-{tag}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Recursively lists every path below `dir` (relative), for "host side untouched" checks.
pub fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            out.push(p.strip_prefix(base).unwrap().display().to_string());
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                walk(base, &p, out);
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, dir, &mut v);
    v.sort();
    v
}

/// A static busybox root in `dir`: /bin/busybox plus applet links, /etc/passwd and
/// /etc/group (with a user `alice` 1234:2345 in group `staff` 777), empty /proc /sys /dev
/// /tmp. Built at test time from the host's busybox-static.
pub fn busybox_root(dir: &Path) {
    let bb = Path::new("/bin/busybox");
    assert!(
        bb.exists(),
        "/bin/busybox is missing: apt-get install --no-install-recommends busybox-static"
    );
    for d in ["bin", "etc", "proc", "sys", "dev", "tmp", "root", "home/alice"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::copy(bb, dir.join("bin/busybox")).unwrap();
    for applet in [
        "sh", "cat", "ls", "echo", "id", "stat", "touch", "mkdir", "readlink", "grep", "wc", "sleep", "hostname",
        "mount", "test", "head", "true", "false", "env", "rm", "cut", "tr", "sort", "find", "cp", "chmod",
    ] {
        std::os::unix::fs::symlink("busybox", dir.join("bin").join(applet)).unwrap();
    }
    std::fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nalice:x:1234:2345:Alice:/home/alice:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(dir.join("etc/group"), "root:x:0:\nalice:x:2345:\nstaff:x:777:bob,alice\n").unwrap();
    std::fs::write(dir.join("etc/marker"), "lower-layer\n").unwrap();
    chmod(&dir.join("tmp"), 0o1777);
}

pub fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The fds of this process with what they point to.
pub fn fds() -> BTreeMap<i32, String> {
    let mut m = BTreeMap::new();
    // read_dir's own fd shows up too; it is the same number before and after.
    for e in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let n: i32 = e.file_name().to_string_lossy().parse().unwrap();
        let t = std::fs::read_link(e.path()).map(|p| p.display().to_string()).unwrap_or_default();
        m.insert(n, t);
    }
    m
}

fn lines(path: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_to_string(path).unwrap().lines().map(String::from).collect();
    v.sort();
    v
}

/// Our children, from `/proc/self/task/*/children` (every thread's).
pub fn children() -> Vec<i32> {
    let mut v = Vec::new();
    for t in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
            v.extend(s.split_whitespace().map(|p| p.parse::<i32>().unwrap()));
        }
    }
    v.sort();
    v
}

/// Asserts that this process has no child at all, running or zombie:
/// `waitid(P_ALL, WNOHANG | WNOWAIT | __WALL)` must fail with ECHILD.
pub fn assert_no_children() {
    // SAFETY: siginfo_t is plain data; waitid fills it. WNOWAIT: nothing is reaped.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer, no side effect thanks to WNOWAIT.
    let r = unsafe {
        libc::waitid(libc::P_ALL, 0, &mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT | libc::__WALL)
    };
    let e = std::io::Error::last_os_error().raw_os_error();
    // SAFETY: si_pid is valid after a successful waitid.
    let pid = if r == 0 { unsafe { info.si_pid() } } else { 0 };
    assert!(r == -1 && e == Some(libc::ECHILD), "a child was left behind: waitid -> {r}, errno {e:?}, pid {pid}, /proc children {:?}", children());
    assert!(children().is_empty(), "children left: {:?}", children());
}

/// cocoon creates its sealed exec helper (a memfd, `/memfd:cocoon-helper`) once per
/// process, at the first spawn: spawn once before the first snapshot so that this one fd
/// is not counted as a leak (a leaked per-spawn copy of it still is).
fn warm_up() {
    static WARM: std::sync::Once = std::sync::Once::new();
    WARM.call_once(|| {
        let mut c = ContainerBuilder::new(Process::new("/bin/true")).spawn().expect("warm-up spawn");
        assert!(c.wait().expect("warm-up wait").success());
    });
}

/// What must not change across spawns: our fds, our mount table, the host's mount table,
/// our children.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub fds: BTreeMap<i32, String>,
    pub mounts: Vec<String>,
    pub host_mounts: Vec<String>,
    pub children: Vec<i32>,
}

pub fn snapshot() -> Snapshot {
    warm_up();
    Snapshot {
        fds: fds(),
        mounts: lines("/proc/self/mountinfo"),
        host_mounts: lines("/proc/1/mountinfo"),
        children: children(),
    }
}

pub fn assert_unchanged(before: &Snapshot, after: &Snapshot, what: &str) {
    assert_eq!(before.fds, after.fds, "{what}: the fd table changed");
    assert_eq!(before.mounts, after.mounts, "{what}: our mount table changed");
    assert_eq!(before.host_mounts, after.host_mounts, "{what}: the host mount table changed");
    assert_eq!(before.children, after.children, "{what}: children changed");
}

/// Opens `path` WITHOUT O_CLOEXEC, as a careless host library would.
pub fn open_leaky(path: &Path, flags: i32) -> i32 {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: NUL-terminated path.
    let fd = unsafe { libc::open(c.as_ptr(), flags) };
    assert!(fd >= 0, "open {}: {}", path.display(), std::io::Error::last_os_error());
    fd
}

pub fn close(fd: i32) {
    // SAFETY: closing an fd the test opened.
    unsafe { libc::close(fd) };
}

/// Reads a `Key:\tvalue` line of a /proc status file text.
pub fn status_field<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
        .map(str::trim)
        .unwrap_or_else(|| panic!("{key} not in status:\n{status}"))
}

/// Waits until `f` is true or panics after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether a pid exists at all (running or zombie).
pub fn pid_exists(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}
