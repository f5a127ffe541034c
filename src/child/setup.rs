//! Container setup in the child: time/cgroup namespaces, joins, ids, hostname, the new
//! root and pivot_root.

use super::exec::exec_process;
use super::fs::{apply_op, loopback_up, make_source, mask_path, readonly_path, write_sysctls};
use super::{fail_exit, new_session, reset_signals, send_report, wait_go, At, ChildCtx, Fail, Report, Step, REPORT_READY};
use crate::error::Stage;
use crate::plan::Plan;
use crate::sys;

/// Entry point of a new container's first process. Never returns.
pub(crate) fn run_container(plan: &Plan, ctx: &ChildCtx<'_>) -> ! {
    reset_signals();
    match new_session().and_then(|()| setup_container(plan, ctx)) {
        Ok(()) => match ctx.late {
            Some(late) => match super::exec::await_start(&plan.process, ctx, late) {
                Err(f) | Ok(f) => fail_exit(ctx.sock, f),
            },
            None => match exec_process(&plan.process, ctx, None) {
                Err(f) | Ok(f) => fail_exit(ctx.sock, f),
            },
        },
        Err(f) => fail_exit(ctx.sock, f),
    }
}

fn setup_container(plan: &Plan, ctx: &ChildCtx<'_>) -> Step {
    if plan.time_offsets.is_some() {
        // SAFETY: unshare with a flag only; the new time namespace applies to children
        // and to this process after execve.
        if unsafe { libc::unshare(libc::CLONE_NEWTIME) } != 0 {
            return Err(Fail { stage: Stage::TimeNamespace, index: 0, errno: sys::last_errno() });
        }
    }
    if ctx.handshake {
        send_report(ctx.sock, &Report { kind: REPORT_READY, ..Report::default() });
        wait_go(ctx.sock)?;
    }
    if plan.time_offsets.is_some() {
        // The parent has written the offsets; enter the new time namespace now rather
        // than at execve, so that an init and everything it forks share it, and exec
        // into the container (which joins this process's namespaces) sees it too.
        // /proc is still the host's procfs here, not one the image controls.
        // SAFETY: open of a static path.
        let fd = unsafe { libc::open(c"/proc/self/ns/time_for_children".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(Fail { stage: Stage::TimeNamespace, index: 1, errno: sys::last_errno() });
        }
        let r = sys::setns(fd, libc::CLONE_NEWTIME);
        sys::close(fd);
        r.at(Stage::TimeNamespace, 2)?;
    }
    if !ctx.join_fds.is_empty() {
        // CVE-2016-9962 class: nothing in a joined namespace may ptrace us.
        sys::prctl(libc::PR_SET_DUMPABLE, 0, 0).at(Stage::Dumpable, 0)?;
        for (i, (fd, flag)) in ctx.join_fds.iter().enumerate() {
            sys::setns(*fd, *flag).at(Stage::JoinNamespaces, i)?;
            sys::close(*fd);
        }
    }
    if plan.namespaces.contains(crate::namespace::Namespaces::CGROUP) {
        // Now that the parent has put us in our cgroup, it becomes the namespace root.
        // SAFETY: unshare with a flag only.
        if unsafe { libc::unshare(libc::CLONE_NEWCGROUP) } != 0 {
            return Err(Fail { stage: Stage::CgroupNamespace, index: 0, errno: sys::last_errno() });
        }
    }
    if plan.become_root {
        // Raw syscalls: glibc's set*id would try to signal the parent's other threads.
        // SAFETY: plain integer syscalls.
        unsafe {
            if libc::syscall(libc::SYS_setresgid, 0, 0, 0) != 0 || libc::syscall(libc::SYS_setresuid, 0, 0, 0) != 0 {
                return Err(Fail { stage: Stage::UserNamespace, index: 0, errno: sys::last_errno() });
            }
        }
    }
    // Directories and files are created with exactly the modes the plan says.
    // SAFETY: umask is async-signal-safe.
    unsafe { libc::umask(0) };
    if let Some(h) = &plan.hostname {
        // SAFETY: h is NUL-terminated and outlives the call.
        if unsafe { libc::sethostname(h.as_ptr(), h.as_bytes().len()) } != 0 {
            return Err(Fail { stage: Stage::Hostname, index: 0, errno: sys::last_errno() });
        }
    }
    if let Some(d) = &plan.domainname {
        // SAFETY: d is NUL-terminated and outlives the call.
        if unsafe { libc::setdomainname(d.as_ptr(), d.as_bytes().len()) } != 0 {
            return Err(Fail { stage: Stage::Domainname, index: 0, errno: sys::last_errno() });
        }
    }
    sys::mount_flags(c"/".as_ptr(), libc::MS_REC | libc::MS_PRIVATE).at(Stage::MountPropagation, 0)?;
    if !plan.sysctls.is_empty() {
        // Every namespace is final here (joined, unshared, root in a new user namespace).
        write_sysctls(&plan.sysctls)?;
    }

    // The new root, stacked on top of the old "/" in this private namespace: absolute
    // paths still resolve on the old root (host bind sources), while every target is
    // resolved below `root` with RESOLVE_IN_ROOT.
    let root = make_source(ctx.root.unwrap_or(&plan.root), ctx, Stage::Rootfs, 0)?;
    sys::mount_setattr(root, false, plan.root_attrs).at(Stage::Rootfs, 0)?;
    sys::move_mount_to_path(root, c"/".as_ptr()).at(Stage::Rootfs, 0)?;
    for (i, op) in plan.ops.iter().enumerate() {
        apply_op(root, op, ctx, i)?;
    }
    if plan.loopback {
        loopback_up().at(Stage::Loopback, 0)?;
    }
    for (i, p) in plan.masked.iter().enumerate() {
        mask_path(root, p, i)?;
    }
    for (i, p) in plan.readonly.iter().enumerate() {
        readonly_path(root, p, i)?;
    }
    if plan.read_only_root {
        sys::mount_setattr(root, false, sys::MOUNT_ATTR_RDONLY).at(Stage::ReadonlyRoot, 0)?;
    }
    // SAFETY: fchdir on our root fd.
    if unsafe { libc::fchdir(root) } != 0 {
        return Err(Fail { stage: Stage::PivotRoot, index: 3, errno: sys::last_errno() });
    }
    sys::pivot_root(c".".as_ptr(), c".".as_ptr()).at(Stage::PivotRoot, 0)?;
    // The old root is now stacked on "."; detach it so the host is unreachable.
    // SAFETY: umount2 on "." with MNT_DETACH.
    if unsafe { libc::umount2(c".".as_ptr(), libc::MNT_DETACH) } != 0 {
        return Err(Fail { stage: Stage::PivotRoot, index: 1, errno: sys::last_errno() });
    }
    // SAFETY: chdir to a static path.
    if unsafe { libc::chdir(c"/".as_ptr()) } != 0 {
        return Err(Fail { stage: Stage::PivotRoot, index: 2, errno: sys::last_errno() });
    }
    sys::close(root);
    // An init (plan.init) is the exec helper's `cocoon-init` mode: see exec_process.
    Ok(())
}
