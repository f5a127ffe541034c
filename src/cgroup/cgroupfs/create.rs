//! Creating one container's cgroup: the shared policy directory, or directories of its
//! own on every hierarchy (with the parents this process owns), limits applied, the v2 fd
//! the child is born in.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use super::{read, registry, sweep_detached, write, Cgroup, Dir};
use crate::cgroup::config::{validate_name, CgroupConfig};
use crate::cgroup::layout::{layout, Hierarchy, Layout};
use crate::cgroup::{CgroupError, CgroupVersion};

impl Cgroup {
    /// Creates the container's cgroup `<parent>/<id>` on every hierarchy cocoon uses and
    /// applies every limit of `cfg`. On any failure, everything created is removed again.
    pub(crate) fn create(cfg: &CgroupConfig, id: &str) -> Result<Cgroup, CgroupError> {
        sweep_detached();
        let layout = layout()?;
        let id = cfg.name.as_deref().unwrap_or(id);
        validate_name(id)?;
        if !cfg.policy_only {
            return Cgroup::create_on(cfg, id, layout, None);
        }
        // A container without limits: one directory that carries the device policy. The
        // unified one if there is one (an eBPF program, and CLONE_INTO_CGROUP: no task
        // migration, no handshake), else the v1 devices hierarchy.
        let unified = layout.hierarchies.iter().find(|h| h.version == CgroupVersion::V2);
        let v1 = layout.find("devices").filter(|h| h.version == CgroupVersion::V1);
        if cfg.policy_shared {
            // Any failure (e.g. a program that is not ours attached there): a cgroup of its own.
            if let Some(c) = unified.and_then(|u| Cgroup::shared(cfg, layout, u).ok()) {
                return Ok(c);
            }
        }
        match (unified, v1) {
            (Some(u), Some(h)) => Cgroup::create_on(cfg, id, layout, Some(u)).or_else(|e| match e {
                CgroupError::AlreadyExists { .. } | CgroupError::Invalid { .. } => Err(e),
                // e.g. no cgroup BPF in this kernel: the v1 controller does the same.
                _ => Cgroup::create_on(cfg, id, layout, Some(h)),
            }),
            (Some(h), None) | (None, Some(h)) => Cgroup::create_on(cfg, id, layout, Some(h)),
            (None, None) => Err(CgroupError::DeviceRulesNeedEbpf { rules: cfg.devices.len() }),
        }
    }

    /// A policy-only cgroup that is the machine's shared policy directory on `unified`.
    fn shared(cfg: &CgroupConfig, layout: &Layout, unified: &Hierarchy) -> Result<Cgroup, CgroupError> {
        let res = cfg.resolve_for(layout, Some(unified))?;
        let Some(policy) = &res.device_policy else {
            return Err(CgroupError::invalid("cgroup", "devices", "a policy-only cgroup without a policy"));
        };
        let (path, fd) = super::shared_policy::open(unified, policy)?;
        Ok(Cgroup {
            rel: path.strip_prefix(&unified.mount).unwrap_or(&path).to_path_buf(),
            dirs: Vec::new(),
            parents: Vec::new(),
            mounts_used: Vec::new(),
            v2_fd: Some(fd),
            device_prog: None,
            policy_only: true,
            shared: Some(path),
            done: false,
        })
    }

