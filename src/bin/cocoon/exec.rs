//! `exec`: runs another process in a running container, as `runc exec` (what `podman
//! exec` and containerd's `ctr task exec` call). The process comes from `--process`
//! (a process.json) or from the container's own process with the command line's args,
//! env, cwd and user; it runs under the container's seccomp profile (from the bundle's
//! config.json), joins what `RunningContainer::open` reads from the kernel, and is our
//! direct child, so that with `--detach` the engine's subreaper adopts and reaps it.

use std::io::Read;

use cocoon::container::RunningContainer;
use cocoon::oci::{exec_process_from_spec, Bundle};
use oci_spec::runtime::{Process as OciProcess, User};

use crate::args::ExecArgs;
use crate::state::{self, Record, Status};
use crate::{Failure, Global};

/// A process.json larger than this is refused.
const MAX_PROCESS: u64 = 1 << 20;

pub fn exec(g: &Global, a: &ExecArgs) -> Result<u8, Failure> {
    let rec = Record::load(&g.root, &a.id)?;
    match rec.status(&g.root) {
        Status::Running => {}
        s => return Err(Failure::msg(format!("cannot exec in a {} container", s.name()))),
    }
    if a.tty || a.console_socket.is_some() {
        return Err(Failure::msg("exec --tty / --console-socket: cocoon's console support is not built yet; run without a tty"));
    }
    let bundle = Bundle::load(&rec.bundle).map_err(|e| Failure::msg(e.to_string()))?;
    let oci = match &a.process {
        Some(p) => read_process(p)?,
        None => from_args(&bundle, a)?,
    };
    let (mut process, terminal, warnings) = exec_process_from_spec(&oci, &bundle.spec).map_err(|e| Failure::msg(e.to_string()))?;
    for w in &warnings {
        g.warn(w);
    }
    if terminal {
        return Err(Failure::msg("process.terminal: cocoon's console support is not built yet; run without a tty"));
    }
    for (dup, fd) in crate::create::preserved_fds(a.preserve_fds)? {
        process.add_fd(dup, fd);
    }
    let mut target = RunningContainer::open(rec.pid, Some(&rec.cgroup)).map_err(|e| Failure::Cocoon(format!("container {}: {e}", a.id)))?;
    // Checked once the pidfd pins the process: a reused pid is never joined.
    if !rec.alive() {
        return Err(Failure::msg(format!("container {} is stopped", a.id)));
    }
    target.direct_child(true);
    let mut p = target.exec(&process).map_err(|e| Failure::Cocoon(e.to_string()))?;
    // The container's profile notifies: this process's listener goes where the container's did.
    let seccomp = bundle.spec.linux().as_ref().and_then(|l| l.seccomp().as_ref());
    if let (Some(sup), Some(path)) = (p.take_seccomp_supervisor(), seccomp.and_then(|s| s.listener_path().as_ref())) {
        let meta = seccomp.and_then(|s| s.listener_metadata().clone()).unwrap_or_default();
        crate::listener::send(path, &meta, rec.to_json(&g.root), p.pid(), sup.into_fd())?;
    }
    if let Some(f) = &a.pid_file {
        state::write_atomic(f, p.pid().to_string().as_bytes())?;
    }
    if a.detach {
        p.detach();
        return Ok(0);
    }
    let status = p.wait().map_err(|e| Failure::Cocoon(e.to_string()))?;
    Ok(match status.code() {
        Some(code) => code as u8,
        None => 128u8.wrapping_add(status.signal().unwrap_or(0) as u8),
    })
}

fn read_process(p: &std::path::Path) -> Result<OciProcess, Failure> {
    let mut text = String::new();
    std::fs::File::open(p)
        .and_then(|f| f.take(MAX_PROCESS + 1).read_to_string(&mut text))
        .map_err(|e| Failure::msg(format!("{}: {e}", p.display())))?;
    if text.len() as u64 > MAX_PROCESS {
        return Err(Failure::msg(format!("{}: larger than {MAX_PROCESS} bytes", p.display())));
    }
    serde_json::from_str(&text).map_err(|e| Failure::msg(format!("{}: {e}", p.display())))
}

/// The container's own process with the command line's args, env, cwd and user (as runc).
fn from_args(bundle: &Bundle, a: &ExecArgs) -> Result<OciProcess, Failure> {
    if a.command.is_empty() {
        return Err(Failure::msg("exec: give a command or --process"));
    }
    let mut p = bundle.spec.process().clone().unwrap_or_default();
    p.set_args(Some(a.command.clone()));
    p.set_terminal(Some(false));
    if !a.env.is_empty() {
        let mut env = p.env().clone().unwrap_or_default();
        env.extend(a.env.iter().cloned());
        p.set_env(Some(env));
    }
    if let Some(c) = &a.cwd {
        p.set_cwd(c.clone());
    }
    if let Some(u) = &a.user {
        let bad = || Failure::msg(format!("--user {u:?}: expected uid[:gid]"));
        let (uid, gid) = match u.split_once(':') {
            Some((u, g)) => (u.parse().map_err(|_| bad())?, g.parse().map_err(|_| bad())?),
            None => (u.parse().map_err(|_| bad())?, 0),
        };
        let mut user = User::default();
        user.set_uid(uid);
        user.set_gid(gid);
        p.set_user(user);
    }
    Ok(p)
}
