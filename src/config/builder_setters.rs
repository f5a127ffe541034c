//! `ContainerBuilder`'s `&mut self` setters and `clear_*` methods (the builder itself and its
//! by-value methods are in `builder.rs`).

use std::path::PathBuf;

use super::builder::ContainerBuilder;
use crate::cgroup::CgroupConfig;
use crate::idmap::IdRange;
use crate::landlock::Landlock;
use crate::mount::Mount;
use crate::namespace::{Namespaces, TimeOffsets};
use crate::net::Network;
use crate::process::Process;
use crate::rootfs::Rootfs;
use crate::selinux::SelinuxConfig;

/// The same settings through `&mut self`, as `std::process::Command` has them (for code
/// that keeps a builder in place, such as the C ABI), and the `clear_*` methods that
/// take a setting back to its default. Nothing is checked here: [`ContainerBuilder::validate`]
/// checks the whole builder.
impl ContainerBuilder {
    /// The container's id (as [`ContainerBuilder::id`]).
    pub fn set_id(&mut self, id: impl Into<String>) -> &mut Self {
        self.id = Some(id.into());
        self
    }

    /// Which namespaces are new (as [`ContainerBuilder::namespaces`]).
    pub fn set_namespaces(&mut self, ns: Namespaces) -> &mut Self {
        self.namespaces = ns;
        self
    }

    /// Replaces the uid map and adds [`Namespaces::USER`] (as [`ContainerBuilder::uid_map`]).
    pub fn set_uid_map(&mut self, map: impl IntoIterator<Item = IdRange>) -> &mut Self {
        self.uid_map = map.into_iter().collect();
        self.namespaces |= Namespaces::USER;
        self
    }

    /// Replaces the gid map and adds [`Namespaces::USER`] (as [`ContainerBuilder::gid_map`]).
    pub fn set_gid_map(&mut self, map: impl IntoIterator<Item = IdRange>) -> &mut Self {
        self.gid_map = map.into_iter().collect();
        self.namespaces |= Namespaces::USER;
        self
    }

    /// Appends one range to the uid map and adds [`Namespaces::USER`].
    pub fn add_uid_range(&mut self, range: IdRange) -> &mut Self {
        self.uid_map.push(range);
        self.namespaces |= Namespaces::USER;
        self
    }

    /// Appends one range to the gid map and adds [`Namespaces::USER`].
    pub fn add_gid_range(&mut self, range: IdRange) -> &mut Self {
        self.gid_map.push(range);
        self.namespaces |= Namespaces::USER;
        self
    }

    /// Removes every uid and gid range (the namespaces are left as they are).
    pub fn clear_id_maps(&mut self) -> &mut Self {
        self.uid_map.clear();
        self.gid_map.clear();
        self
    }

    /// The hostname (as [`ContainerBuilder::hostname`]).
    pub fn set_hostname(&mut self, name: impl Into<String>) -> &mut Self {
        self.hostname = Some(name.into());
        self
    }

    /// The NIS domain name (as [`ContainerBuilder::domainname`]).
    pub fn set_domainname(&mut self, name: impl Into<String>) -> &mut Self {
        self.domainname = Some(name.into());
        self
    }

    /// Clock offsets; adds [`Namespaces::TIME`] (as [`ContainerBuilder::time_offsets`]).
    pub fn set_time_offsets(&mut self, offsets: TimeOffsets) -> &mut Self {
        self.time_offsets = offsets;
        self.namespaces |= Namespaces::TIME;
        self
    }

    /// The root filesystem (as [`ContainerBuilder::rootfs`]).
    pub fn set_rootfs(&mut self, rootfs: Rootfs) -> &mut Self {
        self.rootfs = rootfs;
        self
    }

    /// Whether the root is mounted read-only (as [`ContainerBuilder::read_only_root`]).
    pub fn set_read_only_root(&mut self, yes: bool) -> &mut Self {
        self.read_only_root = yes;
        self
    }

    /// Adds a mount (as [`ContainerBuilder::mount`]).
    pub fn add_mount(&mut self, m: Mount) -> &mut Self {
        self.mounts.push(m);
        self
    }

    /// Removes every mount added with [`ContainerBuilder::mount`].
    pub fn clear_mounts(&mut self) -> &mut Self {
        self.mounts.clear();
        self
    }

