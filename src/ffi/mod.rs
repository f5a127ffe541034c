//! The stable C ABI (`include/cocoon.h`, generated from this module by cbindgen).
//!
//! Conventions (see `docs` in the header): opaque handles with one `_new`/`_free` pair,
//! `int` results (0 = ok, negative `COCOON_E_*` codes that are never renumbered), a
//! thread-local last error cleared at the start of every call, NULL checks of every
//! pointer, out-parameters written only on success, no variadics, and no panic ever
//! unwinding into C (every exported function runs under `catch_unwind`).
//!
//! Only `cocoon_*` symbols are exported; `tests/abi/symbols.txt` lists them.

// Every exported function has the same safety contract, stated once in the header's
// conventions: each pointer argument is NULL or valid for the documented access, and
// handles are used only between their _new and _free. Repeating it on ~120 functions
// would add noise, not safety.
#![allow(clippy::missing_safety_doc)]

#![allow(non_camel_case_types)]

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{Error, Stage};

// In this order: cbindgen writes include/cocoon.h in source order.
pub mod builder;
pub mod container;
pub mod create;
pub mod exec_process;
pub mod process;
pub mod sweep;
pub mod update;
pub mod running;
pub mod run;
pub mod events;
pub mod stats;
pub mod log_status;
pub mod logs;
pub mod supervisor;
pub mod warm;
#[cfg(feature = "image")]
pub mod image;
// Not exported: the argument helpers every file above uses.
mod args;
pub(crate) use args::*;

// ---------------------------------------------------------------------------------------
// Version
// ---------------------------------------------------------------------------------------

/// Major version of the header (bumped on incompatible ABI changes; the SONAME follows).
pub const COCOON_VERSION_MAJOR: c_int = 0;
/// Minor version of the header (bumped when functions or constants are added).
pub const COCOON_VERSION_MINOR: c_int = 1;
/// Patch version of the header.
pub const COCOON_VERSION_PATCH: c_int = 0;

// ---------------------------------------------------------------------------------------
// Result codes. NEVER renumber or reuse one: callers compile them in.
// ---------------------------------------------------------------------------------------

/// Success.
pub const COCOON_OK: c_int = 0;
/// A pointer argument was NULL, an enum/flag value is unknown, a string holds an interior
/// NUL or is not valid UTF-8 where text is required, or an array is too large.
pub const COCOON_E_INVALID_ARGUMENT: c_int = -1;
/// A builder value was rejected before anything was created (e.g. hostname longer than
/// 64 bytes, overlapping id ranges, hostname without a UTS namespace).
pub const COCOON_E_INVALID_CONFIG: c_int = -2;
/// A setup step inside the new container failed between clone and exec;
/// `cocoon_last_error_stage()` names the step, `cocoon_last_error_errno()` the OS error.
pub const COCOON_E_SETUP: c_int = -3;
/// An operation in the calling process failed (clone3, waitid, pidfd_send_signal, dup...);
/// `cocoon_last_error_errno()` holds the OS error.
pub const COCOON_E_OS: c_int = -4;
/// A cgroup could not be created, configured, frozen, read or removed (errno set when the
/// OS gave one), or a cgroup limit was rejected: out of range, naming a CPU, memory node,
/// device or huge page size the host lacks, or not expressible on the host's cgroup
/// version.
pub const COCOON_E_CGROUP: c_int = -5;
/// An SELinux label could not be parsed, allocated or applied.
pub const COCOON_E_SELINUX: c_int = -6;
/// The operation needs a running process, but it has already exited.
pub const COCOON_E_ALREADY_EXITED: c_int = -7;
/// A bug: cocoon panicked. The call had no effect that can be relied on; the handles
/// passed to it are still valid to free.
pub const COCOON_E_PANIC: c_int = -8;
/// The requested value is not available: the stream is not a pipe or its caller end was
/// already taken, or the container has no SELinux label.
pub const COCOON_E_NOT_AVAILABLE: c_int = -9;
/// A file the image controls (its /etc/passwd or /etc/group, read to resolve a user
/// name, also of a running container on exec) is not safe to read: not a regular file
/// (e.g. a FIFO or device node), larger than 16 MiB, or unreadable (errno set). The
/// message names the file.
pub const COCOON_E_IMAGE_FILE: c_int = -10;
/// A static network address is leased by another live container on the same bridge.
pub const COCOON_E_ADDRESS_IN_USE: c_int = -11;
/// The running kernel lacks a feature the configuration requires (a Landlock right above
/// its ABI with `COCOON_LANDLOCK_REQUIRED`). Nothing was created; the message names the
/// rule and the ABI.
pub const COCOON_E_UNSUPPORTED: c_int = -12;
/// An image blob's sha256 is not the digest that names it (corrupt or tampered).
pub const COCOON_E_IMAGE_DIGEST: c_int = -13;
/// A layer entry is refused: it would land outside its layer (absolute path, `..`, a
/// symlinked parent escaping, a hardlink to outside), is a device node the importer may
/// not create, or carries an overlayfs xattr. Nothing was left in the store.
pub const COCOON_E_IMAGE_UNSAFE: c_int = -14;
/// An image, archive or document is malformed, truncated, unsupported or over its size
/// limit.
pub const COCOON_E_IMAGE_FORMAT: c_int = -15;
/// No image of that name or digest in the store (or no manifest for this platform).
pub const COCOON_E_IMAGE_NOT_FOUND: c_int = -16;
/// A published host port (same protocol and port, and the same host address or either
/// on all of them) is forwarded to another live container. Nothing was created.
pub const COCOON_E_PORT_IN_USE: c_int = -17;
/// Starting a created container that is not held: started already, or gone.
pub const COCOON_E_NOT_CREATED: c_int = -18;

