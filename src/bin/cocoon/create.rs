//! `create` and `run`: a bundle's config.json through `cocoon::oci` into a builder, then a
//! created container (held before its program, `Plan::create_at`) whose first process is
//! our own child (`direct_child`), so that once we exit the engine's subreaper (conmon,
//! containerd's shim) adopts it and reaps it, as it does with runc.

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cocoon::oci::{builder_from_spec, Bundle, OciError};
use cocoon::{CgroupConfig, Container};

use crate::args::{CreateArgs, RunArgs};
use crate::hooks::{self, Phase};
use crate::state::{self, Record};
use crate::{Failure, Global};

/// What `linux.cgroupsPath` becomes: (parent, leaf), relative to the hierarchy roots.
/// Absent: `cocoon/<id>`. runc's `slice:prefix:name` form is systemd's (refused without a
/// systemd driver).
fn cgroup_place(path: Option<&Path>, id: &str) -> Result<(PathBuf, String), Failure> {
    let Some(p) = path else { return Ok((PathBuf::from(cocoon::cgroup::DEFAULT_PARENT), id.to_string())) };
    let text = p.to_string_lossy();
    if !text.starts_with('/') && text.matches(':').count() == 2 {
        return Err(Failure::msg(format!(
            "linux.cgroupsPath {text:?} is a systemd slice:prefix:name path, and cocoon has no systemd cgroup driver yet"
        )));
    }
    let rel: PathBuf = p.components().filter(|c| matches!(c, std::path::Component::Normal(_))).collect();
    let leaf = rel.file_name().and_then(|n| n.to_str()).map(String::from);
    let leaf = leaf.ok_or_else(|| Failure::msg(format!("linux.cgroupsPath {text:?} names no cgroup")))?;
    let parent = rel.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok((parent, leaf))
}

/// Converts the bundle and creates the container (held), recording its state. Returns the
/// handle (still owning the container: dropping it kills it) and its record.
fn create_held(g: &Global, a: &CreateArgs) -> Result<(Container, Record), Failure> {
    if g.systemd_cgroup {
        return Err(Failure::msg("--systemd-cgroup: cocoon has no systemd cgroup driver yet (use the cgroupfs manager)"));
    }
    let bundle_dir = std::fs::canonicalize(&a.bundle).map_err(|e| Failure::msg(format!("bundle {}: {e}", a.bundle.display())))?;
    let bundle = Bundle::load(&bundle_dir).map_err(oci)?;
    let conv = builder_from_spec(&bundle.spec, &bundle.dir, &a.id).map_err(oci)?;
    for w in &conv.warnings {
        g.warn(w);
    }
    if conv.terminal {
        return Err(match &a.console_socket {
            None => Failure::msg("process.terminal is set but no --console-socket was given (cannot allocate a tty for a detached container)"),
            Some(_) => Failure::msg("process.terminal: cocoon's console support (--console-socket) is not built yet; run without a tty"),
        });
    }
    if let Some(h) = &conv.hooks {
        hooks::check(h)?;
    }
    let mut b = conv.builder;
    let (parent, leaf) = cgroup_place(conv.cgroups_path.as_deref(), &a.id)?;
    let cg = b.get_cgroup().cloned().unwrap_or_else(CgroupConfig::new).parent(&parent).name(&leaf);
    b.set_cgroup(cg).set_id(&a.id).set_direct_child(true);
    for (dup, fd) in preserved_fds(a.preserve_fds)? {
        b.process_mut().add_fd(dup, fd);
    }
    let plan = b.prepare().map_err(|e| Failure::Cocoon(e.to_string()))?;
    let dir = state::make_dir(&g.root, &a.id)?;
    let made = (|| {
        let c = plan.create_at(state::start_socket(&g.root, &a.id)).map_err(|e| Failure::Cocoon(e.to_string()))?;
        let start_ticks = state::proc_stat(c.pid()).map(|(_, t)| t).unwrap_or(0);
        let rootfs = bundle.spec.root().as_ref().map(|r| r.path().clone()).unwrap_or_default();
        let rec = Record {
            id: a.id.clone(),
            pid: c.pid(),
            start_ticks,
            bundle: bundle.dir.clone(),
            rootfs: if rootfs.is_absolute() { rootfs } else { bundle.dir.join(rootfs) },
            created: state::now_rfc3339(),
            cgroup: c.cgroup_path().map(Path::to_path_buf).unwrap_or_else(|| parent.join(&leaf)),
            annotations: bundle.spec.annotations().as_ref().and_then(|a| serde_json::to_value(a).ok()).unwrap_or_else(|| serde_json::json!({})),
            oci_version: bundle.spec.version().clone(),
            hooks: conv.hooks.as_ref().and_then(|h| serde_json::to_value(h).ok()).unwrap_or(serde_json::Value::Null),
        };
        rec.save(&g.root)?;
        let mut c = c;
        if let Some((path, meta)) = &conv.seccomp_listener {
            let sup = c.take_seccomp_supervisor().ok_or_else(|| Failure::msg("the container's seccomp listener is missing"))?;
            crate::listener::send(path, meta, rec.to_json(&g.root), rec.pid, sup.into_fd())?;
        }
        if let Err(e) = hooks::run(&rec, Phase::Created) {
            // The container goes (dropping `c` kills it and removes its cgroup), then
            // poststop runs, as the spec's lifecycle continues at delete.
            drop(c);
            hooks::run_poststop(g, &rec);
            return Err(e);
        }
        if let Some(p) = &a.pid_file {
            state::write_atomic(p, rec.pid.to_string().as_bytes())?;
        }
        Ok((c, rec))
    })();
    if made.is_err() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    made
}