    /// [`Cgroup::create`] on every hierarchy, or `only` on one (that also enforces the
    /// device rules).
    fn create_on(
        cfg: &CgroupConfig,
        id: &str,
        layout: &Layout,
        only: Option<&Hierarchy>,
    ) -> Result<Cgroup, CgroupError> {
        let res = match only {
            Some(h) => cfg.resolve_for(layout, Some(h))?,
            None => cfg.resolve(layout)?,
        };
        let parent = cfg.get_parent().to_path_buf();
        let mut cg = Cgroup {
            rel: parent.join(id),
            dirs: Vec::new(),
            parents: Vec::new(),
            mounts_used: Vec::new(),
            v2_fd: None,
            device_prog: None,
            policy_only: cfg.policy_only,
            shared: None,
            done: false,
        };
        {
            let mut reg = registry();
            let made = layout
                .hierarchies
                .iter()
                .filter(|h| only.is_none_or(|o| o.mount == h.mount))
                .try_for_each(|h| cg.make_dir(&mut reg, h, &parent, id));
            if let Err(e) = made {
                // The original error is the one to report; removing directories that were
                // just created (and hold no process) only fails if someone else filled them.
                let _cleanup = cg.remove_all(&mut reg, true);
                cg.done = true;
                return Err(e);
            }
        }
        let applied = cg
            .check_v2_controllers(cfg, layout)
            .and_then(|()| cg.apply(cfg, &res, layout))
            .and_then(|()| cg.attach_device_program(&res));
        if let Err(e) = applied {
            let _cleanup = cg.remove_all(&mut registry(), true);
            cg.done = true;
            return Err(e);
        }
        // Only v2 directories (a pure v2 host, or the policy-only unified directory of a
        // hybrid host): the child can be born in it.
        if cg.dirs.iter().all(|d| d.version == CgroupVersion::V2) {
            if let Some(d) = cg.dirs.first() {
                match nix::fcntl::open(
                    &d.path,
                    nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
                    nix::sys::stat::Mode::empty(),
                ) {
                    // SAFETY: `open` just returned this fd and nothing else owns it.
                    Ok(fd) => cg.v2_fd = Some(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) }),
                    Err(e) => {
                        let err = CgroupError::io("open", &d.path, io::Error::from(e));
                        let _cleanup = cg.remove_all(&mut registry(), true);
                        cg.done = true;
                        return Err(err);
                    }
                }
            }
        }
        Ok(cg)
    }

    /// Creates the missing parents and the cgroup directory on hierarchy `h`.
    fn make_dir(
        &mut self,
        reg: &mut BTreeMap<PathBuf, usize>,
        h: &Hierarchy,
        parent: &Path,
        id: &str,
    ) -> Result<(), CgroupError> {
        self.make_dir_inner(reg, h, parent, id, false)
    }

    fn make_dir_inner(
        &mut self,
        reg: &mut BTreeMap<PathBuf, usize>,
        h: &Hierarchy,
        parent: &Path,
        id: &str,
        retried_parent: bool,
    ) -> Result<(), CgroupError> {
        // Another process may remove the (then empty) default parent at any moment, even
        // between our mkdir and its initialisation: then this attempt's parents are
        // forgotten and everything is made again, once.
        let pushed_from = self.parents.len();
        let mut cur = h.mount.clone();
        for comp in parent.components() {
            let next = cur.join(comp);
            match fs::create_dir(&next) {
                Ok(()) => {
                    reg.insert(next.clone(), 0);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(CgroupError::io("mkdir", &next, e)),
            }
            if let Some(n) = reg.get_mut(&next) {
                *n += 1;
                self.parents.push(next.clone());
            }
            // A parent of ours: make it usable for children (again if a previous
            // initialisation failed half-way). Someone else's parent, or one a killed
            // cocoon made and never finished: a v1 cpuset with no cpus or mems takes no
            // process, and filling only empty values changes nothing that was usable.
            let ours = reg.contains_key(&next);
            if ours || (h.version == CgroupVersion::V1 && h.has("cpuset")) {
                if let Err(e) = init_dir(h, &next, true) {
                    if !retried_parent && vanished(&e) {
                        self.forget_parents(reg, pushed_from);
                        return self.make_dir_inner(reg, h, parent, id, true);
                    }
                    return Err(e);
                }
            }
            cur = next;
        }
        let path = cur.join(id);
        match fs::create_dir(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(CgroupError::AlreadyExists { path: path.display().to_string() })
            }
            // Another process removed the (then empty) default parent between our check
            // and our mkdir: create it again, once.
            Err(e) if e.kind() == io::ErrorKind::NotFound && !retried_parent => {
                self.forget_parents(reg, pushed_from);
                return self.make_dir_inner(reg, h, parent, id, true);
            }
            Err(e) => return Err(CgroupError::io("mkdir", &path, e)),
        }
        self.mounts_used.push(h.mount.clone());
        self.dirs.push(Dir {
            version: h.version,
            mount: h.mount.clone(),
            controllers: h.controllers.clone(),
            path: path.clone(),
        });
        init_dir(h, &path, false)
    }

    /// Drops the parents pushed since `from` (their directories are already gone), so a
    /// retry counts each parent once.
    fn forget_parents(&mut self, reg: &mut BTreeMap<PathBuf, usize>, from: usize) {
        for p in self.parents.drain(from..) {
            if let Some(n) = reg.get_mut(&p) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    reg.remove(&p);
                }
            }
        }
    }

    /// On v2, every controller the configuration uses must be enabled for the new cgroup
    /// (cocoon enables them in parents it created; it never changes other cgroups).
    pub(super) fn check_v2_controllers(&self, cfg: &CgroupConfig, layout: &Layout) -> Result<(), CgroupError> {
        let needed = needed_controllers(cfg);
        for c in needed {
            let Some(h) = layout.find(c) else { continue };
            if h.version != CgroupVersion::V2 {
                continue;
            }
            let Some(d) = self.dir_on(h) else { continue };
            let enabled = read(&d.path.join("cgroup.controllers"))?;
            if !enabled.split_whitespace().any(|x| x == c) {
                let parent = d.path.parent().unwrap_or(&d.path);
                return Err(CgroupError::ControllerUnavailable {
                    controller: c,
                    reason: format!(
                        "the v2 hierarchy at {} offers it, but it is not enabled in {}/cgroup.subtree_control \
                         (cocoon enables controllers only in cgroups it created)",
                        h.mount.display(),
                        parent.display()
                    ),
                });
            }
        }
        Ok(())
    }
}

