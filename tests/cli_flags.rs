//! cocoon-run: each flag changes what the container sees, checked from inside.
#![cfg(feature = "cli")]

mod cli_support;

use cli_support::{field, inside, run, unique, TempDir};

#[test]
fn bind_and_ro_bind() {
    let d = TempDir::new("bind");
    std::fs::write(d.join("f"), "from the host\n").unwrap();
    let rw = format!("{}:/mnt/rw", d.s());
    let ro = format!("{}:/mnt/ro:ro", d.s());
    let ro2 = format!("{}:/mnt/ro2", d.s());
    let out = inside(
        &["-v", &rw, "--bind", &ro, "--ro-bind", &ro2],
        "cat /mnt/rw/f; echo new > /mnt/rw/g && echo rw-ok; \
         touch /mnt/ro/x 2>/dev/null || echo ro-refused; touch /mnt/ro2/x 2>/dev/null || echo ro2-refused",
    );
    assert_eq!(out, "from the host\nrw-ok\nro-refused\nro2-refused\n");
    assert_eq!(std::fs::read_to_string(d.join("g")).unwrap(), "new\n");
}

#[test]
fn tmpfs_with_size_and_mode() {
    let out = inside(&["--tmpfs", "/scratch:size=1m,mode=700"], "grep ' /scratch ' /proc/mounts; stat -c %a /scratch");
    assert!(out.contains(" /scratch tmpfs ") && out.contains("size=1024k"), "{out}");
    assert!(out.ends_with("700\n"), "{out}");
}

#[test]
fn user_group_add_and_workdir() {
    assert_eq!(inside(&["--user", "1000:1001", "--group-add", "5", "-w", "/tmp"], "id -u; id -g; id -G; pwd"), "1000\n1001\n1001 5\n/tmp\n");
    // A bare uid gets gid 0 (as Docker does); a name comes from the container's passwd.
    assert_eq!(inside(&["-u", "4242"], "id -u; id -g"), "4242\n0\n");
    assert_eq!(inside(&["--user", "nobody"], "id -u"), "65534\n");
}

#[test]
fn env_env_file_and_passed_value() {
    let d = TempDir::new("envfile");
    std::fs::write(d.join("vars"), "# a comment\nA=from-file\n\nB=file\n").unwrap();
    let f = d.join("vars").display().to_string();
    let mut c = cli_support::command(None);
    c.env("COCOON_TEST_PASSED", "passed-through")
        .args(["--env-file", &f, "-e", "B=flag", "-e", "COCOON_TEST_PASSED", "--", "sh", "-c", "echo $A $B $COCOON_TEST_PASSED; env | wc -l"]);
    let o = cli_support::output(c);
    assert_eq!(o.code, 0, "{o:?}");
    // PATH, A, B, COCOON_TEST_PASSED and the shell's own PWD (and SHLVL for some shells).
    let mut lines = o.stdout.lines();
    assert_eq!(lines.next(), Some("from-file flag passed-through"));
    let n: u32 = lines.next().unwrap().trim().parse().unwrap();
    assert!((4..=7).contains(&n), "{}", o.stdout);
}

#[test]
fn cap_add_and_cap_drop() {
    let default = inside(&[], "grep CapEff /proc/self/status");
    let added = inside(&["--cap-add", "NET_ADMIN"], "grep CapEff /proc/self/status");
    let none = inside(&["--cap-drop", "ALL"], "grep CapEff /proc/self/status");
    let one = inside(&["--cap-drop", "all", "--cap-add", "cap_kill"], "grep CapEff /proc/self/status");
    let hex = |s: &str| u64::from_str_radix(field(s, "CapEff"), 16).unwrap();
    assert_eq!(hex(&added), hex(&default) | 1 << 12, "CAP_NET_ADMIN is bit 12");
    assert_eq!(hex(&none), 0);
    assert_eq!(hex(&one), 1 << 5, "CAP_KILL is bit 5");
}

#[test]
fn rlimit_umask_oom_score_adj() {
    let out = inside(
        &["--rlimit", "nofile=100:200", "--ulimit", "core=0", "--umask", "077", "--oom-score-adj", "500"],
        "grep -E 'Max (open files|core)' /proc/self/limits | tr -s ' '; umask; cat /proc/self/oom_score_adj",
    );
    assert!(out.contains("Max core file size 0 0 bytes"), "{out}");
    assert!(out.contains("Max open files 100 200 files"), "{out}");
    // (Lowering it needs CAP_SYS_RESOURCE, which this machine's root lacks.)
    assert!(out.contains("0077\n500\n"), "{out}");
}

#[test]
fn hostname_and_domainname() {
    assert_eq!(inside(&["--hostname", "box", "--domainname", "example.org"], "hostname; cat /proc/sys/kernel/domainname"), "box\nexample.org\n");
    assert_eq!(inside(&[], "hostname"), "cocoon\n");
}

