//! The process half of a plan: argv/envp, PATH candidates, cwd, ids, rlimits, fds,
//! seccomp, validation, and the descriptions of process-setup failures.

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use libc::c_char;

use super::cstring;
use super::users::{resolve_user, NameRoot};
use crate::capability::Capabilities;
use crate::error::{Error, Result, Stage};
use crate::mount::container_path;
use crate::process::{Process, Rlimit, Stdio};

/// The default `PATH` used to find a program given by name.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A NUL-terminated array of C strings (argv/envp), with the pointer array built once.
pub(crate) struct CStrArray {
    strings: Vec<CString>,
    ptrs: Vec<*const c_char>,
}

// SAFETY: `ptrs` point into the heap buffers of `strings`, which this struct owns and
// never mutates after construction; sharing them across threads is read-only.
unsafe impl Send for CStrArray {}
// SAFETY: as above: immutable after construction.
unsafe impl Sync for CStrArray {}

impl CStrArray {
    fn new(strings: Vec<CString>) -> CStrArray {
        let mut ptrs: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        CStrArray { strings, ptrs }
    }

    /// The NULL-terminated pointer array.
    pub(crate) fn as_ptr(&self) -> *const *const c_char {
        self.ptrs.as_ptr()
    }

    /// The strings, in order.
    pub(crate) fn strings(&self) -> impl Iterator<Item = &std::ffi::CStr> {
        self.strings.iter().map(|s| s.as_c_str())
    }
}

impl std::fmt::Debug for CStrArray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.strings).finish()
    }
}

/// A resource limit ready for `prlimit64`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RlimitPlan {
    pub which: Rlimit,
    pub resource: u32,
    pub value: libc::rlimit64,
}

impl RlimitPlan {
    /// A placeholder for fixed-size arrays (never applied: counts say what is used).
    pub(crate) const NONE: RlimitPlan =
        RlimitPlan { which: Rlimit::Core, resource: 0, value: libc::rlimit64 { rlim_cur: 0, rlim_max: 0 } };
}

/// Everything about the process, computed before the clone.
#[derive(Debug)]
pub(crate) struct ProcessPlan {
    /// Owns the argument strings `helper_tail` points at.
    #[allow(dead_code)]
    pub argv: CStrArray,
    pub envp: CStrArray,
    /// Paths to try with execve, in order (one, unless a name was searched in PATH).
    pub candidates: Vec<CString>,
    pub program: String,
    /// Working directory relative to the root (`.` for `/`).
    pub cwd: CString,
    pub cwd_display: String,
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<libc::gid_t>,
    /// False when `setgroups` is denied in the user namespace.
    pub set_groups: bool,
    pub caps: Capabilities,
    pub last_cap: u32,
    pub no_new_privs: bool,
    pub rlimits: Vec<RlimitPlan>,
    pub umask: Option<u32>,
    pub oom_score_adj: Option<i32>,
    pub stdio: [Stdio; 3],
    /// Where stdout and stderr are logged instead (checked by `Process::validate` above,
    /// opened at spawn).
    pub log: Option<crate::logs::LogConfig>,
    pub fds: Vec<(std::sync::Arc<std::os::fd::OwnedFd>, i32)>,
    /// The lowest fd number above every passed-fd target (where fds are parked first).
    pub fd_floor: i32,
    /// Sorted passed-fd targets, which `close_range` must skip.
    pub keep_fds: Vec<u32>,
    /// The compiled seccomp deny-list, if any.
    pub seccomp: Option<Vec<seccompiler::sock_filter>>,
    /// The default profile's programs (compiled once per capability set), unless opted out.
    pub default_seccomp: Option<std::sync::Arc<crate::seccomp::Programs>>,
    /// Compiled profile programs (an OCI spec's seccomp), installed in order.
    pub seccomp_programs: Option<std::sync::Arc<crate::seccomp::Programs>>,
    /// The notify filter (`Process::seccomp_notify`), installed last with a new listener.
    pub seccomp_notify: Option<Vec<seccompiler::sock_filter>>,
    /// The exec helper's argv after its per-spawn head: candidates and argv (pointing
    /// into `candidates` and `argv` above).
    pub helper_tail: crate::helper::Tail,
    /// The Landlock ruleset, applied last before the helper's exec (set by `Plan::new`
    /// for the container's program, by `spawn::exec` for each process exec'd into it).
    pub landlock: Option<super::LandlockPlan>,
}

