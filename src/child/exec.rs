//! Process setup in the child: exec into a running container, stdio and fd wiring,
//! rlimits, keyring, seccomp, ids and capabilities, cwd, and the exec of the helper.

use libc::{c_int, c_uint};

use super::fs::IN_ROOT;
use super::{fail_exit, new_session, reset_signals, wait_go, At, ChildCtx, Fail, Step};
use crate::error::Stage;
use crate::plan::ProcessPlan;
use crate::spawn::proto::{recv_start, MAX_START_FDS, REPORT_PREPARED};
use crate::sys::{self, SysResult};
use crate::spawn::late::Late;

/// The program's side of exec into a running container: the monitor has joined the
/// container's namespaces and cloned us into its PID namespace. Wires stdio, drops every
/// host fd it does not need, waits for the caller to attach the cgroup, then execs.
pub(crate) fn run_joined(p: &ProcessPlan, ctx: &ChildCtx<'_>) -> ! {
    reset_signals();
    let r = new_session()
        .and_then(|()| wire_stdio(p.fd_floor, p.fds.iter().map(|(_, t)| *t), ctx))
        // Close every host fd except stdio, passed fds, the setup socket and the helper.
        .and_then(|()| close_except(&p.keep_fds, &[ctx.sock, ctx.hold, ctx.helper.fd()], false).at(Stage::CloseFds, 0))
        .and_then(|()| wait_go(ctx.sock));
    let f = match r {
        Ok(()) => match exec_process(p, ctx, None) {
            Ok(f) | Err(f) => f,
        },
        Err(f) => f,
    };
    fail_exit(ctx.sock, f)
}

/// A warm container, set up up to its process: reports PREPARED, waits for the start
/// message (stdio and passed fds; the process itself is in `late`), then goes on as any
/// container's first process. EOF instead: the container was let go, exit quietly.
pub(crate) fn await_start(p: &ProcessPlan, ctx: &ChildCtx<'_>, late: &Late) -> Step<Fail> {
    // This copy of the caller may wait long: keep no copy of the caller's fds (another
    // container's stdout pipe, say, would never see EOF while a warm one holds it).
    let [a, b, c] = ctx.stdio;
    close_except(&[], &[ctx.sock, ctx.helper.fd(), a, b, c], false).at(Stage::CloseFds, 2)?;
    // The steps that depend only on the plan go before the hold, so a start does not pay
    // for them: keyring, no_new_privs, the default seccomp programs (and a profile's
    // programs that must be installed while CAP_SYS_ADMIN is held). The hold itself
    // (recvmsg) and the rest of the process step are allowed by them.
    keyring_and_seccomp(p, ctx)?;
    super::send_report(ctx.sock, &super::Report { kind: REPORT_PREPARED, ..super::Report::default() });
    let mut fds = [-1 as c_int; MAX_START_FDS];
    let n = match recv_start(ctx.sock, &mut fds) {
        Ok(Some(n)) => n,
        Ok(None) => sys::exit(0),
        Err(errno) => return Err(Fail { stage: Stage::Sync, index: 1, errno }),
    };
    if n != late.fd_count() {
        return Err(Fail { stage: Stage::Sync, index: 2, errno: libc::EPROTO });
    }
    let mut stdio = ctx.stdio;
    let mut k = 0usize;
    for (i, slot) in stdio.iter_mut().enumerate() {
        if late.stdio_mask & (1 << i) != 0 {
            *slot = fds.get(k).copied().unwrap_or(-1);
            k += 1;
        }
    }
    let pass = fds.get(k..n).unwrap_or(&[]);
    let started = ChildCtx { stdio, pass_fds: pass, ..*ctx };
    exec_process(p, &started, Some(late))
}

