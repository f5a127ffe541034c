//! Shared helpers for the cgroup tests: unique names, a Drop guard that removes the cgroup
//! even when a test fails, and workloads started with std::process::Command that wait on
//! stdin until they are attached.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cocoon::cgroup::{CgroupConfig, CgroupError, CgroupHandle};

static N: AtomicUsize = AtomicUsize::new(0);

/// A unique cgroup name containing "cocoon".
pub fn unique(tag: &str) -> String {
    format!("cocoon-t-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// Owns a cgroup; destroys it on drop (also when the test panics).
pub struct Guard(pub Option<CgroupHandle>);

impl Guard {
    pub fn create(cfg: &CgroupConfig, name: &str) -> Result<Guard, CgroupError> {
        CgroupHandle::create(cfg, name).map(|h| Guard(Some(h)))
    }
    pub fn cg(&self) -> &CgroupHandle {
        self.0.as_ref().unwrap()
    }
    pub fn destroy(mut self) -> Result<(), CgroupError> {
        self.0.take().unwrap().destroy()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            let _ = h.destroy();
        }
    }
}

/// Every cgroupfs mount under /sys/fs/cgroup.
pub fn mounts() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let fstype = post.split(' ').next()?;
            let m = pre.split(' ').nth(4)?;
            (fstype == "cgroup" || fstype == "cgroup2").then(|| PathBuf::from(m))
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Directories named `rel` that exist on any hierarchy.
pub fn existing(rel: &Path) -> Vec<PathBuf> {
    mounts().into_iter().map(|m| m.join(rel)).filter(|p| p.exists()).collect()
}

/// Asserts the cgroup `<parent>/<name>` exists on no hierarchy.
pub fn assert_gone(parent: &str, name: &str) {
    let left = existing(&Path::new(parent).join(name));
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// A `sh -c 'read x; <script>'` process: it runs `script` only after `go()`.
pub struct Workload {
    pub child: Child,
    out: Option<BufReader<ChildStdout>>,
}

impl Workload {
    pub fn spawn(script: &str) -> Workload {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("read x; {script}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().map(BufReader::new);
        Workload { child, out }
    }
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
    pub fn go(&mut self) {
        let mut stdin = self.child.stdin.take().unwrap();
        stdin.write_all(b"go\n").unwrap();
    }
    pub fn line(&mut self) -> String {
        let mut s = String::new();
        self.out.as_mut().unwrap().read_line(&mut s).unwrap();
        s
    }
    /// Waits for exit and returns (stdout, exit status).
    pub fn finish(mut self) -> (String, std::process::ExitStatus) {
        let mut s = String::new();
        self.out.take().unwrap().read_to_string(&mut s).unwrap();
        let st = self.child.wait().unwrap();
        (s, st)
    }
}

impl Drop for Workload {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// utime + stime of `pid` from /proc/<pid>/stat.
pub fn cpu_time(pid: u32) -> Duration {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat are at 11 and 12 after the command.
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no memory-safety preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_millis(ticks * 1000 / hz)
}

/// Polls `f` until it returns true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f()
}

/// Pauses a busy container, checks it gets no CPU time while frozen, resumes it and
/// checks it runs again (shared by the host and VM container tests).
pub fn assert_pause_freezes_and_resume_thaws(c: &cocoon::Container) {
    let pid = c.pid() as u32;
    std::thread::sleep(Duration::from_millis(300));
    c.pause().expect("pause");
    std::thread::sleep(Duration::from_millis(50));
    let a = cpu_time(pid);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(a, cpu_time(pid), "no CPU time while frozen");
    c.resume().expect("resume");
    std::thread::sleep(Duration::from_millis(500));
    let b = cpu_time(pid);
    assert!(b > a, "running again: {a:?} then {b:?}");
}