impl ProcessPlan {
    /// `last_cap`: the kernel's highest capability number ([`super::HostFacts::last_cap`]).
    pub(crate) fn new(p: &Process, names: NameRoot<'_>, setgroups_allowed: bool, last_cap: u32) -> Result<ProcessPlan> {
        p.validate()?;
        let mut argv = vec![cstring("argument", p.program.as_bytes())?];
        for a in &p.args {
            argv.push(cstring("argument", a.as_bytes())?);
        }
        let mut envp = Vec::with_capacity(p.env.len());
        let mut path_var: Option<&OsStr> = None;
        for (k, v) in p.env.iter() {
            if k.as_bytes() == b"PATH" {
                path_var = Some(v);
            }
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            envp.push(cstring("environment variable", &kv)?);
        }
        let prog = p.program.as_bytes();
        let candidates = if prog.contains(&b'/') {
            vec![cstring("program", prog)?]
        } else {
            let path = path_var.map(|v| v.as_bytes()).unwrap_or(DEFAULT_PATH.as_bytes());
            let mut c = Vec::new();
            for dir in path.split(|b| *b == b':').filter(|d| !d.is_empty()) {
                let mut full = dir.to_vec();
                full.push(b'/');
                full.extend_from_slice(prog);
                c.push(cstring("program", &full)?);
            }
            if c.is_empty() {
                return Err(Error::invalid("program", "PATH is empty, so a bare name cannot be found"));
            }
            c
        };
        let cwd_parts = if p.cwd == Path::new("/") { Vec::new() } else { container_path("working directory", &p.cwd)? };
        let cwd_rel = if cwd_parts.is_empty() {
            OsString::from(".")
        } else {
            let mut s = OsString::new();
            for (i, c) in cwd_parts.iter().enumerate() {
                if i > 0 {
                    s.push("/");
                }
                s.push(c);
            }
            s
        };
        let (uid, gid, groups) = resolve_user(&p.user, &names)?;
        if !groups.is_empty() && !setgroups_allowed {
            return Err(Error::invalid(
                "supplementary groups",
                "setgroups is denied in this user namespace (the caller lacks CAP_SETGID)",
            ));
        }
        let rlimits = p
            .rlimits
            .iter()
            .map(|(w, soft, hard)| RlimitPlan {
                which: *w,
                resource: w.resource(),
                value: libc::rlimit64 { rlim_cur: *soft, rlim_max: *hard },
            })
            .collect();
        let mut keep_fds: Vec<u32> = p.fds.iter().map(|(_, t)| *t as u32).collect();
        keep_fds.sort_unstable();
        let fd_floor = p.fds.iter().map(|(_, t)| *t).max().unwrap_or(2).max(2) + 1;
        let argv = CStrArray::new(argv);
        let helper_tail = crate::helper::Tail::new(&candidates, argv.as_ptr());
        let mut own_profile = p.own_seccomp_profile()?;
        // The notified syscalls: the process's own, and its profile's notify rules.
        let from_profile = match own_profile.as_mut() {
            Some(pr) => pr.take_notify()?,
            None => None,
        };
        let notify = match (&p.seccomp_notify, from_profile) {
            (Some(a), Some(b)) => {
                Some(crate::supervisor::Notify::syscalls(a.syscall_numbers().chain(b.syscall_numbers())))
            }
            (a, b) => a.clone().or(b),
        };
        Ok(ProcessPlan {
            argv,
            envp: CStrArray::new(envp),
            candidates,
            program: p.program.to_string_lossy().into_owned(),
            cwd: cstring("working directory", cwd_rel.as_bytes())?,
            cwd_display: p.cwd.display().to_string(),
            uid,
            gid,
            groups,
            set_groups: setgroups_allowed,
            caps: p.capabilities,
            // Capability masks are 64 bits wide.
            last_cap: last_cap.min(63),
            no_new_privs: p.no_new_privs,
            rlimits,
            umask: p.umask,
            oom_score_adj: p.oom_score_adj,
            stdio: [p.stdin.clone(), p.stdout.clone(), p.stderr.clone()],
            log: p.log.clone(),
            fds: p.fds.clone(),
            fd_floor,
            keep_fds,
            seccomp: p.seccomp.as_ref().map(|f| f.compile()).transpose()?,
            seccomp_notify: notify.as_ref().map(|n| n.compile()).transpose()?,
            // A profile of one's own replaces the default one (and an OCI spec's programs).
            seccomp_programs: match &own_profile {
                Some(profile) => Some(std::sync::Arc::new(profile.compile()?)),
                None => p.seccomp_programs.clone(),
            },
            default_seccomp: if p.default_seccomp && own_profile.is_none() {
                let notified: Vec<i64> = notify.iter().flat_map(|n| n.syscall_numbers()).collect();
                Some(super::default_seccomp::programs(p.capabilities.bounding, &notified)?)
            } else {
                None
            },
            helper_tail,
            landlock: None,
        })
    }
}

