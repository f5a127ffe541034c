//! Which namespaces a container gets, and the time namespace offsets.

use std::time::Duration;

bitflags::bitflags! {
    /// The set of new namespaces a container is created in.
    ///
    /// Flags not in the set are shared with the calling process.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Namespaces: u32 {
        /// Own mount table (required for a rootfs and any mount).
        const MOUNT = 1 << 0;
        /// Own hostname and NIS domain name.
        const UTS = 1 << 1;
        /// Own System V IPC objects and POSIX message queues.
        const IPC = 1 << 2;
        /// Own process ids; the program (or cocoon's init) is PID 1.
        const PID = 1 << 3;
        /// Own network stack with only loopback (brought up).
        const NET = 1 << 4;
        /// Own user and group ids; needs id maps.
        const USER = 1 << 5;
        /// Own view of the cgroup hierarchy.
        const CGROUP = 1 << 6;
        /// Own CLOCK_MONOTONIC / CLOCK_BOOTTIME offsets.
        const TIME = 1 << 7;
    }
}

impl Namespaces {
    /// Mount, UTS, IPC, PID, network and cgroup: full isolation for a root caller without
    /// a user namespace (the default).
    pub const DEFAULT: Namespaces = Namespaces::MOUNT
        .union(Namespaces::UTS)
        .union(Namespaces::IPC)
        .union(Namespaces::PID)
        .union(Namespaces::NET)
        .union(Namespaces::CGROUP);

    /// The `CLONE_NEW*` flags for these namespaces. Time and cgroup are excluded: the
    /// child unshares them itself, time so that its offsets can be written first, cgroup
    /// after the parent has moved it into its cgroup (so that cgroup becomes the
    /// namespace's root on v1 hosts too, where CLONE_INTO_CGROUP does not exist).
    pub(crate) fn clone_flags(self) -> u64 {
        let mut f = 0u64;
        for (ns, flag) in Self::FLAG_TABLE {
            if self.contains(*ns) && *ns != Namespaces::TIME && *ns != Namespaces::CGROUP {
                f |= *flag as u64;
            }
        }
        f
    }

    /// Each kind with its file name under `/proc/<pid>/ns/`, in the kernel's usual order.
    pub const PROC_NAMES: [(Namespaces, &'static str); 8] = [
        (Namespaces::MOUNT, "mnt"),
        (Namespaces::UTS, "uts"),
        (Namespaces::IPC, "ipc"),
        (Namespaces::PID, "pid"),
        (Namespaces::NET, "net"),
        (Namespaces::USER, "user"),
        (Namespaces::CGROUP, "cgroup"),
        (Namespaces::TIME, "time"),
    ];

    /// The `CLONE_NEW*` flags for `setns` with a pidfd, time included.
    pub(crate) fn setns_flags(self) -> i32 {
        Self::FLAG_TABLE
            .iter()
            .filter(|(ns, _)| self.contains(*ns))
            .fold(0, |acc, (_, f)| acc | *f)
    }

    const FLAG_TABLE: &'static [(Namespaces, i32)] = &[
        (Namespaces::MOUNT, libc::CLONE_NEWNS),
        (Namespaces::UTS, libc::CLONE_NEWUTS),
        (Namespaces::IPC, libc::CLONE_NEWIPC),
        (Namespaces::PID, libc::CLONE_NEWPID),
        (Namespaces::NET, libc::CLONE_NEWNET),
        (Namespaces::USER, libc::CLONE_NEWUSER),
        (Namespaces::CGROUP, libc::CLONE_NEWCGROUP),
        (Namespaces::TIME, 0x80), // CLONE_NEWTIME
    ];
}

impl Default for Namespaces {
    fn default() -> Self {
        Namespaces::DEFAULT
    }
}

/// Clock offsets of a new time namespace (needs [`Namespaces::TIME`]).
///
/// The program sees `CLOCK_MONOTONIC` and `CLOCK_BOOTTIME` shifted by these amounts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeOffsets {
    /// Added to `CLOCK_MONOTONIC`.
    pub monotonic: Duration,
    /// Added to `CLOCK_BOOTTIME`.
    pub boottime: Duration,
}

impl TimeOffsets {
    /// The `timens_offsets` file contents (`<clock id> <secs> <nanos>` per line).
    pub(crate) fn render(&self) -> String {
        format!(
            "{} {} {}\n{} {} {}\n",
            libc::CLOCK_MONOTONIC,
            self.monotonic.as_secs(),
            self.monotonic.subsec_nanos(),
            libc::CLOCK_BOOTTIME,
            self.boottime.as_secs(),
            self.boottime.subsec_nanos()
        )
    }
}