    /// Whether the standard mounts are made (as [`ContainerBuilder::standard_mounts`]).
    pub fn set_standard_mounts(&mut self, yes: bool) -> &mut Self {
        self.standard_mounts = yes;
        self
    }

    /// Sets a sysctl (as [`ContainerBuilder::sysctl`]).
    pub fn set_sysctl(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        let key = key.into();
        self.sysctls.retain(|(k, _)| *k != key);
        self.sysctls.push((key, value.into()));
        self
    }

    /// Whether the default devices are made (as [`ContainerBuilder::default_devices`]).
    pub fn set_default_devices(&mut self, yes: bool) -> &mut Self {
        self.default_devices = yes;
        self
    }

    /// Replaces the masked paths (as [`ContainerBuilder::masked_paths`]).
    pub fn set_masked_paths(&mut self, paths: impl IntoIterator<Item = impl Into<PathBuf>>) -> &mut Self {
        self.masked_paths = paths.into_iter().map(Into::into).collect();
        self
    }

    /// Replaces the read-only paths (as [`ContainerBuilder::readonly_paths`]).
    pub fn set_readonly_paths(&mut self, paths: impl IntoIterator<Item = impl Into<PathBuf>>) -> &mut Self {
        self.readonly_paths = paths.into_iter().map(Into::into).collect();
        self
    }

    /// Replaces the process to run (as [`ContainerBuilder::process`]).
    pub fn set_process(&mut self, process: Process) -> &mut Self {
        self.process = process;
        self
    }

    /// The process to run, to change in place.
    pub fn process_mut(&mut self) -> &mut Process {
        &mut self.process
    }

    /// Whether a minimal init runs as PID 1 (as [`ContainerBuilder::init`]).
    pub fn set_init(&mut self, yes: bool) -> &mut Self {
        self.init = yes;
        self
    }

    /// Joins an existing namespace instead of creating one (as
    /// [`ContainerBuilder::join_namespace`]).
    pub fn add_namespace_join(&mut self, ns: Namespaces, path: impl Into<PathBuf>) -> &mut Self {
        self.namespaces.remove(ns);
        self.joins.retain(|(n, _)| *n != ns);
        self.joins.push((ns, path.into()));
        self
    }

    /// Forgets every namespace to join (the namespaces are left as they are).
    pub fn clear_namespace_joins(&mut self) -> &mut Self {
        self.joins.clear();
        self
    }

    /// Puts the container in its own cgroup with these limits (as [`ContainerBuilder::cgroup`]).
    pub fn set_cgroup(&mut self, cfg: CgroupConfig) -> &mut Self {
        self.cgroup = Some(cfg);
        self
    }

    /// No cgroup of its own (the default).
    pub fn clear_cgroup(&mut self) -> &mut Self {
        self.cgroup = None;
        self
    }

    /// SELinux labels (as [`ContainerBuilder::selinux`]).
    pub fn set_selinux(&mut self, cfg: SelinuxConfig) -> &mut Self {
        self.selinux = Some(cfg);
        self
    }

    /// No SELinux settings (the default).
    pub fn clear_selinux(&mut self) -> &mut Self {
        self.selinux = None;
        self
    }

    /// Sets the Landlock ruleset ([`ContainerBuilder::landlock`]).
    pub fn set_landlock(&mut self, l: Landlock) -> &mut Self {
        self.landlock = Some(l);
        self
    }

    /// Removes the Landlock ruleset.
    pub fn clear_landlock(&mut self) -> &mut Self {
        self.landlock = None;
        self
    }

    /// The Landlock ruleset, if any.
    pub fn get_landlock(&self) -> Option<&Landlock> {
        self.landlock.as_ref()
    }

    /// The cgroup settings, if any.
    pub fn get_cgroup(&self) -> Option<&CgroupConfig> {
        self.cgroup.as_ref()
    }

    /// The network (as [`ContainerBuilder::network`]).
    pub fn set_network(&mut self, network: Network) -> &mut Self {
        self.network = network;
        self
    }

    /// The network settings.
    pub fn get_network(&self) -> &Network {
        &self.network
    }

    /// The SELinux settings, if any.
    pub fn get_selinux(&self) -> Option<&SelinuxConfig> {
        self.selinux.as_ref()
    }
}
