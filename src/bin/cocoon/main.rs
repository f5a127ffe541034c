//! `cocoon`: an OCI runtime with runc's command line, built on the cocoon library, for the
//! engines that drive runtimes (podman through conmon, containerd through its shim,
//! CRI-O). Errors go to stderr and, with `--log`, to the log file (runc's JSON lines with
//! `--log-format json`, which conmon reads back); every failure exits with status 1
//! (`exec`: 255, as runc, apart from the exit codes of the process it runs).

mod args;
mod create;
mod exec;
mod hooks;
mod listener;
mod manage;
mod spec;
mod state;
mod stats;
mod update;

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;

use args::{Cli, Cmd, LogFormat};

/// Why a command failed.
#[derive(Debug)]
pub enum Failure {
    /// A message for the user.
    Msg(String),
    /// The library refused or failed (its error, displayed).
    Cocoon(String),
    /// No container of that id.
    NotExist(String),
}

impl Failure {
    pub fn msg(m: impl Into<String>) -> Failure {
        Failure::Msg(m.into())
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Msg(m) | Failure::Cocoon(m) => f.write_str(m),
            Failure::NotExist(id) => write!(f, "container {id} does not exist"),
        }
    }
}

/// The global options every command sees.
pub struct Global {
    pub root: PathBuf,
    pub systemd_cgroup: bool,
    log: Option<PathBuf>,
    log_format: LogFormat,
}

impl Global {
    fn log(&self, level: &str, msg: &str) {
        let Some(path) = &self.log else { return };
        let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) else { return };
        let time = state::now_rfc3339();
        let line = match self.log_format {
            LogFormat::Json => serde_json::json!({"level": level, "msg": msg, "time": time}).to_string(),
            LogFormat::Text => format!("time=\"{time}\" level={level} msg={msg:?}"),
        };
        let _ = writeln!(f, "{line}");
    }

    pub fn warn(&self, msg: &str) {
        eprintln!("cocoon: warning: {msg}");
        self.log("warning", msg);
    }
}

fn dispatch(g: &Global, cmd: &Cmd) -> Result<u8, Failure> {
    match cmd {
        Cmd::Create(a) => create::create(g, a),
        Cmd::Run(a) => create::run(g, a),
        Cmd::Start(a) => manage::start(g, &a.id),
        Cmd::State(a) => manage::state(g, &a.id),
        Cmd::List(a) => manage::list(g, a),
        Cmd::Kill(a) => manage::kill(g, a),
        Cmd::Delete(a) => manage::delete(g, a),
        Cmd::Pause(a) => manage::pause(g, &a.id, true),
        Cmd::Resume(a) => manage::pause(g, &a.id, false),
        Cmd::Ps(a) => manage::ps(g, a),
        Cmd::Events(a) => manage::events(g, a),
        Cmd::Stats(a) => stats::stats(g, a),
        Cmd::Spec(a) => spec::spec(a),
        Cmd::Features => spec::features(),
        Cmd::Exec(a) => exec::exec(g, a),
        Cmd::Update(a) => update::update(g, a),
    }
}

fn main() {
    // A closed stdout (`cocoon features | head -1`) ends us by SIGPIPE, as it ends runc,
    // instead of a panic: Rust starts programs with SIGPIPE ignored.
    // SAFETY: signal(2) with a constant disposition, before any thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = Cli::parse();
    let g = Global { root: cli.root, systemd_cgroup: cli.systemd_cgroup, log: cli.log, log_format: cli.log_format };
    let code = match dispatch(&g, &cli.cmd) {
        Ok(c) => c,
        Err(f) => {
            let msg = f.to_string();
            eprintln!("cocoon: {msg}");
            g.log("error", &msg);
            // As runc: exec's own failures are 255, apart from the exit codes of the
            // process it runs.
            if matches!(cli.cmd, Cmd::Exec(_)) {
                255
            } else {
                1
            }
        }
    };
    let _ = std::io::stdout().flush();
    std::process::exit(i32::from(code));
}
