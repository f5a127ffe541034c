//! The program a container (or an exec into it) runs, and everything about how it runs.

use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;

use std::os::unix::ffi::OsStrExt;

use crate::capability::Capabilities;
use crate::error::{Error, Result};

/// Where one of the standard streams goes.
#[derive(Debug, Clone, Default)]
pub enum Stdio {
    /// The caller's own stream (the default).
    #[default]
    Inherit,
    /// `/dev/null`.
    Null,
    /// A pipe whose other end the caller gets from the container handle.
    Piped,
    /// A file descriptor the caller owns (it is duplicated; the caller keeps its copy).
    Fd(Arc<OwnedFd>),
}

/// Which user the program runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum User {
    /// Numeric ids, as seen inside the container.
    Id {
        /// User id.
        uid: u32,
        /// Primary group id.
        gid: u32,
        /// Supplementary group ids.
        groups: Vec<u32>,
    },
    /// A user name, looked up in the container's `/etc/passwd` (and its groups in
    /// `/etc/group`) before the container starts.
    Name(String),
}

impl Default for User {
    fn default() -> Self {
        User::Id { uid: 0, gid: 0, groups: Vec::new() }
    }
}

/// A resource limit (`setrlimit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rlimit {
    /// Address space (bytes).
    As,
    /// Core file size (bytes).
    Core,
    /// CPU time (seconds).
    Cpu,
    /// Data segment (bytes).
    Data,
    /// File size (bytes).
    Fsize,
    /// Locked memory (bytes).
    Memlock,
    /// File locks and leases.
    Locks,
    /// Message queue bytes.
    Msgqueue,
    /// Nice ceiling.
    Nice,
    /// Open files.
    Nofile,
    /// Processes/threads of the user.
    Nproc,
    /// Resident set (ignored by modern kernels).
    Rss,
    /// Real-time priority ceiling.
    Rtprio,
    /// Real-time CPU time (microseconds).
    Rttime,
    /// Pending signals.
    Sigpending,
    /// Stack size (bytes).
    Stack,
}

impl Rlimit {
    // The constants are u32 on glibc but c_int on musl: keep the cast.
    #[allow(clippy::unnecessary_cast)]
    pub(crate) fn resource(self) -> u32 {
        (match self {
            Rlimit::As => libc::RLIMIT_AS,
            Rlimit::Core => libc::RLIMIT_CORE,
            Rlimit::Cpu => libc::RLIMIT_CPU,
            Rlimit::Data => libc::RLIMIT_DATA,
            Rlimit::Fsize => libc::RLIMIT_FSIZE,
            Rlimit::Memlock => libc::RLIMIT_MEMLOCK,
            Rlimit::Locks => libc::RLIMIT_LOCKS,
            Rlimit::Msgqueue => libc::RLIMIT_MSGQUEUE,
            Rlimit::Nice => libc::RLIMIT_NICE,
            Rlimit::Nofile => libc::RLIMIT_NOFILE,
            Rlimit::Nproc => libc::RLIMIT_NPROC,
            Rlimit::Rss => libc::RLIMIT_RSS,
            Rlimit::Rtprio => libc::RLIMIT_RTPRIO,
            Rlimit::Rttime => libc::RLIMIT_RTTIME,
            Rlimit::Sigpending => libc::RLIMIT_SIGPENDING,
            Rlimit::Stack => libc::RLIMIT_STACK,
        }) as u32
    }

    /// The conventional name, e.g. `RLIMIT_NOFILE`.
    pub fn name(self) -> &'static str {
        match self {
            Rlimit::As => "RLIMIT_AS",
            Rlimit::Core => "RLIMIT_CORE",
            Rlimit::Cpu => "RLIMIT_CPU",
            Rlimit::Data => "RLIMIT_DATA",
            Rlimit::Fsize => "RLIMIT_FSIZE",
            Rlimit::Memlock => "RLIMIT_MEMLOCK",
            Rlimit::Locks => "RLIMIT_LOCKS",
            Rlimit::Msgqueue => "RLIMIT_MSGQUEUE",
            Rlimit::Nice => "RLIMIT_NICE",
            Rlimit::Nofile => "RLIMIT_NOFILE",
            Rlimit::Nproc => "RLIMIT_NPROC",
            Rlimit::Rss => "RLIMIT_RSS",
            Rlimit::Rtprio => "RLIMIT_RTPRIO",
            Rlimit::Rttime => "RLIMIT_RTTIME",
            Rlimit::Sigpending => "RLIMIT_SIGPENDING",
            Rlimit::Stack => "RLIMIT_STACK",
        }
    }
}

