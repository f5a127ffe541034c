//! The command line, as one clap definition: `--help`, the errors, the shell completions
//! and the man page all come from it.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::parse::{self, Bind, Cap, PassFd, Tmpfs, UserSpec};

pub const EXIT_STATUS: &str = "\
Exit status:
  the program's own exit code, or 128 + N if a signal N killed it (137 = SIGKILL);
  2    a value was rejected (the message names the flag), before anything was created;
  125  cocoon could not create or start the container (setup failed), or a subcommand
       failed; the error is printed once, in words, and nothing is left behind.

A program named like a subcommand (ps, kill, rm, ...) runs with `cocoon-run -- ps` or
`cocoon-run run ps`. Detached containers are kept in $COCOON_RUN_STATE_DIR
(default /run/cocoon/cli).";

/// Run a command in a Linux container (namespaces, cgroups, SELinux, a pivoted read-only
/// root), built in-process by the cocoon library.
#[derive(Debug, Parser)]
#[command(
    name = "cocoon-run",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = EXIT_STATUS
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Option<Cmd>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run a command in a new container (the default: `cocoon-run [OPTIONS] PROGRAM`).
    #[command(after_help = EXIT_STATUS)]
    Run(Box<RunArgs>),
    /// Run another command inside a detached container.
    Exec(ExecArgs),
    /// List the detached containers.
    Ps(PsArgs),
    /// Send a signal to a detached container's first process.
    Kill(KillArgs),
    /// Stop a detached container: SIGTERM, then SIGKILL after a grace period.
    Stop(StopArgs),
    /// Remove a detached container that has ended (--force: kill it first).
    Rm(RmArgs),
    /// One sample of the detached containers' resource use (CPU %, memory, pids, I/O).
    Stats(StatsArgs),
    /// Print what a detached container wrote to stdout and stderr (its CRI log).
    Logs(LogsArgs),
    /// Print a shell completion script (e.g. `cocoon-run completions bash > /etc/bash_completion.d/cocoon-run`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff; `cocoon-run man | man -l -`).
    Man,
    /// Manage the image store: import, ls, rm, gc.
    #[command(subcommand)]
    Image(ImageCmd),
}

/// `cocoon-run image ...`.
#[derive(Debug, Subcommand)]
pub enum ImageCmd {
    /// Import an OCI layout directory, an oci-archive or a docker-archive (as `podman save`
    /// and `skopeo copy` write them); prints the names it got.
    Import(ImageImportArgs),
    /// List the store's images: NAME, manifest DIGEST, IMAGE ID.
    Ls(ImageStoreArg),
    /// Remove an image name (a digest: all its names); its layers go at `image gc`.
    Rm(ImageRmArgs),
    /// Remove the layers and blobs no image or live container uses.
    Gc(ImageStoreArg),
}

