//! The handles of a running container and of processes exec'd into it.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::process::{ChildStderr, ChildStdin, ChildStdout};
use std::time::Duration;

pub use super::running::RunningContainer;
use crate::cgroup::ContainerCgroup;
use crate::error::{Error, Result};
use crate::namespace::Namespaces;
use crate::plan::Plan;
use crate::process::Process;
use crate::run::EndedBy;
use crate::selinux::SelinuxPlan;

pub use super::proc::ExitStatus;
use super::proc::{Pipes, Proc, StdioEnds};

/// A running container: its first process, namespaces, cgroup and labels.
///
/// Dropping it (or calling [`Container::delete`]) kills every process in it, reaps them
/// and removes the cgroup: nothing outlives the handle unless [`Container::detach`] is
/// called.
#[derive(Debug)]
pub struct Container {
    id: String,
    main: Proc,
    namespaces: Namespaces,
    setgroups_deny: bool,
    cgroup: Option<Box<dyn ContainerCgroup>>,
    selinux: SelinuxPlan,
    pipes: Pipes,
    detached: bool,
    net: Option<crate::net::Attachment>,
    landlock: Option<std::sync::Arc<crate::plan::Ruleset>>,
    /// An image's writable layer: removed after the processes are gone (teardown).
    writable: Option<crate::image::WritableLayer>,
    /// A created container not started yet: how to start it.
    held: Option<super::hold::Started>,
    /// The listener of the program's notify filter, until the caller takes it.
    supervisor: Option<crate::supervisor::Supervisor>,
}

impl Container {
    pub(crate) fn new(
        id: String,
        main: Proc,
        plan: &Plan,
        cgroup: Option<Box<dyn ContainerCgroup>>,
        selinux: SelinuxPlan,
        ends: StdioEnds,
        net: Option<crate::net::Attachment>,
    ) -> Container {
        Container {
            id,
            main,
            namespaces: plan.namespaces,
            setgroups_deny: plan.setgroups_deny,
            cgroup,
            selinux,
            pipes: Pipes::new(ends),
            detached: false,
            net,
            landlock: plan.landlock.clone(),
            writable: None,
            held: None,
            supervisor: None,
        }
    }

    pub(crate) fn with_writable(mut self, w: Option<crate::image::WritableLayer>) -> Container {
        self.writable = w;
        self
    }

    pub(crate) fn with_held(mut self, h: Option<super::hold::Started>) -> Container {
        self.held = h;
        self
    }

    /// A warm container's process started: the streams it piped, and its supervisor.
    pub(crate) fn started_warm(&mut self, [stdin, stdout, stderr]: super::proc::StdioEnds, s: Option<OwnedFd>) {
        if let Some(f) = stdin {
            self.pipes.stdin = Some(f.into());
        }
        if let Some(f) = stdout {
            self.pipes.stdout = Some(f.into());
        }
        if let Some(f) = stderr {
            self.pipes.stderr = Some(f.into());
        }
        if let Some(fd) = s {
            self.supervisor = Some(crate::supervisor::Supervisor::from_fd(fd));
        }
    }

    pub(crate) fn with_supervisor(mut self, s: Option<crate::supervisor::Supervisor>) -> Container {
        self.supervisor = s;
        self
    }

    /// The supervisor of the program's notified syscalls ([`crate::Process::seccomp_notify`]),
    /// once: `None` if the process has none or it was taken. Until it is taken the handle
    /// keeps it, and notified calls wait; once it is dropped they fail with `ENOSYS`.
    pub fn take_seccomp_supervisor(&mut self) -> Option<crate::supervisor::Supervisor> {
        self.supervisor.take()
    }

    /// Runs the program of a created container ([`crate::Plan::create`]); returns once it
    /// runs, or with the setup error that kept it from being executed (the container has
    /// then ended). [`Error::NotCreated`] if it was started already.
    pub fn start(&mut self) -> Result<()> {
        let held = self.held.take().ok_or(Error::NotCreated)?;
        super::hold::start(&held)
    }

    /// Whether this is a created container still waiting for [`Container::start`].
    pub fn is_created(&self) -> bool {
        self.held.is_some()
    }

    /// For a container run from an image ([`crate::rootfs::Rootfs::Image`]): its writable
    /// layer's directory, whose `upper` holds every change the container made (overlayfs
    /// form: whiteouts, opaque directories). It is removed with the container unless the
    /// image rootfs was made with [`crate::rootfs::ImageRootfs::keep_upper`].
    pub fn writable_layer(&self) -> Option<&std::path::Path> {
        self.writable.as_ref().map(|w| w.dir())
    }

    /// The container's id (names its cgroup).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The host pid of the container's first process.
    pub fn pid(&self) -> i32 {
        self.main.pid()
    }

