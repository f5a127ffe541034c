//! Runs a command in a container: the library's builder in a dozen lines. (The full
//! command-line tool, with a flag for every setting, is the `cocoon-run` binary.)
//!
//! ```text
//! cargo run --example run -- sh -c 'hostname; id; ls /'
//! ```
use std::process::ExitCode;

use cocoon::{Bytes, CgroupConfig, ContainerBuilder, Namespaces, Process};

fn main() -> Result<ExitCode, cocoon::Error> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((program, args)) = argv.split_first() else {
        eprintln!("usage: run PROGRAM [ARGS...]");
        return Ok(ExitCode::from(2));
    };
    let mut container = ContainerBuilder::new(
        Process::new(program).args(args).env("PATH", cocoon::plan::DEFAULT_PATH),
    )
    .namespaces(Namespaces::DEFAULT) // mount, uts, ipc, pid, net, cgroup
    .hostname("example")
    .read_only_root(true) // root: the embedded host sandbox (host /usr, read-only)
    .cgroup(CgroupConfig::new().memory_max(Bytes::mib(64)).pids_max(64))
    .spawn()?;
    println!("container {} runs as host pid {}", container.id(), container.pid());
    let status = container.wait()?;
    println!("it ended: {status}");
    // The shell's convention: the exit code, or 128 + the signal.
    Ok(ExitCode::from(status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0)) as u8))
}
