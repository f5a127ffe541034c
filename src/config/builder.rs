//! `ContainerBuilder`: every setting of a container, checked before anything is created.

use std::path::PathBuf;

use crate::cgroup::CgroupConfig;
use crate::landlock::Landlock;
use crate::container::Container;
use crate::error::{Error, Result};
use crate::idmap::{validate_id_map, IdRange};
use crate::mount::Mount;
use crate::namespace::{Namespaces, TimeOffsets};
use crate::net::Network;
use crate::plan::{HostFacts, Plan};
use crate::process::Process;
use crate::rootfs::Rootfs;
use crate::selinux::SelinuxConfig;

/// Paths masked by default (Docker's list): files are covered by `/dev/null`, directories
/// by an empty read-only tmpfs. Paths missing on the running kernel are skipped.
pub const DEFAULT_MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths made read-only by default (Docker's list).
pub const DEFAULT_READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// The maximum length of a hostname or domain name (`HOST_NAME_MAX`).
pub const MAX_HOSTNAME_LEN: usize = 64;

/// Builds a container: namespaces, id maps, names, root filesystem, mounts, limits and
/// the process to run. [`ContainerBuilder::spawn`] starts it.
///
/// ```no_run
/// use cocoon::{ContainerBuilder, Process};
/// let mut c = ContainerBuilder::new(Process::new("/bin/hostname"))
///     .hostname("box")
///     .read_only_root(true)
///     .spawn()?;
/// assert!(c.wait()?.success());
/// # Ok::<(), cocoon::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ContainerBuilder {
    pub(crate) id: Option<String>,
    pub(crate) namespaces: Namespaces,
    pub(crate) uid_map: Vec<IdRange>,
    pub(crate) gid_map: Vec<IdRange>,
    pub(crate) hostname: Option<String>,
    pub(crate) domainname: Option<String>,
    pub(crate) time_offsets: TimeOffsets,
    pub(crate) rootfs: Rootfs,
    pub(crate) read_only_root: bool,
    pub(crate) mounts: Vec<Mount>,
    pub(crate) standard_mounts: bool,
    pub(crate) masked_paths: Vec<PathBuf>,
    pub(crate) readonly_paths: Vec<PathBuf>,
    pub(crate) process: Process,
    pub(crate) init: bool,
    pub(crate) direct_child: bool,
    pub(crate) cgroup: Option<CgroupConfig>,
    pub(crate) selinux: Option<SelinuxConfig>,
    pub(crate) joins: Vec<(Namespaces, PathBuf)>,
    pub(crate) network: Network,
    pub(crate) landlock: Option<Landlock>,
    pub(crate) default_devices: bool,
    pub(crate) sysctls: Vec<(String, String)>,
    pub(crate) subids: Option<super::subids::SubordinateIds>,
    /// Set by `prepare` on its resolved copy: the helpers that write the maps.
    pub(crate) id_helpers: Option<crate::plan::IdHelpers>,
}

impl ContainerBuilder {
    /// A container that runs `process` with the default namespaces
    /// ([`Namespaces::DEFAULT`]), the embedded host-sandbox root, the standard mounts and
    /// Docker's masked and read-only paths.
    pub fn new(process: Process) -> ContainerBuilder {
        ContainerBuilder {
            id: None,
            namespaces: Namespaces::DEFAULT,
            uid_map: Vec::new(),
            gid_map: Vec::new(),
            hostname: None,
            domainname: None,
            time_offsets: TimeOffsets::default(),
            rootfs: Rootfs::HostSandbox,
            read_only_root: false,
            mounts: Vec::new(),
            standard_mounts: true,
            masked_paths: DEFAULT_MASKED_PATHS.iter().map(PathBuf::from).collect(),
            readonly_paths: DEFAULT_READONLY_PATHS.iter().map(PathBuf::from).collect(),
            process,
            init: false,
            direct_child: false,
            cgroup: None,
            selinux: None,
            joins: Vec::new(),
            network: Network::None,
            landlock: None,
            default_devices: false,
            sysctls: Vec::new(),
            subids: None,
            id_helpers: None,
        }
    }

