//! SELinux: typed contexts, MCS levels, process/mount/file labels.
//!
//! # What a labelled container looks like
//!
//! Its processes run as `system_u:system_r:container_t:s0:cA,cB` and its files carry
//! `system_u:object_r:container_file_t:s0:cA,cB`, where the MCS pair `cA,cB` (A < B) is
//! unique per container ([`mcs::McsAllocator`]). The policy's MCS constraint then keeps a
//! container away from the files and processes of every other container, while content
//! labelled at plain `s0` stays readable by all of them. The types come from the policy's
//! `contexts/lxc_contexts` ([`lxc::LxcContexts`]), or default to `container_t` /
//! `container_file_t`; [`SelinuxConfig`] overrides any part.
//!
//! # SELinux disabled
//!
//! [`selinux_enabled`] is true only when selinuxfs is mounted read-write and our own label
//! is not `kernel`. When it is false, every labelling call here is a **no-op that says
//! so**: [`SelinuxConfig`]'s plan has no labels, [`relabel`] and [`set_file_label`] return
//! [`Applied::Skipped`], and no `context=` mount option is produced. Nothing errors —
//! unless [`SelinuxConfig::require`] was set, which turns the no-op into
//! [`SelinuxError::NotEnabled`]. Syntax errors in the configuration are reported either way.
//!
//! # How the label is applied
//!
//! Everything is computed in the parent before the clone (`SelinuxConfig::prepare`): the
//! labels are checked against the loaded policy there, so a bogus type fails before any
//! child exists. Between clone and exec the child writes the exec label to
//! `/proc/thread-self/attr/exec` through a procfs fd it verified (`fstatfs` ==
//! `PROC_SUPER_MAGIC`), so the label takes effect at `execve`. `tmpfs`, `devpts` and
//! overlay mounts get [`mount_option`] (`context="..."`); `mqueue` is labelled with
//! [`set_file_label`]; `proc` and `sysfs` are never labelled by us.
//!
//! # NO_NEW_PRIVS and the domain transition
//!
//! With `PR_SET_NO_NEW_PRIVS` set (cocoon's default, see `Process::no_new_privs`) the
//! kernel refuses an exec that changes the SELinux domain unless the policy allows
//! `process2 { nnp_transition }` from the caller's domain to the container's (or the new
//! domain is bounded by the old one); `execve` then fails with `EPERM` at the exec stage.
//! cocoon does not choose for the caller: either the policy grants `nnp_transition` (the
//! usual container policies do), or the caller turns no_new_privs off for that process.
//! [`exec_error_hint`] gives the text to attach to such an error.
//!
//! # Bind mounts
//!
//! A host directory bound into a container must carry a label the container can use:
//! [`relabel`] with [`Sharing::Shared`] (`z`, level `s0`, every container) or
//! [`Sharing::Private`] (`Z`, the container's own level). System directories are refused.

use std::ffi::CString;
use std::io;
use std::path::PathBuf;

pub mod context;
pub mod detect;
pub mod label;
pub mod level;
pub mod lxc;
pub mod mcs;
pub mod policy;

pub use context::SecurityContext;
pub use detect::{policy_root, selinux_enabled};
pub use label::{
    accepts_context_option, label_method, mount_option, relabel, set_file_label, LabelMethod, Recursive, Sharing,
};
pub use level::{CategorySet, Level, MlsRange};
pub use lxc::LxcContexts;
pub use mcs::{McsAllocator, McsRange, Reservation};
pub use policy::ContainerPolicy;

