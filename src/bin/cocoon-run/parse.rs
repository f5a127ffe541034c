//! Value parsers for the flags: each turns one flag's text into a typed value or an error
//! that says what is wrong (clap prefixes it with the flag's name). They check syntax and
//! what can be checked without touching the host; the library checks the rest before
//! anything is created.

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cocoon::cgroup::{DeviceAccess, DeviceKind, DeviceNumber, DeviceRule, IdSet, IoRate};
use cocoon::{Capability, IdRange, Namespaces, Rlimit};

type R<T> = Result<T, String>;

/// A size: bytes, or with a binary suffix `k`, `m`, `g`, `t` (optionally `b`/`ib`:
/// `64M`, `64MiB`, `64mb` are all 64 × 2^20 bytes, as podman reads them).
pub fn size(s: &str) -> R<u64> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let num_end = lower.find(|c: char| !c.is_ascii_digit()).unwrap_or(lower.len());
    let (num, unit) = lower.split_at(num_end);
    if num.is_empty() {
        return Err(format!("{s:?} is not a size (a number, optionally with k, m, g or t)"));
    }
    let shift = match unit {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use k, m, g or t)")),
    };
    let n: u64 = num.parse().map_err(|_| format!("{s:?} is too large"))?;
    n.checked_mul(1u64 << shift).ok_or_else(|| format!("{s:?} is too large"))
}

/// A size of at least one byte.
pub fn nonzero_size(s: &str) -> R<u64> {
    match size(s)? {
        0 => Err(format!("{s:?} is 0 bytes")),
        n => Ok(n),
    }
}

/// A count of at least 1.
pub fn positive(s: &str) -> R<u64> {
    match s.parse::<u64>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{s:?} is not a whole number")),
    }
}

/// `--cpus`: a positive number of CPUs, e.g. `0.5`.
pub fn cpus(s: &str) -> R<f64> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 && x <= 1024.0 => Ok(x),
        _ => Err(format!("{s:?} is not a number of CPUs above 0 (e.g. 0.5 or 2)")),
    }
}

/// `--cpuset-cpus`, `--cpuset-mems`: a kernel list like `0-3,8`.
pub fn id_set(s: &str) -> R<IdSet> {
    let set: IdSet = s.parse().map_err(|e: cocoon::cgroup::IdSetParseError| e.to_string())?;
    if set.is_empty() {
        return Err("the list is empty".into());
    }
    Ok(set)
}

/// A bind mount: `SRC:DST[:OPTIONS]`, options comma-separated: `ro`, `rw`, `z`, `Z`,
/// `norecursive`, `noexec`.
#[derive(Debug, Clone)]
pub struct Bind {
    pub source: PathBuf,
    pub target: PathBuf,
    pub read_only: bool,
    pub recursive: bool,
    pub noexec: bool,
    pub relabel: Option<cocoon::selinux::Sharing>,
}

