//! Limits proven on the real cgroupfs of this host, observed from the workload.

mod cgroup_support;

use std::time::{Duration, Instant};

use cgroup_support::*;
use cocoon::cgroup::{
    Bytes, CgroupConfig, CgroupMode, CgroupVersion, DeviceRule, IdSet, IoRate, DEFAULT_PARENT,
};

#[test]
fn cgroup_pids_max_refuses_the_next_fork() {
    let name = unique("pids");
    let g = Guard::create(&CgroupConfig::new().pids_max(4), &name).unwrap();
    // The shell is task 1; each `sleep &` is one more task.
    let mut w = Workload::spawn("for i in 1 2 3 4 5 6; do sleep 5 & echo ok $i; done; wait");
    g.cg().attach(w.pid()).unwrap();
    w.go();
    assert!(wait_until(Duration::from_secs(5), || g.cg().stats().unwrap().pids.unwrap().current == 4));
    // The third fork brought it to 4; let the shell print its "ok 3" (and try the fourth)
    // before killing it, or a busy machine kills it in between.
    let mut seen: String = (0..3).map(|_| w.line()).collect();
    g.cg().kill_all().unwrap();
    let (rest, _) = w.finish();
    seen.push_str(&rest);
    let out = seen;
    let oks = out.lines().filter(|l| l.starts_with("ok")).count();
    assert_eq!(oks, 3, "3 forks fit under pids.max=4 with the shell, the 4th must fail: {out:?}");
    g.destroy().unwrap();
    assert_gone(DEFAULT_PARENT, &name);
}

#[test]
fn cgroup_memory_max_oom_kills_and_stats_show_it() {
    let name = unique("oom");
    let g = Guard::create(&CgroupConfig::new().memory_max(Bytes::mib(32)), &name).unwrap();
    // The subshell and its pipeline are the OOM killer's first victims (oom_score_adj 1000):
    // if tail exits slowly the kernel kills again, and must not take the reporting shell.
    let mut w = Workload::spawn("(echo 1000 >/proc/self/oom_score_adj && head -c 209715200 /dev/zero | tail -c 209715200 >/dev/null); echo status $?");
    g.cg().attach(w.pid()).unwrap();
    w.go();
    let (out, _) = w.finish();
    // tail was killed by SIGKILL: 128 + 9.
    assert!(out.contains("status 137"), "tail was not OOM-killed: {out:?}");
    let m = g.cg().stats().unwrap().memory.unwrap();
    assert!(m.oom_kills >= 1, "{m:?}");
    assert!(m.oom_events >= 1, "{m:?}");
    assert!(m.peak.unwrap() <= 32 << 20, "{m:?}");
    g.destroy().unwrap();
    assert_gone(DEFAULT_PARENT, &name);
}

#[test]
fn cgroup_cpu_quota_20_percent_caps_a_busy_loop() {
    let name = unique("cpu");
    let cfg = CgroupConfig::new().cpu_quota(Duration::from_millis(20), Duration::from_millis(100));
    let g = Guard::create(&cfg, &name).unwrap();
    let mut w = Workload::spawn("while :; do :; done");
    g.cg().attach(w.pid()).unwrap();
    let before = g.cg().stats().unwrap().cpu.unwrap().usage;
    w.go();
    let t0 = Instant::now();
    let c0 = cpu_time(w.pid());
    std::thread::sleep(Duration::from_millis(1500));
    let used = cpu_time(w.pid()) - c0;
    let wall = t0.elapsed();
    let share = used.as_secs_f64() / wall.as_secs_f64();
    assert!(share < 0.45, "busy loop used {:.0}% of a CPU under a 20% quota", share * 100.0);
    assert!(share > 0.02, "busy loop did not run at all ({share})");
    let after = g.cg().stats().unwrap().cpu.unwrap();
    assert!(after.usage > before + Duration::from_millis(100), "cpu usage did not grow: {after:?}");
    assert!(after.user > Duration::ZERO);
    g.destroy().unwrap();
    assert_gone(DEFAULT_PARENT, &name);
}

