//! Sysctls of a container: their names, the namespace each belongs to, and the check
//! that only the container's own namespaces are written.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::namespace::Namespaces;

/// The path below `/proc/sys` of sysctl `key` (`net.ipv4.ip_forward` or
/// `net/ipv4/ip_forward`): components of letters, digits, `_` and `-` (a dotted key's
/// components may not hold `/`; a path key's may hold `.`, as in `net/ipv4/conf/eth0.1`).
pub(crate) fn sysctl_path(key: &str) -> Result<String> {
    let path = if key.contains('/') { key.to_string() } else { key.replace('.', "/") };
    let ok = !path.is_empty()
        && path.len() <= 255
        && path.split('/').all(|c| {
            !c.is_empty() && c != "." && c != ".." && c.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        });
    if ok {
        Ok(path)
    } else {
        Err(Error::invalid("sysctl", format!("{key:?} is not a sysctl name")))
    }
}

/// The namespace whose sysctl `path` (below `/proc/sys`) is, if it is in one.
pub(crate) fn sysctl_namespace(path: &str) -> Option<Namespaces> {
    const IPC: &[&str] = &[
        "kernel/msgmax", "kernel/msgmnb", "kernel/msgmni", "kernel/sem", "kernel/shmall", "kernel/shmmax",
        "kernel/shmmni", "kernel/shm_rmid_forced",
    ];
    if IPC.contains(&path) || path.starts_with("fs/mqueue/") {
        Some(Namespaces::IPC)
    } else if path.starts_with("net/") {
        Some(Namespaces::NET)
    } else if path == "kernel/hostname" || path == "kernel/domainname" {
        Some(Namespaces::UTS)
    } else {
        None
    }
}

/// Checks every sysctl: a valid name, in a namespace the container has of its own (new,
/// or joined by path), a value without NUL.
pub(crate) fn validate(sysctls: &[(String, String)], namespaces: Namespaces, joins: &[(Namespaces, PathBuf)]) -> Result<()> {
    for (k, v) in sysctls {
        let path = sysctl_path(k)?;
        let needs = sysctl_namespace(&path).ok_or_else(|| {
            Error::invalid("sysctl", format!("{k} is not in a namespace of the container: it would change the host"))
        })?;
        if !namespaces.contains(needs) && !joins.iter().any(|(n, _)| *n == needs) {
            return Err(Error::invalid("sysctl", format!("{k} needs a {needs:?} namespace of the container's own")));
        }
        if v.contains('\0') {
            return Err(Error::invalid("sysctl value", format!("{k}: the value contains a NUL byte")));
        }
    }
    Ok(())
}
