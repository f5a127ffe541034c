//! [`RunningContainer`]: a running container reached by its first process's pid, from any
//! process — an OCI runtime's `exec` (what `podman exec` and `ctr task exec` call) runs in
//! another process than the `create` that made the container.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::cgroup::CgroupHandle;
use crate::container::ExecProcess;
use crate::error::{Error, Result};
use crate::namespace::Namespaces;
use crate::process::Process;

/// A running container found by the pid of its first process (its init).
///
/// What an exec joins is read from the kernel, not trusted from a file: the namespaces
/// are those of the process that differ from the caller's, `setgroups` comes from
/// `/proc/<pid>/setgroups`, the SELinux label (where SELinux is enabled) from its
/// `attr/current`. The process is held by a pidfd opened at [`RunningContainer::open`], so
/// a pid reused after that is never joined; checking that the pid *is* the container
/// before `open` (e.g. its start time, as an OCI runtime's state does) is the caller's.
/// A Landlock ruleset cannot be read back: a process exec'd this way is not under the
/// container's (the OCI runtime spec has none).
///
/// ```no_run
/// use cocoon::container::RunningContainer;
/// let c = RunningContainer::open(4242, Some("cocoon/web".as_ref()))?;
/// let mut p = c.exec(&cocoon::Process::new("/bin/ls").arg("/"))?;
/// p.wait()?;
/// # Ok::<(), cocoon::Error>(())
/// ```
#[derive(Debug)]
pub struct RunningContainer {
    pid: i32,
    /// How errors name it.
    label: String,
    pidfd: OwnedFd,
    namespaces: Namespaces,
    setgroups_deny: bool,
    exec_label: Option<CString>,
    cgroup: Option<CgroupHandle>,
    /// The container's Landlock ruleset, when made from its [`crate::Container`] (it cannot
    /// be read back from a pid).
    landlock: Option<std::sync::Arc<crate::plan::Ruleset>>,
    direct: bool,
}

