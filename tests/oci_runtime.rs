//! A conformance suite for the `cocoon` OCI runtime binary, written from the runtime spec's
//! lifecycle and runc's command line (what engines rely on): states created → running →
//! stopped, kill before start, delete refused while running without --force, duplicate
//! ids, the state JSON's fields, errors for bad bundles with nothing left behind, and the
//! container handed to a subreaper once `create` exits. Every check runs against cocoon
//! AND against runc, as the control: where they disagree the test fails, naming both.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const COCOON: &str = env!("CARGO_BIN_EXE_cocoon");
const RUNC: &str = "/usr/sbin/runc";

/// A runtime binary with a state root of its own.
struct Runtime {
    bin: &'static str,
    root: TempDir,
}

impl Runtime {
    fn both() -> [Runtime; 2] {
        assert!(Path::new(RUNC).exists(), "runc is the control: apt-get install -y runc");
        [
            Runtime { bin: COCOON, root: TempDir::new("oci-root-cocoon") },
            Runtime { bin: RUNC, root: TempDir::new("oci-root-runc") },
        ]
    }

    fn name(&self) -> &'static str {
        if self.bin == COCOON {
            "cocoon"
        } else {
            "runc"
        }
    }

    /// Runs `args`, stdio not inherited by the container (null), and returns the output.
    fn cmd(&self, args: &[&str]) -> Output {
        Command::new(self.bin)
            .arg("--root")
            .arg(self.root.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap()
    }

    /// Like `cmd`, for commands whose container keeps stdio (create, run -d): its stdout
    /// and stderr go to files, so that nothing waits for the container's end.
    fn cmd_detached(&self, args: &[&str], logs: &Path) -> std::process::ExitStatus {
        let out = std::fs::File::create(logs.join(format!("{}.out", self.name()))).unwrap();
        let err = std::fs::File::create(logs.join(format!("{}.err", self.name()))).unwrap();
        Command::new(self.bin)
            .arg("--root")
            .arg(self.root.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .status()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.cmd(args);
        assert!(o.status.success(), "{} {args:?}: {}\n{}", self.name(), o.status, String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn fails(&self, args: &[&str]) -> String {
        let o = self.cmd(args);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{} {args:?} should fail with 1: {}",
            self.name(),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stderr).into_owned()
    }

    fn state(&self, id: &str) -> Value {
        serde_json::from_str(&self.ok(&["state", id])).unwrap()
    }

    fn status(&self, id: &str) -> String {
        self.state(id)["status"].as_str().unwrap_or_default().to_string()
    }

    fn wait_status(&self, id: &str, want: &str) {
        wait_until(Duration::from_secs(10), &format!("{} {id} to be {want}", self.name()), || self.status(id) == want);
    }
}

/// A busybox bundle with `runc spec`'s config.json: no terminal, a writable root, the
/// given program, and a cgroup path of the test's own.
struct Bundle {
    dir: TempDir,
}

impl Bundle {
    fn new(tag: &str, args: &[&str]) -> Bundle {
        let dir = TempDir::new(tag);
        busybox_root(&dir.join("rootfs"));
        let o = Command::new(RUNC).arg("spec").current_dir(dir.path()).output().unwrap();
        assert!(o.status.success(), "runc spec: {}", String::from_utf8_lossy(&o.stderr));
        let b = Bundle { dir };
        let mut c = b.config();
        c["process"]["terminal"] = json!(false);
        c["process"]["args"] = json!(args);
        c["root"]["readonly"] = json!(false);
        c["linux"]["cgroupsPath"] = json!(format!("/cocoon-oci-test-{}/{tag}", std::process::id()));
        c["annotations"] = json!({"org.example.test": tag});
        b.write(&c);
        b
    }

    fn config(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.dir.join("config.json")).unwrap()).unwrap()
    }

    fn write(&self, v: &Value) {
        std::fs::write(self.dir.join("config.json"), serde_json::to_vec_pretty(v).unwrap()).unwrap();
    }

    fn path(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }

    fn rootfs(&self, p: &str) -> PathBuf {
        self.dir.join("rootfs").join(p)
    }
}

/// The test's cgroup parent on every hierarchy: none may be left once a test is done.
/// Returns the container cgroups still under it (a runtime's leak); the empty parent, which
/// runc leaves by design, is removed — retried, since a just-exited task can keep it busy
/// for a moment — and reported if it stays.
fn test_cgroups() -> Vec<PathBuf> {
    let name = format!("cocoon-oci-test-{}", std::process::id());
    let mut v = Vec::new();
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let p = h.path().join(&name);
        if !p.is_dir() {
            continue;
        }
        let children: Vec<_> =
            std::fs::read_dir(&p).unwrap().flatten().filter(|e| e.path().is_dir()).map(|e| e.path()).collect();
        if !children.is_empty() {
            v.extend(children);
            continue;
        }
        let mut tries = 0;
        while std::fs::remove_dir(&p).is_err() && p.exists() && tries < 100 {
            std::thread::sleep(Duration::from_millis(20));
            tries += 1;
        }
        if p.exists() {
            v.push(p);
        }
    }
    v
}

