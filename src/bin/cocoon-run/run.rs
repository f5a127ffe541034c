//! Running a container in the foreground (and --dry-run), and turning the library's
//! typed errors into one readable line that names the flag when a value was at fault.

use cocoon::cgroup::CgroupError;
use cocoon::selinux::{ContainerPolicy, SelinuxError};
use cocoon::{Error, ExitStatus};

use crate::args::RunArgs;
use crate::settings::{self, Streams};
use crate::{describe, Failure};

/// The flag behind a rejected value, if the error is about one.
pub fn flag_of(e: &Error) -> Option<&'static str> {
    Some(match e {
        Error::InvalidConfig { what, .. } => match *what {
            "hostname" => "--hostname",
            "domainname" => "--domainname",
            "uid map" | "gid map" | "id map" | "user namespace" => "--uid-map/--gid-map",
            "init" => "--init",
            "time offsets" => "--time-offset",
            "mount target" | "bind source" | "mount relabel" => "--bind",
            "tmpfs size" | "tmpfs mode" => "--tmpfs",
            "namespace to join" => "--join",
            "masked/read-only path" => "--masked-path/--readonly-path",
            "rootfs" => "--rootfs",
            "rootfs layers" | "rootfs lower layer" => "--layers",
            "rootfs upper layer" => "--upper",
            "rootfs work directory" => "--work",
            "user" => "--user",
            "container id" => "--name",
            "capabilities" => "--cap-add",
            "passed fd" => "--pass-fd",
            "rlimit" => "--rlimit",
            "umask" => "--umask",
            "oom_score_adj" => "--oom-score-adj",
            "working directory" => "--workdir",
            "environment variable" => "--env",
            "program" => "PROGRAM",
            "seccomp errno" => "--seccomp-errno",
            "seccomp syscall" => "--seccomp-deny",
            "landlock path" | "landlock rule" | "landlock" => "--landlock-ro/--landlock-rw/--landlock-exec",
            "namespaces" => "--share",
            "network" => "--network",
            "bridge name" => "--network",
            "subnet" | "gateway" => "--subnet",
            "address" => "--ip",
            "mtu" => "--mtu",
            "publish" => "--publish",
            "egress rate" => "--egress-rate",
            "ingress rate" => "--ingress-rate",
            "firewall" => "--allow/--deny",
            _ => return None,
        },
        Error::AddressInUse { .. } => "--ip",
        Error::PortInUse { .. } => "--publish",
        Error::Cgroup(CgroupError::Invalid { controller, setting, .. } | CgroupError::Unsupported { controller, setting, .. }) => {
            match (*controller, *setting) {
                ("cpu", "shares/weight") => "--cpu-shares/--cpu-weight",
                ("cpu", "cpu.shares") => "--cpu-shares",
                ("cpu", "cpu.weight") => "--cpu-weight",
                ("cpu", _) => "--cpus",
                ("cpuset", "cpuset.cpus") => "--cpuset-cpus",
                ("cpuset", _) => "--cpuset-mems",
                ("memory", "memory max") => "--memory",
                ("memory", "memory high") => "--memory-high",
                ("memory", "memory low") => "--memory-reservation",
                ("memory", "swap max") => "--memory-swap",
                ("memory", "oom kill disable") => "--oom-kill-disable",
                ("pids", _) => "--pids",
                ("io", "io weight") => "--io-weight",
                ("io", _) => "--device-read-bps/--device-write-bps/--device-read-iops/--device-write-iops",
                ("devices", _) => "--device-cgroup-rule",
                ("cgroup", "parent") => "--cgroup-parent",
                ("cgroup", "name") => "--name",
                _ => return None,
            }
        }
        Error::Selinux(
            SelinuxError::InvalidContext { .. }
            | SelinuxError::InvalidLevel { .. }
            | SelinuxError::NotInPolicy { .. }
            | SelinuxError::LevelInUse { .. }
            | SelinuxError::InvalidConfig(_),
        ) => "--selinux-type/--selinux-level/--selinux-user/--selinux-role",
        Error::Selinux(SelinuxError::NotEnabled) => "--selinux-require",
        Error::Unsupported { what: "landlock", .. } => "--landlock-required",
        Error::Unsupported { what: "publish", .. } => "--publish",
        _ => return None,
    })
}

