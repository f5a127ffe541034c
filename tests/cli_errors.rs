//! cocoon-run: every bad value gives a clear error naming its flag (exit status 2), before
//! anything is created: no cgroup, no mount, no registry entry.
#![cfg(feature = "cli")]

mod cli_support;

use cli_support::{assert_nothing_left, command, output, unique, TempDir};

/// (flags, the flag the error must name). Each case also asks for a cgroup (--pids), so a
/// value rejected too late would leave one behind.
const CASES: &[(&[&str], &str)] = &[
    // parsed by the tool
    (&["--memory", "12x"], "--memory"),
    (&["--memory", "0"], "--memory"),
    (&["--pids", "0"], "--pids"),
    (&["--cpus", "-1"], "--cpus"),
    (&["--cpus", "lots"], "--cpus"),
    (&["--cpuset-cpus", "1-0"], "--cpuset-cpus"),
    (&["--hostname", "a-name-that-is-far-too-long-for-the-kernel-to-accept-as-a-hostname-at-all"], "--hostname"),
    (&["--domainname", ""], "--domainname"),
    (&["--bind", "/nonexistent-cocoon-source:/x"], "--bind"),
    (&["-v", "/tmp"], "--bind"),
    (&["--bind", "/tmp:relative"], "--bind"),
    (&["--bind", "/tmp:/x:bogus"], "--bind"),
    (&["--ro-bind", "/tmp:/x/../y"], "--ro-bind"),
    (&["--tmpfs", "relative"], "--tmpfs"),
    (&["--tmpfs", "/t:size=0"], "--tmpfs"),
    (&["--tmpfs", "/t:mode=99"], "--tmpfs"),
    (&["--user", "alice:staff"], "--user"),
    (&["--group-add", "staff"], "--group-add"),
    (&["--workdir", "relative"], "--workdir"),
    (&["-e", "=value"], "--env"),
    (&["-e", "COCOON_SURELY_UNSET_VARIABLE"], "--env"),
    (&["--env-file", "/nonexistent-cocoon-env-file"], "--env-file"),
    (&["--cap-add", "FLY"], "--cap-add"),
    (&["--cap-drop", "CAP_"], "--cap-drop"),
    (&["--rlimit", "bogus=1"], "--rlimit"),
    (&["--rlimit", "nofile=20:10"], "--rlimit"),
    (&["--umask", "8"], "--umask"),
    (&["--oom-score-adj", "2000"], "--oom-score-adj"),
    (&["--share", "everything"], "--share"),
    (&["--unshare", "nope"], "--unshare"),
    (&["--uid-map", "0:1000", "--gid-map", "0:1000:1"], "--uid-map"),
    (&["--uid-map", "0:1000:1", "--gid-map", "0:1000:0"], "--gid-map"),
    (&["--time-offset", "realtime=5"], "--time-offset"),
    (&["--time-offset", "5 years"], "--time-offset"),
    (&["--join", "pid:/proc/1/ns/pid"], "--join"),
    (&["--join", "net:/nonexistent-netns"], "--join"),
    (&["--pass-fd", "987"], "--pass-fd"),
    (&["--pass-fd", "0:2"], "--pass-fd"),
    (&["--no-new-privs=maybe"], "--no-new-privs"),
    (&["--masked-path", "proc/kcore"], "--masked-path"),
    (&["--readonly-path", "/"], "--readonly-path"),
    (&["--memory-swap", "1g"], "--memory"),
    (&["--io-weight", "0"], "--io-weight"),
    (&["--device-read-bps", "/dev/vda:0"], "--device-read-bps"),
    (&["--device-write-bps", "vda:1m"], "--device-write-bps"),
    (&["--device-read-iops", "/dev/vda"], "--device-read-iops"),
    (&["--device-cgroup-rule", "c 1:3 rwx"], "--device-cgroup-rule"),
    (&["--seccomp=strict"], "--seccomp"),
    (&["--seccomp-deny", "no_such_syscall"], "--seccomp-deny"),
    (&["--seccomp-profile", "/nonexistent/profile.json"], "--seccomp-profile"),
    (&["--seccomp-profile", "/etc/hostname"], "--seccomp-profile"),
    (&["--seccomp-errno", "0"], "--seccomp-errno"),
    (&["--selinux-level", "s0:c2,c1,bogus"], "--selinux-level"),
    (&["--rootfs", "/nonexistent-cocoon-root"], "--rootfs"),
    (&["--layers", "/tmp"], "--upper"),
    // combinations the tool checks
    (&["--memory", "64M", "--memory-swap", "32M"], "--memory-swap"),
    (&["--user", "nobody", "--group-add", "5"], "--group-add"),
    (&["--seccomp-errno", "5"], "--seccomp-errno"),
    (&["--seccomp=unconfined", "--seccomp-profile", "/etc/hostname"], "--seccomp-profile"),
    // found by the library before anything exists, mapped back to the flag
    (&["--cpuset-cpus", "63"], "--cpuset-cpus"),
    (&["--cpu-shares", "1"], "--cpu-shares"),
    (&["--memory-high", "10M"], "--memory-high"),
    (&["--device-read-bps", "/dev/null:1m"], "--device-read-bps"),
    (&["--device-write-iops", "/dev/nonexistent-disk:10"], "--device-write-iops"),
    (&["--cgroup-parent", "../escape"], "--cgroup-parent"),
    (&["--init", "--share", "pid"], "--init"),
    (&["--hostname", "x", "--share", "uts"], "--hostname"),
    (&["--time-offset", "1d", "--share", "time"], "--time-offset"),
    (&["--share", "mnt"], "--share"),
    (&["--user", "nosuchuser"], "--user"),
    (&["--userns", "--share", "user"], "--userns"),
    (&["--selinux-require"], "--selinux-require"),
    (&["--masked-path", "/a/../b"], "--masked-path"),
];

