//! The Landlock half of a plan: the ruleset negotiated against the running ABI (rights it
//! lacks dropped or refused), NUL-terminated in-root paths and masks the child hands to
//! the kernel as they are, and what was dropped ([`LandlockStatus`]).

use std::ffi::CString;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;

use super::cstring;
use crate::error::{Error, Result};
use crate::landlock::{fs_abi_needed, fs_rights_of_abi, net_rights_of_abi, FsAccess, Landlock, LandlockMode, NetAccess};

/// [`crate::Stage::Landlock`] index of `landlock_create_ruleset`.
pub(crate) const LANDLOCK_CREATE_INDEX: u32 = u32::MAX - 1;
/// [`crate::Stage::Landlock`] index of `landlock_restrict_self`.
pub(crate) const LANDLOCK_RESTRICT_INDEX: u32 = u32::MAX;

/// One `LANDLOCK_RULE_PATH_BENEATH` rule: the path (opened `O_PATH` in-root by the
/// child) and the rights allowed beneath it.
#[derive(Debug)]
pub(crate) struct PathRule {
    pub path: CString,
    pub access: u64,
    /// A rule cocoon added (the program's PATH candidates): a candidate that does not
    /// exist is skipped instead of failing.
    pub auto: bool,
    pub display: String,
}

/// The ruleset the child applies (only planned when it restricts something).
#[derive(Debug)]
pub(crate) struct LandlockPlan {
    pub handled_fs: u64,
    pub handled_net: u64,
    pub paths: Vec<PathRule>,
    /// `(port, rights)` for `LANDLOCK_RULE_NET_PORT`.
    pub ports: Vec<(u64, u64)>,
}

/// A container's ruleset as planned, kept by the plan and the container so that
/// processes exec'd into it get the same ruleset (planned for their own program).
#[derive(Debug)]
pub(crate) struct Ruleset {
    pub config: Landlock,
    pub kernel_abi: u32,
    pub status: Arc<LandlockStatus>,
}

impl Ruleset {
    /// Plans the ruleset for a process with PATH candidates `candidates`.
    pub(crate) fn for_process(&self, candidates: &[CString], may_restrict: bool) -> Result<Option<LandlockPlan>> {
        plan(&self.config, self.kernel_abi, candidates, may_restrict).map(|(p, _)| p)
    }
}

/// What a container's Landlock ruleset became on this kernel: the ABI used and the
/// rights dropped because the ABI lacks them ([`LandlockMode::BestEffort`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LandlockStatus {
    kernel_abi: u32,
    abi: u32,
    applied: bool,
    dropped: Vec<String>,
}

impl LandlockStatus {
    /// The kernel's Landlock ABI (0: Landlock unavailable or disabled).
    pub fn kernel_abi(&self) -> u32 {
        self.kernel_abi
    }

    /// The ABI the ruleset was built for (the kernel's, or a lower
    /// [`Landlock::max_abi`]).
    pub fn abi(&self) -> u32 {
        self.abi
    }

    /// Whether a ruleset is applied at all (false: nothing left to restrict on this ABI).
    pub fn applied(&self) -> bool {
        self.applied
    }

    /// One line per rule that lost rights: the rule and the rights dropped.
    pub fn dropped(&self) -> &[String] {
        &self.dropped
    }
}

impl fmt::Display for LandlockStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.applied {
            write!(f, "not applied (kernel ABI {}, used {})", self.kernel_abi, self.abi)?;
        } else {
            write!(f, "ABI {} (kernel {})", self.abi, self.kernel_abi)?;
        }
        if !self.dropped.is_empty() {
            write!(f, "; dropped: {}", self.dropped.join("; "))?;
        }
        Ok(())
    }
}

/// Names of the rights in `bits`, `|`-separated (unknown bits in hex).
fn fs_names(bits: u64) -> String {
    let a = FsAccess::from_bits_retain(bits);
    let mut names: Vec<String> = a.iter_names().filter(|(n, _)| !matches!(*n, "READ" | "READ_WRITE")).map(|(n, _)| n.to_string()).collect();
    let unknown = bits & !FsAccess::all().bits();
    if unknown != 0 {
        names.push(format!("{unknown:#x}"));
    }
    names.join("|")
}

fn net_names(bits: u64) -> String {
    let mut names: Vec<String> = NetAccess::from_bits_retain(bits).iter_names().map(|(n, _)| n.to_string()).collect();
    let unknown = bits & !NetAccess::all().bits();
    if unknown != 0 {
        names.push(format!("{unknown:#x}"));
    }
    names.join("|")
}

