//! The exec helper: a tiny static program (`helper.c`, built by `build.rs`) that every
//! container process executes first, from a sealed memfd, before it executes the program.
//!
//! Why: until its first exec a container process is a copy of the host, and
//! `/proc/self/exe` is the host's executable. A program that is a `#!/proc/self/exe`
//! script, an ELF with `PT_INTERP` `/proc/self/exe`, or a symlink to it would make the
//! kernel run the host's binary inside the container, which could then open it through
//! `/proc/<pid>/exe` and overwrite it (CVE-2019-5736 class). After the helper's exec,
//! `/proc/self/exe` is the sealed memfd: read-only, unshrinkable, holding nothing of the
//! host. The helper refuses to run as an interpreter or under any other argv[0], and also
//! serves as the container's init (`cocoon-init` mode), so PID 1 shows no host argument.
//!
//! The memfd is created once per host process and checked before each use (a host may
//! close or reuse fd numbers, e.g. after a fork); each spawn dups it above every fd the
//! child places, so no dup2 of the child overwrites it.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicPtr, Ordering};

use libc::{c_char, c_int};

use crate::error::{Error, Result};

/// The helper, as built by `build.rs`.
static HELPER_ELF: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cocoon-helper"));

/// argv[0] of the helper: exec the program (must match `helper.c`).
const MARKER_EXEC: &CStr = c"cocoon-exec";
/// argv[0] of the helper: be PID 1 and run the program as its child (must match `helper.c`).
const MARKER_INIT: &CStr = c"cocoon-init";

/// [`crate::child::Report::index`] for `Stage::Exec` when the helper itself could not be
/// executed (rather than the program).
pub(crate) const HELPER_INDEX: u32 = u32::MAX;

const MFD_EXEC: libc::c_uint = 0x0010;
const SEALS: c_int = libc::F_SEAL_WRITE | libc::F_SEAL_GROW | libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL;
/// 6.3+: nobody may change the memfd's exec bits (a process that caught the helper
/// before it became non-dumpable could otherwise chmod it and break later spawns).
const F_SEAL_EXEC: c_int = 0x0020;

/// The sealed memfd of this process and its identity, to tell it from a reused fd number.
struct Sealed {
    fd: c_int,
    dev: u64,
    ino: u64,
}

/// The current sealed helper (leaked on replacement: a few bytes, only after the host
/// closed our fd). Lock-free, so that a host which forks while another thread spawns
/// cannot inherit a held lock.
static CURRENT: AtomicPtr<Sealed> = AtomicPtr::new(std::ptr::null_mut());

fn stat(fd: c_int) -> Option<libc::stat> {
    // SAFETY: fstat into a zeroed stack struct; fd may be invalid (then it fails).
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return None;
    }
    Some(st)
}

fn identity(fd: c_int) -> Option<(u64, u64)> {
    stat(fd).map(|st| (st.st_dev, st.st_ino))
}

/// Still our memfd (not a reused fd number), still sealed, still executable by all.
fn still_ours(s: &Sealed) -> bool {
    // SAFETY: F_GET_SEALS on an fd number; a foreign or closed fd fails or differs.
    let seals = unsafe { libc::fcntl(s.fd, libc::F_GET_SEALS) };
    seals >= 0
        && seals & SEALS == SEALS
        && stat(s.fd).is_some_and(|st| (st.st_dev, st.st_ino) == (s.dev, s.ino) && st.st_mode & 0o111 == 0o111)
}

fn os_err(op: &'static str) -> Error {
    Error::last_os(op, "exec helper memfd")
}

/// Writes the helper into a new memfd and seals it.
fn create() -> Result<Sealed> {
    let name = c"cocoon-helper";
    let flags = libc::MFD_ALLOW_SEALING | libc::MFD_CLOEXEC;
    // MFD_EXEC (6.3+) keeps the memfd executable under vm.memfd_noexec = 1; older
    // kernels reject the flag.
    // SAFETY: memfd_create with a static NUL-terminated name.
    let mut raw = unsafe { libc::memfd_create(name.as_ptr(), flags | MFD_EXEC) };
    if raw < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
        // SAFETY: as above.
        raw = unsafe { libc::memfd_create(name.as_ptr(), flags) };
    }
    if raw < 0 {
        return Err(os_err("memfd_create"));
    }
    // SAFETY: a fresh fd we own.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    crate::sys::write_all(fd.as_raw_fd(), HELPER_ELF)
        .map_err(|e| Error::os("write", "exec helper memfd", std::io::Error::from_raw_os_error(e)))?;
    // SAFETY: adding seals to our memfd (F_SEAL_EXEC is unknown before 6.3: EINVAL).
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, SEALS | F_SEAL_EXEC) } != 0
        // SAFETY: as above.
        && unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, SEALS) } != 0
    {
        return Err(os_err("seal"));
    }
    let (dev, ino) = identity(fd.as_raw_fd()).ok_or_else(|| os_err("fstat"))?;
    use std::os::fd::IntoRawFd;
    Ok(Sealed { fd: fd.into_raw_fd(), dev, ino })
}