    /// The container's bridge network (interface, address, gateway, host veth), if it
    /// has one ([`crate::Network::Bridge`]).
    pub fn network(&self) -> Option<&crate::net::NetworkInfo> {
        self.net.as_ref().map(|n| &n.info)
    }

    /// The namespaces the container was created with.
    pub fn namespaces(&self) -> Namespaces {
        self.namespaces
    }

    /// What its Landlock ruleset became on this kernel ([`Plan::landlock_status`]).
    pub fn landlock_status(&self) -> Option<&crate::plan::LandlockStatus> {
        self.landlock.as_deref().map(|r| &*r.status)
    }

    /// The ruleset processes exec'd into the container get.
    pub(crate) fn landlock_ruleset(&self) -> Option<&crate::plan::Ruleset> {
        self.landlock.as_deref()
    }

    pub(crate) fn landlock_arc(&self) -> Option<std::sync::Arc<crate::plan::Ruleset>> {
        self.landlock.clone()
    }

    /// Waits for the container's first process to end.
    pub fn wait(&mut self) -> Result<ExitStatus> {
        self.main.wait()
    }

    /// Returns the exit status if the first process has ended, without blocking.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        self.main.try_wait()
    }

    /// Waits at most `limit` for the first process to end: `Ok(None)` if it still runs
    /// then (it is not killed: see [`crate::RunOptions::timeout`] for a run that is).
    /// Polls the wait fd, so no busy loop; a signal does not end the wait early.
    pub fn wait_timeout(&mut self, limit: Duration) -> Result<Option<ExitStatus>> {
        self.main.wait_timeout(limit)
    }

    /// What ended the first process, once it has ended (`None` while it runs): the OOM
    /// killer or the pids limit of the container's cgroup, else its exit or signal. Never
    /// [`EndedBy::Timeout`]: the container has no time limit of its own (see
    /// [`crate::RunOptions::timeout`]).
    pub fn ended_by(&mut self) -> Result<Option<EndedBy>> {
        Ok(self.main.try_wait()?.map(|s| super::run::classify(self, s)))
    }

    /// An fd owned by the handle that polls readable (`POLLIN`) once the container's
    /// first process has exited: wait on it in an event loop (or an interruptible
    /// `poll`), then [`Container::wait`] returns at once. Only poll it: do not read,
    /// close or signal through it (use [`Container::kill`]); which kernel object it is
    /// is not part of the API.
    pub fn wait_fd(&self) -> BorrowedFd<'_> {
        self.main.wait_fd()
    }

    /// A pidfd of the container's first process, owned by the handle (valid while it
    /// lives; do not close it): for `pidfd_send_signal`, `setns` or `pidfd_getfd`, or to
    /// poll (readable once that process has exited; [`Container::wait`] may then still
    /// block for the moment cocoon's monitor takes to report, so wait in event loops on
    /// [`Container::wait_fd`]).
    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.main.pidfd.as_fd()
    }

    /// Sends `signal` to the container's first process. Note that a PID 1 without a
    /// handler ignores every signal but SIGKILL (use [`crate::ContainerBuilder::init`]
    /// to have signals forwarded).
    pub fn kill(&self, signal: i32) -> Result<()> {
        self.main.kill(signal)
    }

    /// Runs another process inside the running container: it joins every namespace the
    /// container has and its cgroup, with `process`'s user, capabilities and limits.
    pub fn exec(&self, process: &Process) -> Result<ExecProcess> {
        if self.main.status.is_some() {
            return Err(Error::AlreadyExited);
        }
        crate::spawn::exec(self, process)
    }

    /// Takes stream 0, 1 or 2 as a plain fd, if it was piped (for the C ABI).
    pub(crate) fn take_stdio_fd(&mut self, stream: i32) -> Option<OwnedFd> {
        self.pipes.take_fd(stream)
    }

    /// The caller's end of the program's stdin, if it was [`crate::Stdio::Piped`].
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.pipes.stdin.take()
    }

    /// The caller's end of the program's stdout, if it was [`crate::Stdio::Piped`].
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.pipes.stdout.take()
    }

    /// The caller's end of the program's stderr, if it was [`crate::Stdio::Piped`].
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.pipes.stderr.take()
    }

    /// SIGKILLs every process of the container: its first process (with a PID namespace
    /// the kernel then kills the rest) and, without one, everything in its cgroup. False
    /// if the first process had already exited.
    pub(crate) fn kill_everything(&self) -> bool {
        // A frozen process cannot die.
        if let Some(cg) = self.user_cgroup() {
            let _ = cg.thaw();
        }
        let killed = !matches!(self.main.kill(libc::SIGKILL), Err(Error::AlreadyExited));
        if !self.namespaces.contains(Namespaces::PID) {
            // Without a PID namespace the cgroup is the container's own (the shared
            // policy directory is used only with one).
            if let Some(cg) = self.cgroup() {
                let _ = cg.kill_all();
            }
        }
        killed
    }

    /// The stats of the caller's cgroup, if there is one and it can be read.
    pub(crate) fn user_cgroup_stats(&self) -> Option<crate::cgroup::CgroupStats> {
        self.user_cgroup()?.stats().ok()
    }

    /// The container's cgroup, if it has one.
    pub(crate) fn cgroup(&self) -> Option<&dyn ContainerCgroup> {
        self.cgroup.as_deref()
    }

    /// The cgroup the caller asked for (not the one that only carries the device policy).
    fn user_cgroup(&self) -> Option<&dyn ContainerCgroup> {
        self.cgroup.as_deref().filter(|c| !c.policy_only())
    }

    fn need_cgroup(&self) -> Result<&dyn ContainerCgroup> {
        self.user_cgroup().ok_or_else(|| {
            Error::invalid("cgroup", "this container has no cgroup (ContainerBuilder::cgroup was not set)")
        })
    }

    /// Freezes every process in the container (cgroup freezer). Needs a cgroup.
    pub fn pause(&self) -> Result<()> {
        Ok(self.need_cgroup()?.freeze()?)
    }

    /// Thaws a paused container. Needs a cgroup.
    pub fn resume(&self) -> Result<()> {
        Ok(self.need_cgroup()?.thaw()?)
    }

    /// Changes the container's cgroup limits while it runs: those `cfg` sets are written,
    /// the others stay (as `runc update`). Values are checked first; device rules cannot
    /// change. Needs a cgroup.
    pub fn update_cgroup(&self, cfg: &crate::cgroup::CgroupConfig) -> Result<()> {
        Ok(self.need_cgroup()?.update(cfg)?)
    }

    /// CPU, memory, pids and io usage of the whole container. Needs a cgroup.
    pub fn stats(&self) -> Result<crate::cgroup::CgroupStats> {
        Ok(self.need_cgroup()?.stats()?)
    }

    /// Bytes of the container's output its log could not take (a full or failing disk:
    /// the monitor drops what it cannot write rather than block the container, and says
    /// so in the log once it can write again). 0 without a log ([`crate::Process::log`]).
    pub fn log_lost_bytes(&self) -> u64 {
        self.main.log_status().map_or(0, |s| s.lost.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// The errno of the log's last failed write (e.g. `ENOSPC`), if one failed.
    pub fn log_error(&self) -> Option<std::io::Error> {
        let e = self.main.log_status()?.errno.load(std::sync::atomic::Ordering::Relaxed);
        (e != 0).then(|| std::io::Error::from_raw_os_error(e))
    }

    /// The counters of the container's network interfaces (its `lo`, `eth0` …), read in
    /// its network namespace. Empty when it has no network namespace of its own (the
    /// host's interfaces are not the container's to report).
    pub fn net_stats(&self) -> Result<Vec<crate::stats::InterfaceStats>> {
        if self.main.status.is_some() {
            return Err(Error::AlreadyExited);
        }
        if !self.namespaces.contains(crate::Namespaces::NET) {
            return Ok(Vec::new());
        }
        crate::stats::net_stats_of_pid(self.pid())
    }

    /// Host pids of every process in the container's cgroup. Needs a cgroup.
    pub fn pids(&self) -> Result<Vec<i32>> {
        Ok(self.need_cgroup()?.procs())
    }

    /// The container's cgroup path relative to each hierarchy's root (e.g.
    /// `cocoon/<id>`), if it has a cgroup.
    pub fn cgroup_path(&self) -> Option<&std::path::Path> {
        self.user_cgroup().map(|c| c.path())
    }

    /// The SELinux label the container's processes run with (`None` when unlabelled,
    /// e.g. SELinux is disabled).
    pub fn selinux_label(&self) -> Option<&str> {
        self.selinux.exec_label.as_deref().and_then(|c| c.to_str().ok())
    }

    pub(crate) fn selinux_plan(&self) -> &SelinuxPlan {
        &self.selinux
    }

    pub(crate) fn setgroups_deny(&self) -> bool {
        self.setgroups_deny
    }

    pub(crate) fn pidfd_raw(&self) -> RawFd {
        self.main.pidfd.as_raw_fd()
    }

    /// Kills everything in the container, reaps it and removes its cgroup, reporting
    /// any failure to clean up.
    pub fn delete(mut self) -> Result<()> {
        self.teardown()
    }

    /// Leaves the container running: the handle no longer kills it when dropped, and it
    /// outlives the caller's process. Returns the pid the caller reaps: that of cocoon's
    /// monitor of the container, the caller's direct child, which exits with the status of
    /// the container's first process. It has no exit signal, so reap it with
    /// `waitid(P_PID, pid, .., WEXITED | __WALL)`. ([`Container::pid`], read before,
    /// is the first process's own pid, for signals.) Its cgroup (with the device policy)
    /// stays while it runs; once it has ended, a later spawn of this process (or, after this
    /// process is gone, [`crate::cgroup::sweep_stale`]) removes it.
    pub fn detach(mut self) -> i32 {
        self.detached = true;
        if let Some(cg) = self.cgroup.take() {
            cg.leave();
        }
        if let Some(n) = self.net.take() {
            n.leave();
        }
        if let Some(w) = self.writable.take() {
            w.leave(self.main.pid());
        }
        self.main.detach()
    }

    fn teardown(&mut self) -> Result<()> {
        // A frozen process cannot die: thaw a paused container before killing it (a
        // policy-only cgroup cannot have been paused).
        if let Some(cg) = self.user_cgroup() {
            let _ = cg.thaw();
        }
        // The host veth (and with it the pair) and the address lease: deleted first while
        // the container's network namespace is alive (fast); once the program has ended
        // the kernel deletes the pair with the namespace.
        if let Some(net) = self.net.take() {
            if matches!(self.main.try_wait(), Ok(None)) {
                drop(net);
            } else {
                net.release_exited();
            }
        }
        self.main.kill_and_reap();
        // destroy() kills whatever is left in the cgroup (e.g. daemons of a container
        // without a PID namespace), then removes it.
        let destroyed = match self.cgroup.take() {
            Some(cg) => cg.destroy(),
            None => Ok(()),
        };
        // The overlay lived only in the container's mount namespace, gone with its
        // processes: the writable layer can go (or stays, if kept).
        drop(self.writable.take());
        Ok(destroyed?)
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if !self.detached {
            let _ = self.teardown();
        }
    }
}

/// A process exec'd into a running container. Dropping it kills and reaps it.
#[derive(Debug)]
pub struct ExecProcess {
    proc_: Proc,
    pipes: Pipes,
    detached: bool,
    supervisor: Option<crate::supervisor::Supervisor>,
}

impl ExecProcess {
    pub(crate) fn new(proc_: Proc, ends: StdioEnds) -> ExecProcess {
        ExecProcess { proc_, pipes: Pipes::new(ends), detached: false, supervisor: None }
    }

    pub(crate) fn with_supervisor(mut self, s: Option<crate::supervisor::Supervisor>) -> ExecProcess {
        self.supervisor = s;
        self
    }

    /// The supervisor of this process's notified syscalls (as
    /// [`Container::take_seccomp_supervisor`]).
    pub fn take_seccomp_supervisor(&mut self) -> Option<crate::supervisor::Supervisor> {
        self.supervisor.take()
    }

    /// The host pid.
    pub fn pid(&self) -> i32 {
        self.proc_.pid()
    }

    /// Waits for it to end.
    pub fn wait(&mut self) -> Result<ExitStatus> {
        self.proc_.wait()
    }

    /// Returns the exit status if it has ended, without blocking.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        self.proc_.try_wait()
    }

    /// Waits at most `limit` for it to end (as [`Container::wait_timeout`]).
    pub fn wait_timeout(&mut self, limit: Duration) -> Result<Option<ExitStatus>> {
        self.proc_.wait_timeout(limit)
    }

    /// An fd owned by the handle that polls readable once the process has exited (as
    /// [`Container::wait_fd`]; signal with [`ExecProcess::kill`]).
    pub fn wait_fd(&self) -> BorrowedFd<'_> {
        self.proc_.wait_fd()
    }

    /// Sends it a signal.
    pub fn kill(&self, signal: i32) -> Result<()> {
        self.proc_.kill(signal)
    }

    /// Takes stream 0, 1 or 2 as a plain fd, if it was piped (for the C ABI).
    pub(crate) fn take_stdio_fd(&mut self, stream: i32) -> Option<OwnedFd> {
        self.pipes.take_fd(stream)
    }

    /// The caller's end of its stdin, if piped.
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.pipes.stdin.take()
    }

    /// The caller's end of its stdout, if piped.
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.pipes.stdout.take()
    }

    /// The caller's end of its stderr, if piped.
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.pipes.stderr.take()
    }
}

impl ExecProcess {
    /// Lets it run on after the handle: it is neither killed nor reaped by us. Returns the
    /// pid of the process the caller (or, once the caller exits, its subreaper) reaps: the
    /// program's own with [`RunningContainer::direct_child`], else its monitor's.
    pub fn detach(mut self) -> i32 {
        self.detached = true;
        self.proc_.detach()
    }
}

impl Drop for ExecProcess {
    fn drop(&mut self) {
        if !self.detached {
            self.proc_.kill_and_reap();
        }
    }
}
