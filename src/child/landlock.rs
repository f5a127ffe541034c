//! Applying the plan's Landlock ruleset (audited code: see the AUDIT RULES in
//! `child/mod.rs`): raw `landlock_*` syscalls over the plan's prepared paths and masks,
//! fds opened `O_PATH` in-root and closed again; the last step before the helper's exec.

use libc::c_int;

use super::fs::IN_ROOT;
use super::{Fail, Step};
use crate::error::Stage;
use crate::plan::{LandlockPlan, LANDLOCK_CREATE_INDEX, LANDLOCK_RESTRICT_INDEX};
use crate::sys;

/// `struct landlock_ruleset_attr` up to `handled_access_net` (ABI 4; a shorter size is
/// passed when no network right is handled, so older kernels accept it).
#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
}

/// `struct landlock_path_beneath_attr` (packed in the kernel's UAPI).
#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// `struct landlock_net_port_attr`.
#[repr(C)]
struct NetPortAttr {
    allowed_access: u64,
    port: u64,
}

const LANDLOCK_RULE_PATH_BENEATH: c_int = 1;
const LANDLOCK_RULE_NET_PORT: c_int = 2;

fn fail(index: u32, errno: sys::Errno) -> Fail {
    Fail { stage: Stage::Landlock, index, errno }
}

/// Builds the ruleset and restricts this process with it. `no_new_privs` (or
/// `CAP_SYS_ADMIN`) is already in place: the plan refused the ruleset otherwise.
pub(super) fn apply(l: &LandlockPlan) -> Step {
    let attr = RulesetAttr { handled_access_fs: l.handled_fs, handled_access_net: l.handled_net };
    let size = if l.handled_net == 0 { 8usize } else { std::mem::size_of::<RulesetAttr>() };
    // SAFETY: attr is a valid landlock_ruleset_attr prefix of `size` bytes on our stack.
    let r = unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, &attr as *const RulesetAttr, size, 0) };
    if r < 0 {
        return Err(fail(LANDLOCK_CREATE_INDEX, sys::last_errno()));
    }
    let ruleset = r as c_int;
    let res = add_rules(ruleset, l).and_then(|()| {
        // SAFETY: restricting ourselves with the ruleset fd we hold.
        if unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset, 0) } != 0 {
            return Err(fail(LANDLOCK_RESTRICT_INDEX, sys::last_errno()));
        }
        Ok(())
    });
    sys::close(ruleset);
    res
}

fn add_rules(ruleset: c_int, l: &LandlockPlan) -> Step {
    // Absolute paths resolve in the root (after pivot_root, `/`), relative ones (a
    // program given as `./x`) from the working directory, as the helper's execve does.
    let root = sys::openat2(libc::AT_FDCWD, c"/".as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC, 0, 0)
        .map_err(|e| fail(LANDLOCK_CREATE_INDEX, e))?;
    let res = add_path_rules(ruleset, root, l);
    sys::close(root);
    res?;
    for (j, (port, access)) in l.ports.iter().enumerate() {
        let attr = NetPortAttr { allowed_access: *access, port: *port };
        // SAFETY: a valid landlock_net_port_attr on our stack, read by the kernel.
        let r = unsafe {
            libc::syscall(libc::SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_NET_PORT, &attr as *const NetPortAttr, 0)
        };
        if r != 0 {
            return Err(fail((l.paths.len() + j) as u32, sys::last_errno()));
        }
    }
    Ok(())
}

fn add_path_rules(ruleset: c_int, root: c_int, l: &LandlockPlan) -> Step {
    for (i, rule) in l.paths.iter().enumerate() {
        let absolute = rule.path.to_bytes().first() == Some(&b'/');
        let (dirfd, resolve) = if absolute { (root, IN_ROOT) } else { (libc::AT_FDCWD, libc::RESOLVE_NO_MAGICLINKS) };
        let fd = match sys::openat2(dirfd, rule.path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC, 0, resolve) {
            Ok(fd) => fd,
            // A PATH candidate that is not there is not the program.
            Err(libc::ENOENT | libc::ENOTDIR | libc::EACCES) if rule.auto => continue,
            Err(e) => return Err(fail(i as u32, e)),
        };
        // A rule on a file may only carry the rights that apply to files.
        // SAFETY: fstat of an fd we hold into a zeroed stack struct.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        if unsafe { libc::fstat(fd, &mut st) } != 0 {
            let e = sys::last_errno();
            sys::close(fd);
            return Err(fail(i as u32, e));
        }
        let kind = st.st_mode & libc::S_IFMT;
        // A PATH candidate is given only if it is a regular file: an image whose program
        // is a symlink to a directory must not widen the ruleset to that directory.
        if rule.auto && kind != libc::S_IFREG {
            sys::close(fd);
            continue;
        }
        let mut access = rule.access;
        if kind != libc::S_IFDIR {
            access &= crate::landlock::FS_FILE_RIGHTS;
        }
        let r = if access == 0 {
            0
        } else {
            let attr = PathBeneathAttr { allowed_access: access, parent_fd: fd };
            // SAFETY: a valid packed landlock_path_beneath_attr on our stack, read by the
            // kernel; fd is open for the call.
            unsafe {
                libc::syscall(libc::SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr as *const PathBeneathAttr, 0)
            }
        };
        let e = sys::last_errno();
        sys::close(fd);
        if r != 0 {
            return Err(fail(i as u32, e));
        }
    }
    Ok(())
}
