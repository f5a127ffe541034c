//! The late process of a warm container (`crate::warm`): a `MAP_SHARED` block made before the clone, into
//! which the parent writes what [`super::WarmContainer::start`] was given (ids, cwd,
//! rlimits, fd targets, the environment and the exec helper's argv, as pointer arrays
//! into the block itself). The child, a copy of the caller made after the mapping, sees
//! the block at the same address and reads it in place after the start message: no
//! allocation, no parsing.
//!
//! The child half ([`Late`] and its accessors) runs between clone and exec, under the
//! AUDIT RULES of `src/child/mod.rs`; the parent half ([`Block::write`]) may allocate.

use std::ffi::CStr;

use libc::{c_char, c_int};

use crate::error::{Error, Result};
use crate::plan::{ProcessPlan, RlimitPlan, MAX_PASSED_FDS};

/// Room for the strings and pointer arrays (argv, environment, PATH candidates, groups).
pub(crate) const ARENA: usize = 1 << 20;
/// `prlimit64` resources the kernel knows (`RLIM_NLIMITS`).
const MAX_RLIMITS: usize = 16;

/// The fixed part, at the start of the block.
#[repr(C)]
pub(crate) struct Late {
    pub uid: u32,
    pub gid: u32,
    groups: *const libc::gid_t,
    ngroups: usize,
    rlimits: [RlimitPlan; MAX_RLIMITS],
    nrlimits: usize,
    /// `u32::MAX`: the default umask (022).
    pub umask: u32,
    /// Bit i: stream i comes with the start message (else the prepared one stays).
    pub stdio_mask: u32,
    fd_targets: [c_int; MAX_PASSED_FDS],
    nfds: usize,
    /// The passed fds' targets, sorted (what `close_except` keeps).
    keep: [u32; MAX_PASSED_FDS],
    pub cwd: *const c_char,
    pub envp: *const *const c_char,
    pub helper_argv: *const *const c_char,
    /// Where the child parks fds above every target.
    pub fd_floor: c_int,
}

// ---------------------------------------------------------------------------------------
// Child half: async-signal-safe, under the AUDIT RULES of src/child/mod.rs.
// ---------------------------------------------------------------------------------------

impl Late {
    pub(crate) fn groups(&self) -> &[libc::gid_t] {
        if self.groups.is_null() {
            return &[];
        }
        // SAFETY: the parent wrote `ngroups` ids at `groups`, inside the block.
        unsafe { std::slice::from_raw_parts(self.groups, self.ngroups) }
    }

    pub(crate) fn rlimits(&self) -> &[RlimitPlan] {
        self.rlimits.get(..self.nrlimits).unwrap_or(&[])
    }

    pub(crate) fn fd_targets(&self) -> &[c_int] {
        self.fd_targets.get(..self.nfds).unwrap_or(&[])
    }

    pub(crate) fn keep(&self) -> &[u32] {
        self.keep.get(..self.nfds).unwrap_or(&[])
    }

    /// How many fds the start message carries.
    pub(crate) fn fd_count(&self) -> usize {
        self.stdio_mask.count_ones() as usize + self.nfds
    }
}

// ---------------------------------------------------------------------------------------
// Parent half: runs in the caller, may allocate.
// ---------------------------------------------------------------------------------------

/// The shared mapping: a [`Late`] followed by the arena.
pub(crate) struct Block {
    base: *mut u8,
    len: usize,
}

// SAFETY: the mapping is owned by this value; the parent writes it only through `&mut`,
// and the child reads it in its own address space.
unsafe impl Send for Block {}
// SAFETY: as above: `&Block` only hands out the address.
unsafe impl Sync for Block {}

