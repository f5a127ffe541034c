//! [`Profile`]: a typed seccomp profile (a default action, and rules giving syscalls an
//! action, optionally under argument conditions), checked here and compiled to stacked
//! BPF programs by `compile.rs`.

use std::fmt;

/// What a filter does with a syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Let it run.
    Allow,
    /// Fail it with this errno (1..=4095) without running it.
    Errno(u32),
    /// Send `SIGSYS` to the thread.
    Trap,
    /// Notify a `ptrace` tracer (with this value as the event message); without one the
    /// call fails with `ENOSYS`.
    Trace(u32),
    /// Let it run and log it (`kernel.seccomp.actions_logged`).
    Log,
    /// Kill the thread.
    KillThread,
    /// Kill the whole process.
    KillProcess,
    /// Hand the call to a supervisor (`SECCOMP_RET_USER_NOTIF`): not supported yet, every
    /// profile naming it is refused with [`ProfileError::Notify`].
    Notify,
}

/// How a syscall argument is compared with a value (64-bit, unsigned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `arg == value`
    Eq,
    /// `arg != value`
    Ne,
    /// `arg < value`
    Lt,
    /// `arg <= value`
    Le,
    /// `arg >= value`
    Ge,
    /// `arg > value`
    Gt,
    /// `arg & mask == value`
    MaskedEq(u64),
}

/// A condition on argument `index` (0..=5) of a syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Arg {
    /// The argument, 0..=5.
    pub index: u8,
    /// The comparison.
    pub op: Op,
    /// What the argument is compared with.
    pub value: u64,
}

impl Arg {
    /// `args[index] op value`.
    pub fn new(index: u8, op: Op, value: u64) -> Arg {
        Arg { index, op, value }
    }

    /// `args[index] & mask == value`.
    pub fn masked_eq(index: u8, mask: u64, value: u64) -> Arg {
        Arg { index, op: Op::MaskedEq(mask), value }
    }
}

/// A syscall, by name (of the running architecture's table) or by number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Syscall {
    /// A name such as `"openat"`; one the table does not know is
    /// [`ProfileError::UnknownSyscall`].
    Name(String),
    /// A number (`libc::SYS_*`), 0..1024.
    Number(i64),
}

impl From<&str> for Syscall {
    fn from(s: &str) -> Syscall {
        Syscall::Name(s.to_string())
    }
}

impl From<String> for Syscall {
    fn from(s: String) -> Syscall {
        Syscall::Name(s)
    }
}

impl From<i64> for Syscall {
    fn from(n: i64) -> Syscall {
        Syscall::Number(n)
    }
}

impl fmt::Display for Syscall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Syscall::Name(n) => f.write_str(n),
            Syscall::Number(n) => write!(f, "#{n}"),
        }
    }
}

/// Syscalls that get `action` when every condition in `args` holds (all of them: the
/// conditions of one rule are ANDed; several rules naming a syscall are ORed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The syscalls.
    pub syscalls: Vec<Syscall>,
    /// What they get.
    pub action: Action,
    /// Conditions, all of which must hold; empty: always.
    pub args: Vec<Arg>,
}

impl Rule {
    /// `syscalls` get `action`, whatever their arguments.
    pub fn new<S: Into<Syscall>>(action: Action, syscalls: impl IntoIterator<Item = S>) -> Rule {
        Rule { syscalls: syscalls.into_iter().map(Into::into).collect(), action, args: Vec::new() }
    }

    /// Adds a condition on an argument.
    pub fn arg(mut self, a: Arg) -> Rule {
        self.args.push(a);
        self
    }
}

/// A seccomp profile: a default action for syscalls no rule matches, and rules. Compiled
/// in the parent to stacked programs (one per distinct action, see `compile.rs`) that
/// the child installs before exec; the last program of every compiled profile refuses
/// x32 syscall numbers (x86_64's with bit 30 set) with `ENOSYS`, and every program kills
/// a process making a syscall of another architecture (i386's `int 0x80`).
///
/// [`Profile::default_profile`] is the allowlist cocoon applies by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub(crate) name: String,
    pub(crate) default: Action,
    pub(crate) rules: Vec<Rule>,
    pub(crate) flags: u32,
}

impl Profile {
    /// An empty profile: every syscall gets `default`.
    pub fn new(default: Action) -> Profile {
        Profile { name: String::from("custom"), default, rules: Vec::new(), flags: 0 }
    }

    /// Adds a rule (rules are ORed; the kernel keeps the most restrictive action when
    /// rules with different actions match one call).
    pub fn rule(mut self, r: Rule) -> Profile {
        self.rules.push(r);
        self
    }

    /// A name shown in messages (`cocoon-run --verbose`); "custom" unless set.
    pub fn named(mut self, name: impl Into<String>) -> Profile {
        self.name = name.into();
        self
    }

    /// `SECCOMP_FILTER_FLAG_*` flags the programs are installed with (LOG, SPEC_ALLOW).
    pub fn filter_flags(mut self, flags: u32) -> Profile {
        self.flags = flags;
        self
    }

