//! podman drives the `cocoon` runtime (`podman --runtime <cocoon>`), through conmon, as it
//! drives runc: the same checks run with runc as the control. Storage, run directory and
//! configuration are the test's own (temporary, vfs); the image is a busybox tree made here
//! and `podman import`ed (no registry).

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

const COCOON: &str = env!("CARGO_BIN_EXE_cocoon");
const RUNC: &str = "/usr/sbin/runc";
const IMAGE: &str = "localhost/cocoon-test-busybox:1";

/// An isolated podman: its own storage, run directory and containers.conf.
struct Podman {
    dir: TempDir,
}

impl Podman {
    fn new() -> Podman {
        let dir = TempDir::new("podman");
        std::fs::write(
            dir.join("containers.conf"),
            "[containers]\ndefault_ulimits=[\"nofile=20000:20000\",\"nproc=32768:32768\"]\n\
             [engine]\ncgroup_manager=\"cgroupfs\"\nevents_logger=\"file\"\n",
        )
        .unwrap();
        let p = Podman { dir };
        let rootfs = p.dir.join("image-root");
        busybox_root(&rootfs);
        let tar = p.dir.join("image.tar");
        let st = Command::new("tar").arg("-C").arg(&rootfs).arg("-cf").arg(&tar).arg(".").status().unwrap();
        assert!(st.success());
        let o = p.cmd(&["import", tar.to_str().unwrap(), IMAGE]);
        assert!(o.status.success(), "podman import: {}", String::from_utf8_lossy(&o.stderr));
        p
    }

    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("podman")
            .env("CONTAINERS_CONF", self.dir.join("containers.conf"))
            .arg("--root")
            .arg(self.dir.join("storage"))
            .arg("--runroot")
            .arg(self.dir.join("run"))
            .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"])
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("podman is missing ({e}): apt-get install -y podman"))
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.cmd(args);
        assert!(o.status.success(), "podman {args:?}: {}\n{}", o.status, String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        // Containers, their shm mounts and storage go; TempDir removes the rest.
        let _ = self.cmd(&["rm", "--all", "--force"]);
        let _ = self.cmd(&["system", "reset", "--force"]);
    }
}

/// podman's cgroup parent (and conmon's cgroup in it): removed if the test made them.
struct LibpodParent(Vec<&'static str>);

impl LibpodParent {
    fn note() -> LibpodParent {
        LibpodParent(hierarchies().into_iter().filter(|h| !Path::new(h).join("libpod_parent").exists()).collect())
    }
}

fn hierarchies() -> Vec<&'static str> {
    [
        "/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/blkio",
        "/sys/fs/cgroup/freezer", "/sys/fs/cgroup/devices", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpuset",
        "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/net_cls", "/sys/fs/cgroup/perf_event",
        "/sys/fs/cgroup/hugetlb", "/sys/fs/cgroup/rdma", "/sys/fs/cgroup/misc", "/sys/fs/cgroup",
    ]
    .into_iter()
    .filter(|h| Path::new(h).is_dir())
    .collect()
}

impl Drop for LibpodParent {
    fn drop(&mut self) {
        for h in &self.0 {
            let p = Path::new(h).join("libpod_parent");
            let _ = std::fs::remove_dir(p.join("conmon"));
            let _ = std::fs::remove_dir(&p);
        }
    }
}

const UNCONFINED: [&str; 4] = ["--network", "none", "--security-opt", "seccomp=unconfined"];

fn run_args<'a>(runtime: &'a str, extra: &[&'a str], cmd: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["--runtime", runtime, "run", "--rm"];
    v.extend(UNCONFINED);
    v.extend(extra);
    v.push(IMAGE);
    v.extend(cmd);
    v
}

#[test]
fn podman_runs_containers_on_cocoon_as_on_runc() {
    let _g = lock();
    let _parent = LibpodParent::note();
    let p = Podman::new();
    let mut seen = Vec::new();
    for rt in [COCOON, RUNC] {
        // Output and exit code.
        let o = p.cmd(&run_args(rt, &[], &["sh", "-c", "echo hello; hostname; exit 7"]));
        assert_eq!(o.status.code(), Some(7), "{rt}: {}", String::from_utf8_lossy(&o.stderr));
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(out.starts_with("hello\n"), "{rt}: {out}");
        // Limits podman sets through config.json reach the container's cgroup.
        let lim = p.ok(&run_args(rt, &["--memory", "64m", "--pids-limit", "33"], &["sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max"]));
        assert_eq!(lim, "67108864\n33", "{rt}");
        // Isolation podman asked for: own PID namespace, read-only /proc/sys, id 0.
        let inside = p.ok(&run_args(rt, &[], &["sh", "-c", "echo $$; id -u; touch /proc/sys/x 2>/dev/null && echo rw || echo ro"]));
        assert_eq!(inside, "1\n0\nro", "{rt}");
        seen.push((out, lim, inside));
    }
    assert_eq!(seen[0].1, seen[1].1);
    assert_eq!(seen[0].2, seen[1].2);
}

