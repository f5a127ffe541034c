//! What planning reads from the machine, in one value: [`HostFacts`].
//!
//! [`super::Plan::new`] learns about the host only through this value. Production reads
//! it from the machine ([`HostFacts::detect`], once per plan; the kernel version, the
//! capability count and the cgroup layout are cached per process), unit tests write it by
//! hand, so planning is tested as any user on any host. The description's own paths (a
//! rootfs directory, bind sources, the image's passwd) are inputs, not facts: they are
//! read where they are planned.

use std::path::PathBuf;

use crate::builder::ContainerBuilder;
use crate::cgroup::{CgroupMode, Layout};
use crate::error::{Error, Result};
use crate::rootfs::Rootfs;

/// The host's top-level entries the host sandbox takes: a symlink (merged /usr) is
/// recreated, a directory is bound read-only; anything else is left out.
pub(super) const SANDBOX_TOP: &[&str] = &["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/// What the host's /usr needs from /etc to work: the Debian alternatives its links point
/// into, the loader cache, the CA certificates and OpenSSL config (/usr/lib/ssl links
/// here), the time zone. Nothing with secrets: no passwd, shadow, ssl/private. A symlink
/// is recreated, a directory or regular file bound read-only; anything else left out.
pub(super) const SANDBOX_ETC: &[&str] =
    &["/etc/alternatives", "/etc/ld.so.cache", "/etc/ssl/certs", "/etc/ssl/openssl.cnf", "/etc/localtime"];

/// What one of [`SANDBOX_TOP`] / [`SANDBOX_ETC`] is on the host (`lstat`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostEntry {
    /// A symlink, with its contents.
    Symlink(PathBuf),
    Dir,
    File,
}

/// Everything [`super::Plan::new`] reads from the machine.
#[derive(Debug, Clone)]
pub(crate) struct HostFacts<'a> {
    /// `CAP_SETGID` in the caller's effective set. Without it the kernel takes a new user
    /// namespace's gid map only after `setgroups` is denied, so the plan denies it (and
    /// refuses supplementary groups).
    pub cap_setgid: bool,
    /// Containers get the default device policy ([`crate::cgroup::policy_required`]:
    /// `CAP_SYS_ADMIN` in the initial user namespace), in a cgroup of their own.
    pub device_policy: bool,
    /// The running kernel, `(major, minor)`: overlayfs takes `lowerdir+` from 6.8.
    pub kernel: (u32, u32),
    /// The highest capability number the kernel knows (`cap_last_cap`).
    pub last_cap: u32,
    /// The host's cgroup hierarchies (None: no cgroupfs): a v2 host gives a container with
    /// a cgroup namespace a read-only cgroup2 at /sys/fs/cgroup; cgroup limits are
    /// validated against it.
    pub cgroup: Option<&'a Layout>,
    /// What the host has of [`SANDBOX_TOP`] and [`SANDBOX_ETC`], in that order; absent
    /// entries are left out. Read only for a host-sandbox root (empty otherwise).
    pub sandbox: Vec<(&'static str, HostEntry)>,
    /// The kernel's Landlock ABI (0: none), asked only when the builder has a ruleset.
    pub landlock_abi: u32,
}

impl HostFacts<'static> {
    /// Reads the facts from the machine, for planning `b`.
    pub(crate) fn detect(b: &ContainerBuilder) -> Result<HostFacts<'static>> {
        Ok(HostFacts {
            cap_setgid: caps::has_cap(None, caps::CapSet::Effective, caps::Capability::CAP_SETGID).unwrap_or(false),
            device_policy: crate::cgroup::policy_required(),
            kernel: kernel_version(),
            last_cap: crate::capability::last_cap(),
            cgroup: crate::cgroup::layout().ok(),
            sandbox: if b.rootfs == Rootfs::HostSandbox { sandbox_entries()? } else { Vec::new() },
            landlock_abi: if b.landlock.is_some() { super::landlock::kernel_abi() } else { 0 },
        })
    }
}

impl HostFacts<'_> {
    /// Whether the kernel is at least `major.minor`.
    pub(crate) fn kernel_at_least(&self, major: u32, minor: u32) -> bool {
        self.kernel >= (major, minor)
    }

    /// How the host mounts its cgroups, if it does.
    pub(crate) fn cgroup_mode(&self) -> Option<CgroupMode> {
        self.cgroup.map(|l| l.mode)
    }

    /// The cgroup layout, or the error [`crate::cgroup::layout`] gives without one.
    #[cfg(test)]
    pub(crate) fn cgroup_layout(&self) -> std::result::Result<&Layout, crate::cgroup::CgroupError> {
        self.cgroup.ok_or(crate::cgroup::CgroupError::NoCgroupfs)
    }

    /// The host's entry at `path` (one of [`SANDBOX_TOP`] / [`SANDBOX_ETC`]), if it has one.
    pub(super) fn sandbox_entry(&self, path: &str) -> Option<&HostEntry> {
        self.sandbox.iter().find(|(p, _)| *p == path).map(|(_, e)| e)
    }
}

/// `lstat` (and `readlink`) of every [`SANDBOX_TOP`] and [`SANDBOX_ETC`] entry.
fn sandbox_entries() -> Result<Vec<(&'static str, HostEntry)>> {
    let mut out = Vec::new();
    for path in SANDBOX_TOP.iter().chain(SANDBOX_ETC) {
        let Ok(md) = std::fs::symlink_metadata(path) else { continue };
        let entry = if md.file_type().is_symlink() {
            let link = std::fs::read_link(path).map_err(|e| Error::os("readlink", *path, e))?;
            HostEntry::Symlink(link)
        } else if md.is_dir() {
            HostEntry::Dir
        } else if md.is_file() {
            HostEntry::File
        } else {
            continue;
        };
        out.push((*path, entry));
    }
    Ok(out)
}

/// The running kernel's `(major, minor)` (its release, from `uname(2)`: one syscall, where
/// `/proc/sys/kernel/osrelease` takes four), read once.
fn kernel_version() -> (u32, u32) {
    static VERSION: std::sync::OnceLock<(u32, u32)> = std::sync::OnceLock::new();
    *VERSION.get_or_init(|| {
        // SAFETY: utsname is plain data; uname fills it (its fields are NUL-terminated).
        let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
        // SAFETY: a valid, writable utsname.
        let rel = if unsafe { libc::uname(&mut uts) } == 0 {
            // SAFETY: `release` is NUL-terminated within the array after a successful uname.
            unsafe { std::ffi::CStr::from_ptr(uts.release.as_ptr()) }.to_string_lossy().into_owned()
        } else {
            String::new()
        };
        let mut it = rel.trim().split(|c: char| !c.is_ascii_digit()).filter_map(|p| p.parse::<u32>().ok());
        (it.next().unwrap_or(0), it.next().unwrap_or(0))
    })
}

/// Whether the running kernel is at least `major.minor` (for tests that probe the kernel).
#[cfg(test)]
pub(crate) fn kernel_at_least(major: u32, minor: u32) -> bool {
    kernel_version() >= (major, minor)
}
