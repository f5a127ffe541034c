//! The parent side of creating a container or exec'ing into one: everything around the
//! clone (sockets, stdio, maps, cgroup attachment) and the handshake with the child.
//!
//! This file creates a container ([`spawn`]: cgroup, SELinux reservation, the monitor's
//! start, the parent's part between READY and GO). `proto.rs` is the wire protocol with
//! the child (both halves); `exec.rs` runs a process in a running container; `stdio.rs`
//! wires stdio; `guards.rs` undoes a half-made spawn; `container.rs` is the handle of a
//! running container.

pub mod container;
mod exec;
mod guards;
pub(crate) mod hold;
pub(crate) mod late;
pub(crate) mod log;
mod monitor_stack;
mod proc;
pub(crate) mod proto;
pub mod run;
mod running;
mod stdio;
#[cfg(test)]
mod tests;
pub(crate) mod warm;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use libc::c_int;

use crate::cgroup::{CgroupConfig, CgroupDriver, ContainerCgroup};
use crate::child::monitor::{self, MonitorCtx, Program};
use crate::child::ChildCtx;
use crate::container::Container;
use crate::error::{Error, Result, Stage};
use crate::helper::Invocation;
use crate::plan::Plan;
use crate::selinux::SelinuxPlan;
use crate::sys::{self, CloneArgs};
use proc::Proc;

pub(crate) use exec::exec;
use guards::{CgroupGuard, ChildGuard, MonitorGuard};
pub(crate) use monitor_stack::MonitorStack;
use proto::{recv, send_go, setup_error, socketpair, Msg, REPORT_ERROR, REPORT_PID, REPORT_READY};
use stdio::StdioFds;

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Adds the SELinux no_new_privs hint to an exec refused with EPERM under a label.
fn with_selinux_hint(mut e: Error, labelled: bool, nnp: bool) -> Error {
    if let Error::Setup { stage: Stage::Exec, detail, source } = &mut e {
        if let (true, Some(hint)) =
            (labelled, source.raw_os_error().and_then(|n| crate::selinux::exec_error_hint(n, nnp)))
        {
            detail.push_str("; ");
            detail.push_str(hint);
        }
    }
    e
}

/// Clones the monitor (see [`crate::monitor`]): a plain fork-like child with no exit
/// signal, so the host's SIGCHLD handlers and `waitpid(-1)` loops never see it; we wait
/// for it with `__WALL` on its pidfd. It never execs, so that stays true.
///
/// # Safety
/// The child (return value 0) may only run async-signal-safe code and must end in _exit.
unsafe fn clone_monitor(pidfd: &mut c_int) -> Result<c_int> {
    let mut args = CloneArgs {
        flags: sys::CLONE_PIDFD,
        pidfd: pidfd as *mut c_int as u64,
        exit_signal: 0,
        ..CloneArgs::default()
    };
    // SAFETY: forwarded to the caller's contract.
    match unsafe { sys::clone3(&mut args) } {
        Ok(pid) => Ok(pid),
        // SAFETY: as above.
        Err(libc::ENOSYS) => unsafe { sys::clone_legacy(sys::CLONE_PIDFD, 0, pidfd) }
            .map_err(|e| Error::os("clone", "monitor", std::io::Error::from_raw_os_error(e))),
        Err(e) => Err(Error::os("clone3", "monitor", std::io::Error::from_raw_os_error(e))),
    }
}