impl ProcessPlan {
    /// Whether `landlock_restrict_self` will be allowed: `no_new_privs`, or
    /// `CAP_SYS_ADMIN` kept in the effective set.
    pub(crate) fn may_restrict(&self) -> bool {
        self.no_new_privs || self.caps.effective.0 & (1 << 21/* CAP_SYS_ADMIN */) != 0
    }
}

/// [`Stage::Seccomp`] index of the default profile's first program (the deny-list is 0;
/// program i of the default profile is this + i).
pub(crate) const SECCOMP_DEFAULT_INDEX: u32 = 1;
/// `Stage::Seccomp` index of the first profile program (`Process::seccomp_programs`).
pub(crate) const SECCOMP_PROGRAM_INDEX: u32 = 100;
/// `Stage::Seccomp` index of the notify filter (`Process::seccomp_notify`).
pub(crate) const SECCOMP_NOTIFY_INDEX: u32 = 99;

/// Describes a process-setup failure `(stage, index)`.
pub(crate) fn describe_process(p: &ProcessPlan, stage: Stage, index: u32) -> String {
    match stage {
        Stage::Exec if index == crate::helper::HELPER_INDEX => {
            format!("cocoon's exec helper (sealed memfd) before {}", p.program)
        }
        Stage::Exec if p.candidates.len() > 1 => match p.candidates.get(index as usize) {
            Some(c) => format!("{} found as {}", p.program, c.to_string_lossy()),
            None => format!("{} (searched in PATH)", p.program),
        },
        Stage::Exec => p.program.clone(),
        Stage::Cwd => p.cwd_display.clone(),
        Stage::Landlock => p.landlock.as_ref().map(|l| l.describe(index)).unwrap_or_default(),
        Stage::Rlimit => p.rlimits.get(index as usize).map(|r| r.which.name().to_string()).unwrap_or_default(),
        Stage::SetUid => format!("uid {}", p.uid),
        Stage::SetGid => format!("gid {}", p.gid),
        Stage::Groups => format!("groups {:?}", p.groups),
        Stage::Stdio => format!("fd {index}"),
        Stage::Seccomp if index == SECCOMP_NOTIFY_INDEX => String::from("the supervisor's notify filter"),
        Stage::Seccomp if (SECCOMP_DEFAULT_INDEX..SECCOMP_PROGRAM_INDEX).contains(&index) => {
            let name = p.default_seccomp.as_ref().map(|d| d.name().to_string()).unwrap_or_default();
            format!("program {} of the default profile ({name})", index - SECCOMP_DEFAULT_INDEX)
        }
        Stage::Seccomp if index >= SECCOMP_PROGRAM_INDEX => {
            let name = p.seccomp_programs.as_ref().map(|d| d.name().to_string()).unwrap_or_default();
            format!("seccomp profile program {} (of the profile {name})", index - SECCOMP_PROGRAM_INDEX)
        }
        Stage::Seccomp => String::from("the deny-list"),
        Stage::AmbientCapabilities | Stage::CapBounding => format!("capability {index}"),
        Stage::Capabilities => {
            // The usual cause: asking for capabilities the caller's bounding set lacks.
            let bounding = caps::read(None, caps::CapSet::Bounding).unwrap_or_default();
            let wanted = p.caps.permitted.0 | p.caps.inheritable.0;
            let missing: Vec<String> = caps::all()
                .into_iter()
                .filter(|c| wanted & c.bitmask() != 0 && !bounding.contains(c))
                .map(|c| c.to_string())
                .collect();
            if missing.is_empty() {
                String::from("effective/permitted/inheritable sets")
            } else {
                format!("not in the calling process's bounding set: {}", missing.join(", "))
            }
        }
        _ => String::new(),
    }
}