/// Why an SELinux operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SelinuxError {
    /// A context string is malformed.
    #[error("invalid SELinux context {context:?}: {reason}")]
    InvalidContext {
        /// The text given.
        context: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A level, range or category is malformed.
    #[error("invalid SELinux level {level:?}: {reason}")]
    InvalidLevel {
        /// The text given.
        level: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The SELinux settings contradict each other.
    #[error("invalid SELinux configuration: {0}")]
    InvalidConfig(String),

    /// SELinux labels were required ([`SelinuxConfig::require`]) but SELinux is disabled
    /// on this host (or a policy check was asked for without it).
    #[error("SELinux is required but not enabled on this host (no read-write selinuxfs, or no policy loaded)")]
    NotEnabled,

    /// The loaded policy rejects a context.
    #[error(
        "SELinux context {context:?} is not valid in the loaded policy: the policy does not \
         define that user, role or type, or does not allow them together at that level \
         (is the policy module defining the type loaded?)"
    )]
    NotInPolicy {
        /// The rejected context.
        context: String,
        /// The errno of the check, if any.
        errno: Option<i32>,
    },

    /// Every MCS pair of the range is held by a live container.
    #[error(
        "no free MCS level: all {pairs} category pairs of c{first}..c{last} are reserved (state in {dir})",
        dir = .dir.display()
    )]
    McsExhausted {
        /// First category of the range.
        first: u16,
        /// Last category of the range.
        last: u16,
        /// How many pairs the range has.
        pairs: u64,
        /// The state directory.
        dir: PathBuf,
    },

    /// The requested level is held by another live container.
    #[error("SELinux level {level} is already reserved by another container")]
    LevelInUse {
        /// The level asked for.
        level: String,
    },

    /// `lxc_contexts` holds a line that cannot be parsed.
    #[error("malformed lxc_contexts {path}:{line}: {reason}", path = .path.display())]
    LxcContexts {
        /// The file (empty when parsed from text).
        path: PathBuf,
        /// 1-based line number (0: a value checked after parsing).
        line: usize,
        /// What is wrong.
        reason: String,
    },

    /// Relabelling this path is refused (a system directory, or an ancestor of one).
    #[error("refusing to relabel {path}: {reason}", path = .path.display())]
    RelabelRefused {
        /// The path given.
        path: PathBuf,
        /// Why.
        reason: String,
    },

    /// `semodule` failed (installing or removing a generated policy module).
    #[error("{command} failed ({status}): {stderr}")]
    Semodule {
        /// The command line.
        command: String,
        /// How it ended.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },

    /// A file operation failed.
    #[error("{op} failed for {path}: {source}", path = .path.display())]
    Io {
        /// The operation.
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

impl SelinuxError {
    /// The OS error number, if any.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            SelinuxError::Io { source, .. } => source.raw_os_error(),
            SelinuxError::NotInPolicy { errno, .. } => *errno,
            _ => None,
        }
    }
}

/// What a labelling call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Labels were applied: `changed` files got a new label, `unchanged` already had it.
    Done {
        /// Files whose label was written.
        changed: u64,
        /// Files that already carried the label.
        unchanged: u64,
    },
    /// SELinux is disabled on this host: nothing was done (by design, not an error).
    Skipped,
}

impl Applied {
    /// Whether the call was skipped because SELinux is disabled.
    pub fn is_skipped(&self) -> bool {
        matches!(self, Applied::Skipped)
    }
}

/// The text explaining an `execve` failure of a labelled process, if `errno` fits the
/// NO_NEW_PRIVS case (`EPERM` with no_new_privs on): the core attaches it to the exec
/// stage error.
pub fn exec_error_hint(errno: i32, no_new_privs: bool) -> Option<&'static str> {
    (errno == libc::EPERM && no_new_privs).then_some(
        "the SELinux domain transition was refused because no_new_privs is set: the policy \
         must allow `process2 { nnp_transition }` into the container type, or run the \
         process with no_new_privs(false)",
    )
}

/// SELinux settings of a container. All fields are optional: by default the process runs
/// as the policy's `lxc_contexts` `process` label (or `system_u:system_r:container_t`),
/// its files use `file` (or `system_u:object_r:container_file_t`), at a fresh unique MCS
/// level from the host-wide allocator (`/run/cocoon/mcs`).
///
/// ```
/// use cocoon::selinux::{Level, SelinuxConfig};
/// let cfg = SelinuxConfig::new()
///     .process_type("container_t")
///     .level("s0:c7,c42".parse::<Level>()?)
///     .require(false);
/// # Ok::<(), cocoon::selinux::SelinuxError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelinuxConfig {
    user: Option<String>,
    role: Option<String>,
    process_type: Option<String>,
    file_type: Option<String>,
    level: Option<Level>,
    shared_level: Option<Level>,
    mount_label: Option<String>,
    require: bool,
    mcs_range: McsRange,
    state_dir: Option<PathBuf>,
    policy_root: Option<PathBuf>,
}