// ---------------------------------------------------------------------------------------
// Setup stages (`cocoon_last_error_stage()`), the numbers of `cocoon::Stage`.
// ---------------------------------------------------------------------------------------

/// No stage: the last error was not a setup failure.
pub const COCOON_STAGE_NONE: c_int = 0;
/// Talking to the parent over the setup socket.
pub const COCOON_STAGE_SYNC: c_int = 1;
/// Becoming root inside a new user namespace.
pub const COCOON_STAGE_USER_NAMESPACE: c_int = 2;
/// Creating the time namespace.
pub const COCOON_STAGE_TIME_NAMESPACE: c_int = 3;
/// Setting the hostname.
pub const COCOON_STAGE_HOSTNAME: c_int = 4;
/// Setting the NIS domain name.
pub const COCOON_STAGE_DOMAINNAME: c_int = 5;
/// Making the inherited mounts private.
pub const COCOON_STAGE_MOUNT_PROPAGATION: c_int = 6;
/// Mounting the root filesystem.
pub const COCOON_STAGE_ROOTFS: c_int = 7;
/// Resolving or creating a mount target inside the root.
pub const COCOON_STAGE_MOUNT_TARGET: c_int = 8;
/// Mounting a filesystem or bind mount.
pub const COCOON_STAGE_MOUNT: c_int = 9;
/// Creating a symlink or file inside the root.
pub const COCOON_STAGE_CREATE_FILE: c_int = 10;
/// Switching root with pivot_root.
pub const COCOON_STAGE_PIVOT_ROOT: c_int = 11;
/// Masking a path.
pub const COCOON_STAGE_MASK_PATH: c_int = 12;
/// Making a path read-only.
pub const COCOON_STAGE_READONLY_PATH: c_int = 13;
/// Making the root read-only.
pub const COCOON_STAGE_READONLY_ROOT: c_int = 14;
/// Bringing up loopback in a new network namespace.
pub const COCOON_STAGE_LOOPBACK: c_int = 15;
/// Setting resource limits.
pub const COCOON_STAGE_RLIMIT: c_int = 16;
/// Setting supplementary groups.
pub const COCOON_STAGE_GROUPS: c_int = 17;
/// Setting the group id.
pub const COCOON_STAGE_SETGID: c_int = 18;
/// Setting the user id.
pub const COCOON_STAGE_SETUID: c_int = 19;
/// Dropping capabilities from the bounding set.
pub const COCOON_STAGE_CAP_BOUNDING: c_int = 20;
/// Setting effective/permitted/inheritable capabilities.
pub const COCOON_STAGE_CAPABILITIES: c_int = 21;
/// Raising ambient capabilities.
pub const COCOON_STAGE_AMBIENT_CAPABILITIES: c_int = 22;
/// Setting no_new_privs.
pub const COCOON_STAGE_NO_NEW_PRIVS: c_int = 23;
/// Changing to the working directory.
pub const COCOON_STAGE_CWD: c_int = 24;
/// Wiring stdin/stdout/stderr and passed fds.
pub const COCOON_STAGE_STDIO: c_int = 25;
/// Closing the fds not passed on.
pub const COCOON_STAGE_CLOSE_FDS: c_int = 26;
/// Writing the SELinux exec label.
pub const COCOON_STAGE_SELINUX_LABEL: c_int = 27;
/// Installing the seccomp filter.
pub const COCOON_STAGE_SECCOMP: c_int = 28;
/// Executing the program (e.g. ENOENT: no such program in the container).
pub const COCOON_STAGE_EXEC: c_int = 29;
/// Starting the minimal init.
pub const COCOON_STAGE_INIT: c_int = 30;
/// Joining the namespaces of a running container (exec).
pub const COCOON_STAGE_JOIN_NAMESPACES: c_int = 31;
/// Making the process non-dumpable.
pub const COCOON_STAGE_DUMPABLE: c_int = 32;
/// Creating or setting up a device node.
pub const COCOON_STAGE_DEVICE: c_int = 33;
/// Setting the session/controlling terminal.
pub const COCOON_STAGE_SESSION: c_int = 34;
/// Setting the SELinux keyring label.
pub const COCOON_STAGE_KEYRING_LABEL: c_int = 35;
/// Creating the cgroup namespace.
pub const COCOON_STAGE_CGROUP_NAMESPACE: c_int = 36;
/// Parent-side network setup (bridge, veth pair, lease, address, route).
pub const COCOON_STAGE_NETWORK: c_int = 37;
/// Applying the Landlock ruleset (the message names the rule).
pub const COCOON_STAGE_LANDLOCK: c_int = 38;
/// Writing a sysctl (the message names it).
pub const COCOON_STAGE_SYSCTL: c_int = 39;

