//! Compiled profiles run in a tiny cBPF interpreter (the opcodes seccompiler and the x32
//! guard emit) and combined as the kernel combines stacked filters. This kernel has x32
//! off, so the x32 guard can only be checked here.

use super::*;
use crate::capability::{CapSet, Capability};

/// One program over (nr, arch, args).
pub(crate) fn run(prog: &[seccompiler::sock_filter], nr: u32, arch: u32, args: [u64; 6]) -> u32 {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_le_bytes());
    data[4..8].copy_from_slice(&arch.to_le_bytes());
    for (i, a) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
    }
    let (mut acc, mut pc) = (0u32, 0usize);
    loop {
        let i = &prog[pc];
        pc += 1;
        let (class, op) = (u32::from(i.code) & 0x07, u32::from(i.code) & 0xf0);
        match class {
            libc::BPF_LD => {
                let o = i.k as usize;
                acc = u32::from_le_bytes(data[o..o + 4].try_into().unwrap());
            }
            libc::BPF_ALU if op == libc::BPF_AND => acc &= i.k,
            libc::BPF_RET => return i.k,
            libc::BPF_JMP if op == libc::BPF_JA => pc += i.k as usize,
            libc::BPF_JMP => {
                let hit = match op {
                    libc::BPF_JEQ => acc == i.k,
                    libc::BPF_JGT => acc > i.k,
                    libc::BPF_JGE => acc >= i.k,
                    o => panic!("unexpected jump {o:#x}"),
                };
                pc += usize::from(if hit { i.jt } else { i.jf });
            }
            c => panic!("unexpected class {c:#x}"),
        }
    }
}

/// The stack's verdict: the most restrictive action wins (the kernel's order; data kept
/// from the first such, as the kernel keeps the most recently installed's). Also used by
/// the OCI converter's tests.
pub(crate) fn verdict(p: &Programs, nr: i64, arch: u32, args: [u64; 6]) -> u32 {
    let mut best = libc::SECCOMP_RET_ALLOW;
    for prog in p.filters.iter().rev() {
        let r = run(prog, nr as u32, arch, args);
        if ((r & 0xffff_0000) as i32) < ((best & 0xffff_0000) as i32) {
            best = r;
        }
    }
    best
}

const X86_64: u32 = AUDIT_ARCH_X86_64;
const I386: u32 = 0x4000_0003;
const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const EPERM: u32 = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
const ENOSYS: u32 = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
const KILL: u32 = libc::SECCOMP_RET_KILL_PROCESS;

fn nr(name: &str) -> i64 {
    syscalls::number(name).unwrap_or_else(|| panic!("{name}"))
}

fn call(p: &Programs, name: &str, args: [u64; 6]) -> u32 {
    verdict(p, nr(name), X86_64, args)
}

fn arg0(a: u64) -> [u64; 6] {
    [a, 0, 0, 0, 0, 0]
}

fn default(caps: CapSet) -> Programs {
    Profile::default_profile(caps).compile().unwrap()
}

#[test]
fn every_compiled_profile_refuses_x32_and_kills_i386() {
    let profiles = [
        Profile::default_profile(CapSet::EMPTY),
        Profile::default_profile(CapSet::all()),
        Profile::new(Action::Allow).rule(Rule::new(Action::Errno(13), ["mkdir"])),
        Profile::new(Action::Allow),
        Profile::new(Action::KillProcess).rule(Rule::new(Action::Allow, ["read", "write"])),
    ];
    for p in profiles {
        let c = p.compile().unwrap();
        // A kill default is more restrictive than the guard's ENOSYS, and wins.
        let want = if p.default_action() == Action::KillProcess { KILL } else { ENOSYS };
        assert!(c.filters.last() == Some(&compile::x32_guard()), "the x32 guard comes last");
        for n in 0..1024 {
            let x32 = n | i64::from(X32_SYSCALL_BIT);
            assert_eq!(verdict(&c, x32, X86_64, [0; 6]), want, "x32 {n} in {p:?}");
        }
        assert_eq!(verdict(&c, 0, I386, [0; 6]), KILL, "i386 read");
        assert_eq!(verdict(&c, 3, 0xdead_beef, [0; 6]), KILL, "an unknown architecture");
    }
}

