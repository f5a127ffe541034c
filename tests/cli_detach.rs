//! cocoon-run --detach and the subcommands for detached containers: a round trip through
//! ps, exec, logs, kill, stop and rm leaves nothing behind (no cgroup, no mount, no
//! registry entry), and a stale entry (its keeper killed) is shown as dead and removable.
#![cfg(feature = "cli")]

mod cli_support;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use cli_support::{assert_nothing_left, cgroup_dirs, command, output, unique, Out, TempDir};

/// Removes the test's containers (`rm --force`) even when the test fails half-way, so a
/// failing run leaves no keeper, container or cgroup behind.
struct Cleanup<'a>(&'a Path, Vec<String>);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for id in &self.1 {
            let _ = tool(self.0, &["rm", "--force", id]);
        }
    }
}

fn tool(state: &Path, args: &[&str]) -> Out {
    let mut c = command(Some(state));
    c.args(args);
    output(c)
}

fn status_of(state: &Path, id: &str) -> String {
    let o = tool(state, &["ps"]);
    let row = o.stdout.lines().find(|l| l.split_whitespace().next() == Some(id));
    row.and_then(|l| l.split_whitespace().nth(1)).unwrap_or_default().to_string()
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(20), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn state_field(state: &Path, id: &str, key: &str) -> String {
    let text = std::fs::read_to_string(state.join(id).join("state")).unwrap();
    text.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix('=')).unwrap().to_string()
}

#[test]
fn detach_ps_exec_logs_stop_rm_round_trip() {
    let state = TempDir::new("detach");
    let id = unique("rt");
    let _cleanup = Cleanup(state.path(), vec![id.clone()]);
    let o = tool(
        state.path(),
        &[
            "-d",
            "--name",
            &id,
            "--memory",
            "32M",
            "--init",
            "--hostname",
            "bg",
            "--",
            "sh",
            "-c",
            "echo started; sleep 1000",
        ],
    );
    assert_eq!((o.code, o.stdout.trim()), (0, id.as_str()), "{o:?}");
    assert_eq!(status_of(state.path(), &id), "running");
    assert_eq!(state_field(state.path(), &id, "cgroup"), format!("cocoon/{id}"));
    assert!(!cgroup_dirs(&id).is_empty(), "the running container has its cgroup");
    let pid: i32 = state_field(state.path(), &id, "pid").parse().unwrap();
    assert!(Path::new(&format!("/proc/{pid}")).exists());

    // exec: the container's namespaces (hostname, PID namespace) and the program's status.
    let o = tool(
        state.path(),
        &["exec", &id, "--", "sh", "-c", "hostname; readlink /proc/self/ns/pid /proc/self/ns/mnt; exit 4"],
    );
    assert_eq!(o.code, 4, "{o:?}");
    let ns = |n: &str| std::fs::read_link(format!("/proc/{pid}/ns/{n}")).unwrap().display().to_string();
    assert_eq!(o.stdout, format!("bg\n{}\n{}\n", ns("pid"), ns("mnt")));
    // stdin, user, directory and variables of the exec.
    let mut c = command(Some(state.path()));
    c.args([
        "exec",
        "-u",
        "1000:1001",
        "-w",
        "/tmp",
        "-e",
        "A=b",
        &id,
        "--",
        "sh",
        "-c",
        "read l; echo $l $(id -u):$(id -g) $(pwd) $A",
    ])
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello 1000:1001 /tmp b\n");
    assert_eq!(tool(state.path(), &["exec", &id, "--", "sh", "-c", "kill -KILL $$"]).code, 137);

    wait_for("the log", || tool(state.path(), &["logs", &id]).stdout == "started\n");
    let o = tool(state.path(), &["rm", &id]);
    assert_eq!(o.code, 125, "a running container is not removed without --force: {o:?}");
    assert!(o.stderr.contains("is running"), "{o:?}");

    let o = tool(state.path(), &["stop", "-t", "5", &id]);
    assert_eq!(o.code, 0, "{o:?}");
    // SIGTERM reached sh through the init, which exits with 128 + 15.
    assert_eq!(status_of(state.path(), &id), "exited(143)");
    assert!(cgroup_dirs(&id).is_empty(), "an ended container's cgroup is removed");
    let o = tool(state.path(), &["exec", &id, "--", "true"]);
    assert_eq!(o.code, 125);
    assert!(o.stderr.contains("is not running"), "{o:?}");

    assert_eq!(tool(state.path(), &["rm", &id]).code, 0);
    assert!(!state.join(&id).exists());
    assert_nothing_left(&id);
    assert_eq!(tool(state.path(), &["ps", "-q"]).stdout, "");
}

