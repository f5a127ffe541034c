//! The code that runs in the new process between clone and exec.
//!
//! AUDIT RULES for this module (it runs in a copy of a possibly multithreaded process,
//! where another thread may have held the allocator or any lock at the moment of clone):
//! - only raw syscalls and async-signal-safe libc calls (`sys::*`, `libc::{dup2, fcntl,
//!   sigaction, sigprocmask, execve, ...}`); set-id calls go through `libc::syscall`
//!   because glibc's wrappers signal the (absent) sibling threads and would hang;
//! - no allocation, no `format!`, no `println!`, no locks, no `std::fs`;
//! - no panics: no indexing that can fail, no `unwrap`; every failure is a [`Fail`]
//!   reported to the parent as `(stage, index, errno)`, then `_exit(127)`.
//!
//! Everything used here was computed by the parent in [`crate::plan`].
//!
//! These rules apply to every file of this folder: [`setup`] (namespaces, hostname, root,
//! pivot), [`fs`] (mount sources, in-root resolution, filesystem ops), [`exec`] (stdio,
//! fds, keyring, seccomp, ids and capabilities, the helper's exec), [`landlock`] (the
//! ruleset, applied last before the helper's exec), the child half of
//! `src/spawn/late.rs` (a warm container's late process, read in place), [`logwrite`] (the monitor's log
//! writer) and [`monitor`] (which in
//! addition shares the caller's memory for a new container, so it makes every syscall
//! through `raw`, never touching `errno`, and reads nothing of the caller's after its pid
//! report) — and
//! to the **child half of `src/spawn/proto.rs`** (the wire protocol: [`Report`],
//! `send_report`, `send_error`, `recv_go`, `send_with_fd`), which is audited code too:
//! the protocol's two halves sit in one file so that they change together, and a change
//! to that file's child half is reviewed against these rules.

mod exec;
mod fs;
mod landlock;
pub(crate) mod logwrite;
pub(crate) mod monitor;
pub(crate) mod raw;
mod setup;

use libc::c_int;

use crate::error::Stage;
use crate::spawn::proto;
use crate::sys::{self, Errno, SysResult};

// The child half of the wire protocol (audited under these rules, see above).
pub(crate) use proto::{send_report, send_with_fd, Report, REPORT_ERROR, REPORT_LISTENER, REPORT_PID, REPORT_READY};

pub(crate) use exec::run_joined;
pub(crate) use setup::run_container;

/// A failed step: what, which item, and the errno.
#[derive(Clone, Copy)]
pub(crate) struct Fail {
    stage: Stage,
    index: u32,
    errno: Errno,
}

type Step<T = ()> = Result<T, Fail>;

trait At<T> {
    fn at(self, stage: Stage, index: usize) -> Step<T>;
}

impl<T> At<T> for SysResult<T> {
    #[inline]
    fn at(self, stage: Stage, index: usize) -> Step<T> {
        self.map_err(|errno| Fail { stage, index: index as u32, errno })
    }
}

/// What the parent set up for this one spawn (fds) and the labels for it.
pub(crate) struct ChildCtx<'a> {
    /// The child's end of the setup socket.
    pub sock: c_int,
    /// The parent's end, closed first thing in the child.
    pub parent_sock: c_int,
    /// fds for stdin/stdout/stderr (-1: inherit).
    pub stdio: [c_int; 3],
    /// Raw fds of the passed fds, in the order of `ProcessPlan::fds`.
    pub pass_fds: &'a [c_int],
    /// SELinux label for exec, NUL-terminated.
    pub exec_label: Option<&'a std::ffi::CStr>,
    /// SELinux label for mounts (`context=` option value).
    pub mount_label: Option<&'a std::ffi::CStr>,
    /// For exec: the pidfd of the container whose namespaces are joined.
    pub join_pidfd: c_int,
    /// For exec: the `CLONE_NEW*` flags to join.
    pub join_flags: c_int,
    /// Namespace files to join by path (fd, CLONE_NEW* flag), opened by the parent.
    pub join_fds: &'a [(c_int, c_int)],
    /// Whether the parent has work to do before setup goes on (maps, time offsets, cgroup
    /// attachment, oom_score_adj): then the child reports READY and waits for GO.
    pub handshake: bool,
    /// The socket a created container is started over (-1: start right away). Kept open
    /// across the helper's exec, which holds the program until a byte arrives on it.
    pub hold: c_int,
    /// The exec helper (sealed memfd) the child executes instead of the program.
    pub helper: &'a crate::helper::Invocation<'a>,
    /// The root mount of this spawn, when it differs from the plan's (an image's overlay
    /// with this container's own writable layer).
    pub root: Option<&'a crate::plan::Source>,
    /// A warm container: after pivot_root it reports PREPARED and waits for its process,
    /// which the parent writes here (`src/spawn/late.rs`).
    pub late: Option<&'a crate::spawn::late::Late>,
}

/// Reports `f` to the parent and exits with 127.
pub(crate) fn fail_exit(sock: c_int, f: Fail) -> ! {
    proto::send_error(sock, f.stage, f.index, f.errno);
    sys::exit(127)
}

/// Waits for the parent's go-ahead byte; EOF means the parent gave up.
fn wait_go(sock: c_int) -> Step {
    match proto::recv_go(sock) {
        Ok(true) => Ok(()),
        Ok(false) => sys::exit(1),
        Err(errno) => Err(Fail { stage: Stage::Sync, index: 0, errno }),
    }
}

/// Resets every signal to its default action and unblocks all: the host's handlers and
/// ignored signals (e.g. SIGPIPE in Python) must not leak into the container.
fn reset_signals() {
    // SAFETY: sigaction/sigprocmask are async-signal-safe; the zeroed sigaction is SIG_DFL
    // with an empty mask. Errors (for SIGKILL, SIGSTOP, glibc's internal signals) are
    // expected and ignored.
    unsafe {
        let dfl: libc::sigaction = std::mem::zeroed();
        for sig in 1..65 {
            libc::sigaction(sig, &dfl, std::ptr::null_mut());
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
    }
}

/// A session (and process group) of its own, with no controlling terminal: `kill(0, ..)`
/// inside cannot reach the caller's process group, and the caller's terminal cannot be
/// driven with TIOCSTI (bubblewrap's CVE-2017-5226).
fn new_session() -> Step {
    // SAFETY: setsid has no arguments; a freshly cloned process is never a group leader.
    if unsafe { libc::setsid() } < 0 {
        return Err(Fail { stage: Stage::Session, index: 0, errno: sys::last_errno() });
    }
    Ok(())
}