/// Puts the stdio and passed fds at their numbers (`targets`, in the order of
/// `ctx.pass_fds`). Sources are first parked above every target (at `floor`) so that no
/// dup2 overwrites a source still needed.
fn wire_stdio(floor: c_int, targets: impl Iterator<Item = c_int>, ctx: &ChildCtx<'_>) -> Step {
    let mut parked = [-1 as c_int; 3];
    for (i, fd) in ctx.stdio.iter().enumerate() {
        if *fd >= 0 {
            // SAFETY: dup of an fd we hold.
            let d = unsafe { libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, floor) };
            if d < 0 {
                return Err(Fail { stage: Stage::Stdio, index: i as u32, errno: sys::last_errno() });
            }
            if let Some(slot) = parked.get_mut(i) {
                *slot = d;
            }
        }
    }
    for (i, d) in parked.iter().enumerate() {
        if *d >= 0 {
            // SAFETY: dup2 onto 0..2; the new fd is not close-on-exec.
            if unsafe { libc::dup2(*d, i as c_int) } < 0 {
                return Err(Fail { stage: Stage::Stdio, index: i as u32, errno: sys::last_errno() });
            }
            sys::close(*d);
        }
    }
    // Passed fds: park all, then place. (At most a handful; a fixed stack array bounds it.)
    let mut pass_parked = [-1 as c_int; crate::plan::MAX_PASSED_FDS];
    for (j, fd) in ctx.pass_fds.iter().enumerate() {
        // SAFETY: dup of an fd we hold.
        let d = unsafe { libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, floor) };
        if d < 0 {
            return Err(Fail { stage: Stage::Stdio, index: j as u32, errno: sys::last_errno() });
        }
        match pass_parked.get_mut(j) {
            Some(slot) => *slot = d,
            None => return Err(Fail { stage: Stage::Stdio, index: j as u32, errno: libc::EMFILE }),
        }
    }
    for (target, d) in targets.zip(pass_parked.iter()) {
        // SAFETY: dup2 onto the requested number; the new fd is not close-on-exec.
        if unsafe { libc::dup2(*d, target) } < 0 {
            return Err(Fail { stage: Stage::Stdio, index: target as u32, errno: sys::last_errno() });
        }
        sys::close(*d);
    }
    Ok(())
}

/// Closes (or marks close-on-exec, with `cloexec`) every fd from 3 up except the passed
/// fd targets and `extra`.
fn close_except(keep_fds: &[u32], extra: &[c_int], cloexec: bool) -> SysResult<()> {
    let flags = if cloexec { libc::CLOSE_RANGE_CLOEXEC } else { 0 };
    let mut next: c_uint = 3;
    // Walk the sorted keep-list merged with `extra` without allocating: repeatedly pick
    // the smallest kept fd >= next.
    loop {
        let mut keep: Option<c_uint> = None;
        for k in keep_fds.iter().copied().chain(extra.iter().filter(|e| **e >= 0).map(|e| *e as c_uint)) {
            if k >= next && keep.is_none_or(|m| k < m) {
                keep = Some(k);
            }
        }
        match keep {
            Some(k) => {
                if k > next {
                    sys::close_range(next, k - 1, flags)?;
                }
                next = k + 1;
            }
            None => return sys::close_range(next, c_uint::MAX, flags),
        }
    }
}

