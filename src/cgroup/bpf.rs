//! cgroup v2 device policy: a `BPF_PROG_TYPE_CGROUP_DEVICE` program compiled from a
//! [`DevicePolicy`], hand-assembled the way runc and crun generate theirs, loaded with the
//! raw `bpf()` syscall and attached to the container's cgroup (`BPF_CGROUP_DEVICE`, with
//! `BPF_F_ALLOW_MULTI` so programs of ancestors keep running and a nested runtime can only
//! narrow the policy).
//!
//! The program sees `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`
//! where `access_type` is `(access << 16) | type`, and returns 1 to allow, 0 to refuse.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::device_rule::{DeviceAccess, DeviceNumber};
use super::devices::DevicePolicy;
use super::CgroupError;

/// `struct bpf_insn`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    code: u8,
    /// dst_reg in the low nibble, src_reg in the high one.
    regs: u8,
    off: i16,
    imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn { code, regs: (src << 4) | dst, off, imm }
}

// Opcodes (linux/bpf_common.h, linux/bpf.h).
const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const ALU32_RSH_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const ALU32_MOV_K: u8 = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
const ALU32_MOV_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const JEQ_K: u8 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JNE_X: u8 = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

// bpf_cgroup_dev_ctx encodings.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;

fn bpf_access(a: DeviceAccess) -> i32 {
    let mut v = 0;
    if a.contains(DeviceAccess::READ) {
        v |= ACC_READ;
    }
    if a.contains(DeviceAccess::WRITE) {
        v |= ACC_WRITE;
    }
    if a.contains(DeviceAccess::MKNOD) {
        v |= ACC_MKNOD;
    }
    v
}

/// The program for `p`: r2 = type, r3 = access, r4 = major, r5 = minor; one block per
/// exception that returns its verdict when it matches; the default verdict at the end.
pub(crate) fn compile(p: &DevicePolicy) -> Vec<Insn> {
    let mut out = vec![
        insn(LDX_MEM_W, 2, 1, 0, 0),
        insn(ALU32_AND_K, 2, 0, 0, 0xffff),
        insn(LDX_MEM_W, 3, 1, 0, 0),
        insn(ALU32_RSH_K, 3, 0, 0, 16),
        insn(LDX_MEM_W, 4, 1, 4, 0),
        insn(LDX_MEM_W, 5, 1, 8, 0),
    ];
    // Exceptions are allows under deny-by-default, denies under allow-by-default.
    let verdict = i32::from(!p.default_allow);
    for e in &p.exceptions {
        // Each jump goes to the end of this block (`off` counts from the next insn).
        let mut block: Vec<(u8, u8, u8, i32, bool)> = Vec::new(); // (code, dst, src, imm, jumps)
        block.push((JNE_K, 2, 0, if e.block { DEV_BLOCK } else { DEV_CHAR }, true));
        let acc = bpf_access(e.access);
        if acc != ACC_READ | ACC_WRITE | ACC_MKNOD {
            block.push((ALU32_MOV_X, 1, 3, 0, false));
            block.push((ALU32_AND_K, 1, 0, acc, false));
            if p.default_allow {
                // A deny matches when any requested bit is denied.
                block.push((JEQ_K, 1, 0, 0, true));
            } else {
                // An allow matches only when it covers every requested bit.
                block.push((JNE_X, 1, 3, 0, true));
            }
        }
        if let DeviceNumber::Num(m) = e.major {
            block.push((JNE_K, 4, 0, m as i32, true));
        }
        if let DeviceNumber::Num(m) = e.minor {
            block.push((JNE_K, 5, 0, m as i32, true));
        }
        block.push((ALU32_MOV_K, 0, 0, verdict, false));
        block.push((EXIT, 0, 0, 0, false));
        let len = block.len();
        for (i, (code, dst, src, imm, jumps)) in block.into_iter().enumerate() {
            let off = if jumps { (len - i - 1) as i16 } else { 0 };
            out.push(insn(code, dst, src, off, imm));
        }
    }
    out.push(insn(ALU32_MOV_K, 0, 0, 0, i32::from(p.default_allow)));
    out.push(insn(EXIT, 0, 0, 0, 0));
    out
}

