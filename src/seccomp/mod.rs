//! Seccomp: the default profile every container process gets ([`Profile::default_profile`],
//! Docker's default allowlist, widened by kept capabilities), typed profiles of one's own
//! ([`Profile`], [`crate::Process::seccomp_profile`]) and optional deny-lists
//! ([`Seccomp`]), all compiled to BPF in the parent and installed by the child.
//!
//! How they compose: the default profile is installed first, right after the child joins
//! its fresh session keyring and before it drops privileges (so it needs neither
//! `no_new_privs` nor a retained `CAP_SYS_ADMIN`); a profile of one's own replaces it (and
//! is installed as an OCI spec's is: right before exec with `no_new_privs`, before
//! privileges drop without); a deny-list is installed last, right before exec, as a
//! further stacked filter. A syscall any installed filter refuses is refused, so a
//! deny-list can only add to a profile, never loosen it; where both refuse the same
//! syscall the deny-list's errno is the one seen (the kernel prefers the most recently
//! installed filter among equal actions). Turn the default profile off with
//! [`crate::Process::default_seccomp`]`(false)`.
//!
//! Everything the child does after the default profile is installed (ids, capabilities,
//! `openat2` of the cwd, `close_range`, landlock, further `seccomp` calls, `execveat` of
//! cocoon's exec helper) and what the helper and its init do (`execve`, `openat2`,
//! `fstatfs`, `prctl`, `sendto`, `wait4`, `rt_sigtimedwait`, `kill`, ...) is in the
//! allowlist.
//!
//! Layout: `profile.rs` (the types and their checks), `compile.rs` (profile → stacked
//! programs, the x32 guard), `default_profile.rs` (the default allowlist), `syscalls.rs`
//! (x86_64 names → numbers), `docker_json.rs` (features `oci` or `image`, which bring serde_json: Docker's JSON
//! format).

mod compile;
mod default_profile;
#[cfg(any(feature = "oci", feature = "image"))]
mod docker_json;
mod profile;
pub(crate) mod syscalls;
#[cfg(test)]
pub(crate) mod tests;

#[cfg(test)]
pub(crate) use compile::{AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
pub use default_profile::{CAP_RULES, DEFAULT_PROFILE_NAME};
pub use profile::{Action, Arg, Op, Profile, ProfileError, Rule, Syscall};

use std::collections::BTreeSet;

use crate::error::{Error, Result};

/// A seccomp filter that makes the listed syscalls fail with an errno (default `EPERM`)
/// and allows every other one. Syscalls are numbers (`libc::SYS_*`) of the running
/// architecture. It applies on top of the default profile (see the module docs).
///
/// Installing a filter needs `no_new_privs` (cocoon's default) or `CAP_SYS_ADMIN`;
/// without either spawn fails at [`crate::Stage::Seccomp`].
///
/// The filter already applies to cocoon's exec helper, which runs before the program
/// (and stays as PID 1 with an init): it uses `execveat`, `execve`, `openat2`/`openat`,
/// `fstatfs`, `write`, `close`, `fcntl`, `prctl`, `sendto`, `exit_group` and, as an
/// init, `clone` (no namespace flags), `rt_sigprocmask`, `rt_sigaction`,
/// `rt_sigtimedwait`, `wait4`, `kill`, `close_range`. Denying `execveat` makes every
/// spawn fail at [`crate::Stage::Exec`] ("exec helper").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seccomp {
    denied: BTreeSet<i64>,
    errno: u32,
}

impl Seccomp {
    /// Denies `syscalls` with `EPERM`.
    pub fn deny(syscalls: impl IntoIterator<Item = i64>) -> Seccomp {
        Seccomp { denied: syscalls.into_iter().collect(), errno: libc::EPERM as u32 }
    }

    /// The errno the denied syscalls fail with (1..=4095).
    pub fn errno(mut self, errno: i32) -> Seccomp {
        self.errno = errno as u32;
        self
    }

    /// A conservative deny-list in the spirit of Docker's default profile: syscalls a
    /// container should not need and that widen the kernel's attack surface (keyrings,
    /// `unshare` and `setns` whatever the flags, kernel modules, kexec, BPF, perf, userfaultfd, ptrace,
    /// mounting, swap, reboot, clock setting, accounting, quotas, handle-based opens).
    pub fn default_deny() -> Seccomp {
        Seccomp::deny([
            libc::SYS_add_key,
            libc::SYS_request_key,
            libc::SYS_keyctl,
            libc::SYS_unshare,
            libc::SYS_setns,
            libc::SYS_init_module,
            libc::SYS_finit_module,
            libc::SYS_delete_module,
            libc::SYS_kexec_load,
            libc::SYS_kexec_file_load,
            libc::SYS_bpf,
            libc::SYS_perf_event_open,
            libc::SYS_userfaultfd,
            libc::SYS_ptrace,
            libc::SYS_mount,
            libc::SYS_umount2,
            libc::SYS_pivot_root,
            libc::SYS_swapon,
            libc::SYS_swapoff,
            libc::SYS_reboot,
            libc::SYS_settimeofday,
            libc::SYS_clock_settime,
            libc::SYS_clock_adjtime,
            libc::SYS_adjtimex,
            libc::SYS_acct,
            libc::SYS_quotactl,
            libc::SYS_open_by_handle_at,
            libc::SYS_name_to_handle_at,
            libc::SYS_lookup_dcookie,
            libc::SYS_fsopen,
            libc::SYS_fsmount,
            libc::SYS_move_mount,
            libc::SYS_open_tree,
        ])
    }

