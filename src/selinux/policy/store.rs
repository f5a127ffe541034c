//! Installing and removing generated modules with `semodule`.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use super::validate_policy_name;
use crate::selinux::SelinuxError;

/// The store's name of policy `name`'s module: `cocoon_NAME`.
pub fn module_name(name: &str) -> String {
    format!("cocoon_{name}")
}

/// Runs `semodule [-p store -n] ARGS`.
fn semodule(store: Option<&Path>, args: &[&std::ffi::OsStr]) -> Result<(), SelinuxError> {
    let mut cmd = Command::new("semodule");
    if let Some(root) = store {
        // -n: rebuild the store's policy but never load it into the kernel.
        cmd.arg("-p").arg(root).arg("-n");
    }
    cmd.args(args);
    let shown = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| SelinuxError::Io {
        op: "run semodule",
        path: PathBuf::from("semodule"),
        source: e,
    })?;
    if out.status.success() {
        return Ok(());
    }
    Err(SelinuxError::Semodule {
        command: shown,
        status: out.status.to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    })
}

/// A private temporary directory (0700), removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, SelinuxError> {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "cocoon-policy-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::DirBuilder::new().mode(0o700).create(&p).map_err(|e| SelinuxError::Io {
            op: "mkdir",
            path: p.clone(),
            source: e,
        })?;
        Ok(TempDir(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(super) fn install(module: &str, cil: &str, store: Option<&Path>) -> Result<(), SelinuxError> {
    let dir = TempDir::new()?;
    // semodule names the module after the file.
    let file = dir.0.join(format!("{module}.cil"));
    let io = |e| SelinuxError::Io { op: "write", path: file.clone(), source: e };
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&file).map_err(io)?;
    f.write_all(cil.as_bytes()).map_err(io)?;
    drop(f);
    semodule(store, &["-i".as_ref(), file.as_os_str()])
}

/// Removes policy `name`'s module (`semodule [-p store -n] -r cocoon_NAME`). A bad name is
/// [`SelinuxError::InvalidConfig`] and runs nothing.
pub fn remove(name: &str, store: Option<&Path>) -> Result<(), SelinuxError> {
    validate_policy_name(name)?;
    let module = module_name(name);
    semodule(store, &["-r".as_ref(), module.as_ref()])
}