/// Runs `prog` on one request: an interpreter for exactly the instructions [`compile`]
/// emits, so tests can check the program against the model without a kernel.
#[cfg(test)]
pub(crate) fn interpret(prog: &[Insn], block: bool, major: u32, minor: u32, access: DeviceAccess) -> bool {
    let mut r = [0u64; 11];
    let ctx = [((bpf_access(access) as u32) << 16) | if block { 1 } else { 2 }, major, minor];
    let mut pc = 0usize;
    loop {
        let i = prog[pc];
        let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
        let imm = i.imm as i64 as u64;
        pc += 1;
        let jump = |cond: bool, pc: &mut usize| {
            if cond {
                *pc = (*pc as i64 + i64::from(i.off)) as usize;
            }
        };
        match i.code {
            LDX_MEM_W => r[dst] = u64::from(ctx[(i.off / 4) as usize]),
            ALU32_AND_K => r[dst] = u64::from(r[dst] as u32 & imm as u32),
            ALU32_RSH_K => r[dst] = u64::from((r[dst] as u32) >> imm),
            ALU32_MOV_K => r[dst] = u64::from(imm as u32),
            ALU32_MOV_X => r[dst] = u64::from(r[src] as u32),
            JEQ_K => jump(r[dst] == imm, &mut pc),
            JNE_K => jump(r[dst] != imm, &mut pc),
            JNE_X => jump(r[dst] != r[src], &mut pc),
            EXIT => return r[0] == 1,
            c => panic!("unexpected opcode {c:#x}"),
        }
    }
}

// bpf(2) commands, program and attach types, flags.
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The `BPF_PROG_LOAD` part of `union bpf_attr` (the kernel zero-fills the rest).
#[repr(C)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
}

/// The `BPF_PROG_ATTACH`/`BPF_PROG_DETACH` part of `union bpf_attr`.
#[repr(C)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

/// The `BPF_PROG_QUERY` part of `union bpf_attr` (up to `prog_cnt`).
#[repr(C)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

