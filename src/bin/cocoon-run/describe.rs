//! What a container gets, in words and units a person reads: for --verbose (with what the
//! kernel shows once it runs) and --dry-run (the plan alone).

use cocoon::{Container, Namespaces, Rlimit};

use crate::args::{RunArgs, SeccompMode};
use crate::settings;

/// `64 MiB`, `1.5 GiB`, `512 bytes`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    if v.fract() == 0.0 {
        format!("{v} {unit}")
    } else {
        format!("{v:.1} {unit}")
    }
}

fn ns_names(ns: Namespaces) -> String {
    let all = Namespaces::PROC_NAMES;
    let v: Vec<&str> = all.iter().filter(|(n, _)| ns.contains(*n)).map(|(_, s)| *s).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(" ")
    }
}

fn limit(v: u64, bytes: bool) -> String {
    match v {
        u64::MAX => "unlimited".into(),
        _ if bytes => human_bytes(v),
        _ => v.to_string(),
    }
}

/// The limits asked for, e.g. `memory 64 MiB, pids 64`; unset ones are left out.
pub fn limits_line(a: &RunArgs) -> String {
    let mut parts = Vec::new();
    if let Some(m) = a.memory {
        parts.push(format!("memory {}", human_bytes(m)));
    }
    if let (Some(t), Some(m)) = (a.memory_swap, a.memory) {
        parts.push(format!("swap {}", human_bytes(t.saturating_sub(m))));
    }
    if let Some(m) = a.memory_reservation {
        parts.push(format!("memory reservation {}", human_bytes(m)));
    }
    if let Some(m) = a.memory_high {
        parts.push(format!("memory high {}", human_bytes(m)));
    }
    if a.oom_kill_disable {
        parts.push("OOM killer off".into());
    }
    if let Some(p) = a.pids {
        parts.push(format!("pids {p}"));
    }
    if let Some(c) = a.cpus {
        parts.push(format!("cpus {c} ({} ms every 100 ms)", (c * 100.0).round()));
    }
    if let Some(s) = &a.cpuset_cpus {
        parts.push(format!("on CPUs {s}"));
    }
    if let Some(s) = &a.cpuset_mems {
        parts.push(format!("memory nodes {s}"));
    }
    if let Some(s) = a.cpu_shares {
        parts.push(format!("cpu shares {s}"));
    }
    if let Some(w) = a.cpu_weight {
        parts.push(format!("cpu weight {w}"));
    }
    if let Some(w) = a.io_weight {
        parts.push(format!("io weight {w}"));
    }
    for (dev, rate, v) in a.io_limits() {
        let (what, unit) = match rate {
            cocoon::cgroup::IoRate::ReadBps => ("read", format!("{}/s", human_bytes(*v))),
            cocoon::cgroup::IoRate::WriteBps => ("write", format!("{}/s", human_bytes(*v))),
            cocoon::cgroup::IoRate::ReadIops => ("read", format!("{v} ops/s")),
            cocoon::cgroup::IoRate::WriteIops => ("write", format!("{v} ops/s")),
        };
        parts.push(format!("{} {what} {unit}", dev.display()));
    }
    if !a.device_cgroup_rule.is_empty() {
        parts.push(format!("{} extra device rule(s)", a.device_cgroup_rule.len()));
    }
    if parts.is_empty() {
        "no limits".into()
    } else {
        parts.join(", ")
    }
}

fn seccomp_line(a: &RunArgs) -> String {
    let base = match (&a.seccomp_profile, a.seccomp) {
        (Some(f), _) => format!("profile {} (Docker JSON, replacing the default profile)", f.display()),
        (None, SeccompMode::Default | SeccompMode::DenyList) => format!(
            "{} (EPERM for every syscall it does not list: keyrings, kexec, modules, BPF, perf; mount, setns and new \
             namespaces only with CAP_SYS_ADMIN; clone3 ENOSYS)",
            cocoon::seccomp::DEFAULT_PROFILE_NAME
        ),
        (None, SeccompMode::Unconfined) => "none (unconfined)".to_string(),
    };
    let mut n = a.seccomp_deny.len();
    if a.seccomp == SeccompMode::DenyList {
        n += cocoon::Seccomp::default_deny().denied().count();
    }
    match n {
        0 => base,
        _ => format!("{base} + {n} denied syscalls (errno {})", a.seccomp_errno.unwrap_or(libc::EPERM)),
    }
}

fn rlimit_unit_is_bytes(r: Rlimit) -> bool {
    matches!(
        r,
        Rlimit::As
            | Rlimit::Core
            | Rlimit::Data
            | Rlimit::Fsize
            | Rlimit::Memlock
            | Rlimit::Msgqueue
            | Rlimit::Rss
            | Rlimit::Stack
    )
}

