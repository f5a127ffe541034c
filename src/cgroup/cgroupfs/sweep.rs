//! Removing the cgroups that dead callers left behind.
//!
//! A caller killed with SIGKILL never runs its teardown: its containers die with it (their
//! monitors see it go), but their cgroup directories stay. Default container ids name the
//! caller — `cocoon-<pid>-<n>` — so the next cocoon that starts (and [`sweep_stale`], when
//! called) removes those whose owner is gone. "Gone" is judged by pid *and* start time: a
//! live process with that pid that started after the directory was made is another process
//! that reused the pid. A directory that still holds processes is left alone (a detached
//! container outlives its caller by design).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::cgroup::config::DEFAULT_PARENT;
use crate::cgroup::layout::layout;
use crate::cgroup::CgroupError;

/// The owner pid of a default container id `cocoon-<pid>-<n>`.
fn owner_pid(name: &str) -> Option<i32> {
    let rest = name.strip_prefix("cocoon-")?;
    let (pid, n) = rest.split_once('-')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok().filter(|p| *p > 0)
}

/// When process `pid` started (wall clock), if it exists.
fn process_start(pid: i32) -> Option<SystemTime> {
    let stat = crate::kernel_file::read_to_string(format!("/proc/{pid}/stat"), 512).ok()?;
    // comm (field 2) may hold spaces and ')': split after the last ')'.
    let ticks: u64 = stat.get(stat.rfind(')')? + 1..)?.split_whitespace().nth(19)?.parse().ok()?;
    let btime: u64 = crate::kernel_file::read_to_string("/proc/stat", 4096)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime ").and_then(|v| v.trim().parse().ok()))?;
    // SAFETY: sysconf has no memory arguments.
    let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).ok().filter(|h| *h > 0)?;
    Some(UNIX_EPOCH + Duration::from_secs(btime) + Duration::from_millis(ticks * 1000 / hz))
}

/// Whether the process that made `dir` (named after it) still runs.
fn owner_alive(pid: i32, dir: &Path) -> bool {
    let Some(started) = process_start(pid) else { return false };
    let Ok(made) = fs::metadata(dir).and_then(|m| m.modified()) else { return true };
    // btime has one-second resolution: allow for it.
    started <= made + Duration::from_secs(1)
}

/// Whether a cgroup directory may hold child cgroups: cgroupfs (kernfs) counts a
/// directory's links as 2 + its subdirectories, so one `stat` tells an empty parent —
/// the usual case — without opening and listing it (on a v1 host, once per hierarchy).
/// A parent that cannot be stat'ed (none made yet on this hierarchy) has nothing to sweep.
fn has_subdirectories(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(dir).is_ok_and(|m| m.nlink() != 2)
}

fn has_processes(dir: &Path) -> bool {
    crate::kernel_file::read_to_string(dir.join("cgroup.procs"), 256).map_or(true, |s| !s.trim().is_empty())
}

/// Removes, on every hierarchy, the cgroups under `parent` (default
/// [`DEFAULT_PARENT`]) that belong to callers that are gone and hold no process, and the
/// machine's shared device-policy directories (`cocoon.devices-*` at the unified
/// hierarchy's root, where containers without a cgroup of their own run) if they hold no
/// process. Returns the directories removed. Cgroups with ids the caller chose are never
/// touched (their owner is unknown).
pub fn sweep_stale(parent: Option<&Path>) -> Result<Vec<PathBuf>, CgroupError> {
    let mut removed = sweep_parent(parent)?;
    if let Some(u) = layout()?.hierarchies.iter().find(|h| h.version == crate::cgroup::CgroupVersion::V2) {
        removed.extend(super::shared_policy::remove_unused(u));
    }
    Ok(removed)
}

/// [`sweep_stale`] without the shared policy directories.
fn sweep_parent(parent: Option<&Path>) -> Result<Vec<PathBuf>, CgroupError> {
    let parent = parent.unwrap_or(Path::new(DEFAULT_PARENT));
    crate::cgroup::config::validate_parent(parent)?;
    let mut removed = Vec::new();
    for h in &layout()?.hierarchies {
        let base = h.mount.join(parent);
        if !has_subdirectories(&base) {
            continue;
        }
        let Ok(entries) = fs::read_dir(&base) else { continue };
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(pid) = name.to_str().and_then(owner_pid) else { continue };
            let dir = e.path();
            if !dir.is_dir() || owner_alive(pid, &dir) || has_processes(&dir) {
                continue;
            }
            // EBUSY/ENOENT: someone else is using or removing it; leave it to them.
            if fs::remove_dir(&dir).is_ok() {
                removed.push(dir);
            }
        }
    }
    Ok(removed)
}

/// Sweeps `parent` once per process (at its first container), ignoring failures: a
/// sweep is housekeeping, never a reason for a spawn to fail. The shared policy directory
/// stays: keeping it between processes is its point.
pub(crate) fn sweep_once(parent: &Path) {
    static DONE: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
    let first = match DONE.lock() {
        // Every spawn comes here: allocate only the first time a parent is seen.
        Ok(mut done) => !done.contains(parent) && done.insert(parent.to_path_buf()),
        Err(_) => false,
    };
    if first {
        let _ = sweep_parent(Some(parent));
    }
}

#[cfg(test)]
mod tests {
    use super::owner_pid;

    #[test]
    fn only_default_ids_name_an_owner() {
        assert_eq!(owner_pid("cocoon-123-0"), Some(123));
        assert_eq!(owner_pid("cocoon-123-45"), Some(123));
        assert_eq!(owner_pid("cocoon-123"), None);
        assert_eq!(owner_pid("cocoon-123-"), None);
        assert_eq!(owner_pid("cocoon-0-1"), None);
        assert_eq!(owner_pid("cocoon-abc-1"), None);
        assert_eq!(owner_pid("job-123-1"), None);
        assert_eq!(owner_pid("cocoon-12-3x"), None);
    }
}