#[test]
fn cgroup_freezer_stops_and_resumes_a_counter() {
    let name = unique("freeze");
    let dir = std::env::temp_dir().join(format!("{name}.count"));
    let g = Guard::create(&CgroupConfig::new(), &name).unwrap();
    let mut w = Workload::spawn(&format!(
        "i=0; while :; do i=$((i+1)); echo $i > {}; done",
        dir.display()
    ));
    g.cg().attach(w.pid()).unwrap();
    w.go();
    let read = || std::fs::read_to_string(&dir).ok().and_then(|s| s.trim().parse::<u64>().ok());
    assert!(wait_until(Duration::from_secs(5), || read().unwrap_or(0) > 10));
    g.cg().freeze().unwrap();
    let a = std::fs::read_to_string(&dir).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let b = std::fs::read_to_string(&dir).unwrap();
    assert_eq!(a, b, "the counter moved while frozen");
    g.cg().thaw().unwrap();
    let frozen_at = b.trim().parse::<u64>().unwrap_or(0);
    assert!(
        wait_until(Duration::from_secs(5), || read().unwrap_or(0) > frozen_at + 10),
        "the counter did not resume"
    );
    drop(w);
    let _ = std::fs::remove_file(&dir);
    g.destroy().unwrap();
    assert_gone(DEFAULT_PARENT, &name);
}

#[test]
fn cgroup_cpuset_pins_to_cpu0() {
    let name = unique("cpuset");
    let cfg = CgroupConfig::new().cpus("0".parse::<IdSet>().unwrap()).mems("0".parse().unwrap());
    let g = Guard::create(&cfg, &name).unwrap();
    let mut w = Workload::spawn("grep Cpus_allowed_list /proc/self/status");
    let before = std::fs::read_to_string(format!("/proc/{}/status", w.pid())).unwrap();
    g.cg().attach(w.pid()).unwrap();
    let status = std::fs::read_to_string(format!("/proc/{}/status", w.pid())).unwrap();
    assert!(status.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["Cpus_allowed_list:", "0"]), "{status}\nbefore: {before}");
    w.go();
    let (out, _) = w.finish();
    assert_eq!(out.split_whitespace().collect::<Vec<_>>(), ["Cpus_allowed_list:", "0"], "child of the workload: {out:?}");
    g.destroy().unwrap();
    assert_gone(DEFAULT_PARENT, &name);
}

#[test]
fn cgroup_stats_grow_with_the_workload() {
    let name = unique("stats");
    let g = Guard::create(&CgroupConfig::new(), &name).unwrap();
    // tail keeps the last 48 MiB of an endless pipe in memory and keeps reading.
    let mut w = Workload::spawn("cat /dev/zero | tail -c 50331648");
    g.cg().attach(w.pid()).unwrap();
    let s0 = g.cg().stats().unwrap();
    w.go();
    assert!(
        wait_until(Duration::from_secs(10), || g.cg().stats().unwrap().memory.unwrap().current > 40 << 20),
        "memory.current did not pass 40 MiB: {:?}",
        g.cg().stats()
    );
    std::thread::sleep(Duration::from_millis(300));
    let s1 = g.cg().stats().unwrap();
    assert!(s1.cpu.unwrap().usage > s0.cpu.unwrap().usage + Duration::from_millis(50), "{s0:?} -> {s1:?}");
    assert!(s1.memory.unwrap().peak.unwrap() >= s1.memory.unwrap().current);
    assert_eq!(s1.pids.unwrap().current, 3, "sh, cat and tail");
    assert!(s1.io.is_some());
    g.cg().kill_all().unwrap();
    assert!(g.cg().procs().is_empty());
    g.destroy().unwrap();
    assert_gone(DEFAULT_PARENT, &name);
}

