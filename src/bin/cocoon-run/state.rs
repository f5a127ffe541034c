//! The registry of detached containers: one directory per container under
//! `$COCOON_RUN_STATE_DIR` (default `/run/cocoon/cli`), mode 0700:
//!
//! ```text
//! <id>/state         key=value lines, replaced atomically (write a temporary file, fsync, rename):
//!                    version=1, id, keeper_pid + keeper_start (the cocoon-run process that holds
//!                    the container; start = /proc/<pid>/stat field 22, clock ticks since boot),
//!                    pid + pid_start (the container's first process, host pid), cgroup (path
//!                    below each hierarchy's root, or empty), created (unix seconds), command,
//!                    status (running | exited N | killed N), health (with --health-cmd:
//!                    starting | healthy | unhealthy)
//! <id>/control.sock  the keeper's control socket (SOCK_SEQPACKET): exec and kill requests
//! <id>/log           the keeper's own messages (why it could not start, ...)
//! <id>/container.log the container's stdout and stderr, CRI records (and .1, .2 ...)
//! ```
//!
//! A pid is only trusted together with its start time: an entry whose keeper pid is gone or
//! now belongs to another process (pid reuse) is stale, shown as `dead` and removable.
//! This is the tool's own minimal registry, until the library has one.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Failure;

/// Where the registry lives.
pub fn root() -> PathBuf {
    std::env::var_os("COCOON_RUN_STATE_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/run/cocoon/cli"))
}

/// The directory of container `id` (the id must be valid: no `/`, no leading `.`).
pub fn dir(id: &str) -> Result<PathBuf, Failure> {
    cocoon::builder::validate_id(id).map_err(|e| Failure::Cocoon(e.to_string()))?;
    Ok(root().join(id))
}

/// How the container's first process is doing, as last recorded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Status {
    Running,
    Exited(i32),
    Killed(i32),
}

#[derive(Debug, Clone)]
pub struct State {
    pub id: String,
    pub keeper_pid: i32,
    pub keeper_start: u64,
    pub pid: i32,
    pub pid_start: u64,
    pub cgroup: String,
    pub created: u64,
    pub command: String,
    pub status: Status,
    /// The health checks' verdict (`starting`, `healthy`, `unhealthy`), with --health-cmd.
    pub health: Option<String>,
}

impl State {
    fn render(&self) -> String {
        let status = match self.status {
            Status::Running => "running".to_string(),
            Status::Exited(c) => format!("exited {c}"),
            Status::Killed(s) => format!("killed {s}"),
        };
        let one_line = |s: &str| s.replace(['\n', '\r'], " ");
        format!(
            "version=1\nid={}\nkeeper_pid={}\nkeeper_start={}\npid={}\npid_start={}\ncgroup={}\ncreated={}\ncommand={}\nstatus={status}\n{}",
            self.id,
            self.keeper_pid,
            self.keeper_start,
            self.pid,
            self.pid_start,
            one_line(&self.cgroup),
            self.created,
            one_line(&self.command),
            self.health.as_ref().map(|h| format!("health={}\n", one_line(h))).unwrap_or_default()
        )
    }

    fn parse(text: &str) -> Option<State> {
        let get = |k: &str| text.lines().find_map(|l| l.strip_prefix(k)?.strip_prefix('='));
        let status = match get("status")?.split_once(' ') {
            None if get("status")? == "running" => Status::Running,
            Some(("exited", c)) => Status::Exited(c.parse().ok()?),
            Some(("killed", s)) => Status::Killed(s.parse().ok()?),
            _ => return None,
        };
        Some(State {
            id: get("id")?.to_string(),
            keeper_pid: get("keeper_pid")?.parse().ok()?,
            keeper_start: get("keeper_start")?.parse().ok()?,
            pid: get("pid")?.parse().ok()?,
            pid_start: get("pid_start")?.parse().ok()?,
            cgroup: get("cgroup")?.to_string(),
            created: get("created")?.parse().ok()?,
            command: get("command")?.to_string(),
            status,
            health: get("health").map(str::to_string),
        })
    }

    /// Whether the keeper recorded here is still the process with that pid, and running
    /// (not a zombie nobody has reaped yet).
    pub fn keeper_alive(&self) -> bool {
        self.status == Status::Running && live_start_time(self.keeper_pid) == Some(self.keeper_start)
    }

    /// `running`, `exited(3)`, `killed(9)`, or `dead` for a stale entry.
    pub fn shown_status(&self) -> String {
        match self.status {
            Status::Running if !self.keeper_alive() => "dead".into(),
            Status::Running => match &self.health {
                Some(h) => format!("running({h})"),
                None => "running".into(),
            },
            Status::Exited(c) => format!("exited({c})"),
            Status::Killed(s) => format!("killed({s})"),
        }
    }
}