/// Starts the monitor and gets the program's pid and pidfd from it. Returns the
/// monitor-backed [`Proc`] or the setup error the monitor reported.
#[allow(clippy::too_many_arguments)]
fn start(
    clone_flags: u64,
    direct: bool,
    cgroup_fd: c_int,
    cgroup: Option<&dyn ContainerCgroup>,
    ctx: &ChildCtx<'_>,
    program: Program<'_>,
    what: &'static str,
    describe: impl Fn(Stage, u32) -> String,
    log: crate::child::logwrite::LogCtx,
) -> Result<Proc> {
    let (msock, mchild) = socketpair()?;
    // Written by the monitor if the caller dies, so that processes outside the PID
    // namespace's reach die too.
    let kill_fd = cgroup.and_then(|c| c.kill_fd());
    let mut mctx = MonitorCtx {
        sock: mchild.as_raw_fd(),
        parent_sock: msock.as_raw_fd(),
        host_pid: std::process::id() as c_int,
        clone_flags,
        cgroup_fd,
        kill_fd: kill_fd.as_ref().map_or(-1, |f| f.as_raw_fd()),
        direct,
        log,
    };
    let mut mon_pidfd: c_int = -1;
    // Declared here, not in the match arm: the monitor reads it until its report, so it
    // must live in this frame until `recv` below has returned (an arm's local would be
    // dead, and its stack slot reused, as soon as the arm ends).
    let start: MonitorStart<'_, '_>;
    let (mon, stack) = match program {
        // A new container: the monitor shares our memory (no copy of our page tables,
        // nothing copied on write while it lives), on a stack of its own.
        Program::Container(plan) => {
            let stack = MonitorStack::new()?;
            // The log writer counts lost bytes at the top of its stack, where we read them.
            mctx.log.status = stack.status();
            start = MonitorStart { m: &mctx, ctx, plan };
            // SAFETY: `monitor_entry` runs `monitor::run`, which is async-signal-safe, makes
            // its syscalls without errno, ends in _exit, and reads `start` (alive in this
            // frame until the report, or until the guard below has reaped the monitor) only
            // before its report; the stack stays mapped until the monitor has ended.
            let pid = unsafe {
                libc::clone(
                    monitor_entry,
                    stack.top(),
                    libc::CLONE_VM | libc::CLONE_PIDFD,
                    &start as *const MonitorStart<'_, '_> as *mut libc::c_void,
                    &mut mon_pidfd as *mut c_int,
                )
            };
            if pid < 0 {
                return Err(Error::last_os("clone", "monitor"));
            }
            (pid, Some(stack))
        }
        Program::Join(_) => {
            // SAFETY: the child branch runs only `monitor::run`, which is async-signal-safe
            // and ends in _exit (its own child in execve or _exit); everything it reads was
            // built by the caller before this call.
            let mon = unsafe { clone_monitor(&mut mon_pidfd)? };
            if mon == 0 {
                monitor::run(&mctx, ctx, program);
            }
            (mon, None)
        }
    };
    // Only the monitor holds its end now: if it dies before reporting, recv sees EOF.
    drop(mchild);
    drop(kill_fd);
    // SAFETY: clone stored a fresh pidfd for the monitor, owned from here on.
    let mon_fd = unsafe { OwnedFd::from_raw_fd(mon_pidfd) };
    let mut monitor = MonitorGuard(Some((mon, mon_fd, stack)));
    match recv(&msock)? {
        Msg::Report(r, Some(fd)) if r.kind == REPORT_PID && r.pid > 0 && direct => {
            // The monitor exits right after its report and the program is our own child:
            // reap the monitor, then wait on the program itself.
            let _ = monitor.wait();
            let wait_fd = fd.try_clone().map_err(|e| Error::os("dup", "pidfd", e))?;
            Ok(Proc::new(r.pid, fd, r.pid, wait_fd, msock, None))
        }
        Msg::Report(r, Some(fd)) if r.kind == REPORT_PID && r.pid > 0 => {
            let (mpid, mfd, stack) = monitor.disarm();
            Ok(Proc::new(r.pid, fd, mpid, mfd, msock, stack))
        }
        Msg::Report(r, _) if r.kind == REPORT_PID && r.pid < 0 => {
            Err(Error::os("clone3", what, std::io::Error::from_raw_os_error(-r.pid)))
        }
        Msg::Report(r, _) if r.kind == REPORT_ERROR => Err(setup_error(&r, describe)),
        _ => {
            let _ = monitor.wait();
            Err(Error::os("spawn", "the monitor process exited early", std::io::Error::from_raw_os_error(libc::ECHILD)))
        }
    }
}

