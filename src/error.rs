//! The one error type every fallible cocoon call returns.
//!
//! Errors are typed: a caller can tell a bad configuration (caught before any process
//! exists) from a failing setup step inside the child (reported back with the [`Stage`]
//! it failed at, the path or value involved, and the OS error).

use std::fmt;
use std::io;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while building, running or tearing down a container.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A builder value was rejected before anything was created.
    #[error("invalid {what}: {reason}")]
    InvalidConfig {
        /// Which setting was rejected (e.g. `"hostname"`, `"uid map"`).
        what: &'static str,
        /// Why it was rejected, naming the offending value.
        reason: String,
    },

    /// A setup step inside the new container failed between clone and exec.
    #[error("container setup failed at {stage} ({detail}): {source}")]
    Setup {
        /// The step that failed.
        stage: Stage,
        /// The path, value or item the step was working on.
        detail: String,
        /// The OS error the step got.
        #[source]
        source: io::Error,
    },

    /// A host-side operation (in the calling process) failed.
    #[error("{op} failed ({detail}): {source}")]
    Os {
        /// The operation, e.g. `"clone3"` or `"write uid_map"`.
        op: &'static str,
        /// The path or value involved.
        detail: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },

    /// A seccomp profile cannot be compiled (an unknown syscall name, an argument index
    /// above 5, an errno out of range, a notify action).
    #[error(transparent)]
    Seccomp(#[from] crate::seccomp::ProfileError),

    /// A cgroup could not be created, configured, read or removed.
    #[error(transparent)]
    Cgroup(#[from] crate::cgroup::CgroupError),

    /// An SELinux label could not be parsed, allocated or applied.
    #[error(transparent)]
    Selinux(#[from] crate::selinux::SelinuxError),

    /// A file the image controls (its `/etc/passwd` or `/etc/group`, read to resolve a
    /// user name, also of a running container for [`crate::Container::exec`]) is not safe
    /// to read: not a regular file (a FIFO would block forever, a device would run its
    /// driver), larger than [`crate::image_file::MAX_IMAGE_FILE`], or unreadable.
    #[error("cannot use the image's {} ({problem})", path.display())]
    ImageFile {
        /// The file, as the host sees it (below the rootfs, a layer or `/proc/<pid>/root`).
        path: std::path::PathBuf,
        /// What is wrong with it.
        problem: crate::image_file::ImageFileProblem,
    },

    /// An image could not be imported, found or unpacked (a digest mismatch, a hostile
    /// or malformed archive, a missing reference): see [`crate::image::ImageError`].
    #[error(transparent)]
    Image(#[from] crate::image::ImageError),

    /// A static address is leased by another live container on the same bridge.
    #[error("address {address} on bridge {bridge} is in use by another live container")]
    AddressInUse {
        /// The bridge.
        bridge: String,
        /// The address asked for.
        address: std::net::Ipv4Addr,
    },

    /// A host port is published by another live container (same protocol and port, and
    /// the same host address or either on all of them).
    #[error("host port {port}/{protocol} is published by another live container")]
    PortInUse {
        /// TCP or UDP.
        protocol: crate::net::Protocol,
        /// The host port.
        port: u16,
    },

    /// The running kernel lacks a feature the configuration requires (e.g. a Landlock
    /// right above its ABI in [`crate::landlock::LandlockMode::Required`]); nothing was
    /// created.
    #[error("unsupported {what}: {reason}")]
    Unsupported {
        /// Which setting needs it (e.g. `"landlock"`).
        what: &'static str,
        /// What the kernel lacks, naming the rule.
        reason: String,
    },

    /// The operation needs a running container, but it has already been reaped.
    #[error("the container has already exited")]
    AlreadyExited,

    /// Starting a created container ([`crate::Container::start`],
    /// [`crate::start_created`]) that is not held: it was started already, or it is gone.
    #[error("the container is not in the created state (started already, or gone)")]
    NotCreated,
}

impl Error {
    /// Shorthand for [`Error::InvalidConfig`].
    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidConfig { what, reason: reason.into() }
    }

    /// Shorthand for [`Error::Os`] from the current `errno`.
    pub(crate) fn last_os(op: &'static str, detail: impl Into<String>) -> Self {
        Error::Os { op, detail: detail.into(), source: io::Error::last_os_error() }
    }

    /// Shorthand for [`Error::Os`] from an [`io::Error`].
    pub(crate) fn os(op: &'static str, detail: impl Into<String>, source: io::Error) -> Self {
        Error::Os { op, detail: detail.into(), source }
    }

    /// The OS error number behind this error, if there is one.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Setup { source, .. } | Error::Os { source, .. } => source.raw_os_error(),
            Error::Cgroup(e) => e.raw_os_error(),
            Error::Selinux(e) => e.raw_os_error(),
            Error::ImageFile { problem, .. } => problem.raw_os_error(),
            Error::Image(e) => e.raw_os_error(),
            _ => None,
        }
    }

    /// The child setup stage that failed, for [`Error::Setup`].
    pub fn stage(&self) -> Option<Stage> {
        match self {
            Error::Setup { stage, .. } => Some(*stage),
            _ => None,
        }
    }
}

