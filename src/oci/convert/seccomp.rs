//! `linux.seccomp` → a [`Profile`] of the lean library, compiled by its engine
//! (`src/seccomp/compile.rs`: stacked programs, one per action, and the x32 guard).
//!
//! Syscalls are those of the running architecture (x86_64). Names this kernel ABI does not
//! have are skipped with one warning per rule, as runc skips them; a profile's other
//! architectures are refused: the engine's programs kill a process making an i386
//! syscall, and answer every x32 number with `ENOSYS`.

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator, LinuxSyscall,
};

use crate::oci::OciError;
use crate::seccomp::{syscalls, Action, Arg, Op, Profile, ProfileError, Programs, Rule, Syscall};
#[cfg(test)]
use crate::seccomp::{AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use crate::supervisor::Notify;

const FIELD: &str = "linux.seccomp";

fn action(a: LinuxSeccompAction, errno: Option<u32>, field: &str) -> Result<Action, OciError> {
    let errno = errno.unwrap_or(libc::EPERM as u32);
    Ok(match a {
        LinuxSeccompAction::ScmpActAllow => Action::Allow,
        LinuxSeccompAction::ScmpActErrno => {
            if errno > 4095 {
                return Err(OciError::invalid(field, format!("errnoRet {errno} is above 4095")));
            }
            Action::Errno(errno)
        }
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => Action::KillThread,
        LinuxSeccompAction::ScmpActKillProcess => Action::KillProcess,
        LinuxSeccompAction::ScmpActTrap => Action::Trap,
        LinuxSeccompAction::ScmpActTrace => Action::Trace(errno),
        LinuxSeccompAction::ScmpActLog => Action::Log,
        // The notify filter's (`Profile::take_notify`); the listener goes to listenerPath.
        LinuxSeccompAction::ScmpActNotify => Action::Notify,
    })
}

fn condition(arg: &oci_spec::runtime::LinuxSeccompArg, field: &str) -> Result<Arg, OciError> {
    let index = u8::try_from(arg.index()).ok().filter(|i| *i < 6);
    let index = index.ok_or_else(|| {
        OciError::invalid(format!("{field}.index"), format!("{} is not a syscall argument (0..=5)", arg.index()))
    })?;
    Ok(match arg.op() {
        LinuxSeccompOperator::ScmpCmpNe => Arg::new(index, Op::Ne, arg.value()),
        LinuxSeccompOperator::ScmpCmpLt => Arg::new(index, Op::Lt, arg.value()),
        LinuxSeccompOperator::ScmpCmpLe => Arg::new(index, Op::Le, arg.value()),
        LinuxSeccompOperator::ScmpCmpEq => Arg::new(index, Op::Eq, arg.value()),
        LinuxSeccompOperator::ScmpCmpGe => Arg::new(index, Op::Ge, arg.value()),
        LinuxSeccompOperator::ScmpCmpGt => Arg::new(index, Op::Gt, arg.value()),
        // libseccomp's form: `value` is the mask, `valueTwo` what the masked argument equals.
        LinuxSeccompOperator::ScmpCmpMaskedEq => Arg::masked_eq(index, arg.value(), arg.value_two().unwrap_or(0)),
    })
}

fn rule(s: &LinuxSyscall, i: usize, warnings: &mut Vec<String>) -> Result<Rule, OciError> {
    let field = format!("{FIELD}.syscalls[{i}]");
    let action = action(s.action(), s.errno_ret(), &field)?;
    let mut numbers = Vec::new();
    let mut missing = Vec::new();
    for name in s.names() {
        match syscalls::number(name) {
            Some(n) => numbers.push(Syscall::Number(n)),
            None => missing.push(name.as_str()),
        }
    }
    if !missing.is_empty() {
        let shown = missing.iter().take(4).copied().collect::<Vec<_>>().join(", ");
        let more = if missing.len() > 4 { format!(" and {} more", missing.len() - 4) } else { String::new() };
        warnings.push(format!("{field}: skipped {} syscall names x86_64 does not have ({shown}{more})", missing.len()));
    }
    let mut r = Rule::new::<Syscall>(action, numbers);
    for (j, a) in s.args().as_deref().unwrap_or_default().iter().enumerate() {
        r = r.arg(condition(a, &format!("{field}.args[{j}]"))?);
    }
    Ok(r)
}

/// An engine error, named by the spec's field.
fn engine(e: ProfileError) -> OciError {
    match e {
        ProfileError::TooLong(_) | ProfileError::Architecture(_) | ProfileError::Notify { .. } => {
            OciError::unsupported(FIELD, e.to_string())
        }
        ProfileError::UnknownSyscall { rule, .. }
        | ProfileError::SyscallNumber { rule, .. }
        | ProfileError::ArgIndex { rule, .. }
        | ProfileError::Errno { rule: Some(rule), .. } => {
            OciError::invalid(format!("{FIELD}.syscalls[{rule}]"), e.to_string())
        }
        _ => OciError::invalid(FIELD, e.to_string()),
    }
}

/// The spec's profile as a [`Profile`].
pub(super) fn profile(s: &LinuxSeccomp, warnings: &mut Vec<String>) -> Result<Profile, OciError> {
    let archs = s.architectures().as_deref().unwrap_or_default();
    if !archs.is_empty() && !archs.iter().any(|a| matches!(a, Arch::ScmpArchX86_64 | Arch::ScmpArchNative)) {
        return Err(OciError::unsupported(
            format!("{FIELD}.architectures"),
            "the profile does not cover x86_64, the architecture here",
        ));
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
                return Err(OciError::unsupported(
                    format!("{FIELD}.flags"),
                    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a supervisor",
                ))
            }
        };
    }
    let default = action(s.default_action(), s.default_errno_ret(), &format!("{FIELD}.defaultAction"))?;
    if default == Action::Notify {
        // Every syscall, the exec helper's too, would wait for a supervisor not yet there.
        return Err(OciError::unsupported(
            format!("{FIELD}.defaultAction"),
            "SCMP_ACT_NOTIFY as the default action (only rules may notify)",
        ));
    }
    let mut p = Profile::new(default).named("the OCI spec's").filter_flags(flags);
    for (i, r) in s.syscalls().as_deref().unwrap_or_default().iter().enumerate() {
        p = p.rule(rule(r, i, warnings)?);
    }
    Ok(p)
}

/// The profile as programs to install in order (plus its filter flags), and the syscalls
/// its `SCMP_ACT_NOTIFY` rules hand to a supervisor: the runtime sends the listener to
/// `listenerPath`, which such rules need.
pub(super) fn convert(s: &LinuxSeccomp, warnings: &mut Vec<String>) -> Result<(Programs, Option<Notify>), OciError> {
    if !cfg!(target_arch = "x86_64") {
        return Err(OciError::unsupported(FIELD, "seccomp profiles are mapped on x86_64 only"));
    }
    let mut p = profile(s, warnings)?;
    let notify = p.take_notify().map_err(engine)?;
    if let Some(n) = &notify {
        if s.listener_path().is_none() {
            return Err(OciError::invalid(
                format!("{FIELD}.listenerPath"),
                "SCMP_ACT_NOTIFY rules need a listenerPath to send the seccomp listener to",
            ));
        }
        n.validate().map_err(|e| OciError::invalid(FIELD, e.to_string()))?;
    }
    Ok((p.compile().map_err(engine)?, notify))
}

#[cfg(test)]
#[path = "seccomp_tests.rs"]
mod tests;
