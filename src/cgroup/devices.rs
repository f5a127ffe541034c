//! The device policy every container gets: Docker's default allowlist, with the user's
//! [`DeviceRule`]s on top.
//!
//! On cgroup v1 the rules are written in order to `devices.deny`/`devices.allow` (the kernel
//! keeps the list). cgroup v2 has no devices controller: the rules are reduced here to the
//! state the v1 controller would hold (a default verdict plus exceptions, with the kernel's
//! exact-match removal semantics) and compiled to an eBPF program (`bpf.rs`).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use super::device_rule::{DeviceAccess, DeviceKind, DeviceNumber, DeviceRule};
use super::CgroupError;

/// Docker's default allowlist: (major, minor, what), every one `rwm`; `None` is `*`.
pub(crate) const DEFAULT_ALLOWED: &[(u32, Option<u32>, &str)] = &[
    (1, Some(3), "null"),
    (1, Some(5), "zero"),
    (1, Some(7), "full"),
    (1, Some(8), "random"),
    (1, Some(9), "urandom"),
    (5, Some(0), "tty"),
    (5, Some(1), "console"),
    (5, Some(2), "ptmx"),
    (136, None, "pts"),
];

/// The default policy as rules: deny everything, then allow `rwm` on [`DEFAULT_ALLOWED`].
pub(crate) fn default_rules() -> Vec<DeviceRule> {
    let mut v = vec![DeviceRule::deny_all()];
    v.extend(DEFAULT_ALLOWED.iter().map(|&(major, minor, _)| {
        DeviceRule::allow(
            DeviceKind::Char,
            DeviceNumber::Num(major),
            minor.map_or(DeviceNumber::Any, DeviceNumber::Num),
            DeviceAccess::all(),
        )
    }));
    v
}

/// Whether this process must give its containers the device policy: it can create
/// cgroups (CAP_SYS_ADMIN) in the initial user namespace, so it can hand a container
/// CAP_MKNOD and device nodes that work. A caller in a user namespace cannot: there the
/// kernel refuses `mknod` of real devices and mounts made in the namespace are `nodev`.
pub(crate) fn policy_required() -> bool {
    use std::os::unix::fs::MetadataExt;
    /// `PROC_USER_INIT_INO`: the inode of the initial user namespace, fixed by the kernel.
    const INIT_USER_NS_INO: u64 = 0xEFFF_FFFD;
    static INIT_NS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let init_ns = *INIT_NS.get_or_init(|| {
        std::fs::metadata("/proc/self/ns/user").map(|m| m.ino() == INIT_USER_NS_INO).unwrap_or(false)
    });
    init_ns && caps::has_cap(None, caps::CapSet::Effective, caps::Capability::CAP_SYS_ADMIN).unwrap_or(false)
}

/// One exception of the v1 model: a char or block device range with access bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Exception {
    pub(crate) block: bool,
    pub(crate) major: DeviceNumber,
    pub(crate) minor: DeviceNumber,
    pub(crate) access: DeviceAccess,
}

/// What the v1 devices controller would hold after the rules: a default verdict and the
/// exceptions to it (allows under deny-by-default, denies under allow-by-default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DevicePolicy {
    pub(crate) default_allow: bool,
    pub(crate) exceptions: Vec<Exception>,
}

impl DevicePolicy {
    /// Applies `rules` in order to a fresh cgroup (which allows everything: a v2 cgroup has
    /// no device list of its own; programs of its ancestors still run).
    pub(crate) fn from_rules<'a>(rules: impl IntoIterator<Item = &'a DeviceRule>) -> DevicePolicy {
        let mut p = DevicePolicy { default_allow: true, exceptions: Vec::new() };
        for r in rules {
            p.apply(r);
        }
        p
    }

    /// One rule, as `devcgroup_update_access` does it.
    fn apply(&mut self, r: &DeviceRule) {
        let block = match r.kind {
            DeviceKind::All => {
                // `a`: a new default, the exceptions cleared.
                self.default_allow = r.allow;
                self.exceptions.clear();
                return;
            }
            DeviceKind::Block => true,
            DeviceKind::Char => false,
        };
        let ex = Exception { block, major: r.major, minor: r.minor, access: r.access };
        let same = |e: &Exception| e.block == ex.block && e.major == ex.major && e.minor == ex.minor;
        if r.allow != self.default_allow {
            // An exception to the default: merged into an identical one if there is one.
            match self.exceptions.iter_mut().find(|e| same(e)) {
                Some(e) => e.access |= ex.access,
                None => self.exceptions.push(ex),
            }
        } else {
            // Same verdict as the default: only an identical exception loses these bits
            // (the kernel never splits a wider exception).
            for e in self.exceptions.iter_mut().filter(|e| same(e)) {
                e.access.remove(ex.access);
            }
            self.exceptions.retain(|e| !e.access.is_empty());
        }
    }

    /// The kernel's verdict for `access` to a device (`devcgroup_legacy_check_permission`):
    /// deny-by-default needs one exception covering every requested bit; allow-by-default
    /// refuses if any exception shares a bit.
    #[cfg(test)]
    pub(crate) fn allows(&self, block: bool, major: u32, minor: u32, access: DeviceAccess) -> bool {
        let num = |n: DeviceNumber, v: u32| n == DeviceNumber::Any || n == DeviceNumber::Num(v);
        let hit = |e: &&Exception| e.block == block && num(e.major, major) && num(e.minor, minor);
        if self.default_allow {
            !self.exceptions.iter().filter(hit).any(|e| e.access.intersects(access))
        } else {
            self.exceptions.iter().filter(hit).any(|e| e.access.contains(access))
        }
    }
}