#[test]
fn podman_manages_a_detached_container_on_cocoon_as_on_runc() {
    let _g = lock();
    let _parent = LibpodParent::note();
    let p = Podman::new();
    for rt in [COCOON, RUNC] {
        let mut args = vec!["--runtime", rt, "run", "--detach"];
        args.extend(UNCONFINED);
        args.extend([IMAGE, "sleep", "1000"]);
        let id = p.ok(&args);
        assert_eq!(p.ok(&["ps", "--quiet", "--no-trunc"]), id, "{rt}");
        assert_eq!(p.ok(&["inspect", "--format", "{{.State.Status}}", &id]), "running", "{rt}");
        p.ok(&["pause", &id]);
        assert_eq!(p.ok(&["inspect", "--format", "{{.State.Status}}", &id]), "paused", "{rt}");
        p.ok(&["unpause", &id]);
        // podman update calls the runtime's update with a resources file.
        p.ok(&["update", "--cpu-quota", "30000", "--memory", "96m", &id]);
        assert_eq!(libpod_limit(&id, "cpu", "cpu.cfs_quota_us"), "30000", "{rt}");
        assert_eq!(libpod_limit(&id, "memory", "memory.limit_in_bytes"), (96u64 << 20).to_string(), "{rt}");
        // podman exec: conmon runs the runtime's exec (detached, pid file) and reaps it.
        assert_eq!(p.ok(&["exec", "--env", "FOO=bar", &id, "sh", "-c", "echo exec $FOO $(hostname) $$"]).split_whitespace().take(2).collect::<Vec<_>>(), ["exec", "bar"], "{rt}");
        let o = p.cmd(&["exec", &id, "sh", "-c", "exit 7"]);
        assert_eq!(o.status.code(), Some(7), "{rt}: {}", String::from_utf8_lossy(&o.stderr));
        let o = p.cmd(&["exec", &id, "/no/such/program"]);
        assert_eq!(o.status.code(), Some(127), "{rt}: podman's code for a missing program");
        let top = p.ok(&["top", &id, "pid", "args"]);
        assert!(top.lines().any(|l| l.contains("sleep 1000")), "{rt}: {top}");
        // PID 1 ignores SIGTERM (no handler): stop ends it with SIGKILL, as with runc.
        p.ok(&["stop", "--time", "1", &id]);
        assert_eq!(p.ok(&["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", &id]), "exited 137", "{rt}");
        p.ok(&["rm", &id]);
        assert_eq!(p.ok(&["ps", "--all", "--quiet"]), "", "{rt}");
    }
}

/// A limit file of podman's container cgroup (cgroupfs manager: `libpod_parent/libpod-<id>`).
fn libpod_limit(id: &str, controller: &str, file: &str) -> String {
    let dir = std::path::Path::new("/sys/fs/cgroup").join(controller).join("libpod_parent");
    let found = std::fs::read_dir(&dir).ok().and_then(|rd| rd.flatten().map(|e| e.path()).find(|p| p.to_string_lossy().contains(id)));
    let p = found.unwrap_or_else(|| panic!("no cgroup of {id} under {}", dir.display())).join(file);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).trim().to_string()
}

#[test]
fn podmans_default_seccomp_profile_is_loaded() {
    let _g = lock();
    let _parent = LibpodParent::note();
    let p = Podman::new();
    let mut seen = Vec::new();
    for rt in [COCOON, RUNC] {
        // No --security-opt: podman's own (allow-list) profile in config.json.
        let o = p.cmd(&["--runtime", rt, "run", "--rm", "--network", "none", IMAGE, "sh", "-c", "grep '^Seccomp:' /proc/self/status; echo ok"]);
        assert!(o.status.success(), "{rt}: {}", String::from_utf8_lossy(&o.stderr));
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert_eq!(out, "Seccomp:\t2\nok\n", "{rt}: filter mode");
        seen.push(out);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(p.ok(&["ps", "--all", "--quiet"]), "");
}