pub fn bind(s: &str) -> R<Bind> {
    let mut parts = s.splitn(3, ':');
    let (src, dst) = match (parts.next(), parts.next()) {
        (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() => (a, b),
        _ => return Err(format!("{s:?} is not SRC:DST[:ro]")),
    };
    let src = std::path::absolute(src).map_err(|e| format!("{src}: {e}"))?;
    if !src.exists() {
        return Err(format!("the source {} does not exist", src.display()));
    }
    let mut b = Bind { source: src, target: abs_path(dst)?, read_only: false, recursive: true, noexec: false, relabel: None };
    for opt in parts.next().unwrap_or("").split(',').filter(|o| !o.is_empty()) {
        match opt {
            "ro" => b.read_only = true,
            "rw" => b.read_only = false,
            "z" => b.relabel = Some(cocoon::selinux::Sharing::Shared),
            "Z" => b.relabel = Some(cocoon::selinux::Sharing::Private),
            "norecursive" => b.recursive = false,
            "noexec" => b.noexec = true,
            _ => return Err(format!("unknown option {opt:?} (ro, rw, z, Z, norecursive, noexec)")),
        }
    }
    Ok(b)
}

/// `--ro-bind SRC:DST`: a read-only bind.
pub fn ro_bind(s: &str) -> R<Bind> {
    let mut b = bind(s)?;
    b.read_only = true;
    Ok(b)
}

/// A tmpfs: `DST[:size=SIZE,mode=OCTAL,ro,noexec]`.
#[derive(Debug, Clone)]
pub struct Tmpfs {
    pub target: PathBuf,
    pub size: Option<u64>,
    pub mode: Option<u32>,
    pub read_only: bool,
    pub noexec: bool,
}

pub fn tmpfs(s: &str) -> R<Tmpfs> {
    let (dst, opts) = s.split_once(':').unwrap_or((s, ""));
    let mut t = Tmpfs { target: abs_path(dst)?, size: None, mode: None, read_only: false, noexec: false };
    for opt in opts.split(',').filter(|o| !o.is_empty()) {
        match opt.split_once('=') {
            Some(("size", v)) => t.size = Some(nonzero_size(v)?),
            Some(("mode", v)) => t.mode = Some(octal(v)?),
            None if opt == "ro" => t.read_only = true,
            None if opt == "noexec" => t.noexec = true,
            _ => return Err(format!("unknown option {opt:?} (size=SIZE, mode=OCTAL, ro, noexec)")),
        }
    }
    Ok(t)
}

/// An absolute path inside the container without `..`.
pub fn abs_path(s: &str) -> R<PathBuf> {
    let p = PathBuf::from(s);
    if !p.is_absolute() {
        return Err(format!("{s:?} is not an absolute path"));
    }
    if p.components().any(|c| c == std::path::Component::ParentDir) {
        return Err(format!("{s:?} contains '..'"));
    }
    if p.parent().is_none() {
        return Err("the container's root itself is not allowed here".into());
    }
    Ok(p)
}

/// An octal mode or mask, e.g. `0022` or `755`.
pub fn octal(s: &str) -> R<u32> {
    match u32::from_str_radix(s.trim_start_matches("0o"), 8) {
        Ok(m) if m <= 0o7777 => Ok(m),
        _ => Err(format!("{s:?} is not an octal mode from 0 to 7777")),
    }
}

/// `--umask`: at most 0777.
pub fn umask(s: &str) -> R<u32> {
    match octal(s)? {
        m if m <= 0o777 => Ok(m),
        _ => Err(format!("{s:?} is above 0777")),
    }
}

/// `--oom-score-adj`: -1000 to 1000.
pub fn oom_score_adj(s: &str) -> R<i32> {
    match s.parse::<i32>() {
        Ok(n) if (-1000..=1000).contains(&n) => Ok(n),
        _ => Err(format!("{s:?} is not a number from -1000 to 1000")),
    }
}

/// `--user UID[:GID]` or `--user NAME`.
#[derive(Debug, Clone, PartialEq)]
pub enum UserSpec {
    Id(u32, Option<u32>),
    Name(String),
}

pub fn user(s: &str) -> R<UserSpec> {
    if let Some((u, g)) = s.split_once(':') {
        let uid = u.parse().map_err(|_| format!("{u:?} is not a numeric uid (NAME:GROUP is not supported; use UID:GID)"))?;
        let gid = g.parse().map_err(|_| format!("{g:?} is not a numeric gid"))?;
        return Ok(UserSpec::Id(uid, Some(gid)));
    }
    if let Ok(uid) = s.parse() {
        return Ok(UserSpec::Id(uid, None));
    }
    if s.is_empty() || s.contains(['/', '\0', ' ']) {
        return Err(format!("{s:?} is neither a uid nor a user name"));
    }
    Ok(UserSpec::Name(s.to_string()))
}

/// `--group-add GID`.
pub fn gid(s: &str) -> R<u32> {
    s.parse().map_err(|_| format!("{s:?} is not a numeric gid"))
}

/// `-e KEY=VALUE`, or `-e KEY` to pass the caller's value of KEY.
pub fn env(s: &str) -> R<(String, String)> {
    let (k, v) = match s.split_once('=') {
        Some((k, v)) => (k.to_string(), v.to_string()),
        None => (s.to_string(), std::env::var(s).map_err(|_| format!("{s:?} has no '=' and is not set here"))?),
    };
    if k.is_empty() {
        return Err(format!("{s:?} has an empty name"));
    }
    Ok((k, v))
}

/// `--env-file FILE`: `KEY=VALUE` lines; blank lines and lines starting with `#` are
/// skipped; `KEY` alone passes the caller's value.
#[derive(Debug, Clone)]
pub struct EnvFile(pub Vec<(String, String)>);

pub fn env_file(s: &str) -> R<EnvFile> {
    let text = std::fs::read_to_string(s).map_err(|e| format!("{s}: {e}"))?;
    let mut vars = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        vars.push(env(line).map_err(|e| format!("{s}:{}: {e}", n + 1))?);
    }
    Ok(EnvFile(vars))
}