impl Block {
    pub(crate) fn new() -> Result<Block> {
        let len = std::mem::size_of::<Late>() + ARENA;
        // SAFETY: a fresh anonymous shared mapping; nothing else refers to it.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Error::last_os("mmap", "warm container block"));
        }
        Ok(Block { base: p.cast(), len })
    }

    /// The fixed part (read by the child after the start message).
    pub(crate) fn late(&self) -> &Late {
        // SAFETY: the mapping starts with a Late; zero-filled memory is a valid Late (null
        // pointers, zero counts) until `write` fills it.
        unsafe { &*(self.base as *const Late) }
    }

    /// Writes the late process `pp`: the helper's argv is `prefix` (marker, socket, label)
    /// followed by `pp`'s PATH candidates and argv. `stdio_mask`: the streams that come
    /// with the start message. Checked before anything is written: sizes and fd targets.
    pub(crate) fn write(
        &mut self,
        pp: &ProcessPlan,
        prefix: [&CStr; 3],
        stdio_mask: u32,
        fd_floor: c_int,
    ) -> Result<()> {
        if pp.rlimits.len() > MAX_RLIMITS {
            return Err(Error::invalid("rlimits", format!("{} limits; at most {MAX_RLIMITS}", pp.rlimits.len())));
        }
        if let Some((_, t)) = pp.fds.iter().find(|(_, t)| *t >= fd_floor) {
            return Err(Error::invalid(
                "passed fds",
                format!("fd {t}: a warm container's process gets fds below {fd_floor} only"),
            ));
        }
        let mut arena = Arena { base: self.base, at: std::mem::size_of::<Late>(), end: self.len };
        let n = std::ffi::CString::new(pp.candidates.len().to_string()).unwrap_or_default();
        let mut helper: Vec<&CStr> = prefix.to_vec();
        helper.push(&n);
        helper.extend(pp.candidates.iter().map(|c| c.as_c_str()));
        helper.extend(pp.argv.strings());
        let helper_argv = arena.strings(&helper)?;
        let envp = arena.strings(&pp.envp.strings().collect::<Vec<_>>())?;
        let cwd = arena.bytes(pp.cwd.as_bytes_with_nul())? as *const c_char;
        let groups = arena.bytes(gid_bytes(&pp.groups))? as *const libc::gid_t;
        let mut late = Late {
            uid: pp.uid,
            gid: pp.gid,
            groups,
            ngroups: pp.groups.len(),
            rlimits: [RlimitPlan::NONE; MAX_RLIMITS],
            nrlimits: pp.rlimits.len(),
            umask: pp.umask.unwrap_or(u32::MAX),
            stdio_mask,
            fd_targets: [-1; MAX_PASSED_FDS],
            nfds: pp.fds.len(),
            keep: [0; MAX_PASSED_FDS],
            cwd,
            envp,
            helper_argv,
            fd_floor,
        };
        for (slot, r) in late.rlimits.iter_mut().zip(&pp.rlimits) {
            *slot = *r;
        }
        for (slot, (_, t)) in late.fd_targets.iter_mut().zip(&pp.fds) {
            *slot = *t;
        }
        for (slot, k) in late.keep.iter_mut().zip(&pp.keep_fds) {
            *slot = *k;
        }
        // SAFETY: the mapping starts with room for a Late and is ours to write.
        unsafe { std::ptr::write(self.base as *mut Late, late) };
        Ok(())
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping; the child has its own reference to the pages.
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}

fn gid_bytes(g: &[libc::gid_t]) -> &[u8] {
    // SAFETY: gid_t is plain data; the byte view covers exactly the slice.
    unsafe { std::slice::from_raw_parts(g.as_ptr().cast(), std::mem::size_of_val(g)) }
}

/// A bump allocator over the block's arena (parent side).
struct Arena {
    base: *mut u8,
    at: usize,
    end: usize,
}

impl Arena {
    fn take(&mut self, n: usize, align: usize) -> Result<*mut u8> {
        let start = self.at.next_multiple_of(align);
        if start.checked_add(n).is_none_or(|e| e > self.end) {
            return Err(Error::invalid(
                "process",
                format!("its arguments, environment and PATH candidates take more than the {} KiB a warm container's block holds", ARENA / 1024),
            ));
        }
        self.at = start + n;
        // SAFETY: start + n is within the mapping.
        Ok(unsafe { self.base.add(start) })
    }

    fn bytes(&mut self, b: &[u8]) -> Result<*mut u8> {
        let p = self.take(b.len().max(1), 8)?;
        // SAFETY: `p` has room for b.len() bytes inside the mapping; the ranges cannot overlap.
        unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), p, b.len()) };
        Ok(p)
    }

    /// Copies `strings` and a NULL-terminated pointer array to them.
    fn strings(&mut self, strings: &[&CStr]) -> Result<*const *const c_char> {
        let mut ptrs: Vec<*const c_char> = Vec::with_capacity(strings.len() + 1);
        for s in strings {
            ptrs.push(self.bytes(s.to_bytes_with_nul())? as *const c_char);
        }
        ptrs.push(std::ptr::null());
        let size = std::mem::size_of_val(ptrs.as_slice());
        let p = self.take(size, std::mem::align_of::<*const c_char>())?;
        // SAFETY: room for the array inside the mapping, aligned for pointers.
        unsafe { std::ptr::copy_nonoverlapping(ptrs.as_ptr(), p as *mut *const c_char, ptrs.len()) };
        Ok(p as *const *const c_char)
    }
}
