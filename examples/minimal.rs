//! The C floor's work with cocoon's security defaults, and nothing else: what
//! `benches/peers/run.sh` times as `cocoon-minimal` to price the library's defaults
//! against the hand-written C floor. Same interface as the floor; no argument parser, so
//! the row does not also time the start-up of a command-line tool (`cocoon-run --minimal`
//! does the same work behind its parser: that row is timed too).
//!
//! ```text
//! cargo run --release --example minimal -- ROOTFS PROGRAM [ARGS...]
//! ```
use std::process::ExitCode;

use cocoon::{ContainerBuilder, Mount, Namespaces, Process, Rootfs};

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let [rootfs, program, args @ ..] = argv.as_slice() else {
        eprintln!("usage: minimal ROOTFS PROGRAM [ARGS...]");
        return ExitCode::from(2);
    };
    // The floor's work: mount, uts, ipc, pid and net namespaces, the directory as a
    // read-only root, /proc. Everything else (capabilities, no_new_privs, seccomp, the
    // device policy, the monitor, the exec helper, a session) is cocoon's default.
    let spawned = ContainerBuilder::new(Process::new(program).args(args))
        .namespaces(Namespaces::DEFAULT - Namespaces::CGROUP)
        .rootfs(Rootfs::directory(rootfs))
        .read_only_root(true)
        .standard_mounts(false)
        .masked_paths(Vec::<String>::new())
        .readonly_paths(Vec::<String>::new())
        .mount(Mount::proc("/proc"))
        .spawn();
    match spawned.and_then(|mut c| c.wait()) {
        Ok(status) => ExitCode::from(status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0)) as u8),
        Err(e) => {
            eprintln!("minimal: {e}");
            ExitCode::from(125)
        }
    }
}