/// The program to run and how: like `std::process::Command`, but for a container.
///
/// The environment starts empty (nothing leaks from the host) and `no_new_privs` is on.
#[derive(Debug, Clone)]
pub struct Process {
    pub(crate) program: OsString,
    pub(crate) args: Vec<OsString>,
    pub(crate) env: crate::config::env::EnvVars,
    pub(crate) cwd: PathBuf,
    pub(crate) user: User,
    pub(crate) capabilities: Capabilities,
    pub(crate) no_new_privs: bool,
    pub(crate) rlimits: Vec<(Rlimit, u64, u64)>,
    pub(crate) umask: Option<u32>,
    pub(crate) oom_score_adj: Option<i32>,
    pub(crate) stdin: Stdio,
    pub(crate) stdout: Stdio,
    pub(crate) stderr: Stdio,
    pub(crate) fds: Vec<(Arc<OwnedFd>, i32)>,
    pub(crate) seccomp: Option<crate::seccomp::Seccomp>,
    pub(crate) default_seccomp: bool,
    pub(crate) seccomp_profile: Option<crate::seccomp::Profile>,
    /// A Docker JSON profile, resolved against the bounding set at plan time.
    pub(crate) seccomp_json: Option<std::sync::Arc<[u8]>>,
    pub(crate) seccomp_programs: Option<std::sync::Arc<crate::seccomp::Programs>>,
    pub(crate) log: Option<crate::logs::LogConfig>,
    pub(crate) seccomp_notify: Option<crate::supervisor::Notify>,
}

impl Process {
    /// Runs `program`: an absolute path inside the container, or a name searched in the
    /// `PATH` given with [`Process::env`] (default `/usr/local/sbin:/usr/local/bin:
    /// /usr/sbin:/usr/bin:/sbin:/bin`). `argv[0]` is `program`.
    pub fn new(program: impl AsRef<OsStr>) -> Process {
        Process {
            program: program.as_ref().to_os_string(),
            args: Vec::new(),
            env: crate::config::env::EnvVars::default(),
            cwd: PathBuf::from("/"),
            user: User::default(),
            capabilities: Capabilities::default(),
            no_new_privs: true,
            rlimits: Vec::new(),
            umask: None,
            oom_score_adj: None,
            stdin: Stdio::Inherit,
            stdout: Stdio::Inherit,
            stderr: Stdio::Inherit,
            fds: Vec::new(),
            seccomp: None,
            default_seccomp: true,
            seccomp_profile: None,
            seccomp_json: None,
            seccomp_programs: None,
            log: None,
            seccomp_notify: None,
        }
    }