#[test]
fn cgroup_device_rules_are_enforced_on_v1() {
    if cocoon::cgroup::controller_version("devices").unwrap() != Some(CgroupVersion::V1) {
        return; // covered by cgroup_errors::device_rules_on_v2_need_ebpf
    }
    let name = unique("dev");
    let cfg = CgroupConfig::new().device_rule(DeviceRule::deny_all()).device_rule(DeviceRule::allow_char(1, 3));
    let g = Guard::create(&cfg, &name).unwrap();
    let mut w = Workload::spawn(
        "echo x > /dev/null && echo null-ok; head -c1 /dev/zero >/dev/null 2>&1 || echo zero-denied",
    );
    g.cg().attach(w.pid()).unwrap();
    w.go();
    let (out, _) = w.finish();
    assert!(out.contains("null-ok"), "{out:?}");
    assert!(out.contains("zero-denied"), "{out:?}");
    g.destroy().unwrap();
    assert_gone(DEFAULT_PARENT, &name);
}

#[test]
fn cgroup_io_write_bps_throttles_direct_writes() {
    let name = unique("io");
    let file = std::path::PathBuf::from(format!("/var/tmp/{name}.io"));
    // The disk holding /var/tmp.
    let dev = {
        use std::os::unix::fs::MetadataExt;
        let d = std::fs::metadata("/var/tmp").unwrap().dev();
        let (maj, min) = (libc::major(d), libc::minor(d));
        let sys = std::fs::canonicalize(format!("/sys/dev/block/{maj}:{min}")).unwrap();
        let disk = if sys.join("partition").exists() { sys.parent().unwrap().to_path_buf() } else { sys };
        let n = std::fs::read_to_string(disk.join("dev")).unwrap();
        let (a, b) = n.trim().split_once(':').unwrap();
        (a.parse::<u32>().unwrap(), b.parse::<u32>().unwrap())
    };
    let cfg = CgroupConfig::new().io_limit(dev, IoRate::WriteBps, 1 << 20);
    let g = Guard::create(&cfg, &name).unwrap();
    let mut w = Workload::spawn(&format!(
        "dd if=/dev/zero of={} bs=64k count=40 oflag=direct 2>/dev/null; echo done",
        file.display()
    ));
    g.cg().attach(w.pid()).unwrap();
    let t = Instant::now();
    w.go();
    let (out, _) = w.finish();
    let took = t.elapsed();
    let _ = std::fs::remove_file(&file);
    assert!(out.contains("done"));
    // 2.5 MiB at 1 MiB/s.
    assert!(took > Duration::from_millis(1500), "2.5 MiB written in {took:?} under a 1 MiB/s limit");
    let io = g.cg().stats().unwrap().io.unwrap();
    assert!(io.write_bytes >= 40 * 65536, "{io:?}");
    assert!(io.write_ops >= 40, "{io:?}");
    g.destroy().unwrap();
    assert_gone(DEFAULT_PARENT, &name);
}

#[test]
fn cgroup_destroy_kills_a_forking_tree() {
    let name = unique("kill");
    let g = Guard::create(&CgroupConfig::new(), &name).unwrap();
    let mut w = Workload::spawn("sleep 100 & sleep 100 & (sleep 100 &) ; wait");
    g.cg().attach(w.pid()).unwrap();
    w.go();
    assert!(wait_until(Duration::from_secs(5), || g.cg().procs().len() >= 4));
    let dirs: Vec<_> = g.cg().dirs().into_iter().map(|p| p.to_path_buf()).collect();
    g.destroy().unwrap();
    for d in dirs {
        assert!(!d.exists(), "{} survived destroy", d.display());
    }
    assert_gone(DEFAULT_PARENT, &name);
    let _ = w.child.wait();
}

#[test]
fn cgroup_created_on_every_hierarchy() {
    let name = unique("every");
    let g = Guard::create(&CgroupConfig::new(), &name).unwrap();
    let dirs = g.cg().dirs().len();
    let mode = cocoon::cgroup::host_mode().unwrap();
    match mode {
        CgroupMode::V2 => assert_eq!(dirs, 1),
        // This host: cpu cpuacct cpuset memory devices freezer blkio pids + unified.
        CgroupMode::Hybrid => assert!(dirs >= 2),
        _ => assert!(dirs >= 1),
    }
    assert_eq!(g.cg().clone_into_fd().is_some(), mode == CgroupMode::V2);
    g.destroy().unwrap();
    assert_gone(DEFAULT_PARENT, &name);
}