impl RunningContainer {
    /// The container whose first process is `pid`, with its cgroup at `cgroup` (relative
    /// to the hierarchy roots, `<parent>/<name>`; `None`: an exec'd process stays in the
    /// caller's cgroup). A process that does not exist is [`Error::AlreadyExited`]; one in
    /// none of its own namespaces is [`Error::InvalidConfig`] (it is not a container).
    pub fn open(pid: i32, cgroup: Option<&Path>) -> Result<RunningContainer> {
        if pid <= 0 {
            return Err(Error::invalid("pid", format!("{pid} is not a process id")));
        }
        // SAFETY: pidfd_open with integer arguments; a non-negative result is a new fd.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            let e = std::io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::ESRCH) => Error::AlreadyExited,
                _ => Error::os("pidfd_open", format!("pid {pid}"), e),
            });
        }
        // SAFETY: just returned by pidfd_open and owned by nobody else.
        let pidfd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        let mut namespaces = Namespaces::empty();
        for (ns, name) in Namespaces::PROC_NAMES {
            let theirs = std::fs::metadata(format!("/proc/{pid}/ns/{name}"));
            let ours = std::fs::metadata(format!("/proc/self/ns/{name}"));
            match (theirs, ours) {
                (Ok(t), Ok(o)) if (t.dev(), t.ino()) != (o.dev(), o.ino()) => namespaces |= ns,
                (Ok(_), Ok(_)) => {}
                // A kind this kernel lacks (e.g. time): nothing to join.
                (Err(e), _) | (_, Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
                (Err(e), _) | (_, Err(e)) => return Err(Error::os("stat", format!("/proc/{pid}/ns/{name}"), e)),
            }
        }
        if namespaces.is_empty() {
            return Err(Error::invalid("pid", format!("process {pid} shares every namespace with this process: not a container")));
        }
        let setgroups_deny = crate::kernel_file::read_to_string(format!("/proc/{pid}/setgroups"), 16).is_ok_and(|s| s.trim() == "deny");
        let exec_label = if crate::selinux::selinux_enabled() {
            let theirs = crate::kernel_file::read_to_string(format!("/proc/{pid}/attr/current"), 256).unwrap_or_default();
            let ours = crate::kernel_file::read_to_string("/proc/self/attr/current", 256).unwrap_or_default();
            let theirs = theirs.trim_end_matches(['\0', '\n']);
            (!theirs.is_empty() && theirs != ours.trim_end_matches(['\0', '\n'])).then(|| CString::new(theirs).ok()).flatten()
        } else {
            None
        };
        let cgroup = cgroup.map(CgroupHandle::open).transpose()?;
        // The pid could have been reused between pidfd_open and the reads above: the pidfd
        // still names the first process; if it has ended since, refuse.
        if crate::sys::pidfd_send_signal(pidfd.as_raw_fd(), 0).is_err() {
            if let Some(c) = cgroup {
                c.release();
            }
            return Err(Error::AlreadyExited);
        }
        Ok(RunningContainer {
            pid,
            label: format!("pid {pid}"),
            pidfd,
            namespaces,
            setgroups_deny,
            exec_label,
            cgroup,
            landlock: None,
            direct: false,
        })
    }

    /// An exec handle on `c` that does not borrow it: the same namespaces, cgroup (also the
    /// one that only carries a device policy), SELinux label and Landlock ruleset as
    /// [`crate::Container::exec`], through a copy of its pidfd.
    pub(crate) fn of(c: &crate::Container) -> Result<RunningContainer> {
        // SAFETY: F_DUPFD_CLOEXEC on a valid fd the container owns; the result is checked.
        let raw = unsafe { libc::fcntl(c.pidfd_raw(), libc::F_DUPFD_CLOEXEC, 0) };
        if raw < 0 {
            return Err(Error::os("dup pidfd", c.id().to_string(), std::io::Error::last_os_error()));
        }
        // SAFETY: `raw` is a fresh fd that nothing else owns.
        let pidfd = unsafe { OwnedFd::from_raw_fd(raw) };
        let cgroup = c.cgroup().map(|cg| CgroupHandle::open(cg.path())).transpose()?;
        Ok(RunningContainer {
            pid: c.pid(),
            label: c.id().to_string(),
            pidfd,
            namespaces: c.namespaces(),
            setgroups_deny: c.setgroups_deny(),
            exec_label: c.selinux_plan().exec_label.clone(),
            cgroup,
            landlock: c.landlock_arc(),
            direct: false,
        })
    }

    /// The first process's host pid.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The namespaces an exec joins (those of the first process that differ from ours).
    pub fn namespaces(&self) -> Namespaces {
        self.namespaces
    }

    /// Makes exec'd processes the caller's own children (no monitor process): once the
    /// caller exits, its subreaper (conmon, containerd's shim) adopts and reaps them, as
    /// with `runc exec`. Nothing kills such a process when the caller dies; reaping it is
    /// the caller's (or its subreaper's), and a container with a PID namespace finishes
    /// ending only once it is reaped (the kernel holds the namespace's init until then).
    pub fn direct_child(&mut self, yes: bool) -> &mut Self {
        self.direct = yes;
        self
    }

    /// Runs `process` inside the container: its namespaces, cgroup and SELinux label,
    /// with `process`'s user, capabilities, limits and seccomp, as [`crate::Container::exec`].
    pub fn exec(&self, process: &Process) -> Result<ExecProcess> {
        let t = super::exec::Target {
            id: &self.label,
            pid: self.pid,
            pidfd: self.pidfd.as_raw_fd(),
            setns_flags: self.namespaces.setns_flags(),
            setgroups_deny: self.setgroups_deny,
            exec_label: self.exec_label.as_deref(),
            landlock: self.landlock.as_deref(),
            cgroup: self.cgroup.as_ref().map(CgroupHandle::driver),
            direct: self.direct,
        };
        super::exec::exec_into(&t, process)
    }
}

impl Drop for RunningContainer {
    fn drop(&mut self) {
        // The container is not ours to remove: let go of its cgroup untouched.
        if let Some(c) = self.cgroup.take() {
            c.release();
        }
    }
}