fn own_ns(name: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{name}")).unwrap().display().to_string()
}

#[test]
fn share_unshare_no_net_and_join() {
    let net = own_ns("net");
    let probe = "readlink /proc/self/ns/net /proc/self/ns/time_for_children /proc/self/ns/ipc";
    let default = inside(&[], probe);
    let shared = inside(&["--share", "net", "--unshare", "time"], probe);
    let no_net = inside(&["--no-net"], "readlink /proc/self/ns/net");
    let joined = inside(&["--join", &format!("net:/proc/{}/ns/net", std::process::id())], "readlink /proc/self/ns/net");
    assert!(!default.contains(&net), "{default}");
    assert!(default.contains(&own_ns("time")), "no time namespace by default: {default}");
    assert!(shared.starts_with(&format!("{net}\n")), "{shared}");
    assert!(!shared.contains(&own_ns("time")), "--unshare time: {shared}");
    assert_eq!(no_net.trim(), net);
    assert_eq!(joined.trim(), net);
}

#[test]
fn uid_map_gid_map_and_userns() {
    let out = inside(&["--uid-map", "0:200000:1000", "--gid-map", "0:300000:1000"], "cat /proc/self/uid_map /proc/self/gid_map | tr -s ' '");
    assert_eq!(out, " 0 200000 1000\n 0 300000 1000\n");
    let out = inside(&["--userns"], "cat /proc/self/uid_map | tr -s ' '");
    assert_eq!(out, " 0 100000 65536\n");
}

#[test]
fn time_offset() {
    let up = |s: &str| s.split('.').next().unwrap().trim().parse::<u64>().unwrap();
    let host = up(&std::fs::read_to_string("/proc/uptime").unwrap());
    let out = inside(&["--time-offset", "boottime=2d"], "cut -d' ' -f1 /proc/uptime");
    assert!(up(&out) >= host + 2 * 86_400, "{out} vs host {host}");
}

#[test]
fn pass_fd() {
    let d = TempDir::new("passfd");
    std::fs::write(d.join("secret"), "through fd 7\n").unwrap();
    // The shell opens fd 5 (no close-on-exec) and runs the tool with it.
    let script = format!("exec 5<{}; exec {} --pass-fd 5:7 -- sh -c 'cat <&7'", d.join("secret").display(), cli_support::BIN);
    let o = std::process::Command::new("sh").args(["-c", &script]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "through fd 7\n", "{o:?}");
}

#[test]
fn no_new_privs_masked_and_readonly_paths() {
    assert_eq!(field(&inside(&[], "cat /proc/self/status"), "NoNewPrivs"), "1");
    assert_eq!(field(&inside(&["--no-new-privs=false"], "cat /proc/self/status"), "NoNewPrivs"), "0");
    let out = inside(&["--masked-path", "/proc/cpuinfo", "--readonly-path", "/tmp"], "wc -c < /proc/cpuinfo; touch /tmp/x 2>/dev/null || echo ro");
    assert_eq!(out, "0\nro\n");
}

#[test]
fn read_only_root_writable_minimal_init() {
    assert_eq!(inside(&[], "touch /x 2>/dev/null || echo ro"), "ro\n");
    assert_eq!(inside(&["--read-only"], "touch /x 2>/dev/null || echo ro"), "ro\n");
    assert_eq!(inside(&["--writable"], "touch /x && echo rw"), "rw\n");
    // --minimal: only /proc; no /dev or /sys mounts.
    let out = inside(&["--minimal"], "grep -c -E ' /(dev|sys) ' /proc/mounts; grep -c ' /proc ' /proc/mounts");
    assert_eq!(out, "0\n1\n");
    assert!(inside(&["--init"], "tr '\\0' ' ' < /proc/1/cmdline").starts_with("cocoon-init"));
}

#[test]
fn rootfs_and_layers() {
    let lower = TempDir::new("lower");
    cli_support::busybox_root(lower.path());
    let out = inside(&["--rootfs", &lower.s()], "cat /etc/marker; id -u alice 2>/dev/null || echo no-id-applet");
    assert!(out.starts_with("busybox root\n"), "{out}");
    let scratch = TempDir::new("layers");
    for d in ["upper", "work"] {
        std::fs::create_dir(scratch.join(d)).unwrap();
    }
    let (u, w) = (scratch.join("upper").display().to_string(), scratch.join("work").display().to_string());
    let out = inside(&["--layers", &lower.s(), "--upper", &u, "--work", &w, "--writable", "--user", "alice"], "cat /etc/marker; id -u; id -G; echo hi > /tmp/new");
    assert_eq!(out, "busybox root\n1234\n2345 777\n");
    assert_eq!(std::fs::read_to_string(scratch.join("upper/tmp/new")).unwrap(), "hi\n");
}