/// What the spawn engine needs, computed before the clone. All labels are `None` when
/// SELinux is disabled.
#[derive(Debug, Default)]
pub(crate) struct SelinuxPlan {
    /// Written (without the NUL) to `/proc/thread-self/attr/exec` right before exec.
    pub(crate) exec_label: Option<CString>,
    /// Added as `context="..."` ([`mount_option`]) to tmpfs/devpts/overlay mounts, and
    /// set with `setxattr` on the mqueue root.
    pub(crate) mount_label: Option<CString>,
    /// The container's file label, for [`relabel`] of bind sources (`Z`/`z`).
    pub(crate) file_label: Option<String>,
    /// The MCS level held for the container: keep it alive as long as the container
    /// (store it in the `Container`); dropping it releases the level.
    pub(crate) reservation: Option<Reservation>,
}

impl SelinuxConfig {
    /// The defaults (see the type's documentation).
    pub fn new() -> SelinuxConfig {
        SelinuxConfig::default()
    }

    /// The SELinux user of the process and files (default from the policy: `system_u`).
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// The role of the process (default `system_r`; files keep `object_r`).
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.role = Some(role.into());
        self
    }

    /// The process type (default `container_t`).
    pub fn process_type(mut self, ty: impl Into<String>) -> Self {
        self.process_type = Some(ty.into());
        self
    }

    /// The file type of the container's mounts and relabelled content (default
    /// `container_file_t`).
    pub fn file_type(mut self, ty: impl Into<String>) -> Self {
        self.file_type = Some(ty.into());
        self
    }

    /// Runs at exactly this level, reserved exclusively (fails with
    /// [`SelinuxError::LevelInUse`] if a live container holds it).
    pub fn level(mut self, level: Level) -> Self {
        self.level = Some(level);
        self
    }

    /// Runs at this level, shared with the other containers that ask for it (a pod). The
    /// level stays reserved until the last of them goes.
    pub fn shared_level(mut self, level: Level) -> Self {
        self.shared_level = Some(level);
        self
    }

    /// The full label of the container's tmpfs/devpts/overlay mounts (default: the file
    /// label at the container's level).
    pub fn mount_label(mut self, label: impl Into<String>) -> Self {
        self.mount_label = Some(label.into());
        self
    }

    /// Whether SELinux must be enabled (default false: on a host without SELinux the
    /// container runs unlabelled). With true, spawning on such a host fails with
    /// [`SelinuxError::NotEnabled`].
    pub fn require(mut self, yes: bool) -> Self {
        self.require = yes;
        self
    }

    /// The categories MCS pairs are drawn from (default c0..c1023).
    pub fn mcs_range(mut self, range: McsRange) -> Self {
        self.mcs_range = range;
        self
    }

    /// Where MCS reservations are recorded (default `/run/cocoon/mcs`). Every process
    /// that must not collide has to use the same directory.
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    /// The policy root holding `contexts/lxc_contexts` (default from
    /// `/etc/selinux/config`: `/etc/selinux/<SELINUXTYPE>`).
    pub fn policy_root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.policy_root = Some(dir.into());
        self
    }

    /// The allocator this configuration uses.
    pub fn allocator(&self) -> McsAllocator {
        McsAllocator::new(
            self.state_dir.clone().unwrap_or_else(|| PathBuf::from(mcs::DEFAULT_STATE_DIR)),
            self.mcs_range,
        )
    }

    /// Checks the syntax of every override (needs no SELinux).
    pub fn validate(&self) -> Result<(), SelinuxError> {
        for (what, v) in [
            ("user", &self.user),
            ("role", &self.role),
            ("process type", &self.process_type),
            ("file type", &self.file_type),
        ] {
            if let Some(v) = v {
                context::validate_name(what, v).map_err(SelinuxError::InvalidConfig)?;
            }
        }
        if let Some(m) = &self.mount_label {
            m.parse::<SecurityContext>()?;
        }
        if self.level.is_some() && self.shared_level.is_some() {
            return Err(SelinuxError::InvalidConfig("level() and shared_level() exclude each other: pick one".into()));
        }
        Ok(())
    }

    /// The base (level-less) process and file labels: `lxc_contexts` (or the built-in
    /// defaults) with the overrides applied.
    fn base_labels(&self, defaults: &LxcContexts) -> Result<(SecurityContext, SecurityContext), SelinuxError> {
        let mut process = defaults.process()?;
        let mut file = defaults.file()?;
        if let Some(u) = &self.user {
            process = process.with_user(u)?;
            file = file.with_user(u)?;
        }
        if let Some(r) = &self.role {
            process = process.with_role(r)?;
        }
        if let Some(t) = &self.process_type {
            process = process.with_type(t)?;
        }
        if let Some(t) = &self.file_type {
            file = file.with_type(t)?;
        }
        Ok((process, file))
    }

    /// The (process, file, mount) labels at `level`.
    pub(crate) fn labels_at(
        &self,
        defaults: &LxcContexts,
        level: &Level,
    ) -> Result<(SecurityContext, SecurityContext, SecurityContext), SelinuxError> {
        self.validate()?;
        let (process, file) = self.base_labels(defaults)?;
        let (process, file) = (process.with_range(*level), file.with_range(*level));
        let mount = match &self.mount_label {
            Some(m) => m.parse()?,
            None => file.clone(),
        };
        Ok((process, file, mount))
    }

    fn defaults(&self) -> Result<LxcContexts, SelinuxError> {
        let found = match &self.policy_root {
            Some(root) => LxcContexts::load_from_root(root)?,
            None => LxcContexts::load_system()?,
        };
        Ok(found.unwrap_or_default())
    }

    /// Resolves the labels and reserves the MCS level of container `container_id`, before
    /// any child exists. When SELinux is disabled: an empty plan (or
    /// [`SelinuxError::NotEnabled`] with [`SelinuxConfig::require`]). When it is enabled,
    /// every label is checked against the loaded policy here, so a bogus type fails now.
    pub(crate) fn prepare(&self, container_id: &str) -> Result<SelinuxPlan, SelinuxError> {
        self.validate()?;
        if !selinux_enabled() {
            if self.require {
                return Err(SelinuxError::NotEnabled);
            }
            return Ok(SelinuxPlan::default());
        }
        let defaults = self.defaults()?;
        // Check the labels at s0 first: a bogus type fails before anything is reserved.
        let (p0, f0, m0) = self.labels_at(&defaults, &Level::S0)?;
        for c in [&p0, &f0] {
            c.check_in_policy()?;
        }
        if self.mount_label.is_some() {
            m0.check_in_policy()?;
        }
        let alloc = self.allocator();
        let reservation = match (&self.level, &self.shared_level) {
            (Some(l), _) => alloc.reserve(*l, container_id)?,
            (None, Some(l)) => alloc.share(*l, container_id)?,
            (None, None) => alloc.allocate(container_id)?,
        };
        // On any error below, dropping `reservation` releases the level again.
        let (process, file, mount) = self.labels_at(&defaults, reservation.level())?;
        process.check_in_policy()?;
        file.check_in_policy()?;
        mount.check_in_policy()?;
        Ok(SelinuxPlan {
            exec_label: Some(process.to_cstring()),
            mount_label: Some(mount.to_cstring()),
            file_label: Some(file.to_string()),
            reservation: Some(reservation),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cocoon-selinux-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn selinux_labels_compose_with_overrides() {
        let lvl: Level = "s0:c5,c900".parse().unwrap();
        let defaults = LxcContexts::default();
        let (p, f, m) = SelinuxConfig::new().labels_at(&defaults, &lvl).unwrap();
        assert_eq!(p.to_string(), "system_u:system_r:container_t:s0:c5,c900");
        assert_eq!(f.to_string(), "system_u:object_r:container_file_t:s0:c5,c900");
        assert_eq!(m, f);

        let lxc = LxcContexts::parse(
            "process = \"system_u:system_r:svirt_lxc_net_t:s0\"\nfile = \"system_u:object_r:svirt_sandbox_file_t:s0\"\n",
        )
        .unwrap();
        let (p, f, _) = SelinuxConfig::new().labels_at(&lxc, &lvl).unwrap();
        assert_eq!(p.type_(), "svirt_lxc_net_t");
        assert_eq!(f.type_(), "svirt_sandbox_file_t");

        let cfg = SelinuxConfig::new()
            .user("staff_u")
            .role("staff_r")
            .process_type("my_container_t")
            .file_type("my_file_t")
            .mount_label("system_u:object_r:other_t:s0:c1,c2");
        let (p, f, m) = cfg.labels_at(&lxc, &lvl).unwrap();
        assert_eq!(p.to_string(), "staff_u:staff_r:my_container_t:s0:c5,c900");
        assert_eq!(f.to_string(), "staff_u:object_r:my_file_t:s0:c5,c900");
        assert_eq!(m.to_string(), "system_u:object_r:other_t:s0:c1,c2");
    }

    #[test]
    fn selinux_config_validation_errors() {
        let lvl = Level::S0;
        for cfg in [
            SelinuxConfig::new().process_type("bad type"),
            SelinuxConfig::new().user("u:x"),
            SelinuxConfig::new().role(""),
            SelinuxConfig::new().file_type("9lives"),
            SelinuxConfig::new().mount_label("not-a-context"),
            SelinuxConfig::new().level(lvl).shared_level(lvl),
        ] {
            let e = cfg.validate().unwrap_err();
            assert!(e.to_string().contains("invalid SELinux"), "{e}");
            // prepare reports syntax errors even with SELinux disabled
            assert!(cfg.prepare("c1").is_err());
            assert!(cfg.labels_at(&LxcContexts::default(), &lvl).is_err());
        }
    }

    #[test]
    fn selinux_disabled_prepare_is_a_noop() {
        if selinux_enabled() {
            return; // in the VM the enabled path is tested by tests/vm_selinux.rs
        }
        let dir = tmpdir("noop");
        let cfg = SelinuxConfig::new().state_dir(&dir).process_type("container_t");
        let plan = cfg.prepare("noop").unwrap();
        assert!(plan.exec_label.is_none() && plan.mount_label.is_none());
        assert!(plan.file_label.is_none() && plan.reservation.is_none());
        // nothing reserved, nothing left behind
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        let e = cfg.clone().require(true).prepare("noop").unwrap_err();
        assert!(matches!(e, SelinuxError::NotEnabled), "{e:?}");
        assert!(e.to_string().contains("not enabled"), "{e}");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn selinux_exec_hint() {
        assert!(exec_error_hint(libc::EPERM, true).unwrap().contains("nnp_transition"));
        assert!(exec_error_hint(libc::EPERM, false).is_none());
        assert!(exec_error_hint(libc::ENOENT, true).is_none());
    }

    /// The relabel walk on the real kernel. Without SELinux, ext4 still stores
    /// `security.*` xattrs, so the walk (not the policy) is tested for real here.
    #[test]
    fn selinux_relabel_walk_on_real_xattrs() {
        let dir = tmpdir("walk");
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        std::fs::write(dir.join("a/f1"), b"x").unwrap();
        std::fs::write(dir.join("a/b/f2"), b"x").unwrap();
        let outside = tmpdir("walk-outside");
        std::fs::write(outside.join("target"), b"x").unwrap();
        std::os::unix::fs::symlink(outside.join("target"), dir.join("a/link")).unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("a/dirlink")).unwrap();
        let label = "system_u:object_r:container_file_t:s0:c1,c2";
        let r = label::relabel_tree(&dir, label, Recursive::Yes).unwrap();
        // dir, a, b, f1, f2, link, dirlink
        assert_eq!(r, Applied::Done { changed: 7, unchanged: 0 });
        let get =
            |p: &std::path::Path| label::get_label(&CString::new(p.as_os_str().as_encoded_bytes()).unwrap()).unwrap();
        assert_eq!(get(&dir.join("a/b/f2")).as_deref(), Some(label.as_bytes()));
        assert_eq!(get(&dir.join("a/link")).as_deref(), Some(label.as_bytes()));
        // symlink targets were not followed
        assert_eq!(get(&outside.join("target")), None);
        assert_eq!(get(&outside), None);
        // second run: everything already right
        let r = label::relabel_tree(&dir, label, Recursive::Yes).unwrap();
        assert_eq!(r, Applied::Done { changed: 0, unchanged: 7 });
        // non-recursive touches only the top
        let r = label::relabel_tree(&dir, "system_u:object_r:container_file_t:s0", Recursive::No).unwrap();
        assert_eq!(r, Applied::Done { changed: 1, unchanged: 0 });
        // the public call is a no-op on a host without SELinux
        if !selinux_enabled() {
            assert_eq!(relabel(&dir, label, Recursive::Yes, Sharing::Private).unwrap(), Applied::Skipped);
            assert_eq!(set_file_label(&dir, label).unwrap(), Applied::Skipped);
            assert_eq!(get(&dir).as_deref(), Some(&b"system_u:object_r:container_file_t:s0"[..]));
        }
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::remove_dir_all(&outside).unwrap();
    }
}