/// The controllers whose files `cfg`'s limits are written to.
pub(super) fn needed_controllers(cfg: &CgroupConfig) -> Vec<&'static str> {
    let mut needed: Vec<&'static str> = Vec::new();
    if cfg.cpu_shares.is_some() || cfg.cpu_weight.is_some() || cfg.cpu_quota.is_some() || cfg.cpu_burst.is_some() {
        needed.push("cpu");
    }
    if cfg.cpus.is_some() || cfg.mems.is_some() {
        needed.push("cpuset");
    }
    if cfg.memory_max.is_some()
        || cfg.memory_high.is_some()
        || cfg.memory_low.is_some()
        || cfg.swap_max.is_some()
        || cfg.oom_kill_disable
    {
        needed.push("memory");
    }
    if cfg.pids_max.is_some() {
        needed.push("pids");
    }
    if cfg.io_weight.is_some() || !cfg.io_limits.is_empty() {
        needed.push("io");
    }
    if !cfg.hugetlb.is_empty() {
        needed.push("hugetlb");
    }
    needed
}

/// Prepares a new directory: v1 cpuset needs cpus and mems before it can hold tasks; a v2
/// parent cocoon created gets every available controller enabled for its children.
/// The directory went away under us (ENOENT; ENODEV for a file of a removed cgroup).
fn vanished(e: &CgroupError) -> bool {
    matches!(e, CgroupError::Io { source, .. } if matches!(source.raw_os_error(), Some(libc::ENOENT | libc::ENODEV)))
}

fn init_dir(h: &Hierarchy, path: &Path, is_parent: bool) -> Result<(), CgroupError> {
    match h.version {
        CgroupVersion::V1 if h.has("cpuset") => {
            // cgroups-rs does this in CpuSetController::post_create but only logs failures.
            for f in ["cpuset.cpus", "cpuset.mems"] {
                let own = path.join(f);
                if read(&own)?.trim().is_empty() {
                    let parent = path.parent().unwrap_or(path).join(f);
                    let v = read(&parent)?;
                    write(&own, v.trim())?;
                }
            }
            Ok(())
        }
        CgroupVersion::V2 if is_parent => {
            let available = read(&path.join("cgroup.controllers"))?;
            let enabled = read(&path.join("cgroup.subtree_control"))?;
            for c in available.split_whitespace() {
                if !enabled.split_whitespace().any(|e| e == c) {
                    write(&path.join("cgroup.subtree_control"), &format!("+{c}"))?;
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

impl Cgroup {
    /// The existing cgroup at `rel` (relative to every hierarchy's root), as another process
    /// created it: its directories on the hierarchies that have one. No parent is owned,
    /// and no device program is held (it stays attached and goes with the directory).
    pub(crate) fn open(rel: &Path) -> Result<Cgroup, CgroupError> {
        crate::cgroup::config::validate_parent(rel)?;
        let layout = layout()?;
        let dirs: Vec<Dir> = layout
            .hierarchies
            .iter()
            .filter(|h| h.mount.join(rel).is_dir())
            .map(|h| Dir {
                version: h.version,
                mount: h.mount.clone(),
                controllers: h.controllers.clone(),
                path: h.mount.join(rel),
            })
            .collect();
        if dirs.is_empty() {
            return Err(CgroupError::io("open", rel, io::Error::from_raw_os_error(libc::ENOENT)));
        }
        Ok(Cgroup {
            rel: rel.to_path_buf(),
            mounts_used: dirs.iter().map(|d| d.mount.clone()).collect(),
            dirs,
            parents: Vec::new(),
            v2_fd: None,
            device_prog: None,
            policy_only: false,
            shared: None,
            done: false,
        })
    }
}