#[test]
fn seccomp_modes_and_deny() {
    let mode = |flags: &[&str]| field(&inside(flags, "cat /proc/self/status"), "Seccomp_filters").to_string();
    // The default profile is 3 stacked programs for Docker's default capabilities (the
    // EPERM allowlist, clone3 → ENOSYS, the x32 guard); a deny-list is one more.
    assert_eq!(mode(&[]), "3");
    assert_eq!(mode(&["--seccomp=unconfined"]), "0");
    assert_eq!(mode(&["--seccomp"]), "4");
    assert_eq!(mode(&["--seccomp=deny-list"]), "4");
    // A Docker JSON profile replaces the default one: its errno program and the x32 guard.
    let dir = TempDir::new("seccomp-json");
    let json = dir.join("profile.json");
    std::fs::write(&json, r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}"#).unwrap();
    let json = json.display().to_string();
    assert_eq!(mode(&["--seccomp-profile", &json]), "2");
    let out = inside(&["--seccomp-profile", &json], "mkdir /tmp/d 2>&1 || true");
    assert!(out.contains("Permission denied"), "{out}");
    let out = inside(&["--seccomp-deny", "mkdir", "--seccomp-deny", "mkdirat", "--seccomp-errno", "13"], "mkdir /tmp/d 2>&1 || true");
    assert!(out.contains("Permission denied"), "{out}");
}

#[test]
fn selinux_flags_on_a_host_without_selinux() {
    // No SELinux here: labels are a no-op that says so; --selinux-require refuses.
    let o = run(&["--selinux-type", "container_t", "--selinux-level", "s0:c1,c2", "--", "true"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.stderr.contains("SELinux label: none"), "{o:?}");
    let o = run(&["--selinux-require", "--", "true"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("--selinux-require"), "{o:?}");
}

#[test]
fn name_verbose_stats_and_dry_run() {
    let name = unique("named");
    // The program outlives the inspection --verbose makes of its /proc/<pid>/ns (a program
    // that exits at once may be gone before, or halfway through, the reading).
    let o = run(&["--name", &name, "--verbose", "--stats", "--memory", "64M", "--pids", "64", "--", "sh", "-c", "cat /proc/self/cgroup; sleep 0.3"]);
    assert_eq!(o.code, 0, "{o:?}");
    for want in [
        "own namespaces: mnt uts ipc pid net cgroup",
        "cgroup under cocoon: memory 64 MiB, pids 64",
        "capabilities: Docker's default set; no_new_privs on",
        "cocoon: stats: ",
        &format!("container {name} ended: exit code 0"),
    ] {
        assert!(o.stderr.contains(want), "no {want:?} in {}", o.stderr);
    }
    // The program sees the root of its own cgroup namespace.
    assert!(o.stdout.lines().all(|l| l.ends_with(":/")), "{}", o.stdout);
    cli_support::assert_nothing_left(&name);
    let name = unique("dry");
    let o = run(&["--dry-run", "--name", &name, "--memory", "1g", "--cpus", "0.5", "--tmpfs", "/t:size=2m", "--", "true"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.stdout.contains("cgroup under cocoon: memory 1 GiB, cpus 0.5 (50 ms every 100 ms)"), "{}", o.stdout);
    assert!(o.stdout.contains("tmpfs /t, 2 MiB"), "{}", o.stdout);
    assert!(o.stdout.contains("nothing was created"), "{}", o.stdout);
    cli_support::assert_nothing_left(&name);
}

#[test]
fn landlock_flags() {
    // /dev/null is a file: the rule keeps only the file rights (write to it works).
    let ll = [
        "--tmpfs", "/scratch", "--landlock-ro", "/", "--landlock-exec", "/", "--landlock-rw", "/scratch",
        "--landlock-rw", "/dev/null", "--landlock-connect", "8001",
    ];
    let out = inside(
        &ll,
        "echo in > /scratch/a && cat /scratch/a; touch /tmp/x 2>/dev/null || echo tmp-denied; \
         busybox nc -w 2 127.0.0.1 8001 </dev/null 2>&1; busybox nc -w 2 127.0.0.1 8002 </dev/null 2>&1; true",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..2], ["in", "tmp-denied"], "{out}");
    assert!(lines[2].contains("Connection refused") && lines[3].contains("Permission denied"), "{out}");
    // --verbose names the ABI; a path that is not absolute names its flag (exit 2).
    let o = run(&["--verbose", "--landlock-ro", "/", "--landlock-exec", "/", "--", "true"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.stderr.contains("cocoon: landlock: ABI "), "{o:?}");
    let o = run(&["--landlock-ro", "etc", "--", "true"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("--landlock-ro"), "{o:?}");
}