/// Held for a test's length (before its lock, so that it drops first): whatever way the
/// test ends, the cgroups it made go with it — a failed test's containers are killed
/// through their cgroups, so that a failure leaves nothing running either.
struct SweepCgroups;

impl Drop for SweepCgroups {
    fn drop(&mut self) {
        let left = test_cgroups();
        for d in &left {
            let procs = std::fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
            for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                // SAFETY: kill with a pid read from our own test cgroup.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        for d in &left {
            for _ in 0..250 {
                if std::fs::remove_dir(d).is_ok() || !d.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let still = test_cgroups();
        if !std::thread::panicking() {
            assert!(left.is_empty() && still.is_empty(), "cgroups left: {left:?} (after cleaning: {still:?})");
        }
    }
}

fn assert_clean(rt: &Runtime, id: &str) {
    assert!(!rt.root.join(id).exists(), "{}: state of {id} left in {}", rt.name(), rt.root.path().display());
    assert_eq!(test_cgroups(), Vec::<PathBuf>::new(), "{}: cgroups left", rt.name());
}

#[test]
fn created_running_stopped_deleted() {
    let _g = (SweepCgroups, lock());
    for rt in Runtime::both() {
        let b = Bundle::new("life", &["sh", "-c", "echo ran > /marker; read x < /fifo; exit 0"]);
        let fifo = b.rootfs("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let pidfile = b.dir.join("pid");
        let st = rt.cmd_detached(
            &["create", "--bundle", b.path(), "--pid-file", pidfile.to_str().unwrap(), "life"],
            b.dir.path(),
        );
        assert!(st.success(), "{} create: {st}", rt.name());
        let s = rt.state("life");
        assert_eq!(s["status"], "created", "{}", rt.name());
        let pid = s["pid"].as_i64().unwrap();
        assert_eq!(std::fs::read_to_string(&pidfile).unwrap().trim(), pid.to_string(), "{}: pid file", rt.name());
        assert_eq!(s["id"], "life");
        assert_eq!(s["bundle"], b.path(), "{}", rt.name());
        assert_eq!(s["annotations"]["org.example.test"], "life", "{}", rt.name());
        assert!(s["ociVersion"].as_str().is_some_and(|v| v.starts_with("1.")), "{}", rt.name());
        let created = s["created"].as_str().unwrap();
        assert!(
            created.len() >= 20 && created.as_bytes()[10] == b'T' && created.ends_with('Z'),
            "{}: created {created}",
            rt.name()
        );
        std::thread::sleep(Duration::from_millis(100));
        assert!(!b.rootfs("marker").exists(), "{}: the program ran before start", rt.name());
        rt.ok(&["start", "life"]);
        wait_until(Duration::from_secs(10), "the marker", || b.rootfs("marker").exists());
        assert_eq!(rt.status("life"), "running", "{}", rt.name());
        let err = rt.fails(&["start", "life"]);
        assert!(!err.is_empty(), "{}: a second start says why", rt.name());
        let err = rt.fails(&["delete", "life"]);
        assert!(err.contains("running") || err.contains("not stopped"), "{}: {err}", rt.name());
        assert_eq!(rt.status("life"), "running", "{}: a refused delete changes nothing", rt.name());
        // Let the program end.
        std::fs::write(&fifo, "go\n").unwrap();
        rt.wait_status("life", "stopped");
        assert_eq!(rt.state("life")["pid"], 0, "{}: a stopped container's pid", rt.name());
        rt.ok(&["delete", "life"]);
        rt.fails(&["state", "life"]);
        assert_clean(&rt, "life");
    }
}

#[test]
fn kill_before_start_and_delete_of_created() {
    let _g = (SweepCgroups, lock());
    for rt in Runtime::both() {
        let b = Bundle::new("early", &["sh", "-c", "echo ran > /marker"]);
        assert!(rt.cmd_detached(&["create", "--bundle", b.path(), "early"], b.dir.path()).success());
        rt.ok(&["kill", "early", "KILL"]);
        rt.wait_status("early", "stopped");
        rt.fails(&["start", "early"]);
        assert!(!b.rootfs("marker").exists(), "{}", rt.name());
        rt.ok(&["delete", "early"]);
        assert_clean(&rt, "early");
        // A created container is deleted without --force (its program never ran).
        assert!(rt.cmd_detached(&["create", "--bundle", b.path(), "early2"], b.dir.path()).success());
        rt.ok(&["delete", "early2"]);
        assert!(!b.rootfs("marker").exists(), "{}", rt.name());
        assert_clean(&rt, "early2");
    }
}

#[test]
fn force_delete_kills_a_running_container() {
    let _g = (SweepCgroups, lock());
    for rt in Runtime::both() {
        let b = Bundle::new("force", &["sleep", "1000"]);
        assert!(
            rt.cmd_detached(&["run", "--detach", "--bundle", b.path(), "force"], b.dir.path()).success(),
            "{} run -d",
            rt.name()
        );
        assert_eq!(rt.status("force"), "running", "{}", rt.name());
        let pid = rt.state("force")["pid"].as_i64().unwrap() as i32;
        rt.ok(&["pause", "force"]);
        assert_eq!(rt.status("force"), "paused", "{}", rt.name());
        rt.ok(&["resume", "force"]);
        assert_eq!(rt.status("force"), "running", "{}", rt.name());
        let ps: Value = serde_json::from_str(&rt.ok(&["ps", "--format", "json", "force"])).unwrap();
        assert_eq!(ps, json!([pid]), "{}: ps", rt.name());
        let ev: Value = serde_json::from_str(rt.ok(&["events", "--stats", "force"]).trim()).unwrap();
        assert_eq!(ev["type"], "stats", "{}: {ev}", rt.name());
        assert!(ev["data"]["memory"]["usage"]["usage"].as_u64().is_some_and(|u| u > 0), "{}: {ev}", rt.name());
        assert!(ev["data"]["pids"]["current"].as_u64() == Some(1), "{}: {ev}", rt.name());
        rt.ok(&["kill", "--all", "force", "0"]);
        let listed: Value = serde_json::from_str(&rt.ok(&["list", "--format", "json"])).unwrap();
        assert_eq!(listed[0]["id"], "force", "{}: list", rt.name());
        rt.ok(&["delete", "--force", "force"]);
        wait_until(Duration::from_secs(10), "the pid to go", || !pid_exists(pid) || status_of(pid) == 'Z');
        assert_clean(&rt, "force");
        // --force on a container that does not exist is not an error.
        rt.ok(&["delete", "--force", "force"]);
    }
}

#[test]
fn update_changes_the_limits_of_a_running_container() {
    let _g = (SweepCgroups, lock());
    let file = |rt: &Runtime, controller: &str, f: &str| -> String {
        let p = Path::new("/sys/fs/cgroup")
            .join(controller)
            .join(format!("cocoon-oci-test-{}", std::process::id()))
            .join("upd")
            .join(f);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {}: {e}", rt.name(), p.display())).trim().to_string()
    };
    for rt in Runtime::both() {
        let b = Bundle::new("upd", &["sleep", "1000"]);
        assert!(
            rt.cmd_detached(&["run", "--detach", "--bundle", b.path(), "upd"], b.dir.path()).success(),
            "{} run -d",
            rt.name()
        );
        rt.ok(&[
            "update",
            "--pids-limit",
            "7",
            "--memory",
            "64m",
            "--cpu-quota",
            "20000",
            "--cpu-period",
            "100000",
            "upd",
        ]);
        assert_eq!(file(&rt, "pids", "pids.max"), "7", "{}", rt.name());
        assert_eq!(file(&rt, "memory", "memory.limit_in_bytes"), (64u64 << 20).to_string(), "{}", rt.name());
        assert_eq!(file(&rt, "cpu", "cpu.cfs_quota_us"), "20000", "{}", rt.name());
        // A resources file (as podman passes it): the whole update, flags then unused.
        let res = b.dir.join("resources.json");
        std::fs::write(&res, json!({"pids": {"limit": 9}, "memory": {"limit": 48u64 << 20}}).to_string()).unwrap();
        rt.ok(&["update", "--resources", res.to_str().unwrap(), "--pids-limit", "11", "upd"]);
        assert_eq!(file(&rt, "pids", "pids.max"), "9", "{}: the file is the update", rt.name());
        assert_eq!(file(&rt, "memory", "memory.limit_in_bytes"), (48u64 << 20).to_string(), "{}", rt.name());
        // Bad input: refused, the limits stay.
        rt.fails(&["update", "--memory", "12x", "upd"]);
        std::fs::write(&res, "[1, 2]").unwrap();
        rt.fails(&["update", "--resources", res.to_str().unwrap(), "upd"]);
        rt.fails(&["update", "--pids-limit", "3", "nosuch"]);
        assert_eq!(file(&rt, "pids", "pids.max"), "9", "{}", rt.name());
        rt.ok(&["delete", "--force", "upd"]);
        assert_clean(&rt, "upd");
    }
}

#[test]
fn exec_runs_a_process_in_the_container_as_runc_does() {
    let _g = (SweepCgroups, lock());
    let mut seen = Vec::new();
    for rt in Runtime::both() {
        let b = Bundle::new("exec", &["sleep", "1000"]);
        let mut c = b.config();
        c["hostname"] = json!("exec-box");
        // The container's seccomp profile holds for exec'd processes too.
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]});
        b.write(&c);
        assert!(
            rt.cmd_detached(&["run", "--detach", "--bundle", b.path(), "exec"], b.dir.path()).success(),
            "{} run -d",
            rt.name()
        );
        let script = "echo host=$(hostname) user=$(id -u):$(id -g) cwd=$(pwd) FOO=$FOO; mkdir /made 2>&1; grep -c . /proc/net/dev; exit 6";
        let o =
            rt.cmd(&["exec", "--env", "FOO=bar", "--cwd", "/tmp", "--user", "1000:1000", "exec", "sh", "-c", script]);
        assert_eq!(o.status.code(), Some(6), "{}: {}", rt.name(), String::from_utf8_lossy(&o.stderr));
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(!b.rootfs("made").exists(), "{}: mkdir allowed", rt.name());
        // A process.json, as engines pass it.
        let mut p = c["process"].clone();
        p["args"] = json!(["sh", "-c", "echo from-json $$"]);
        let pj = b.dir.join("process.json");
        std::fs::write(&pj, p.to_string()).unwrap();
        let o = rt.cmd(&["exec", "--process", pj.to_str().unwrap(), "exec"]);
        assert!(o.status.success(), "{}: {}", rt.name(), String::from_utf8_lossy(&o.stderr));
        let json_out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(json_out.starts_with("from-json ") && json_out != "from-json 1\n", "{}: {json_out}", rt.name());
        // --preserve-fds: our fd 3 is the process's fd 3.
        std::fs::write(b.dir.join("fd3"), "via-fd-3").unwrap();
        let f = std::fs::File::open(b.dir.join("fd3")).unwrap();
        let raw = std::os::fd::AsRawFd::as_raw_fd(&f);
        let mut cmd = Command::new(rt.bin);
        cmd.arg("--root")
            .arg(rt.root.path())
            .args(["exec", "--preserve-fds", "1", "exec", "sh", "-c", "cat <&3"])
            .stdin(Stdio::null());
        // SAFETY: dup2 and fcntl only (async-signal-safe) between fork and exec; the
        // fcntl clears close-on-exec also when the file already was fd 3.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
                if libc::dup2(raw, 3) < 0 || libc::fcntl(3, libc::F_SETFD, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
        };
        let o = cmd.output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            "via-fd-3",
            "{}: {}",
            rt.name(),
            String::from_utf8_lossy(&o.stderr)
        );
        drop(f);
        // Detached with a pid file: the process runs in the container's pid namespace.
        let pidfile = b.dir.join("exec.pid");
        // (stdio to files: the process keeps it open after exec returns)
        assert!(
            rt.cmd_detached(
                &["exec", "--detach", "--pid-file", pidfile.to_str().unwrap(), "exec", "sleep", "1000"],
                b.dir.path()
            )
            .success(),
            "{}",
            rt.name()
        );
        let epid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
        let cpid = rt.state("exec")["pid"].as_i64().unwrap();
        let ns = |pid: i64| std::fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap();
        assert_eq!(ns(i64::from(epid)), ns(cpid), "{}: the detached exec is in the container", rt.name());
        // Errors: no such program, no such container.
        // Errors are 255 (not a code the process could have returned).
        assert_eq!(rt.cmd(&["exec", "exec", "/no/such/program"]).status.code(), Some(255), "{}", rt.name());
        assert_eq!(rt.cmd(&["exec", "nosuch", "true"]).status.code(), Some(255), "{}", rt.name());
        rt.ok(&["delete", "--force", "exec"]);
        // The detached exec was our child (runc and cocoon leave it to the caller): reap it.
        let mut st = 0;
        // SAFETY: waitpid on our child with a valid status pointer.
        let r = unsafe { libc::waitpid(epid, &mut st, 0) };
        assert!(r == epid || r == -1, "{}: waitpid {r}", rt.name());
        assert_clean(&rt, "exec");
        // Exec into a stopped container is refused.
        let b2 = Bundle::new("exec2", &["true"]);
        rt.ok(&["run", "--keep", "--bundle", b2.path(), "exec2"]);
        assert_eq!(rt.cmd(&["exec", "exec2", "true"]).status.code(), Some(255), "{}", rt.name());
        rt.ok(&["delete", "exec2"]);
        assert_clean(&rt, "exec2");
        seen.push(out);
    }
    assert_eq!(seen[0], seen[1], "cocoon and runc differ");
    assert!(
        seen[0].starts_with("host=exec-box user=1000:1000 cwd=/tmp FOO=bar\n") && seen[0].contains("Permission denied"),
        "{}",
        seen[0]
    );
}

