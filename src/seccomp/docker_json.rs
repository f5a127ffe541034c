//! [`Profile::from_docker_json`] (cargo feature `oci` or `image`, which bring serde_json): a profile in the JSON format of
//! Docker's `--security-opt seccomp=FILE` (moby's `profiles/seccomp`), resolved for one
//! process: rules whose `includes`/`excludes` (capabilities of the bounding set,
//! architectures, `minKernel`) do not select it are left out, as moby does when it
//! builds a container's spec.

use serde_json::Value;

use super::profile::{Action, Arg, Op, Profile, ProfileError, Rule, Syscall};
use crate::capability::{CapSet, Capability};

/// Docker's name of the running architecture (`includes.arches`).
const ARCH: &str = if cfg!(target_arch = "x86_64") {
    "amd64"
} else if cfg!(target_arch = "aarch64") {
    "arm64"
} else {
    std::env::consts::ARCH
};

fn bad(what: impl Into<String>) -> ProfileError {
    ProfileError::Json(what.into())
}

fn action(name: &str, errno: Option<u32>, default_errno: u32, at: &str) -> Result<Action, ProfileError> {
    let errno = errno.unwrap_or(default_errno);
    Ok(match name {
        "SCMP_ACT_ALLOW" => Action::Allow,
        "SCMP_ACT_ERRNO" => Action::Errno(errno),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
        "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
        "SCMP_ACT_TRAP" => Action::Trap,
        "SCMP_ACT_TRACE" => Action::Trace(errno),
        "SCMP_ACT_LOG" => Action::Log,
        "SCMP_ACT_NOTIFY" => Action::Notify,
        other => return Err(bad(format!("{at}: unknown action {other:?}"))),
    })
}

fn u64_field(v: &Value, key: &str, at: &str) -> Result<Option<u64>, ProfileError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x.as_u64().map(Some).ok_or_else(|| bad(format!("{at}.{key}: not an unsigned integer"))),
    }
}

fn u32_field(v: &Value, key: &str, at: &str) -> Result<Option<u32>, ProfileError> {
    match u64_field(v, key, at)? {
        None => Ok(None),
        Some(n) => u32::try_from(n).map(Some).map_err(|_| bad(format!("{at}.{key}: {n} is too large"))),
    }
}

fn strings<'a>(v: Option<&'a Value>, at: &str) -> Result<Vec<&'a str>, ProfileError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => {
            a.iter().map(|s| s.as_str().ok_or_else(|| bad(format!("{at}: not a list of strings")))).collect()
        }
        Some(_) => Err(bad(format!("{at}: not a list"))),
    }
}

fn arg(v: &Value, at: &str) -> Result<Arg, ProfileError> {
    let index = u64_field(v, "index", at)?.ok_or_else(|| bad(format!("{at}.index: missing")))?;
    let index = u8::try_from(index).unwrap_or(u8::MAX);
    let value = u64_field(v, "value", at)?.unwrap_or(0);
    let two = u64_field(v, "valueTwo", at)?.unwrap_or(0);
    let op = v.get("op").and_then(Value::as_str).ok_or_else(|| bad(format!("{at}.op: missing")))?;
    Ok(match op {
        "SCMP_CMP_NE" => Arg::new(index, Op::Ne, value),
        "SCMP_CMP_LT" => Arg::new(index, Op::Lt, value),
        "SCMP_CMP_LE" => Arg::new(index, Op::Le, value),
        "SCMP_CMP_EQ" => Arg::new(index, Op::Eq, value),
        "SCMP_CMP_GE" => Arg::new(index, Op::Ge, value),
        "SCMP_CMP_GT" => Arg::new(index, Op::Gt, value),
        // libseccomp's form: `value` is the mask, `valueTwo` what the masked argument equals.
        "SCMP_CMP_MASKED_EQ" => Arg::masked_eq(index, value, two),
        other => return Err(bad(format!("{at}.op: unknown operator {other:?}"))),
    })
}

fn cap(name: &str, at: &str) -> Result<Capability, ProfileError> {
    let full = if name.starts_with("CAP_") { name.to_string() } else { format!("CAP_{name}") };
    full.parse::<Capability>().map_err(|_| bad(format!("{at}: unknown capability {name:?}")))
}

