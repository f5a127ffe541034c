//! cocoon-run's cgroup flags, read from inside the container: the host's cgroupfs is bound
//! read-only into it (`--ro-bind /sys/fs/cgroup:/sys/fs/cgroup`), and the program reads
//! its own cgroup's files. Each container leaves nothing behind.
#![cfg(feature = "cli")]

mod cli_support;

use cli_support::{assert_nothing_left, inside, unique};

/// Runs `cat` of each `CONTROLLER/FILE` of the container's own cgroup, from inside.
fn read_own(name: &str, flags: &[&str], files: &[&str]) -> Vec<String> {
    read_under(name, "cocoon", flags, files)
}

fn read_under(name: &str, parent: &str, flags: &[&str], files: &[&str]) -> Vec<String> {
    let mut all = vec!["--name", name, "--ro-bind", "/sys/fs/cgroup:/sys/fs/cgroup", "--share", "cgroup"];
    all.extend_from_slice(flags);
    let script: String = files
        .iter()
        .map(|f| {
            let (ctrl, file) = f.split_once('/').unwrap();
            format!("echo \"$(cat /sys/fs/cgroup/{ctrl}/{parent}/{name}/{file})\";")
        })
        .collect();
    // The program's own cgroup is the one it reads.
    let out = inside(&all, &format!("grep -q ':memory:/{parent}/{name}$' /proc/self/cgroup || echo not-in-it; {script}"));
    assert_nothing_left(name);
    assert!(!out.contains("not-in-it"), "{out}");
    out.lines().map(String::from).collect()
}

#[test]
fn memory_limits() {
    let name = unique("mem");
    let got = read_own(
        &name,
        &["--memory", "64M", "--memory-swap", "96m", "--memory-reservation", "32MiB", "--oom-kill-disable"],
        &["memory/memory.limit_in_bytes", "memory/memory.memsw.limit_in_bytes", "memory/memory.soft_limit_in_bytes", "memory/memory.oom_control"],
    );
    assert_eq!(got[0], (64u64 << 20).to_string());
    assert_eq!(got[1], (96u64 << 20).to_string(), "--memory-swap counts memory plus swap");
    assert_eq!(got[2], (32u64 << 20).to_string());
    assert!(got[3..].contains(&"oom_kill_disable 1".to_string()), "{got:?}");
}

#[test]
fn pids_and_cpu() {
    let name = unique("cpu");
    let got = read_own(
        &name,
        &["--pids", "17", "--cpus", "0.5", "--cpu-shares", "512", "--cpuset-cpus", "1", "--cpuset-mems", "0"],
        &["pids/pids.max", "cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us", "cpu/cpu.shares", "cpuset/cpuset.cpus", "cpuset/cpuset.mems"],
    );
    assert_eq!(got, ["17", "50000", "100000", "512", "1", "0"]);
    let name = unique("weight");
    // A v2 weight on a v1 host: converted to shares (weight 100 = 2 + 99 * 262142 / 9999, rounded up).
    assert_eq!(read_own(&name, &["--cpu-weight", "100"], &["cpu/cpu.shares"]), ["2598"]);
    // The scheduler sees the cpuset too.
    let name = unique("affinity");
    let out = inside(&["--name", &name, "--cpuset-cpus", "0"], "grep Cpus_allowed_list /proc/self/status");
    assert_eq!(out.split_whitespace().last(), Some("0"));
    assert_nothing_left(&name);
}

#[test]
fn io_limits_and_device_rules() {
    let name = unique("io");
    let vda = std::fs::metadata("/dev/vda").map(|m| std::os::unix::fs::FileTypeExt::is_block_device(&m.file_type()));
    assert_eq!(vda.ok(), Some(true), "this test expects the machine's disk at /dev/vda");
    let got = read_own(
        &name,
        &["--device-read-bps", "/dev/vda:1m", "--device-write-iops", "/dev/vda:300", "--device-cgroup-rule", "c 10:200 rwm"],
        &["blkio/blkio.throttle.read_bps_device", "blkio/blkio.throttle.write_iops_device", "devices/devices.list"],
    );
    assert_eq!(got[0], "254:0 1048576");
    assert_eq!(got[1], "254:0 300");
    assert!(got[2..].contains(&"c 10:200 rwm".to_string()), "{got:?}");
}

#[test]
fn cgroup_parent() {
    let name = unique("parent");
    let parent = format!("cocoon-{}", unique("p"));
    let got = read_under(&name, &format!("{parent}/sub"), &["--cgroup-parent", &format!("{parent}/sub"), "--pids", "9"], &["pids/pids.max"]);
    assert_eq!(got, ["9"]);
    // The parents cocoon created are gone again with the container.
    assert_eq!(cli_support::cgroup_dirs(&parent), Vec::<std::path::PathBuf>::new());
}

#[test]
fn io_weight() {
    let name = unique("iow");
    // The file is the kernel's: blkio.weight (CFQ, gone) or blkio.bfq.weight (BFQ). A
    // kernel built without BFQ (CONFIG_IOSCHED_BFQ unset, as some of our machines are)
    // has neither: then the flag must be refused before anything is created.
    let root = std::path::Path::new("/sys/fs/cgroup/blkio");
    if !root.join("blkio.weight").exists() && !root.join("blkio.bfq.weight").exists() {
        let o = cli_support::run(&["--name", &name, "--io-weight", "300", "--", "true"]);
        assert_eq!(o.code, 2, "{o:?}");
        assert!(o.stderr.contains("--io-weight") && o.stderr.contains("no weight file"), "{o:?}");
        assert_nothing_left(&name);
        return;
    }
    let got = read_own(&name, &["--io-weight", "300"], &["blkio/blkio.weight", "blkio/blkio.bfq.weight"]);
    assert!(got.iter().any(|l| l.trim().trim_start_matches("default").trim() == "300"), "{got:?}");
}