#[derive(Debug, Clone, Args)]
pub struct ImageStoreArg {
    /// The image store directory.
    #[arg(long, value_name = "DIR", default_value = cocoon::image::DEFAULT_STORE)]
    pub image_store: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImageFormatArg {
    /// An OCI image layout directory.
    OciLayout,
    /// An OCI layout in a tar file.
    OciArchive,
    /// A docker-archive tar file.
    DockerArchive,
}

#[derive(Debug, Clone, Args)]
pub struct ImageImportArgs {
    #[command(flatten)]
    pub store: ImageStoreArg,
    /// The name (NAME:TAG) it gets (default: the names the archive records).
    #[arg(long, value_name = "NAME[:TAG]")]
    pub name: Option<String>,
    /// What PATH is (default: told by its contents).
    #[arg(long, value_enum)]
    pub format: Option<ImageFormatArg>,
    /// Refuse device nodes in layers, even as root.
    #[arg(long)]
    pub no_devices: bool,
    /// The layout directory or archive file.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ImageRmArgs {
    #[command(flatten)]
    pub store: ImageStoreArg,
    /// NAME[:TAG] or a digest.
    #[arg(value_name = "REF")]
    pub reference: String,
}

/// What `--selinux-policy` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyAction {
    /// Print the generated CIL module.
    Generate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeccompMode {
    /// The default profile: Docker's allowlist (no keyrings, kexec, modules, BPF; mount,
    /// setns and new namespaces only with CAP_SYS_ADMIN); clone3 gets ENOSYS.
    Default,
    /// The default profile plus cocoon's conservative deny-list.
    DenyList,
    /// No seccomp filter at all.
    Unconfined,
}

/// Everything about the new container.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    // ---- root filesystem
    /// Root filesystem from a directory (default: the embedded host sandbox: host /usr
    /// read-only in a tmpfs root).
    #[arg(long, value_name = "DIR", value_parser = parse::dir, help_heading = "Root filesystem")]
    pub rootfs: Option<PathBuf>,
    /// Root from an image of the image store (see `cocoon-run image import`): its layers,
    /// a fresh writable layer removed afterwards, and its config as defaults (Entrypoint +
    /// Cmd when no PROGRAM is given, Env under -e, WorkingDir unless --workdir, User unless --user).
    #[arg(long, value_name = "REF", conflicts_with_all = ["rootfs", "layers"], help_heading = "Root filesystem")]
    pub image: Option<String>,
    /// The image store of --image.
    #[arg(long, value_name = "DIR", default_value = cocoon::image::DEFAULT_STORE, help_heading = "Root filesystem")]
    pub image_store: PathBuf,
    /// Root from image layers, top-most first, joined by ':' (overlayfs; needs --upper and --work).
    #[arg(long, value_name = "L1:L2", requires_all = ["upper", "work"], conflicts_with = "rootfs", help_heading = "Root filesystem")]
    pub layers: Option<String>,
    /// The writable layer of --layers.
    #[arg(long, value_name = "DIR", requires = "layers", help_heading = "Root filesystem")]
    pub upper: Option<PathBuf>,
    /// overlayfs' work directory for --layers (empty, on the same filesystem as --upper).
    #[arg(long, value_name = "DIR", requires = "layers", help_heading = "Root filesystem")]
    pub work: Option<PathBuf>,
    /// Read-only root (the default).
    #[arg(long, overrides_with = "writable", help_heading = "Root filesystem")]
    pub read_only: bool,
    /// Writable root.
    #[arg(long, help_heading = "Root filesystem")]
    pub writable: bool,
    /// Bind a host path: SRC:DST[:OPTS], OPTS comma-separated from ro, rw, z, Z, norecursive, noexec.
    #[arg(long, short = 'v', value_name = "SRC:DST[:ro]", value_parser = parse::bind, help_heading = "Mounts")]
    pub bind: Vec<Bind>,
    /// Bind a host path read-only: SRC:DST.
    #[arg(long, value_name = "SRC:DST", value_parser = parse::ro_bind, help_heading = "Mounts")]
    pub ro_bind: Vec<Bind>,
    /// Mount a fresh tmpfs: DST[:size=SIZE,mode=OCTAL,ro,noexec].
    #[arg(long, value_name = "DST[:size=..]", value_parser = parse::tmpfs, help_heading = "Mounts")]
    pub tmpfs: Vec<Tmpfs>,
    /// Mask one more path (added to Docker's list): files get /dev/null, directories an empty tmpfs.
    #[arg(long, value_name = "PATH", value_parser = parse::abs_path, help_heading = "Mounts")]
    pub masked_path: Vec<PathBuf>,
    /// Make one more path read-only (added to Docker's list).
    #[arg(long, value_name = "PATH", value_parser = parse::abs_path, help_heading = "Mounts")]
    pub readonly_path: Vec<PathBuf>,
    /// Only the work of the hand-written C floor in benches/peers: only /proc (no /dev,
    /// /sys, masked or read-only paths), no cgroup namespace, no SELinux labels unless asked for.
    #[arg(long, help_heading = "Mounts")]
    pub minimal: bool,

