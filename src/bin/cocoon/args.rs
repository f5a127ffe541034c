//! The command line: runc's, because engines (podman's conmon, containerd's shim, CRI-O)
//! call OCI runtimes with it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// cocoon: an OCI runtime (runc's command line) built on the cocoon library.
#[derive(Debug, Parser)]
#[command(name = "cocoon", version, about, max_term_width = 100)]
pub struct Cli {
    /// Where container state is kept (one directory per container).
    #[arg(long, global = true, default_value = "/run/cocoon")]
    pub root: PathBuf,
    /// Also write errors (and warnings) to this file.
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// How --log lines are written.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Use systemd for cgroups (accepted; cocoon has no systemd driver yet: a typed error).
    #[arg(long, global = true)]
    pub systemd_cgroup: bool,
    /// Accepted for runc compatibility (more detail in the log).
    #[arg(long, global = true)]
    pub debug: bool,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Create a container from a bundle, held before its program until `start`.
    Create(CreateArgs),
    /// Run the program of a created container.
    Start(IdArg),
    /// Create and start a container; wait for it unless --detach.
    Run(RunArgs),
    /// Print a container's state as JSON.
    State(IdArg),
    /// List containers.
    List(ListArgs),
    /// Send a signal to a container's first process (or all its processes).
    Kill(KillArgs),
    /// Remove a container (its state and cgroup).
    Delete(DeleteArgs),
    /// Freeze every process of a container.
    Pause(IdArg),
    /// Thaw a paused container.
    Resume(IdArg),
    /// List the processes of a container.
    Ps(PsArgs),
    /// Print a container's resource usage (--stats) or follow its events (OOM).
    Events(EventsArgs),
    /// A live table of containers' resource use, like `podman stats` (cocoon's own command).
    Stats(StatsArgs),
    /// Write a default config.json into the bundle directory.
    Spec(SpecArgs),
    /// Print what this runtime supports, as JSON (OCI runtime features).
    Features,
    /// Run a process in a running container.
    Exec(ExecArgs),
    /// Change a container's resource limits (not yet: a typed error).
    Update(UpdateArgs),
}

#[derive(Debug, Args)]
pub struct IdArg {
    /// The container id.
    pub id: String,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The bundle directory (holding config.json).
    #[arg(long, short = 'b', default_value = ".")]
    pub bundle: PathBuf,
    /// Write the container's pid here.
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// A unix socket to send the pty master to (process.terminal).
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Pass this many fds (from 3) to the container's program.
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    /// Accepted for runc compatibility: cocoon always pivots.
    #[arg(long)]
    pub no_pivot: bool,
    /// Accepted for runc compatibility.
    #[arg(long)]
    pub no_new_keyring: bool,
    /// The container id.
    pub id: String,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub create: CreateArgs,
    /// Return once the program runs (the container outlives this process).
    #[arg(long, short = 'd')]
    pub detach: bool,
    /// Keep the container's state after it exits.
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Print only the ids.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal every process of the container (through its cgroup).
    #[arg(long, short = 'a')]
    pub all: bool,
    /// The container id.
    pub id: String,
    /// The signal: a name (`KILL`, `SIGKILL`) or a number.
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Kill a running container first.
    #[arg(long, short = 'f')]
    pub force: bool,
    /// The container id.
    pub id: String,
}

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// The container id.
    pub id: String,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Print the resource usage once and exit.
    #[arg(long)]
    pub stats: bool,
    /// How often usage is sampled while following, e.g. `5s`, `500ms`.
    #[arg(long, default_value = "5s")]
    pub interval: String,
    /// The container id.
    pub id: String,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Print one sample (CPU % over one interval) and exit, instead of refreshing.
    #[arg(long)]
    pub no_stream: bool,
    /// Time between samples, e.g. `1s`, `500ms`.
    #[arg(long, default_value = "1s")]
    pub interval: String,
    /// Output: a table, JSON lines, or the Prometheus text format.
    #[arg(long, value_enum, default_value_t = StatsFormat::Table)]
    pub format: StatsFormat,
    /// The containers (default: every running one under --root).
    pub ids: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatsFormat {
    Table,
    Json,
    Prometheus,
}

#[derive(Debug, Args)]
pub struct SpecArgs {
    /// Where to write config.json.
    #[arg(long, short = 'b', default_value = ".")]
    pub bundle: PathBuf,
    /// A spec for a rootless container (user namespace mapping the caller).
    #[arg(long)]
    pub rootless: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// A process.json to run.
    #[arg(long, short = 'p')]
    pub process: Option<PathBuf>,
    #[arg(long, short = 'd')]
    pub detach: bool,
    #[arg(long, short = 't')]
    pub tty: bool,
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Environment variables (NAME=value) added to the container's process environment.
    #[arg(long, short = 'e')]
    pub env: Vec<String>,
    /// Working directory in the container.
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// `uid[:gid]`.
    #[arg(long, short = 'u')]
    pub user: Option<String>,
    /// Pass fds 3..3+N on to the process.
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    /// The container id.
    pub id: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true)]
    pub command: Vec<String>,
}

/// runc's `update`: a `--resources` file, or else the limit flags.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// A `linux.resources` JSON file (`-` for stdin).
    #[arg(long, short = 'r')]
    pub resources: Option<PathBuf>,
    /// Memory limit (bytes, or with a k/m/g/t suffix).
    #[arg(long)]
    pub memory: Option<String>,
    /// Memory reservation (soft limit).
    #[arg(long)]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit (-1: unlimited).
    #[arg(long)]
    pub memory_swap: Option<String>,
    /// At most this many tasks.
    #[arg(long)]
    pub pids_limit: Option<i64>,
    /// CFS quota in microseconds per period.
    #[arg(long)]
    pub cpu_quota: Option<i64>,
    /// CFS period in microseconds.
    #[arg(long)]
    pub cpu_period: Option<u64>,
    /// Relative CPU share (cgroup v1 shares).
    #[arg(long)]
    pub cpu_share: Option<u64>,
    /// CPUs the container may use ("0-1,3").
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the container may use.
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Relative block I/O weight (10..=1000).
    #[arg(long)]
    pub blkio_weight: Option<u16>,
    /// The container id.
    pub id: String,
}
