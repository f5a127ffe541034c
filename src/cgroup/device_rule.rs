//! Device access rules ([`DeviceRule`]) as a configuration gives them; `devices.rs` turns
//! them into the enforced policy.

use super::CgroupError;

/// Largest device major number (12 bits).
pub const DEVICE_MAJOR_MAX: u32 = (1 << 12) - 1;
/// Largest device minor number (20 bits).
pub const DEVICE_MINOR_MAX: u32 = (1 << 20) - 1;

/// The kind of device a [`DeviceRule`] covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// Every device (`a`); major and minor must be [`DeviceNumber::Any`].
    All,
    /// Character devices (`c`).
    Char,
    /// Block devices (`b`).
    Block,
}

/// A major or minor number in a [`DeviceRule`], or a wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceNumber {
    /// `*`.
    Any,
    /// This number.
    Num(u32),
}

bitflags::bitflags! {
    /// What a [`DeviceRule`] allows or denies.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct DeviceAccess: u8 {
        /// Read (`r`).
        const READ = 1;
        /// Write (`w`).
        const WRITE = 2;
        /// mknod (`m`).
        const MKNOD = 4;
    }
}

/// A device access rule, with the v1 `devices` controller's semantics (on cgroup v2 cocoon
/// enforces the same list with an eBPF device program). Rules apply in order. A container's
/// list starts with cocoon's default policy (Docker's: deny all, allow `rwm` on null, zero,
/// full, random, urandom, tty, console, ptmx and `136:*` pts), so a rule allowing one more
/// device is enough; `DeviceRule::allow(DeviceKind::All, ..)` turns the policy off. A
/// [`crate::cgroup::CgroupHandle`] starts from its parent's list (v1) or allow-all (v2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceRule {
    /// Allow (true) or deny (false).
    pub allow: bool,
    /// Device kind.
    pub kind: DeviceKind,
    /// Major number.
    pub major: DeviceNumber,
    /// Minor number.
    pub minor: DeviceNumber,
    /// Access bits (not empty).
    pub access: DeviceAccess,
}

impl DeviceRule {
    /// Allows `access` to the `kind` device `major:minor`.
    pub fn allow(kind: DeviceKind, major: DeviceNumber, minor: DeviceNumber, access: DeviceAccess) -> Self {
        DeviceRule { allow: true, kind, major, minor, access }
    }
    /// Denies `access` to the `kind` device `major:minor`.
    pub fn deny(kind: DeviceKind, major: DeviceNumber, minor: DeviceNumber, access: DeviceAccess) -> Self {
        DeviceRule { allow: false, kind, major, minor, access }
    }
    /// Denies every access to every device (`a *:* rwm`).
    pub fn deny_all() -> Self {
        DeviceRule::deny(DeviceKind::All, DeviceNumber::Any, DeviceNumber::Any, DeviceAccess::all())
    }
    /// Allows `rwm` on the character device `major:minor`.
    pub fn allow_char(major: u32, minor: u32) -> Self {
        DeviceRule::allow(DeviceKind::Char, DeviceNumber::Num(major), DeviceNumber::Num(minor), DeviceAccess::all())
    }

    pub(super) fn validate(&self) -> Result<(), CgroupError> {
        let bad = |reason: String| Err(CgroupError::invalid("devices", "device rule", reason));
        if self.access.is_empty() {
            return bad(format!("{self:?} has no access bits"));
        }
        if let DeviceNumber::Num(m) = self.major {
            if m > DEVICE_MAJOR_MAX {
                return bad(format!("major {m} is above {DEVICE_MAJOR_MAX}"));
            }
        }
        if let DeviceNumber::Num(m) = self.minor {
            if m > DEVICE_MINOR_MAX {
                return bad(format!("minor {m} is above {DEVICE_MINOR_MAX}"));
            }
        }
        if self.kind == DeviceKind::All
            && (self.major != DeviceNumber::Any || self.minor != DeviceNumber::Any)
        {
            return bad("a rule for all device kinds must use * for major and minor".into());
        }
        Ok(())
    }
}