    // ---- namespaces
    /// Hostname (default "cocoon").
    #[arg(long, value_name = "NAME", value_parser = parse::hostname, help_heading = "Namespaces")]
    pub hostname: Option<String>,
    /// NIS domain name.
    #[arg(long, value_name = "NAME", value_parser = parse::hostname, help_heading = "Namespaces")]
    pub domainname: Option<String>,
    /// Share a namespace with the host instead of creating one: mnt, uts, ipc, pid, net, user, cgroup, time.
    #[arg(long, value_name = "NS", value_parser = parse::namespace, help_heading = "Namespaces")]
    pub share: Vec<cocoon::Namespaces>,
    /// Create one more namespace (e.g. time, user).
    #[arg(long, value_name = "NS", value_parser = parse::namespace, help_heading = "Namespaces")]
    pub unshare: Vec<cocoon::Namespaces>,
    /// Share the host's network namespace (= --share net).
    #[arg(long, help_heading = "Namespaces")]
    pub no_net: bool,
    /// New user namespace with a default map: root inside = uid 100000 outside (for an
    /// unprivileged caller: root inside = the caller's own uid).
    #[arg(long, help_heading = "Namespaces")]
    pub userns: bool,
    /// One range of the user namespace's uid map: INSIDE:OUTSIDE:COUNT (repeatable).
    #[arg(long, value_name = "IN:OUT:COUNT", value_parser = parse::id_range, requires = "gid_map", help_heading = "Namespaces")]
    pub uid_map: Vec<cocoon::IdRange>,
    /// One range of the gid map: INSIDE:OUTSIDE:COUNT (repeatable).
    #[arg(long, value_name = "IN:OUT:COUNT", value_parser = parse::id_range, requires = "uid_map", help_heading = "Namespaces")]
    pub gid_map: Vec<cocoon::IdRange>,
    /// Clock offset of a new time namespace: [monotonic=|boottime=]DURATION (s, m, h, d);
    /// a bare duration shifts both.
    #[arg(long, value_name = "[CLOCK=]DURATION", value_parser = parse::time_offset, help_heading = "Namespaces")]
    pub time_offset: Vec<(Option<&'static str>, std::time::Duration)>,
    /// The container's network: none (loopback only, the default), bridge[=NAME] (a veth
    /// pair on bridge NAME, default cocoon0, created if missing; eth0 gets an address of
    /// --subnet and a default route via its first address) or ns:PATH (join a network
    /// namespace).
    #[arg(long, value_name = "none|bridge[=NAME]|ns:PATH", value_parser = parse::network, help_heading = "Network")]
    pub network: Option<parse::NetworkFlag>,
    /// The bridge's IPv4 subnet (default 10.88.0.0/16).
    #[arg(long, value_name = "CIDR", value_parser = parse::subnet, help_heading = "Network")]
    pub subnet: Option<cocoon::Ipv4Subnet>,
    /// A static IPv4 address for eth0 (default: the first free one of the subnet).
    #[arg(long, value_name = "ADDR", help_heading = "Network")]
    pub ip: Option<std::net::Ipv4Addr>,
    /// The MTU of the veth pair.
    #[arg(long, value_name = "BYTES", help_heading = "Network")]
    pub mtu: Option<u32>,
    /// Masquerade the container's traffic leaving the subnet (nftables table ip cocoon;
    /// turns on net.ipv4.ip_forward).
    #[arg(long, help_heading = "Network")]
    pub nat: bool,
    /// Forward a host port to the container: HOST:CONTAINER[/udp] or
    /// ADDR:HOST:CONTAINER[/tcp|/udp] (repeatable; not on loopback addresses).
    #[arg(long, short = 'p', value_name = "[ADDR:]HOST:CONTAINER[/PROTO]", value_parser = parse::publish, help_heading = "Network")]
    pub publish: Vec<cocoon::PublishedPort>,
    /// Firewall rule accepting [out:|in:]MATCH, MATCH one of ADDR[/PREFIX],
    /// ADDR[/PREFIX]:PORT[/tcp|udp], *:PORT[/PROTO], tcp, udp (out by default; repeatable;
    /// made inside the container's namespace; `--deny out:*` makes dropping the default;
    /// the --deny rules are checked first, then the --allow rules, each in order).
    #[arg(long, value_name = "[out:|in:]MATCH", help_heading = "Network")]
    pub allow: Vec<String>,
    /// Firewall rule dropping [out:|in:]MATCH (see --allow); `*` alone sets the default.
    #[arg(long, value_name = "[out:|in:]MATCH", help_heading = "Network")]
    pub deny: Vec<String>,
    /// Limit what the container sends: RATE[,BURST] (tc units: 10mbit, 1M, 500kbps;
    /// BURST in bytes).
    #[arg(long, value_name = "RATE[,BURST]", value_parser = parse::rate_limit, help_heading = "Network")]
    pub egress_rate: Option<cocoon::net::RateLimit>,
    /// Limit what the container receives: RATE[,BURST] (see --egress-rate).
    #[arg(long, value_name = "RATE[,BURST]", value_parser = parse::rate_limit, help_heading = "Network")]
    pub ingress_rate: Option<cocoon::net::RateLimit>,
    /// Join an existing namespace instead of creating one: NS:PATH, NS one of net, ipc, uts.
    #[arg(long, value_name = "NS:PATH", value_parser = parse::join, help_heading = "Namespaces")]
    pub join: Vec<(cocoon::Namespaces, PathBuf)>,

    // ---- process
    /// Run as UID[:GID] (numbers inside the container; gid 0 if not given) or as a user NAME
    /// from the container's /etc/passwd.
    #[arg(long, short = 'u', value_name = "UID[:GID]|NAME", value_parser = parse::user, help_heading = "Process")]
    pub user: Option<UserSpec>,
    /// A supplementary group id (repeatable; needs a numeric --user, or none).
    #[arg(long, value_name = "GID", value_parser = parse::gid, help_heading = "Process")]
    pub group_add: Vec<u32>,
    /// Working directory inside the container (default /).
    #[arg(long, short = 'w', value_name = "DIR", value_parser = parse::abs_path, help_heading = "Process")]
    pub workdir: Option<PathBuf>,
    /// Set an environment variable: KEY=VALUE, or KEY to pass this one's value (the
    /// environment starts empty but for PATH).
    #[arg(long, short = 'e', value_name = "KEY=VALUE", value_parser = parse::env, help_heading = "Process")]
    pub env: Vec<(String, String)>,
    /// Read KEY=VALUE lines from a file (# comments; -e wins over it).
    #[arg(long, value_name = "FILE", value_parser = parse::env_file, help_heading = "Process")]
    pub env_file: Vec<parse::EnvFile>,
    /// Add a capability to Docker's default set (NET_ADMIN, cap_sys_time, ALL).
    #[arg(long, value_name = "CAP", value_parser = parse::cap, help_heading = "Process")]
    pub cap_add: Vec<Cap>,
    /// Drop a capability from the set (ALL drops every one; --cap-add then adds back).
    #[arg(long, value_name = "CAP", value_parser = parse::cap, help_heading = "Process")]
    pub cap_drop: Vec<Cap>,
    /// Resource limit NAME=SOFT[:HARD], e.g. nofile=1024:4096, core=0, stack=unlimited.
    #[arg(long, visible_alias = "ulimit", value_name = "NAME=SOFT[:HARD]", value_parser = parse::rlimit, help_heading = "Process")]
    pub rlimit: Vec<(cocoon::Rlimit, u64, u64)>,
    /// File mode creation mask, octal (e.g. 077).
    #[arg(long, value_name = "OCTAL", value_parser = parse::umask, help_heading = "Process")]
    pub umask: Option<u32>,
    /// OOM killer score adjustment, -1000 to 1000.
    #[arg(long, value_name = "N", value_parser = parse::oom_score_adj, allow_hyphen_values = true, help_heading = "Process")]
    pub oom_score_adj: Option<i32>,
    /// Pass this process's descriptor FD to the program as TARGET (default FD, at least 3).
    #[arg(long, value_name = "FD[:TARGET]", value_parser = parse::pass_fd, help_heading = "Process")]
    pub pass_fd: Vec<PassFd>,
    /// no_new_privs (default true): setuid bits and file capabilities grant nothing.
    /// --no-new-privs=false turns it off.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_value_t = true,
          default_missing_value = "true", action = clap::ArgAction::Set, help_heading = "Process")]
    pub no_new_privs: bool,
    /// Run a minimal init as PID 1 that reaps orphans and forwards signals.
    #[arg(long, help_heading = "Process")]
    pub init: bool,
    /// The container's id (names its cgroup; default: generated).
    #[arg(long, visible_alias = "id", value_name = "ID", value_parser = parse::container_id, help_heading = "Process")]
    pub name: Option<String>,

    // ---- security
    /// Seccomp: default (also without the flag), deny-list (= bare --seccomp: the default
    /// plus cocoon's conservative deny-list) or unconfined (no filter).
    #[arg(long, value_enum, value_name = "MODE", num_args = 0..=1, require_equals = true,
          default_value = "default", default_missing_value = "deny-list", help_heading = "Security")]
    pub seccomp: SeccompMode,
    /// A seccomp profile in Docker's JSON format replacing the default profile (its
    /// includes/excludes resolved for the container's capabilities).
    #[arg(long, value_name = "FILE", help_heading = "Security")]
    pub seccomp_profile: Option<std::path::PathBuf>,
    /// Deny one more syscall (name or number; repeatable), on top of the default profile.
    #[arg(long, value_name = "SYSCALL", value_parser = parse::syscall, help_heading = "Security")]
    pub seccomp_deny: Vec<i64>,
    /// The errno the denied syscalls fail with (default EPERM = 1).
    #[arg(long, value_name = "ERRNO", value_parser = parse::errno, help_heading = "Security")]
    pub seccomp_errno: Option<i32>,
    /// SELinux process type (default container_t when SELinux is on).
    #[arg(long, value_name = "TYPE", help_heading = "Security")]
    pub selinux_type: Option<String>,
    /// SELinux level, e.g. s0:c1,c2 (default: a unique MCS pair).
    #[arg(long, value_name = "LEVEL", value_parser = parse::selinux_level, help_heading = "Security")]
    pub selinux_level: Option<cocoon::selinux::Level>,
    /// SELinux user (default from the policy: system_u).
    #[arg(long, value_name = "USER", help_heading = "Security")]
    pub selinux_user: Option<String>,
    /// SELinux role (default system_r).
    #[arg(long, value_name = "ROLE", help_heading = "Security")]
    pub selinux_role: Option<String>,
    /// Fail instead of running unlabelled when SELinux is disabled.
    #[arg(long, help_heading = "Security")]
    pub selinux_require: bool,
    /// `generate`: print the per-container SELinux policy (a CIL module deriving
    /// NAME.process from cocoon.cil's `container` template) for the container the other
    /// flags describe, and exit 0 without running anything.
    #[arg(long, value_enum, value_name = "ACTION", help_heading = "Security")]
    pub selinux_policy: Option<PolicyAction>,
    /// The generated policy's name (letters, digits, '_'; default: --name with '-' and
    /// '.' as '_', else `cocoon_run`). The domain is NAME.process.
    #[arg(long, value_name = "NAME", help_heading = "Security")]
    pub selinux_policy_name: Option<String>,
    /// The SELinux type of bind source SRC in the generated policy (repeatable; default:
    /// the source's label, else container_file_t).
    #[arg(long, value_name = "SRC=TYPE", value_parser = parse::bind_type, help_heading = "Security")]
    pub selinux_bind_type: Vec<(PathBuf, String)>,
    /// Landlock: allow reading beneath PATH (inside the container; repeatable). Any
    /// --landlock-ro/-rw/-exec denies every other filesystem access.
    #[arg(long, value_name = "PATH", help_heading = "Security")]
    pub landlock_ro: Vec<PathBuf>,
    /// Landlock: allow everything but executing beneath PATH (repeatable).
    #[arg(long, value_name = "PATH", help_heading = "Security")]
    pub landlock_rw: Vec<PathBuf>,
    /// Landlock: allow executing files beneath PATH (repeatable; the program itself always
    /// may, a dynamically linked one needs its loader's directory, e.g. /usr/lib).
    #[arg(long, value_name = "PATH", help_heading = "Security")]
    pub landlock_exec: Vec<PathBuf>,
    /// Landlock: allow TCP connect to PORT only (repeatable; Landlock ABI 4).
    #[arg(long, value_name = "PORT", help_heading = "Security")]
    pub landlock_connect: Vec<u16>,
    /// Landlock: allow TCP bind to PORT only (repeatable; Landlock ABI 4).
    #[arg(long, value_name = "PORT", help_heading = "Security")]
    pub landlock_bind: Vec<u16>,
    /// Landlock: fail (exit 2) when the kernel's Landlock ABI lacks a requested right,
    /// instead of dropping it (--verbose names what was dropped).
    #[arg(long, help_heading = "Security")]
    pub landlock_required: bool,

    // ---- cgroup
    /// Memory limit (bytes, or with k, m, g suffix: 64M).
    #[arg(long, short = 'm', value_name = "SIZE", value_parser = parse::nonzero_size, help_heading = "Cgroup limits")]
    pub memory: Option<u64>,
    /// Memory plus swap limit (as podman; needs --memory, at least as large).
    #[arg(long, value_name = "SIZE", value_parser = parse::size, requires = "memory", help_heading = "Cgroup limits")]
    pub memory_swap: Option<u64>,
    /// Memory reservation (v1 soft limit, v2 memory.low).
    #[arg(long, value_name = "SIZE", value_parser = parse::nonzero_size, help_heading = "Cgroup limits")]
    pub memory_reservation: Option<u64>,
    /// Memory throttling threshold (v2 memory.high).
    #[arg(long, value_name = "SIZE", value_parser = parse::nonzero_size, help_heading = "Cgroup limits")]
    pub memory_high: Option<u64>,
    /// Disable the OOM killer (cgroup v1 only).
    #[arg(long, help_heading = "Cgroup limits")]
    pub oom_kill_disable: bool,
    /// At most N processes and threads.
    #[arg(long, visible_alias = "pids-limit", value_name = "N", value_parser = parse::positive, help_heading = "Cgroup limits")]
    pub pids: Option<u64>,
    /// CPU quota in CPUs, e.g. 0.5 = half of one CPU (period 100 ms).
    #[arg(long, value_name = "X", value_parser = parse::cpus, allow_hyphen_values = true, help_heading = "Cgroup limits")]
    pub cpus: Option<f64>,
    /// The CPUs to run on, e.g. 0-1,3.
    #[arg(long, value_name = "LIST", value_parser = parse::id_set, help_heading = "Cgroup limits")]
    pub cpuset_cpus: Option<cocoon::cgroup::IdSet>,
    /// The memory nodes to allocate from, e.g. 0.
    #[arg(long, value_name = "LIST", value_parser = parse::id_set, help_heading = "Cgroup limits")]
    pub cpuset_mems: Option<cocoon::cgroup::IdSet>,
    /// Relative CPU share, v1 shares (2 to 262144; 1024 is the default).
    #[arg(long, value_name = "N", value_parser = parse::positive, conflicts_with = "cpu_weight", help_heading = "Cgroup limits")]
    pub cpu_shares: Option<u64>,
    /// Relative CPU share, v2 weight (1 to 10000; 100 is the default).
    #[arg(long, value_name = "N", value_parser = parse::positive, help_heading = "Cgroup limits")]
    pub cpu_weight: Option<u64>,
    /// Relative I/O weight (1 to 10000; 1 to 1000 with BFQ only).
    #[arg(long, visible_alias = "blkio-weight", value_name = "N", value_parser = clap::value_parser!(u16).range(1..=10000), help_heading = "Cgroup limits")]
    pub io_weight: Option<u16>,
    /// Read rate limit of a whole disk: DEVICE:RATE (e.g. /dev/sda:1m).
    #[arg(long, value_name = "DEV:RATE", value_parser = parse::read_bps, help_heading = "Cgroup limits")]
    pub device_read_bps: Vec<(PathBuf, cocoon::cgroup::IoRate, u64)>,
    /// Write rate limit: DEVICE:RATE.
    #[arg(long, value_name = "DEV:RATE", value_parser = parse::write_bps, help_heading = "Cgroup limits")]
    pub device_write_bps: Vec<(PathBuf, cocoon::cgroup::IoRate, u64)>,
    /// Read operations per second: DEVICE:N.
    #[arg(long, value_name = "DEV:N", value_parser = parse::read_iops, help_heading = "Cgroup limits")]
    pub device_read_iops: Vec<(PathBuf, cocoon::cgroup::IoRate, u64)>,
    /// Write operations per second: DEVICE:N.
    #[arg(long, value_name = "DEV:N", value_parser = parse::write_iops, help_heading = "Cgroup limits")]
    pub device_write_iops: Vec<(PathBuf, cocoon::cgroup::IoRate, u64)>,
    /// Allow one more device: 'TYPE MAJOR:MINOR ACCESS' (e.g. 'c 10:200 rwm').
    #[arg(long, value_name = "RULE", value_parser = parse::device_rule, help_heading = "Cgroup limits")]
    pub device_cgroup_rule: Vec<cocoon::cgroup::DeviceRule>,
    /// The parent cgroup, relative to each hierarchy's root (default cocoon).
    #[arg(long, value_name = "PATH", help_heading = "Cgroup limits")]
    pub cgroup_parent: Option<PathBuf>,
    /// Print the container's cgroup stats when it ends.
    #[arg(long, help_heading = "Cgroup limits")]
    pub stats: bool,

    // ---- logging (the CRI format kubelet reads, written by the container's monitor)
    /// Log the container's stdout and stderr to FILE in the CRI format
    /// (`<time> stdout|stderr F|P <text>`) instead of the terminal; the directory must
    /// exist. Detached containers log to the state directory without it.
    #[arg(long, value_name = "FILE", help_heading = "Logging")]
    pub log: Option<PathBuf>,
    /// Rotate the log when it would pass SIZE (e.g. 10m): FILE becomes FILE.1, and so on.
    #[arg(long, value_name = "SIZE", value_parser = parse::size, help_heading = "Logging")]
    pub log_max_size: Option<u64>,
    /// Log files kept with --log-max-size, the live one included.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..), requires = "log_max_size", help_heading = "Logging")]
    pub log_max_files: u32,

    // ---- health (Docker's HEALTHCHECK; run by the detached container's keeper)
    /// A shell command exec'd into the container to check its health (exit 0: healthy);
    /// `ps` shows the status. Needs --detach.
    #[arg(long, value_name = "CMD", requires = "detach", help_heading = "Health")]
    pub health_cmd: Option<String>,
    /// Time between checks (from the end of one to the start of the next).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse::duration, requires = "health_cmd", help_heading = "Health")]
    pub health_interval: std::time::Duration,
    /// A check still running after this is killed and counts as failed.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse::duration, requires = "health_cmd", help_heading = "Health")]
    pub health_timeout: std::time::Duration,
    /// Failures in a row that make the container unhealthy.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..), requires = "health_cmd", help_heading = "Health")]
    pub health_retries: u32,
    /// Failures in this first stretch do not count.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse::duration, requires = "health_cmd", help_heading = "Health")]
    pub health_start_period: std::time::Duration,

    // ---- the tool
    /// Print what is in effect (namespaces, root, mounts, user, limits), in units a person reads.
    #[arg(long)]
    pub verbose: bool,
    /// Print the plan and check every value, creating nothing.
    #[arg(long, conflicts_with = "detach")]
    pub dry_run: bool,
    /// Run in the background: print the container's id and return (see exec, ps, kill, stop, rm, logs).
    #[arg(long, short = 'd')]
    pub detach: bool,

    /// The program and its arguments (optional with --image: the image's Entrypoint + Cmd).
    #[arg(value_name = "PROGRAM", required_unless_present = "image", trailing_var_arg = true)]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The interval CPU % is measured over, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    pub interval_ms: u64,
    /// The containers (default: every one in the registry).
    pub ids: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Keep printing what it writes until it ends.
    #[arg(short, long)]
    pub follow: bool,
    /// Only what it wrote since TIME: RFC 3339 (2026-12-04T10:00:00Z) or a duration ago (10m).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Prefix every line with the time it was logged.
    #[arg(short, long)]
    pub timestamps: bool,
    /// The container's id (from --detach or ps).
    pub id: String,
}

