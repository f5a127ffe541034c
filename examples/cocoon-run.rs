//! cocoon-run: run a command in a container from the shell.
//!
//! ```text
//! cocoon-run [OPTIONS] [--] PROGRAM [ARGS...]
//!   --rootfs DIR        root from a directory (default: the embedded host sandbox)
//!   --layers L1:L2 --upper DIR --work DIR   root from image layers (overlayfs)
//!   --read-only         read-only root (default on; --writable turns it off)
//!   --hostname NAME     hostname (default "cocoon")
//!   --no-net            share the host network namespace
//!   --userns            new user namespace: root inside = uid 100000 outside (for an
//!                       unprivileged caller: root inside = the caller's own uid)
//!   --init              run a minimal init as PID 1
//!   --minimal           the work of the hand-written C floor in benches/peers: only
//!                       /proc (no /dev, /sys, masked or read-only paths), no cgroup
//!                       namespace, no SELinux labels unless asked for
//!   --seccomp[=MODE]    seccomp: `default` (the default: no keyrings, no new
//!                       namespaces, clone3 → ENOSYS), `deny-list` (= bare --seccomp:
//!                       the default plus cocoon's conservative deny-list), or
//!                       `unconfined` (no filter at all)
//!   -e KEY=VALUE        set an environment variable (PATH has a default)
//!   --memory SIZE       memory limit (bytes, or with K/M/G suffix)
//!   --pids N            at most N processes
//!   --cpus X            CPU quota, e.g. 0.5 = half of one CPU
//!   --stats             print the container's cgroup stats when it ends
//!   --selinux-type T    SELinux process type (default container_t when SELinux is on)
//!   --selinux-level L   SELinux level, e.g. s0:c1,c2 (default: a unique MCS pair)
//!   --verbose           print a summary of the isolation in effect
//! ```
//! Exits with the program's exit code (128+signal if killed).

use std::process::ExitCode;
use std::time::Duration;

use cocoon::{Bytes, CgroupConfig, ContainerBuilder, IdRange, Mount, Namespaces, Process, Rootfs, SelinuxConfig};