/// A hook writing its stdin (the state) to `<out>/<name>.json`, then running `extra`.
fn hook(out: &Path, name: &str, extra: &str) -> Value {
    json!({"path": "/bin/sh", "args": ["hook-argv0", "-c", format!("cat > {}/{name}.json; {extra}", out.display())]})
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

#[test]
fn hooks_run_with_the_state_as_runc_runs_them() {
    let _g = (SweepCgroups, lock());
    let mut seen = Vec::new();
    for rt in Runtime::both() {
        let b = Bundle::new("hooks", &["sleep", "1000"]);
        let out = b.dir.join("out");
        std::fs::create_dir(&out).unwrap();
        let mut c = b.config();
        let mut cr = hook(
            &out,
            "createRuntime",
            &format!(
                "tr '\\0' ' ' < /proc/$$/cmdline > {0}/cmdline; echo \"X=$X PATH=${{PATH-unset}}\" > {0}/env",
                out.display()
            ),
        );
        cr["env"] = json!(["X=1"]);
        c["hooks"] = json!({
            "prestart": [hook(&out, "prestart", "")],
            "createRuntime": [cr],
            "poststart": [hook(&out, "poststart", "")],
            "poststop": [hook(&out, "poststop", "")],
        });
        c["annotations"] = json!({"org.example.hooks": "yes"});
        b.write(&c);
        assert!(
            rt.cmd_detached(&["create", "--bundle", b.path(), "hooks"], b.dir.path()).success(),
            "{} create",
            rt.name()
        );
        let pid = rt.state("hooks")["pid"].as_i64().unwrap();
        // The spec runs poststart after the program started; runc 1.1 (Debian 12) runs it at
        // create (fixed in runc 1.2), so this holds for cocoon only.
        if rt.bin == COCOON {
            assert!(!out.join("poststart.json").exists(), "{}: poststart before start", rt.name());
        }
        rt.ok(&["start", "hooks"]);
        assert!(!out.join("poststop.json").exists(), "{}: poststop before delete", rt.name());
        rt.ok(&["kill", "hooks", "KILL"]);
        rt.wait_status("hooks", "stopped");
        rt.ok(&["delete", "hooks"]);
        assert_clean(&rt, "hooks");
        let mut got = Vec::new();
        for name in ["prestart", "createRuntime", "poststart", "poststop"] {
            let mut v = read_json(&out.join(format!("{name}.json")));
            assert_eq!(v["id"], "hooks", "{} {name}: {v}", rt.name());
            assert_eq!(v["bundle"], b.path(), "{} {name}: {v}", rt.name());
            assert_eq!(v["annotations"]["org.example.hooks"], "yes", "{} {name}: {v}", rt.name());
            assert_eq!(
                v["pid"].as_i64(),
                if name == "poststop" { None } else { Some(pid) },
                "{} {name}: {v}",
                rt.name()
            );
            // The spec says poststart runs once the program started: cocoon says
            // "running", runc "created" (its status before start returns).
            if name == "poststart" {
                assert!(
                    ["running", "created"].contains(&v["status"].as_str().unwrap_or("")),
                    "{} {name}: {v}",
                    rt.name()
                );
                v["status"] = json!("started");
            }
            v.as_object_mut().unwrap().remove("pid");
            v.as_object_mut().unwrap().remove("bundle");
            v.as_object_mut().unwrap().remove("ociVersion");
            got.push(v);
        }
        for f in ["cmdline", "env"] {
            got.push(json!(std::fs::read_to_string(out.join(f)).unwrap().replace(b.path(), "<bundle>")));
        }
        seen.push(got);
    }
    assert_eq!(seen[0], seen[1], "cocoon and runc ran the hooks differently");
    assert!(seen[0][4].as_str().unwrap().starts_with("hook-argv0 -c "), "argv0: {}", seen[0][4]);
    // Only the hook's env (PATH is the shell's own default when none is passed).
    assert!(seen[0][5].as_str().unwrap().starts_with("X=1 PATH="), "env: {}", seen[0][5]);
}

#[test]
fn failing_hooks_fail_the_command_and_leave_nothing() {
    let _g = (SweepCgroups, lock());
    for rt in Runtime::both() {
        // createRuntime fails: create fails, the container goes, poststop still runs.
        let b = Bundle::new("hookfail", &["sleep", "1000"]);
        let out = b.dir.join("out");
        std::fs::create_dir(&out).unwrap();
        let mut c = b.config();
        c["hooks"] = json!({"createRuntime": [hook(&out, "createRuntime", "echo refused-by-hook >&2; exit 3")],
                            "poststop": [hook(&out, "poststop", "")]});
        b.write(&c);
        let err = rt.fails(&["create", "--bundle", b.path(), "hookfail"]);
        assert!(err.contains("refused-by-hook") && err.contains('3'), "{}: {err}", rt.name());
        assert_clean(&rt, "hookfail");
        // A hook past its timeout is killed and fails create.
        c["hooks"] = json!({"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "sleep 3"], "timeout": 1}]});
        b.write(&c);
        let err = rt.fails(&["create", "--bundle", b.path(), "hookfail"]);
        assert!(err.contains("timeout"), "{}: {err}", rt.name());
        assert_clean(&rt, "hookfail");
        // poststart fails: run fails and the container is destroyed; poststop runs.
        let _ = std::fs::remove_file(out.join("poststop.json"));
        c["hooks"] =
            json!({"poststart": [hook(&out, "poststart", "exit 4")], "poststop": [hook(&out, "poststop", "")]});
        b.write(&c);
        rt.fails(&["run", "--bundle", b.path(), "hookfail"]);
        assert!(out.join("poststop.json").exists(), "{}: poststop after a failed poststart", rt.name());
        assert_clean(&rt, "hookfail");
        // A failing poststop hook is a warning: delete succeeds. A hook that does not read
        // its state (closing the pipe early) is fine.
        c["hooks"] = json!({"createRuntime": [{"path": "/bin/true"}], "poststop": [hook(&out, "poststop", "exit 5")]});
        c["process"]["args"] = json!(["true"]);
        b.write(&c);
        rt.ok(&["run", "--bundle", b.path(), "hookfail"]);
        assert_clean(&rt, "hookfail");
    }
    // What cocoon does not run is refused up front, naming it.
    let rt = Runtime { bin: COCOON, root: TempDir::new("oci-root-hooks") };
    let b = Bundle::new("hookns", &["true"]);
    let mut c = b.config();
    c["hooks"] = json!({"createContainer": [{"path": "/bin/true"}]});
    b.write(&c);
    assert!(rt.fails(&["create", "--bundle", b.path(), "hookns"]).contains("hooks.createContainer"));
    c["hooks"] = json!({"poststart": [{"path": "true"}]});
    b.write(&c);
    assert!(rt.fails(&["create", "--bundle", b.path(), "hookns"]).contains("absolute"));
    assert_clean(&rt, "hookns");
}

fn status_of(pid: i32) -> char {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit(')').next().and_then(|r| r.trim().chars().next()))
        .unwrap_or('?')
}

#[test]
fn run_returns_the_exit_code_and_cleans_up() {
    let _g = (SweepCgroups, lock());
    for rt in Runtime::both() {
        let b = Bundle::new("code", &["sh", "-c", "exit 3"]);
        let o = rt.cmd(&["run", "--bundle", b.path(), "code"]);
        assert_eq!(o.status.code(), Some(3), "{}: {}", rt.name(), String::from_utf8_lossy(&o.stderr));
        assert_clean(&rt, "code");
    }
}

#[test]
fn duplicate_ids_and_bad_bundles_fail_and_leave_nothing() {
    let _g = (SweepCgroups, lock());
    for rt in Runtime::both() {
        let b = Bundle::new("dup", &["sleep", "1000"]);
        assert!(rt.cmd_detached(&["create", "--bundle", b.path(), "dup"], b.dir.path()).success());
        rt.fails(&["create", "--bundle", b.path(), "dup"]);
        assert_eq!(rt.status("dup"), "created", "{}: the first is intact", rt.name());
        rt.ok(&["delete", "--force", "dup"]);
        assert_clean(&rt, "dup");

        // Not JSON.
        std::fs::write(b.dir.join("config.json"), "{ not json").unwrap();
        rt.fails(&["create", "--bundle", b.path(), "badjson"]);
        assert_clean(&rt, "badjson");
        // No rootfs.
        let b = Bundle::new("noroot", &["true"]);
        let mut c = b.config();
        c["root"]["path"] = json!("missing-rootfs");
        b.write(&c);
        rt.fails(&["create", "--bundle", b.path(), "noroot"]);
        assert_clean(&rt, "noroot");
        // No such bundle.
        rt.fails(&["create", "--bundle", "/nonexistent/bundle", "nobundle"]);
        assert_clean(&rt, "nobundle");
        // Commands on an id that does not exist.
        for cmd in ["state", "start", "delete", "pause", "resume"] {
            rt.fails(&[cmd, "nosuch"]);
        }
        rt.fails(&["kill", "nosuch", "KILL"]);
    }
}

#[test]
fn unsupported_fields_are_named() {
    let _g = (SweepCgroups, lock());
    let rt = Runtime { bin: COCOON, root: TempDir::new("oci-root-unsup") };
    let b = Bundle::new("unsup", &["true"]);
    let mut c = b.config();
    c["linux"]["intelRdt"] = json!({"closID": "x"});
    b.write(&c);
    let err = rt.fails(&["create", "--bundle", b.path(), "unsup"]);
    assert!(err.contains("linux.intelRdt"), "{err}");
    assert_clean(&rt, "unsup");
    let mut c = b.config();
    c["linux"].as_object_mut().unwrap().remove("intelRdt");
    c["process"]["terminal"] = json!(true);
    b.write(&c);
    let err = rt.fails(&["create", "--bundle", b.path(), "unsup"]);
    assert!(err.contains("terminal"), "{err}");
    assert_clean(&rt, "unsup");
    let err = rt.fails(&["--systemd-cgroup", "create", "--bundle", b.path(), "unsup"]);
    assert!(err.contains("systemd"), "{err}");
    // --log-format json: conmon reads the error back from the log.
    let log = b.dir.join("log.json");
    let o = rt.cmd(&["--log", log.to_str().unwrap(), "--log-format", "json", "state", "nosuch"]);
    assert_eq!(o.status.code(), Some(1));
    let line: Value = serde_json::from_str(std::fs::read_to_string(&log).unwrap().lines().last().unwrap()).unwrap();
    assert_eq!(line["level"], "error");
    assert!(line["msg"].as_str().unwrap().contains("nosuch"), "{line}");
}

#[test]
fn spec_and_features() {
    let _g = (SweepCgroups, lock());
    let rt = Runtime { bin: COCOON, root: TempDir::new("oci-root-spec") };
    let b = TempDir::new("oci-spec");
    busybox_root(&b.join("rootfs"));
    rt.ok(&["spec", "--bundle", b.path().to_str().unwrap()]);
    rt.fails(&["spec", "--bundle", b.path().to_str().unwrap()]);
    let mut c: Value = serde_json::from_slice(&std::fs::read(b.join("config.json")).unwrap()).unwrap();
    assert_eq!(c["process"]["args"], json!(["sh"]));
    c["process"]["terminal"] = json!(false);
    c["process"]["args"] = json!(["sh", "-c", "exit 5"]);
    std::fs::write(b.join("config.json"), c.to_string()).unwrap();
    let o = rt.cmd(&["run", "--bundle", b.path().to_str().unwrap(), "fromspec"]);
    assert_eq!(o.status.code(), Some(5), "{}", String::from_utf8_lossy(&o.stderr));
    let f: Value = serde_json::from_str(&rt.ok(&["features"])).unwrap();
    assert_eq!(f["ociVersionMin"], "1.0.0");
    assert!(f["linux"]["namespaces"].as_array().unwrap().len() == 8);
    assert!(f["linux"]["capabilities"].as_array().unwrap().iter().any(|c| c == "CAP_SYS_ADMIN"));
    assert!(f["mountOptions"].as_array().unwrap().iter().any(|o| o == "rbind"));
    // Our state root: default cgroup parent (no cgroupsPath) is removed at delete.
    assert!(!rt.root.join("fromspec").exists());
}

#[test]
fn a_subreaper_adopts_and_reaps_the_container() {
    let _g = (SweepCgroups, lock());
    for rt in Runtime::both() {
        let b = Bundle::new("reap", &["sh", "-c", "exit 9"]);
        // As conmon and containerd's shim are.
        // SAFETY: prctl with integer arguments.
        assert_eq!(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }, 0);
        let pidfile = b.dir.join("pid");
        let st = rt.cmd_detached(
            &["create", "--bundle", b.path(), "--pid-file", pidfile.to_str().unwrap(), "reap"],
            b.dir.path(),
        );
        assert!(st.success(), "{}", rt.name());
        let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        assert_eq!(
            status_field(&status, "PPid"),
            std::process::id().to_string(),
            "{}: the container's parent",
            rt.name()
        );
        rt.ok(&["start", "reap"]);
        let mut ws = 0;
        // SAFETY: waitpid on our (adopted) child with a valid status pointer.
        let r = unsafe { libc::waitpid(pid, &mut ws, 0) };
        // SAFETY: as above.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) };
        assert_eq!(r, pid, "{}: waitpid: {}", rt.name(), std::io::Error::last_os_error());
        assert!(libc::WIFEXITED(ws) && libc::WEXITSTATUS(ws) == 9, "{}: status {ws:#x}", rt.name());
        assert_eq!(rt.status("reap"), "stopped", "{}", rt.name());
        rt.ok(&["delete", "reap"]);
        assert_clean(&rt, "reap");
        assert_no_children();
    }
}

#[test]
fn seccomp_profiles_from_the_spec() {
    let _g = (SweepCgroups, lock());
    let mut outputs = Vec::new();
    for rt in Runtime::both() {
        for nnp in [true, false] {
            let b = Bundle::new(
                "seccomp",
                &["sh", "-c", "mkdir /x 2>&1; kill -USR1 1 2>&1; kill -0 1 && echo zero-ok; exit 0"],
            );
            let mut c = b.config();
            c["process"]["noNewPrivileges"] = json!(nnp);
            c["linux"]["seccomp"] = json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "architectures": ["SCMP_ARCH_X86_64"],
                "syscalls": [
                    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                    {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                     "args": [{"index": 1, "value": libc::SIGUSR1, "op": "SCMP_CMP_EQ"}]}
                ]
            });
            b.write(&c);
            let o = rt.cmd(&["run", "--bundle", b.path(), "seccomp"]);
            assert!(o.status.success(), "{} nnp={nnp}: {}", rt.name(), String::from_utf8_lossy(&o.stderr));
            let out = String::from_utf8_lossy(&o.stdout).into_owned();
            assert!(out.contains("Permission denied") && out.contains("zero-ok"), "{} nnp={nnp}: {out}", rt.name());
            assert!(!b.rootfs("x").exists(), "{}: mkdir was not refused", rt.name());
            outputs.push(out);
            assert_clean(&rt, "seccomp");
        }
    }
    assert_eq!(outputs[0], outputs[2], "cocoon and runc differ (nnp)");
    assert_eq!(outputs[1], outputs[3], "cocoon and runc differ (no nnp)");
    // A notify profile whose listenerPath nobody listens on: create fails naming the
    // field, and nothing is left.
    let rt = Runtime { bin: COCOON, root: TempDir::new("oci-root-notify") };
    let b = Bundle::new("notify", &["true"]);
    let mut c = b.config();
    c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/x.sock",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]});
    b.write(&c);
    let err = rt.fails(&["create", "--bundle", b.path(), "notify"]);
    assert!(err.contains("linux.seccomp"), "{err}");
    assert_clean(&rt, "notify");
}