    /// Adds one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Process {
        self.add_arg(arg);
        self
    }

    /// Adds several arguments.
    pub fn args(mut self, args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> Process {
        self.add_args(args);
        self
    }

    /// Sets one environment variable. Setting a key again replaces its value and moves
    /// it after the others: the environment lists each key once, in the order the keys
    /// were last set.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Process {
        self.set_env(key, value);
        self
    }

    /// Sets several environment variables, in order (as [`Process::env`] each).
    pub fn envs(mut self, vars: impl IntoIterator<Item = (impl AsRef<OsStr>, impl AsRef<OsStr>)>) -> Process {
        self.set_envs(vars);
        self
    }

    /// The working directory inside the container (default `/`).
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Process {
        self.set_cwd(dir);
        self
    }

    /// Runs as numeric `uid`/`gid` (as seen inside the container), no supplementary groups.
    pub fn uid_gid(mut self, uid: u32, gid: u32) -> Process {
        self.set_user(User::Id { uid, gid, groups: Vec::new() });
        self
    }

    /// Runs as `user`.
    pub fn user(mut self, user: User) -> Process {
        self.set_user(user);
        self
    }

    /// The capability sets (default: Docker's default set, nothing inheritable/ambient).
    pub fn capabilities(mut self, caps: Capabilities) -> Process {
        self.set_capabilities(caps);
        self
    }

    /// Whether `PR_SET_NO_NEW_PRIVS` is set (default true): setuid bits and file
    /// capabilities then grant nothing.
    pub fn no_new_privs(mut self, yes: bool) -> Process {
        self.set_no_new_privs(yes);
        self
    }

    /// Sets a resource limit (`u64::MAX` = unlimited). Raising a hard limit above the
    /// caller's needs `CAP_SYS_RESOURCE`; without it spawn fails at the `setrlimit` stage.
    pub fn rlimit(mut self, which: Rlimit, soft: u64, hard: u64) -> Process {
        self.set_rlimit(which, soft, hard);
        self
    }

    /// The file mode creation mask (default: inherited; 0o022 is common).
    pub fn umask(mut self, mask: u32) -> Process {
        self.set_umask(mask);
        self
    }

    /// The OOM killer score adjustment, -1000..=1000.
    pub fn oom_score_adj(mut self, adj: i32) -> Process {
        self.set_oom_score_adj(adj);
        self
    }

    /// Where standard input comes from.
    pub fn stdin(mut self, s: Stdio) -> Process {
        self.set_stdin(s);
        self
    }

    /// Where standard output goes.
    pub fn stdout(mut self, s: Stdio) -> Process {
        self.set_stdout(s);
        self
    }

    /// Where standard error goes.
    pub fn stderr(mut self, s: Stdio) -> Process {
        self.set_stderr(s);
        self
    }

    /// Logs stdout and stderr to a file in the CRI format (see [`crate::logs`]), written by
    /// the container's monitor, so logging goes on after a detached container's creator
    /// exits. Replaces the [`Process::stdout`] and [`Process::stderr`] settings. For a
    /// container's first process (an exec'd process is refused); not with
    /// [`crate::ContainerBuilder::direct_child`] (which has no monitor).
    pub fn log(mut self, cfg: crate::logs::LogConfig) -> Process {
        self.set_log(Some(cfg));
        self
    }

    /// Passes `fd` to the program as descriptor number `target` (≥ 3). Every other
    /// descriptor of the calling process is closed at exec.
    pub fn pass_fd(mut self, fd: Arc<OwnedFd>, target: i32) -> Process {
        self.add_fd(fd, target);
        self
    }

    /// A seccomp deny-list installed right before exec, on top of the seccomp profile
    /// (default: none). See [`crate::Seccomp::default_deny`] for a conservative one.
    pub fn seccomp(mut self, filter: crate::seccomp::Seccomp) -> Process {
        self.set_seccomp(filter);
        self
    }

    /// Whether the default seccomp profile is installed (default true):
    /// [`crate::seccomp::Profile::default_profile`], Docker's default allowlist (every
    /// syscall it does not list fails with `EPERM`: keyrings, namespaces, mounting,
    /// modules, BPF, perf, kexec, ...), widened by the capabilities of the bounding set
    /// (`CAP_SYS_ADMIN` allows mounting and namespaces, `CAP_SYS_PTRACE` ptrace, ...);
    /// `clone3` fails with `ENOSYS` (libcs then use `clone`, whose flags it checks); fork,
    /// threads and ordinary programs work. Turn it off only for programs that need more,
    /// e.g. a nested container runtime. A profile set with [`Process::seccomp_profile`]
    /// replaces it. Details in [`crate::seccomp`].
    pub fn default_seccomp(mut self, yes: bool) -> Process {
        self.set_default_seccomp(yes);
        self
    }

    /// Hands the named syscalls of the program to a supervisor (seccomp user notification):
    /// each call waits until the caller answers it through the container's
    /// [`crate::supervisor::Supervisor`] ([`crate::Container::take_seccomp_supervisor`]).
    /// Default: none. See [`crate::supervisor`].
    pub fn seccomp_notify(mut self, notify: crate::supervisor::Notify) -> Process {
        self.set_seccomp_notify(notify);
        self
    }

    /// A seccomp profile of one's own, replacing the default one (installed right before
    /// exec with `no_new_privs`, before privileges drop without; see [`crate::seccomp`]).
    /// Its errors ([`crate::seccomp::ProfileError`]) come from spawn, as
    /// [`Error::Seccomp`].
    pub fn seccomp_profile(mut self, profile: crate::seccomp::Profile) -> Process {
        self.set_seccomp_profile(Some(profile));
        self
    }

    /// A seccomp profile in Docker's JSON format replacing the default one, resolved
    /// against the final bounding set when the container is planned (see
    /// [`crate::seccomp::Profile::from_docker_json`]; needs the `oci` or `image` feature).
    #[cfg(any(feature = "oci", feature = "image"))]
    pub fn seccomp_profile_json(mut self, json: impl Into<Vec<u8>>) -> Process {
        self.set_seccomp_profile_json(Some(json.into()));
        self
    }

    /// The program.
    pub fn program(&self) -> &OsStr {
        &self.program
    }
}

/// The same settings through `&mut self`, as `std::process::Command` has them (for code
/// that keeps a `Process` in place, such as the C ABI). Nothing is checked here:
/// [`Process::validate`] checks the whole process.
impl Process {
    /// Replaces the program.
    pub fn set_program(&mut self, program: impl AsRef<OsStr>) -> &mut Self {
        self.program = program.as_ref().to_os_string();
        self
    }

