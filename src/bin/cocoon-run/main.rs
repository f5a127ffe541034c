//! cocoon-run: run a command in a container from the shell, through the cocoon library's
//! public API. `cocoon-run --help` lists every flag; `cocoon-run man` prints the man page,
//! `cocoon-run completions SHELL` a completion script, all from the definition in `args.rs`.
//!
//! Files: `args.rs` (the command line), `parse.rs` (flag values), `settings.rs` (flags →
//! `ContainerBuilder`), `run.rs` (foreground run, --dry-run, errors and exit status),
//! `describe.rs` (--verbose and --dry-run text), `detached.rs` (--detach and its keeper),
//! `control.rs` (exec, kill, stop, rm, ps, logs), `stats.rs` (stats), `image.rs` (`image import|ls|rm|gc`), `state.rs` (the registry of detached
//! containers), `syscalls.rs` (syscall names for --seccomp-deny).

mod args;
mod control;
mod describe;
mod detached;
mod image;
mod parse;
mod run;
mod settings;
mod state;
mod stats;
mod syscalls;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use args::{Cli, Cmd, RunArgs};

/// Why the tool did not run the program; the exit status is in [`args::EXIT_STATUS`].
#[derive(Debug)]
pub enum Failure {
    /// A flag's value (or a combination of flags) was rejected before anything was
    /// created: exit status 2, as for clap's own errors.
    Usage { flag: String, reason: String },
    /// The library (or the registry) failed: exit status 125.
    Cocoon(String),
    /// Already printed; exit with this status.
    Reported(u8),
}

impl Failure {
    pub fn usage(flag: &str, reason: impl Into<String>) -> Failure {
        Failure::Usage { flag: flag.to_string(), reason: reason.into() }
    }

    pub fn status(&self) -> u8 {
        match self {
            Failure::Usage { .. } => 2,
            Failure::Cocoon(_) => 125,
            Failure::Reported(s) => *s,
        }
    }

    pub fn text(&self) -> String {
        match self {
            Failure::Usage { flag, reason } => format!("{flag}: {reason}"),
            Failure::Cocoon(t) => t.clone(),
            Failure::Reported(s) => format!("failed with status {s}"),
        }
    }
}

fn run_cmd(a: &RunArgs) -> Result<u8, Failure> {
    if let Some((fd, id)) = detached::keeper_request() {
        return detached::keeper(a, fd, &id);
    }
    if a.selinux_policy.is_some() {
        run::selinux_policy(a)
    } else if a.dry_run {
        run::dry_run(a)
    } else if a.detach {
        detached::detach(a)
    } else {
        run::foreground(a)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = std::io::stdout();
    let r = match &cli.cmd {
        None => run_cmd(&cli.run),
        Some(Cmd::Run(a)) => run_cmd(a),
        Some(Cmd::Exec(a)) => control::exec(a),
        Some(Cmd::Ps(a)) => control::ps(a),
        Some(Cmd::Stats(a)) => stats::stats(a),
        Some(Cmd::Kill(a)) => control::kill(a),
        Some(Cmd::Stop(a)) => control::stop(a),
        Some(Cmd::Rm(a)) => control::rm(a),
        Some(Cmd::Logs(a)) => control::logs(a),
        Some(Cmd::Completions { shell }) => {
            clap_complete::generate(*shell, &mut Cli::command(), "cocoon-run", &mut out);
            Ok(0)
        }
        Some(Cmd::Image(c)) => image::run(c),
        Some(Cmd::Man) => clap_mangen::Man::new(Cli::command())
            .render(&mut out)
            .map(|()| 0)
            .map_err(|e| Failure::Cocoon(format!("writing the man page: {e}"))),
    };
    match r {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            if !matches!(f, Failure::Reported(_)) {
                eprintln!("cocoon-run: {}", f.text());
            }
            ExitCode::from(f.status())
        }
    }
}
