//! From the parsed flags to a `ContainerBuilder`, through the library's public API only.

use std::time::Duration;

use cocoon::builder::{DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS};
use cocoon::cgroup::{CpuShares, CpuWeight};
use cocoon::{
    Bytes, CapSet, Capabilities, CgroupConfig, ContainerBuilder, IdRange, Landlock, LandlockMode, Mount, Namespaces,
    Process, Rootfs, Seccomp, SelinuxConfig, Stdio, TimeOffsets, User,
};

use crate::args::{RunArgs, SeccompMode};
use crate::parse::{Cap, UserSpec};
use crate::Failure;

/// The namespaces the flags ask for (before id maps, time offsets and joins, which the
/// builder adds or takes out itself).
pub fn namespaces(a: &RunArgs) -> Namespaces {
    let mut ns = Namespaces::DEFAULT;
    if a.no_net {
        ns.remove(Namespaces::NET);
    }
    if a.minimal {
        // The floor's namespaces: no cgroup namespace.
        ns.remove(Namespaces::CGROUP);
    }
    for n in &a.unshare {
        ns |= *n;
    }
    for n in &a.share {
        ns.remove(*n);
    }
    ns
}

/// The default id maps of --userns (or --unshare user without maps).
fn default_maps() -> (IdRange, IdRange) {
    // SAFETY: geteuid/getegid cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    if uid == 0 {
        (IdRange::new(0, 100_000, 65_536), IdRange::new(0, 100_000, 65_536))
    } else {
        // Rootless: the kernel lets an unprivileged caller map only its own ids.
        (IdRange::new(0, uid, 1), IdRange::new(0, gid, 1))
    }
}

/// Whether a new user namespace gets the default maps.
pub fn default_userns(a: &RunArgs) -> bool {
    a.uid_map.is_empty()
        && (a.userns || (a.unshare.contains(&Namespaces::USER) && !a.share.contains(&Namespaces::USER)))
}

/// The capability set: Docker's default, then --cap-drop, then --cap-add.
pub fn capabilities(a: &RunArgs) -> CapSet {
    let mut set = Capabilities::docker_default().bounding;
    for c in &a.cap_drop {
        set = match c {
            Cap::All => CapSet::EMPTY,
            Cap::One(c) => set.without(*c),
        };
    }
    for c in &a.cap_add {
        set = match c {
            Cap::All => CapSet::all(),
            Cap::One(c) => set.with(*c),
        };
    }
    set
}

/// The environment, in order: PATH, then each --env-file, then each -e (later wins).
pub fn environment(a: &RunArgs) -> Vec<(String, String)> {
    let mut env = vec![("PATH".to_string(), cocoon::plan::DEFAULT_PATH.to_string())];
    let all = a.env_file.iter().flat_map(|f| f.0.iter()).chain(&a.env);
    for (k, v) in all {
        env.retain(|(key, _)| key != k);
        env.push((k.clone(), v.clone()));
    }
    env
}

/// The user the program runs as.
pub fn user(spec: Option<&UserSpec>, groups: &[u32]) -> Result<User, Failure> {
    match spec {
        Some(UserSpec::Name(n)) if groups.is_empty() => Ok(User::Name(n.clone())),
        Some(UserSpec::Name(_)) => Err(Failure::usage(
            "--group-add",
            "needs a numeric --user UID[:GID] (a user NAME gets its groups from the container's /etc/group)",
        )),
        Some(UserSpec::Id(uid, gid)) => Ok(User::Id { uid: *uid, gid: gid.unwrap_or(0), groups: groups.to_vec() }),
        None => Ok(User::Id { uid: 0, gid: 0, groups: groups.to_vec() }),
    }
}

