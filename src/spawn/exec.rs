//! Exec into a running container: a monitor of its own joins the container's namespaces
//! and clones the program into its PID namespace; the parent attaches the cgroup, then GO.

use std::os::fd::AsRawFd;

use libc::c_int;

use super::guards::ChildGuard;
use super::proto::{send_go, setup_error, socketpair, Msg};
use super::stdio::StdioFds;
use super::{start, write_proc};
use crate::child::monitor::Program;
use crate::child::ChildCtx;
use crate::container::{Container, ExecProcess};
use crate::error::{Error, Result, Stage};
use crate::helper::Invocation;
use crate::plan::{describe_process, NameRoot, ProcessPlan};
use crate::process::Process;

/// What an exec needs of the container it joins: from a [`Container`] this process made,
/// or from a [`crate::container::RunningContainer`] opened by pid.
pub(crate) struct Target<'a> {
    pub(crate) id: &'a str,
    pub(crate) pid: i32,
    pub(crate) pidfd: c_int,
    pub(crate) setns_flags: c_int,
    pub(crate) setgroups_deny: bool,
    pub(crate) exec_label: Option<&'a std::ffi::CStr>,
    pub(crate) landlock: Option<&'a crate::plan::Ruleset>,
    pub(crate) cgroup: Option<&'a dyn crate::cgroup::ContainerCgroup>,
    /// The program is the caller's own child (no monitor stays).
    pub(crate) direct: bool,
}

/// Runs `process` inside the running container `c` (under its Landlock ruleset, if any).
pub(crate) fn exec(c: &Container, process: &Process) -> Result<ExecProcess> {
    let t = Target {
        id: c.id(),
        pid: c.pid(),
        pidfd: c.pidfd_raw(),
        setns_flags: c.namespaces().setns_flags(),
        setgroups_deny: c.setgroups_deny(),
        exec_label: c.selinux_plan().exec_label.as_deref(),
        landlock: c.landlock_ruleset(),
        cgroup: c.cgroup(),
        direct: false,
    };
    exec_into(&t, process)
}

/// Runs `process` in the namespaces and cgroup of `t`.
pub(crate) fn exec_into(t: &Target<'_>, process: &Process) -> Result<ExecProcess> {
    if process.log.is_some() {
        // Its monitor is a fork in the container's namespaces, not the container's monitor.
        return Err(Error::invalid("log", "logging is for a container's first process, not an exec'd one"));
    }
    let root = std::path::PathBuf::from(format!("/proc/{}/root", t.pid));
    let mut pp = ProcessPlan::new(
        process,
        NameRoot::Dirs(vec![root.as_path()]),
        !t.setgroups_deny,
        crate::capability::last_cap(),
    )?;
    // The container's Landlock ruleset, with this program's PATH candidates executable.
    if let Some(r) = t.landlock {
        pp.landlock = r.for_process(&pp.candidates, pp.may_restrict())?;
    }
    let mut stdio = StdioFds::new(&pp.stdio)?;
    let (psock, csock) = socketpair()?;
    // Above every fd target, so that placing the passed fds cannot overwrite it.
    let csock = super::hold::above(csock, pp.fd_floor)?;
    let pass_raw: Vec<c_int> = pp.fds.iter().map(|(fd, _)| fd.as_raw_fd()).collect();
    let helper = Invocation::new(&pp.helper_tail, pp.fd_floor, csock.as_raw_fd(), -1, t.exec_label, false)?;
    let ctx = ChildCtx {
        sock: csock.as_raw_fd(),
        parent_sock: psock.as_raw_fd(),
        stdio: stdio.child_raw,
        pass_fds: &pass_raw,
        exec_label: t.exec_label,
        mount_label: None,
        join_pidfd: t.pidfd,
        join_flags: t.setns_flags,
        join_fds: &[],
        // The exec path has its own handshake (pid report, then GO).
        handshake: false,
        hold: -1,
        helper: &helper,
        root: None,
        late: None,
    };
    let describe = |s: Stage, i: u32| match s {
        Stage::JoinNamespaces | Stage::Dumpable => format!("container {}", t.id),
        _ => describe_process(&pp, s, i),
    };
    let started = start(
        0,
        t.direct,
        -1,
        t.cgroup,
        &ctx,
        Program::Join(&pp),
        "exec",
        describe,
        crate::child::logwrite::LogCtx::NONE,
    );
    drop(csock);
    stdio.close_child_side();
    let guard = ChildGuard(Some(started?));
    let gpid = guard.pid();
    if let Some(cg) = t.cgroup {
        cg.attach(gpid)?;
    }
    if let Some(adj) = pp.oom_score_adj {
        write_proc(gpid, "oom_score_adj", "write oom_score_adj", &adj.to_string())?;
    }
    send_go(&psock)?;
    let mut listener = None;
    match super::proto::recv_end(&psock, &mut listener)? {
        Msg::Eof => {}
        Msg::Report(r, _) => return Err(setup_error(&r, describe)),
    }
    Ok(ExecProcess::new(guard.disarm(), stdio.parent)
        .with_supervisor(listener.map(crate::supervisor::Supervisor::from_fd)))
}