/// `cocoon stats` (cocoon's own command, so no runc control): one sample of a busy container
/// found from another process through the state directory, as JSON, a table and the
/// Prometheus text; an unknown id fails.
#[test]
fn stats_of_a_running_container_from_another_process() {
    let _g = (SweepCgroups, lock());
    let rt = Runtime { bin: COCOON, root: TempDir::new("oci-root-stats") };
    let b = Bundle::new("stats", &["sh", "-c", "while :; do :; done"]);
    let mut c = b.config();
    c["linux"]["resources"] = json!({"memory": {"limit": 64u64 << 20}, "cpu": {"quota": 20000, "period": 100000}});
    b.write(&c);
    assert!(rt.cmd_detached(&["run", "--detach", "--bundle", b.path(), "stats"], b.dir.path()).success(), "run -d");
    let line = rt.ok(&["stats", "--no-stream", "--format", "json", "--interval", "500ms", "stats"]);
    let v: Value = serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["id"], "stats");
    let cpu = v["cpu_percent"].as_f64().unwrap();
    assert!(cpu > 0.0 && cpu <= 30.0, "a busy loop under a 20 % quota: {cpu}");
    assert_eq!(v["memory_limit_bytes"], json!(64u64 << 20));
    assert!(v["pids"].as_u64().unwrap() >= 1);
    let table = rt.ok(&["stats", "--no-stream", "--interval", "100ms"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("CPU %") && lines[0].contains("MEM USAGE / LIMIT"),
        "{table}"
    );
    assert!(lines[1].starts_with("stats ") && lines[1].contains("/ 67.109MB"), "{table}");
    assert!(!table.contains('\x1b'), "no terminal escapes when stdout is not a terminal");
    let prom = rt.ok(&["stats", "--format", "prometheus", "stats"]);
    assert!(prom.contains("# TYPE cocoon_container_cpu_usage_seconds_total counter\n"), "{prom}");
    assert!(prom.contains(&format!("cocoon_container_memory_limit_bytes{{id=\"stats\"}} {}\n", 64u64 << 20)), "{prom}");
    assert!(rt.fails(&["stats", "--no-stream", "nosuch"]).contains("nosuch"));
    rt.ok(&["delete", "--force", "stats"]);
    assert_clean(&rt, "stats");
}