fn needs(bits: u64) -> String {
    match fs_abi_needed(FsAccess::from_bits_retain(bits)) {
        Some(n) => format!("ABI {n}"),
        None => String::from("an ABI cocoon does not know"),
    }
}

fn abi_in_use(abi: u32, kernel_abi: u32) -> String {
    if abi == kernel_abi {
        format!("the kernel has ABI {abi}")
    } else {
        format!("the ruleset is limited to ABI {abi} (the kernel has {kernel_abi})")
    }
}

/// Plans `l` for a kernel of ABI `kernel_abi`; `candidates` are the program's PATH
/// candidates (given `EXECUTE | READ_FILE`); `may_restrict`: the process keeps
/// `no_new_privs` or `CAP_SYS_ADMIN`, which `landlock_restrict_self` needs.
pub(crate) fn plan(
    l: &Landlock,
    kernel_abi: u32,
    candidates: &[CString],
    may_restrict: bool,
) -> Result<(Option<LandlockPlan>, Arc<LandlockStatus>)> {
    l.validate()?;
    let abi = l.max_abi.map_or(kernel_abi, |m| m.min(kernel_abi));
    let required = l.mode == LandlockMode::Required;
    let fs_abi = fs_rights_of_abi(abi).bits();
    let net_abi = net_rights_of_abi(abi).bits();
    let mut dropped = Vec::new();
    let mut paths = Vec::new();
    for (p, a) in &l.paths {
        let missing = a.bits() & !fs_abi;
        if missing != 0 {
            let what = format!("{}: {}", p.display(), fs_names(missing));
            if required {
                return Err(Error::Unsupported {
                    what: "landlock",
                    reason: format!("{what} needs {}, {}", needs(missing), abi_in_use(abi, kernel_abi)),
                });
            }
            dropped.push(what);
        }
        let access = a.bits() & fs_abi;
        if access != 0 {
            paths.push(PathRule {
                path: cstring("landlock path", p.as_os_str().as_bytes())?,
                access,
                auto: false,
                display: format!("{} ({})", p.display(), fs_names(access)),
            });
        }
    }
    let mut ports = Vec::new();
    for (port, a) in &l.ports {
        let missing = a.bits() & !net_abi;
        if missing != 0 {
            let what = format!("tcp port {port}: {}", net_names(missing));
            if required {
                return Err(Error::Unsupported {
                    what: "landlock",
                    reason: format!("{what} needs ABI 4, {}", abi_in_use(abi, kernel_abi)),
                });
            }
            dropped.push(what);
        }
        let access = a.bits() & net_abi;
        if access != 0 {
            ports.push((u64::from(*port), access));
        }
    }
    // Filesystem rights are handled as soon as there is a filesystem rule (even one
    // dropped whole: best effort keeps what the ABI has); a port kind only with a rule.
    let handled_fs = if l.paths.is_empty() { 0 } else { fs_abi };
    let handled_net = ports.iter().fold(0, |m, (_, a)| m | a);
    let applied = handled_fs != 0 || handled_net != 0;
    let status = Arc::new(LandlockStatus { kernel_abi, abi, applied, dropped });
    if !applied {
        return Ok((None, status));
    }
    if !may_restrict {
        return Err(Error::invalid(
            "landlock",
            "applying a ruleset needs no_new_privs (the default) or CAP_SYS_ADMIN kept in the container",
        ));
    }
    if handled_fs != 0 {
        let exec = FsAccess::EXECUTE.bits() | FsAccess::READ_FILE.bits();
        for c in candidates {
            paths.push(PathRule {
                path: c.clone(),
                access: exec,
                auto: true,
                display: format!("the program, {} (EXECUTE|READ_FILE)", c.to_string_lossy()),
            });
        }
    }
    Ok((Some(LandlockPlan { handled_fs, handled_net, paths, ports }), status))
}

impl LandlockPlan {
    /// Describes the rule at `index` of a [`crate::Stage::Landlock`] failure.
    pub(crate) fn describe(&self, index: u32) -> String {
        match index {
            LANDLOCK_CREATE_INDEX => String::from("landlock_create_ruleset"),
            LANDLOCK_RESTRICT_INDEX => String::from("landlock_restrict_self"),
            i => {
                let i = i as usize;
                match self.paths.get(i) {
                    Some(r) => format!("rule {i}: {}", r.display),
                    None => match self.ports.get(i - self.paths.len()) {
                        Some((port, a)) => format!("rule {i}: tcp port {port} ({})", net_names(*a)),
                        None => format!("rule {i}"),
                    },
                }
            }
        }
    }
}

