//! `linux.seccomp` → stacked seccomp programs (seccompiler builds each).
//!
//! seccompiler gives a program one match action, and a profile has one per rule. The
//! kernel runs every stacked program and keeps the most restrictive verdict, which makes a
//! stack exact: one program per distinct non-allow action (its rules' syscalls and
//! conditions → that action, anything else → allow), and one for the default action
//! (every syscall a rule names, under that rule's conditions → allow, anything else → the
//! default). A call a rule matches gets that rule's action (the default program allows it,
//! every other program allows it), a call no rule matches gets the default.
//!
//! Syscalls are those of the running architecture (x86_64). Names this kernel ABI does not
//! have are skipped with one warning per rule, as runc skips them; a profile's other
//! architectures are refused: seccompiler's arch check kills a process making an i386
//! syscall, and a first program of our own answers every x32 number (x86_64's arch with
//! bit 30 set, which no rule names) with `ENOSYS`, so that none slips past a deny-list.

use std::collections::BTreeMap;

use oci_spec::runtime::{Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator, LinuxSyscall};
use seccompiler::{SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch};

use super::syscalls;
use crate::oci::OciError;
use crate::seccomp::Programs;

const FIELD: &str = "linux.seccomp";

/// The kernel's limit on one program's length.
const BPF_MAXINSNS: usize = 4096;

fn action(a: LinuxSeccompAction, errno: Option<u32>, field: &str) -> Result<SeccompAction, OciError> {
    let errno = errno.unwrap_or(libc::EPERM as u32);
    Ok(match a {
        LinuxSeccompAction::ScmpActAllow => SeccompAction::Allow,
        LinuxSeccompAction::ScmpActErrno => {
            if errno > 4095 {
                return Err(OciError::invalid(field, format!("errnoRet {errno} is above 4095")));
            }
            SeccompAction::Errno(errno)
        }
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => SeccompAction::KillThread,
        LinuxSeccompAction::ScmpActKillProcess => SeccompAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => SeccompAction::Trap,
        LinuxSeccompAction::ScmpActTrace => SeccompAction::Trace(errno),
        LinuxSeccompAction::ScmpActLog => SeccompAction::Log,
        LinuxSeccompAction::ScmpActNotify => {
            return Err(OciError::unsupported(field, "SCMP_ACT_NOTIFY (a seccomp supervisor) is not supported yet"))
        }
    })
}

/// A sortable key for an action (SeccompAction is not Ord).
fn key(a: &SeccompAction) -> u32 {
    u32::from(a.clone())
}

fn condition(arg: &oci_spec::runtime::LinuxSeccompArg, field: &str) -> Result<SeccompCondition, OciError> {
    let index = u8::try_from(arg.index()).ok().filter(|i| *i < 6);
    let index = index.ok_or_else(|| OciError::invalid(format!("{field}.index"), format!("{} is not a syscall argument (0..=5)", arg.index())))?;
    let (op, value) = match arg.op() {
        LinuxSeccompOperator::ScmpCmpNe => (SeccompCmpOp::Ne, arg.value()),
        LinuxSeccompOperator::ScmpCmpLt => (SeccompCmpOp::Lt, arg.value()),
        LinuxSeccompOperator::ScmpCmpLe => (SeccompCmpOp::Le, arg.value()),
        LinuxSeccompOperator::ScmpCmpEq => (SeccompCmpOp::Eq, arg.value()),
        LinuxSeccompOperator::ScmpCmpGe => (SeccompCmpOp::Ge, arg.value()),
        LinuxSeccompOperator::ScmpCmpGt => (SeccompCmpOp::Gt, arg.value()),
        // libseccomp's form: `value` is the mask, `valueTwo` what the masked argument equals.
        LinuxSeccompOperator::ScmpCmpMaskedEq => (SeccompCmpOp::MaskedEq(arg.value()), arg.value_two().unwrap_or(0)),
    };
    SeccompCondition::new(index, SeccompCmpArgLen::Qword, op, value).map_err(|e| OciError::invalid(field, e.to_string()))
}

/// Syscall number → the rules that match it (`None`: always).
type SyscallRules = BTreeMap<i64, Option<Vec<SeccompRule>>>;

/// One rule's syscall numbers and its conditions (None: unconditional).
struct Rule {
    action: SeccompAction,
    numbers: Vec<i64>,
    conditions: Option<SeccompRule>,
}

fn rule(s: &LinuxSyscall, i: usize, warnings: &mut Vec<String>) -> Result<Rule, OciError> {
    let field = format!("{FIELD}.syscalls[{i}]");
    let action = action(s.action(), s.errno_ret(), &field)?;
    let mut numbers = Vec::new();
    let mut missing = Vec::new();
    for name in s.names() {
        match syscalls::number(name) {
            Some(n) => numbers.push(n),
            None => missing.push(name.as_str()),
        }
    }
    if !missing.is_empty() {
        let shown = missing.iter().take(4).copied().collect::<Vec<_>>().join(", ");
        let more = if missing.len() > 4 { format!(" and {} more", missing.len() - 4) } else { String::new() };
        warnings.push(format!("{field}: skipped {} syscall names x86_64 does not have ({shown}{more})", missing.len()));
    }
    let conds = s.args().as_deref().unwrap_or_default();
    let conditions = if conds.is_empty() {
        None
    } else {
        let c = conds.iter().enumerate().map(|(j, a)| condition(a, &format!("{field}.args[{j}]"))).collect::<Result<Vec<_>, _>>()?;
        Some(SeccompRule::new(c).map_err(|e| OciError::invalid(&field, e.to_string()))?)
    };
    Ok(Rule { action, numbers, conditions })
}

