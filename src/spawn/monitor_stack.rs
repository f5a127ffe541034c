//! The stack of a monitor that shares the caller's memory (`CLONE_VM`, see
//! `spawn::start`), and keeping it mapped for exactly as long as the monitor may run.
//!
//! The caller owns the mapping: it is unmapped once the monitor has been reaped. A monitor
//! that outlives its handle (a detached container, or a handle dropped without reaping)
//! keeps its stack in [`LEFT`] with a pidfd, and a later start frees it once that pidfd
//! says the monitor has ended.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Mutex;

use crate::child::logwrite::LogStatus;
use crate::error::{Error, Result};

/// Stacks whose monitors may still run.
static LEFT: Mutex<Vec<(OwnedFd, MonitorStack)>> = Mutex::new(Vec::new());

/// One mapped stack, with an inaccessible guard page below it.
#[derive(Debug)]
pub(crate) struct MonitorStack {
    base: *mut libc::c_void,
    len: usize,
}

// SAFETY: a private anonymous mapping that only this value refers to (the monitor runs on
// it, but never after the value's owner has seen the monitor end).
unsafe impl Send for MonitorStack {}
// SAFETY: as above; `&MonitorStack` only exposes the top address.
unsafe impl Sync for MonitorStack {}

/// The program's process starts on (a copy of) this stack and runs its whole setup on
/// it; pages are only allocated when touched, so the size costs address space only.
const SIZE: usize = 2 << 20;
const GUARD: usize = 4096;
/// Bytes at the very top kept out of the stack: the monitor's [`LogStatus`], which the
/// caller reads while the monitor runs (and which lives exactly as long as the stack).
const STATUS: usize = 64;
const _: () = assert!(std::mem::size_of::<LogStatus>() <= STATUS);

impl MonitorStack {
    pub(crate) fn new() -> Result<MonitorStack> {
        reclaim();
        let len = SIZE + GUARD;
        // SAFETY: a new private anonymous mapping; checked below.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(Error::last_os("mmap", "monitor stack"));
        }
        let stack = MonitorStack { base, len };
        // SAFETY: the lowest page of our own mapping.
        if unsafe { libc::mprotect(base, GUARD, libc::PROT_NONE) } != 0 {
            return Err(Error::last_os("mprotect", "monitor stack guard page"));
        }
        Ok(stack)
    }

    /// The initial stack pointer (16-byte aligned: the mapping is page aligned), below
    /// the status area.
    pub(crate) fn top(&self) -> *mut libc::c_void {
        // SAFETY: within our own mapping (len > STATUS), as a stack top.
        unsafe { self.base.cast::<u8>().add(self.len - STATUS).cast() }
    }

    /// The log status area at the top of the mapping (zeroed by mmap: no loss, no errno).
    pub(crate) fn status(&self) -> &LogStatus {
        // SAFETY: STATUS bytes at the page-aligned top of our mapping, zero-initialised,
        // which is a valid LogStatus (atomics); only read and written through atomics.
        unsafe { &*self.base.cast::<u8>().add(self.len - STATUS).cast::<LogStatus>() }
    }

    /// Keeps the stack mapped until the monitor behind `pidfd` has ended.
    pub(crate) fn leave(self, pidfd: &OwnedFd) {
        match pidfd.try_clone() {
            Ok(fd) => LEFT.lock().unwrap_or_else(|p| p.into_inner()).push((fd, self)),
            // Without a pidfd to watch, never unmap it: a leak, not a crash.
            Err(_) => std::mem::forget(self),
        }
    }
}

impl Drop for MonitorStack {
    fn drop(&mut self) {
        // SAFETY: our own mapping, which nothing runs on any more (see the module comment).
        unsafe { libc::munmap(self.base, self.len) };
    }
}

/// Frees the stacks of monitors that have ended (one `poll` each: a host with many
/// detached containers pays microseconds, not a scan of /proc).
fn reclaim() {
    let Ok(mut left) = LEFT.try_lock() else { return };
    let mut i = 0;
    while i < left.len() {
        let mut p = libc::pollfd { fd: left[i].0.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one pollfd on the stack, no wait.
        let ended = unsafe { libc::poll(&mut p, 1, 0) } == 1 && p.revents & libc::POLLIN != 0;
        if ended {
            drop(left.swap_remove(i));
        } else {
            i += 1;
        }
    }
}
