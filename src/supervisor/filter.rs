//! The notify filter: a straight-line cBPF program (no long jumps, so no length limit
//! beyond the kernel's 4,096 instructions): check the architecture, refuse x32 numbers,
//! then one `JEQ` + `RET USER_NOTIF` pair per syscall, and allow everything else.

use std::collections::BTreeSet;

use seccompiler::sock_filter;

// cBPF opcodes (linux/bpf_common.h).
const LD_W_ABS: u16 = 0x20;
const JMP_JEQ_K: u16 = 0x05 | 0x10;
const JMP_JGE_K: u16 = 0x05 | 0x30;
const RET_K: u16 = 0x06;
// struct seccomp_data: nr at 0, arch at 4.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;
#[cfg(target_arch = "riscv64")]
const AUDIT_ARCH: u32 = 0xC000_00F3;

/// x32 syscalls are x86_64 numbers with this bit set; other 64-bit ABIs have no numbers
/// this high, so refusing them costs nothing there.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const RET_NOTIFY: u32 = libc::SECCOMP_RET_USER_NOTIF;
const RET_ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const RET_KILL: u32 = libc::SECCOMP_RET_KILL_PROCESS;
const RET_ENOSYS: u32 = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;

fn ins(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// The program for `syscalls` (validated: non-empty, each below 1024).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64"))]
pub(super) fn program(syscalls: &BTreeSet<i64>) -> Result<Vec<sock_filter>, String> {
    let mut p = Vec::with_capacity(6 + 2 * syscalls.len() + 1);
    p.push(ins(LD_W_ABS, 0, 0, OFF_ARCH));
    // Native: skip the kill.
    p.push(ins(JMP_JEQ_K, 1, 0, AUDIT_ARCH));
    p.push(ins(RET_K, 0, 0, RET_KILL));
    p.push(ins(LD_W_ABS, 0, 0, OFF_NR));
    // Below the x32 bit: skip the refusal.
    p.push(ins(JMP_JGE_K, 0, 1, X32_SYSCALL_BIT));
    p.push(ins(RET_K, 0, 0, RET_ENOSYS));
    for nr in syscalls {
        let nr = u32::try_from(*nr).map_err(|_| format!("{nr} is not a syscall number"))?;
        // Not this one: skip its return.
        p.push(ins(JMP_JEQ_K, 0, 1, nr));
        p.push(ins(RET_K, 0, 0, RET_NOTIFY));
    }
    p.push(ins(RET_K, 0, 0, RET_ALLOW));
    Ok(p)
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64")))]
pub(super) fn program(_: &BTreeSet<i64>) -> Result<Vec<sock_filter>, String> {
    Err(format!("not supported on {}", std::env::consts::ARCH))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the program on one call (it only loads nr/arch, jumps on K and returns K).
    fn eval(p: &[sock_filter], arch: u32, nr: u32) -> u32 {
        let (mut pc, mut a) = (0usize, 0u32);
        while let Some(i) = p.get(pc) {
            pc += 1;
            match i.code {
                LD_W_ABS => a = if i.k == OFF_ARCH { arch } else { nr },
                JMP_JEQ_K => pc += usize::from(if a == i.k { i.jt } else { i.jf }),
                JMP_JGE_K => pc += usize::from(if a >= i.k { i.jt } else { i.jf }),
                RET_K => return i.k,
                c => panic!("unexpected opcode {c:#x}"),
            }
        }
        panic!("fell off the program");
    }

    #[test]
    fn notifies_exactly_the_named_syscalls() {
        let set: BTreeSet<i64> = [libc::SYS_mount, libc::SYS_umount2, libc::SYS_mknodat].into();
        let p = match program(&set) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        for nr in 0..512u32 {
            let want = if set.contains(&i64::from(nr)) { RET_NOTIFY } else { RET_ALLOW };
            assert_eq!(eval(&p, AUDIT_ARCH, nr), want, "syscall {nr}");
        }
        // x32's mount (a different ABI, same handler) must not slip past as "allowed".
        assert_eq!(eval(&p, AUDIT_ARCH, X32_SYSCALL_BIT | libc::SYS_mount as u32), RET_ENOSYS);
        // i386 (int 0x80): another numbering, killed rather than guessed.
        assert_eq!(eval(&p, 0x4000_0003, 21), RET_KILL);
    }
}
