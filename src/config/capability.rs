//! Capability sets of the container's process (names and numbers from the `caps` crate).

pub use caps::Capability;

/// A set of capabilities as a bit mask (bit n = capability number n).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CapSet(pub u64);

impl CapSet {
    /// The empty set.
    pub const EMPTY: CapSet = CapSet(0);

    /// Every capability this crate knows of.
    pub fn all() -> CapSet {
        caps::all().into_iter().collect()
    }

    /// Whether `cap` is in the set.
    pub fn contains(self, cap: Capability) -> bool {
        self.0 & cap.bitmask() != 0
    }

    /// The set with `cap` added.
    pub fn with(self, cap: Capability) -> CapSet {
        CapSet(self.0 | cap.bitmask())
    }

    /// The set with `cap` removed.
    pub fn without(self, cap: Capability) -> CapSet {
        CapSet(self.0 & !cap.bitmask())
    }

    /// The capabilities in the set.
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        caps::all().into_iter().filter(move |c| self.contains(*c))
    }
}

impl FromIterator<Capability> for CapSet {
    fn from_iter<I: IntoIterator<Item = Capability>>(it: I) -> Self {
        CapSet(it.into_iter().fold(0, |m, c| m | c.bitmask()))
    }
}

/// The five capability sets the program starts with.
///
/// Inheritable and ambient are empty unless asked for (CVE-2022-29162).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Upper bound of what the process and its children can ever gain.
    pub bounding: CapSet,
    /// Capabilities in effect.
    pub effective: CapSet,
    /// Capabilities the process may make effective.
    pub permitted: CapSet,
    /// Capabilities preserved across execve for file-inheritable programs.
    pub inheritable: CapSet,
    /// Capabilities kept across execve of unprivileged programs.
    pub ambient: CapSet,
}

impl Capabilities {
    /// Docker's default set in bounding, effective and permitted; nothing inheritable or
    /// ambient.
    pub fn docker_default() -> Capabilities {
        use Capability::*;
        let set: CapSet = [
            CAP_CHOWN,
            CAP_DAC_OVERRIDE,
            CAP_FSETID,
            CAP_FOWNER,
            CAP_MKNOD,
            CAP_NET_RAW,
            CAP_SETGID,
            CAP_SETUID,
            CAP_SETFCAP,
            CAP_SETPCAP,
            CAP_NET_BIND_SERVICE,
            CAP_SYS_CHROOT,
            CAP_KILL,
            CAP_AUDIT_WRITE,
        ]
        .into_iter()
        .collect();
        Capabilities::uniform(set)
    }

    /// No capabilities at all.
    pub fn none() -> Capabilities {
        Capabilities::uniform(CapSet::EMPTY)
    }

    /// `set` in bounding, effective and permitted; nothing inheritable or ambient.
    pub fn uniform(set: CapSet) -> Capabilities {
        Capabilities {
            bounding: set,
            effective: set,
            permitted: set,
            inheritable: CapSet::EMPTY,
            ambient: CapSet::EMPTY,
        }
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities::docker_default()
    }
}

/// The highest capability number the running kernel knows (`/proc/sys/kernel/cap_last_cap`).
pub(crate) fn last_cap() -> u32 {
    static LAST: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *LAST.get_or_init(|| {
        crate::kernel_file::read_to_string("/proc/sys/kernel/cap_last_cap", 16)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(40)
    })
}
