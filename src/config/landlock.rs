//! Landlock: filesystem rules (what the program may do beneath which paths of the
//! container) and TCP port rules, applied by the child as the last step before the exec
//! helper runs (after `pivot_root`, so paths are inside the container).
//!
//! The kernel's Landlock ABI grows with its version (1: the filesystem rights of 5.13,
//! 2: `REFER`, 3: `TRUNCATE`, 4: TCP bind/connect, 5: `IOCTL_DEV`). The ABI is asked once
//! per plan; a right the running ABI lacks is dropped and reported
//! ([`LandlockMode::BestEffort`], [`crate::Plan::landlock_status`]) or refused before
//! anything is created ([`LandlockMode::Required`], [`crate::Error::Unsupported`]).
//!
//! What is restricted: with at least one filesystem rule, every filesystem right the ABI
//! has is *handled* (denied unless a rule grants it beneath the path); with at least one
//! port rule of a kind (bind / connect), that kind is handled for every TCP port. The
//! program itself (each PATH candidate) is given `EXECUTE | READ_FILE` automatically;
//! its dynamic loader and libraries are not: allow e.g. `execute("/lib")` and
//! `read("/lib")` (or `/usr`) for a dynamically linked program. cocoon's exec helper runs
//! from a sealed memfd, which Landlock does not restrict. Processes exec'd into the
//! container ([`crate::Container::exec`]) get the same ruleset.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

bitflags::bitflags! {
    /// Filesystem access rights (`LANDLOCK_ACCESS_FS_*`, the kernel's bit values).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct FsAccess: u64 {
        /// Execute a file (ABI 1).
        const EXECUTE = 1 << 0;
        /// Open a file for writing (ABI 1).
        const WRITE_FILE = 1 << 1;
        /// Open a file for reading (ABI 1).
        const READ_FILE = 1 << 2;
        /// List a directory (ABI 1).
        const READ_DIR = 1 << 3;
        /// Remove an empty directory or rename one (ABI 1).
        const REMOVE_DIR = 1 << 4;
        /// Unlink or rename a file (ABI 1).
        const REMOVE_FILE = 1 << 5;
        /// Create a character device (ABI 1).
        const MAKE_CHAR = 1 << 6;
        /// Create a directory (ABI 1).
        const MAKE_DIR = 1 << 7;
        /// Create a regular file (ABI 1).
        const MAKE_REG = 1 << 8;
        /// Create a UNIX socket (ABI 1).
        const MAKE_SOCK = 1 << 9;
        /// Create a named pipe (ABI 1).
        const MAKE_FIFO = 1 << 10;
        /// Create a block device (ABI 1).
        const MAKE_BLOCK = 1 << 11;
        /// Create a symbolic link (ABI 1).
        const MAKE_SYM = 1 << 12;
        /// Link or rename a file from or to another directory (ABI 2; before it the
        /// kernel always refuses that under Landlock).
        const REFER = 1 << 13;
        /// Truncate a file (ABI 3).
        const TRUNCATE = 1 << 14;
        /// `ioctl` on a character or block device (ABI 5).
        const IOCTL_DEV = 1 << 15;

        /// [`Self::READ_FILE`] | [`Self::READ_DIR`].
        const READ = Self::READ_FILE.bits() | Self::READ_DIR.bits();
        /// Every right but [`Self::EXECUTE`]: read, write, create, remove, rename.
        const READ_WRITE = 0xffff & !Self::EXECUTE.bits();
    }
}

bitflags::bitflags! {
    /// TCP access rights (`LANDLOCK_ACCESS_NET_*`, ABI 4).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct NetAccess: u64 {
        /// `bind(2)` a TCP socket to the port.
        const BIND_TCP = 1 << 0;
        /// `connect(2)` a TCP socket to the port.
        const CONNECT_TCP = 1 << 1;
    }
}

/// The rights that apply to a file (not only to a directory): a rule on a file keeps
/// only these.
pub(crate) const FS_FILE_RIGHTS: u64 = FsAccess::EXECUTE.bits()
    | FsAccess::WRITE_FILE.bits()
    | FsAccess::READ_FILE.bits()
    | FsAccess::TRUNCATE.bits()
    | FsAccess::IOCTL_DEV.bits();

/// The filesystem rights of Landlock ABI `abi` (0: none).
pub fn fs_rights_of_abi(abi: u32) -> FsAccess {
    let mut r = FsAccess::empty();
    if abi >= 1 {
        r |= FsAccess::from_bits_retain((1 << 13) - 1);
    }
    if abi >= 2 {
        r |= FsAccess::REFER;
    }
    if abi >= 3 {
        r |= FsAccess::TRUNCATE;
    }
    if abi >= 5 {
        r |= FsAccess::IOCTL_DEV;
    }
    r
}

/// The network rights of Landlock ABI `abi`.
pub fn net_rights_of_abi(abi: u32) -> NetAccess {
    if abi >= 4 {
        NetAccess::all()
    } else {
        NetAccess::empty()
    }
}

/// The lowest ABI that has every right of `a` (`None`: a bit no ABI known here has).
pub(crate) fn fs_abi_needed(a: FsAccess) -> Option<u32> {
    (1..=5).find(|abi| fs_rights_of_abi(*abi).contains(a))
}

/// What to do when the running kernel's Landlock ABI lacks a requested right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LandlockMode {
    /// Drop the rights the ABI lacks (a kernel without Landlock: apply nothing) and say
    /// so in [`crate::Plan::landlock_status`].
    #[default]
    BestEffort,
    /// Refuse the container with [`crate::Error::Unsupported`] before anything exists.
    Required,
}