/// What the monitor of a new container reads from the caller's memory (until its report).
struct MonitorStart<'a, 'b> {
    m: &'a MonitorCtx,
    ctx: &'a ChildCtx<'b>,
    plan: &'a Plan,
}

/// Entry point of a monitor cloned with `CLONE_VM` (glibc's `clone` calls it on the new stack).
extern "C" fn monitor_entry(arg: *mut libc::c_void) -> c_int {
    // SAFETY: `arg` is the MonitorStart of `start`, alive until the monitor reports.
    let s = unsafe { &*(arg as *const MonitorStart<'_, '_>) };
    monitor::run(s.m, s.ctx, Program::Container(s.plan))
}

fn write_proc(pid: c_int, file: &str, op: &'static str, text: &str) -> Result<()> {
    let path = format!("/proc/{pid}/{file}");
    std::fs::write(&path, text).map_err(|e| Error::os(op, format!("{path}: {}", text.trim()), e))
}

/// Creates a container from `plan`, its cgroup (if it has one) made by the driver
/// [`crate::cgroup::driver`] chooses for it.
pub(crate) fn spawn(plan: &Plan) -> Result<Container> {
    spawn_with(plan, plan.cgroup.as_ref().map(|c| (c, crate::cgroup::driver(c))), hold::StartBy::Now)
}

/// Creates a warm container: set up up to its process, which the parent writes into
/// `late` when it is started (`crate::warm`); cocoon's fds in the child sit at `floor` or
/// above (at least the plan's own floor). Returns the container and the parent's end of
/// the setup socket, over which the start message goes.
pub(crate) fn warm(plan: &Plan, late: &crate::spawn::late::Block, floor: c_int) -> Result<Spawned> {
    let driver = plan.cgroup.as_ref().map(|c| (c, crate::cgroup::driver(c)));
    spawn_inner(plan, driver, hold::StartBy::Now, Some((late, floor)))
}

/// Creates a container held before its program's exec, started by [`Container::start`]
/// or over a socket ([`hold::StartBy`]).
pub(crate) fn create(plan: &Plan, start: hold::StartBy<'_>) -> Result<Container> {
    spawn_with(plan, plan.cgroup.as_ref().map(|c| (c, crate::cgroup::driver(c))), start)
}

/// [`spawn`] with the plan's cgroup configuration `driver.0` made by `driver.1` (`None`
/// exactly when the plan has no cgroup). Everything here uses the cgroup only through
/// [`ContainerCgroup`].
fn spawn_with(
    plan: &Plan,
    driver: Option<(&CgroupConfig, &dyn CgroupDriver)>,
    start_by: hold::StartBy<'_>,
) -> Result<Container> {
    spawn_inner(plan, driver, start_by, None).map(|s| s.container)
}

/// A new container, with what a warm one needs later.
pub(crate) struct Spawned {
    pub(crate) container: Container,
    /// The parent's end of the setup socket.
    pub(crate) sock: OwnedFd,
    /// The exec helper's first three arguments (marker, setup socket, exec label).
    pub(crate) helper_prefix: [std::ffi::CString; 3],
}