/// The plan: every setting the flags make, one topic a line.
pub fn plan(a: &RunArgs) -> Vec<String> {
    let mut out = Vec::new();
    let ns = settings::namespaces(a);
    let cmd: Vec<String> = a.command.iter().map(|s| s.to_string_lossy().into_owned()).collect();
    out.push(format!("program: {}", cmd.join(" ")));
    let root = match (&a.rootfs, &a.layers) {
        _ if a.image.is_some() => format!(
            "image {} of {} (its layers, a fresh writable layer removed afterwards)",
            a.image.as_deref().unwrap_or_default(),
            a.image_store.display()
        ),
        (Some(d), _) => format!("directory {}", d.display()),
        (None, Some(l)) => format!(
            "overlay: {} read-only layers, writable {}",
            l.split(':').count(),
            a.upper.as_deref().unwrap_or("?".as_ref()).display()
        ),
        (None, None) => "embedded host sandbox (host /usr read-only, tmpfs root)".into(),
    };
    out.push(format!("root: {root}, pivot_root, {}", if a.read_only_root() { "read-only" } else { "writable" }));
    if a.minimal {
        out.push("mounts: only /proc (--minimal)".into());
    } else {
        out.push(
            "mounts: /proc, /sys (ro), /dev (tmpfs, pts, shm, mqueue); Docker's masked and read-only paths".into(),
        );
    }
    for t in &a.tmpfs {
        let size = t.size.map(|s| format!(", {}", human_bytes(s))).unwrap_or_default();
        out.push(format!("  tmpfs {}{size}{}", t.target.display(), if t.read_only { ", read-only" } else { "" }));
    }
    for b in a.bind.iter().chain(&a.ro_bind) {
        out.push(format!(
            "  bind {} -> {}, {}",
            b.source.display(),
            b.target.display(),
            if b.read_only { "read-only" } else { "read-write" }
        ));
    }
    for p in &a.masked_path {
        out.push(format!("  masked {}", p.display()));
    }
    for p in &a.readonly_path {
        out.push(format!("  read-only {}", p.display()));
    }
    let mut ns_all = ns;
    if settings::default_userns(a) || !a.uid_map.is_empty() {
        ns_all |= Namespaces::USER;
    }
    if !a.time_offset.is_empty() {
        ns_all |= Namespaces::TIME;
    }
    for (n, _) in &a.join {
        ns_all.remove(*n);
    }
    out.push(format!("new namespaces: {}", ns_names(ns_all)));
    for (n, p) in &a.join {
        out.push(format!("  joins {} {}", ns_names(*n), p.display()));
    }
    if ns_all.contains(Namespaces::UTS) {
        let host = a.hostname.as_deref().unwrap_or("cocoon");
        match &a.domainname {
            Some(d) => out.push(format!("hostname {host:?}, domain {d:?}")),
            None => out.push(format!("hostname {host:?}")),
        }
    }
    if settings::default_userns(a) {
        out.push("user namespace: root inside is unprivileged outside (default map)".into());
    }
    for (what, map) in [("uid", &a.uid_map), ("gid", &a.gid_map)] {
        for r in map {
            out.push(format!(
                "  {what} {}..{} inside = {}..{} outside",
                r.inside,
                r.inside as u64 + r.count as u64 - 1,
                r.outside,
                r.outside as u64 + r.count as u64 - 1
            ));
        }
    }
    for (clock, d) in &a.time_offset {
        out.push(format!("  clock offset {}: +{} s", clock.unwrap_or("monotonic and boottime"), d.as_secs()));
    }
    let user = match &a.user {
        Some(crate::parse::UserSpec::Name(n)) => format!("user {n} (from the container's /etc/passwd)"),
        Some(crate::parse::UserSpec::Id(u, g)) => format!("uid {u}, gid {}", g.unwrap_or(0)),
        None => "uid 0, gid 0".into(),
    };
    let groups = if a.group_add.is_empty() { String::new() } else { format!(", groups {:?}", a.group_add) };
    let cwd = a.workdir.as_deref().unwrap_or("/".as_ref()).display().to_string();
    out.push(format!(
        "process: {user}{groups}, cwd {cwd}{}",
        if a.init { ", under cocoon's init as PID 1" } else { "" }
    ));
    let env = settings::environment(a);
    let keys: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    out.push(format!("env: {} variables ({})", env.len(), keys.join(" ")));
    let caps = settings::capabilities(a);
    let names: Vec<String> =
        caps.iter().map(|c| c.to_string().trim_start_matches("CAP_").to_ascii_lowercase()).collect();
    let caps_text = if caps == cocoon::Capabilities::docker_default().bounding {
        "Docker's default set".to_string()
    } else if names.is_empty() {
        "none".to_string()
    } else {
        names.join(" ")
    };
    out.push(format!("capabilities: {caps_text}; no_new_privs {}", if a.no_new_privs { "on" } else { "off" }));
    out.push(format!("seccomp: {}", seccomp_line(a)));
    for (r, soft, hard) in &a.rlimit {
        let bytes = rlimit_unit_is_bytes(*r);
        out.push(format!("  {} soft {} hard {}", r.name(), limit(*soft, bytes), limit(*hard, bytes)));
    }
    if let Some(m) = a.umask {
        out.push(format!("  umask {m:04o}"));
    }
    if let Some(adj) = a.oom_score_adj {
        out.push(format!("  oom_score_adj {adj}"));
    }
    for f in &a.pass_fd {
        out.push(format!("  passes descriptor {} as {}", f.source, f.target));
    }
    if a.wants_cgroup() {
        let parent = a.cgroup_parent.as_deref().unwrap_or(cocoon::cgroup::DEFAULT_PARENT.as_ref());
        out.push(format!("cgroup under {}: {}", parent.display(), limits_line(a)));
    } else {
        out.push("cgroup: none of its own (only the device policy)".into());
    }
    out
}