// ---------------------------------------------------------------------------------------
// Error plumbing
// ---------------------------------------------------------------------------------------

/// An error on its way to the caller: what `cocoon_last_error_*` will report.
#[derive(Debug)]
pub(crate) struct Fail {
    pub(crate) code: c_int,
    pub(crate) errno: c_int,
    pub(crate) stage: c_int,
    pub(crate) message: String,
}

impl Fail {
    /// A `COCOON_E_INVALID_ARGUMENT` failure.
    pub(crate) fn arg(message: impl Into<String>) -> Fail {
        Fail { code: COCOON_E_INVALID_ARGUMENT, errno: 0, stage: 0, message: message.into() }
    }

    /// A NULL pointer where one is required.
    pub(crate) fn null(what: &str) -> Fail {
        Fail::arg(format!("{what} is NULL"))
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        let code = match &e {
            Error::InvalidConfig { .. } | Error::Seccomp(_) => COCOON_E_INVALID_CONFIG,
            Error::Setup { .. } => COCOON_E_SETUP,
            Error::Os { .. } => COCOON_E_OS,
            Error::Cgroup(_) => COCOON_E_CGROUP,
            Error::Selinux(_) => COCOON_E_SELINUX,
            Error::AlreadyExited => COCOON_E_ALREADY_EXITED,
            Error::NotCreated => COCOON_E_NOT_CREATED,
            Error::ImageFile { .. } => COCOON_E_IMAGE_FILE,
            Error::AddressInUse { .. } => COCOON_E_ADDRESS_IN_USE,
            Error::PortInUse { .. } => COCOON_E_PORT_IN_USE,
            Error::Unsupported { .. } => COCOON_E_UNSUPPORTED,
            Error::Image(ie) => match ie {
                crate::image::ImageError::DigestMismatch { .. } => COCOON_E_IMAGE_DIGEST,
                crate::image::ImageError::UnsafeEntry { .. } | crate::image::ImageError::DeviceNotPermitted { .. } => {
                    COCOON_E_IMAGE_UNSAFE
                }
                crate::image::ImageError::NotFound(_) => COCOON_E_IMAGE_NOT_FOUND,
                crate::image::ImageError::Io { .. } => COCOON_E_OS,
                _ => COCOON_E_IMAGE_FORMAT,
            },
        };
        Fail {
            code,
            errno: e.raw_os_error().unwrap_or(0),
            stage: e.stage().map_or(0, |s| s as u32 as c_int),
            message: e.to_string(),
        }
    }
}

