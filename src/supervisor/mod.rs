//! A seccomp supervisor: chosen syscalls of a container's program are handed to the caller
//! (seccomp user notification, `SECCOMP_RET_USER_NOTIF`), who inspects each and answers it.
//!
//! [`Notify`] on a [`crate::Process`] names the syscalls. The child installs a filter that
//! returns `USER_NOTIF` for them (with `SECCOMP_FILTER_FLAG_NEW_LISTENER`) as its last
//! filter before the exec helper, sends the listener fd over the setup socket and closes its
//! copy; the caller takes it from the container as a [`Supervisor`]
//! ([`crate::Container::take_seccomp_supervisor`]). Each call then blocks in the kernel until
//! the supervisor answers with an errno, a return value, or "continue" ([`Response`]).
//!
//! What the kernel guarantees and what it leaves to the supervisor:
//! - When every copy of the listener is closed (the supervisor died or dropped it), pending
//!   and future notified calls fail with `ENOSYS`: nothing hangs on a dead supervisor.
//! - A request names a pid that may have died and been reused by the time the supervisor
//!   looks at it: [`Supervisor::read_memory`] opens `/proc/<pid>/mem` and only then checks
//!   that the request is still valid (`SECCOMP_IOCTL_NOTIF_ID_VALID`), so the memory read is
//!   that of the process that made the call.
//! - [`Response::Continue`] lets the kernel run the call as made. The caller's memory can
//!   change between the supervisor's read and the kernel's, so "continue" must not be a
//!   security decision about pointer arguments; a supervisor that allows something should
//!   do it itself (e.g. enter the container's mount namespace and mount) and answer
//!   [`Response::Value`].
//!
//! Other filters stack with this one: where the default policy or a deny-list refuses a
//! call, the refusal wins (the kernel prefers `ERRNO` over `USER_NOTIF`). The syscalls that
//! cocoon's exec helper makes before the program starts cannot be notified (the spawn waits
//! for the helper's exec, and nobody could answer yet): [`Notify::validate`] refuses them.

mod filter;
mod listener;

pub use listener::{Received, Request, Response, Supervisor};

use std::collections::BTreeSet;

use crate::error::{Error, Result};

/// The syscalls a container's program hands to a [`Supervisor`] (numbers of the running
/// architecture, `libc::SYS_*`). Syscalls of other ABIs are handled as the default policy
/// says: x32 numbers fail with `ENOSYS`, any other architecture's call kills the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    syscalls: BTreeSet<i64>,
}

/// What cocoon's exec helper (`src/helper/helper.c`) and the child's last steps call after
/// the filter is installed: a notification of one of them would block the spawn forever.
const HELPER_SYSCALLS: &[(&str, i64)] = &[
    ("read", libc::SYS_read),
    ("write", libc::SYS_write),
    ("close", libc::SYS_close),
    ("close_range", libc::SYS_close_range),
    ("openat", libc::SYS_openat),
    ("openat2", libc::SYS_openat2),
    ("fstatfs", libc::SYS_fstatfs),
    ("fcntl", libc::SYS_fcntl),
    ("prctl", libc::SYS_prctl),
    ("sendto", libc::SYS_sendto),
    ("recvfrom", libc::SYS_recvfrom),
    ("accept4", libc::SYS_accept4),
    ("getsockopt", libc::SYS_getsockopt),
    ("execve", libc::SYS_execve),
    ("execveat", libc::SYS_execveat),
    ("clone", libc::SYS_clone),
    ("clone3", libc::SYS_clone3),
    ("wait4", libc::SYS_wait4),
    ("kill", libc::SYS_kill),
    ("rt_sigaction", libc::SYS_rt_sigaction),
    ("rt_sigprocmask", libc::SYS_rt_sigprocmask),
    ("rt_sigtimedwait", libc::SYS_rt_sigtimedwait),
    ("rt_sigreturn", libc::SYS_rt_sigreturn),
    ("exit", libc::SYS_exit),
    ("exit_group", libc::SYS_exit_group),
];

/// More than this many syscalls is refused: the filter is checked one number at a time.
pub const MAX_NOTIFY_SYSCALLS: usize = 256;

impl Notify {
    /// Hands `syscalls` to the supervisor.
    pub fn syscalls(syscalls: impl IntoIterator<Item = i64>) -> Notify {
        Notify { syscalls: syscalls.into_iter().collect() }
    }

    /// The notified syscall numbers, ascending.
    pub fn syscall_numbers(&self) -> impl Iterator<Item = i64> + '_ {
        self.syscalls.iter().copied()
    }

    /// Refuses an empty set, numbers that are no syscall, more than
    /// [`MAX_NOTIFY_SYSCALLS`], and the exec helper's syscalls (see the module docs).
    pub fn validate(&self) -> Result<()> {
        const FIELD: &str = "seccomp notify";
        if self.syscalls.is_empty() {
            return Err(Error::invalid(FIELD, "names no syscall"));
        }
        if self.syscalls.len() > MAX_NOTIFY_SYSCALLS {
            return Err(Error::invalid(
                FIELD,
                format!("{} syscalls (at most {MAX_NOTIFY_SYSCALLS})", self.syscalls.len()),
            ));
        }
        if let Some(n) = self.syscalls.iter().find(|n| !(0..1024).contains(*n)) {
            return Err(Error::invalid(FIELD, format!("{n} is not a syscall number")));
        }
        if let Some((name, _)) = HELPER_SYSCALLS.iter().find(|(_, n)| self.syscalls.contains(n)) {
            return Err(Error::invalid(
                FIELD,
                format!("{name} cannot be notified: cocoon's exec helper calls it before the program starts"),
            ));
        }
        Ok(())
    }

    /// The filter, compiled for the running architecture.
    pub(crate) fn compile(&self) -> Result<Vec<seccompiler::sock_filter>> {
        self.validate()?;
        filter::program(&self.syscalls).map_err(|e| Error::invalid("seccomp notify", e))
    }
}