/// `--preserve-fds N`: our own copies of fds 3..3+N, each with the number it keeps in the
/// container (create's and exec's).
pub fn preserved_fds(n: u32) -> Result<Vec<(Arc<OwnedFd>, i32)>, Failure> {
    let mut v = Vec::new();
    for i in 0..n {
        let fd = 3 + i as i32;
        // SAFETY: fcntl(F_DUPFD_CLOEXEC) on a number the caller says it passes us; a fresh
        // copy that we own (or -1, for a number that is not open).
        let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
        if dup < 0 {
            return Err(Failure::msg(format!("--preserve-fds {n}: fd {fd} is not open")));
        }
        // SAFETY: just returned by fcntl, owned by nobody else.
        v.push((Arc::new(unsafe { OwnedFd::from_raw_fd(dup) }), fd));
    }
    Ok(v)
}

fn oci(e: OciError) -> Failure {
    Failure::msg(e.to_string())
}

pub fn create(g: &Global, a: &CreateArgs) -> Result<u8, Failure> {
    let (c, _) = create_held(g, a)?;
    // The container outlives us, held until `start`; our subreaper (or init) adopts it.
    c.detach();
    Ok(0)
}

pub fn run(g: &Global, a: &RunArgs) -> Result<u8, Failure> {
    let (mut c, rec) = create_held(g, &a.create)?;
    let started = c.start().map_err(|e| Failure::Cocoon(e.to_string())).and_then(|()| hooks::run(&rec, Phase::Poststart));
    if let Err(e) = started {
        drop(c);
        crate::manage::remove_state(g, &rec);
        hooks::run_poststop(g, &rec);
        return Err(e);
    }
    if a.detach {
        c.detach();
        return Ok(0);
    }
    let status = c.wait().map_err(|e| Failure::Cocoon(e.to_string()));
    if !a.keep {
        let _ = c.delete();
        crate::manage::remove_state(g, &rec);
        hooks::run_poststop(g, &rec);
    } else {
        c.detach();
    }
    let status = status?;
    Ok(match status.code() {
        Some(code) => code as u8,
        None => 128u8.wrapping_add(status.signal().unwrap_or(0) as u8),
    })
}