struct Args {
    rootfs: Rootfs,
    read_only: bool,
    hostname: String,
    net: bool,
    userns: bool,
    init: bool,
    minimal: bool,
    seccomp: SeccompMode,
    env: Vec<(String, String)>,
    verbose: bool,
    memory: Option<u64>,
    pids: Option<u64>,
    cpus: Option<f64>,
    stats: bool,
    selinux_type: Option<String>,
    selinux_level: Option<String>,
    cmd: Vec<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum SeccompMode {
    Default,
    DenyList,
    Unconfined,
}

fn parse_size(s: &str) -> u64 {
    let (num, mult) = match s.char_indices().last() {
        Some((i, 'K' | 'k')) => (&s[..i], 1u64 << 10),
        Some((i, 'M' | 'm')) => (&s[..i], 1 << 20),
        Some((i, 'G' | 'g')) => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().ok().and_then(|n| n.checked_mul(mult)).unwrap_or_else(|| usage(&format!("bad size {s:?}")))
}

fn usage(msg: &str) -> ! {
    eprintln!("cocoon-run: {msg}\nusage: cocoon-run [--rootfs DIR | --layers L1:L2 --upper DIR --work DIR] [--read-only|--writable] [--hostname NAME] [--no-net] [--userns] [--init] [--minimal] [--seccomp[=default|deny-list|unconfined]] [-e K=V] [--memory SIZE] [--pids N] [--cpus X] [--stats] [--selinux-type T] [--selinux-level L] [--verbose] [--] PROGRAM [ARGS...]");
    std::process::exit(2)
}

fn parse() -> Args {
    let mut a = Args {
        rootfs: Rootfs::HostSandbox,
        read_only: true,
        hostname: "cocoon".into(),
        net: true,
        userns: false,
        init: false,
        minimal: false,
        seccomp: SeccompMode::Default,
        env: vec![("PATH".into(), cocoon::plan::DEFAULT_PATH.into())],
        verbose: false,
        memory: None,
        pids: None,
        cpus: None,
        stats: false,
        selinux_type: None,
        selinux_level: None,
        cmd: Vec::new(),
    };
    let (mut layers, mut upper, mut work) = (None, None, None);
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = |name: &str| it.next().unwrap_or_else(|| usage(&format!("{name} needs a value")));
        match arg.as_str() {
            "--rootfs" => a.rootfs = Rootfs::directory(val("--rootfs")),
            "--layers" => layers = Some(val("--layers")),
            "--upper" => upper = Some(val("--upper")),
            "--work" => work = Some(val("--work")),
            "--read-only" => a.read_only = true,
            "--writable" => a.read_only = false,
            "--hostname" => a.hostname = val("--hostname"),
            "--no-net" => a.net = false,
            "--userns" => a.userns = true,
            "--init" => a.init = true,
            "--minimal" => a.minimal = true,
            "--seccomp" | "--seccomp=deny-list" => a.seccomp = SeccompMode::DenyList,
            "--seccomp=default" => a.seccomp = SeccompMode::Default,
            "--seccomp=unconfined" => a.seccomp = SeccompMode::Unconfined,
            "-e" => {
                let kv = val("-e");
                let (k, v) = kv.split_once('=').unwrap_or_else(|| usage("-e takes KEY=VALUE"));
                a.env.retain(|(key, _)| key != k);
                a.env.push((k.into(), v.into()));
            }
            "--memory" => a.memory = Some(parse_size(&val("--memory"))),
            "--pids" => a.pids = Some(val("--pids").parse().unwrap_or_else(|_| usage("--pids takes a number"))),
            "--cpus" => a.cpus = Some(val("--cpus").parse().unwrap_or_else(|_| usage("--cpus takes a number"))),
            "--stats" => a.stats = true,
            "--selinux-type" => a.selinux_type = Some(val("--selinux-type")),
            "--selinux-level" => a.selinux_level = Some(val("--selinux-level")),
            "--verbose" | "-v" => a.verbose = true,
            "--help" | "-h" => usage("help"),
            "--" => {
                a.cmd.extend(it.by_ref());
            }
            s if s.starts_with('-') && a.cmd.is_empty() => usage(&format!("unknown option {s}")),
            _ => {
                a.cmd.push(arg);
                a.cmd.extend(it.by_ref());
            }
        }
    }
    if let Some(l) = layers {
        let (Some(u), Some(w)) = (upper, work) else { usage("--layers needs --upper and --work") };
        a.rootfs = Rootfs::layers(l.split(':'), u, w);
    }
    if a.cmd.is_empty() {
        usage("no program given");
    }
    a
}

fn main() -> ExitCode {
    let a = parse();
    let mut ns = Namespaces::DEFAULT;
    if !a.net {
        ns.remove(Namespaces::NET);
    }
    if a.minimal {
        // The floor's namespaces: no cgroup namespace.
        ns.remove(Namespaces::CGROUP);
    }
    let mut process = Process::new(&a.cmd[0]).args(&a.cmd[1..]).envs(a.env.iter().map(|(k, v)| (k, v)));
    match a.seccomp {
        SeccompMode::Default => {}
        SeccompMode::DenyList => process = process.seccomp(cocoon::Seccomp::default_deny()),
        SeccompMode::Unconfined => process = process.default_seccomp(false),
    }
    let mut b = ContainerBuilder::new(process)
        .namespaces(ns)
        .hostname(&a.hostname)
        .rootfs(a.rootfs.clone())
        .read_only_root(a.read_only)
        .init(a.init);
    if a.minimal {
        b = b
            .standard_mounts(false)
            .masked_paths(Vec::<String>::new())
            .readonly_paths(Vec::<String>::new())
            .mount(Mount::proc("/proc"));
    }
    if a.memory.is_some() || a.pids.is_some() || a.cpus.is_some() || a.stats {
        let mut cg = CgroupConfig::new();
        if let Some(m) = a.memory {
            cg = cg.memory_max(Bytes::new(m));
        }
        if let Some(p) = a.pids {
            cg = cg.pids_max(p);
        }
        if let Some(c) = a.cpus {
            let period = Duration::from_millis(100);
            cg = cg.cpu_quota(period.mul_f64(c.max(0.0)), period);
        }
        b = b.cgroup(cg);
    }
    // SELinux labels: a no-op (the container runs unlabelled) when SELinux is off.
    let mut se = SelinuxConfig::new();
    if let Some(t) = &a.selinux_type {
        se = se.process_type(t);
    }
    if let Some(l) = &a.selinux_level {
        match l.parse() {
            Ok(level) => se = se.level(level),
            Err(e) => usage(&format!("--selinux-level: {e}")),
        }
    }
    // --minimal does the floor's work only: no SELinux labelling unless asked for.
    if !a.minimal || a.selinux_type.is_some() || a.selinux_level.is_some() {
        b = b.selinux(se);
    }
    if a.userns {
        // SAFETY: geteuid/getegid cannot fail.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        if uid == 0 {
            b = b.uid_map([IdRange::new(0, 100000, 65536)]).gid_map([IdRange::new(0, 100000, 65536)]);
        } else {
            // Rootless: the kernel lets an unprivileged caller map only its own ids.
            b = b.uid_map([IdRange::new(0, uid, 1)]).gid_map([IdRange::new(0, gid, 1)]);
        }
    }
    let mut c = match b.spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cocoon-run: {e}");
            return ExitCode::from(125);
        }
    };
    if a.verbose || a.selinux_type.is_some() || a.selinux_level.is_some() {
        match c.selinux_label() {
            Some(l) => eprintln!("cocoon: SELinux label: {l}"),
            None => eprintln!("cocoon: SELinux label: none (SELinux is disabled on this host)"),
        }
    }
    if a.verbose {
        summary(&a, &c, ns);
    }
    match c.wait() {
        Ok(s) => {
            if a.verbose {
                eprintln!("cocoon: container {} ended: {s}", c.id());
            }
            if a.stats {
                match c.stats() {
                    Ok(st) => eprintln!("cocoon: stats: {}", stats_line(&st)),
                    Err(e) => eprintln!("cocoon-run: stats: {e}"),
                }
            }
            ExitCode::from(s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0)) as u8)
        }
        Err(e) => {
            eprintln!("cocoon-run: {e}");
            ExitCode::from(125)
        }
    }
}

