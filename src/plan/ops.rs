//! The container's filesystem as a list of ops: in-root paths, mount sources, and the
//! standard (`/proc`, `/sys`, `/dev`) and user-requested mounts.

use std::ffi::{CStr, CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::cstring;
use crate::cgroup::{CgroupMode, Layout};
use crate::error::{Error, Result};
use crate::idmap::{self, map_to_host};
use crate::mount::{container_path, Atime, MountKind};
use crate::namespace::Namespaces;
use crate::sys::{
    ATTR_SET_ATIME, MOUNT_ATTR_NOATIME, MOUNT_ATTR_NODEV, MOUNT_ATTR_NODIRATIME, MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID,
    MOUNT_ATTR_RDONLY, MOUNT_ATTR_STRICTATIME,
};

/// A path inside the container, resolved by the child relative to the root fd.
#[derive(Debug)]
pub(crate) struct InRootPath {
    /// The whole path relative to the root, e.g. `dev/pts`.
    pub full: CString,
    /// Cumulative prefixes (`dev`, `dev/pts`), for creating missing directories.
    pub prefixes: Vec<CString>,
    /// The single components (`dev`, `pts`).
    pub names: Vec<CString>,
    /// `/dev/pts`, for error messages.
    pub display: String,
}

impl InRootPath {
    pub(crate) fn new(what: &'static str, p: &Path) -> Result<InRootPath> {
        let parts = container_path(what, p)?;
        let mut prefixes = Vec::with_capacity(parts.len());
        let mut names = Vec::with_capacity(parts.len());
        let mut acc = OsString::new();
        for part in &parts {
            if !acc.is_empty() {
                acc.push("/");
            }
            acc.push(part);
            prefixes.push(cstring(what, acc.as_bytes())?);
            names.push(cstring(what, part.as_bytes())?);
        }
        Ok(InRootPath {
            full: cstring(what, acc.as_bytes())?,
            prefixes,
            names,
            display: format!("/{}", acc.to_string_lossy()),
        })
    }

    pub(super) fn lit(p: &str) -> InRootPath {
        // Only called with the crate's own constant, valid paths.
        match InRootPath::new("path", Path::new(p)) {
            Ok(v) => v,
            Err(_) => unreachable!("constant container path {p} is valid"),
        }
    }
}

/// Where a mount comes from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A copy of a host path's mount tree (`open_tree(OPEN_TREE_CLONE)`).
    Bind {
        path: CString,
        recursive: bool,
        /// For device binds: the `st_rdev` the source must have.
        device: Option<libc::dev_t>,
    },
    /// A new filesystem instance (`fsopen`/`fsconfig`/`fsmount`).
    Fs {
        fstype: &'static CStr,
        options: Vec<(CString, Option<CString>)>,
        /// Whether the container's SELinux mount label is added as `context=`.
        labeled: bool,
    },
}

impl Source {
    pub(super) fn fs(fstype: &'static CStr, opts: &[(&str, Option<&str>)], labeled: bool) -> Source {
        let options = opts
            .iter()
            .map(|(k, v)| {
                (
                    CString::new(*k).unwrap_or_default(),
                    v.map(|v| CString::new(v).unwrap_or_default()),
                )
            })
            .collect();
        Source::Fs { fstype, options, labeled }
    }

    fn describe(&self) -> String {
        match self {
            Source::Bind { path, .. } => path.to_string_lossy().into_owned(),
            Source::Fs { fstype, .. } => fstype.to_string_lossy().into_owned(),
        }
    }
}

/// Whether a mount target is a directory or a file (created empty when missing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TargetKind {
    Dir,
    File,
}

/// One step of building the container's filesystem, applied in order.
#[derive(Debug)]
pub(crate) enum Op {
    /// Mount `source` at `target` with `MOUNT_ATTR_*` bits `attrs`.
    Mount { source: Source, target: InRootPath, kind: TargetKind, attrs: u64 },
    /// Create a symlink at `path` pointing to `contents`.
    Symlink { path: InRootPath, contents: CString },
    /// Create a file at `path` holding `contents`.
    File { path: InRootPath, contents: Vec<u8>, mode: u32 },
    /// Create a directory at `path` with `mode`.
    Dir { path: InRootPath, mode: u32 },
    /// Set `MOUNT_ATTR_*` bits `attrs` on the mount at `target` (not recursive), e.g. a
    /// tmpfs made read-only once the mounts on it are in place.
    Setattr { target: InRootPath, attrs: u64 },
}