#[test]
fn bad_values_name_their_flag_and_create_nothing() {
    let state = TempDir::new("err-state");
    let mut failures = Vec::new();
    for (flags, flag) in CASES {
        let name = unique("err");
        let mut c = command(Some(state.path()));
        c.args(["--name", &name, "--pids", "32"]).args(*flags).args(["--", "true"]);
        let o = output(c);
        let ok = o.code == 2 && o.stderr.contains(flag) && o.stdout.is_empty();
        // Printed once: no line comes twice.
        let lines: Vec<&str> = o.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        let mut unique = lines.clone();
        unique.sort();
        unique.dedup();
        let once = unique.len() == lines.len();
        if !ok || !once {
            failures.push(format!("{flags:?}: status {}, stderr {:?}", o.code, o.stderr));
        }
        assert_nothing_left(&name);
    }
    assert!(failures.is_empty(), "{} of {} cases:\n{}", failures.len(), CASES.len(), failures.join("\n"));
    assert_eq!(std::fs::read_dir(state.path()).map(|d| d.count()).unwrap_or(0), 0, "registry entries were created");
}

#[test]
fn detached_bad_values_leave_no_registry_entry() {
    let state = TempDir::new("err-detach");
    for flags in [&["--memory", "12x"][..], &["--cpuset-cpus", "63"], &["--user", "nosuchuser"]] {
        let name = unique("derr");
        let mut c = command(Some(state.path()));
        c.args(["-d", "--name", &name]).args(flags).args(["--", "sleep", "10"]);
        let o = output(c);
        assert_eq!(o.code, 2, "{flags:?}: {o:?}");
        assert!(o.stderr.contains(flags[0]), "{o:?}");
        assert_nothing_left(&name);
    }
    assert_eq!(std::fs::read_dir(state.path()).unwrap().count(), 0);
}

#[test]
fn unknown_flags_and_missing_program() {
    let o = cli_support::run(&["--no-such-flag", "true"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("--no-such-flag"), "{o:?}");
    let o = cli_support::run(&["--memory", "64M"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("<PROGRAM>"), "{o:?}");
}