/// Prints what isolation is really in effect: namespace inodes compared with ours.
fn summary(a: &Args, c: &cocoon::Container, ns: Namespaces) {
    let pid = c.pid();
    eprintln!("cocoon: container {} (host pid {pid})", c.id());
    let mut own = Vec::new();
    let mut shared = Vec::new();
    for name in ["mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time"] {
        let mine = std::fs::read_link(format!("/proc/self/ns/{name}"));
        let theirs = std::fs::read_link(format!("/proc/{pid}/ns/{name}"));
        match (mine, theirs) {
            (Ok(m), Ok(t)) if m != t => own.push(name),
            (Ok(_), Ok(_)) => shared.push(name),
            _ => {}
        }
    }
    if own.is_empty() && shared.is_empty() {
        eprintln!("cocoon: namespaces requested: {ns:?} (the program exited before they could be inspected)");
    } else {
        eprintln!("cocoon: own namespaces: {}; shared with host: {}", own.join(" "), if shared.is_empty() { "none".into() } else { shared.join(" ") });
    }
    let root = match &a.rootfs {
        Rootfs::HostSandbox => "embedded host sandbox (host /usr read-only, tmpfs root)".to_string(),
        Rootfs::Directory(d) => format!("directory {}", d.display()),
        Rootfs::Layers { lower, upper, .. } => format!("overlay: {} read-only layers, writable {}", lower.len(), upper.display()),
    };
    eprintln!("cocoon: root: {root}, pivot_root, {}", if a.read_only { "read-only" } else { "writable" });
    eprintln!("cocoon: hostname {:?}; /proc, /sys (ro), /dev (tmpfs, pts, shm, mqueue); Docker's masked and read-only paths", a.hostname);
    eprintln!(
        "cocoon: capabilities: Docker default set; no_new_privs on; seccomp: {}; env: {} variables",
        match a.seccomp {
            SeccompMode::Default => "default policy (no keyrings, setns or new namespaces; clone3 ENOSYS)",
            SeccompMode::DenyList => "default policy + conservative deny-list",
            SeccompMode::Unconfined => "none (unconfined)",
        },
        a.env.len()
    );
    if let Some(p) = c.cgroup_path() {
        eprintln!("cocoon: cgroup {} ({})", p.display(), limits_line(a));
    }
    if a.userns {
        eprintln!("cocoon: user namespace: root inside is unprivileged outside (see /proc/<pid>/uid_map)");
    }
}

/// `64 MiB`, `1.5 GiB`, `512 bytes`: a size a person reads.
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
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
    if v.fract() == 0.0 { format!("{v} {unit}") } else { format!("{v:.1} {unit}") }
}

/// The limits asked for, e.g. `memory 64 MiB, pids 64`; unset ones are left out.
fn limits_line(a: &Args) -> String {
    let mut parts = Vec::new();
    if let Some(m) = a.memory {
        parts.push(format!("memory {}", human_bytes(m)));
    }
    if let Some(p) = a.pids {
        parts.push(format!("pids {p}"));
    }
    if let Some(c) = a.cpus {
        parts.push(format!("cpus {c}"));
    }
    if parts.is_empty() { "no limits".into() } else { parts.join(", ") }
}

/// The usage as a line, e.g. `cpu 3.1ms (user 1ms, system 2ms); memory 1.2 MiB (peak 2 MiB); pids 1`.
fn stats_line(st: &cocoon::CgroupStats) -> String {
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
    if parts.is_empty() { "none available on this host".into() } else { parts.join("; ") }
}