/// A Landlock ruleset for the container's program (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Landlock {
    pub(crate) paths: Vec<(PathBuf, FsAccess)>,
    pub(crate) ports: Vec<(u16, NetAccess)>,
    pub(crate) mode: LandlockMode,
    pub(crate) max_abi: Option<u32>,
}

impl Landlock {
    /// An empty ruleset (restricts nothing until a rule is added), best-effort.
    pub fn new() -> Landlock {
        Landlock::default()
    }

    /// Allows `access` beneath `path` (a directory: everything under it; a file: that
    /// file, with only the rights that apply to files). `path` is inside the container.
    pub fn allow(mut self, path: impl Into<PathBuf>, access: FsAccess) -> Landlock {
        self.paths.push((path.into(), access));
        self
    }

    /// Allows reading files and listing directories beneath `path`.
    pub fn read(self, path: impl Into<PathBuf>) -> Landlock {
        self.allow(path, FsAccess::READ)
    }

    /// Allows everything but executing beneath `path`: read, write, create, remove,
    /// rename, truncate, device ioctls. That includes `IOCTL_DEV` (ABI 5, Linux 6.10): in
    /// [`LandlockMode::Required`] on an older kernel, ask for
    /// `FsAccess::READ_WRITE - FsAccess::IOCTL_DEV` (and so on) with [`Self::allow`].
    pub fn read_write(self, path: impl Into<PathBuf>) -> Landlock {
        self.allow(path, FsAccess::READ_WRITE)
    }

    /// Allows executing files beneath `path` (add [`Self::read`] for what the program's
    /// loader reads).
    pub fn execute(self, path: impl Into<PathBuf>) -> Landlock {
        self.allow(path, FsAccess::EXECUTE)
    }

    /// Allows `access` on TCP port `port` (ABI 4).
    pub fn allow_port(mut self, port: u16, access: NetAccess) -> Landlock {
        self.ports.push((port, access));
        self
    }

    /// Allows binding TCP sockets to `port`; every other port is then refused to `bind`.
    pub fn bind_port(self, port: u16) -> Landlock {
        self.allow_port(port, NetAccess::BIND_TCP)
    }

    /// Allows TCP connections to `port`; every other port is then refused to `connect`.
    pub fn connect_port(self, port: u16) -> Landlock {
        self.allow_port(port, NetAccess::CONNECT_TCP)
    }

    /// What to do when the kernel lacks a requested right.
    pub fn mode(mut self, mode: LandlockMode) -> Landlock {
        self.mode = mode;
        self
    }

    /// Uses at most Landlock ABI `abi` even if the kernel has a newer one: the container
    /// behaves the same on every kernel from that ABI on (and tests see an older kernel).
    pub fn max_abi(mut self, abi: u32) -> Landlock {
        self.max_abi = Some(abi);
        self
    }

    /// The filesystem rules, in order.
    pub fn paths(&self) -> &[(PathBuf, FsAccess)] {
        &self.paths
    }

    /// The port rules, in order.
    pub fn ports(&self) -> &[(u16, NetAccess)] {
        &self.ports
    }

    /// The mode.
    pub fn get_mode(&self) -> LandlockMode {
        self.mode
    }

    /// Checks the rules without touching the host: absolute paths without `..` or NUL
    /// (`/` is allowed), non-empty rights.
    pub fn validate(&self) -> Result<()> {
        for (p, a) in &self.paths {
            validate_path(p)?;
            if a.is_empty() {
                return Err(Error::invalid("landlock rule", format!("{}: no access rights", p.display())));
            }
        }
        for (port, a) in &self.ports {
            if a.is_empty() {
                return Err(Error::invalid("landlock rule", format!("tcp port {port}: no access rights")));
            }
        }
        Ok(())
    }
}

fn validate_path(p: &Path) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    if p.as_os_str().as_bytes().contains(&0) {
        return Err(Error::invalid("landlock path", format!("{:?} contains a NUL byte", p)));
    }
    if p == Path::new("/") {
        return Ok(());
    }
    crate::mount::container_path("landlock path", p).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_rights() {
        assert_eq!(fs_rights_of_abi(0), FsAccess::empty());
        assert_eq!(fs_rights_of_abi(1).bits(), 0x1fff);
        assert_eq!(fs_rights_of_abi(3).bits(), 0x7fff);
        assert_eq!(fs_rights_of_abi(5), FsAccess::all());
        assert_eq!(fs_abi_needed(FsAccess::READ), Some(1));
        assert_eq!(fs_abi_needed(FsAccess::READ_WRITE), Some(5));
        assert_eq!(fs_abi_needed(FsAccess::REFER | FsAccess::READ), Some(2));
        assert_eq!(fs_abi_needed(FsAccess::from_bits_retain(1 << 40)), None);
        assert!(net_rights_of_abi(3).is_empty());
        assert_eq!(net_rights_of_abi(4), NetAccess::all());
    }

    #[test]
    fn validation() {
        assert!(Landlock::new().read("/").read_write("/tmp").validate().is_ok());
        for bad in ["relative", "/a/../b", "/a\0b"] {
            let e = Landlock::new().read(bad).validate();
            assert!(matches!(e, Err(Error::InvalidConfig { what: "landlock path", .. })), "{bad}: {e:?}");
        }
        assert!(Landlock::new().allow("/x", FsAccess::empty()).validate().is_err());
        assert!(Landlock::new().allow_port(80, NetAccess::empty()).validate().is_err());
    }
}
