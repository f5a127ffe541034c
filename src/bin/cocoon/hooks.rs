//! OCI hooks that run in the runtime's namespaces: `prestart` and `createRuntime` once the
//! container is created (held before its program: its namespaces, mounts and cgroup
//! exist, its pid is known), `poststart` once its program runs, `poststop` once it is
//! deleted. Each gets the container's state JSON on stdin, exactly the `env` it lists,
//! `args[0]` as its argv[0], and its `timeout` (the hook's process group is killed then).
//! As runc: a failing `prestart`/`createRuntime`/`poststart` hook fails the command and
//! the container is destroyed (then `poststop` runs); a failing `poststop` hook is a
//! warning. `createContainer` and `startContainer` run in the container's namespaces and
//! are refused before anything is created.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use oci_spec::runtime::{Hook, Hooks};
use serde_json::{json, Value};

use crate::state::Record;
use crate::Failure;

/// Output of a failed hook kept for its error message, per stream.
const KEPT_OUTPUT: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `prestart` (deprecated) then `createRuntime`.
    Created,
    Poststart,
    Poststop,
}

/// Refuses what cannot run (hooks in the container's namespaces, a relative path, a
/// timeout that is not positive) before the container exists.
pub fn check(h: &Hooks) -> Result<(), Failure> {
    let n = |v: &Option<Vec<Hook>>| v.as_ref().map_or(0, Vec::len);
    for (name, v) in [("createContainer", h.create_container()), ("startContainer", h.start_container())] {
        if n(v) > 0 {
            return Err(Failure::msg(format!(
                "hooks.{name}: hooks in the container's namespaces are not supported by cocoon (prestart, createRuntime, poststart and poststop are)"
            )));
        }
    }
    for (label, hook) in all(h) {
        if !hook.path().is_absolute() {
            return Err(Failure::msg(format!("hooks.{label}.path {}: must be absolute", hook.path().display())));
        }
        if let Some(t) = hook.timeout() {
            if t <= 0 {
                return Err(Failure::msg(format!("hooks.{label}.timeout {t}: must be positive")));
            }
        }
    }
    Ok(())
}

fn all(h: &Hooks) -> Vec<(String, &Hook)> {
    #[allow(deprecated)]
    let prestart = h.prestart();
    let named = [
        ("prestart", prestart),
        ("createRuntime", h.create_runtime()),
        ("createContainer", h.create_container()),
        ("startContainer", h.start_container()),
        ("poststart", h.poststart()),
        ("poststop", h.poststop()),
    ];
    let mut v = Vec::new();
    for (name, hooks) in named {
        for (i, hook) in hooks.iter().flatten().enumerate() {
            v.push((format!("{name}[{i}]"), hook));
        }
    }
    v
}

/// The record's hooks of `phase`, in the order they run.
fn of(rec: &Record, phase: Phase) -> Vec<(String, Hook)> {
    if rec.hooks.is_null() {
        return Vec::new();
    }
    let Ok(h) = serde_json::from_value::<Hooks>(rec.hooks.clone()) else { return Vec::new() };
    let wanted: &[&str] = match phase {
        Phase::Created => &["prestart[", "createRuntime["],
        Phase::Poststart => &["poststart["],
        Phase::Poststop => &["poststop["],
    };
    all(&h).into_iter().filter(|(l, _)| wanted.iter().any(|w| l.starts_with(w))).map(|(l, h)| (l, h.clone())).collect()
}

/// The runtime spec's state of the container, as a hook sees it.
fn state(rec: &Record, phase: Phase) -> Value {
    let status = match phase {
        Phase::Created => "creating",
        Phase::Poststart => "running",
        Phase::Poststop => "stopped",
    };
    let mut v = json!({"ociVersion": rec.oci_version, "id": rec.id, "status": status, "bundle": rec.bundle});
    if phase != Phase::Poststop {
        v["pid"] = json!(rec.pid);
    }
    if rec.annotations.as_object().is_some_and(|m| !m.is_empty()) {
        v["annotations"] = rec.annotations.clone();
    }
    v
}

/// Runs the hooks of `phase` in order; the first failure stops them and is returned.
pub fn run(rec: &Record, phase: Phase) -> Result<(), Failure> {
    let st = state(rec, phase).to_string();
    for (label, hook) in of(rec, phase) {
        run_one(&hook, st.as_bytes()).map_err(|e| Failure::msg(format!("hook {label}: {e}")))?;
    }
    Ok(())
}

/// Runs the `poststop` hooks, each failure a warning (they all run).
pub fn run_poststop(g: &crate::Global, rec: &Record) {
    let st = state(rec, Phase::Poststop).to_string();
    for (label, hook) in of(rec, Phase::Poststop) {
        if let Err(e) = run_one(&hook, st.as_bytes()) {
            g.warn(&format!("hook {label}: {e}"));
        }
    }
}

/// A reader of one output stream, keeping its first bytes, reporting at EOF.
fn keep(mut r: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 {
                break;
            }
            let room = KEPT_OUTPUT.saturating_sub(kept.len());
            kept.extend_from_slice(&buf[..n.min(room)]);
        }
        let _ = tx.send(String::from_utf8_lossy(&kept).into_owned());
    });
    rx
}

fn run_one(hook: &Hook, state: &[u8]) -> Result<(), String> {
    let path = hook.path();
    let args = hook.args().clone().unwrap_or_default();
    let mut cmd = Command::new(path);
    if let Some((a0, rest)) = args.split_first() {
        cmd.arg0(a0).args(rest);
    }
    cmd.env_clear();
    for e in hook.env().iter().flatten() {
        match e.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                cmd.env(k, v);
            }
            _ => return Err(format!("env entry {e:?} is not NAME=value")),
        }
    }
    // Its own process group: a timeout kills whatever it started too.
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = cmd.spawn().map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its state closes the pipe: not an error, and not a
        // SIGPIPE for us (main sets it to kill, for a closed stdout).
        // SAFETY: signal(2) with constant dispositions; the previous one is restored.
        let before = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
        let _ = stdin.write_all(state);
        drop(stdin);
        // SAFETY: as above, restoring what `signal` returned.
        unsafe { libc::signal(libc::SIGPIPE, before) };
    }
    let out = child.stdout.take().map(keep);
    let err = child.stderr.take().map(keep);
    let deadline = hook.timeout().and_then(|t| u64::try_from(t).ok()).map(|t| Instant::now() + Duration::from_secs(t));
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) => {}
            Err(e) => return Err(format!("{}: wait: {e}", path.display())),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            // SAFETY: kill(2) of the hook's own process group (its pid, made leader above).
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
            return Err(format!("{} ran past its timeout of {} s and was killed", path.display(), hook.timeout().unwrap_or(0)));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if status.success() {
        return Ok(());
    }
    // What the hook printed; a daemon it left holding the pipes is not waited for.
    let text = |rx: Option<mpsc::Receiver<String>>| rx.and_then(|r| r.recv_timeout(Duration::from_millis(200)).ok()).unwrap_or_default();
    Err(format!("{}: {status}, stdout: {:?}, stderr: {:?}", path.display(), text(out), text(err)))
}
