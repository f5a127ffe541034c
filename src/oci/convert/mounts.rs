//! `mounts` → [`Mount`]s: the spec's mounts are the container's only mounts, in order,
//! followed by the runtime spec's default devices and `/dev` links.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Mount as OciMount;

use crate::mount::{Atime, Mount, MountKind};
use crate::oci::OciError;
use crate::ContainerBuilder;

/// What a mount's `options` said, apart from its filesystem options.
#[derive(Default)]
struct Flags {
    bind: bool,
    rbind: bool,
    ro: bool,
    nosuid: bool,
    nodev: bool,
    noexec: bool,
    atime: Option<Atime>,
    nodiratime: bool,
    data: Vec<(String, Option<String>)>,
}

/// Options runtimes and mount(8) know that cocoon does not honour (an error, not a
/// silent difference).
const UNSUPPORTED: &[&str] = &[
    "shared", "rshared", "slave", "rslave", "unbindable", "runbindable", "sync", "dirsync", "mand", "nomand",
    "lazytime", "nolazytime", "remount", "nosymfollow", "symfollow", "rnosymfollow", "rsymfollow", "iversion",
    "noiversion", "tmpcopyup", "notmpcopyup", "copy-symlink", "idmap", "ridmap", "z", "Z", "U", "nocopy",
    "atime", "norelatime", "nostrictatime", "rnorelatime", "ratime", "rnostrictatime",
];

fn parse_options(field: &str, opts: &[String]) -> Result<Flags, OciError> {
    let mut f = Flags::default();
    for o in opts {
        // The recursive forms (runtime spec 1.1) act like the plain ones: cocoon applies
        // a recursive bind's attributes to every mount below it anyway.
        let plain = match o.as_str() {
            "rro" | "rrw" | "rnosuid" | "rsuid" | "rnodev" | "rdev" | "rnoexec" | "rexec" | "rrelatime"
            | "rnoatime" | "rstrictatime" | "rnodiratime" | "rdiratime" => &o[1..],
            s => s,
        };
        match plain {
            "bind" => f.bind = true,
            "rbind" => f.rbind = true,
            "ro" => f.ro = true,
            "rw" => f.ro = false,
            "nosuid" => f.nosuid = true,
            "suid" => f.nosuid = false,
            "nodev" => f.nodev = true,
            "dev" => f.nodev = false,
            "noexec" => f.noexec = true,
            "exec" => f.noexec = false,
            "relatime" => f.atime = Some(Atime::Relatime),
            "noatime" => f.atime = Some(Atime::Noatime),
            "strictatime" => f.atime = Some(Atime::Strictatime),
            "nodiratime" => f.nodiratime = true,
            "diratime" => f.nodiratime = false,
            // The state cocoon builds every container tree in: private, receiving nothing.
            "private" | "rprivate" => {}
            "defaults" | "async" | "silent" | "loud" => {}
            s if UNSUPPORTED.contains(&s) => {
                return Err(OciError::unsupported(
                    format!("{field}.options"),
                    match s {
                        "shared" | "rshared" | "slave" | "rslave" => format!(
                            "{s:?}: cocoon makes the container's mount tree private before building it, so \
                             mount events never propagate to or from the host"
                        ),
                        _ => format!("{s:?} is not an option cocoon honours"),
                    },
                ))
            }
            s => match s.split_once('=') {
                Some((k, v)) => f.data.push((k.to_string(), Some(v.to_string()))),
                None => f.data.push((s.to_string(), None)),
            },
        }
    }
    Ok(f)
}

pub(super) fn convert(
    b: &mut ContainerBuilder,
    mounts: &[OciMount],
    bundle_dir: &Path,
    warnings: &mut Vec<String>,
) -> Result<(), OciError> {
    b.set_standard_mounts(false);
    b.set_default_devices(true);
    for (i, m) in mounts.iter().enumerate() {
        b.add_mount(convert_one(i, m, bundle_dir, warnings)?);
    }
    Ok(())
}

fn convert_one(i: usize, m: &OciMount, bundle_dir: &Path, warnings: &mut Vec<String>) -> Result<Mount, OciError> {
    let field = format!("mounts[{i}]");
    if m.uid_mappings().is_some() || m.gid_mappings().is_some() {
        return Err(OciError::unsupported(format!("{field}.uidMappings"), "idmapped mounts are not supported"));
    }
    let dest = m.destination();
    // Runtime spec 1.1: a relative destination is relative to the container's /.
    let dest = if dest.is_absolute() { dest.clone() } else { Path::new("/").join(dest) };
    let f = parse_options(&field, m.options().as_deref().unwrap_or(&[]))?;
    let typ = m.typ().as_deref().unwrap_or("");
    let mut mount = if f.bind || f.rbind || typ == "bind" {
        let Some(src) = m.source() else {
            return Err(OciError::invalid(format!("{field}.source"), "a bind mount needs a source"));
        };
        let src: PathBuf = if src.is_absolute() { src.clone() } else { bundle_dir.join(src) };
        if std::fs::symlink_metadata(&src).is_err() {
            return Err(OciError::invalid(format!("{field}.source"), format!("{} does not exist", src.display())));
        }
        Mount::bind(src, &dest).recursive(f.rbind)
    } else {
        match typ {
            "proc" => Mount::proc(&dest),
            "tmpfs" => Mount::tmpfs(&dest),
            "sysfs" => Mount::sysfs(&dest),
            "devpts" => Mount::devpts(&dest),
            "mqueue" => Mount::mqueue(&dest),
            "cgroup" => Mount::cgroup(&dest),
            "cgroup2" => Mount::cgroup2(&dest),
            "" => return Err(OciError::invalid(format!("{field}.type"), "a mount that is not a bind needs a type")),
            t => {
                return Err(OciError::unsupported(
                    format!("{field}.type"),
                    format!("{t:?}: cocoon mounts bind, proc, tmpfs, sysfs, devpts, mqueue, cgroup and cgroup2"),
                ))
            }
        }
    };
    let is_cgroup = matches!(mount.kind(), MountKind::Cgroup | MountKind::Cgroup2);
    if is_cgroup && !f.ro {
        return Err(OciError::unsupported(
            format!("{field}.options"),
            "a cgroup mount must be read-only: a writable cgroupfs would let the container change its own limits",
        ));
    }
    // The spec's options are the whole story: what they do not say is the kernel's default.
    mount = mount.read_only(f.ro).nosuid(f.nosuid).nodev(f.nodev).noexec(f.noexec).nodiratime(f.nodiratime);
    if let Some(a) = f.atime {
        mount = mount.atime(a);
    }
    if dest == Path::new("/dev") && matches!(mount.kind(), MountKind::Tmpfs { .. }) && !f.nodev {
        // The default devices are binds of their own; a node made in the tmpfs stays
        // unusable (and the cgroup device policy refuses it anyway).
        mount = mount.nodev(true);
        warnings.push(format!("{field}: the /dev tmpfs is mounted nodev (cocoon's device nodes are binds of their own)"));
    }
    let keys = mount.kind().fs_option_keys();
    for (k, v) in f.data {
        if !keys.contains(&k.as_str()) {
            let opt = match &v {
                Some(v) => format!("{k}={v}"),
                None => k.clone(),
            };
            return Err(OciError::invalid(
                format!("{field}.options"),
                format!("unknown option {opt:?} for a {} mount", mount.kind().name()),
            ));
        }
        mount = mount.fs_option(k, v.as_deref());
    }
    mount.validate().map_err(|e| OciError::invalid(field, e.to_string()))?;
    Ok(mount)
}
