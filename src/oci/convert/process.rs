//! `process` → [`Process`]: args, env, cwd, user, capabilities, rlimits, no_new_privs,
//! oom_score_adj (and `terminal`, returned).

use std::str::FromStr;

use oci_spec::runtime::{Capabilities as OciCaps, LinuxCapabilities, PosixRlimitType};

use crate::oci::OciError;
use crate::{CapSet, Capabilities, Process, Rlimit, User};

/// The process and `terminal`.
pub(super) fn convert(p: &oci_spec::runtime::Process, warnings: &mut Vec<String>) -> Result<(Process, bool), OciError> {
    let args = p.args().as_deref().unwrap_or(&[]);
    let Some((program, rest)) = args.split_first() else {
        return Err(OciError::invalid("process.args", "it must hold at least the program"));
    };
    if program.is_empty() {
        return Err(OciError::invalid("process.args[0]", "the program is empty"));
    }
    let mut proc = Process::new(program).args(rest);
    if p.command_line().is_some() {
        return Err(OciError::unsupported("process.commandLine", "a Windows field"));
    }
    for (i, kv) in p.env().as_deref().unwrap_or(&[]).iter().enumerate() {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(OciError::invalid(format!("process.env[{i}]"), format!("{kv:?} is not KEY=VALUE")));
        };
        if k.is_empty() {
            return Err(OciError::invalid(format!("process.env[{i}]"), format!("{kv:?} has an empty name")));
        }
        proc.set_env(k, v);
    }
    let cwd = p.cwd();
    if !cwd.is_absolute() {
        return Err(OciError::invalid("process.cwd", format!("{} is not an absolute path", cwd.display())));
    }
    proc.set_cwd(cwd);

    let u = p.user();
    if u.username().is_some() {
        return Err(OciError::unsupported("process.user.username", "a Windows field (Linux takes uid and gid)"));
    }
    proc.set_user(User::Id { uid: u.uid(), gid: u.gid(), groups: u.additional_gids().clone().unwrap_or_default() });
    if let Some(m) = u.umask() {
        if m > 0o777 {
            return Err(OciError::invalid("process.user.umask", format!("{m:#o} is above 0o777")));
        }
        proc.set_umask(m);
    }

    proc.set_capabilities(capabilities(p.capabilities().as_ref(), warnings)?);

    let mut seen = Vec::new();
    for (i, r) in p.rlimits().as_deref().unwrap_or(&[]).iter().enumerate() {
        let which = rlimit(r.typ());
        if seen.contains(&which) {
            return Err(OciError::invalid(format!("process.rlimits[{i}]"), format!("{} is given twice", which.name())));
        }
        seen.push(which);
        if r.soft() > r.hard() {
            return Err(OciError::invalid(
                format!("process.rlimits[{i}]"),
                format!("{}: soft limit {} is above the hard limit {}", which.name(), r.soft(), r.hard()),
            ));
        }
        proc.set_rlimit(which, r.soft(), r.hard());
    }

    proc.set_no_new_privs(p.no_new_privileges().unwrap_or(false));
    if let Some(adj) = p.oom_score_adj() {
        if !(-1000..=1000).contains(&adj) {
            return Err(OciError::invalid("process.oomScoreAdj", format!("{adj} is outside -1000..=1000")));
        }
        proc.set_oom_score_adj(adj);
    }
    if let Some(profile) = p.apparmor_profile().as_deref().filter(|s| !s.is_empty()) {
        warnings.push(format!(
            "process.apparmorProfile {profile:?} is not applied: cocoon does not confine with AppArmor"
        ));
    }
    if p.selinux_label().as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(OciError::unsupported("process.selinuxLabel", "SELinux labels from a spec are not mapped yet"));
    }
    for (field, set) in [
        ("process.ioPriority", p.io_priority().is_some()),
        ("process.scheduler", p.scheduler().is_some()),
        ("process.execCPUAffinity", p.exec_cpu_affinity().is_some()),
    ] {
        if set {
            return Err(OciError::unsupported(field, "cocoon does not set it"));
        }
    }
    Ok((proc, p.terminal().unwrap_or(false)))
}

/// The five sets; a missing set (or a missing `capabilities`) is empty. Ambient
/// capabilities the process could not hold (not in both permitted and inheritable — the
/// kernel refuses to raise them) are dropped with a warning.
fn capabilities(c: Option<&LinuxCapabilities>, warnings: &mut Vec<String>) -> Result<Capabilities, OciError> {
    let Some(c) = c else { return Ok(Capabilities::none()) };
    let set = |name: &str, s: &Option<OciCaps>| -> Result<CapSet, OciError> {
        let mut v: Vec<String> = s.iter().flatten().map(|c| format!("CAP_{c}")).collect();
        v.sort();
        v.iter()
            .map(|n| {
                caps::Capability::from_str(n).map_err(|_| {
                    OciError::unsupported(format!("process.capabilities.{name}"), format!("{n} is not a capability cocoon knows"))
                })
            })
            .collect()
    };
    let mut caps = Capabilities {
        bounding: set("bounding", c.bounding())?,
        effective: set("effective", c.effective())?,
        permitted: set("permitted", c.permitted())?,
        inheritable: set("inheritable", c.inheritable())?,
        ambient: set("ambient", c.ambient())?,
    };
    if caps.effective.0 & !caps.permitted.0 != 0 {
        let extra: Vec<String> = CapSet(caps.effective.0 & !caps.permitted.0).iter().map(|c| c.to_string()).collect();
        return Err(OciError::invalid(
            "process.capabilities.effective",
            format!("{} not in the permitted set", extra.join(", ")),
        ));
    }
    let holdable = caps.permitted.0 & caps.inheritable.0;
    if caps.ambient.0 & !holdable != 0 {
        let dropped: Vec<String> = CapSet(caps.ambient.0 & !holdable).iter().map(|c| c.to_string()).collect();
        warnings.push(format!(
            "process.capabilities.ambient: {} dropped (an ambient capability must be permitted and inheritable)",
            dropped.join(", ")
        ));
        caps.ambient = CapSet(caps.ambient.0 & holdable);
    }
    Ok(caps)
}

fn rlimit(t: PosixRlimitType) -> Rlimit {
    match t {
        PosixRlimitType::RlimitCpu => Rlimit::Cpu,
        PosixRlimitType::RlimitFsize => Rlimit::Fsize,
        PosixRlimitType::RlimitData => Rlimit::Data,
        PosixRlimitType::RlimitStack => Rlimit::Stack,
        PosixRlimitType::RlimitCore => Rlimit::Core,
        PosixRlimitType::RlimitRss => Rlimit::Rss,
        PosixRlimitType::RlimitNproc => Rlimit::Nproc,
        PosixRlimitType::RlimitNofile => Rlimit::Nofile,
        PosixRlimitType::RlimitMemlock => Rlimit::Memlock,
        PosixRlimitType::RlimitAs => Rlimit::As,
        PosixRlimitType::RlimitLocks => Rlimit::Locks,
        PosixRlimitType::RlimitSigpending => Rlimit::Sigpending,
        PosixRlimitType::RlimitMsgqueue => Rlimit::Msgqueue,
        PosixRlimitType::RlimitNice => Rlimit::Nice,
        PosixRlimitType::RlimitRtprio => Rlimit::Rtprio,
        PosixRlimitType::RlimitRttime => Rlimit::Rttime,
    }
}