/// `--seccomp-profile FILE`: a Docker JSON profile (at most 4 MiB), resolved for `caps`.
fn seccomp_profile(file: &std::path::Path, caps: cocoon::CapSet) -> Result<cocoon::seccomp::Profile, Failure> {
    use std::io::Read;
    let bad = |reason: String| Failure::usage("--seccomp-profile", format!("{}: {reason}", file.display()));
    let f = std::fs::File::open(file).map_err(|e| bad(e.to_string()))?;
    let mut json = Vec::new();
    f.take(4 << 20).read_to_end(&mut json).map_err(|e| bad(e.to_string()))?;
    cocoon::seccomp::Profile::from_docker_json(&json, caps).map_err(|e| bad(e.to_string()))
}

/// The seccomp deny-list the flags ask for, if any.
pub fn seccomp(a: &RunArgs) -> Result<Option<Seccomp>, Failure> {
    let mut denied: Vec<i64> = a.seccomp_deny.clone();
    if a.seccomp == SeccompMode::DenyList {
        denied.extend(Seccomp::default_deny().denied());
    }
    if denied.is_empty() {
        if a.seccomp_errno.is_some() {
            return Err(Failure::usage("--seccomp-errno", "needs --seccomp-deny or --seccomp=deny-list"));
        }
        return Ok(None);
    }
    let mut s = Seccomp::deny(denied);
    if let Some(e) = a.seccomp_errno {
        s = s.errno(e);
    }
    Ok(Some(s))
}

/// The cgroup limits, if any flag asks for a cgroup.
pub fn cgroup(a: &RunArgs) -> Result<Option<CgroupConfig>, Failure> {
    if !a.wants_cgroup() {
        return Ok(None);
    }
    let mut cg = CgroupConfig::new();
    if let Some(m) = a.memory {
        cg = cg.memory_max(Bytes::new(m));
    }
    if let Some(total) = a.memory_swap {
        let m = a.memory.unwrap_or(0);
        if total < m {
            return Err(Failure::usage(
                "--memory-swap",
                format!("{total} bytes is below --memory ({m} bytes); it counts memory plus swap"),
            ));
        }
        cg = cg.swap_max(Bytes::new(total - m));
    }
    if let Some(m) = a.memory_reservation {
        cg = cg.memory_low(Bytes::new(m));
    }
    if let Some(m) = a.memory_high {
        cg = cg.memory_high(Bytes::new(m));
    }
    if a.oom_kill_disable {
        cg = cg.oom_kill_disable(true);
    }
    if let Some(p) = a.pids {
        cg = cg.pids_max(p);
    }
    if let Some(c) = a.cpus {
        let period = Duration::from_millis(100);
        cg = cg.cpu_quota(period.mul_f64(c), period);
    }
    if let Some(s) = &a.cpuset_cpus {
        cg = cg.cpus(s.clone());
    }
    if let Some(s) = &a.cpuset_mems {
        cg = cg.mems(s.clone());
    }
    if let Some(s) = a.cpu_shares {
        cg = cg.cpu_shares(CpuShares(s));
    }
    if let Some(w) = a.cpu_weight {
        cg = cg.cpu_weight(CpuWeight(w));
    }
    if let Some(w) = a.io_weight {
        cg = cg.io_weight(w);
    }
    for (dev, rate, v) in a.io_limits() {
        cg = cg.io_limit(dev.clone(), *rate, *v);
    }
    for r in &a.device_cgroup_rule {
        cg = cg.device_rule(*r);
    }
    if let Some(p) = &a.cgroup_parent {
        cg = cg.parent(p.clone());
    }
    Ok(Some(cg))
}

/// Where the program's streams go: the caller's own, or (detached) /dev/null and a log.
pub enum Streams {
    Inherit,
    /// A detached container: stdin from /dev/null, stdout and stderr to the CRI log at
    /// the path unless --log names another.
    Detached(std::path::PathBuf),
}