/// A capability: `NET_ADMIN`, `cap_net_admin`, or `ALL`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cap {
    All,
    One(Capability),
}

pub fn cap(s: &str) -> R<Cap> {
    let up = s.to_ascii_uppercase();
    if up == "ALL" {
        return Ok(Cap::All);
    }
    let name = if up.starts_with("CAP_") { up } else { format!("CAP_{up}") };
    name.parse().map(Cap::One).map_err(|_| format!("{s:?} is not a capability (e.g. NET_ADMIN, or ALL)"))
}

/// `--rlimit NAME=SOFT[:HARD]` (podman's `--ulimit`): `nofile=1024:4096`, `core=0`,
/// `stack=unlimited`. One value sets both limits.
pub fn rlimit(s: &str) -> R<(Rlimit, u64, u64)> {
    let (name, vals) = s.split_once('=').ok_or_else(|| format!("{s:?} is not NAME=SOFT[:HARD]"))?;
    let which = match name.to_ascii_lowercase().trim_start_matches("rlimit_") {
        "as" => Rlimit::As,
        "core" => Rlimit::Core,
        "cpu" => Rlimit::Cpu,
        "data" => Rlimit::Data,
        "fsize" => Rlimit::Fsize,
        "memlock" => Rlimit::Memlock,
        "msgqueue" => Rlimit::Msgqueue,
        "nice" => Rlimit::Nice,
        "nofile" => Rlimit::Nofile,
        "nproc" => Rlimit::Nproc,
        "rss" => Rlimit::Rss,
        "rtprio" => Rlimit::Rtprio,
        "rttime" => Rlimit::Rttime,
        "sigpending" => Rlimit::Sigpending,
        "stack" => Rlimit::Stack,
        _ => return Err(format!("{name:?} is not a resource limit (nofile, nproc, core, stack, as, cpu, ...)")),
    };
    let val = |v: &str| match v {
        "unlimited" | "-1" => Ok(u64::MAX),
        _ => v.parse::<u64>().map_err(|_| format!("{v:?} is not a number or \"unlimited\"")),
    };
    let (soft, hard) = match vals.split_once(':') {
        Some((a, b)) => (val(a)?, val(b)?),
        None => (val(vals)?, val(vals)?),
    };
    if soft > hard {
        return Err(format!("the soft limit {soft} is above the hard limit {hard}"));
    }
    Ok((which, soft, hard))
}

/// A namespace name: `mnt`/`mount`, `uts`, `ipc`, `pid`, `net`/`network`, `user`,
/// `cgroup`, `time`.
pub fn namespace(s: &str) -> R<Namespaces> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "mnt" | "mount" => Namespaces::MOUNT,
        "uts" => Namespaces::UTS,
        "ipc" => Namespaces::IPC,
        "pid" => Namespaces::PID,
        "net" | "network" => Namespaces::NET,
        "user" => Namespaces::USER,
        "cgroup" => Namespaces::CGROUP,
        "time" => Namespaces::TIME,
        _ => return Err(format!("{s:?} is not a namespace (mnt, uts, ipc, pid, net, user, cgroup, time)")),
    })
}