/// Adds `rule`'s syscalls to `map` (syscall → rules, an empty list matching always).
fn add(map: &mut SyscallRules, rule: &Rule) {
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

fn program(map: SyscallRules, mismatch: SeccompAction, matched: SeccompAction) -> Result<Vec<seccompiler::sock_filter>, OciError> {
    let rules = map.into_iter().map(|(n, r)| (n, r.unwrap_or_default())).collect();
    let filter = SeccompFilter::new(rules, mismatch, matched, TargetArch::x86_64).map_err(|e| OciError::invalid(FIELD, e.to_string()))?;
    let prog: seccompiler::BpfProgram = filter.try_into().map_err(|e: seccompiler::BackendError| OciError::invalid(FIELD, e.to_string()))?;
    if prog.len() > BPF_MAXINSNS {
        return Err(OciError::unsupported(FIELD, format!("a program of {} instructions is over the kernel's {BPF_MAXINSNS}", prog.len())));
    }
    Ok(prog)
}

const X32_SYSCALL_BIT: u32 = 0x4000_0000;
const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;

/// x86_64 calls with the x32 bit → `ENOSYS`; everything else → allow (the other programs
/// decide). Offsets are `struct seccomp_data`'s: nr at 0, arch at 4.
fn x32_guard() -> Vec<seccompiler::sock_filter> {
    use libc::{BPF_ABS, BPF_JEQ, BPF_JGE, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
    let f = |code: u32, jt: u8, jf: u8, k: u32| seccompiler::sock_filter { code: code as u16, jt, jf, k };
    vec![
        f(BPF_LD | BPF_W | BPF_ABS, 0, 0, 4),
        f(BPF_JMP | BPF_JEQ | BPF_K, 0, 3, AUDIT_ARCH_X86_64),
        f(BPF_LD | BPF_W | BPF_ABS, 0, 0, 0),
        f(BPF_JMP | BPF_JGE | BPF_K, 0, 1, X32_SYSCALL_BIT),
        f(BPF_RET | BPF_K, 0, 0, libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
        f(BPF_RET | BPF_K, 0, 0, libc::SECCOMP_RET_ALLOW),
    ]
}

/// The profile as programs to install in order, plus its filter flags.
pub(super) fn convert(s: &LinuxSeccomp, warnings: &mut Vec<String>) -> Result<Programs, OciError> {
    if !cfg!(target_arch = "x86_64") {
        return Err(OciError::unsupported(FIELD, "seccomp profiles are mapped on x86_64 only"));
    }
    if s.listener_path().is_some() {
        return Err(OciError::unsupported(format!("{FIELD}.listenerPath"), "a seccomp supervisor is not supported yet"));
    }
    let archs = s.architectures().as_deref().unwrap_or_default();
    if !archs.is_empty() && !archs.iter().any(|a| matches!(a, Arch::ScmpArchX86_64 | Arch::ScmpArchNative)) {
        return Err(OciError::unsupported(format!("{FIELD}.architectures"), "the profile does not cover x86_64, the architecture here"));
    }
    if archs.iter().any(|a| !matches!(a, Arch::ScmpArchX86_64 | Arch::ScmpArchNative)) {
        warnings.push(format!("{FIELD}.architectures: only x86_64 syscalls are filtered; a syscall of another architecture (x86, x32) is refused"));
    }
    let mut flags = 0u32;
    for f in s.flags().as_deref().unwrap_or_default() {
        flags |= match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG as u32,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW as u32,
            // The child is single-threaded: nothing to synchronise.
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => 0,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                return Err(OciError::unsupported(format!("{FIELD}.flags"), "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a supervisor"))
            }
        };
    }
    let default = action(s.default_action(), s.default_errno_ret(), &format!("{FIELD}.defaultAction"))?;
    let rules = s.syscalls().as_deref().unwrap_or_default();
    let rules = rules.iter().enumerate().map(|(i, r)| rule(r, i, warnings)).collect::<Result<Vec<_>, _>>()?;
    let mut filters = vec![x32_guard()];
    // One program per distinct action other than allow and the default.
    let mut by_action: BTreeMap<u32, (SeccompAction, SyscallRules)> = BTreeMap::new();
    for r in rules.iter().filter(|r| r.action != SeccompAction::Allow && r.action != default) {
        add(&mut by_action.entry(key(&r.action)).or_insert_with(|| (r.action.clone(), BTreeMap::new())).1, r);
    }
    for (_, (act, map)) in by_action {
        filters.push(program(map, SeccompAction::Allow, act)?);
    }
    if default != SeccompAction::Allow {
        let mut named = BTreeMap::new();
        // A rule with the default action changes nothing (and must not allow).
        for r in rules.iter().filter(|r| r.action != default) {
            add(&mut named, r);
        }
        filters.push(program(named, default, SeccompAction::Allow)?);
    }
    Ok(Programs { filters, flags })
}

#[cfg(test)]
#[path = "seccomp_tests.rs"]
mod tests;