/// The program's process as the flags describe it (also the base of `exec`: the same
/// capabilities, limits, seccomp and environment).
pub fn process(a: &RunArgs, command: &[std::ffi::OsString], streams: &Streams) -> Result<Process, Failure> {
    // With --image and no program: "", the image's Entrypoint + Cmd.
    let empty = std::ffi::OsString::new();
    let (program, args) = match command.split_first() {
        Some((p, rest)) => (p, rest),
        None if a.image.is_some() => (&empty, &[][..]),
        None => return Err(Failure::usage("PROGRAM", "no program given")),
    };
    let mut env = environment(a);
    if a.image.is_some() && !a.env.iter().any(|(k, _)| k == "PATH") {
        // The image's PATH, not the host default.
        env.retain(|(k, _)| k != "PATH");
    }
    let mut p = Process::new(program)
        .args(args)
        .envs(env)
        .user(user(a.user.as_ref(), &a.group_add)?)
        .capabilities(Capabilities::uniform(capabilities(a)))
        .no_new_privs(a.no_new_privs);
    if let Some(w) = &a.workdir {
        p = p.cwd(w.clone());
    }
    for (which, soft, hard) in &a.rlimit {
        p = p.rlimit(*which, *soft, *hard);
    }
    if let Some(m) = a.umask {
        p = p.umask(m);
    }
    if let Some(adj) = a.oom_score_adj {
        p = p.oom_score_adj(adj);
    }
    match a.seccomp {
        SeccompMode::Unconfined => p = p.default_seccomp(false),
        SeccompMode::Default | SeccompMode::DenyList => {}
    }
    if let Some(file) = &a.seccomp_profile {
        if a.seccomp == SeccompMode::Unconfined {
            return Err(Failure::usage("--seccomp-profile", "conflicts with --seccomp=unconfined"));
        }
        p = p.seccomp_profile(seccomp_profile(file, capabilities(a))?);
    }
    if let Some(s) = seccomp(a)? {
        p = p.seccomp(s);
    }
    if let Streams::Detached(_) = streams {
        p = p.stdin(Stdio::Null);
    }
    Ok(p)
}

/// Where the container's CRI log goes: --log, or for a detached container its state
/// directory's `container.log`.
pub fn log_path(a: &RunArgs, streams: &Streams) -> Option<std::path::PathBuf> {
    match (&a.log, streams) {
        (Some(p), _) => Some(p.clone()),
        (None, Streams::Detached(default)) => Some(default.clone()),
        (None, Streams::Inherit) => None,
    }
}