/// The `BPF_PROG_GET_FD_BY_ID` part of `union bpf_attr`.
#[repr(C)]
struct GetFdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// The `BPF_OBJ_GET_INFO_BY_FD` part of `union bpf_attr`.
#[repr(C)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// `struct bpf_prog_info` up to `name` (the kernel fills only the `info_len` bytes asked for).
#[repr(C)]
#[derive(Default)]
struct ProgInfo {
    prog_type: u32,
    id: u32,
    tag: [u8; 8],
    jited_prog_len: u32,
    xlated_prog_len: u32,
    jited_prog_insns: u64,
    xlated_prog_insns: u64,
    load_time: u64,
    created_by_uid: u32,
    nr_map_ids: u32,
    map_ids: u64,
    name: [u8; 16],
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a live, initialised bpf_attr prefix of the size passed; the kernel
    // reads (and for PROG_LOAD's log, writes) only within the buffers it points to.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, std::mem::size_of::<T>()) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// FNV-1a over the program's instructions: names what a program does, so one found
/// attached to a shared cgroup can be recognised.
pub(crate) fn program_hash(prog: &[Insn]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for i in prog {
        let [o0, o1] = i.off.to_le_bytes();
        for b in [i.code, i.regs, o0, o1].into_iter().chain(i.imm.to_le_bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The kernel-visible name of a loaded program: `cocoon_` and the low 32 bits of its hash.
fn program_name(prog: &[Insn]) -> [u8; 16] {
    let mut name = [0u8; 16];
    let text = format!("cocoon_{:08x}", program_hash(prog) as u32);
    name[..text.len()].copy_from_slice(text.as_bytes());
    name
}

/// Loads the program; on refusal, loads it again with the verifier log for the error.
fn load(prog: &[Insn]) -> Result<OwnedFd, CgroupError> {
    let license = c"Apache-2.0";
    let name = program_name(prog);
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: prog.len() as u32,
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 0,
        log_size: 0,
        log_buf: 0,
        kern_version: 0,
        prog_flags: 0,
        prog_name: name,
    };
    let fd = match bpf(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            return Err(CgroupError::io("load eBPF device program (needs CAP_BPF or CAP_SYS_ADMIN)", "bpf()", e))
        }
        Err(e) => {
            let mut log = vec![0u8; 1 << 16];
            attr.log_level = 1;
            attr.log_size = log.len() as u32;
            attr.log_buf = log.as_mut_ptr() as u64;
            let _ = bpf(BPF_PROG_LOAD, &mut attr);
            let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
            let text = String::from_utf8_lossy(&log[..end]).into_owned();
            return Err(CgroupError::Write {
                controller: "devices",
                path: "bpf(BPF_PROG_LOAD)".into(),
                value: format!("{} instructions; verifier: {}", prog.len(), text.trim()),
                source: Box::new(e),
            });
        }
    };
    // SAFETY: the kernel returned a new fd (O_CLOEXEC, as every bpf fd) owned from here on.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// Loaded programs by policy: loading (verifier + JIT) costs ≈ 0.5 ms, so each distinct
/// policy is loaded once per process and the same program is attached to every cgroup
/// that needs it. A program no cgroup holds is only this fd; it goes with the process.
static LOADED: Mutex<Vec<(DevicePolicy, Arc<OwnedFd>)>> = Mutex::new(Vec::new());
/// Distinct policies kept loaded (the oldest is dropped beyond this).
const LOADED_MAX: usize = 8;

fn program_for(policy: &DevicePolicy) -> Result<Arc<OwnedFd>, CgroupError> {
    let mut loaded = LOADED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, fd)) = loaded.iter().find(|(p, _)| p == policy) {
        return Ok(fd.clone());
    }
    let fd = Arc::new(load(&compile(policy))?);
    if loaded.len() >= LOADED_MAX {
        loaded.remove(0);
    }
    loaded.push((policy.clone(), fd.clone()));
    Ok(fd)
}

/// Makes sure the program for `policy` is attached to the cgroup directory `cgroup`: if no
/// device program is attached it attaches it (and leaves it there, for the cgroup's
/// lifetime); if one is, it must be exactly this policy's (the only one, with its name).
/// The caller serialises callers (a lock on the directory).
pub(crate) fn ensure_attached(cgroup: &OwnedFd, dir: &Path, policy: &DevicePolicy) -> Result<(), CgroupError> {
    let insns = compile(policy);
    let want = program_name(&insns);
    let mut ids = [0u32; 4];
    let mut q = QueryAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        query_flags: 0,
        attach_flags: 0,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        _pad: 0,
    };
    bpf(BPF_PROG_QUERY, &mut q).map_err(|e| CgroupError::io("query the eBPF device programs of", dir, e))?;
    let foreign = |what: String| CgroupError::Write {
        controller: "devices",
        path: dir.display().to_string(),
        value: what,
        source: Box::new(io::Error::from_raw_os_error(libc::EEXIST)),
    };
    match q.prog_cnt {
        0 => attach_to(cgroup, &*program_for(policy)?, dir),
        1 => {
            let mut g = GetFdAttr { prog_id: ids[0], next_id: 0, open_flags: 0 };
            let fd = bpf(BPF_PROG_GET_FD_BY_ID, &mut g).map_err(|e| CgroupError::io("open the eBPF device program of", dir, e))?;
            // SAFETY: the kernel returned a new fd, owned from here on.
            let prog = unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) };
            let mut info = ProgInfo::default();
            let mut a = InfoAttr {
                bpf_fd: prog.as_raw_fd() as u32,
                info_len: std::mem::size_of::<ProgInfo>() as u32,
                info: &mut info as *mut ProgInfo as u64,
            };
            bpf(BPF_OBJ_GET_INFO_BY_FD, &mut a).map_err(|e| CgroupError::io("read the eBPF device program of", dir, e))?;
            if info.prog_type != BPF_PROG_TYPE_CGROUP_DEVICE || info.name != want {
                let name = String::from_utf8_lossy(&info.name).trim_end_matches('\0').to_string();
                return Err(foreign(format!("a device program {name:?} that is not this policy's is attached")));
            }
            // The same program serves this process's own cgroups with this policy.
            let mut loaded = LOADED.lock().unwrap_or_else(|p| p.into_inner());
            if !loaded.iter().any(|(p, _)| p == policy) {
                if loaded.len() >= LOADED_MAX {
                    loaded.remove(0);
                }
                loaded.push((policy.clone(), Arc::new(prog)));
            }
            Ok(())
        }
        n => Err(foreign(format!("{n} device programs are attached"))),
    }
}