/// The fd of this process's sealed helper, created on first use (or again if the host
/// closed it).
pub(crate) fn sealed_fd() -> Result<c_int> {
    let cur = CURRENT.load(Ordering::Acquire);
    // SAFETY: published pointers come from Box::into_raw below and are never freed.
    if let Some(s) = unsafe { cur.as_ref() } {
        if still_ours(s) {
            return Ok(s.fd);
        }
    }
    let new = Box::into_raw(Box::new(create()?));
    match CURRENT.compare_exchange(cur, new, Ordering::AcqRel, Ordering::Acquire) {
        // SAFETY: `new` is ours and now published (never freed).
        Ok(_) => Ok(unsafe { (*new).fd }),
        Err(other) => {
            // Another thread won the race: use its helper, drop ours.
            // SAFETY: `new` was never published; `other` is a published, never-freed one.
            let mine = unsafe { Box::from_raw(new) };
            crate::sys::close(mine.fd);
            // SAFETY: as above.
            match unsafe { other.as_ref() } {
                Some(s) if still_ours(s) => Ok(s.fd),
                _ => Err(Error::os("exec helper", "memfd", std::io::Error::from_raw_os_error(libc::EBADF))),
            }
        }
    }
}

/// The part of the helper's argv that depends only on the process (built with the plan):
/// `N CAND_1..CAND_N ARGV_0..ARGV_M NULL`.
pub(crate) struct Tail {
    _n: CString,
    ptrs: Vec<*const c_char>,
}

// SAFETY: `ptrs` point into `_n` and into the CStrings of the process plan that owns this
// Tail next to them; all are immutable after construction.
unsafe impl Send for Tail {}
// SAFETY: as above.
unsafe impl Sync for Tail {}

impl std::fmt::Debug for Tail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("helper::Tail")
    }
}

impl Tail {
    /// `candidates` and `argv` (NULL-terminated) must outlive the Tail: the process plan
    /// holds all three.
    pub(crate) fn new(candidates: &[CString], argv: *const *const c_char) -> Tail {
        let n = CString::new(candidates.len().to_string()).unwrap_or_default();
        let mut ptrs = vec![n.as_ptr()];
        ptrs.extend(candidates.iter().map(|c| c.as_ptr()));
        let mut a = argv;
        // SAFETY: argv is the plan's NULL-terminated pointer array.
        unsafe {
            while !(*a).is_null() {
                ptrs.push(*a);
                a = a.add(1);
            }
        }
        ptrs.push(std::ptr::null());
        Tail { _n: n, ptrs }
    }
}

/// One exec of the helper: its fd (a private dup above the child's fd targets) and argv.
pub(crate) struct Invocation<'a> {
    fd: OwnedFd,
    _sock: CString,
    argv: Vec<*const c_char>,
    _label: std::marker::PhantomData<&'a CStr>,
}