struct LastError {
    code: c_int,
    errno: c_int,
    stage: c_int,
    message: CString,
}

thread_local! {
    static LAST: RefCell<LastError> = RefCell::new(LastError {
        code: 0,
        errno: 0,
        stage: 0,
        message: CString::default(),
    });
}

fn clear_last_error() {
    let _ = LAST.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            l.code = 0;
            l.errno = 0;
            l.stage = 0;
            if !l.message.as_bytes().is_empty() {
                l.message = CString::default();
            }
        }
    });
}

fn set_last_error(f: Fail) -> c_int {
    let code = f.code;
    let message = CString::new(f.message.replace('\0', "\\0")).unwrap_or_default();
    let _ = LAST.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            *l = LastError { code: f.code, errno: f.errno, stage: f.stage, message };
        }
    });
    code
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("internal error (panic) in cocoon: {what}")
}

/// Runs the body of an exported function: clears the last error, catches panics, and turns
/// a failure into its code (recording it as the last error).
pub(crate) fn guard(f: impl FnOnce() -> Result<(), Fail>) -> c_int {
    clear_last_error();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => COCOON_OK,
        Ok(Err(fail)) => set_last_error(fail),
        Err(payload) => set_last_error(Fail {
            code: COCOON_E_PANIC,
            errno: 0,
            stage: 0,
            message: panic_message(&*payload),
        }),
    }
}

/// Like [`guard`] for functions returning a value other than a status code: on failure or
/// panic the error is recorded and `fallback` returned.
pub(crate) fn guard_value<T>(fallback: T, f: impl FnOnce() -> Result<T, Fail>) -> T {
    clear_last_error();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(fail)) => {
            set_last_error(fail);
            fallback
        }
        Err(payload) => {
            set_last_error(Fail { code: COCOON_E_PANIC, errno: 0, stage: 0, message: panic_message(&*payload) });
            fallback
        }
    }
}

// ---------------------------------------------------------------------------------------
// Exported: errors, version, features
// ---------------------------------------------------------------------------------------

/// The code of the last failed cocoon call on this thread (0 if the last call succeeded).
///
/// The `cocoon_last_error_*` functions and `cocoon_strerror`, `cocoon_stage_name` do not
/// clear the last error; every other function clears it when it starts.
#[no_mangle]
pub extern "C" fn cocoon_last_error_code() -> c_int {
    catch_unwind(|| LAST.try_with(|l| l.try_borrow().map_or(0, |l| l.code)).unwrap_or(0)).unwrap_or(COCOON_E_PANIC)
}

/// The OS `errno` saved where the last failed call on this thread failed (0 if none).
#[no_mangle]
pub extern "C" fn cocoon_last_error_errno() -> c_int {
    catch_unwind(|| LAST.try_with(|l| l.try_borrow().map_or(0, |l| l.errno)).unwrap_or(0)).unwrap_or(0)
}