/// The state letter and start time (clock ticks after boot) of `pid`, if it exists.
fn stat(pid: i32) -> Option<(String, u64)> {
    if pid <= 0 {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may hold spaces and parentheses: the fields start after the last ')'.
    let mut f = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = f.next()?.to_string();
    Some((state, f.nth(18)?.parse().ok()?))
}

/// The start time of `pid`, if it exists.
pub fn start_time(pid: i32) -> Option<u64> {
    stat(pid).map(|(_, t)| t)
}

/// The start time of `pid`, if it exists and has not exited (zombie or dead).
fn live_start_time(pid: i32) -> Option<u64> {
    stat(pid).filter(|(s, _)| s != "Z" && s != "X").map(|(_, t)| t)
}

/// Creates the directory of a new container; fails if the id is taken.
pub fn create(id: &str) -> Result<PathBuf, Failure> {
    use std::os::unix::fs::DirBuilderExt;
    let d = dir(id)?;
    let r = root();
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&r)
        .map_err(|e| Failure::Cocoon(format!("creating the state directory {}: {e}", r.display())))?;
    match std::fs::DirBuilder::new().mode(0o700).create(&d) {
        Ok(()) => Ok(d),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Failure::usage(
            "--name",
            format!("a container {id:?} already exists (cocoon-run rm {id})"),
        )),
        Err(e) => Err(Failure::Cocoon(format!("creating {}: {e}", d.display()))),
    }
}

/// Replaces the state file atomically.
pub fn write(dir: &Path, s: &State) -> std::io::Result<()> {
    let tmp = dir.join(format!(".state.{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(s.render().as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join("state"))
}

/// The state of container `id`.
pub fn read(id: &str) -> Result<State, Failure> {
    let d = dir(id)?;
    let text = match std::fs::read_to_string(d.join("state")) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !d.exists() => {
            return Err(Failure::Cocoon(format!("no such container {id:?} (see cocoon-run ps)")))
        }
        Err(e) => return Err(Failure::Cocoon(format!("{}: {e}", d.join("state").display()))),
    };
    State::parse(&text).ok_or_else(|| Failure::Cocoon(format!("{}: malformed state file", d.join("state").display())))
}

/// Every container directory: its id and state (or why it cannot be read).
pub fn list() -> Vec<(String, Result<State, Failure>)> {
    let Ok(rd) = std::fs::read_dir(root()) else { return Vec::new() };
    let mut ids: Vec<String> = rd.flatten().filter_map(|e| e.file_name().into_string().ok()).filter(|n| !n.starts_with('.')).collect();
    ids.sort();
    ids.into_iter().map(|id| (id.clone(), read(&id))).collect()
}

/// Removes the cgroup `path` (relative to each hierarchy's root) that a killed keeper left,
/// on every cgroup hierarchy mounted here, and then its parents as far as they are empty
/// (as the library's own teardown does). A directory still holding processes stays; its
/// rmdir fails. (The library's `sweep_stale` only knows its default ids.)
pub fn remove_cgroup(path: &str) -> Vec<PathBuf> {
    let rel = Path::new(path);
    if path.is_empty() || rel.is_absolute() || rel.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
        return Vec::new();
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut removed = Vec::new();
    for line in mounts.lines() {
        // "... MOUNT_POINT OPTIONS ... - FSTYPE SOURCE SUPER_OPTIONS"
        let (left, right) = line.split_once(" - ").unwrap_or((line, ""));
        if !matches!(right.split_whitespace().next(), Some("cgroup" | "cgroup2")) {
            continue;
        }
        let Some(mount) = left.split_whitespace().nth(4) else { continue };
        let mount = Path::new(mount);
        let mut dir = mount.join(rel);
        while dir != mount && std::fs::remove_dir(&dir).is_ok() {
            removed.push(dir.clone());
            if !dir.pop() {
                break;
            }
        }
    }
    removed
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let s = State {
            id: "x".into(),
            keeper_pid: 1,
            keeper_start: 2,
            pid: 3,
            pid_start: 4,
            cgroup: "cocoon/x".into(),
            created: 5,
            command: "sh -c 'a\nb'".into(),
            status: Status::Killed(9),
            health: None,
        };
        let back = State::parse(&s.render()).unwrap();
        assert_eq!((back.keeper_pid, back.pid_start, back.status), (1, 4, Status::Killed(9)));
        assert_eq!(back.command, "sh -c 'a b'");
        assert_eq!(back.health, None, "no health line without --health-cmd");
        let h = State { health: Some("healthy".into()), ..s };
        assert_eq!(State::parse(&h.render()).unwrap().health.as_deref(), Some("healthy"));
        assert!(start_time(std::process::id() as i32).is_some());
    }
}