/// [`spawn_with`], or a warm container when `warm` gives its block and fd floor.
fn spawn_inner(
    plan: &Plan,
    driver: Option<(&CgroupConfig, &dyn CgroupDriver)>,
    start_by: hold::StartBy<'_>,
    warm: Option<(&crate::spawn::late::Block, c_int)>,
) -> Result<Spawned> {
    // Every fd cocoon keeps in the child sits above this, so that placing the passed fds
    // cannot overwrite one (a warm container's fds are known only at its start).
    let floor = warm.map_or(plan.process.fd_floor, |(_, f)| f);
    let id = match &plan.id {
        Some(id) => id.clone(),
        None => format!("cocoon-{}-{}", std::process::id(), NEXT_ID.fetch_add(1, Ordering::Relaxed)),
    };
    let mut selinux: SelinuxPlan = match &plan.selinux {
        Some(cfg) => cfg.prepare(&id)?,
        None => SelinuxPlan::default(),
    };
    if let Some(label) = &selinux.file_label {
        for (src, sharing) in &plan.relabels {
            crate::selinux::relabel(src, label, crate::selinux::Recursive::Yes, *sharing)?;
        }
    } else {
        // SELinux off: still refuse system directories, so a configuration does not
        // become dangerous on the day SELinux is turned on.
        for (src, _) in &plan.relabels {
            crate::selinux::label::check_relabel_path(src)?;
        }
    }
    if let Some(n) = &plan.net {
        crate::net::precheck(n)?;
    }
    // An image's fresh writable layer (removed again if the spawn fails) and the root
    // overlay that uses it.
    let writable = match &plan.image_root {
        Some(img) => Some(crate::image::WritableLayer::create(&img.store, &id, &img.image, img.keep_upper)?),
        None => None,
    };
    let own_root = writable.as_ref().map(|w| plan.root_for(&w.upper(), &w.work())).transpose()?;
    let mut cgroup = CgroupGuard(driver.map(|(cfg, d)| d.create(cfg, &id)).transpose()?);
    // The socket a created container is started over (and what the handle keeps of it).
    let hold = hold::Hold::new(start_by, floor)?;
    let (log, created_log) = match plan.process.log.as_ref().map(log::PreparedLog::open).transpose()? {
        Some((l, c)) => (Some(l), Some(c)),
        None => (None, None),
    };
    let mut stdio = StdioFds::new(&plan.process.stdio)?;
    if let Some(l) = &log {
        // The log takes stdout and stderr: the program writes into the monitor's pipes.
        stdio.log_into(&l.writes);
    }
    let (psock, csock) = socketpair()?;
    let csock = hold::above(csock, floor)?;
    let pass_raw: Vec<c_int> = plan.process.fds.iter().map(|(fd, _)| fd.as_raw_fd()).collect();
    let join_files = plan
        .joins
        .iter()
        .map(|(flag, path)| {
            std::fs::File::open(path)
                .map(|f| (OwnedFd::from(f), *flag))
                .map_err(|e| Error::os("open namespace", path.display().to_string(), e))
        })
        .collect::<Result<Vec<_>>>()?;
    let join_raw: Vec<(c_int, c_int)> = join_files.iter().map(|(f, flag)| (f.as_raw_fd(), *flag)).collect();
    let into = cgroup.0.as_ref().and_then(|c| c.clone_into_fd());
    // Without parent-side work between clone and setup, skip the READY/GO round trip.
    let handshake = plan.uid_map.is_some()
        || plan.time_offsets.is_some()
        || (cgroup.0.is_some() && into.is_none())
        || plan.process.oom_score_adj.is_some()
        || plan.net.is_some();
    let helper = Invocation::new(
        &plan.process.helper_tail,
        floor,
        csock.as_raw_fd(),
        hold.child_fd(),
        selinux.exec_label.as_deref(),
        plan.init,
    )?;
    let helper_prefix = helper.prefix().map(|c| c.to_owned());
    let ctx = ChildCtx {
        sock: csock.as_raw_fd(),
        parent_sock: psock.as_raw_fd(),
        stdio: stdio.child_raw,
        pass_fds: &pass_raw,
        exec_label: selinux.exec_label.as_deref(),
        mount_label: selinux.mount_label.as_deref(),
        join_pidfd: -1,
        join_flags: 0,
        join_fds: &join_raw,
        handshake,
        hold: hold.child_fd(),
        helper: &helper,
        root: own_root.as_ref(),
        late: warm.map(|(b, _)| b.late()),
    };
    let describe = |s: Stage, i: u32| plan.describe(s, i);
    let started = start(
        plan.clone_flags,
        plan.direct_child,
        into.unwrap_or(-1),
        cgroup.0.as_deref(),
        &ctx,
        Program::Container(plan),
        "new container",
        describe,
        log.as_ref().map_or(crate::child::logwrite::LogCtx::NONE, |l| l.ctx()),
    );
    // The monitor has its own copies of the log's fds (or failed): ours go.
    drop(log);
    drop(csock);
    drop(join_files);
    let mut hold = hold.close_child_side();
    stdio.close_child_side();
    let guard = ChildGuard(Some(started?));
    let pid = guard.pid();

    // Dropped (veth and lease removed) if anything below fails.
    let net = if handshake {
        parent_setup(plan, pid, &psock, cgroup.0.as_deref().filter(|_| into.is_none()), describe)?
    } else {
        None
    };
    if let Some((cfg, d)) = driver {
        // What callers killed before their teardown left behind goes at the first spawn,
        // while the child sets itself up (off the critical path on a multi-core host).
        d.sweep_once(cfg.get_parent());
    }
    if let Some(n) = &plan.net {
        // Leases (and host veths) that killed callers left, once per process.
        crate::net::sweep_once(n);
    }
    let mut listener = None;
    match proto::recv_end(&psock, &mut listener)? {
        Msg::Eof if !hold.holds() && warm.is_none() => {}
        Msg::Report(r, _) if r.kind == hold::REPORT_HELD && hold.holds() => {}
        Msg::Report(r, _) if r.kind == proto::REPORT_PREPARED && warm.is_some() => {}
        Msg::Eof => {
            return Err(Error::os(
                "create",
                "the container ended before it was held",
                std::io::Error::from_raw_os_error(libc::ECHILD),
            ))
        }
        Msg::Report(r, _) => {
            let e = setup_error(&r, describe);
            return Err(with_selinux_hint(e, selinux.exec_label.is_some(), plan.process.no_new_privs));
        }
    }
    let main = guard.disarm();
    if let Some(c) = created_log {
        c.keep();
    }
    if let Some(r) = selinux.reservation.as_mut() {
        // The level stays held while the container lives, even if this process dies.
        let _ = r.set_owner_pid(pid);
    }
    let c = Container::new(id, main, plan, cgroup.take(), selinux, stdio.parent, net)
        .with_writable(writable)
        .with_held(hold.take_started(plan))
        .with_supervisor(listener.map(crate::supervisor::Supervisor::from_fd));
    Ok(Spawned { container: c, sock: psock, helper_prefix })
}