    /// The container's id (letters, digits, `_`, `-`, `.`; 1–64 bytes). It names the
    /// cgroup. Default: `cocoon-<pid>-<counter>`.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.set_id(id);
        self
    }

    /// Which namespaces are new. [`Namespaces::MOUNT`] is required for a rootfs.
    pub fn namespaces(mut self, ns: Namespaces) -> Self {
        self.set_namespaces(ns);
        self
    }

    /// The uid map of a new user namespace (adds [`Namespaces::USER`]).
    pub fn uid_map(mut self, map: impl IntoIterator<Item = IdRange>) -> Self {
        self.set_uid_map(map);
        self
    }

    /// The gid map of a new user namespace (adds [`Namespaces::USER`]).
    pub fn gid_map(mut self, map: impl IntoIterator<Item = IdRange>) -> Self {
        self.set_gid_map(map);
        self
    }

    /// The hostname (needs [`Namespaces::UTS`]; at most 64 bytes).
    pub fn hostname(mut self, name: impl Into<String>) -> Self {
        self.set_hostname(name);
        self
    }

    /// The NIS domain name (needs [`Namespaces::UTS`]; at most 64 bytes).
    pub fn domainname(mut self, name: impl Into<String>) -> Self {
        self.set_domainname(name);
        self
    }

    /// Clock offsets of a new time namespace (adds [`Namespaces::TIME`]).
    pub fn time_offsets(mut self, offsets: TimeOffsets) -> Self {
        self.set_time_offsets(offsets);
        self
    }

    /// The root filesystem (default [`Rootfs::HostSandbox`]).
    pub fn rootfs(mut self, rootfs: Rootfs) -> Self {
        self.set_rootfs(rootfs);
        self
    }

    /// Whether the root is mounted read-only (mounts on top of it keep their own mode).
    pub fn read_only_root(mut self, yes: bool) -> Self {
        self.set_read_only_root(yes);
        self
    }

    /// Adds a bind or tmpfs mount, applied after the standard mounts, in order.
    pub fn mount(mut self, m: Mount) -> Self {
        self.add_mount(m);
        self
    }

    /// Whether `/proc`, `/sys` (read-only), `/dev` (tmpfs with null, zero, full, random,
    /// urandom, tty, pts, shm, mqueue and the standard links) are mounted (default true).
    pub fn standard_mounts(mut self, yes: bool) -> Self {
        self.set_standard_mounts(yes);
        self
    }

    /// With the standard mounts off: whether the standard device nodes (`null`, `zero`,
    /// `full`, `random`, `urandom`, `tty`, bound from the host and checked by number) and
    /// the `/dev` links (`fd`, `stdin`, `stdout`, `stderr`, `ptmx` → `pts/ptmx`) are made
    /// after the mounts added with [`ContainerBuilder::mount`] (default false) — the OCI
    /// runtime spec's default devices, for a `/dev` the caller mounts itself.
    pub fn default_devices(mut self, yes: bool) -> Self {
        self.default_devices = yes;
        self
    }

    /// Sets a namespaced sysctl (`net.ipv4.ip_forward`, or the path form
    /// `net/ipv4/ip_forward`), written before the container's mounts are built, through a
    /// private procfs of the container's namespaces (never a path the image controls).
    /// Only sysctls of the container's own namespaces are accepted: `kernel.shm*`,
    /// `kernel.msg*`, `kernel.sem`, `fs.mqueue.*` (IPC), `net.*` (network),
    /// `kernel.hostname`/`kernel.domainname` (UTS). Setting a key again replaces it.
    pub fn sysctl(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.set_sysctl(key, value);
        self
    }

    /// Replaces the masked paths (default [`DEFAULT_MASKED_PATHS`]).
    pub fn masked_paths(mut self, paths: impl IntoIterator<Item = impl Into<PathBuf>>) -> Self {
        self.set_masked_paths(paths);
        self
    }

    /// Replaces the read-only paths (default [`DEFAULT_READONLY_PATHS`]).
    pub fn readonly_paths(mut self, paths: impl IntoIterator<Item = impl Into<PathBuf>>) -> Self {
        self.set_readonly_paths(paths);
        self
    }

    /// Replaces the process to run.
    pub fn process(mut self, process: Process) -> Self {
        self.set_process(process);
        self
    }

    /// Runs a minimal init as PID 1 that reaps orphans and forwards signals to the
    /// program (needs [`Namespaces::PID`]). The init is cocoon's small exec helper (not a
    /// copy of the calling process: `/proc/1/cmdline` shows `cocoon-init` and the
    /// program's argv), running with the process's credentials, capabilities and seccomp
    /// filter; it exits with the program's exit code, or 128 + the signal that killed it.
    pub fn init(mut self, yes: bool) -> Self {
        self.set_init(yes);
        self
    }

    /// Joins an existing namespace instead of creating one: `ns` is one of
    /// [`Namespaces::NET`], [`Namespaces::IPC`] or [`Namespaces::UTS`], and `path` a
    /// namespace file such as `/run/netns/NAME` or `/proc/PID/ns/net`. The flag is taken
    /// out of the new namespaces. The process becomes non-dumpable before joining.
    pub fn join_namespace(mut self, ns: Namespaces, path: impl Into<PathBuf>) -> Self {
        self.add_namespace_join(ns, path);
        self
    }

    /// Puts the container in its own cgroup with these limits.
    pub fn cgroup(mut self, cfg: CgroupConfig) -> Self {
        self.set_cgroup(cfg);
        self
    }

    /// SELinux labels of the container.
    pub fn selinux(mut self, cfg: SelinuxConfig) -> Self {
        self.set_selinux(cfg);
        self
    }

    /// The container's network: [`Network::None`] (loopback only, the default) or
    /// [`Network::Bridge`] (a veth pair on a bridge; needs [`Namespaces::NET`]).
    pub fn network(mut self, network: Network) -> Self {
        self.set_network(network);
        self
    }

    /// Restricts the program with a Landlock ruleset, applied right before its exec
    /// (see [`crate::landlock`]).
    pub fn landlock(mut self, l: Landlock) -> Self {
        self.landlock = Some(l);
        self
    }

    /// The process this builder runs.
    pub fn get_process(&self) -> &Process {
        &self.process
    }

    /// The namespaces this builder creates.
    pub fn get_namespaces(&self) -> Namespaces {
        self.namespaces
    }

    /// Checks every value that can be checked without touching the host.
    pub fn validate(&self) -> Result<()> {
        self.validate_in(crate::cgroup::layout)
    }

    /// [`Self::validate`], with cgroup settings checked against the layout `cgroup_layout`
    /// gives (called only when there are cgroup settings).
    pub(crate) fn validate_in<'l>(
        &self,
        cgroup_layout: impl FnOnce() -> std::result::Result<&'l crate::cgroup::Layout, crate::cgroup::CgroupError>,
    ) -> Result<()> {
        if let Some(id) = &self.id {
            validate_id(id)?;
        }
        for (what, name) in [("hostname", &self.hostname), ("domainname", &self.domainname)] {
            if let Some(n) = name {
                validate_hostname(what, n)?;
                if !self.namespaces.contains(Namespaces::UTS) {
                    return Err(Error::invalid(what, "setting it needs a UTS namespace"));
                }
            }
        }
        if let Some(s) = &self.subids {
            s.validate()?;
            if !self.uid_map.is_empty() || !self.gid_map.is_empty() {
                return Err(Error::invalid("subordinate ids", "they replace the uid and gid maps: set one or the other"));
            }
        } else if self.namespaces.contains(Namespaces::USER) {
            if self.uid_map.is_empty() || self.gid_map.is_empty() {
                return Err(Error::invalid(
                    "user namespace",
                    "a new user namespace needs both a uid map and a gid map",
                ));
            }
            validate_id_map("uid map", &self.uid_map)?;
            validate_id_map("gid map", &self.gid_map)?;
        } else if !self.uid_map.is_empty() || !self.gid_map.is_empty() {
            return Err(Error::invalid("id map", "id maps need a user namespace"));
        }
        if !self.namespaces.contains(Namespaces::MOUNT) {
            return Err(Error::invalid(
                "namespaces",
                "a mount namespace is required (the root filesystem is pivoted)",
            ));
        }
        if self.init && !self.namespaces.contains(Namespaces::PID) {
            return Err(Error::invalid("init", "an init process needs a PID namespace"));
        }
        if self.time_offsets != TimeOffsets::default() && !self.namespaces.contains(Namespaces::TIME) {
            return Err(Error::invalid("time offsets", "they need a time namespace"));
        }
        for m in &self.mounts {
            m.validate()?;
            if matches!(m.kind, crate::mount::MountKind::Cgroup | crate::mount::MountKind::Cgroup2)
                && !self.namespaces.contains(Namespaces::CGROUP)
            {
                return Err(Error::invalid(
                    "cgroup mount",
                    format!(
                        "{} needs a cgroup namespace (without one it would show the host's whole hierarchy)",
                        m.target.display()
                    ),
                ));
            }
            if m.relabel.is_some() && self.selinux.is_none() {
                return Err(Error::invalid(
                    "mount relabel",
                    format!("relabelling {} needs ContainerBuilder::selinux", m.target.display()),
                ));
            }
        }
        for (ns, path) in &self.joins {
            if ![Namespaces::NET, Namespaces::IPC, Namespaces::UTS].contains(ns) {
                return Err(Error::invalid(
                    "namespace to join",
                    format!("{ns:?}: only one of NET, IPC or UTS can be joined by path"),
                ));
            }
            if self.namespaces.intersects(*ns) {
                return Err(Error::invalid("namespace to join", format!("{ns:?} is also to be created new")));
            }
            if !path.is_absolute() {
                return Err(Error::invalid("namespace to join", format!("{} is not absolute", path.display())));
            }
        }
        if (self.hostname.is_some() || self.domainname.is_some())
            && self.joins.iter().any(|(n, _)| *n == Namespaces::UTS)
        {
            return Err(Error::invalid("hostname", "cannot be set in a joined UTS namespace"));
        }
        crate::config::sysctl::validate(&self.sysctls, self.namespaces, &self.joins)?;
        for p in self.masked_paths.iter().chain(&self.readonly_paths) {
            crate::mount::container_path("masked/read-only path", p)?;
        }
        self.rootfs.validate()?;
        self.process.validate()?;
        self.network.validate(self.namespaces.contains(Namespaces::NET))?;
        if let Some(l) = &self.landlock {
            l.validate()?;
        }
        if let Some(cg) = &self.cgroup {
            cg.validate_on(cgroup_layout()?)?;
        }
        Ok(())
    }

    /// Computes everything the child needs (strings, paths, masks), once. The plan can
    /// then spawn many containers with [`Plan::spawn`], skipping this work each time.
    pub fn prepare(&self) -> Result<Plan> {
        self.validate()?;
        if let Some(s) = &self.subids {
            let b = super::subids::with_maps(self, s)?;
            return Plan::new(&b, &HostFacts::detect(&b)?);
        }
        Plan::new(self, &HostFacts::detect(self)?)
    }

    /// A user namespace with many ids from the caller's ranges in `/etc/subuid` and
    /// `/etc/subgid` (see [`crate::subids`]), written through `newuidmap`/`newgidmap` for a
    /// caller without privileges; replaces [`ContainerBuilder::uid_map`]/`gid_map`. The
    /// ranges are read at [`ContainerBuilder::prepare`]: too few ids, no range or no helper
    /// is an [`Error::InvalidConfig`] naming what is missing.
    pub fn subordinate_ids(mut self, ids: super::subids::SubordinateIds) -> Self {
        self.subids = Some(ids);
        self
    }

    /// The subordinate ids asked for, if any.
    pub fn get_subordinate_ids(&self) -> Option<&super::subids::SubordinateIds> {
        self.subids.as_ref()
    }

    /// Subordinate ids (as [`ContainerBuilder::subordinate_ids`]).
    pub fn set_subordinate_ids(&mut self, ids: super::subids::SubordinateIds) -> &mut Self {
        self.subids = Some(ids);
        self
    }

    /// No subordinate ids (the default): the uid and gid maps are the ones given.
    pub fn clear_subordinate_ids(&mut self) -> &mut Self {
        self.subids = None;
        self
    }

    /// Creates and starts the container. On error nothing is left behind.
    pub fn spawn(&self) -> Result<Container> {
        self.prepare()?.spawn()
    }
}


/// Checks a container id.
pub fn validate_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 64 {
        return Err(Error::invalid("container id", format!("{id:?} must be 1 to 64 bytes")));
    }
    if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b)) || id.starts_with('.') {
        return Err(Error::invalid(
            "container id",
            format!("{id:?} may hold only letters, digits, '_', '-' and '.', and not start with '.'"),
        ));
    }
    Ok(())
}

/// Checks a hostname or domain name: 1 to 64 bytes, no NUL.
pub fn validate_hostname(what: &'static str, name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_HOSTNAME_LEN {
        return Err(Error::invalid(
            what,
            format!("{name:?} is {} bytes; 1 to {MAX_HOSTNAME_LEN} are allowed", name.len()),
        ));
    }
    if name.contains('\0') {
        return Err(Error::invalid(what, format!("{name:?} contains a NUL byte")));
    }
    Ok(())
}

#[cfg(test)]
#[path = "builder_tests.rs"]
mod tests;