macro_rules! stages {
    ($($(#[$doc:meta])* $name:ident = $num:literal => $text:literal,)*) => {
        /// A step of container setup, as reported by the child when it fails.
        ///
        /// The numbers are stable: they cross the C ABI and the child→parent report.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u32)]
        #[non_exhaustive]
        pub enum Stage {
            $($(#[$doc])* $name = $num,)*
        }

        impl Stage {
            /// Decodes a stage number sent by the child.
            pub(crate) fn from_u32(n: u32) -> Option<Stage> {
                match n { $($num => Some(Stage::$name),)* _ => None }
            }

            /// A short human-readable name of the stage.
            pub fn as_str(self) -> &'static str {
                match self { $(Stage::$name => $text,)* }
            }
        }
    };
}

stages! {
    /// Talking to the parent over the setup socket.
    Sync = 1 => "sync with parent",
    /// Becoming root inside a new user namespace.
    UserNamespace = 2 => "user namespace",
    /// Creating the time namespace.
    TimeNamespace = 3 => "time namespace",
    /// Setting the hostname.
    Hostname = 4 => "sethostname",
    /// Setting the NIS domain name.
    Domainname = 5 => "setdomainname",
    /// Making the inherited mounts private.
    MountPropagation = 6 => "mount propagation",
    /// Mounting the container's root filesystem.
    Rootfs = 7 => "rootfs",
    /// Resolving or creating a mount target inside the root.
    MountTarget = 8 => "mount target",
    /// Mounting a filesystem or bind mount.
    Mount = 9 => "mount",
    /// Creating a symlink or file inside the root.
    CreateFile = 10 => "create file",
    /// Switching root with pivot_root.
    PivotRoot = 11 => "pivot_root",
    /// Masking a path.
    MaskPath = 12 => "mask path",
    /// Making a path read-only.
    ReadonlyPath = 13 => "read-only path",
    /// Making the root read-only.
    ReadonlyRoot = 14 => "read-only root",
    /// Bringing up loopback in a new network namespace.
    Loopback = 15 => "loopback",
    /// Setting resource limits.
    Rlimit = 16 => "setrlimit",
    /// Setting supplementary groups.
    Groups = 17 => "setgroups",
    /// Setting the group id.
    SetGid = 18 => "setgid",
    /// Setting the user id.
    SetUid = 19 => "setuid",
    /// Dropping capabilities from the bounding set.
    CapBounding = 20 => "capability bounding set",
    /// Setting effective/permitted/inheritable capabilities.
    Capabilities = 21 => "capset",
    /// Raising ambient capabilities.
    AmbientCapabilities = 22 => "ambient capabilities",
    /// Setting no_new_privs.
    NoNewPrivs = 23 => "no_new_privs",
    /// Changing to the working directory.
    Cwd = 24 => "working directory",
    /// Wiring stdin/stdout/stderr and passed fds.
    Stdio = 25 => "stdio",
    /// Closing or marking close-on-exec the fds not passed on.
    CloseFds = 26 => "close fds",
    /// Writing the SELinux exec label.
    SelinuxLabel = 27 => "selinux label",
    /// Installing the seccomp filter.
    Seccomp = 28 => "seccomp",
    /// Executing the program.
    Exec = 29 => "exec",
    /// Starting the minimal init.
    Init = 30 => "init",
    /// Joining the namespaces of a running container.
    JoinNamespaces = 31 => "setns",
    /// Making the process non-dumpable.
    Dumpable = 32 => "set non-dumpable",
    /// Creating or setting up a device node.
    Device = 33 => "device",
    /// Setting the session/controlling terminal.
    Session = 34 => "setsid",
    /// Setting the SELinux keyring label.
    KeyringLabel = 35 => "keyring label",
    /// Creating the cgroup namespace.
    CgroupNamespace = 36 => "cgroup namespace",
    /// Parent-side network setup (bridge, veth pair, lease, address, route).
    Network = 37 => "network",
    /// Applying the Landlock ruleset (the index names the rule).
    Landlock = 38 => "landlock",
    /// Writing a sysctl (`/proc/sys`, through a private procfs; the index names it).
    Sysctl = 39 => "sysctl",
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
