//! Shared helpers of the `cocoon-run` tests (tests/cli_*.rs): they run the built binary,
//! as root, on the real kernel, and look at what the container sees from inside.
#![allow(dead_code)]

#[path = "../common/netns.rs"]
mod netns;
#[allow(unused_imports)] // only the network tests use it
pub use netns::in_test_netns;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

/// The binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_cocoon-run");

pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(euid, 0, "the cocoon-run tests create containers: run them as root (euid is {euid})");
}

/// What one run of the tool gave.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A command for the tool with its registry in `state` (None: a throwaway directory).
pub fn command(state: Option<&Path>) -> Command {
    require_root();
    let mut c = Command::new(BIN);
    let dir = state.map(Path::to_path_buf).unwrap_or_else(|| std::env::temp_dir().join("cocoon-cli-tests-state"));
    c.env("COCOON_RUN_STATE_DIR", dir).stdin(Stdio::null());
    c
}

pub fn output(mut c: Command) -> Out {
    let o = c.output().expect("running cocoon-run");
    Out {
        // A tool killed by a signal gives no code: -1 fails every comparison below.
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Runs `cocoon-run ARGS...`.
pub fn run(args: &[&str]) -> Out {
    let mut c = command(None);
    c.args(args);
    output(c)
}

/// Runs `cocoon-run FLAGS... -- sh -c SCRIPT`, asserts it succeeded, returns its stdout.
pub fn inside(flags: &[&str], script: &str) -> String {
    let mut args = flags.to_vec();
    args.extend(["--", "sh", "-c", script]);
    let o = run(&args);
    assert_eq!(o.code, 0, "cocoon-run {args:?} failed: {o:?}");
    o.stdout
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A container id unique to this test process.
pub fn unique(tag: &str) -> String {
    format!("cli-{tag}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Every cgroup directory named `name` on this host (up to 4 levels below each hierarchy).
pub fn cgroup_dirs(name: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, name: &str, depth: u32, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            if !e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                continue;
            }
            if e.file_name() == name {
                out.push(e.path());
            }
            if depth > 0 {
                walk(&e.path(), name, depth - 1, out);
            }
        }
    }
    let mut v = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), name, 4, &mut v);
    v
}

/// Host mounts that mention `what` (a container's mounts live in its own namespace: none
/// may ever show up here).
pub fn host_mounts(what: &str) -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo").unwrap().lines().filter(|l| l.contains(what)).map(String::from).collect()
}

/// Asserts that nothing of container `name` is left: no cgroup, no mount.
pub fn assert_nothing_left(name: &str) {
    assert_eq!(cgroup_dirs(name), Vec::<PathBuf>::new(), "cgroup of {name} left behind");
    assert_eq!(host_mounts(name), Vec::<String>::new(), "mounts of {name} left behind");
}

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(unique(tag));
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
    pub fn s(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A static busybox root in `dir` (from the host's busybox-static).
pub fn busybox_root(dir: &Path) {
    for d in ["bin", "etc", "proc", "sys", "dev", "tmp"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", dir.join("bin/busybox")).expect("/bin/busybox (apt-get install busybox-static)");
    for applet in ["sh", "cat", "echo", "id", "hostname", "touch", "ls", "grep", "true"] {
        std::os::unix::fs::symlink("busybox", dir.join("bin").join(applet)).unwrap();
    }
    std::fs::write(dir.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nalice:x:1234:2345::/:/bin/sh\n").unwrap();
    std::fs::write(dir.join("etc/group"), "root:x:0:\nstaff:x:777:alice\n").unwrap();
    std::fs::write(dir.join("etc/marker"), "busybox root\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("tmp"), std::fs::Permissions::from_mode(0o1777)).unwrap();
}

/// A field of /proc/<pid>/status-style text, e.g. `CapEff`.
pub fn field<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {key} in {text:?}"))
}
