//! The state directory: `<root>/<id>/` holds `state.json` (what `create` knew) and, while
//! the container is created but not started, `start.sock` (the socket its held process
//! listens on). A container's status is worked out from those and the kernel each time,
//! as runc does: the pid must still be the process `create` made (same start time).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::Failure;

/// The biggest state.json read back (it is ours, but the directory may be tampered with).
const MAX_STATE: u64 = 1 << 20;

/// What `create` records.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub pid: i32,
    /// Field 22 of /proc/<pid>/stat when created: the pid is that process only while equal.
    pub start_ticks: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    /// The cgroup, relative to the hierarchy roots.
    pub cgroup: PathBuf,
    pub annotations: Value,
    pub oci_version: String,
    /// The spec's `hooks` (JSON; null without), run by `start` and `delete` too.
    pub hooks: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

pub fn dir(root: &Path, id: &str) -> PathBuf {
    root.join(id)
}

pub fn start_socket(root: &Path, id: &str) -> PathBuf {
    dir(root, id).join("start.sock")
}

/// Makes `<root>/<id>` (0700); an existing one means the id is taken.
pub fn make_dir(root: &Path, id: &str) -> Result<PathBuf, Failure> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(root).map_err(|e| Failure::msg(format!("state root {}: {e}", root.display())))?;
    let d = dir(root, id);
    match fs::DirBuilder::new().mode(0o700).create(&d) {
        Ok(()) => Ok(d),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Failure::msg(format!("container with id {id} already exists"))),
        Err(e) => Err(Failure::msg(format!("state directory {}: {e}", d.display()))),
    }
}

impl Record {
    pub fn save(&self, root: &Path) -> Result<(), Failure> {
        let v = json!({
            "ociVersion": self.oci_version,
            "id": self.id,
            "pid": self.pid,
            "startTicks": self.start_ticks,
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
            "cgroup": self.cgroup,
            "annotations": self.annotations,
            "hooks": self.hooks,
        });
        write_atomic(&dir(root, &self.id).join("state.json"), v.to_string().as_bytes())
    }

    pub fn load(root: &Path, id: &str) -> Result<Record, Failure> {
        cocoon::builder::validate_id(id).map_err(|e| Failure::msg(format!("container id {id:?}: {e}")))?;
        let path = dir(root, id).join("state.json");
        let text = match read_bounded(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Failure::NotExist(id.to_string())),
            Err(e) => return Err(Failure::msg(format!("{}: {e}", path.display()))),
        };
        let v: Value = serde_json::from_str(&text).map_err(|e| Failure::msg(format!("{}: {e}", path.display())))?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let pid = v.get("pid").and_then(Value::as_i64).and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 0);
        let pid = pid.ok_or_else(|| Failure::msg(format!("{}: no valid pid", path.display())))?;
        Ok(Record {
            id: id.to_string(),
            pid,
            start_ticks: v.get("startTicks").and_then(Value::as_u64).unwrap_or(0),
            bundle: PathBuf::from(s("bundle")),
            rootfs: PathBuf::from(s("rootfs")),
            created: s("created"),
            cgroup: PathBuf::from(s("cgroup")),
            annotations: v.get("annotations").cloned().unwrap_or(json!({})),
            oci_version: s("ociVersion"),
            hooks: v.get("hooks").cloned().unwrap_or(Value::Null),
        })
    }

    /// Whether `pid` is still the process `create` made, and has not ended.
    pub fn alive(&self) -> bool {
        matches!(proc_stat(self.pid), Some((state, ticks)) if ticks == self.start_ticks && state != 'Z' && state != 'X')
    }

    pub fn status(&self, root: &Path) -> Status {
        if !self.alive() {
            return Status::Stopped;
        }
        if start_socket(root, &self.id).exists() {
            return Status::Created;
        }
        if frozen(&self.cgroup) {
            return Status::Paused;
        }
        Status::Running
    }

    /// The state as `runc state` prints it.
    pub fn to_json(&self, root: &Path) -> Value {
        let status = self.status(root);
        json!({
            "ociVersion": self.oci_version,
            "id": self.id,
            "pid": if status == Status::Stopped { 0 } else { self.pid },
            "status": status.name(),
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
            "owner": "",
            "annotations": self.annotations,
        })
    }
}

/// The ids of the containers under `root`.
pub fn ids(root: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(root)
        .map(|r| r.flatten().filter_map(|e| e.file_name().to_str().map(String::from)).filter(|n| dir(root, n).join("state.json").exists()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// (state letter, start time in ticks) of a process, from /proc/<pid>/stat.
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may hold spaces and ')': the fields start after the last ')'.
    let rest = s.get(s.rfind(')')? + 1..)?;
    let mut f = rest.split_whitespace();
    let state = f.next()?.chars().next()?;
    // After the state (field 3), starttime is field 22: 18 more.
    let ticks = f.nth(18)?.parse().ok()?;
    Some((state, ticks))
}

/// Whether the cgroup's freezer holds it frozen (v2 `cgroup.freeze`, v1 `freezer.state`).
fn frozen(rel: &Path) -> bool {
    let v2 = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"].iter().any(|m| {
        fs::read_to_string(Path::new(m).join(rel).join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1")
    });
    v2 || fs::read_to_string(Path::new("/sys/fs/cgroup/freezer").join(rel).join("freezer.state")).is_ok_and(|s| s.trim() == "FROZEN")
}

fn read_bounded(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut s = String::new();
    fs::File::open(path)?.take(MAX_STATE).read_to_string(&mut s)?;
    Ok(s)
}

/// Writes `path` through a temporary file and a rename: readers never see half of it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let r = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| fs::rename(&tmp, path));
    r.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Failure::msg(format!("writing {}: {e}", path.display()))
    })
}

/// Now, as RFC 3339 in UTC (what runc's `created` looks like).
pub fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_nanos()
    )
}
