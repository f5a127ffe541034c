//! Exec into a running container: a monitor of its own joins the container's namespaces
//! and clones the program into its PID namespace; the parent attaches the cgroup, then GO.

use std::os::fd::AsRawFd;

use libc::c_int;

use super::guards::ChildGuard;
use super::stdio::StdioFds;
use super::proto::{recv, send_go, setup_error, socketpair, Msg};
use super::{start, write_proc};
use crate::child::monitor::Program;
use crate::child::ChildCtx;
use crate::container::{Container, ExecProcess};
use crate::error::{Result, Stage};
use crate::helper::Invocation;
use crate::plan::{describe_process, NameRoot, ProcessPlan};
use crate::process::Process;

/// Runs `process` inside the running container `c` (under its Landlock ruleset, if any).
pub(crate) fn exec(c: &Container, process: &Process) -> Result<ExecProcess> {
    let pid = c.pid();
    let root = std::path::PathBuf::from(format!("/proc/{pid}/root"));
    let mut pp = ProcessPlan::new(process, NameRoot::Dirs(vec![root.as_path()]), !c.setgroups_deny(), crate::capability::last_cap())?;
    // The container's Landlock ruleset, with this program's PATH candidates executable.
    if let Some(r) = c.landlock_ruleset() {
        pp.landlock = r.for_process(&pp.candidates, pp.may_restrict())?;
    }
    let mut stdio = StdioFds::new(&pp.stdio)?;
    let (psock, csock) = socketpair()?;
    let pass_raw: Vec<c_int> = pp.fds.iter().map(|(fd, _)| fd.as_raw_fd()).collect();
    let selinux = c.selinux_plan();
    let helper = Invocation::new(&pp.helper_tail, pp.fd_floor, csock.as_raw_fd(), -1, selinux.exec_label.as_deref(), false)?;
    let ctx = ChildCtx {
        sock: csock.as_raw_fd(),
        parent_sock: psock.as_raw_fd(),
        stdio: stdio.child_raw,
        pass_fds: &pass_raw,
        exec_label: selinux.exec_label.as_deref(),
        mount_label: None,
        join_pidfd: c.pidfd_raw(),
        join_flags: c.namespaces().setns_flags(),
        join_fds: &[],
        // The exec path has its own handshake (pid report, then GO).
        handshake: false,
        hold: -1,
        helper: &helper,
        root: None,
    };
    let describe = |s: Stage, i: u32| match s {
        Stage::JoinNamespaces | Stage::Dumpable => format!("container {}", c.id()),
        _ => describe_process(&pp, s, i),
    };
    let started = start(0, false, -1, c.cgroup(), &ctx, Program::Join(&pp), "exec", describe);
    drop(csock);
    stdio.close_child_side();
    let guard = ChildGuard(Some(started?));
    let gpid = guard.pid();
    if let Some(cg) = c.cgroup() {
        cg.attach(gpid)?;
    }
    if let Some(adj) = pp.oom_score_adj {
        write_proc(gpid, "oom_score_adj", "write oom_score_adj", &adj.to_string())?;
    }
    send_go(&psock)?;
    match recv(&psock)? {
        Msg::Eof => {}
        Msg::Report(r, _) => return Err(setup_error(&r, describe)),
    }
    Ok(ExecProcess::new(guard.disarm(), stdio.parent))
}
