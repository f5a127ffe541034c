//! The rest of `linux`: sysctls, masked and read-only paths, `rootfsPropagation`,
//! `devices`, and the fields cocoon does not take yet.

use oci_spec::runtime::{Linux, LinuxDeviceType};

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

pub(super) fn convert(b: &mut ContainerBuilder, linux: &Linux, _warnings: &mut Vec<String>) -> Result<(), OciError> {
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

    for (i, d) in linux.devices().as_deref().unwrap_or(&[]).iter().enumerate() {
        let field = format!("linux.devices[{i}]");
        let default = DEFAULT_DEVICES
            .iter()
            .any(|(p, ma, mi)| d.path().as_os_str() == *p && d.major() == *ma && d.minor() == *mi);
        if !default || !matches!(d.typ(), LinuxDeviceType::C | LinuxDeviceType::U) {
            return Err(OciError::unsupported(
                field,
                format!("{}: only the default devices (null, zero, full, random, urandom, tty) are made", d.path().display()),
            ));
        }
        if d.file_mode().is_some() || d.uid().is_some() || d.gid().is_some() {
            return Err(OciError::unsupported(
                field,
                "the default devices are binds of the host's nodes: their mode and owner are the host's",
            ));
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
        let path = crate::builder::sysctl_path(k).map_err(|e| OciError::invalid(&field, e.to_string()))?;
        let Some(ns) = crate::builder::sysctl_namespace(&path) else {
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
    Ok(())
}