/// A library error as the tool reports it: a rejected value names its flag (exit status
/// 2, found before anything was created), anything else is a setup failure (125).
pub fn failure(e: &Error) -> Failure {
    match flag_of(e) {
        Some(flag) => Failure::usage(flag, e.to_string()),
        None => Failure::Cocoon(e.to_string()),
    }
}

/// 0..=255 as a shell shows it: the code, or 128 + the signal.
pub fn exit_code(s: ExitStatus) -> u8 {
    match s {
        ExitStatus::Exited(c) => c as u8,
        ExitStatus::Signaled(n) => (128 + n) as u8,
    }
}

/// --dry-run: the plan, every value checked (host included), nothing created.
pub fn dry_run(a: &RunArgs) -> Result<u8, Failure> {
    let b = settings::builder(a, &Streams::Inherit)?;
    let plan = b.prepare().map_err(|e| failure(&e))?;
    for line in describe::plan(a) {
        println!("{line}");
    }
    if let Some(st) = plan.landlock_status() {
        println!("landlock: {st}");
    }
    println!("dry run: every value checked; nothing was created");
    Ok(0)
}

/// --selinux-policy generate: the container's generated policy on stdout; nothing runs.
pub fn selinux_policy(a: &RunArgs) -> Result<u8, Failure> {
    let b = settings::builder(a, &Streams::Inherit)?;
    let name = match (&a.selinux_policy_name, &a.name) {
        (Some(n), _) => n.clone(),
        (None, Some(id)) => id.replace(['-', '.'], "_"),
        (None, None) => "cocoon_run".to_string(),
    };
    let mut g = ContainerPolicy::generator(&name);
    for (src, ty) in &a.selinux_bind_type {
        g = g.bind_type(src, ty);
    }
    let p = g.generate(&b).map_err(|e| match e {
        SelinuxError::InvalidConfig(_) => Failure::usage("--selinux-policy-name/--selinux-bind-type", e.to_string()),
        e => Failure::Cocoon(e.to_string()),
    })?;
    print!("{}", p.cil());
    Ok(0)
}

/// Runs the container in the foreground and returns the program's exit status.
pub fn foreground(a: &RunArgs) -> Result<u8, Failure> {
    let b = settings::builder(a, &Streams::Inherit)?;
    // Every value checked before anything exists; spawn checks again, cheaply.
    let plan = b.prepare().map_err(|e| failure(&e))?;
    let mut c = plan.spawn().map_err(|e| failure(&e))?;
    if let Some(st) = plan.landlock_status() {
        if a.verbose || !st.dropped().is_empty() {
            eprintln!("cocoon: landlock: {st}");
        }
    }
    let labelled = a.selinux_type.is_some() || a.selinux_level.is_some();
    if a.verbose || labelled {
        match c.selinux_label() {
            Some(l) => eprintln!("cocoon: SELinux label: {l}"),
            None => eprintln!("cocoon: SELinux label: none (SELinux is disabled on this host)"),
        }
    }
    if a.verbose {
        for line in describe::in_effect(&c).into_iter().chain(describe::plan(a)) {
            eprintln!("cocoon: {line}");
        }
    }
    let status = c.wait().map_err(|e| failure(&e))?;
    if a.verbose {
        eprintln!("cocoon: container {} ended: {status}", c.id());
    }
    if a.stats {
        match c.stats() {
            Ok(st) => eprintln!("cocoon: stats: {}", describe::stats_line(&st)),
            Err(e) => eprintln!("cocoon-run: stats: {e}"),
        }
    }
    c.delete().map_err(|e| failure(&e))?;
    Ok(exit_code(status))
}
