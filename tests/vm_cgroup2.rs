//! The cgroup limit tests for a pure cgroup v2 host, run inside the qemu VM
//! (tests/vm/run-tests.sh: cgroup2 at /sys/fs/cgroup, every controller enabled at the root,
//! COCOON_VM=1). On the hybrid development host they are ignored.

mod cgroup_support;

use std::time::{Duration, Instant};

use cgroup_support::*;
use cocoon::cgroup::{
    Bytes, CgroupConfig, CgroupError, CgroupHandle, CgroupMode, CgroupVersion, CpuWeight, DeviceAccess, DeviceKind, DeviceNumber, DeviceRule, IdSet,
    DEFAULT_PARENT,
};


fn in_vm() {
    assert_eq!(std::env::var("COCOON_VM").as_deref(), Ok("1"), "run these through tests/vm/run-tests.sh");
    assert_eq!(cocoon::cgroup::host_mode().unwrap(), CgroupMode::V2);
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_cgroup2_layout_and_clone_into_fd() {
    in_vm();
    for c in ["cpu", "cpuset", "memory", "pids", "io"] {
        assert_eq!(cocoon::cgroup::controller_version(c).unwrap(), Some(CgroupVersion::V2), "{c}");
    }
    let name = unique("v2fd");
    let g = Guard::create(&CgroupConfig::new().pids_max(8), &name).unwrap();
    assert_eq!(g.cg().dirs().len(), 1);
    let fd = g.cg().clone_into_fd().expect("a pure v2 host gives a CLONE_INTO_CGROUP fd");

    // clone3(CLONE_INTO_CGROUP): the child starts inside the cgroup.
    #[repr(C)]
    #[derive(Default)]
    struct CloneArgs {
        flags: u64,
        pidfd: u64,
        child_tid: u64,
        parent_tid: u64,
        exit_signal: u64,
        stack: u64,
        stack_size: u64,
        tls: u64,
        set_tid: u64,
        set_tid_size: u64,
        cgroup: u64,
    }
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    let args = CloneArgs { flags: CLONE_INTO_CGROUP, exit_signal: libc::SIGCHLD as u64, cgroup: fd as u64, ..Default::default() };
    // SAFETY: clone3 without CLONE_VM forks the process; the child only calls the
    // async-signal-safe pause() and _exit().
    let pid = unsafe { libc::syscall(libc::SYS_clone3, &args as *const CloneArgs, std::mem::size_of::<CloneArgs>()) };
    if pid == 0 {
        loop {
            // SAFETY: async-signal-safe libc calls in the forked child.
            unsafe {
                libc::pause();
            }
        }
    }
    assert!(pid > 0, "clone3: {}", std::io::Error::last_os_error());
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(cg.trim().ends_with(&format!("/{DEFAULT_PARENT}/{name}")), "{cg}");
    assert_eq!(g.cg().procs(), vec![pid as i32]);
    g.cg().kill_all().unwrap();
    let mut st = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid as i32, &mut st, 0) };
    assert!(libc::WIFSIGNALED(st) && libc::WTERMSIG(st) == libc::SIGKILL);
    g.destroy().unwrap();
    assert_gone(DEFAULT_PARENT, &name);
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_cgroup2_pids_max_refuses_the_next_fork() {
    in_vm();
    let name = unique("pids");
    let g = Guard::create(&CgroupConfig::new().pids_max(4), &name).unwrap();
    let mut w = Workload::spawn("for i in 1 2 3 4 5 6; do sleep 5 & echo ok $i; done; wait");
    g.cg().attach(w.pid()).unwrap();
    w.go();
    // Wait for the refused fork itself (pids.events "max" > 0): the shell echoes "ok 3"
    // before it attempts the fourth fork, so all output is in the pipe by then.
    let refused = || {
        std::fs::read_to_string(g.cg().dirs()[0].join("pids.events"))
            .map(|e| !e.contains("max 0"))
            .unwrap_or(false)
    };
    assert!(wait_until(Duration::from_secs(5), refused), "no fork was refused");
    assert_eq!(g.cg().stats().unwrap().pids.unwrap().current, 4);
    g.cg().kill_all().unwrap();
    let (out, _) = w.finish();
    assert_eq!(out.lines().filter(|l| l.starts_with("ok")).count(), 3, "{out:?}");
    let events = std::fs::read_to_string(g.cg().dirs()[0].join("pids.events")).unwrap();
    assert!(!events.contains("max 0"), "pids.events shows no refused fork: {events}");
    g.destroy().unwrap();
    assert_gone(DEFAULT_PARENT, &name);
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_cgroup2_memory_max_oom_kills_and_stats_show_it() {
    in_vm();
    let name = unique("oom");
    let cfg = CgroupConfig::new().memory_max(Bytes::mib(32)).memory_high(Bytes::mib(30)).memory_low(Bytes::mib(1));
    let g = Guard::create(&cfg, &name).unwrap();
    let d = g.cg().dirs()[0].to_path_buf();
    assert_eq!(std::fs::read_to_string(d.join("memory.max")).unwrap().trim(), (32u64 << 20).to_string());
    assert_eq!(std::fs::read_to_string(d.join("memory.high")).unwrap().trim(), (30u64 << 20).to_string());
    // The subshell and its pipeline are the OOM killer's first victims (oom_score_adj 1000):
    // if tail exits slowly the kernel kills again, and must not take the reporting shell.
    let mut w = Workload::spawn("(echo 1000 >/proc/self/oom_score_adj && head -c 209715200 /dev/zero | tail -c 209715200 >/dev/null); echo status $?");
    g.cg().attach(w.pid()).unwrap();
    w.go();
    let (out, _) = w.finish();
    assert!(out.contains("status 137"), "not OOM-killed: {out:?}");
    let m = g.cg().stats().unwrap().memory.unwrap();
    assert!(m.oom_kills >= 1 && m.oom_events >= 1, "{m:?}");
    g.destroy().unwrap();
    assert_gone(DEFAULT_PARENT, &name);
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_cgroup2_cpu_quota_20_percent_caps_a_busy_loop() {
    in_vm();
    let name = unique("cpu");
    let cfg = CgroupConfig::new()
        .cpu_quota(Duration::from_millis(20), Duration::from_millis(100))
        .cpu_weight(CpuWeight(50));
    let g = Guard::create(&cfg, &name).unwrap();
    let d = g.cg().dirs()[0].to_path_buf();
    assert_eq!(std::fs::read_to_string(d.join("cpu.max")).unwrap().trim(), "20000 100000");
    assert_eq!(std::fs::read_to_string(d.join("cpu.weight")).unwrap().trim(), "50");
    let mut w = Workload::spawn("while :; do :; done");
    g.cg().attach(w.pid()).unwrap();
    w.go();
    let (t0, c0) = (Instant::now(), cpu_time(w.pid()));
    std::thread::sleep(Duration::from_millis(1500));
    let share = (cpu_time(w.pid()) - c0).as_secs_f64() / t0.elapsed().as_secs_f64();
    assert!(share < 0.45 && share > 0.02, "busy loop used {:.0}% under a 20% quota", share * 100.0);
    assert!(g.cg().stats().unwrap().cpu.unwrap().usage > Duration::from_millis(50));
    g.destroy().unwrap();
    assert_gone(DEFAULT_PARENT, &name);
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_cgroup2_freezer_stops_and_resumes_a_counter() {
    in_vm();
    let name = unique("freeze");
    let file = std::env::temp_dir().join(format!("{name}.count"));
    let g = Guard::create(&CgroupConfig::new(), &name).unwrap();
    let mut w = Workload::spawn(&format!("i=0; while :; do i=$((i+1)); echo $i > {}; done", file.display()));
    g.cg().attach(w.pid()).unwrap();
    w.go();
    let read = || std::fs::read_to_string(&file).ok().and_then(|s| s.trim().parse::<u64>().ok());
    assert!(wait_until(Duration::from_secs(5), || read().unwrap_or(0) > 10));
    g.cg().freeze().unwrap();
    let events = std::fs::read_to_string(g.cg().dirs()[0].join("cgroup.events")).unwrap();
    assert!(events.contains("frozen 1"), "{events}");
    let a = std::fs::read_to_string(&file).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(a, std::fs::read_to_string(&file).unwrap(), "moved while frozen");
    g.cg().thaw().unwrap();
    let at = a.trim().parse::<u64>().unwrap_or(0);
    assert!(wait_until(Duration::from_secs(5), || read().unwrap_or(0) > at + 10), "did not resume");
    drop(w);
    let _ = std::fs::remove_file(&file);
    g.destroy().unwrap();
    assert_gone(DEFAULT_PARENT, &name);
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_cgroup2_cpuset_pins_to_cpu0() {
    in_vm();
    let name = unique("cpuset");
    let g = Guard::create(&CgroupConfig::new().cpus(IdSet::from_ids([0])).mems(IdSet::from_ids([0])), &name).unwrap();
    let mut w = Workload::spawn("grep Cpus_allowed_list /proc/self/status");
    g.cg().attach(w.pid()).unwrap();
    w.go();
    let (out, _) = w.finish();
    assert_eq!(out.split_whitespace().collect::<Vec<_>>(), ["Cpus_allowed_list:", "0"], "{out:?}");
    g.destroy().unwrap();
    assert_gone(DEFAULT_PARENT, &name);
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_cgroup2_stats_grow_and_kill_all_empties() {
    in_vm();
    let name = unique("stats");
    let g = Guard::create(&CgroupConfig::new(), &name).unwrap();
    let mut w = Workload::spawn("cat /dev/zero | tail -c 50331648");
    g.cg().attach(w.pid()).unwrap();
    let s0 = g.cg().stats().unwrap();
    w.go();
    assert!(wait_until(Duration::from_secs(20), || g.cg().stats().unwrap().memory.unwrap().current > 40 << 20), "{:?}", g.cg().stats());
    let s1 = g.cg().stats().unwrap();
    assert!(s1.cpu.unwrap().usage > s0.cpu.unwrap().usage, "{s0:?} -> {s1:?}");
    assert!(s1.pids.unwrap().current >= 2);
    g.cg().kill_all().unwrap();
    assert!(g.cg().procs().is_empty());
    g.destroy().unwrap();
    assert_gone(DEFAULT_PARENT, &name);
}

#[test]
#[ignore = "runs in the qemu VM: tests/vm/run-tests.sh"]
fn vm_cgroup2_errors_name_v2_and_leave_nothing() {
    in_vm();
    for (cfg, want) in [
        // Device rules work on v2 now (eBPF, tests/vm_devices.rs); a bad one is still typed.
        (
            CgroupConfig::new().device_rule(DeviceRule::allow(DeviceKind::Char, DeviceNumber::Num(1), DeviceNumber::Num(3), DeviceAccess::empty())),
            "devices",
        ),
        (CgroupConfig::new().oom_kill_disable(true), "memory"),
        (CgroupConfig::new().pids_max(0), "pids"),
    ] {
        let name = unique("bad");
        let e = CgroupHandle::create(&cfg, &name).unwrap_err();
        match (&e, want) {
            (CgroupError::Invalid { controller: "devices", .. }, "devices") => {}
            (CgroupError::Unsupported { controller: "memory", version: CgroupVersion::V2, .. }, "memory") => {}
            (CgroupError::Invalid { controller: "pids", .. }, "pids") => {}
            _ => panic!("{want}: {e:?}"),
        }
        assert_gone(DEFAULT_PARENT, &name);
    }
    let parent = unique("many");
    for i in 0..200 {
        CgroupHandle::create(&CgroupConfig::new().parent(&parent).pids_max(4), &format!("c{i}")).unwrap().destroy().unwrap();
    }
    assert!(existing(std::path::Path::new(&parent)).is_empty());
}