    /// The denied syscall numbers.
    pub fn denied(&self) -> impl Iterator<Item = i64> + '_ {
        self.denied.iter().copied()
    }

    /// Checks the values (errno range, syscall numbers) without compiling.
    pub fn validate(&self) -> Result<()> {
        if !(1..=4095).contains(&self.errno) {
            return Err(Error::invalid("seccomp errno", format!("{} is outside 1..=4095", self.errno)));
        }
        if let Some(n) = self.denied.iter().find(|n| !(0..1024).contains(*n)) {
            return Err(Error::invalid("seccomp syscall", format!("{n} is not a syscall number")));
        }
        Ok(())
    }

    /// Compiles the filter to BPF for the running architecture.
    pub(crate) fn compile(&self) -> Result<Vec<seccompiler::sock_filter>> {
        use seccompiler::{BpfProgram, SeccompAction, SeccompFilter};
        self.validate()?;
        let arch = std::env::consts::ARCH
            .try_into()
            .map_err(|e| Error::invalid("seccomp", format!("architecture {}: {e:?}", std::env::consts::ARCH)))?;
        let rules = self.denied.iter().map(|n| (*n, Vec::new())).collect();
        let filter = SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(self.errno), arch)
            .map_err(|e| Error::invalid("seccomp", e.to_string()))?;
        let prog: BpfProgram =
            filter.try_into().map_err(|e: seccompiler::BackendError| Error::invalid("seccomp", e.to_string()))?;
        Ok(prog)
    }
}

impl Profile {
    /// Compiles the profile to the programs the child installs (see `compile.rs`).
    pub fn compile(&self) -> std::result::Result<Programs, ProfileError> {
        compile::compile(self)
    }
}

/// Compiled seccomp programs installed in order, with their `SECCOMP_FILTER_FLAG_*` flags:
/// a [`Profile`] (the default one, one's own, or an OCI spec's), stacked one program per
/// action. The default profile goes on before privileges are dropped; one's own and an
/// OCI spec's with `no_new_privs` right before exec, without it before privileges are
/// dropped (installing needs `CAP_SYS_ADMIN` then), so the rest of the setup runs under
/// them too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Programs {
    pub(crate) filters: Vec<Vec<seccompiler::sock_filter>>,
    pub(crate) flags: u32,
    pub(crate) name: String,
}

impl Programs {
    /// How many programs are stacked.
    pub fn len(&self) -> usize {
        self.filters.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// The profile's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The default profile's programs for a process whose bounding set is `caps`, compiled
/// once per distinct set of the capabilities the profile looks at and shared.
#[cfg(test)]
pub(crate) fn default_programs(caps: crate::capability::CapSet) -> Result<std::sync::Arc<Programs>> {
    default_programs_leaving(caps, &[])
}

/// The default profile's programs, leaving the syscalls in `notified` to the process's
/// supervisor (`crate::supervisor`): the profile allows them, so that the notify filter's
/// USER_NOTIF is what they meet rather than the profile's EPERM (which the kernel would
/// prefer). Compiled per plan when `notified` is not empty, cached per capability set else.
pub(crate) fn default_programs_leaving(
    caps: crate::capability::CapSet,
    notified: &[i64],
) -> Result<std::sync::Arc<Programs>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    if !notified.is_empty() {
        let p = Profile::default_profile(caps).rule(Rule::new(Action::Allow, notified.iter().copied()));
        return Ok(Arc::new(p.compile()?));
    }
    static CACHE: OnceLock<Mutex<HashMap<u64, Arc<Programs>>>> = OnceLock::new();
    let relevant = CAP_RULES.iter().fold(0u64, |m, (c, _)| m | c.bitmask());
    let key = caps.0 & relevant;
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(p) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(p.clone());
    }
    let p = Arc::new(Profile::default_profile(crate::capability::CapSet(key)).compile()?);
    cache.lock().unwrap_or_else(|e| e.into_inner()).insert(key, p.clone());
    Ok(p)
}

impl crate::Process {
    /// Sets compiled profile programs (see [`Programs`]); only `crate::oci` makes them.
    #[cfg(feature = "oci")]
    pub(crate) fn set_seccomp_programs(&mut self, p: Programs) -> &mut Self {
        self.seccomp_programs = Some(std::sync::Arc::new(p));
        self
    }
}
