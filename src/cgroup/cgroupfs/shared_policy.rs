//! The one cgroup per machine that carries the default device policy for containers that
//! asked for no cgroup and have a PID namespace.
//!
//! Such a container needs a cgroup only for its device program. A cgroup of its own costs
//! a `mkdir`, an `rmdir` and, once per process, loading the program (verifier + JIT):
//! about 1.3 ms per container for a one-container-per-process tool. Instead they are all
//! born (`CLONE_INTO_CGROUP`) in `<unified>/cocoon.devices-<hash>`, whose program stays
//! attached between processes: the kernel keeps a program attached to a cgroup for the
//! cgroup's lifetime, which is how it is shared without a bpffs pin. `<hash>` names the
//! policy's program, so cocoons with different default policies never share one.
//!
//! Why sharing is safe: a container with a PID namespace dies whole when its first process
//! dies, so it never needs `cgroup.kill` or a process list of its own (the cgroup is never
//! read for stats: the container "has no cgroup"). A container without a PID namespace
//! still gets a cgroup of its own.
//!
//! The directory is made on first use and kept (like a systemd slice; it is empty when no
//! such container runs). [`remove_unused`] (called by `sweep_stale`) removes it when empty.
//! Users and the remover hold an exclusive `flock` on it while they check or attach, so a
//! cocoon killed between `mkdir` and attach leaves a directory that the next one completes.

use std::fs;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::cgroup::bpf;
use crate::cgroup::devices::DevicePolicy;
use crate::cgroup::layout::Hierarchy;
use crate::cgroup::CgroupError;

/// Name prefix of the shared directories (at the unified hierarchy's root).
pub(crate) const PREFIX: &str = "cocoon.devices-";

/// This process's open shared directory, for the policy it carries.
struct Opened {
    policy: DevicePolicy,
    path: PathBuf,
    fd: OwnedFd,
}

static OPEN: Mutex<Option<Opened>> = Mutex::new(None);

/// The directory name for `policy`.
fn dir_name(policy: &DevicePolicy) -> String {
    format!("{PREFIX}{:016x}", bpf::program_hash(&bpf::compile(policy)))
}

fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    fs::File::open(path).map(OwnedFd::from)
}

/// Whether the cgroup behind `fd` still exists (a removed cgroup's files are gone).
fn alive(fd: &OwnedFd) -> bool {
    // SAFETY: a NUL-terminated relative name under a directory fd we own.
    unsafe { libc::faccessat(fd.as_raw_fd(), c"cgroup.procs".as_ptr(), libc::F_OK, 0) == 0 }
}

/// Holds an exclusive `flock` on a directory until dropped.
struct Locked<'a>(&'a OwnedFd);

impl<'a> Locked<'a> {
    fn new(fd: &'a OwnedFd, path: &Path) -> Result<Locked<'a>, CgroupError> {
        loop {
            // SAFETY: flock on a directory fd we own.
            if unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(Locked(fd));
            }
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(CgroupError::io("lock", path, e));
            }
        }
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // SAFETY: unlocking a directory fd we own.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// A new fd for `CLONE_INTO_CGROUP` into the shared directory for `policy` on hierarchy
/// `unified`, with the policy's program attached; and the directory's path.
pub(crate) fn open(unified: &Hierarchy, policy: &DevicePolicy) -> Result<(PathBuf, OwnedFd), CgroupError> {
    let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
    // Every spawn after the first: one `faccessat` and a dup, nothing compiled or hashed.
    if let Some(o) = open.as_ref() {
        if o.policy == *policy && o.path.parent() == Some(unified.mount.as_path()) && alive(&o.fd) {
            let dup = o.fd.try_clone().map_err(|e| CgroupError::io("dup", &o.path, e))?;
            return Ok((o.path.clone(), dup));
        }
    }
    *open = None;
    let path = unified.mount.join(dir_name(policy));
    // Another cocoon may remove it (empty) between our mkdir and our lock: then again.
    for _ in 0..3 {
        match fs::create_dir(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(CgroupError::io("mkdir", &path, e)),
        }
        let fd = match open_dir(&path) {
            Ok(fd) => fd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(CgroupError::io("open", &path, e)),
        };
        {
            let _lock = Locked::new(&fd, &path)?;
            if !alive(&fd) {
                continue;
            }
            bpf::ensure_attached(&fd, &path, policy)?;
        }
        let dup = fd.try_clone().map_err(|e| CgroupError::io("dup", &path, e))?;
        *open = Some(Opened { policy: policy.clone(), path: path.clone(), fd });
        return Ok((path, dup));
    }
    Err(CgroupError::io("create", &path, io::Error::from_raw_os_error(libc::ENOENT)))
}

/// Removes the shared directories under the unified hierarchy `unified` that hold no
/// process; returns those removed. A cocoon that uses one at the same time either finds it
/// (and keeps it: it is not empty once its container runs) or makes it again.
pub(crate) fn remove_unused(unified: &Hierarchy) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = fs::read_dir(&unified.mount) else { return removed };
    for e in entries.flatten() {
        if !e.file_name().as_bytes().starts_with(PREFIX.as_bytes()) {
            continue;
        }
        let path = e.path();
        let Ok(fd) = open_dir(&path) else { continue };
        let Ok(_lock) = Locked::new(&fd, &path) else { continue };
        // EBUSY: it holds processes (or child cgroups someone made): it stays.
        if fs::remove_dir(&path).is_ok() {
            removed.push(path);
        }
    }
    let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
    if open.as_ref().is_some_and(|o| removed.contains(&o.path)) {
        *open = None;
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::super::Cgroup;
    use crate::cgroup::bpf::DeviceProgram;
    use crate::cgroup::config::CgroupConfig;
    use crate::cgroup::device_rule::DeviceRule;
    use crate::cgroup::devices::default_rules;
    use crate::cgroup::layout::layout;
    use crate::cgroup::CgroupVersion;
    use super::*;

    /// A shared directory holding a program that is not the policy's is never used: the
    /// container gets a cgroup of its own instead.
    #[test]
    fn a_foreign_program_in_the_shared_directory_is_refused() {
        let Some(u) = layout().ok().and_then(|l| l.hierarchies.iter().find(|h| h.version == CgroupVersion::V2).cloned()) else {
            return;
        };
        let policy = DevicePolicy::from_rules(&default_rules());
        let path = u.mount.join(dir_name(&policy));
        if path.exists() && fs::remove_dir(&path).is_err() {
            return; // in use by a running container: nothing to test against
        }
        fs::create_dir(&path).unwrap();
        let foreign = DeviceProgram::attach(&path, &DevicePolicy::from_rules(&[DeviceRule::deny_all(), DeviceRule::allow_char(1, 3)])).unwrap();
        let refused = open(&u, &policy);
        let fallback = Cgroup::create(&CgroupConfig::device_policy_only(true), &format!("cocoon-unit-shared-{}", std::process::id()));
        let _ = foreign.detach();
        fs::remove_dir(&path).unwrap();
        let e = refused.expect_err("a foreign program must be refused");
        assert!(e.to_string().contains("not this policy's"), "{e}");
        let cg = fallback.unwrap();
        assert!(!cg.dirs().is_empty(), "a cgroup of its own");
        cg.destroy().unwrap();
    }
}