#[test]
fn kill_and_rm_force() {
    let state = TempDir::new("kill");
    let (a, b) = (unique("kill"), unique("force"));
    let _cleanup = Cleanup(state.path(), vec![a.clone(), b.clone()]);
    for id in [&a, &b] {
        let o = tool(state.path(), &["-d", "--name", id, "--pids", "8", "--", "sleep", "1000"]);
        assert_eq!(o.code, 0, "{o:?}");
    }
    let mut ids = [a.as_str(), b.as_str()];
    ids.sort();
    assert_eq!(tool(state.path(), &["ps", "-q"]).stdout, format!("{}\n{}\n", ids[0], ids[1]));
    // sleep is PID 1: it ignores SIGTERM, not SIGKILL (the default of kill).
    assert_eq!(tool(state.path(), &["kill", "-s", "TERM", &a]).code, 0);
    assert_eq!(status_of(state.path(), &a), "running");
    assert_eq!(tool(state.path(), &["kill", &a]).code, 0);
    wait_for("the kill", || status_of(state.path(), &a) == "killed(9)");
    let o = tool(state.path(), &["rm", "--force", &a, &b]);
    assert_eq!(o.code, 0, "{o:?}");
    for id in [&a, &b] {
        assert!(!state.join(id).exists());
        assert_nothing_left(id);
    }
    let o = tool(state.path(), &["kill", &a]);
    assert_eq!(o.code, 125);
    assert!(o.stderr.contains("no such container"), "{o:?}");
}

#[test]
fn a_stale_entry_is_dead_and_removable() {
    let state = TempDir::new("stale");
    let id = unique("stale");
    let _cleanup = Cleanup(state.path(), vec![id.clone()]);
    assert_eq!(tool(state.path(), &["-d", "--name", &id, "--memory", "16M", "--", "sleep", "1000"]).code, 0);
    let keeper: i32 = state_field(state.path(), &id, "keeper_pid").parse().unwrap();
    let pid: i32 = state_field(state.path(), &id, "pid").parse().unwrap();
    // SAFETY: kill on a pid this test's tool started and recorded.
    assert_eq!(unsafe { libc::kill(keeper, libc::SIGKILL) }, 0);
    wait_for("the dead status", || status_of(state.path(), &id) == "dead");
    // The container died with its keeper.
    wait_for("the container's end", || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map(|s| s.contains(") Z ")).unwrap_or(true)
    });
    let o = tool(state.path(), &["exec", &id, "--", "true"]);
    assert_eq!(o.code, 125, "{o:?}");
    assert_eq!(tool(state.path(), &["rm", &id]).code, 0);
    assert!(!state.join(&id).exists());
    assert_nothing_left(&id);
}