#[test]
fn default_profile_refuses_what_the_minimum_policy_refused() {
    let p = default(crate::Capabilities::docker_default().bounding);
    for name in ["add_key", "request_key", "keyctl", "setns"] {
        assert_eq!(call(&p, name, [0; 6]), EPERM, "{name}");
    }
    assert_eq!(call(&p, "clone3", [0; 6]), ENOSYS);
    let sigchld = libc::SIGCHLD as u64;
    assert_eq!(call(&p, "clone", arg0(sigchld)), ALLOW, "fork");
    let thread =
        (libc::CLONE_VM | libc::CLONE_FS | libc::CLONE_FILES | libc::CLONE_SIGHAND | libc::CLONE_THREAD) as u64;
    assert_eq!(call(&p, "clone", arg0(thread)), ALLOW, "a thread");
    assert_eq!(call(&p, "unshare", arg0((libc::CLONE_FILES | libc::CLONE_FS) as u64)), ALLOW);
    for f in [libc::CLONE_NEWUSER, libc::CLONE_NEWNS, libc::CLONE_NEWNET, libc::CLONE_NEWPID, libc::CLONE_NEWCGROUP] {
        assert_eq!(call(&p, "clone", arg0(sigchld | f as u64)), EPERM, "clone {f:#x}");
        assert_eq!(call(&p, "unshare", arg0(f as u64)), EPERM, "unshare {f:#x}");
    }
    assert_eq!(call(&p, "unshare", arg0(libc::CLONE_NEWTIME as u64)), EPERM);
    // Upper bits do not hide a namespace flag.
    assert_eq!(call(&p, "clone", arg0((1 << 40) | libc::CLONE_NEWUSER as u64)), EPERM);
}

#[test]
fn default_profile_is_an_allowlist() {
    let p = default(crate::Capabilities::docker_default().bounding);
    for name in [
        "bpf",
        "perf_event_open",
        "kexec_load",
        "open_by_handle_at",
        "mount",
        "umount2",
        "ptrace",
        "init_module",
        "reboot",
        "swapon",
        "userfaultfd",
        "io_uring_setup",
        "settimeofday",
        "pivot_root",
        "fsopen",
        "acct",
        "process_vm_readv",
        "iopl",
        "add_key",
    ] {
        assert_eq!(call(&p, name, [0; 6]), EPERM, "{name}");
    }
    // What the exec helper, cocoon's init and the child's last steps use.
    for name in [
        "execveat",
        "execve",
        "openat2",
        "openat",
        "fstatfs",
        "write",
        "close",
        "fcntl",
        "prctl",
        "sendto",
        "exit_group",
        "rt_sigprocmask",
        "rt_sigaction",
        "rt_sigtimedwait",
        "wait4",
        "kill",
        "close_range",
        "setresuid",
        "setresgid",
        "setgroups",
        "capset",
        "fchdir",
        "umask",
        "seccomp",
        "landlock_create_ruleset",
        "landlock_add_rule",
        "landlock_restrict_self",
        "chroot",
    ] {
        assert_eq!(call(&p, name, [0; 6]), ALLOW, "{name}");
    }
    // personality: only the values programs use.
    for v in [0, 8, 0x20000, 0x20008, 0xffff_ffff] {
        assert_eq!(call(&p, "personality", arg0(v)), ALLOW, "personality {v:#x}");
    }
    assert_eq!(call(&p, "personality", arg0(0x0040_0000 /* READ_IMPLIES_EXEC */)), EPERM);
    assert_eq!(call(&p, "socket", arg0(libc::AF_INET as u64)), ALLOW);
    assert_eq!(call(&p, "socket", arg0(libc::AF_UNIX as u64)), ALLOW);
    assert_eq!(call(&p, "socket", arg0(libc::AF_VSOCK as u64)), EPERM);
    // Without CAP_SYS_CHROOT, no chroot.
    assert_eq!(call(&default(CapSet::EMPTY), "chroot", [0; 6]), EPERM);
}

#[test]
fn kept_capabilities_widen_the_default_profile() {
    let with = |c: Capability| default(CapSet::EMPTY.with(c));
    let admin = with(Capability::CAP_SYS_ADMIN);
    for name in ["mount", "umount2", "setns", "unshare", "fsopen", "bpf", "perf_event_open"] {
        assert_eq!(call(&admin, name, arg0(libc::CLONE_NEWUSER as u64)), ALLOW, "{name} with CAP_SYS_ADMIN");
    }
    assert_eq!(call(&admin, "clone", arg0(libc::CLONE_NEWUSER as u64)), ALLOW);
    assert_eq!(call(&admin, "clone3", [0; 6]), ALLOW);
    assert_eq!(call(&admin, "keyctl", [0; 6]), EPERM, "keyrings stay refused");
    assert_eq!(call(&admin, "kexec_load", [0; 6]), EPERM);
    for (cap, name) in [
        (Capability::CAP_SYS_PTRACE, "ptrace"),
        (Capability::CAP_SYS_PTRACE, "process_vm_writev"),
        (Capability::CAP_SYS_MODULE, "finit_module"),
        (Capability::CAP_SYS_TIME, "clock_settime"),
        (Capability::CAP_SYS_BOOT, "reboot"),
        (Capability::CAP_SYS_NICE, "mbind"),
        (Capability::CAP_SYS_RAWIO, "iopl"),
        (Capability::CAP_SYS_CHROOT, "chroot"),
        (Capability::CAP_BPF, "bpf"),
        (Capability::CAP_PERFMON, "perf_event_open"),
        (Capability::CAP_DAC_READ_SEARCH, "open_by_handle_at"),
    ] {
        assert_eq!(call(&default(CapSet::EMPTY), name, [0; 6]), EPERM, "{name} without {cap}");
        assert_eq!(call(&with(cap), name, [0; 6]), ALLOW, "{name} with {cap}");
    }
}