/// `--join NS:PATH`: `net:/run/netns/x`, `ipc:/proc/1234/ns/ipc`, `uts:...`.
pub fn join(s: &str) -> R<(Namespaces, PathBuf)> {
    let (ns, path) = s.split_once(':').ok_or_else(|| format!("{s:?} is not NS:PATH"))?;
    let ns = namespace(ns)?;
    if ![Namespaces::NET, Namespaces::IPC, Namespaces::UTS].contains(&ns) {
        return Err("only net, ipc and uts namespaces can be joined by path".into());
    }
    let path = PathBuf::from(path);
    if !path.is_absolute() {
        return Err(format!("{} is not an absolute path", path.display()));
    }
    std::fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((ns, path))
}

/// What `--network` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkFlag {
    /// Loopback only.
    None,
    /// A veth pair on this bridge.
    Bridge(String),
    /// Join this network namespace.
    Join(PathBuf),
}

/// The bridge `--network bridge` uses without a name.
pub const DEFAULT_BRIDGE: &str = "cocoon0";
/// The subnet `--network bridge` uses without `--subnet`.
pub const DEFAULT_SUBNET: &str = "10.88.0.0/16";

/// `--network none|bridge[=NAME]|ns:PATH`.
pub fn network(s: &str) -> R<NetworkFlag> {
    if s == "none" {
        return Ok(NetworkFlag::None);
    }
    if s == "bridge" {
        return Ok(NetworkFlag::Bridge(DEFAULT_BRIDGE.to_string()));
    }
    if let Some(name) = s.strip_prefix("bridge=") {
        cocoon::net::validate_ifname("bridge name", name).map_err(|e| e.to_string())?;
        return Ok(NetworkFlag::Bridge(name.to_string()));
    }
    if let Some(path) = s.strip_prefix("ns:") {
        return join(&format!("net:{path}")).map(|(_, p)| NetworkFlag::Join(p));
    }
    Err(format!("{s:?} is not none, bridge, bridge=NAME or ns:PATH"))
}

/// `--subnet 10.88.0.0/16`.
pub fn subnet(s: &str) -> R<cocoon::Ipv4Subnet> {
    s.parse().map_err(|e: cocoon::Error| e.to_string())
}

/// `--egress-rate`/`--ingress-rate RATE[,BURST]`.
pub fn rate_limit(s: &str) -> R<cocoon::net::RateLimit> {
    let (rate, burst) = match s.split_once(',') {
        Some((r, b)) => (r, Some(b.parse::<u32>().map_err(|_| format!("burst {b:?} is not a number of bytes"))?)),
        None => (s, None),
    };
    let mut l = cocoon::net::RateLimit::new(rate.parse().map_err(|e: cocoon::Error| e.to_string())?);
    if let Some(b) = burst {
        l = l.burst(b);
    }
    l.validate("rate").map_err(|e| e.to_string())?;
    Ok(l)
}

/// `--publish [ADDR:]HOST:CONTAINER[/PROTO]`.
pub fn publish(s: &str) -> R<cocoon::PublishedPort> {
    s.parse().map_err(|e: cocoon::Error| e.to_string())
}

/// `--uid-map INSIDE:OUTSIDE:COUNT` (one range; repeat the flag for more).
pub fn id_range(s: &str) -> R<IdRange> {
    let v: Vec<&str> = s.split(':').collect();
    let nums: Option<Vec<u32>> = v.iter().map(|x| x.parse().ok()).collect();
    match nums.as_deref() {
        Some([i, o, c]) if *c > 0 => Ok(IdRange::new(*i, *o, *c)),
        Some([_, _, 0]) => Err("a range of 0 ids".into()),
        _ => Err(format!("{s:?} is not INSIDE:OUTSIDE:COUNT")),
    }
}