/// Applies the process settings and execs the program. Returns only on failure. A warm
/// container's `late` process replaces the plan's ids, cwd, rlimits, umask, fds,
/// environment and argv; everything else (capabilities, seccomp, no_new_privs, Landlock,
/// the exec label) is the plan's.
pub(crate) fn exec_process(p: &ProcessPlan, ctx: &ChildCtx<'_>, late: Option<&Late>) -> Step<Fail> {
    let rlimits = late.map_or(&p.rlimits[..], |l| l.rlimits());
    let (uid, gid, groups) = late.map_or((p.uid, p.gid, &p.groups[..]), |l| (l.uid, l.gid, l.groups()));
    let cwd_path = late.map_or(p.cwd.as_ptr(), |l| l.cwd);
    let umask = match late {
        Some(l) if l.umask != u32::MAX => Some(l.umask),
        Some(_) => None,
        None => p.umask,
    };
    let keep_fds = late.map_or(&p.keep_fds[..], |l| l.keep());
    for (i, r) in rlimits.iter().enumerate() {
        // SAFETY: prlimit64 on ourselves with a valid rlimit64.
        if unsafe { libc::prlimit64(0, r.resource as _, &r.value, std::ptr::null_mut()) } != 0 {
            return Err(Fail { stage: Stage::Rlimit, index: i as u32, errno: sys::last_errno() });
        }
    }
    if ctx.join_pidfd < 0 {
        match late {
            Some(l) => wire_stdio(l.fd_floor, l.fd_targets().iter().copied(), ctx)?,
            None => wire_stdio(p.fd_floor, p.fds.iter().map(|(_, t)| *t), ctx)?,
        }
    }
    if late.is_none() {
        // A warm container did this before its hold (`await_start`).
        keyring_and_seccomp(p, ctx)?;
    }
    // Capabilities: bounding set first (needs CAP_SETPCAP), then ids with KEEPCAPS so the
    // permitted set survives setuid, then the exact sets.
    for cap in 0..=p.last_cap {
        if p.caps.bounding.0 & (1u64 << cap) == 0 {
            match sys::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0) {
                Ok(_) | Err(libc::EINVAL) => {}
                Err(e) => return Err(Fail { stage: Stage::CapBounding, index: cap, errno: e }),
            }
        }
    }
    sys::prctl(libc::PR_SET_KEEPCAPS, 1, 0).at(Stage::Capabilities, 0)?;
    // Raw syscalls: glibc's set*id wrappers would signal the parent's other threads.
    // SAFETY: plain syscalls with valid pointers into the plan.
    unsafe {
        if p.set_groups && libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) != 0 {
            return Err(Fail { stage: Stage::Groups, index: 0, errno: sys::last_errno() });
        }
        if libc::syscall(libc::SYS_setresgid, gid, gid, gid) != 0 {
            return Err(Fail { stage: Stage::SetGid, index: 0, errno: sys::last_errno() });
        }
        if libc::syscall(libc::SYS_setresuid, uid, uid, uid) != 0 {
            return Err(Fail { stage: Stage::SetUid, index: 0, errno: sys::last_errno() });
        }
    }
    sys::prctl(libc::PR_SET_KEEPCAPS, 0, 0).at(Stage::Capabilities, 0)?;
    sys::capset(p.caps.effective.0, p.caps.permitted.0, p.caps.inheritable.0).at(Stage::Capabilities, 0)?;
    sys::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong, 0)
        .at(Stage::AmbientCapabilities, 0)?;
    for cap in 0..=p.last_cap {
        if p.caps.ambient.0 & (1u64 << cap) != 0 {
            sys::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong, cap as libc::c_ulong)
                .at(Stage::AmbientCapabilities, cap as usize)?;
        }
    }
    // The cwd is resolved in-root without magic links: a `/proc/self/fd/N` cwd cannot
    // reach a leaked host fd (CVE-2024-21626).
    let cwd = sys::openat2(libc::AT_FDCWD, cwd_path, libc::O_PATH | libc::O_DIRECTORY, 0, IN_ROOT).at(Stage::Cwd, 0)?;
    // SAFETY: fchdir on the fd just opened.
    let r = unsafe { libc::fchdir(cwd) };
    sys::close(cwd);
    if r != 0 {
        return Err(Fail { stage: Stage::Cwd, index: 0, errno: sys::last_errno() });
    }
    // SAFETY: umask is async-signal-safe.
    unsafe { libc::umask(umask.unwrap_or(0o022) as libc::mode_t) };
    // Every fd not passed on is closed at exec, except the setup socket: the helper makes
    // it close-on-exec right before the program's exec (EOF tells the parent that the
    // program runs) or reports over it that no candidate could be executed. The helper's
    // own fd is close-on-exec already.
    close_except(keep_fds, &[ctx.sock, ctx.hold], true).at(Stage::CloseFds, 0)?;
    for fd in [ctx.sock, ctx.hold] {
        // SAFETY: clearing FD_CLOEXEC on our sockets (created close-on-exec) for the helper.
        if fd >= 0 && unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } != 0 {
            return Err(Fail { stage: Stage::CloseFds, index: 1, errno: sys::last_errno() });
        }
    }
    // Landlock after everything that opens files by path (cwd, the keyring's attr file)
    // and before the user's seccomp deny-list, which may refuse the landlock syscalls.
    // It does not restrict the helper's exec (a memfd on an internal mount); the plan
    // gave the program's PATH candidates EXECUTE.
    if let Some(l) = &p.landlock {
        super::landlock::apply(l)?;
    }
    if let Some(prog) = &p.seccomp {
        // Last, so that only the helper runs under the user's deny-list.
        install_seccomp(prog, 0).at(Stage::Seccomp, 0)?;
    }
    if p.no_new_privs {
        install_programs(p)?;
    }
    if let Some(prog) = &p.seccomp_notify {
        // Last of all: from here on only the helper runs, and none of its calls is notified
        // (`Notify::validate`), so the spawn never waits on a supervisor that cannot answer yet.
        let index = crate::plan::SECCOMP_NOTIFY_INDEX as usize;
        let fd = install_seccomp_fd(prog, libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32).at(Stage::Seccomp, index)?;
        super::send_with_fd(ctx.sock, &super::Report { kind: super::REPORT_LISTENER, ..super::Report::default() }, fd);
        sys::close(fd);
    }
    // CVE-2019-5736 class: never exec the program from this copy of the host, where
    // /proc/self/exe is the host's binary (a `#!/proc/self/exe` script or PT_INTERP
    // would run it inside). The sealed helper writes the SELinux exec label (so the
    // domain transition happens at the program's exec), tries each PATH candidate, and
    // in `cocoon-init` mode stays as PID 1.
    let errno = match late {
        Some(l) => ctx.helper.exec_argv(l.helper_argv, l.envp),
        None => ctx.helper.exec(p.envp.as_ptr()),
    };
    Ok(Fail { stage: Stage::Exec, index: crate::helper::HELPER_INDEX, errno })
}

