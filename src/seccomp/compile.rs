//! [`Profile`] → stacked seccomp programs (seccompiler builds each).
//!
//! seccompiler gives a program one match action, and a profile has one per rule. The
//! kernel runs every stacked program and keeps the most restrictive verdict, which makes a
//! stack exact: one program per distinct non-allow action (its rules' syscalls and
//! conditions → that action, anything else → allow), and one for the default action
//! (every syscall a rule names, under that rule's conditions → allow, anything else → the
//! default). A call a rule matches gets that rule's action (the default program allows it,
//! every other program allows it), a call no rule matches gets the default.
//!
//! Syscalls are those of x86_64. seccompiler's arch check kills a process making a
//! syscall of another architecture (i386's `int 0x80`), and the last program of every
//! stack, written here, answers every x32 number (x86_64's arch with bit 30 set, which no
//! rule can name) with `ENOSYS`, so that none slips past a deny-list or an allowlist.

use std::collections::BTreeMap;

use seccompiler::{
    SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch,
};

use super::profile::{resolve, Action, Arg, Op, Profile, ProfileError};
use super::Programs;

/// The kernel's limit on one program's length.
const BPF_MAXINSNS: usize = 4096;

pub(crate) const X32_SYSCALL_BIT: u32 = 0x4000_0000;
pub(crate) const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;

fn action(a: Action) -> Result<SeccompAction, ProfileError> {
    Ok(match a {
        Action::Allow => SeccompAction::Allow,
        Action::Errno(e) => SeccompAction::Errno(e),
        Action::Trap => SeccompAction::Trap,
        Action::Trace(d) => SeccompAction::Trace(d),
        Action::Log => SeccompAction::Log,
        Action::KillThread => SeccompAction::KillThread,
        Action::KillProcess => SeccompAction::KillProcess,
        Action::Notify => return Err(ProfileError::Notify { rule: None }),
    })
}

fn condition(a: &Arg) -> Result<SeccompCondition, ProfileError> {
    let op = match a.op {
        Op::Eq => SeccompCmpOp::Eq,
        Op::Ne => SeccompCmpOp::Ne,
        Op::Lt => SeccompCmpOp::Lt,
        Op::Le => SeccompCmpOp::Le,
        Op::Ge => SeccompCmpOp::Ge,
        Op::Gt => SeccompCmpOp::Gt,
        Op::MaskedEq(m) => SeccompCmpOp::MaskedEq(m),
    };
    SeccompCondition::new(a.index, SeccompCmpArgLen::Qword, op, a.value)
        .map_err(|e| ProfileError::Compile(e.to_string()))
}

/// Syscall number → the rules that match it (`None`: always).
type SyscallRules = BTreeMap<i64, Option<Vec<SeccompRule>>>;

/// One rule, resolved: its numbers and its conditions (None: unconditional).
struct Resolved {
    action: Action,
    numbers: Vec<i64>,
    conditions: Option<SeccompRule>,
}

/// Adds `rule`'s syscalls to `map` (syscall → rules, an empty list matching always).
fn add(map: &mut SyscallRules, rule: &Resolved) {
    for n in &rule.numbers {
        let e = map.entry(*n).or_insert_with(|| Some(Vec::new()));
        match (&rule.conditions, e.as_mut()) {
            // Unconditional: matches always, whatever else is listed.
            (None, _) => *e = None,
            (Some(c), Some(v)) => v.push(c.clone()),
            (Some(_), None) => {}
        }
    }
}

fn program(
    map: SyscallRules,
    mismatch: SeccompAction,
    matched: SeccompAction,
) -> Result<Vec<seccompiler::sock_filter>, ProfileError> {
    let rules = map.into_iter().map(|(n, r)| (n, r.unwrap_or_default())).collect();
    let filter = SeccompFilter::new(rules, mismatch, matched, TargetArch::x86_64)
        .map_err(|e| ProfileError::Compile(e.to_string()))?;
    let prog: seccompiler::BpfProgram =
        filter.try_into().map_err(|e: seccompiler::BackendError| ProfileError::Compile(e.to_string()))?;
    if prog.len() > BPF_MAXINSNS {
        return Err(ProfileError::TooLong(prog.len()));
    }
    Ok(prog)
}

/// x86_64 calls with the x32 bit → `ENOSYS`, other architectures → kill the process (as
/// seccompiler's programs do), everything else → allow (the other programs decide).
/// Offsets are `struct seccomp_data`'s: nr at 0, arch at 4.
pub(crate) fn x32_guard() -> Vec<seccompiler::sock_filter> {
    use libc::{BPF_ABS, BPF_JEQ, BPF_JGE, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
    let f = |code: u32, jt: u8, jf: u8, k: u32| seccompiler::sock_filter { code: code as u16, jt, jf, k };
    vec![
        f(BPF_LD | BPF_W | BPF_ABS, 0, 0, 4),
        f(BPF_JMP | BPF_JEQ | BPF_K, 0, 4, AUDIT_ARCH_X86_64),
        f(BPF_LD | BPF_W | BPF_ABS, 0, 0, 0),
        f(BPF_JMP | BPF_JGE | BPF_K, 0, 1, X32_SYSCALL_BIT),
        f(BPF_RET | BPF_K, 0, 0, libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
        f(BPF_RET | BPF_K, 0, 0, libc::SECCOMP_RET_ALLOW),
        f(BPF_RET | BPF_K, 0, 0, libc::SECCOMP_RET_KILL_PROCESS),
    ]
}

/// The profile as programs to install in order, plus its filter flags.
pub(crate) fn compile(p: &Profile) -> Result<Programs, ProfileError> {
    if !cfg!(target_arch = "x86_64") {
        return Err(ProfileError::Architecture(std::env::consts::ARCH));
    }
    p.validate()?;
    // Notify rules are the supervisor's (`Profile::take_notify`), not a program's.
    if let Some(i) = p.rules.iter().position(|r| r.action == Action::Notify) {
        return Err(ProfileError::Notify { rule: Some(i) });
    }
    let default = p.default;
    let mut rules = Vec::with_capacity(p.rules.len());
    for (i, r) in p.rules.iter().enumerate() {
        let numbers = r.syscalls.iter().map(|s| resolve(s, i)).collect::<Result<Vec<_>, _>>()?;
        let conditions = if r.args.is_empty() {
            None
        } else {
            let c = r.args.iter().map(condition).collect::<Result<Vec<_>, _>>()?;
            Some(SeccompRule::new(c).map_err(|e| ProfileError::Compile(format!("rule {i}: {e}")))?)
        };
        rules.push(Resolved { action: r.action, numbers, conditions });
    }
    let mut filters = Vec::new();
    // One program per distinct action other than allow and the default.
    let mut by_action: BTreeMap<Action, SyscallRules> = BTreeMap::new();
    for r in rules.iter().filter(|r| r.action != Action::Allow && r.action != default) {
        add(by_action.entry(r.action).or_default(), r);
    }
    for (act, map) in by_action {
        filters.push(program(map, SeccompAction::Allow, action(act)?)?);
    }
    if default != Action::Allow {
        let mut named = BTreeMap::new();
        // A rule with the default action changes nothing (and must not allow).
        for r in rules.iter().filter(|r| r.action != default) {
            add(&mut named, r);
        }
        filters.push(program(named, action(default)?, SeccompAction::Allow)?);
    }
    // Last: among equal actions (an allowlist's ERRNO default) the kernel keeps the most
    // recently installed filter's, so x32 calls see ENOSYS whatever the profile.
    filters.push(x32_guard());
    Ok(Programs { filters, flags: p.flags, name: p.name.clone() })
}