/// `BPF_PROG_ATTACH` of `prog` to the cgroup directory `cgroup` (`dir` names it in errors),
/// with `BPF_F_ALLOW_MULTI`: ancestors' programs keep running.
fn attach_to(cgroup: &OwnedFd, prog: &OwnedFd, dir: &Path) -> Result<(), CgroupError> {
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
    };
    bpf(BPF_PROG_ATTACH, &mut attr).map(drop).map_err(|e| CgroupError::io("attach eBPF device program to", dir, e))
}

/// A device program attached to one cgroup v2 directory.
#[derive(Debug)]
pub(crate) struct DeviceProgram {
    cgroup: OwnedFd,
    prog: Arc<OwnedFd>,
}

impl DeviceProgram {
    /// Compiles and loads `policy` (once per process) and attaches it to the cgroup
    /// directory `dir`.
    pub(crate) fn attach(dir: &Path, policy: &DevicePolicy) -> Result<DeviceProgram, CgroupError> {
        let prog = program_for(policy)?;
        let cgroup: OwnedFd = std::fs::File::open(dir).map_err(|e| CgroupError::io("open", dir, e))?.into();
        attach_to(&cgroup, &prog, dir)?;
        Ok(DeviceProgram { cgroup, prog })
    }

    /// Detaches the program (call only once the cgroup is empty); the fds close on drop.
    pub(crate) fn detach(self) -> io::Result<()> {
        let mut attr = AttachAttr {
            target_fd: self.cgroup.as_raw_fd() as u32,
            attach_bpf_fd: self.prog.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            attach_flags: 0,
        };
        bpf(BPF_PROG_DETACH, &mut attr).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::super::devices::default_rules;
    use super::*;

    /// The real kernel loads the program and enforces it, on the cgroup2 hierarchy of a
    /// hybrid host too (device programs run for every task's v2 cgroup).
    #[test]
    fn kernel_enforces_the_default_program() {
        let Some(h) = super::super::layout::layout().ok().and_then(|l| {
            l.hierarchies.iter().find(|h| h.version == super::super::CgroupVersion::V2).cloned()
        }) else {
            return;
        };
        let dir = h.mount.join(format!("cocoon-unit-bpf-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        let prog = DeviceProgram::attach(&dir, &DevicePolicy::from_rules(&default_rules()));
        let out = prog.as_ref().ok().map(|_| {
            std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(format!(
                    "echo $$ > {}/cgroup.procs || exit 9; \
                     head -c1 /dev/zero >/dev/null && echo zero-ok; \
                     (: < /dev/kmsg) 2>/dev/null || echo kmsg-refused",
                    dir.display()
                ))
                .output()
                .unwrap()
        });
        let detached = prog.map(|p| p.detach());
        std::fs::remove_dir(&dir).unwrap();
        detached.unwrap().unwrap();
        let out = String::from_utf8_lossy(&out.unwrap().stdout).into_owned();
        assert_eq!(out, "zero-ok\nkmsg-refused\n");
    }
}