#[test]
fn rules_actions_and_conditions() {
    let p = Profile::new(Action::Errno(1))
        .rule(Rule::new(Action::Allow, ["read", "write", "kill"]))
        .rule(Rule::new(Action::Errno(13), ["kill"]).arg(Arg::new(1, Op::Eq, libc::SIGUSR1 as u64)))
        .rule(Rule::new(Action::Allow, [libc::SYS_getpid]))
        .rule(Rule::new(Action::Trap, ["mkdir"]))
        .rule(Rule::new(Action::Allow, ["lseek"]).arg(Arg::new(2, Op::Le, 1)))
        .rule(Rule::new(Action::Allow, ["dup"]).arg(Arg::new(0, Op::Gt, 2)).arg(Arg::new(0, Op::Lt, 10)))
        .compile()
        .unwrap();
    assert_eq!(call(&p, "read", [0; 6]), ALLOW);
    assert_eq!(call(&p, "getpid", [0; 6]), ALLOW);
    assert_eq!(call(&p, "openat", [0; 6]), EPERM);
    assert_eq!(call(&p, "kill", [1, 9, 0, 0, 0, 0]), ALLOW);
    assert_eq!(call(&p, "kill", [1, libc::SIGUSR1 as u64, 0, 0, 0, 0]), libc::SECCOMP_RET_ERRNO | 13);
    assert_eq!(call(&p, "mkdir", [0; 6]), libc::SECCOMP_RET_TRAP);
    assert_eq!(call(&p, "lseek", [0, 0, 1, 0, 0, 0]), ALLOW);
    assert_eq!(call(&p, "lseek", [0, 0, 2, 0, 0, 0]), EPERM);
    assert_eq!(call(&p, "dup", arg0(5)), ALLOW);
    assert_eq!(call(&p, "dup", arg0(10)), EPERM);
    assert_eq!(call(&p, "dup", arg0(2)), EPERM);
}

#[test]
fn bad_profiles_are_typed_errors() {
    let bad = |r: Rule| Profile::new(Action::Allow).rule(Rule::new(Action::Allow, ["read"])).rule(r).compile();
    assert_eq!(
        bad(Rule::new(Action::Errno(1), ["no_such_syscall"])),
        Err(ProfileError::UnknownSyscall { rule: 1, name: "no_such_syscall".into() })
    );
    assert_eq!(
        bad(Rule::new(Action::Errno(1), [99_999i64])),
        Err(ProfileError::SyscallNumber { rule: 1, number: 99_999 })
    );
    assert_eq!(
        bad(Rule::new(Action::Errno(1), ["read"]).arg(Arg::new(6, Op::Eq, 0))),
        Err(ProfileError::ArgIndex { rule: 1, index: 6 })
    );
    assert_eq!(bad(Rule::new(Action::Errno(0), ["read"])), Err(ProfileError::Errno { rule: Some(1), errno: 0 }));
    assert_eq!(bad(Rule::new(Action::Errno(4096), ["read"])), Err(ProfileError::Errno { rule: Some(1), errno: 4096 }));
    assert_eq!(bad(Rule::new(Action::Notify, ["read"])), Err(ProfileError::Notify { rule: Some(1) }));
    assert_eq!(Profile::new(Action::Notify).compile(), Err(ProfileError::Notify { rule: None }));
    assert_eq!(Profile::new(Action::Allow).filter_flags(1 << 3).compile(), Err(ProfileError::Flags(1 << 3)));
}

#[test]
fn the_default_profile_is_compiled_once_per_capability_set() {
    let a = default_programs(crate::Capabilities::docker_default().bounding).unwrap();
    let b = default_programs(crate::Capabilities::docker_default().bounding.with(Capability::CAP_CHOWN)).unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b), "capabilities the profile does not look at share one compilation");
    let c = default_programs(CapSet::all()).unwrap();
    assert!(!std::sync::Arc::ptr_eq(&a, &c));
    assert_eq!(a.name(), DEFAULT_PROFILE_NAME);
    assert!(a.filters.iter().all(|f| f.len() <= 4096), "{:?}", a.filters.iter().map(Vec::len).collect::<Vec<_>>());
}