/// The kernel's Landlock ABI (`landlock_create_ruleset(NULL, 0, VERSION)`; 0 when
/// Landlock is missing or disabled), asked once per process.
pub(crate) fn kernel_abi() -> u32 {
    static ABI: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *ABI.get_or_init(|| {
        const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
        // SAFETY: the version query takes no attribute pointer and creates nothing.
        let r = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<libc::c_void>(),
                0usize,
                LANDLOCK_CREATE_RULESET_VERSION,
            )
        };
        u32::try_from(r).unwrap_or(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cands() -> Vec<CString> {
        vec![c"/bin/sh".into()]
    }

    #[test]
    fn best_effort_drops_what_the_abi_lacks() {
        let l = Landlock::new().read("/").read_write("/scratch").connect_port(80);
        let Ok((Some(p), st)) = plan(&l, 3, &cands(), true) else { panic!("no plan") };
        assert_eq!(p.handled_fs, 0x7fff);
        assert_eq!(p.handled_net, 0, "ABI 3 has no TCP rules");
        assert!(p.ports.is_empty());
        assert_eq!(p.paths.len(), 3);
        assert_eq!(p.paths[1].access, FsAccess::READ_WRITE.bits() & 0x7fff);
        assert!(p.paths[2].auto);
        assert_eq!(st.dropped(), ["/scratch: IOCTL_DEV", "tcp port 80: CONNECT_TCP"]);
        assert!(st.applied());
        assert!(p.describe(1).contains("/scratch"), "{}", p.describe(1));
    }

    #[test]
    fn required_refuses_what_the_abi_lacks() {
        let l = Landlock::new().read_write("/scratch").mode(LandlockMode::Required);
        let e = plan(&l, 4, &cands(), true).err();
        let Some(Error::Unsupported { what: "landlock", reason }) = e else { panic!("{e:?}") };
        assert!(reason.contains("/scratch: IOCTL_DEV needs ABI 5"), "{reason}");
        assert!(plan(&l.clone().max_abi(9), 7, &cands(), true).is_ok());
        let net = Landlock::new().bind_port(8080).mode(LandlockMode::Required);
        assert!(matches!(plan(&net, 7, &cands(), true), Ok((Some(_), _))));
        assert!(matches!(plan(&net.max_abi(3), 7, &cands(), true), Err(Error::Unsupported { .. })));
    }

    #[test]
    fn no_landlock_or_nothing_to_restrict() {
        let l = Landlock::new().read("/");
        let Ok((None, st)) = plan(&l, 0, &cands(), true) else { panic!("planned on ABI 0") };
        assert!(!st.applied());
        assert_eq!(st.dropped(), ["/: READ_FILE|READ_DIR"]);
        let Ok((None, _)) = plan(&Landlock::new(), 7, &cands(), false) else { panic!("empty ruleset planned") };
        assert!(matches!(plan(&l, 7, &cands(), false), Err(Error::InvalidConfig { what: "landlock", .. })));
    }

    #[test]
    fn net_rules_handle_only_their_kind() {
        let l = Landlock::new().connect_port(443);
        let Ok((Some(p), _)) = plan(&l, 4, &cands(), true) else { panic!("no plan") };
        assert_eq!((p.handled_fs, p.handled_net), (0, NetAccess::CONNECT_TCP.bits()));
        assert!(p.paths.is_empty(), "no filesystem rules: the program needs none");
        assert!(p.describe(0).contains("tcp port 443"), "{}", p.describe(0));
    }

    #[test]
    fn unknown_bits_are_a_future_abi() {
        let l = Landlock::new().allow("/x", FsAccess::READ_FILE | FsAccess::from_bits_retain(1 << 40));
        let r = plan(&l.clone().mode(LandlockMode::Required), 7, &cands(), true);
        assert!(matches!(r, Err(Error::Unsupported { .. })), "{r:?}");
        let Ok((Some(p), st)) = plan(&l, 7, &cands(), true) else { panic!("no plan") };
        assert_eq!(p.paths[0].access, FsAccess::READ_FILE.bits());
        assert_eq!(st.dropped(), ["/x: 0x10000000000"]);
    }
}