#[derive(Debug, Args)]
pub struct IdArg {
    /// The container's id (from --detach or ps).
    pub id: String,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The container's id.
    pub id: String,
    /// Run as UID[:GID] or NAME (default root).
    #[arg(long, short = 'u', value_name = "UID[:GID]|NAME", value_parser = parse::user)]
    pub user: Option<UserSpec>,
    /// Working directory inside the container (default /).
    #[arg(long, short = 'w', value_name = "DIR", value_parser = parse::abs_path)]
    pub workdir: Option<PathBuf>,
    /// Set an environment variable: KEY=VALUE (the environment starts empty but for PATH).
    #[arg(long, short = 'e', value_name = "KEY=VALUE", value_parser = parse::env)]
    pub env: Vec<(String, String)>,
    /// The program and its arguments.
    #[arg(value_name = "PROGRAM", required = true, trailing_var_arg = true)]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Print only the ids.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    /// The container's id.
    pub id: String,
    /// The signal: a name (TERM, SIGKILL) or number (default KILL).
    #[arg(long, short = 's', default_value = "KILL", value_parser = signal)]
    pub signal: i32,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// The container's id.
    pub id: String,
    /// Seconds to wait after SIGTERM before SIGKILL.
    #[arg(long, short = 't', default_value_t = 10)]
    pub time: u64,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// The containers' ids.
    #[arg(required = true)]
    pub ids: Vec<String>,
    /// Kill a running container first.
    #[arg(long, short = 'f')]
    pub force: bool,
}