    /// The profile's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The default action.
    pub fn default_action(&self) -> Action {
        self.default
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Takes the profile's [`Action::Notify`] rules out as a [`crate::supervisor::Notify`]:
    /// their syscalls become allowed here, so that the notify filter installed after the
    /// profile decides them (the kernel would prefer an ERRNO over USER_NOTIF). A notify
    /// rule with argument conditions is refused ([`ProfileError::Notify`]): the notify
    /// filter hands over every call of its syscalls.
    pub fn take_notify(&mut self) -> Result<Option<crate::supervisor::Notify>, ProfileError> {
        let mut nrs = Vec::new();
        for (i, r) in self.rules.iter_mut().enumerate() {
            if r.action != Action::Notify {
                continue;
            }
            if !r.args.is_empty() {
                return Err(ProfileError::Notify { rule: Some(i) });
            }
            for s in &r.syscalls {
                nrs.push(resolve(s, i)?);
            }
            r.action = Action::Allow;
        }
        Ok((!nrs.is_empty()).then(|| crate::supervisor::Notify::syscalls(nrs)))
    }

    /// Checks actions, syscalls and conditions without compiling.
    pub fn validate(&self) -> Result<(), ProfileError> {
        check_action(self.default, None)?;
        if self.flags & !ALLOWED_FLAGS != 0 {
            return Err(ProfileError::Flags(self.flags));
        }
        for (i, r) in self.rules.iter().enumerate() {
            check_action(r.action, Some(i))?;
            for s in &r.syscalls {
                resolve(s, i)?;
            }
            if let Some(a) = r.args.iter().find(|a| a.index > 5) {
                return Err(ProfileError::ArgIndex { rule: i, index: a.index });
            }
        }
        Ok(())
    }
}

/// LOG | SPEC_ALLOW.
const ALLOWED_FLAGS: u32 = (libc::SECCOMP_FILTER_FLAG_LOG | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW) as u32;

fn check_action(a: Action, rule: Option<usize>) -> Result<(), ProfileError> {
    match a {
        Action::Errno(e) if !(1..=4095).contains(&e) => Err(ProfileError::Errno { rule, errno: e }),
        Action::Trace(d) if d > 0xffff => Err(ProfileError::Errno { rule, errno: d }),
        // A rule may notify (taken out by `take_notify`); the default action may not.
        Action::Notify if rule.is_none() => Err(ProfileError::Notify { rule }),
        _ => Ok(()),
    }
}

/// A syscall's number on the running architecture.
pub(crate) fn resolve(s: &Syscall, rule: usize) -> Result<i64, ProfileError> {
    match s {
        Syscall::Number(n) if (0..1024).contains(n) => Ok(*n),
        Syscall::Number(n) => Err(ProfileError::SyscallNumber { rule, number: *n }),
        Syscall::Name(name) => {
            super::syscalls::number(name).ok_or_else(|| ProfileError::UnknownSyscall { rule, name: name.clone() })
        }
    }
}

/// Why a [`Profile`] cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// A syscall name the architecture's table does not have.
    #[error("seccomp profile rule {rule}: unknown syscall {name:?}")]
    UnknownSyscall {
        /// The rule's index.
        rule: usize,
        /// The name.
        name: String,
    },
    /// A syscall number outside 0..1024.
    #[error("seccomp profile rule {rule}: {number} is not a syscall number")]
    SyscallNumber {
        /// The rule's index.
        rule: usize,
        /// The number.
        number: i64,
    },
    /// An argument condition on an index above 5.
    #[error("seccomp profile rule {rule}: argument {index} does not exist (0..=5)")]
    ArgIndex {
        /// The rule's index.
        rule: usize,
        /// The index.
        index: u8,
    },
    /// An errno outside 1..=4095 (or a trace value above 0xffff).
    #[error("seccomp profile {}: errno {errno} is outside 1..=4095", rule_name(*rule))]
    Errno {
        /// The rule's index; `None`: the default action.
        rule: Option<usize>,
        /// The value.
        errno: u32,
    },
    /// [`Action::Notify`] as the default action, or on a rule with argument conditions, or
    /// in a profile compiled without taking its notify rules out ([`Profile::take_notify`]).
    #[error("seccomp profile {}: SCMP_ACT_NOTIFY (a seccomp supervisor) is not supported yet", rule_name(*rule))]
    Notify {
        /// The rule's index; `None`: the default action.
        rule: Option<usize>,
    },
    /// Filter flags other than LOG and SPEC_ALLOW.
    #[error("seccomp profile: filter flags {0:#x} are not supported (LOG and SPEC_ALLOW are)")]
    Flags(u32),
    /// Profiles are compiled for x86_64 only.
    #[error("seccomp profiles are compiled for x86_64 only, not {0}")]
    Architecture(&'static str),
    /// A program came out longer than the kernel's 4096 instructions.
    #[error("seccomp profile: a program of {0} instructions is over the kernel's 4096")]
    TooLong(usize),
    /// A Docker JSON profile could not be read (`Profile::from_docker_json`, feature
    /// `oci` or `image`).
    #[error("seccomp profile JSON: {0}")]
    Json(String),
    /// The BPF compiler refused the rules.
    #[error("seccomp profile: {0}")]
    Compile(String),
}

fn rule_name(rule: Option<usize>) -> String {
    match rule {
        Some(i) => format!("rule {i}"),
        None => String::from("default action"),
    }
}
