//! The rest of `linux`: sysctls, masked and read-only paths, `rootfsPropagation`,
//! `devices`, and the fields cocoon does not take yet.

use std::os::unix::fs::{FileTypeExt, MetadataExt};

use oci_spec::runtime::{Linux, LinuxDevice, LinuxDeviceType};

use crate::cgroup::DeviceRule;
use crate::mount::Mount;
use crate::oci::OciError;
use crate::{ContainerBuilder, Namespaces};

/// The runtime spec's default devices, which every cocoon OCI container gets
/// ([`ContainerBuilder::default_devices`]): (path, major, minor).
const DEFAULT_DEVICES: &[(&str, i64, i64)] = &[
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

/// Applies the rest of `linux`; returns the cgroup rules the spec's devices need.
pub(super) fn convert(b: &mut ContainerBuilder, linux: &Linux) -> Result<Vec<DeviceRule>, OciError> {
    let unsupported: [(&str, bool, &str); 5] = [
        ("linux.intelRdt", linux.intel_rdt().is_some(), "Intel RDT (resctrl) is not supported"),
        ("linux.personality", linux.personality().is_some(), "execution domains are not set"),
        ("linux.memoryPolicy", linux.memory_policy().is_some(), "NUMA memory policies are not set"),
        (
            "linux.netDevices",
            linux.net_devices().as_ref().is_some_and(|d| !d.is_empty()),
            "moving host network devices into the container is not supported",
        ),
        (
            "linux.mountLabel",
            linux.mount_label().as_deref().is_some_and(|l| !l.is_empty()),
            "SELinux mount labels from a spec are not mapped yet",
        ),
    ];
    for (field, set, why) in unsupported {
        if set {
            return Err(OciError::unsupported(field, why));
        }
    }

    match linux.rootfs_propagation().as_deref() {
        None | Some("") | Some("private") | Some("rprivate") => {}
        Some(p) => {
            return Err(OciError::unsupported(
                "linux.rootfsPropagation",
                format!("{p:?}: cocoon builds the container's mount tree private (\"rprivate\")"),
            ))
        }
    }

    let mut rules = Vec::new();
    for (i, d) in linux.devices().as_deref().unwrap_or(&[]).iter().enumerate() {
        if let Some(rule) = device(b, i, d)? {
            rules.push(rule);
        }
    }

    let paths = |field: &str, list: &Option<Vec<String>>| -> Result<Vec<String>, OciError> {
        let list = list.as_deref().unwrap_or(&[]);
        for (i, p) in list.iter().enumerate() {
            if !p.starts_with('/') {
                return Err(OciError::invalid(format!("linux.{field}[{i}]"), format!("{p:?} is not an absolute path")));
            }
            crate::mount::container_path("path", std::path::Path::new(p))
                .map_err(|e| OciError::invalid(format!("linux.{field}[{i}]"), e.to_string()))?;
        }
        Ok(list.to_vec())
    };
    b.set_masked_paths(paths("maskedPaths", linux.masked_paths())?);
    b.set_readonly_paths(paths("readonlyPaths", linux.readonly_paths())?);

    let mut sysctls: Vec<(&String, &String)> = linux.sysctl().iter().flatten().collect();
    sysctls.sort();
    for (k, v) in sysctls {
        let field = format!("linux.sysctl.{k}");
        let path = crate::config::sysctl::sysctl_path(k).map_err(|e| OciError::invalid(&field, e.to_string()))?;
        let Some(ns) = crate::config::sysctl::sysctl_namespace(&path) else {
            return Err(OciError::unsupported(field, "not a sysctl of a container's namespace: it would change the host"));
        };
        let own = b.get_namespaces().contains(ns) || b.joins.iter().any(|(n, _)| *n == ns);
        if !own {
            let name = match ns {
                Namespaces::IPC => "ipc",
                Namespaces::NET => "network",
                _ => "uts",
            };
            return Err(OciError::invalid(field, format!("it needs an {name} namespace of the container's own")));
        }
        if v.contains('\0') {
            return Err(OciError::invalid(field, "the value contains a NUL byte"));
        }
        b.set_sysctl(k.clone(), v.clone());
    }
    Ok(rules)
}

/// One of `linux.devices`: cocoon makes no nodes, it binds the host's node of the same path
/// when it is that character device (checked again, by number, when it is bound), and
/// allows it (`rwm`) in the cgroup, as runc does for the devices it creates. The default
/// devices are made anyway. The node's mode and owner are the host's, so a `fileMode`,
/// `uid` or `gid` that differs from them is refused.
fn device(b: &mut ContainerBuilder, i: usize, d: &LinuxDevice) -> Result<Option<DeviceRule>, OciError> {
    let field = format!("linux.devices[{i}]");
    let path = d.path();
    if !matches!(d.typ(), LinuxDeviceType::C | LinuxDeviceType::U) {
        return Err(OciError::unsupported(field, format!("{}: only character devices are made (bound from the host)", path.display())));
    }
    let (Ok(major), Ok(minor)) = (u32::try_from(d.major()), u32::try_from(d.minor())) else {
        return Err(OciError::invalid(field, format!("{}:{} is not a device number", d.major(), d.minor())));
    };
    if DEFAULT_DEVICES.iter().any(|(p, ma, mi)| path.as_os_str() == *p && d.major() == *ma && d.minor() == *mi) {
        if d.file_mode().is_some() || d.uid().is_some() || d.gid().is_some() {
            return Err(OciError::unsupported(
                field,
                "the default devices are binds of the host's nodes: their mode and owner are the host's",
            ));
        }
        return Ok(None);
    }
    if !path.is_absolute() || !path.starts_with("/dev") {
        return Err(OciError::invalid(field, format!("{} is not a path below /dev", path.display())));
    }
    let md = std::fs::symlink_metadata(path).map_err(|e| {
        OciError::unsupported(&field, format!("{}: the host has no such node to bind ({e})", path.display()))
    })?;
    let rdev = md.rdev();
    if !md.file_type().is_char_device() || libc::major(rdev) != major || libc::minor(rdev) != minor {
        return Err(OciError::unsupported(
            field,
            format!("the host's {} is not the character device {major}:{minor} (cocoon binds the host's node)", path.display()),
        ));
    }
    let differs = d.file_mode().is_some_and(|m| m & 0o7777 != md.mode() & 0o7777)
        || d.uid().is_some_and(|u| u != md.uid())
        || d.gid().is_some_and(|g| g != md.gid());
    if differs {
        return Err(OciError::unsupported(
            field,
            format!(
                "the bound node keeps the host's mode {:o} and owner {}:{}",
                md.mode() & 0o7777,
                md.uid(),
                md.gid()
            ),
        ));
    }
    b.add_mount(Mount::device(path, path, major, minor));
    Ok(Some(DeviceRule::allow_char(major, minor)))
}