/// --health-cmd: the keeper of a detached container runs the checks (after its creator
/// exited) and records the status, which `ps` shows: starting, unhealthy after the retries,
/// healthy once the check passes. Without --detach the flag is refused.
#[test]
fn health_checks_of_a_detached_container_show_in_ps() {
    let state = TempDir::new("detach-health");
    let id = unique("hc");
    let _cleanup = Cleanup(state.path(), vec![id.clone()]);
    let o = tool(
        state.path(),
        &[
            "-d",
            "--name",
            &id,
            "--health-cmd",
            "test -e /tmp/ok",
            "--health-interval",
            "100ms",
            "--health-retries",
            "2",
            "--health-start-period",
            "0s",
            "--",
            "sleep",
            "1000",
        ],
    );
    assert_eq!((o.code, o.stdout.trim()), (0, id.as_str()), "{o:?}");
    wait_for("unhealthy", || status_of(state.path(), &id) == "running(unhealthy)");
    assert_eq!(state_field(state.path(), &id, "health"), "unhealthy");
    assert_eq!(tool(state.path(), &["exec", &id, "--", "touch", "/tmp/ok"]).code, 0);
    wait_for("healthy", || status_of(state.path(), &id) == "running(healthy)");
    assert_eq!(tool(state.path(), &["stop", "-t", "5", &id]).code, 0);
    assert_eq!(tool(state.path(), &["rm", &id]).code, 0);
    assert_nothing_left(&id);

    // Refused before anything is made (2: a rejected value).
    let o = tool(state.path(), &["--health-cmd", "true", "--", "true"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("--detach"), "{o:?}");
    let o = tool(state.path(), &["-d", "--health-cmd", "true", "--health-retries", "0", "--", "true"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("health-retries"), "{o:?}");
    assert_eq!(tool(state.path(), &["ps", "-q"]).stdout, "");
}

#[test]
fn logs_of_a_detached_container_split_streams_timestamps_since_and_follow() {
    let state = TempDir::new("detach-logs");
    let id = unique("logs");
    let _cleanup = Cleanup(state.path(), vec![id.clone()]);
    let script = "echo one; echo two >&2; busybox sleep 4; echo three; exec busybox sleep 1000";
    let o = tool(state.path(), &["-d", "--name", &id, "--", "sh", "-c", script]);
    assert_eq!(o.code, 0, "{o:?}");
    // The container's CRI log lives in its state directory.
    wait_for("the first lines", || tool(state.path(), &["logs", &id]).stdout == "one\n");
    let o = tool(state.path(), &["logs", &id]);
    assert_eq!((o.stdout.as_str(), o.stderr.as_str()), ("one\n", "two\n"), "stdout and stderr apart");
    let cri = std::fs::read_to_string(state.join(&id).join("container.log")).unwrap();
    assert!(cri.lines().all(|l| l.len() > 41 && l.as_bytes()[10] == b'T'), "{cri}");
    // Timestamps: the record's time before each line.
    let o = tool(state.path(), &["logs", "-t", &id]);
    let (t, rest) = o.stdout.trim_end().split_once(' ').unwrap();
    assert_eq!(rest, "one");
    assert!(cocoon::logs::parse_time(t).is_ok(), "{t}");
    // Since: a time after everything so far prints nothing; an hour ago prints all.
    let later =
        cocoon::logs::format_time(cocoon::logs::LogTime { secs: cocoon::logs::LogTime::now().secs + 3600, nanos: 0 });
    assert_eq!(tool(state.path(), &["logs", "--since", &later, &id]).stdout, "");
    assert_eq!(tool(state.path(), &["logs", "--since", "1h", &id]).stdout, "one\n");
    let o = tool(state.path(), &["logs", "--since", "yesterday", &id]);
    assert_eq!(o.code, 2, "{o:?}");
    // Follow: sees "three" arrive, and ends by itself once the container is stopped.
    let mut c = command(Some(state.path()));
    c.args(["logs", "-f", &id]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null());
    let mut follower = c.spawn().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(follower.stdout.take().unwrap()));
    assert_eq!(lines.next().unwrap().unwrap(), "one");
    assert_eq!(lines.next().unwrap().unwrap(), "three");
    assert_eq!(tool(state.path(), &["stop", "-t", "1", &id]).code, 0);
    let t = Instant::now();
    let st = follower.wait().unwrap();
    assert!(st.success() && t.elapsed() < Duration::from_secs(10), "{st:?} after {:?}", t.elapsed());
    assert_eq!(tool(state.path(), &["rm", &id]).code, 0);
    assert_nothing_left(&id);
}

#[test]
fn log_flags_write_a_rotated_cri_file_for_a_foreground_run() {
    let dir = TempDir::new("log-flags");
    let log = dir.join("out.log");
    let mut c = command(None);
    c.args(["--log"]).arg(&log).args([
        "--log-max-size",
        "8k",
        "--log-max-files",
        "2",
        "--",
        "sh",
        "-c",
        "busybox seq 1 3000; echo bye >&2",
    ]);
    let o = output(c);
    assert_eq!(o.code, 0, "{o:?}");
    assert_eq!(o.stdout, "", "the output went to the log");
    let live = std::fs::read_to_string(&log).unwrap();
    let old = std::fs::read_to_string(dir.join("out.log.1")).unwrap();
    assert!(!dir.join("out.log.2").exists());
    assert!(live.len() <= 8192 && old.len() <= 8192);
    assert!(live.ends_with(" stderr F bye\n"), "{live}");
    let numbers: Vec<u32> = old
        .lines()
        .chain(live.lines())
        .filter(|l| l.contains(" stdout F "))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(*numbers.last().unwrap(), 3000);
    assert_eq!(numbers, (numbers[0]..=3000).collect::<Vec<_>>());
    // Refused before anything runs: a --log-max-files without --log-max-size, a missing directory.
    let mut c = command(None);
    c.args(["--log"]).arg(&log).args(["--log-max-files", "3", "true"]);
    assert_eq!(output(c).code, 2);
    let mut c = command(None);
    c.args(["--log"]).arg(dir.join("missing/x.log")).arg("true");
    let o = output(c);
    assert_eq!(o.code, 125, "{o:?}");
    assert!(o.stderr.contains("missing"), "{o:?}");
}

#[test]
fn detached_with_logs_and_health_then_list_logs_stats_stop_from_new_processes() {
    let state = TempDir::new("detach-all");
    let id = unique("all");
    let _cleanup = Cleanup(state.path(), vec![id.clone()]);
    // The creating process (`-d`) exits once the container runs; everything after is
    // another process reading the registry.
    let o = tool(
        state.path(),
        &["-d", "--name", &id, "--memory", "32M", "--pids", "16", "--health-cmd", "true", "--health-interval", "200ms", "--",
          "sh", "-c", "echo hello from $(hostname); exec busybox sleep 1000"],
    );
    assert_eq!(o.code, 0, "{o:?}");
    wait_for("healthy", || status_of(state.path(), &id) == "running(healthy)");
    wait_for("the log", || tool(state.path(), &["logs", &id]).stdout.starts_with("hello from"));
    let o = tool(state.path(), &["stats", "--interval-ms", "100", &id]);
    assert_eq!(o.code, 0, "{o:?}");
    let row = o.stdout.lines().find(|l| l.starts_with(&id)).unwrap_or_else(|| panic!("{o:?}"));
    assert!(row.contains("/ 32.0MiB"), "the memory limit: {row}");
    let pids: u64 = row.split_whitespace().nth(5).unwrap().parse().unwrap_or_else(|_| panic!("{row}"));
    assert!((1..=16).contains(&pids), "{row}");
    let o = tool(state.path(), &["stats", "no-such-container"]);
    assert_eq!(o.code, 125, "{o:?}");
    assert_eq!(tool(state.path(), &["stop", "-t", "1", &id]).code, 0);
    let o = tool(state.path(), &["stats", "--interval-ms", "10", &id]);
    assert!(o.stdout.lines().any(|l| l.starts_with(&id) && l.contains("not running")), "{o:?}");
    assert_eq!(tool(state.path(), &["rm", &id]).code, 0);
    assert_nothing_left(&id);
}
