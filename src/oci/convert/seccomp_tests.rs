//! The stacked programs run in a cBPF interpreter (the opcodes seccompiler and
//! `x32_guard` emit) and combined as the kernel combines stacked filters: x32 and i386
//! numbers, per-rule actions and errnos, argument conditions, the default action.

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction as A, LinuxSeccompArgBuilder, LinuxSeccompBuilder, LinuxSeccompOperator,
    LinuxSyscallBuilder,
};

use super::*;

use crate::seccomp::tests::verdict;

const X86_64: u32 = AUDIT_ARCH_X86_64;
const I386: u32 = 0x4000_0003;
const ERRNO: u32 = libc::SECCOMP_RET_ERRNO;
const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;

fn profile(default: A, rules: Vec<oci_spec::runtime::LinuxSyscall>) -> LinuxSeccomp {
    LinuxSeccompBuilder::default()
        .default_action(default)
        .architectures(vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32])
        .syscalls(rules)
        .build()
        .unwrap()
}

fn sys(names: &[&str], action: A, errno: Option<u32>) -> oci_spec::runtime::LinuxSyscall {
    let mut b =
        LinuxSyscallBuilder::default().names(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).action(action);
    if let Some(e) = errno {
        b = b.errno_ret(e);
    }
    b.build().unwrap()
}

fn nr(name: &str) -> i64 {
    syscalls::number(name).unwrap()
}

#[test]
fn a_deny_list_blocks_x32_and_i386_numbers_too() {
    let mut w = Vec::new();
    let p = convert(&profile(A::ScmpActAllow, vec![sys(&["mkdir", "mkdirat"], A::ScmpActErrno, Some(13))]), &mut w)
        .unwrap()
        .0;
    let none = [0; 6];
    assert_eq!(verdict(&p, nr("mkdir"), X86_64, none), ERRNO | 13);
    assert_eq!(verdict(&p, nr("mkdirat"), X86_64, none), ERRNO | 13);
    assert_eq!(verdict(&p, nr("getpid"), X86_64, none), ALLOW);
    // x32's mkdir/mkdirat: the same numbers with bit 30, which no rule names.
    for n in [nr("mkdir"), nr("mkdirat"), 0, 511] {
        assert_eq!(verdict(&p, n | i64::from(X32_SYSCALL_BIT), X86_64, none), ERRNO | libc::ENOSYS as u32, "x32 {n}");
    }
    // i386 (int 0x80): killed by the arch check, whatever the number.
    assert_eq!(verdict(&p, 39, I386, none), libc::SECCOMP_RET_KILL_PROCESS);
    assert!(w.iter().any(|m| m.contains("architectures")), "{w:?}");
}

#[test]
fn an_allow_list_with_per_rule_errnos_and_conditions() {
    let cond = LinuxSeccompArgBuilder::default()
        .index(1usize)
        .value(libc::SIGUSR1 as u64)
        .op(LinuxSeccompOperator::ScmpCmpEq)
        .build()
        .unwrap();
    let mut kill_usr1 = sys(&["kill"], A::ScmpActErrno, Some(13));
    kill_usr1.set_args(Some(vec![cond]));
    let masked = LinuxSeccompArgBuilder::default()
        .index(0usize)
        .value(0x7E02_0000u64)
        .value_two(0u64)
        .op(LinuxSeccompOperator::ScmpCmpMaskedEq)
        .build()
        .unwrap();
    let mut clone_plain = sys(&["clone"], A::ScmpActAllow, None);
    clone_plain.set_args(Some(vec![masked]));
    let rules = vec![
        sys(&["read", "write", "kill", "exit_group", "no_such_syscall"], A::ScmpActAllow, None),
        sys(&["clone3"], A::ScmpActErrno, Some(38)),
        kill_usr1,
        clone_plain,
        // The default action again: changes nothing, allows nothing.
        sys(&["reboot"], A::ScmpActErrno, None),
    ];
    let mut w = Vec::new();
    let p = convert(&profile(A::ScmpActErrno, rules), &mut w).unwrap().0;
    let none = [0; 6];
    assert_eq!(verdict(&p, nr("read"), X86_64, none), ALLOW);
    assert_eq!(verdict(&p, nr("openat"), X86_64, none), ERRNO | libc::EPERM as u32, "not listed: the default");
    assert_eq!(verdict(&p, nr("reboot"), X86_64, none), ERRNO | libc::EPERM as u32);
    assert_eq!(verdict(&p, nr("clone3"), X86_64, none), ERRNO | 38);
    assert_eq!(verdict(&p, nr("kill"), X86_64, [1, 0, 0, 0, 0, 0]), ALLOW);
    assert_eq!(verdict(&p, nr("kill"), X86_64, [1, libc::SIGUSR1 as u64, 0, 0, 0, 0]), ERRNO | 13);
    assert_eq!(verdict(&p, nr("clone"), X86_64, [libc::SIGCHLD as u64, 0, 0, 0, 0, 0]), ALLOW);
    assert_eq!(
        verdict(&p, nr("clone"), X86_64, [libc::CLONE_NEWUSER as u64, 0, 0, 0, 0, 0]),
        ERRNO | libc::EPERM as u32
    );
    assert!(w.iter().any(|m| m.contains("no_such_syscall")), "{w:?}");
}

#[test]
fn what_cannot_be_honoured_is_named() {
    let mut w = Vec::new();
    // Notify rules need a listenerPath; with one they become the supervisor's syscalls.
    let mut notify = profile(A::ScmpActAllow, vec![sys(&["mkdir"], A::ScmpActNotify, None)]);
    assert!(
        matches!(convert(&notify, &mut w), Err(OciError::Invalid { field, .. }) if field == "linux.seccomp.listenerPath")
    );
    notify.set_listener_path(Some("/run/x.sock".into()));
    let n = convert(&notify, &mut w).map(|(_, n)| n.map(|n| n.syscall_numbers().collect::<Vec<_>>()));
    assert!(matches!(n, Ok(Some(ref v)) if v == &[libc::SYS_mkdir]), "{n:?}");
    let mut listener = profile(A::ScmpActAllow, vec![]);
    listener.set_listener_path(Some("/run/x.sock".into()));
    assert!(matches!(convert(&listener, &mut w), Ok((_, None))));
    // The exec helper's syscalls cannot be notified.
    let mut helper = profile(A::ScmpActAllow, vec![sys(&["execve"], A::ScmpActNotify, None)]);
    helper.set_listener_path(Some("/run/x.sock".into()));
    assert!(matches!(convert(&helper, &mut w), Err(OciError::Invalid { .. })));
    let mut arm = profile(A::ScmpActAllow, vec![]);
    arm.set_architectures(Some(vec![Arch::ScmpArchAarch64]));
    assert!(
        matches!(convert(&arm, &mut w), Err(OciError::Unsupported { field, .. }) if field == "linux.seccomp.architectures")
    );
    let big = profile(A::ScmpActAllow, vec![sys(&["mkdir"], A::ScmpActErrno, Some(5000))]);
    assert!(matches!(convert(&big, &mut w), Err(OciError::Invalid { .. })));
}