/// The whole container, as the flags describe it.
pub fn builder(a: &RunArgs, streams: &Streams) -> Result<ContainerBuilder, Failure> {
    let mut p = process(a, &a.command, streams)?;
    if let Some(path) = log_path(a, streams) {
        // The first process only (exec'd ones and health checks keep their streams);
        // replaces stdout and stderr (the keeper's own messages stay in its plain log).
        p = p.log(cocoon::logs::LogConfig::new(path).rotate(a.log_max_size.unwrap_or(0), a.log_max_files));
    }
    for f in &a.pass_fd {
        p = p.pass_fd(f.fd.clone(), f.target);
    }
    let ns = namespaces(a);
    let mut b = ContainerBuilder::new(p).namespaces(ns).read_only_root(a.read_only_root()).init(a.init);
    if let Some(id) = &a.name {
        b = b.id(id);
    }
    if let Some(reference) = &a.image {
        let store = cocoon::image::ImageStore::open(&a.image_store).map_err(|e| Failure::Cocoon(e.to_string()))?;
        b = b.image(&store, reference).map_err(|e| Failure::Cocoon(e.to_string()))?;
    } else {
        b = b.rootfs(match (&a.rootfs, &a.layers) {
            (Some(dir), _) => Rootfs::directory(dir),
            (None, Some(l)) => {
                Rootfs::layers(l.split(':'), a.upper.clone().unwrap_or_default(), a.work.clone().unwrap_or_default())
            }
            (None, None) => Rootfs::HostSandbox,
        });
    }
    let uts_joined = a.join.iter().any(|(n, _)| *n == Namespaces::UTS);
    match &a.hostname {
        Some(h) => b = b.hostname(h),
        None if ns.contains(Namespaces::UTS) && !uts_joined => b = b.hostname("cocoon"),
        None => {}
    }
    if let Some(d) = &a.domainname {
        b = b.domainname(d);
    }
    // The builder adds the namespace these need: refuse what --share took out.
    if !a.time_offset.is_empty() && a.share.contains(&Namespaces::TIME) {
        return Err(Failure::usage("--time-offset", "needs a new time namespace (not --share time)"));
    }
    if (!a.uid_map.is_empty() || a.userns) && a.share.contains(&Namespaces::USER) {
        return Err(Failure::usage("--uid-map/--userns", "needs a new user namespace (not --share user)"));
    }
    if default_userns(a) {
        let (u, g) = default_maps();
        b = b.uid_map([u]).gid_map([g]);
    } else if !a.uid_map.is_empty() {
        b = b.uid_map(a.uid_map.clone()).gid_map(a.gid_map.clone());
    }
    if !a.time_offset.is_empty() {
        let mut t = TimeOffsets::default();
        for (clock, d) in &a.time_offset {
            match clock {
                Some("monotonic") => t.monotonic = *d,
                Some(_) => t.boottime = *d,
                None => (t.monotonic, t.boottime) = (*d, *d),
            }
        }
        b = b.time_offsets(t);
    }
    for (n, path) in &a.join {
        b = b.join_namespace(*n, path.clone());
    }
    b = network(a, b)?;
    if a.minimal {
        b = b.standard_mounts(false).mount(Mount::proc("/proc"));
    }
    let defaults =
        |list: &[&str]| if a.minimal { Vec::new() } else { list.iter().map(std::path::PathBuf::from).collect() };
    b = b
        .masked_paths(defaults(DEFAULT_MASKED_PATHS).into_iter().chain(a.masked_path.iter().cloned()))
        .readonly_paths(defaults(DEFAULT_READONLY_PATHS).into_iter().chain(a.readonly_path.iter().cloned()));
    // tmpfs first, so that a bind can land inside one (--tmpfs /w --bind /src:/w/src).
    for t in &a.tmpfs {
        let mut m = Mount::tmpfs(&t.target).read_only(t.read_only).noexec(t.noexec);
        if let Some(s) = t.size {
            m = m.size(s);
        }
        if let Some(mode) = t.mode {
            m = m.mode(mode);
        }
        b = b.mount(m);
    }
    for x in a.bind.iter().chain(&a.ro_bind) {
        let mut m = Mount::bind(&x.source, &x.target).read_only(x.read_only).recursive(x.recursive).noexec(x.noexec);
        if let Some(s) = x.relabel {
            m = m.selinux_relabel(s);
        }
        b = b.mount(m);
    }
    if let Some(cg) = cgroup(a)? {
        b = b.cgroup(cg);
    }
    if let Some(se) = selinux(a) {
        b = b.selinux(se);
    }
    if let Some(l) = landlock(a) {
        b = b.landlock(l);
    }
    Ok(b)
}