/// A duration: seconds, or with `ms`, `s`, `m`, `h`, `d`.
pub fn duration(s: &str) -> R<Duration> {
    if let Some(ms) = s.strip_suffix("ms") {
        return ms
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= 100 * 365 * 86_400_000)
            .map(Duration::from_millis)
            .ok_or_else(|| format!("{s:?} is not a duration (seconds, or with ms, s, m, h, d; at most 100 years)"));
    }
    let (num, mult) = match s.char_indices().last() {
        Some((i, 's')) => (&s[..i], 1),
        Some((i, 'm')) => (&s[..i], 60),
        Some((i, 'h')) => (&s[..i], 3600),
        Some((i, 'd')) => (&s[..i], 86_400),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|n| *n <= 100 * 365 * 86_400)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{s:?} is not a duration (seconds, or with ms, s, m, h, d; at most 100 years)"))
}

/// `--time-offset [monotonic=|boottime=]DURATION`; a bare duration shifts both clocks.
pub fn time_offset(s: &str) -> R<(Option<&'static str>, Duration)> {
    match s.split_once('=') {
        Some(("monotonic", d)) => Ok((Some("monotonic"), duration(d)?)),
        Some(("boottime", d)) => Ok((Some("boottime"), duration(d)?)),
        Some((c, _)) => Err(format!("{c:?} is not a clock (monotonic or boottime)")),
        None => Ok((None, duration(s)?)),
    }
}

/// `--pass-fd FD[:TARGET]`: the caller's descriptor FD becomes TARGET (default FD) in the
/// program. The descriptor is duplicated here, so it must be open.
#[derive(Debug, Clone)]
pub struct PassFd {
    pub fd: Arc<OwnedFd>,
    pub source: i32,
    pub target: i32,
}