impl<'a> Invocation<'a> {
    /// Prepares the helper exec of a process: `floor` is above every fd number the child
    /// dup2s onto, `sock` the child's setup socket, `label` the SELinux exec label.
    /// `hold` >= 0: the helper holds the container before its program until started over
    /// that socket (see helper.c).
    pub(crate) fn new(
        tail: &'a Tail,
        floor: c_int,
        sock: c_int,
        hold: c_int,
        label: Option<&'a CStr>,
        init: bool,
    ) -> Result<Invocation<'a>> {
        let sealed = sealed_fd()?;
        // SAFETY: dup of the sealed fd to a new close-on-exec number we own.
        let raw = unsafe { libc::fcntl(sealed, libc::F_DUPFD_CLOEXEC, floor) };
        if raw < 0 {
            return Err(os_err("dup"));
        }
        // SAFETY: a fresh fd we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let sock = if hold >= 0 { format!("{sock},{hold}") } else { sock.to_string() };
        let sock = CString::new(sock).unwrap_or_default();
        let mut argv = Vec::with_capacity(3 + tail.ptrs.len());
        argv.push(if init { MARKER_INIT.as_ptr() } else { MARKER_EXEC.as_ptr() });
        argv.push(sock.as_ptr());
        argv.push(label.map_or(c"-".as_ptr(), |l| l.as_ptr()));
        argv.extend_from_slice(&tail.ptrs);
        Ok(Invocation { fd, _sock: sock, argv, _label: std::marker::PhantomData })
    }

    /// The fd to `execveat` (the child keeps it open until then).
    pub(crate) fn fd(&self) -> c_int {
        self.fd.as_raw_fd()
    }

    /// Executes the helper with another argv (a warm container's, written at its start
    /// into the shared block). Child side, as [`Invocation::exec`].
    pub(crate) fn exec_argv(&self, argv: *const *const c_char, envp: *const *const c_char) -> crate::sys::Errno {
        // SAFETY: as in `exec`: both arrays are NULL-terminated and alive in this address space.
        unsafe {
            libc::syscall(libc::SYS_execveat, self.fd.as_raw_fd(), c"".as_ptr(), argv, envp, libc::AT_EMPTY_PATH)
        };
        crate::sys::last_errno()
    }

    /// The helper's first three arguments (marker, socket, label) of this invocation.
    pub(crate) fn prefix(&self) -> [&CStr; 3] {
        // SAFETY: the first three pointers of argv are NUL-terminated strings owned by this
        // invocation (the socket), static markers, or the label it borrows.
        let s = |i: usize| unsafe { CStr::from_ptr(self.argv.get(i).copied().unwrap_or(c"-".as_ptr())) };
        [s(0), s(1), s(2)]
    }

    /// Executes the helper (child side: one syscall, no allocation). Returns the errno.
    pub(crate) fn exec(&self, envp: *const *const c_char) -> crate::sys::Errno {
        // SAFETY: argv/envp are NULL-terminated arrays of NUL-terminated strings alive in
        // this (copied) address space; AT_EMPTY_PATH executes the fd itself.
        unsafe {
            libc::syscall(
                libc::SYS_execveat,
                self.fd.as_raw_fd(),
                c"".as_ptr(),
                self.argv.as_ptr(),
                envp,
                libc::AT_EMPTY_PATH,
            )
        };
        crate::sys::last_errno()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::child::{Report, REPORT_ERROR};
    use crate::error::Stage;

    const SRC: &str = include_str!("helper.c");

    fn define(name: &str) -> u32 {
        let line = SRC
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name) && l.starts_with("#define"))
            .unwrap_or_else(|| panic!("{name} not defined in helper.c"));
        line.split_whitespace().nth(2).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("bad value: {line}"))
    }

    #[test]
    fn report_layout_and_numbers_match_helper_c() {
        assert_eq!(std::mem::size_of::<Report>(), 20);
        assert_eq!(std::mem::offset_of!(Report, kind), 0);
        assert_eq!(std::mem::offset_of!(Report, stage), 4);
        assert_eq!(std::mem::offset_of!(Report, index), 8);
        assert_eq!(std::mem::offset_of!(Report, errno), 12);
        assert_eq!(std::mem::offset_of!(Report, pid), 16);
        assert!(SRC.contains("struct report {\n\tu32 kind, stage, index;\n\ti32 err;\n\ti32 pid;\n};"));
        assert_eq!(define("REPORT_ERROR"), REPORT_ERROR);
        assert_eq!(define("REPORT_HELD"), crate::spawn::proto::REPORT_HELD);
        assert_eq!(define("STAGE_EXEC"), Stage::Exec as u32);
        assert_eq!(define("STAGE_SELINUX_LABEL"), Stage::SelinuxLabel as u32);
        assert_eq!(define("STAGE_CLOSE_FDS"), Stage::CloseFds as u32);
        assert_eq!(define("STAGE_INIT"), Stage::Init as u32);
        assert!(SRC.contains(&format!("\"{}\"", MARKER_EXEC.to_str().unwrap())));
        assert!(SRC.contains(&format!("\"{}\"", MARKER_INIT.to_str().unwrap())));
    }

    #[test]
    fn helper_is_a_small_static_elf() {
        assert_eq!(&HELPER_ELF[..4], b"\x7fELF");
        // e_type ET_EXEC (static, not PIE) and no PT_INTERP.
        assert_eq!(u16::from_le_bytes([HELPER_ELF[16], HELPER_ELF[17]]), 2);
        assert!(!HELPER_ELF.windows(3).any(|w| w == b"ld-"), "dynamically linked?");
        assert!(HELPER_ELF.len() < 32 * 1024, "{} bytes", HELPER_ELF.len());
    }

    #[test]
    fn sealed_fd_is_reused_sealed_and_recreated_when_closed() {
        let a = sealed_fd().unwrap();
        assert_eq!(sealed_fd().unwrap(), a);
        // SAFETY: F_GET_SEALS on our fd.
        let seals = unsafe { libc::fcntl(a, libc::F_GET_SEALS) };
        assert_eq!(seals & SEALS, SEALS);
        // Writes, truncation and (6.3+) dropping the exec bits are refused, also to root.
        // SAFETY: writing one byte from a static buffer.
        let w = unsafe { libc::pwrite(a, b"x".as_ptr().cast(), 1, 0) };
        assert_eq!(w, -1);
        // SAFETY: ftruncate/fchmod on our fd.
        assert_eq!(unsafe { libc::ftruncate(a, 0) }, -1);
        if crate::plan::kernel_at_least(6, 3) {
            // SAFETY: as above.
            assert_eq!(unsafe { libc::fchmod(a, 0o644) }, -1);
            assert_eq!(seals & F_SEAL_EXEC, F_SEAL_EXEC);
        }
        // A host that closes the fd (and reuses the number) gets a fresh helper.
        crate::sys::close(a);
        // SAFETY: opening /dev/null; it likely takes the number `a`.
        let other = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        let b = sealed_fd().unwrap();
        assert!(still_ours(current()));
        assert_ne!(identity(b), identity(other));
        crate::sys::close(other);
    }

    fn current() -> &'static Sealed {
        // SAFETY: published pointers are never freed.
        unsafe { CURRENT.load(Ordering::Acquire).as_ref().unwrap() }
    }
}