/// The `COCOON_STAGE_*` setup step of the last failed call on this thread
/// (`COCOON_STAGE_NONE` unless the code is `COCOON_E_SETUP`).
#[no_mangle]
pub extern "C" fn cocoon_last_error_stage() -> c_int {
    catch_unwind(|| LAST.try_with(|l| l.try_borrow().map_or(0, |l| l.stage)).unwrap_or(0)).unwrap_or(0)
}

/// A human-readable message of the last failed call on this thread ("" if none), naming
/// the value or path involved. Never NULL. Borrowed: valid until the next cocoon call on
/// this thread (other than `cocoon_last_error_*`); copy it to keep it.
#[no_mangle]
pub extern "C" fn cocoon_last_error_message() -> *const c_char {
    static EMPTY: &CStr = c"";
    catch_unwind(|| {
        LAST.try_with(|l| l.try_borrow().map_or(EMPTY.as_ptr(), |l| l.message.as_ptr()))
            .unwrap_or(EMPTY.as_ptr())
    })
    .unwrap_or(EMPTY.as_ptr())
}

/// A static description of a `COCOON_E_*` code (never NULL; "unknown error code" for
/// codes this library does not know).
#[no_mangle]
pub extern "C" fn cocoon_strerror(code: c_int) -> *const c_char {
    let s: &'static CStr = match code {
        COCOON_OK => c"success",
        COCOON_E_INVALID_ARGUMENT => c"invalid argument (NULL pointer, unknown enum value, bad string)",
        COCOON_E_INVALID_CONFIG => c"invalid container configuration",
        COCOON_E_SETUP => c"container setup failed",
        COCOON_E_OS => c"operating system call failed",
        COCOON_E_CGROUP => c"cgroup operation failed",
        COCOON_E_SELINUX => c"SELinux operation failed",
        COCOON_E_ALREADY_EXITED => c"the process has already exited",
        COCOON_E_PANIC => c"internal error (panic) in cocoon",
        COCOON_E_NOT_AVAILABLE => c"not available (stream not piped or already taken, or no SELinux label)",
        COCOON_E_IMAGE_FILE => c"a file of the image is not a regular file, too large or unreadable",
        COCOON_E_ADDRESS_IN_USE => c"the network address is in use by another live container",
        COCOON_E_UNSUPPORTED => c"the running kernel lacks a required feature",
        COCOON_E_IMAGE_DIGEST => c"image digest mismatch",
        COCOON_E_IMAGE_UNSAFE => c"unsafe image layer entry",
        COCOON_E_IMAGE_FORMAT => c"malformed or oversized image",
        COCOON_E_IMAGE_NOT_FOUND => c"image not found",
        COCOON_E_PORT_IN_USE => c"the host port is published by another live container",
        COCOON_E_NOT_CREATED => c"the container is not in the created state",
        _ => c"unknown error code",
    };
    s.as_ptr()
}

fn stage_names() -> &'static [(u32, CString)] {
    static NAMES: std::sync::OnceLock<Vec<(u32, CString)>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        (1..=255u32)
            .filter_map(|n| Stage::from_u32(n).map(|s| (n, CString::new(s.as_str()).unwrap_or_default())))
            .collect()
    })
}

/// A static name of a `COCOON_STAGE_*` value (never NULL; "none" for 0, "unknown stage"
/// for values this library does not know).
#[no_mangle]
pub extern "C" fn cocoon_stage_name(stage: c_int) -> *const c_char {
    catch_unwind(|| {
        if stage == COCOON_STAGE_NONE {
            return c"none".as_ptr();
        }
        stage_names()
            .iter()
            .find(|(n, _)| *n as c_int == stage)
            .map_or(c"unknown stage".as_ptr(), |(_, s)| s.as_ptr())
    })
    .unwrap_or(c"unknown stage".as_ptr())
}

/// The library's version at run time, e.g. "0.1.0" (static, never NULL). Compare with the
/// `COCOON_VERSION_*` macros the caller was compiled against.
#[no_mangle]
pub extern "C" fn cocoon_version() -> *const c_char {
    static VERSION: &CStr = match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => c"unknown",
    };
    clear_last_error();
    VERSION.as_ptr()
}