/// The v1 text of a rule (`c 1:3 rwm`, `a`).
pub(crate) fn v1_line(r: &DeviceRule) -> String {
    let kind = match r.kind {
        DeviceKind::All => return "a".into(),
        DeviceKind::Char => 'c',
        DeviceKind::Block => 'b',
    };
    let num = |n: DeviceNumber| match n {
        DeviceNumber::Any => "*".to_string(),
        DeviceNumber::Num(n) => n.to_string(),
    };
    let mut acc = String::new();
    for (bit, c) in [(DeviceAccess::READ, 'r'), (DeviceAccess::WRITE, 'w'), (DeviceAccess::MKNOD, 'm')] {
        if r.access.contains(bit) {
            acc.push(c);
        }
    }
    format!("{kind} {}:{} {acc}", num(r.major), num(r.minor))
}

/// Writes `rules` in order to the v1 devices cgroup `dir` (one `write` per rule: the kernel
/// takes one rule per write), each file opened once.
pub(crate) fn write_v1(dir: &Path, rules: &[DeviceRule]) -> Result<(), CgroupError> {
    let mut allow = None;
    let mut deny = None;
    for r in rules {
        let (slot, name) = if r.allow { (&mut allow, "devices.allow") } else { (&mut deny, "devices.deny") };
        let path = dir.join(name);
        if slot.is_none() {
            *slot = Some(OpenOptions::new().write(true).open(&path).map_err(|e| CgroupError::io("open", &path, e))?);
        }
        let line = v1_line(r);
        if let Some(f) = slot.as_mut() {
            f.write_all(line.as_bytes()).map_err(|e| CgroupError::Write {
                controller: "devices",
                path: dir.display().to_string(),
                value: line.clone(),
                source: Box::new(e),
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn acc(s: &str) -> DeviceAccess {
        let mut a = DeviceAccess::empty();
        for c in s.chars() {
            a |= match c {
                'r' => DeviceAccess::READ,
                'w' => DeviceAccess::WRITE,
                _ => DeviceAccess::MKNOD,
            };
        }
        a
    }

    #[test]
    fn default_policy_is_dockers() {
        let p = DevicePolicy::from_rules(&default_rules());
        assert!(!p.default_allow);
        for (maj, min) in [(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 1), (5, 2), (136, 0), (136, 77)] {
            assert!(p.allows(false, maj, min, acc("rwm")), "c {maj}:{min}");
        }
        for (block, maj, min) in [(true, 7, 0), (false, 1, 11), (false, 10, 232), (false, 1, 1), (false, 4, 0), (true, 1, 3)] {
            for a in ["r", "w", "m"] {
                assert!(!p.allows(block, maj, min, acc(a)), "{block} {maj}:{min} {a}");
            }
        }
        assert_eq!(v1_line(&default_rules()[9]), "c 136:* rwm");
        assert_eq!(v1_line(&default_rules()[0]), "a");
    }

    #[test]
    fn v1_semantics() {
        let r = |allow, block, maj: Option<u32>, min: Option<u32>, a: &str| DeviceRule {
            allow,
            kind: if block { DeviceKind::Block } else { DeviceKind::Char },
            major: maj.map_or(DeviceNumber::Any, DeviceNumber::Num),
            minor: min.map_or(DeviceNumber::Any, DeviceNumber::Num),
            access: acc(a),
        };
        let mut rules = default_rules();
        // Denying a wider range does not touch the narrower allow (exact match only).
        rules.push(r(false, false, Some(1), None, "rwm"));
        // Removing bits from an identical exception does.
        rules.push(r(false, false, Some(1), Some(5), "w"));
        rules.push(r(true, true, Some(7), Some(0), "r"));
        let p = DevicePolicy::from_rules(&rules);
        assert!(p.allows(false, 1, 3, acc("rw")));
        assert!(p.allows(false, 1, 5, acc("rm")) && !p.allows(false, 1, 5, acc("w")));
        assert!(p.allows(true, 7, 0, acc("r")) && !p.allows(true, 7, 0, acc("rw")));
        // `allow a` opens everything but what is denied after it.
        rules.push(DeviceRule::allow(DeviceKind::All, DeviceNumber::Any, DeviceNumber::Any, DeviceAccess::all()));
        rules.push(r(false, false, Some(10), Some(232), "rw"));
        let p = DevicePolicy::from_rules(&rules);
        assert!(p.default_allow && p.allows(true, 8, 0, acc("rw")));
        assert!(p.allows(false, 10, 232, acc("m")) && !p.allows(false, 10, 232, acc("rm")));
    }

    fn rule() -> impl Strategy<Value = DeviceRule> {
        let num = prop_oneof![Just(DeviceNumber::Any), (0u32..4).prop_map(DeviceNumber::Num)];
        (any::<bool>(), 0u8..5, num.clone(), num, 1u8..8).prop_map(|(allow, k, major, minor, a)| {
            let access = DeviceAccess::from_bits_truncate(a);
            match k {
                0 => DeviceRule { allow, kind: DeviceKind::All, major: DeviceNumber::Any, minor: DeviceNumber::Any, access },
                1 | 2 => DeviceRule { allow, kind: DeviceKind::Char, major, minor, access },
                _ => DeviceRule { allow, kind: DeviceKind::Block, major, minor, access },
            }
        })
    }

    proptest! {
        /// The compiled eBPF program gives the emulated v1 verdict for every request.
        #[test]
        fn bpf_program_matches_the_model(rules in proptest::collection::vec(rule(), 0..12),
                                         reqs in proptest::collection::vec((any::<bool>(), 0u32..5, 0u32..5, 1u8..8), 1..40)) {
            let p = DevicePolicy::from_rules(&rules);
            let prog = super::super::bpf::compile(&p);
            for (block, maj, min, a) in reqs {
                let a = DeviceAccess::from_bits_truncate(a);
                prop_assert_eq!(super::super::bpf::interpret(&prog, block, maj, min, a), p.allows(block, maj, min, a),
                    "{:?} {} {}:{} {:?}", p, block, maj, min, a);
            }
        }
    }

    /// The model agrees with the kernel's own v1 list for the default policy plus extras.
    #[test]
    fn model_matches_the_v1_kernel_list() {
        let Some(h) = super::super::layout::layout().ok().and_then(|l| l.find("devices")).filter(|h| h.version == super::super::CgroupVersion::V1) else {
            return; // no v1 devices hierarchy (pure v2 host)
        };
        let dir = h.mount.join(format!("cocoon-unit-devices-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        let mut rules = default_rules();
        rules.push(DeviceRule::deny(DeviceKind::Char, DeviceNumber::Num(1), DeviceNumber::Num(5), acc("w")));
        rules.push(DeviceRule::allow(DeviceKind::Block, DeviceNumber::Num(7), DeviceNumber::Any, acc("r")));
        rules.push(DeviceRule::allow(DeviceKind::Block, DeviceNumber::Num(7), DeviceNumber::Any, acc("m")));
        let written = write_v1(&dir, &rules);
        let list = std::fs::read_to_string(dir.join("devices.list"));
        std::fs::remove_dir(&dir).unwrap();
        written.unwrap();
        let mut kernel: Vec<String> = list.unwrap().lines().map(String::from).collect();
        let p = DevicePolicy::from_rules(&rules);
        let mut model: Vec<String> = p
            .exceptions
            .iter()
            .map(|e| v1_line(&DeviceRule { allow: true, kind: if e.block { DeviceKind::Block } else { DeviceKind::Char }, major: e.major, minor: e.minor, access: e.access }))
            .collect();
        kernel.sort();
        model.sort();
        assert_eq!(kernel, model);
    }
}

#[cfg(test)]
mod timing {
    /// Per-spawn cost of the policy-only cgroup (create + destroy, no process):
    /// `cargo test --lib policy_cgroup_cost -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing, run by hand"]
    fn policy_cgroup_cost() {
        use super::super::config::CgroupConfig;
        use super::super::cgroupfs::Cgroup;
        let cfg = CgroupConfig::device_policy_only(false);
        let mut v = Vec::new();
        for i in 0..400 {
            let t = std::time::Instant::now();
            let cg = Cgroup::create(&cfg, &format!("cocoon-timing-{}-{i}", std::process::id())).unwrap();
            cg.destroy().unwrap();
            v.push(t.elapsed().as_micros());
        }
        v.sort_unstable();
        println!("policy-only cgroup create+destroy: median {} us, p10 {} us, p90 {} us", v[200], v[40], v[360]);
    }
}