/// The parent's part between the child's READY and GO: time offsets, id maps, cgroup
/// attachment (v1/hybrid), oom_score_adj and bridge networking, all before the child
/// goes on. Returns the network attachment, if any.
fn parent_setup(
    plan: &Plan,
    pid: c_int,
    psock: &OwnedFd,
    attach: Option<&dyn ContainerCgroup>,
    describe: impl Fn(Stage, u32) -> String,
) -> Result<Option<crate::net::Attachment>> {
    match recv(psock)? {
        Msg::Report(r, _) if r.kind == REPORT_READY => {}
        Msg::Report(r, _) if r.kind == REPORT_ERROR => return Err(setup_error(&r, describe)),
        _ => {
            return Err(Error::os(
                "setup",
                "child exited before it was ready",
                std::io::Error::from_raw_os_error(libc::ECHILD),
            ))
        }
    }
    if let Some(off) = &plan.time_offsets {
        write_proc(pid, "timens_offsets", "write timens_offsets", off)?;
    }
    if let Some(h) = &plan.id_helpers {
        crate::subids::run_helper(&h.newuidmap, pid, &h.uid_map)?;
        crate::subids::run_helper(&h.newgidmap, pid, &h.gid_map)?;
    } else if let (Some(uid), Some(gid)) = (&plan.uid_map, &plan.gid_map) {
        if plan.setgroups_deny {
            write_proc(pid, "setgroups", "write setgroups", "deny")?;
        }
        write_proc(pid, "uid_map", "write uid_map", uid)?;
        write_proc(pid, "gid_map", "write gid_map", gid)?;
    }
    if let Some(cg) = attach {
        cg.attach(pid)?;
    }
    if let Some(adj) = plan.process.oom_score_adj {
        write_proc(pid, "oom_score_adj", "write oom_score_adj", &adj.to_string())?;
    }
    let net = plan.net.as_ref().map(|n| crate::net::attach(n, pid)).transpose()?;
    send_go(psock)?;
    Ok(net)
}