pub fn pass_fd(s: &str) -> R<PassFd> {
    let (a, b) = s.split_once(':').unwrap_or((s, s));
    let (source, target): (i32, i32) = match (a.parse(), b.parse()) {
        (Ok(x), Ok(y)) => (x, y),
        _ => return Err(format!("{s:?} is not FD[:TARGET]")),
    };
    if source < 0 {
        return Err(format!("{source} is not a descriptor"));
    }
    if target < 3 {
        return Err(format!("target {target}: 0, 1 and 2 are the standard streams; pass 3 or above"));
    }
    // SAFETY: F_DUPFD_CLOEXEC on any number is harmless; the result is a new descriptor
    // this process owns (or -1).
    let dup = unsafe { libc::fcntl(source, libc::F_DUPFD_CLOEXEC, 3) };
    if dup < 0 {
        return Err(format!("descriptor {source} is not open: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: `dup` was just returned by fcntl and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(dup) };
    Ok(PassFd { fd: Arc::new(fd), source, target })
}

/// `--device-read-bps /dev/sda:1m` and friends: a whole disk and a rate.
pub fn io_limit(s: &str, rate: IoRate) -> R<(PathBuf, IoRate, u64)> {
    let (dev, v) = s.rsplit_once(':').ok_or_else(|| format!("{s:?} is not DEVICE:RATE"))?;
    let value = match rate {
        IoRate::ReadBps | IoRate::WriteBps => nonzero_size(v)?,
        _ => positive(v)?,
    };
    let dev = PathBuf::from(dev);
    if !dev.is_absolute() {
        return Err(format!("{} is not an absolute device path", dev.display()));
    }
    use std::os::unix::fs::FileTypeExt;
    match std::fs::metadata(&dev) {
        Ok(m) if m.file_type().is_block_device() => Ok((dev, rate, value)),
        Ok(_) => Err(format!("{} is not a block device", dev.display())),
        Err(e) => Err(format!("{}: {e}", dev.display())),
    }
}

pub fn read_bps(s: &str) -> R<(PathBuf, IoRate, u64)> {
    io_limit(s, IoRate::ReadBps)
}
pub fn write_bps(s: &str) -> R<(PathBuf, IoRate, u64)> {
    io_limit(s, IoRate::WriteBps)
}
pub fn read_iops(s: &str) -> R<(PathBuf, IoRate, u64)> {
    io_limit(s, IoRate::ReadIops)
}
pub fn write_iops(s: &str) -> R<(PathBuf, IoRate, u64)> {
    io_limit(s, IoRate::WriteIops)
}

/// `--device-cgroup-rule 'c 1:3 rwm'` (podman's syntax): allow a device by kind and
/// numbers, `*` for any.
pub fn device_rule(s: &str) -> R<DeviceRule> {
    let bad = || format!("{s:?} is not 'TYPE MAJOR:MINOR ACCESS' (e.g. 'c 10:200 rwm')");
    let f: Vec<&str> = s.split_whitespace().collect();
    let [kind, nums, access] = f.as_slice() else { return Err(bad()) };
    let kind = match *kind {
        "a" => DeviceKind::All,
        "c" => DeviceKind::Char,
        "b" => DeviceKind::Block,
        _ => return Err(bad()),
    };
    let (ma, mi) = nums.split_once(':').ok_or_else(bad)?;
    let num = |x: &str| match x {
        "*" => Ok(DeviceNumber::Any),
        _ => x.parse().map(DeviceNumber::Num).map_err(|_| bad()),
    };
    let mut acc = DeviceAccess::empty();
    for c in access.chars() {
        acc |= match c {
            'r' => DeviceAccess::READ,
            'w' => DeviceAccess::WRITE,
            'm' => DeviceAccess::MKNOD,
            _ => return Err(bad()),
        };
    }
    Ok(DeviceRule::allow(kind, num(ma)?, num(mi)?, acc))
}

/// `--seccomp-deny SYSCALL`: a syscall name of this architecture or its number.
pub fn syscall(s: &str) -> R<i64> {
    if let Ok(n) = s.parse::<i64>() {
        return if (0..1024).contains(&n) { Ok(n) } else { Err(format!("{n} is not a syscall number")) };
    }
    crate::syscalls::number(s).ok_or_else(|| format!("{s:?} is not a syscall cocoon-run knows by name; give its number"))
}

/// `--seccomp-errno`: 1 to 4095.
pub fn errno(s: &str) -> R<i32> {
    match s.parse::<i32>() {
        Ok(n) if (1..=4095).contains(&n) => Ok(n),
        _ => Err(format!("{s:?} is not an errno from 1 to 4095")),
    }
}

/// `--hostname`, `--domainname`: 1 to 64 bytes.
pub fn hostname(s: &str) -> R<String> {
    cocoon::builder::validate_hostname("name", s).map_err(|e| e.to_string())?;
    Ok(s.to_string())
}

/// `--name`: a container id.
pub fn container_id(s: &str) -> R<String> {
    cocoon::builder::validate_id(s).map_err(|e| e.to_string())?;
    Ok(s.to_string())
}

/// `--selinux-level s0:c1,c2`.
pub fn selinux_level(s: &str) -> R<cocoon::selinux::Level> {
    s.parse().map_err(|e: cocoon::selinux::SelinuxError| e.to_string())
}

/// A directory that exists.
pub fn dir(s: &str) -> R<PathBuf> {
    let p = PathBuf::from(s);
    match std::fs::metadata(&p) {
        Ok(m) if m.is_dir() => Ok(p),
        Ok(_) => Err(format!("{s} is not a directory")),
        Err(e) => Err(format!("{s}: {e}")),
    }
}

/// `--selinux-bind-type /srv/data=var_t`.
pub fn bind_type(s: &str) -> R<(PathBuf, String)> {
    let (src, ty) = s.rsplit_once('=').ok_or_else(|| format!("{s:?} is not SRC=TYPE"))?;
    if src.is_empty() || ty.is_empty() {
        return Err(format!("{s:?} is not SRC=TYPE"));
    }
    Ok((PathBuf::from(src), ty.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size("64M"), Ok(64 << 20));
        assert_eq!(size("64mib"), Ok(64 << 20));
        assert_eq!(size("512"), Ok(512));
        assert!(size("12x").is_err() && size("").is_err() && size("99999999999T").is_err());
    }

    #[test]
    fn rlimits_and_maps() {
        assert_eq!(rlimit("nofile=10:20"), Ok((Rlimit::Nofile, 10, 20)));
        assert!(rlimit("nofile=20:10").is_err());
        assert_eq!(id_range("0:1000:1"), Ok(IdRange::new(0, 1000, 1)));
        assert!(id_range("0:1000").is_err());
    }
}