/// `--network`, `--subnet`, `--ip`, `--mtu`, `--nat`, `--publish`.
fn network(a: &RunArgs, mut b: ContainerBuilder) -> Result<ContainerBuilder, Failure> {
    use crate::parse::{NetworkFlag, DEFAULT_SUBNET};
    let bridge_only = [
        ("--subnet", a.subnet.is_some()),
        ("--ip", a.ip.is_some()),
        ("--mtu", a.mtu.is_some()),
        ("--nat", a.nat),
        ("--publish", !a.publish.is_empty()),
        ("--allow", !a.allow.is_empty()),
        ("--deny", !a.deny.is_empty()),
        ("--egress-rate", a.egress_rate.is_some()),
        ("--ingress-rate", a.ingress_rate.is_some()),
    ];
    match &a.network {
        Some(NetworkFlag::Bridge(name)) => {
            let subnet = match a.subnet {
                Some(s) => s,
                None => DEFAULT_SUBNET.parse().map_err(|e: cocoon::Error| Failure::usage("--subnet", e.to_string()))?,
            };
            let mut net = cocoon::BridgeNetwork::new(name, subnet);
            if let Some(ip) = a.ip {
                net = net.address(ip);
            }
            if let Some(m) = a.mtu {
                net = net.mtu(m);
            }
            net = net.nat(a.nat);
            for p in &a.publish {
                net = net.publish(*p);
            }
            net = net.firewall(firewall(a)?);
            if let Some(l) = a.egress_rate {
                net = net.egress_limit(l);
            }
            if let Some(l) = a.ingress_rate {
                net = net.ingress_limit(l);
            }
            b = b.network(cocoon::Network::Bridge(net));
        }
        other => {
            if let Some((flag, _)) = bridge_only.iter().find(|(_, set)| *set) {
                return Err(Failure::usage(flag, "needs --network bridge[=NAME]"));
            }
            if let Some(NetworkFlag::Join(path)) = other {
                b = b.join_namespace(Namespaces::NET, path.clone());
            }
        }
    }
    Ok(b)
}

/// The firewall of `--deny` then `--allow` (each in the order given; `*` sets a default).
fn firewall(a: &RunArgs) -> Result<cocoon::net::Firewall, Failure> {
    use cocoon::net::Action;
    let mut fw = cocoon::net::Firewall::new();
    let rules = a
        .deny
        .iter()
        .map(|s| (Action::Drop, s, "--deny"))
        .chain(a.allow.iter().map(|s| (Action::Accept, s, "--allow")));
    for (action, spec, flag) in rules {
        fw = fw.add_spec(action, spec).map_err(|e| Failure::usage(flag, e.to_string()))?;
    }
    Ok(fw)
}

/// The Landlock ruleset the --landlock-* flags ask for, if any.
pub fn landlock(a: &RunArgs) -> Option<Landlock> {
    let any = !(a.landlock_ro.is_empty()
        && a.landlock_rw.is_empty()
        && a.landlock_exec.is_empty()
        && a.landlock_connect.is_empty()
        && a.landlock_bind.is_empty());
    if !any && !a.landlock_required {
        return None;
    }
    let mut l =
        Landlock::new().mode(if a.landlock_required { LandlockMode::Required } else { LandlockMode::BestEffort });
    for p in &a.landlock_ro {
        l = l.read(p);
    }
    for p in &a.landlock_rw {
        l = l.read_write(p);
    }
    for p in &a.landlock_exec {
        l = l.execute(p);
    }
    for port in &a.landlock_connect {
        l = l.connect_port(*port);
    }
    for port in &a.landlock_bind {
        l = l.bind_port(*port);
    }
    Some(l)
}

/// SELinux labels: a no-op (the container runs unlabelled) when SELinux is off.
/// --minimal does the floor's work only: no labelling unless asked for.
fn selinux(a: &RunArgs) -> Option<SelinuxConfig> {
    let asked = a.selinux_type.is_some()
        || a.selinux_level.is_some()
        || a.selinux_user.is_some()
        || a.selinux_role.is_some()
        || a.selinux_require
        || a.bind.iter().chain(&a.ro_bind).any(|b| b.relabel.is_some());
    if a.minimal && !asked {
        return None;
    }
    let mut se = SelinuxConfig::new().require(a.selinux_require);
    if let Some(t) = &a.selinux_type {
        se = se.process_type(t);
    }
    if let Some(l) = &a.selinux_level {
        se = se.level(*l);
    }
    if let Some(u) = &a.selinux_user {
        se = se.user(u);
    }
    if let Some(r) = &a.selinux_role {
        se = se.role(r);
    }
    Some(se)
}