/// The session keyring, no_new_privs and the seccomp programs installed while
/// privileges are still held.
fn keyring_and_seccomp(p: &ProcessPlan, ctx: &ChildCtx<'_>) -> Step {
    join_session_keyring(ctx.exec_label)?;
    // no_new_privs only matters at execve, so it can be set this early; with it the
    // filter below needs no CAP_SYS_ADMIN either.
    if p.no_new_privs {
        sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0).at(Stage::NoNewPrivs, 0)?;
    }
    // The default profile (no keyrings, no new namespaces, Docker's allowlist) goes on
    // right after the last keyctl and before privileges are dropped, so it needs neither
    // no_new_privs nor a retained CAP_SYS_ADMIN; it allows every call the remaining
    // steps and the exec helper make.
    if let Some(progs) = &p.default_seccomp {
        for (i, prog) in progs.filters.iter().enumerate() {
            install_seccomp(prog, progs.flags).at(Stage::Seccomp, crate::plan::SECCOMP_DEFAULT_INDEX as usize + i)?;
        }
    }
    // A profile without no_new_privs can only be installed while CAP_SYS_ADMIN is held.
    if !p.no_new_privs {
        install_programs(p)?;
    }
    Ok(())
}

/// Writes an SELinux attribute of this thread (`exec`, `keycreate`) through
/// /proc/thread-self/attr/, after checking that the file is on a real procfs
/// (CVE-2019-16884 class) — this runs after pivot_root, so /proc is the procfs cocoon
/// mounted, but a bind or image trick must still not redirect it.
fn write_attr(path: &std::ffi::CStr, label: &std::ffi::CStr) -> SysResult<()> {
    // No magic links; thread-self is an ordinary procfs symlink into the task directory.
    let fd = sys::openat2(libc::AT_FDCWD, path.as_ptr(), libc::O_WRONLY, 0, libc::RESOLVE_NO_MAGICLINKS)?;
    // SAFETY: fstatfs into a zeroed stack struct on a valid fd.
    let mut sfs: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstatfs(fd, &mut sfs) } != 0 || sfs.f_type != sys::PROC_SUPER_MAGIC {
        sys::close(fd);
        return Err(libc::EXDEV);
    }
    let r = sys::write_all(fd, label.to_bytes());
    sys::close(fd);
    r
}

/// Gives the process a new anonymous session keyring, so the container cannot reach
/// the caller's session keys; with SELinux the keyring is created with the container's
/// label (written to attr/keycreate first).
fn join_session_keyring(label: Option<&std::ffi::CStr>) -> Step {
    if let Some(l) = label {
        write_attr(c"/proc/thread-self/attr/keycreate", l).at(Stage::KeyringLabel, 0)?;
    }
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: keyctl with a null name creates and joins an anonymous session keyring.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, std::ptr::null::<libc::c_char>()) };
    if r < 0 {
        let e = sys::last_errno();
        // Keyrings may be unavailable or over quota (e.g. in a user namespace); without
        // a label to apply that only costs isolation the caller did not ask for by name.
        if label.is_some() || !matches!(e, libc::ENOSYS | libc::EDQUOT | libc::EPERM | libc::EACCES) {
            return Err(Fail { stage: Stage::KeyringLabel, index: 1, errno: e });
        }
    }
    Ok(())
}

/// Installs the profile programs, each a `Stage::Seccomp` step of its own (index
/// `SECCOMP_PROGRAM_INDEX + i`).
fn install_programs(p: &ProcessPlan) -> Step {
    if let Some(progs) = &p.seccomp_programs {
        for (i, prog) in progs.filters.iter().enumerate() {
            install_seccomp(prog, progs.flags).at(Stage::Seccomp, crate::plan::SECCOMP_PROGRAM_INDEX as usize + i)?;
        }
    }
    Ok(())
}

/// Installs a compiled seccomp filter (`seccomp(SECCOMP_SET_MODE_FILTER)`).
fn install_seccomp(prog: &[seccompiler::sock_filter], flags: u32) -> SysResult<()> {
    install_seccomp_fd(prog, flags).map(|_| ())
}

/// As [`install_seccomp`], returning what `seccomp` returned (the listener fd with
/// `SECCOMP_FILTER_FLAG_NEW_LISTENER`, else 0).
fn install_seccomp_fd(prog: &[seccompiler::sock_filter], flags: u32) -> SysResult<c_int> {
    #[repr(C)]
    struct SockFprog {
        len: libc::c_ushort,
        filter: *const seccompiler::sock_filter,
    }
    let len = libc::c_ushort::try_from(prog.len()).map_err(|_| libc::EINVAL)?;
    let fprog = SockFprog { len, filter: prog.as_ptr() };
    // SAFETY: fprog points at the plan's filter, alive for the call; seccomp copies it.
    let r = unsafe {
        libc::syscall(libc::SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, flags, &fprog as *const SockFprog)
    };
    if r < 0 {
        Err(sys::last_errno())
    } else {
        Ok(r as c_int)
    }
}
