//! containerd drives the `cocoon` runtime: a containerd of the test's own (its root, state
//! and socket in a temporary directory, the CRI plugin off) and its runc shim with cocoon
//! as the binary (`ctr run --runc-binary`), beside the same steps with runc as the control:
//! run with an exit code, a detached task with a memory limit, exec into it, pause and
//! resume, kill, delete. The image is a busybox tree `podman import`ed and saved as an
//! OCI archive (no registry). Nothing may be left: tasks, shims, mounts, cgroups.

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::*;

const COCOON: &str = env!("CARGO_BIN_EXE_cocoon");
const RUNC: &str = "/usr/sbin/runc";
const IMAGE: &str = "localhost/cocoon-ctrd-busybox:1";

struct Containerd {
    dir: TempDir,
    daemon: Child,
    ns: String,
}

impl Containerd {
    fn start() -> Containerd {
        let dir = TempDir::new("containerd");
        let d = dir.path().display().to_string();
        std::fs::write(
            dir.join("config.toml"),
            format!(
                "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n\
                 disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
                 [grpc]\n  address = \"{d}/sock\"\n[ttrpc]\n  address = \"{d}/sock.ttrpc\"\n"
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("containerd.log")).unwrap();
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(dir.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("containerd is missing ({e}): apt-get install -y containerd"));
        let c = Containerd { dir, daemon, ns: format!("cocoon-ctrd-{}", std::process::id()) };
        wait_until(Duration::from_secs(20), "containerd's socket", || c.cmd(&["version"]).status.success());
        c
    }

    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("ctr")
            .arg("--address")
            .arg(self.dir.join("sock"))
            .args(["--namespace", &self.ns])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.cmd(args);
        assert!(o.status.success(), "ctr {args:?}: {}\n{}", o.status, String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// A busybox image, built with podman and imported as an OCI archive.
    fn import_image(&self) {
        let root = self.dir.join("image-root");
        busybox_root(&root);
        let tar = self.dir.join("image.tar");
        assert!(Command::new("tar").arg("-C").arg(&root).arg("-cf").arg(&tar).arg(".").status().unwrap().success());
        let podman = |args: &[&str]| {
            let o = Command::new("podman")
                .arg("--root")
                .arg(self.dir.join("podman"))
                .arg("--runroot")
                .arg(self.dir.join("podman-run"))
                .args(["--storage-driver", "vfs"])
                .args(args)
                .output()
                .unwrap();
            assert!(o.status.success(), "podman {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        };
        let archive = self.dir.join("image-oci.tar");
        podman(&["import", tar.to_str().unwrap(), IMAGE]);
        podman(&["save", "--format", "oci-archive", "-o", archive.to_str().unwrap(), IMAGE]);
        self.ok(&["image", "import", "--snapshotter", "native", archive.to_str().unwrap()]);
    }

    /// The task's cgroup directory on v1 `controller` (`/<namespace>/<id>`).
    fn cgroup_file(&self, controller: &str, id: &str, file: &str) -> String {
        let p = Path::new("/sys/fs/cgroup").join(controller).join(&self.ns).join(id).join(file);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).trim().to_string()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // Tasks and containers a failed test left, then the daemon and its shims.
        let tasks = String::from_utf8_lossy(&self.cmd(&["task", "ls", "-q"]).stdout).into_owned();
        for t in tasks.lines() {
            let _ = self.cmd(&["task", "kill", "-s", "KILL", t]);
            std::thread::sleep(Duration::from_millis(200));
            let _ = self.cmd(&["task", "delete", "-f", t]);
        }
        let cs = String::from_utf8_lossy(&self.cmd(&["container", "ls", "-q"]).stdout).into_owned();
        for c in cs.lines() {
            let _ = self.cmd(&["container", "delete", c]);
        }
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        // The shims of this daemon (they outlive it by design) name its address.
        let addr = self.dir.join("sock").display().to_string();
        if let Ok(rd) = std::fs::read_dir("/proc") {
            for e in rd.flatten() {
                let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                if text.starts_with("/usr/bin/containerd-shim") && text.contains(&addr) {
                    if let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() {
                        // SAFETY: kill(2) of a shim this test's daemon started.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                }
            }
        }
        // The namespace's cgroup parent (each task's own goes with the task).
        for h in std::fs::read_dir("/sys/fs/cgroup").map(|r| r.flatten().map(|e| e.path()).collect::<Vec<_>>()).unwrap_or_default() {
            let _ = std::fs::remove_dir(h.join(&self.ns));
        }
    }
}

fn leftovers(c: &Containerd) -> Vec<String> {
    let mut v = Vec::new();
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        if let Ok(rd) = std::fs::read_dir(h.path().join(&c.ns)) {
            v.extend(rd.flatten().filter(|e| e.path().is_dir()).map(|e| e.path().display().to_string()));
        }
    }
    let dir = c.dir.path().display().to_string();
    v.extend(std::fs::read_to_string("/proc/self/mountinfo").unwrap().lines().filter(|l| l.contains(&dir)).map(String::from));
    v
}

#[test]
fn containerd_runs_execs_and_deletes_tasks_on_cocoon_as_on_runc() {
    let _g = lock();
    assert!(Path::new(RUNC).exists(), "runc is the control: apt-get install -y runc");
    let c = Containerd::start();
    c.import_image();
    let mut seen = Vec::new();
    for (name, rt) in [("cocoon", COCOON), ("runc", RUNC)] {
        let run = |extra: &[&str], id: &str, cmd: &[&str]| {
            let mut a = vec!["run", "--snapshotter", "native", "--runc-binary", rt];
            a.extend(extra);
            a.push(IMAGE);
            a.push(id);
            a.extend(cmd);
            c.cmd(&a)
        };
        // A run's output and exit code.
        let o = run(&["--rm"], "once", &["sh", "-c", "echo hello $(hostname); exit 7"]);
        assert_eq!(o.status.code(), Some(7), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        // A detached task with a memory limit: exec, pause/resume, kill, delete.
        let o = run(&["-d", "--memory-limit", "67108864"], "task", &["sleep", "1000"]);
        assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(c.ok(&["task", "ls"]).lines().any(|l| l.starts_with("task ") && l.ends_with("RUNNING")), "{name}");
        assert_eq!(c.cgroup_file("memory", "task", "memory.limit_in_bytes"), "67108864", "{name}");
        let o = c.cmd(&["task", "exec", "--exec-id", "e1", "task", "sh", "-c", "echo exec $(cat /proc/1/cmdline | tr '\\0' ' '); exit 3"]);
        assert_eq!(o.status.code(), Some(3), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        let exec_out = String::from_utf8_lossy(&o.stdout).into_owned();
        c.ok(&["task", "pause", "task"]);
        assert!(c.ok(&["task", "ls"]).lines().any(|l| l.starts_with("task ") && l.ends_with("PAUSED")), "{name}");
        c.ok(&["task", "resume", "task"]);
        c.ok(&["task", "kill", "-s", "KILL", "task"]);
        wait_until(Duration::from_secs(10), "the task to stop", || c.ok(&["task", "ls"]).lines().any(|l| l.starts_with("task ") && l.ends_with("STOPPED")));
        c.ok(&["task", "delete", "task"]);
        c.ok(&["container", "delete", "task"]);
        assert_eq!(leftovers(&c), Vec::<String>::new(), "{name}: left behind");
        seen.push((out, exec_out));
    }
    assert_eq!(seen[0], seen[1], "cocoon and runc differ under containerd");
    assert!(seen[0].0.starts_with("hello ") && seen[0].1 == "exec sleep 1000\n", "{:?}", seen[0]);
}