/// Whether a feature is available on the running system: 1 yes, 0 no (also for names this
/// version does not know), `COCOON_E_INVALID_ARGUMENT` if `name` is NULL.
///
/// Names: "clone3" (the clone3 syscall), "cgroup" (a cgroup layout cocoon can use is
/// mounted: v1, v2 or hybrid; the cgroup limit setters and `cocoon_container_pause/
/// resume/stats` can work), "cgroup2" (the host is cgroup v2 only, so every limit is
/// applied through cgroup v2 files, e.g. `memory.high`; 0 on v1 and hybrid hosts, where
/// the controllers are v1 even if an almost empty cgroup2 is mounted next to them),
/// "selinux" (SELinux is enabled for this process: selinuxfs is mounted read-write and a
/// policy is loaded, so labelled containers really get their labels), "overlay" (overlayfs is
/// known to the kernel), "userns" (user namespaces can be created), "timens" (time
/// namespaces exist), "image" (the library was built with image support: the
/// `cocoon_image_*` functions and `cocoon_builder_set_image`), "warm" (warm containers
/// and pools: `cocoon_warm_*`, `cocoon_pool_*`).
#[no_mangle]
pub unsafe extern "C" fn cocoon_has_feature(name: *const c_char) -> c_int {
    guard_value(COCOON_E_INVALID_ARGUMENT, || {
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let name = unsafe { cstr_arg(name, "name") }?;
        Ok(c_int::from(has_feature(name)))
    })
}