/// A signal name or number.
pub fn signal(s: &str) -> Result<i32, String> {
    if let Ok(n) = s.parse::<i32>() {
        return if (1..=64).contains(&n) { Ok(n) } else { Err(format!("{n} is not a signal number")) };
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    Ok(match name {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "KILL" => libc::SIGKILL,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        "TERM" => libc::SIGTERM,
        "CONT" => libc::SIGCONT,
        "STOP" => libc::SIGSTOP,
        "WINCH" => libc::SIGWINCH,
        _ => {
            return Err(format!(
                "{s:?} is not a signal (HUP, INT, QUIT, KILL, USR1, USR2, TERM, CONT, STOP, WINCH, or a number)"
            ))
        }
    })
}

impl RunArgs {
    /// Whether any cgroup setting was given (then the container gets a cgroup of its own).
    pub fn wants_cgroup(&self) -> bool {
        self.memory.is_some()
            || self.memory_reservation.is_some()
            || self.memory_high.is_some()
            || self.oom_kill_disable
            || self.pids.is_some()
            || self.cpus.is_some()
            || self.cpuset_cpus.is_some()
            || self.cpuset_mems.is_some()
            || self.cpu_shares.is_some()
            || self.cpu_weight.is_some()
            || self.io_weight.is_some()
            || !self.io_limits().is_empty()
            || !self.device_cgroup_rule.is_empty()
            || self.cgroup_parent.is_some()
            || self.stats
    }

    /// Every --device-*-bps/iops limit.
    pub fn io_limits(&self) -> Vec<&(PathBuf, cocoon::cgroup::IoRate, u64)> {
        self.device_read_bps
            .iter()
            .chain(&self.device_write_bps)
            .chain(&self.device_read_iops)
            .chain(&self.device_write_iops)
            .collect()
    }

    /// Whether the root is read-only.
    pub fn read_only_root(&self) -> bool {
        !self.writable
    }
}