/// What the kernel shows of the running container: its namespaces against ours.
pub fn in_effect(c: &Container) -> Vec<String> {
    let pid = c.pid();
    let mut out = vec![format!("container {} (host pid {pid})", c.id())];
    let mut own = Vec::new();
    let mut shared = Vec::new();
    let mut gone = false;
    for name in ["mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time"] {
        let Ok(mine) = std::fs::read_link(format!("/proc/self/ns/{name}")) else { continue };
        match std::fs::read_link(format!("/proc/{pid}/ns/{name}")) {
            Ok(t) if t != mine => own.push(name),
            Ok(_) => shared.push(name),
            // Exited while we read: a partial list would misstate what it had.
            Err(_) => gone = true,
        }
    }
    if gone || (own.is_empty() && shared.is_empty()) {
        out.push(format!(
            "namespaces: {} (the program exited before they could be inspected)",
            ns_names(c.namespaces())
        ));
    } else {
        let shared = if shared.is_empty() { "none".to_string() } else { shared.join(" ") };
        out.push(format!("own namespaces: {}; shared with host: {shared}", own.join(" ")));
    }
    if let Some(p) = c.cgroup_path() {
        out.push(format!("cgroup {}", p.display()));
    }
    match c.network() {
        Some(n) => {
            out.push(format!(
                "network: {} {}/{} via {}, host end {} on bridge {}",
                n.interface, n.address, n.prefix, n.gateway, n.host_interface, n.bridge
            ));
            if n.masquerade {
                out.push(format!(
                    "nat: masquerade {} leaving the subnet (nftables table ip {})",
                    n.address,
                    cocoon::net::NAT_TABLE
                ));
            }
            if !n.firewall.is_open() {
                out.extend(n.firewall.describe());
            }
            if let Some(l) = n.egress_limit {
                out.push(format!("egress limit: {l} (tbf on {})", n.interface));
            }
            if let Some(l) = n.ingress_limit {
                out.push(format!("ingress limit: {l} (tbf on {})", n.host_interface));
            }
            for p in &n.published {
                let on = p.host_address().map_or_else(|| "*".to_string(), |a| a.to_string());
                out.push(format!(
                    "publish: {on}:{}/{} -> {}:{}",
                    p.host_port(),
                    p.protocol(),
                    n.address,
                    p.container_port()
                ));
            }
        }
        None if c.namespaces().contains(cocoon::Namespaces::NET) => out.push("network: loopback only".into()),
        None => {}
    }
    out
}

/// The usage as a line, e.g. `cpu 3.1ms (user 1ms, system 2ms); memory 1.2 MiB (peak 2 MiB); pids 1`.
pub fn stats_line(st: &cocoon::CgroupStats) -> String {
    let mut parts = Vec::new();
    if let Some(c) = &st.cpu {
        parts.push(format!("cpu {:?} (user {:?}, system {:?})", c.usage, c.user, c.system));
    }
    if let Some(m) = &st.memory {
        let mut s = format!("memory {}", human_bytes(m.current));
        if let Some(p) = m.peak {
            s += &format!(" (peak {})", human_bytes(p));
        }
        if m.oom_kills > 0 {
            s += &format!(", {} OOM kills", m.oom_kills);
        }
        parts.push(s);
    }
    if let Some(p) = &st.pids {
        parts.push(format!("pids {}", p.current));
    }
    if let Some(io) = &st.io {
        parts.push(format!("io read {}, written {}", human_bytes(io.read_bytes), human_bytes(io.write_bytes)));
    }
    if parts.is_empty() {
        "none available on this host".into()
    } else {
        parts.join("; ")
    }
}