fn has_feature(name: &[u8]) -> bool {
    fn filesystem(fs: &str) -> bool {
        std::fs::read_to_string("/proc/filesystems")
            .map(|s| s.lines().any(|l| l.split_whitespace().last() == Some(fs)))
            .unwrap_or(false)
    }
    match name {
        b"clone3" => {
            // clone3 with a NULL argument and size 0 fails with EINVAL where the syscall
            // exists and ENOSYS where it does not; it never creates a process.
            // SAFETY: the kernel rejects size 0 before reading anything.
            let r = unsafe { libc::syscall(libc::SYS_clone3, std::ptr::null_mut::<libc::c_void>(), 0usize) };
            r == -1 && std::io::Error::last_os_error().raw_os_error() != Some(libc::ENOSYS)
        }
        b"cgroup" => crate::cgroup::host_mode().is_ok(),
        b"cgroup2" => matches!(crate::cgroup::host_mode(), Ok(crate::cgroup::CgroupMode::V2)),
        b"selinux" => crate::selinux::selinux_enabled(),
        b"overlay" => filesystem("overlay") || std::path::Path::new("/sys/module/overlay").exists(),
        b"userns" => {
            std::path::Path::new("/proc/self/ns/user").exists()
                && std::fs::read_to_string("/proc/sys/user/max_user_namespaces")
                    .map(|s| s.trim().parse::<u64>().map_or(true, |n| n > 0))
                    .unwrap_or(true)
        }
        b"timens" => std::path::Path::new("/proc/self/ns/time").exists(),
        b"image" => cfg!(feature = "image"),
        b"warm" => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_macros_match_the_crate() {
        assert_eq!(COCOON_VERSION_MAJOR.to_string(), env!("CARGO_PKG_VERSION_MAJOR"));
        assert_eq!(COCOON_VERSION_MINOR.to_string(), env!("CARGO_PKG_VERSION_MINOR"));
        assert_eq!(COCOON_VERSION_PATCH.to_string(), env!("CARGO_PKG_VERSION_PATCH"));
    }

    #[test]
    fn stage_constants_match_the_core() {
        let consts = [
            COCOON_STAGE_SYNC, COCOON_STAGE_USER_NAMESPACE, COCOON_STAGE_TIME_NAMESPACE,
            COCOON_STAGE_HOSTNAME, COCOON_STAGE_DOMAINNAME, COCOON_STAGE_MOUNT_PROPAGATION,
            COCOON_STAGE_ROOTFS, COCOON_STAGE_MOUNT_TARGET, COCOON_STAGE_MOUNT,
            COCOON_STAGE_CREATE_FILE, COCOON_STAGE_PIVOT_ROOT, COCOON_STAGE_MASK_PATH,
            COCOON_STAGE_READONLY_PATH, COCOON_STAGE_READONLY_ROOT, COCOON_STAGE_LOOPBACK,
            COCOON_STAGE_RLIMIT, COCOON_STAGE_GROUPS, COCOON_STAGE_SETGID, COCOON_STAGE_SETUID,
            COCOON_STAGE_CAP_BOUNDING, COCOON_STAGE_CAPABILITIES,
            COCOON_STAGE_AMBIENT_CAPABILITIES, COCOON_STAGE_NO_NEW_PRIVS, COCOON_STAGE_CWD,
            COCOON_STAGE_STDIO, COCOON_STAGE_CLOSE_FDS, COCOON_STAGE_SELINUX_LABEL,
            COCOON_STAGE_SECCOMP, COCOON_STAGE_EXEC, COCOON_STAGE_INIT,
            COCOON_STAGE_JOIN_NAMESPACES, COCOON_STAGE_DUMPABLE, COCOON_STAGE_DEVICE,
            COCOON_STAGE_SESSION, COCOON_STAGE_KEYRING_LABEL, COCOON_STAGE_CGROUP_NAMESPACE,
            COCOON_STAGE_NETWORK,
            COCOON_STAGE_LANDLOCK, COCOON_STAGE_SYSCTL,
        ];
        // Every constant is a stage of the core, with the same number...
        for (i, c) in consts.iter().enumerate() {
            assert_eq!(*c, i as c_int + 1);
            assert!(Stage::from_u32(*c as u32).is_some(), "stage {c}");
        }
        // ...and every stage of the core has a constant (add one when this fails).
        for n in 1..=255u32 {
            assert_eq!(Stage::from_u32(n).is_some(), consts.contains(&(n as c_int)), "stage {n}");
        }
        assert_eq!(stage_names().len(), consts.len());
    }

    #[test]
    fn panics_become_codes_with_a_message() {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let r = guard(|| panic!("boom"));
        std::panic::set_hook(hook);
        assert_eq!(r, COCOON_E_PANIC);
        assert_eq!(cocoon_last_error_code(), COCOON_E_PANIC);
        // SAFETY: the message pointer is valid until the next call on this thread.
        let msg = unsafe { CStr::from_ptr(cocoon_last_error_message()) }.to_string_lossy().into_owned();
        assert!(msg.contains("boom"), "{msg}");
        assert_eq!(guard(|| Ok(())), COCOON_OK);
        assert_eq!(cocoon_last_error_code(), 0);
        let v: i32 = guard_value(-5, || panic!("again"));
        assert_eq!(v, -5);
        assert_eq!(cocoon_last_error_code(), COCOON_E_PANIC);
    }

    #[test]
    fn every_code_has_a_string() {
        for c in [COCOON_OK, COCOON_E_INVALID_ARGUMENT, COCOON_E_INVALID_CONFIG, COCOON_E_SETUP, COCOON_E_OS,
                  COCOON_E_CGROUP, COCOON_E_SELINUX, COCOON_E_ALREADY_EXITED, COCOON_E_PANIC, COCOON_E_NOT_AVAILABLE,
                  COCOON_E_IMAGE_FILE, COCOON_E_ADDRESS_IN_USE, COCOON_E_UNSUPPORTED, COCOON_E_IMAGE_DIGEST,
                  COCOON_E_IMAGE_UNSAFE, COCOON_E_IMAGE_FORMAT, COCOON_E_IMAGE_NOT_FOUND, COCOON_E_PORT_IN_USE] {
            // SAFETY: static strings.
            let s = unsafe { CStr::from_ptr(cocoon_strerror(c)) }.to_str().unwrap();
            assert_ne!(s, "unknown error code", "{c}");
        }
    }
}