/// `"5.4"` → (5, 4).
fn version(s: &str) -> Option<(u32, u32)> {
    let mut it = s.trim().split('.');
    let major = it.next()?.parse().ok()?;
    let minor = it.next().map(|m| m.chars().take_while(char::is_ascii_digit).collect::<String>()).unwrap_or_default();
    Some((major, minor.parse().unwrap_or(0)))
}

/// The running kernel's (major, minor).
fn kernel() -> Option<(u32, u32)> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    version(&release)
}

/// Whether a rule's `includes` and `excludes` select it for `caps` here.
fn selected(r: &Value, caps: CapSet, at: &str) -> Result<bool, ProfileError> {
    if let Some(inc) = r.get("includes") {
        for c in strings(inc.get("caps"), &format!("{at}.includes.caps"))? {
            if !caps.contains(cap(c, at)?) {
                return Ok(false);
            }
        }
        let arches = strings(inc.get("arches"), &format!("{at}.includes.arches"))?;
        if !arches.is_empty() && !arches.contains(&ARCH) {
            return Ok(false);
        }
        if let Some(min) = inc.get("minKernel").and_then(Value::as_str) {
            let min = version(min).ok_or_else(|| bad(format!("{at}.includes.minKernel: {min:?} is not a version")))?;
            if kernel().is_some_and(|k| k < min) {
                return Ok(false);
            }
        }
    }
    if let Some(exc) = r.get("excludes") {
        for c in strings(exc.get("caps"), &format!("{at}.excludes.caps"))? {
            if caps.contains(cap(c, at)?) {
                return Ok(false);
            }
        }
        if strings(exc.get("arches"), &format!("{at}.excludes.arches"))?.contains(&ARCH) {
            return Ok(false);
        }
    }
    Ok(true)
}