impl Op {
    pub(crate) fn describe(&self) -> String {
        match self {
            Op::Mount { source, target, .. } => format!("{} on {}", source.describe(), target.display),
            Op::Symlink { path, contents } => format!("{} -> {}", path.display, contents.to_string_lossy()),
            Op::File { path, .. } | Op::Dir { path, .. } => path.display.clone(),
            Op::Setattr { target, .. } => format!("mount attributes of {}", target.display),
        }
    }
}

/// The device nodes of the standard `/dev`, bound from the host: (name, major, minor).
pub(crate) const DEVICES: &[(&str, u32, u32)] =
    &[("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)];

/// `/proc`, `/sys` (with a cgroup2 on a v2 host, `cgroup_mode`), `/dev` and its links.
pub(super) fn standard_ops(ns: Namespaces, gid_map: &[idmap::IdRange], cgroup_mode: Option<CgroupMode>) -> Vec<Op> {
    let userns = ns.contains(Namespaces::USER);
    let all = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    let mut ops = Vec::new();
    // A new proc needs our own PID namespace inside a user namespace; without one we
    // bind the host's /proc (its processes are visible: the caller chose that).
    let proc_src = if ns.contains(Namespaces::PID) || !userns {
        Source::fs(c"proc", &[], false)
    } else {
        Source::Bind { path: c"/proc".into(), recursive: true, device: None }
    };
    ops.push(Op::Mount { source: proc_src, target: InRootPath::lit("/proc"), kind: TargetKind::Dir, attrs: all });
    let sys_src = if ns.contains(Namespaces::NET) || !userns {
        Source::fs(c"sysfs", &[], false)
    } else {
        Source::Bind { path: c"/sys".into(), recursive: true, device: None }
    };
    let own_sysfs = matches!(sys_src, Source::Fs { .. });
    ops.push(Op::Mount {
        source: sys_src,
        target: InRootPath::lit("/sys"),
        kind: TargetKind::Dir,
        attrs: all | MOUNT_ATTR_RDONLY,
    });
    // With its own cgroup namespace on a cgroup v2 host, the container sees its own
    // subtree at /sys/fs/cgroup, read-only (CVE-2023-25809: never a writable host
    // cgroupfs). Without one, /sys/fs/cgroup stays an empty read-only sysfs directory.
    if own_sysfs
        && ns.contains(Namespaces::CGROUP)
        && cgroup_mode == Some(CgroupMode::V2)
    {
        ops.push(Op::Mount {
            source: Source::fs(c"cgroup2", &[], false),
            target: InRootPath::lit("/sys/fs/cgroup"),
            kind: TargetKind::Dir,
            attrs: all | MOUNT_ATTR_RDONLY,
        });
    }
    ops.push(Op::Mount {
        source: Source::fs(c"tmpfs", &[("mode", Some("755")), ("size", Some("65536k"))], true),
        target: InRootPath::lit("/dev"),
        kind: TargetKind::Dir,
        // nodev: a node made here is unusable; the device binds below are mounts of their own.
        attrs: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
    });
    ops.extend(device_bind_ops());
    // gid=5 (tty) only when it exists inside the user namespace.
    let tty_gid = !userns || map_to_host(gid_map, 5).is_some();
    let mut pts: Vec<(&str, Option<&str>)> =
        vec![("newinstance", None), ("ptmxmode", Some("0666")), ("mode", Some("0620"))];
    if tty_gid {
        pts.push(("gid", Some("5")));
    }
    ops.push(Op::Mount {
        source: Source::fs(c"devpts", &pts, true),
        target: InRootPath::lit("/dev/pts"),
        kind: TargetKind::Dir,
        attrs: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
    });
    ops.push(Op::Mount {
        source: Source::fs(c"tmpfs", &[("mode", Some("1777")), ("size", Some("65536k"))], true),
        target: InRootPath::lit("/dev/shm"),
        kind: TargetKind::Dir,
        attrs: all,
    });
    if ns.contains(Namespaces::IPC) {
        ops.push(Op::Mount {
            source: Source::fs(c"mqueue", &[], false),
            target: InRootPath::lit("/dev/mqueue"),
            kind: TargetKind::Dir,
            attrs: all,
        });
    }
    for (link, to) in DEV_LINKS {
        ops.push(Op::Symlink { path: InRootPath::lit(link), contents: CString::new(*to).unwrap_or_default() });
    }
    ops
}

/// The mount attributes (`MOUNT_ATTR_*`, [`crate::sys::ATTR_SET_ATIME`]) of a user mount.
fn user_mount_attrs(m: &crate::mount::Mount) -> u64 {
    let mut attrs = 0;
    if m.read_only {
        attrs |= MOUNT_ATTR_RDONLY;
    }
    if m.nosuid {
        attrs |= MOUNT_ATTR_NOSUID;
    }
    if m.nodev {
        attrs |= MOUNT_ATTR_NODEV;
    }
    if m.noexec {
        attrs |= MOUNT_ATTR_NOEXEC;
    }
    if m.nodiratime {
        attrs |= MOUNT_ATTR_NODIRATIME;
    }
    if let Some(a) = m.atime {
        attrs |= ATTR_SET_ATIME
            | match a {
                Atime::Relatime => 0,
                Atime::Noatime => MOUNT_ATTR_NOATIME,
                Atime::Strictatime => MOUNT_ATTR_STRICTATIME,
            };
    }
    attrs
}

/// A filesystem source of `fstype` with the mount's own options after `base`.
fn fs_source(fstype: &'static CStr, base: &[(&str, Option<&str>)], m: &crate::mount::Mount, labeled: bool) -> Result<Source> {
    let mut options = Vec::with_capacity(base.len() + m.fs_options.len());
    for (k, v) in base.iter().copied().chain(m.fs_options()) {
        options.push((cstring("mount option", k.as_bytes())?, v.map(|v| cstring("mount option", v.as_bytes())).transpose()?));
    }
    Ok(Source::Fs { fstype, options, labeled })
}

/// The ops of one user mount (several for [`MountKind::Cgroup`] on a v1 or hybrid host,
/// whose hierarchies `cgroup` lists).
pub(super) fn user_mount_ops(m: &crate::mount::Mount, cgroup: Option<&Layout>) -> Result<Vec<Op>> {
    let attrs = user_mount_attrs(m);
    let target = InRootPath::new("mount target", &m.target)?;
    let dir = |source: Source, target: InRootPath| Op::Mount { source, target, kind: TargetKind::Dir, attrs };
    Ok(vec![match &m.kind {
        MountKind::Bind { source, recursive } => {
            let md = std::fs::metadata(source).map_err(|e| {
                Error::invalid("bind source", format!("{}: {e}", source.display()))
            })?;
            Op::Mount {
                source: Source::Bind {
                    path: cstring("bind source", source.as_os_str().as_bytes())?,
                    recursive: *recursive,
                    device: None,
                },
                target,
                kind: if md.is_dir() { TargetKind::Dir } else { TargetKind::File },
                attrs,
            }
        }
        MountKind::Proc => dir(fs_source(c"proc", &[], m, false)?, target),
        MountKind::Tmpfs { size, mode } => {
            // A mode or size among the fs options replaces the typed one.
            let given = |key: &str| m.fs_options.iter().any(|(k, _)| k == key);
            let size = size.filter(|_| !given("size")).map(|s| s.to_string());
            let mode = format!("{:o}", mode.unwrap_or(0o755));
            let mut opts: Vec<(&str, Option<&str>)> = Vec::new();
            if !given("mode") {
                opts.push(("mode", Some(&mode)));
            }
            if let Some(s) = &size {
                opts.push(("size", Some(s)));
            }
            dir(fs_source(c"tmpfs", &opts, m, true)?, target)
        }
        MountKind::Sysfs => dir(fs_source(c"sysfs", &[], m, false)?, target),
        MountKind::Devpts => {
            let defaults: &[(&str, Option<&str>)] = if m.fs_options.is_empty() {
                &[("newinstance", None), ("ptmxmode", Some("0666")), ("mode", Some("0620"))]
            } else {
                &[]
            };
            dir(fs_source(c"devpts", defaults, m, true)?, target)
        }
        MountKind::Mqueue => dir(fs_source(c"mqueue", &[], m, false)?, target),
        MountKind::Cgroup2 => dir(fs_source(c"cgroup2", &[], m, false)?, target),
        MountKind::Cgroup => return cgroup_ops(m, target, attrs, cgroup),
        MountKind::Device { source, major, minor } => Op::Mount {
            source: Source::Bind {
                path: cstring("device source", source.as_os_str().as_bytes())?,
                recursive: false,
                device: Some(libc::makedev(*major, *minor)),
            },
            target,
            kind: TargetKind::File,
            attrs,
        },
    }])
}

/// [`MountKind::Cgroup`]: a cgroup2 on a v2 host; else a tmpfs with each v1 hierarchy
/// (and the hybrid host's cgroup2 as `unified`), the tmpfs made read-only last.
fn cgroup_ops(m: &crate::mount::Mount, target: InRootPath, attrs: u64, cgroup: Option<&Layout>) -> Result<Vec<Op>> {
    let layout = cgroup.ok_or_else(|| {
        Error::Unsupported { what: "cgroup mount", reason: format!("{}: the host has no cgroupfs", m.target.display()) }
    })?;
    if layout.mode == CgroupMode::V2 {
        return Ok(vec![Op::Mount { source: Source::fs(c"cgroup2", &[], false), target, kind: TargetKind::Dir, attrs }]);
    }
    let mut ops = vec![Op::Mount {
        source: Source::fs(c"tmpfs", &[("mode", Some("755")), ("size", Some("64k"))], true),
        target,
        kind: TargetKind::Dir,
        attrs: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
    }];
    for h in &layout.hierarchies {
        let Some(name) = h.mount.file_name().and_then(|n| n.to_str()) else { continue };
        let at = m.target.join(name);
        let source = match h.version {
            crate::cgroup::CgroupVersion::V1 => {
                let opts: Vec<(&str, Option<&str>)> = h.controllers.iter().map(|c| (c.as_str(), None)).collect();
                Source::fs(c"cgroup", &opts, false)
            }
            crate::cgroup::CgroupVersion::V2 => Source::fs(c"cgroup2", &[], false),
        };
        ops.push(Op::Mount { source, target: InRootPath::new("mount target", &at)?, kind: TargetKind::Dir, attrs });
        // A hierarchy of several controllers (cpu,cpuacct) is also reached by each name.
        if h.controllers.len() > 1 {
            for c in &h.controllers {
                if c != name {
                    ops.push(Op::Symlink {
                        path: InRootPath::new("mount target", &m.target.join(c))?,
                        contents: cstring("mount target", name.as_bytes())?,
                    });
                }
            }
        }
    }
    if m.read_only {
        ops.push(Op::Setattr {
            target: InRootPath::new("mount target", &m.target)?,
            attrs: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
        });
    }
    Ok(ops)
}

/// The standard device nodes (bound from the host, checked by number) and `/dev` links,
/// for a container whose `/dev` comes from its own mounts
/// ([`crate::ContainerBuilder::default_devices`]).
pub(super) fn default_device_ops() -> Vec<Op> {
    let mut ops = device_bind_ops();
    for (link, to) in DEV_LINKS.iter().filter(|(l, _)| *l != "/dev/core") {
        ops.push(Op::Symlink { path: InRootPath::lit(link), contents: CString::new(*to).unwrap_or_default() });
    }
    ops
}

fn device_bind_ops() -> Vec<Op> {
    DEVICES
        .iter()
        .map(|(name, major, minor)| Op::Mount {
            source: Source::Bind {
                path: CString::new(format!("/dev/{name}")).unwrap_or_default(),
                recursive: false,
                device: Some(libc::makedev(*major, *minor)),
            },
            target: InRootPath::lit(&format!("/dev/{name}")),
            kind: TargetKind::File,
            attrs: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
        })
        .collect()
}

/// The standard `/dev` links.
const DEV_LINKS: &[(&str, &str)] = &[
    ("/dev/fd", "/proc/self/fd"),
    ("/dev/stdin", "/proc/self/fd/0"),
    ("/dev/stdout", "/proc/self/fd/1"),
    ("/dev/stderr", "/proc/self/fd/2"),
    ("/dev/ptmx", "pts/ptmx"),
    ("/dev/core", "/proc/kcore"),
];