    /// Adds one argument (as [`Process::arg`]).
    pub fn add_arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Adds several arguments (as [`Process::args`]).
    pub fn add_args(&mut self, args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> &mut Self {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Removes every argument after the program.
    pub fn clear_args(&mut self) -> &mut Self {
        self.args.clear();
        self
    }

    /// Sets one environment variable (as [`Process::env`]).
    pub fn set_env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        self.env.set(key.as_ref().to_os_string(), value.as_ref().to_os_string());
        self
    }

    /// Sets several environment variables, in order (as [`Process::envs`]).
    pub fn set_envs(&mut self, vars: impl IntoIterator<Item = (impl AsRef<OsStr>, impl AsRef<OsStr>)>) -> &mut Self {
        for (k, v) in vars {
            self.set_env(k, v);
        }
        self
    }

    /// Empties the environment (its state at [`Process::new`]).
    pub fn clear_env(&mut self) -> &mut Self {
        self.env = crate::config::env::EnvVars::default();
        self
    }

    /// The working directory (as [`Process::cwd`]).
    pub fn set_cwd(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.cwd = dir.into();
        self
    }

    /// Which user the program runs as (as [`Process::user`]).
    pub fn set_user(&mut self, user: User) -> &mut Self {
        self.user = user;
        self
    }

    /// The capability sets (as [`Process::capabilities`]).
    pub fn set_capabilities(&mut self, caps: Capabilities) -> &mut Self {
        self.capabilities = caps;
        self
    }

    /// Whether `PR_SET_NO_NEW_PRIVS` is set (as [`Process::no_new_privs`]).
    pub fn set_no_new_privs(&mut self, yes: bool) -> &mut Self {
        self.no_new_privs = yes;
        self
    }

    /// Sets a resource limit, replacing an earlier one of the same kind (as
    /// [`Process::rlimit`]).
    pub fn set_rlimit(&mut self, which: Rlimit, soft: u64, hard: u64) -> &mut Self {
        self.rlimits.retain(|(r, _, _)| *r != which);
        self.rlimits.push((which, soft, hard));
        self
    }

    /// The file mode creation mask (as [`Process::umask`]).
    pub fn set_umask(&mut self, mask: u32) -> &mut Self {
        self.umask = Some(mask);
        self
    }

    /// The OOM killer score adjustment (as [`Process::oom_score_adj`]).
    pub fn set_oom_score_adj(&mut self, adj: i32) -> &mut Self {
        self.oom_score_adj = Some(adj);
        self
    }

    /// Where standard input comes from.
    pub fn set_stdin(&mut self, s: Stdio) -> &mut Self {
        self.stdin = s;
        self
    }

    /// Where standard output goes.
    pub fn set_stdout(&mut self, s: Stdio) -> &mut Self {
        self.stdout = s;
        self
    }

    /// Where standard error goes.
    pub fn set_stderr(&mut self, s: Stdio) -> &mut Self {
        self.stderr = s;
        self
    }

    /// Sets or clears the log (as [`Process::log`]).
    pub fn set_log(&mut self, cfg: Option<crate::logs::LogConfig>) -> &mut Self {
        self.log = cfg;
        self
    }

    /// The log configuration, if any.
    pub fn log_config(&self) -> Option<&crate::logs::LogConfig> {
        self.log.as_ref()
    }

    /// Passes `fd` as descriptor `target`, replacing an earlier pass to the same target
    /// (as [`Process::pass_fd`]).
    pub fn add_fd(&mut self, fd: Arc<OwnedFd>, target: i32) -> &mut Self {
        self.fds.retain(|(_, t)| *t != target);
        self.fds.push((fd, target));
        self
    }

    /// Forgets every passed descriptor (dropping this process's references to them).
    pub fn clear_fds(&mut self) -> &mut Self {
        self.fds.clear();
        self
    }

    /// The seccomp deny-list (as [`Process::seccomp`]).
    pub fn set_seccomp(&mut self, filter: crate::seccomp::Seccomp) -> &mut Self {
        self.seccomp = Some(filter);
        self
    }

    /// Removes the seccomp deny-list (the default: none); the profile stays.
    pub fn clear_seccomp(&mut self) -> &mut Self {
        self.seccomp = None;
        self
    }

    /// Whether the default seccomp profile is installed (as [`Process::default_seccomp`]).
    pub fn set_default_seccomp(&mut self, yes: bool) -> &mut Self {
        self.default_seccomp = yes;
        self
    }

    /// The syscalls handed to a supervisor (as [`Process::seccomp_notify`]).
    pub fn set_seccomp_notify(&mut self, notify: crate::supervisor::Notify) -> &mut Self {
        self.seccomp_notify = Some(notify);
        self
    }

    /// No syscall is handed to a supervisor (the default).
    pub fn clear_seccomp_notify(&mut self) -> &mut Self {
        self.seccomp_notify = None;
        self
    }

    /// The syscalls handed to a supervisor, if any.
    pub fn get_seccomp_notify(&self) -> Option<&crate::supervisor::Notify> {
        self.seccomp_notify.as_ref()
    }

    /// A seccomp profile replacing the default one (as [`Process::seccomp_profile`]);
    /// `None` goes back to the default.
    pub fn set_seccomp_profile(&mut self, profile: Option<crate::seccomp::Profile>) -> &mut Self {
        self.seccomp_profile = profile;
        self.seccomp_json = None;
        self
    }

    /// A Docker JSON profile replacing the default one (as
    /// [`Process::seccomp_profile_json`]); `None` goes back to the default.
    #[cfg(any(feature = "oci", feature = "image"))]
    pub fn set_seccomp_profile_json(&mut self, json: Option<Vec<u8>>) -> &mut Self {
        self.seccomp_json = json.map(Into::into);
        self.seccomp_profile = None;
        self
    }

    /// The profile replacing the default one, if any: one's own, or the JSON one resolved
    /// against the bounding set.
    pub(crate) fn own_seccomp_profile(
        &self,
    ) -> std::result::Result<Option<crate::seccomp::Profile>, crate::seccomp::ProfileError> {
        #[cfg(any(feature = "oci", feature = "image"))]
        if let Some(j) = &self.seccomp_json {
            return crate::seccomp::Profile::from_docker_json(j, self.capabilities.bounding).map(Some);
        }
        Ok(self.seccomp_profile.clone())
    }
}

/// How many fds one process can be passed (the child parks them in a fixed array).
pub const MAX_PASSED_FDS: usize = 64;

impl Process {
    /// Checks every value of the process that can be checked without touching the host
    /// (spawn and exec check it first).
    pub fn validate(&self) -> Result<()> {
        if self.program.is_empty() {
            return Err(Error::invalid("program", "the program name is empty"));
        }
        if let Some(l) = &self.log {
            crate::spawn::log::check(l)?;
        }
        if let Some(n) = &self.seccomp_notify {
            n.validate()?;
        }
        for (k, _) in self.env.iter() {
            if k.is_empty() || k.as_bytes().contains(&b'=') {
                return Err(Error::invalid("environment variable", format!("name {k:?} is empty or contains '='")));
            }
        }
        if !self.cwd.is_absolute() {
            return Err(Error::invalid("working directory", format!("{} is not absolute", self.cwd.display())));
        }
        if let Some(adj) = self.oom_score_adj {
            if !(-1000..=1000).contains(&adj) {
                return Err(Error::invalid("oom_score_adj", format!("{adj} is outside -1000..=1000")));
            }
        }
        if let Some(m) = self.umask {
            if m > 0o777 {
                return Err(Error::invalid("umask", format!("{m:#o} is above 0o777")));
            }
        }
        for (w, soft, hard) in &self.rlimits {
            if soft > hard {
                return Err(Error::invalid(
                    "rlimit",
                    format!("{}: soft limit {soft} is above hard limit {hard}", w.name()),
                ));
            }
        }
        if self.fds.len() > MAX_PASSED_FDS {
            return Err(Error::invalid(
                "passed fd",
                format!("{} fds passed; at most {MAX_PASSED_FDS} are supported", self.fds.len()),
            ));
        }
        for (_, t) in &self.fds {
            if *t < 3 {
                return Err(Error::invalid("passed fd", format!("target {t} is below 3 (use stdin/stdout/stderr)")));
            }
        }
        if let Some(f) = &self.seccomp {
            f.validate()?;
        }
        if let Some(p) = self.own_seccomp_profile()? {
            p.validate()?;
        }
        let c = self.capabilities;
        if c.effective.0 & !c.permitted.0 != 0 {
            return Err(Error::invalid("capabilities", "effective holds capabilities not in permitted"));
        }
        if c.ambient.0 & !(c.permitted.0 & c.inheritable.0) != 0 {
            return Err(Error::invalid(
                "capabilities",
                "ambient holds capabilities not in both permitted and inheritable",
            ));
        }
        Ok(())
    }
}