impl Profile {
    /// A profile in Docker's JSON format (`defaultAction`, `defaultErrnoRet`, `syscalls`
    /// with `names`/`name`, `action`, `args`, `errnoRet`, `includes`/`excludes` of
    /// `caps`, `arches` and `minKernel`), resolved for a process whose bounding set is
    /// `caps`. Syscall names this architecture does not have are skipped (Docker's
    /// profiles name every architecture's), as libseccomp skips them; `archMap` and
    /// `architectures` are not needed (the engine filters x86_64 and refuses x32 and
    /// i386). Malformed JSON, unknown actions, operators or capabilities are
    /// [`ProfileError::Json`]. `SCMP_ACT_NOTIFY` rules go to the process's supervisor
    /// ([`Profile::take_notify`], done when the container is planned).
    pub fn from_docker_json(json: &[u8], caps: CapSet) -> Result<Profile, ProfileError> {
        let v: Value = serde_json::from_slice(json).map_err(|e| bad(e.to_string()))?;
        let default_errno = u32_field(&v, "defaultErrnoRet", "defaultErrnoRet")?.unwrap_or(libc::EPERM as u32);
        let d = v.get("defaultAction").and_then(Value::as_str).ok_or_else(|| bad("defaultAction: missing"))?;
        let mut p = Profile::new(action(d, None, default_errno, "defaultAction")?).named("Docker JSON profile");
        let rules = match v.get("syscalls") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(a)) => a.as_slice(),
            Some(_) => return Err(bad("syscalls: not a list")),
        };
        for (i, r) in rules.iter().enumerate() {
            let at = format!("syscalls[{i}]");
            if !selected(r, caps, &at)? {
                continue;
            }
            let mut names = strings(r.get("names"), &format!("{at}.names"))?;
            if let Some(n) = r.get("name").and_then(Value::as_str) {
                names.push(n);
            }
            let known: Vec<Syscall> =
                names.iter().filter(|n| super::syscalls::number(n).is_some()).map(|n| (*n).into()).collect();
            let a = r.get("action").and_then(Value::as_str).ok_or_else(|| bad(format!("{at}.action: missing")))?;
            // Rules for the default errno of ERRNO: errnoRet, else EPERM (not defaultErrnoRet).
            let a = action(a, u32_field(r, "errnoRet", &at)?, libc::EPERM as u32, &format!("{at}.action"))?;
            if known.is_empty() {
                continue;
            }
            let mut rule = Rule::new::<Syscall>(a, known);
            if let Some(args) = r.get("args").and_then(Value::as_array) {
                for (j, x) in args.iter().enumerate() {
                    rule = rule.arg(arg(x, &format!("{at}.args[{j}]"))?);
                }
            }
            p = p.rule(rule);
        }
        p.validate()?;
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
        "syscalls": [
            {"names": ["read", "write", "exit_group", "not_on_this_arch"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
             "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["mount", "clone", "clone3"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
            {"names": ["s390_pci_mmio_read"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["s390x"]}},
            {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}}
        ]
    }"#;

    #[test]
    fn rules_are_resolved_for_the_capabilities() {
        let p = Profile::from_docker_json(SAMPLE.as_bytes(), CapSet::EMPTY).unwrap();
        assert_eq!(p.default_action(), Action::Errno(1));
        let names =
            |p: &Profile| p.rules().iter().flat_map(|r| r.syscalls.iter().map(|s| s.to_string())).collect::<Vec<_>>();
        let n = names(&p);
        assert!(n.contains(&"read".to_string()) && !n.contains(&"not_on_this_arch".to_string()), "{n:?}");
        assert!(!n.contains(&"mount".to_string()) && n.contains(&"clone3".to_string()), "{n:?}");
        if cfg!(target_arch = "x86_64") {
            assert!(n.contains(&"arch_prctl".to_string()), "{n:?}");
        }
        assert!(!n.contains(&"s390_pci_mmio_read".to_string()));
        assert!(n.contains(&"ptrace".to_string()), "this kernel is newer than 4.8");
        let clone3 = p.rules().iter().find(|r| r.syscalls == vec![Syscall::from("clone3")]).unwrap();
        assert_eq!(clone3.action, Action::Errno(38));
        let admin =
            Profile::from_docker_json(SAMPLE.as_bytes(), CapSet::EMPTY.with(Capability::CAP_SYS_ADMIN)).unwrap();
        let n = names(&admin);
        assert!(n.contains(&"mount".to_string()), "{n:?}");
        assert!(!admin.rules().iter().any(|r| r.action == Action::Errno(38)), "excluded with CAP_SYS_ADMIN");
        p.compile().unwrap();
        admin.compile().unwrap();
    }

    #[test]
    fn bad_json_is_a_typed_error() {
        let e = |s: &str| Profile::from_docker_json(s.as_bytes(), CapSet::EMPTY).unwrap_err();
        assert!(matches!(e("{"), ProfileError::Json(_)));
        assert!(
            matches!(e(r#"{"defaultAction": "SCMP_ACT_NOPE"}"#), ProfileError::Json(m) if m.contains("SCMP_ACT_NOPE"))
        );
        let bad_arg = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
            "args": [{"index": 7, "value": 0, "op": "SCMP_CMP_EQ"}]}]}"#;
        assert!(matches!(e(bad_arg), ProfileError::ArgIndex { rule: 0, index: 7 }));
        let notify =
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]}"#;
        let mut p = Profile::from_docker_json(notify.as_bytes(), CapSet::EMPTY).unwrap_or_else(|e| panic!("{e}"));
        let n = p.take_notify().unwrap_or_else(|e| panic!("{e}")).map(|n| n.syscall_numbers().collect::<Vec<_>>());
        assert_eq!(n, Some(vec![libc::SYS_read]));
        assert_eq!(p.rules()[0].action, Action::Allow, "left to the notify filter");
        let notify_args = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY",
            "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#;
        let mut p = Profile::from_docker_json(notify_args.as_bytes(), CapSet::EMPTY).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(p.take_notify(), Err(ProfileError::Notify { rule: Some(0) })));
        let cap = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
            "includes": {"caps": ["CAP_NOPE"]}}]}"#;
        assert!(matches!(e(cap), ProfileError::Json(m) if m.contains("CAP_NOPE")));
    }
}
