//! `linux.namespaces` (new ones and joins by path), the id maps, `linux.timeOffsets`,
//! `hostname` and `domainname`.

use std::time::Duration;

use oci_spec::runtime::{Linux, LinuxIdMapping, LinuxNamespaceType, Mount as OciMount, Spec};

use crate::oci::OciError;
use crate::{ContainerBuilder, IdRange, Namespaces, TimeOffsets};

fn flag(t: LinuxNamespaceType) -> Namespaces {
    match t {
        LinuxNamespaceType::Mount => Namespaces::MOUNT,
        LinuxNamespaceType::Cgroup => Namespaces::CGROUP,
        LinuxNamespaceType::Uts => Namespaces::UTS,
        LinuxNamespaceType::Ipc => Namespaces::IPC,
        LinuxNamespaceType::User => Namespaces::USER,
        LinuxNamespaceType::Pid => Namespaces::PID,
        LinuxNamespaceType::Network => Namespaces::NET,
        LinuxNamespaceType::Time => Namespaces::TIME,
    }
}

pub(super) fn convert(
    b: &mut ContainerBuilder,
    spec: &Spec,
    linux: &Linux,
    mounts: &[OciMount],
    warnings: &mut Vec<String>,
) -> Result<(), OciError> {
    let mut new = Namespaces::empty();
    let mut seen = Namespaces::empty();
    let mut joins = Vec::new();
    for (i, n) in linux.namespaces().as_deref().unwrap_or(&[]).iter().enumerate() {
        let f = flag(n.typ());
        if seen.contains(f) {
            return Err(OciError::invalid(format!("linux.namespaces[{i}]"), format!("{} is listed twice", n.typ())));
        }
        seen |= f;
        match n.path() {
            None => new |= f,
            Some(p) if [Namespaces::NET, Namespaces::IPC, Namespaces::UTS].contains(&f) => {
                if !p.is_absolute() {
                    return Err(OciError::invalid(format!("linux.namespaces[{i}].path"), format!("{} is not absolute", p.display())));
                }
                joins.push((f, p.clone()));
            }
            Some(_) => {
                return Err(OciError::unsupported(
                    format!("linux.namespaces[{i}].path"),
                    format!("cocoon joins only network, ipc and uts namespaces by path, not {}", n.typ()),
                ))
            }
        }
    }
    if !new.contains(Namespaces::MOUNT) {
        return Err(OciError::unsupported(
            "linux.namespaces",
            "cocoon needs a new mount namespace (the root filesystem is pivoted)",
        ));
    }
    let cgroup_mount = mounts.iter().any(|m| matches!(m.typ().as_deref(), Some("cgroup" | "cgroup2")));
    if cgroup_mount && !new.contains(Namespaces::CGROUP) {
        new |= Namespaces::CGROUP;
        warnings.push(
            "linux.namespaces: a cgroup namespace was added for the cgroup mount, so that it shows the \
             container's own cgroup and not the host's hierarchy"
                .to_string(),
        );
    }
    b.set_namespaces(new);
    for (f, p) in joins {
        b.add_namespace_join(f, p);
    }

    let map = |field: &str, m: &Option<Vec<LinuxIdMapping>>| -> Result<Vec<IdRange>, OciError> {
        m.iter()
            .flatten()
            .enumerate()
            .map(|(i, r)| {
                if r.size() == 0 {
                    return Err(OciError::invalid(format!("linux.{field}[{i}]"), "the size is 0"));
                }
                Ok(IdRange::new(r.container_id(), r.host_id(), r.size()))
            })
            .collect()
    };
    let mut uid_map = map("uidMappings", linux.uid_mappings())?;
    let mut gid_map = map("gidMappings", linux.gid_mappings())?;
    if new.contains(Namespaces::USER) && uid_map.is_empty() && gid_map.is_empty() {
        // As crun does: the caller's own ids become root inside (the one mapping any
        // caller may write).
        // SAFETY: geteuid/getegid have no preconditions.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        uid_map = vec![IdRange::new(0, uid, 1)];
        gid_map = vec![IdRange::new(0, gid, 1)];
        warnings.push(format!(
            "linux.uidMappings: none given for the user namespace; uid {uid} and gid {gid} are mapped to 0 (as crun does)"
        ));
    }
    if new.contains(Namespaces::USER) {
        if uid_map.is_empty() || gid_map.is_empty() {
            return Err(OciError::invalid(
                "linux.uidMappings",
                "a new user namespace needs both uidMappings and gidMappings",
            ));
        }
        b.set_uid_map(uid_map);
        b.set_gid_map(gid_map);
    } else if !uid_map.is_empty() || !gid_map.is_empty() {
        return Err(OciError::invalid("linux.uidMappings", "id mappings need a new user namespace"));
    }

    if let Some(offsets) = linux.time_offsets() {
        if !new.contains(Namespaces::TIME) {
            return Err(OciError::invalid("linux.timeOffsets", "time offsets need a new time namespace"));
        }
        let mut t = TimeOffsets::default();
        for (clock, off) in offsets {
            let field = format!("linux.timeOffsets.{clock}");
            let secs = off.secs().unwrap_or(0);
            let nanos = off.nanosecs().unwrap_or(0);
            if secs < 0 {
                return Err(OciError::unsupported(field, "negative clock offsets are not supported"));
            }
            if nanos >= 1_000_000_000 {
                return Err(OciError::invalid(field, format!("nanosecs {nanos} is not below one second")));
            }
            let d = Duration::new(secs as u64, nanos);
            match clock.as_str() {
                "monotonic" => t.monotonic = d,
                "boottime" => t.boottime = d,
                _ => return Err(OciError::invalid(field, "only the monotonic and boottime clocks have offsets")),
            }
        }
        b.set_time_offsets(t);
    }

    let uts_joined = seen.contains(Namespaces::UTS) && !new.contains(Namespaces::UTS);
    for (field, value) in [("hostname", spec.hostname()), ("domainname", spec.domainname())] {
        let Some(name) = value.as_deref().filter(|s| !s.is_empty()) else { continue };
        if !new.contains(Namespaces::UTS) {
            let why = if uts_joined {
                "it cannot be set in a joined uts namespace"
            } else {
                "setting it needs a new uts namespace"
            };
            return Err(OciError::invalid(field, why));
        }
        crate::builder::validate_hostname(if field == "hostname" { "hostname" } else { "domainname" }, name)
            .map_err(|e| OciError::invalid(field, e.to_string()))?;
        if field == "hostname" {
            b.set_hostname(name);
        } else {
            b.set_domainname(name);
        }
    }
    Ok(())
}
