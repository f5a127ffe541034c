//! An image's config as a container's defaults: Entrypoint/Cmd, Env, WorkingDir, User —
//! and [`ContainerBuilder::image`], which runs a container from an image of a store.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use oci_spec::image::ImageConfiguration;

use super::ImageStore;
use crate::builder::ContainerBuilder;
use crate::process::{Process, User};
use crate::rootfs::Rootfs;

/// What an image's config says a container runs by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageDefaults {
    /// `Entrypoint`.
    pub entrypoint: Vec<String>,
    /// `Cmd`.
    pub cmd: Vec<String>,
    /// `Env`, as `KEY=value` strings.
    pub env: Vec<String>,
    /// `WorkingDir` (empty: none).
    pub working_dir: String,
    /// `User` (`name`, `uid`, `name:group`, `uid:gid`; empty: none).
    pub user: String,
}

impl ImageDefaults {
    pub(crate) fn from_config(c: &ImageConfiguration) -> ImageDefaults {
        let Some(cfg) = c.config() else { return ImageDefaults::default() };
        ImageDefaults {
            entrypoint: cfg.entrypoint().clone().unwrap_or_default(),
            cmd: cfg.cmd().clone().unwrap_or_default(),
            env: cfg.env().clone().unwrap_or_default(),
            working_dir: cfg.working_dir().clone().unwrap_or_default(),
            user: cfg.user().clone().unwrap_or_default(),
        }
    }

    /// The image's user as a [`User`], names resolved in the image's own `/etc/passwd`
    /// and `/etc/group` (read in-root from `layers`, top-most first; see
    /// [`crate::image_file`]). `None` when the image names none.
    pub fn resolve_user(&self, layers: &[PathBuf]) -> crate::Result<Option<User>> {
        let spec = self.user.trim();
        if spec.is_empty() {
            return Ok(None);
        }
        let (u, g) = match spec.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (spec, None),
        };
        let roots: Vec<&Path> = layers.iter().map(PathBuf::as_path).collect();
        if g.is_none() && u.parse::<u32>().is_err() {
            // A name alone: the planner looks it up (with its supplementary groups).
            return Ok(Some(User::Name(u.to_string())));
        }
        let passwd = crate::image_file::read_first_in_roots(&roots, "etc/passwd")?.unwrap_or_default();
        let passwd = String::from_utf8_lossy(&passwd);
        let entry = |pred: &dyn Fn(&[&str]) -> bool| {
            passwd.lines().map(|l| l.split(':').collect::<Vec<_>>()).find(|f| f.len() >= 4 && pred(f))
        };
        let (uid, pw_gid) = match u.parse::<u32>() {
            Ok(uid) => (uid, entry(&|f| f[2] == u).and_then(|f| f[3].parse().ok()).unwrap_or(0)),
            Err(_) => match entry(&|f| f[0] == u) {
                Some(f) => match (f[2].parse(), f[3].parse()) {
                    (Ok(a), Ok(b)) => (a, b),
                    _ => return Err(crate::Error::invalid("image user", format!("{u:?} has a malformed passwd entry"))),
                },
                None => return Err(crate::Error::invalid("image user", format!("{u:?} is not in the image's /etc/passwd"))),
            },
        };
        let gid = match g {
            None => pw_gid,
            Some(g) => match g.parse::<u32>() {
                Ok(gid) => gid,
                Err(_) => {
                    let group = crate::image_file::read_first_in_roots(&roots, "etc/group")?.unwrap_or_default();
                    String::from_utf8_lossy(&group)
                        .lines()
                        .map(|l| l.split(':').collect::<Vec<_>>())
                        .find(|f| f.len() >= 3 && f[0] == g)
                        .and_then(|f| f[2].parse().ok())
                        .ok_or_else(|| crate::Error::invalid("image user", format!("group {g:?} is not in the image's /etc/group")))?
                }
            },
        };
        Ok(Some(User::Id { uid, gid, groups: Vec::new() }))
    }

    /// Applies these defaults to `p` where it has its own defaults: an empty program
    /// becomes Entrypoint + Cmd (a program given replaces both, like `--entrypoint`);
    /// Env fills the variables `p` does not set; WorkingDir replaces a cwd of `/`; User
    /// replaces uid 0 / gid 0 without groups.
    pub fn apply(&self, p: &mut Process, layers: &[PathBuf]) -> crate::Result<()> {
        if p.program.is_empty() {
            let mut argv = self.entrypoint.iter().chain(&self.cmd);
            let Some(program) = argv.next() else {
                return Err(crate::Error::invalid("image", "no program given and the image has no Entrypoint or Cmd"));
            };
            let rest: Vec<OsString> = argv.map(OsString::from).chain(p.args.drain(..)).collect();
            p.program = program.into();
            p.args = rest;
        }
        let own: std::collections::HashSet<OsString> = p.env.iter().map(|(k, _)| k.to_os_string()).collect();
        let mut env = crate::config::env::EnvVars::default();
        for kv in &self.env {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            if !own.contains(std::ffi::OsStr::new(k)) {
                env.set(k.into(), v.into());
            }
        }
        for (k, v) in p.env.iter() {
            env.set(k.to_os_string(), v.to_os_string());
        }
        p.env = env;
        if !self.working_dir.is_empty() && p.cwd == Path::new("/") {
            p.cwd = PathBuf::from(&self.working_dir);
        }
        if p.user == User::default() {
            if let Some(u) = self.resolve_user(layers)? {
                p.user = u;
            }
        }
        Ok(())
    }
}

impl ContainerBuilder {
    /// Runs the container from the image `reference` of `store`: its layers become the
    /// root ([`Rootfs::Image`]: shared read-only lowers and a fresh writable layer per
    /// container, removed with it), and its config the process's defaults
    /// ([`ImageDefaults::apply`]: give the program as `""` to run the image's
    /// Entrypoint + Cmd). Settings made after this call override the image's.
    pub fn image(mut self, store: &ImageStore, reference: &str) -> crate::Result<Self> {
        self.set_image(store, reference)?;
        Ok(self)
    }

    /// As [`ContainerBuilder::image`], in place.
    pub fn set_image(&mut self, store: &ImageStore, reference: &str) -> crate::Result<&mut Self> {
        let rootfs = store.rootfs(reference)?;
        store.defaults(reference)?.apply(self.process_mut(), rootfs.layers())?;
        self.set_rootfs(Rootfs::Image(rootfs));
        Ok(self)
    }
}