/// Receives one seccomp listener as the runtime spec sends it to `listenerPath`: the
/// container process state (JSON) with the fd attached.
fn receive_listener(l: &std::os::unix::net::UnixListener) -> (Value, std::os::fd::OwnedFd) {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    use std::os::fd::{AsRawFd, FromRawFd};
    let (conn, _) = l.accept().unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 4]);
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<()>(conn.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC).unwrap();
    let mut fd = None;
    for c in msg.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY: the fd was just received and is owned by nobody else.
            fd = fds.first().map(|f| unsafe { std::os::fd::OwnedFd::from_raw_fd(*f) });
        }
    }
    let n = msg.bytes;
    (serde_json::from_slice(&buf[..n]).unwrap(), fd.expect("an fd with the state"))
}

/// `SCMP_ACT_NOTIFY` with `listenerPath`: the runtime sends the listener with the container
/// process state; a supervisor (cocoon's library API over the received fd) answers the
/// container's mount with EBUSY. runc is the control: the same state fields, the same
/// output.
#[test]
fn seccomp_notify_sends_the_listener_to_the_listener_path() {
    use cocoon::supervisor::{Received, Response, Supervisor};
    let _g = (SweepCgroups, lock());
    let mut outputs = Vec::new();
    for rt in Runtime::both() {
        let b = Bundle::new("notify", &["sh", "-c", "mkdir -p /tmp/p; mount -t tmpfs tmpfs /tmp/p 2>&1; echo rc=$?"]);
        let sock = b.dir.join("supervisor.sock");
        let l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let mut c = b.config();
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
            "listenerPath": sock, "listenerMetadata": "judge-7",
            "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}]});
        b.write(&c);
        let served = std::thread::spawn(move || {
            let (state, fd) = receive_listener(&l);
            let sup = Supervisor::from_fd(fd);
            let Ok(Received::Request(r)) = sup.recv(Some(Duration::from_secs(20))) else { panic!("no request") };
            let target = String::from_utf8(sup.read_c_string(&r, r.args[1], 256).unwrap()).unwrap();
            sup.respond(r.id, Response::Errno(libc::EBUSY)).unwrap();
            (state, r.syscall, target)
        });
        let o = rt.cmd(&["run", "--bundle", b.path(), "notify"]);
        let (state, nr, target) = served.join().unwrap();
        assert!(o.status.success(), "{}: {}", rt.name(), String::from_utf8_lossy(&o.stderr));
        assert_eq!((nr, target.as_str()), (libc::SYS_mount, "/tmp/p"), "{}", rt.name());
        assert_eq!(state["fds"], json!(["seccompFd"]), "{}: {state}", rt.name());
        assert_eq!(state["metadata"], json!("judge-7"), "{}: {state}", rt.name());
        assert!(
            state["pid"].as_i64().unwrap_or(0) > 0 && state["pid"] == state["state"]["pid"],
            "{}: {state}",
            rt.name()
        );
        assert_eq!(state["state"]["id"], json!("notify"), "{}: {state}", rt.name());
        assert_eq!(state["ociVersion"], state["state"]["ociVersion"], "{}: {state}", rt.name());
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(out.contains("Device or resource busy") && out.contains("rc=255"), "{}: {out}", rt.name());
        outputs.push(out);
        assert_clean(&rt, "notify");
    }
    assert_eq!(outputs[0], outputs[1], "cocoon and runc differ");
}
