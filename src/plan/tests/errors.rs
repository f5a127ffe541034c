//! What each bad input gives: a typed error naming the setting, before anything exists.
//! One line per case: `label: Variant[what] reason`.

use std::os::fd::OwnedFd;
use std::sync::Arc;

use super::*;
use crate::capability::{CapSet, Capabilities, Capability};
use crate::cgroup::{Bytes, CgroupConfig, CpuShares, CpuWeight};
use crate::idmap::IdRange;
use crate::mount::Mount;
use crate::namespace::{Namespaces, TimeOffsets};
use crate::process::{Process, Rlimit, User};
use crate::rootfs::Rootfs;
use crate::seccomp::Seccomp;
use crate::landlock::{Landlock, LandlockMode};

fn sh() -> Process {
    Process::new("/bin/sh")
}

fn b(p: Process) -> ContainerBuilder {
    ContainerBuilder::new(p)
}

fn userns(p: Process, uid: IdRange, gid: IdRange) -> ContainerBuilder {
    b(p).namespaces(Namespaces::DEFAULT | Namespaces::USER).uid_map([uid]).gid_map([gid])
}

/// The error as one line: its variant, what it names, and why.
fn line(e: &Error) -> String {
    match e {
        Error::InvalidConfig { what, reason } => format!("InvalidConfig[{what}] {reason}"),
        Error::Cgroup(c) => {
            let debug = format!("{c:?}");
            let variant = debug.split([' ', '{', '(']).next().unwrap_or_default();
            format!("Cgroup::{variant} {c}")
        }
        Error::ImageFile { problem, .. } => format!("ImageFile[{problem:?}] {e}"),
        Error::Unsupported { what, reason } => format!("Unsupported[{what}] {reason}"),
        other => format!("other {other:?}"),
    }
}

fn check(cases: Vec<(&str, ContainerBuilder, HostFacts<'_>)>, want: &str, tmp: &Path) {
    let got: String = cases
        .iter()
        .map(|(label, b, host)| match Plan::for_host(b, host) {
            Ok(_) => format!("{label}: planned, no error\n"),
            Err(e) => format!("{label}: {}\n", line(&e)),
        })
        .collect::<String>()
        .replace(&tmp.display().to_string(), "$T");
    assert_text(&got, want.trim_start());
}

/// Values [`ContainerBuilder::validate`] rejects without looking at the host.
#[test]
fn bad_descriptions() {
    let h = root_host;
    let id = IdRange::new(0, 100_000, 65_536);
    let docker = Capabilities::docker_default();
    let fd = || match std::fs::File::open("/dev/null") {
        Ok(f) => Arc::new(OwnedFd::from(f)),
        Err(e) => panic!("open /dev/null: {e}"),
    };
    let many_fds = (0..65).fold(sh(), |p, i| p.pass_fd(fd(), 3 + i));
    let cases = vec![
        ("id", b(sh()).id("a/b"), h()),
        ("hostname", b(sh()).hostname("x".repeat(65)), h()),
        ("hostname without UTS", b(sh()).namespaces(Namespaces::MOUNT).hostname("box"), h()),
        ("user namespace without maps", b(sh()).namespaces(Namespaces::DEFAULT | Namespaces::USER), h()),
        // uid_map/gid_map/time_offsets add their namespace: only a later `namespaces` drops it.
        ("maps without user namespace", b(sh()).uid_map([id]).gid_map([id]).namespaces(Namespaces::DEFAULT), h()),
        ("id map count 0", userns(sh(), IdRange::new(0, 1000, 0), id), h()),
        ("no mount namespace", b(sh()).namespaces(Namespaces::PID), h()),
        ("init without PID", b(sh()).namespaces(Namespaces::MOUNT).init(true), h()),
        (
            "offsets without TIME",
            b(sh())
                .time_offsets(TimeOffsets { monotonic: std::time::Duration::from_secs(1), ..TimeOffsets::default() })
                .namespaces(Namespaces::DEFAULT),
            h(),
        ),
        ("relative bind source", b(sh()).mount(Mount::bind("data", "/data")), h()),
        ("mount target ..", b(sh()).mount(Mount::tmpfs("/a/../b")), h()),
        ("tmpfs size 0", b(sh()).mount(Mount::tmpfs("/t").size(0)), h()),
        ("tmpfs mode", b(sh()).mount(Mount::tmpfs("/t").mode(0o17777)), h()),
        (
            "relabel without SELinux",
            b(sh()).mount(Mount::bind("/srv", "/srv").selinux_relabel(crate::selinux::Sharing::Private)),
            h(),
        ),
        ("join PID by path", b(sh()).join_namespace(Namespaces::PID, "/proc/1/ns/pid"), h()),
        ("join a new namespace", b(sh()).join_namespace(Namespaces::NET, "/run/netns/x").namespaces(Namespaces::DEFAULT), h()),
        (
            "join relative path",
            b(sh()).namespaces(Namespaces::DEFAULT - Namespaces::NET).join_namespace(Namespaces::NET, "netns/x"),
            h(),
        ),
        (
            // A joined UTS namespace is not a new one, so this is the hostname's UTS rule.
            "hostname with a joined UTS",
            b(sh()).namespaces(Namespaces::DEFAULT - Namespaces::UTS).join_namespace(Namespaces::UTS, "/run/uts").hostname("x"),
            h(),
        ),
        ("masked path relative", b(sh()).masked_paths(["proc/kcore"]), h()),
        ("no lower layer", b(sh()).rootfs(Rootfs::layers(Vec::<PathBuf>::new(), "/u", "/w")), h()),
        ("empty program", b(Process::new("")), h()),
        ("env name with =", b(sh().env("A=B", "1")), h()),
        ("relative cwd", b(sh().cwd("srv")), h()),
        ("oom_score_adj", b(sh().oom_score_adj(1001)), h()),
        ("umask", b(sh().umask(0o1000)), h()),
        ("rlimit soft > hard", b(sh().rlimit(Rlimit::Nofile, 10, 5)), h()),
        ("too many fds", b(many_fds), h()),
        ("fd target 2", b(sh().pass_fd(fd(), 2)), h()),
        ("seccomp errno", b(sh().seccomp(Seccomp::deny([libc::SYS_ptrace]).errno(0))), h()),
        ("seccomp syscall", b(sh().seccomp(Seccomp::deny([5000]))), h()),
        (
            "effective not permitted",
            b(sh().capabilities(Capabilities { permitted: CapSet::default(), ..docker })),
            h(),
        ),
        (
            "ambient not inheritable",
            b(sh().capabilities(Capabilities { ambient: CapSet::default().with(Capability::CAP_CHOWN), ..docker })),
            h(),
        ),
    ];
    check(cases, r#"
id: InvalidConfig[container id] "a/b" may hold only letters, digits, '_', '-' and '.', and not start with '.'
hostname: InvalidConfig[hostname] "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" is 65 bytes; 1 to 64 are allowed
hostname without UTS: InvalidConfig[hostname] setting it needs a UTS namespace
user namespace without maps: InvalidConfig[user namespace] a new user namespace needs both a uid map and a gid map
maps without user namespace: InvalidConfig[id map] id maps need a user namespace
id map count 0: InvalidConfig[uid map] range IdRange { inside: 0, outside: 1000, count: 0 } has a count of 0
no mount namespace: InvalidConfig[namespaces] a mount namespace is required (the root filesystem is pivoted)
init without PID: InvalidConfig[init] an init process needs a PID namespace
offsets without TIME: InvalidConfig[time offsets] they need a time namespace
relative bind source: InvalidConfig[bind source] data is not an absolute path
mount target ..: InvalidConfig[mount target] /a/../b contains '..'
tmpfs size 0: InvalidConfig[tmpfs size] a size of 0 bytes
tmpfs mode: InvalidConfig[tmpfs mode] 0o17777 is above 0o7777
relabel without SELinux: InvalidConfig[mount relabel] relabelling /srv needs ContainerBuilder::selinux
join PID by path: InvalidConfig[namespace to join] Namespaces(PID): only one of NET, IPC or UTS can be joined by path
join a new namespace: InvalidConfig[namespace to join] Namespaces(NET) is also to be created new
join relative path: InvalidConfig[namespace to join] netns/x is not absolute
hostname with a joined UTS: InvalidConfig[hostname] setting it needs a UTS namespace
masked path relative: InvalidConfig[masked/read-only path] proc/kcore is not absolute
no lower layer: InvalidConfig[rootfs layers] at least one lower layer is needed
empty program: InvalidConfig[program] the program name is empty
env name with =: InvalidConfig[environment variable] name "A=B" is empty or contains '='
relative cwd: InvalidConfig[working directory] srv is not absolute
oom_score_adj: InvalidConfig[oom_score_adj] 1001 is outside -1000..=1000
umask: InvalidConfig[umask] 0o1000 is above 0o777
rlimit soft > hard: InvalidConfig[rlimit] RLIMIT_NOFILE: soft limit 10 is above hard limit 5
too many fds: InvalidConfig[passed fd] 65 fds passed; at most 64 are supported
fd target 2: InvalidConfig[passed fd] target 2 is below 3 (use stdin/stdout/stderr)
seccomp errno: InvalidConfig[seccomp errno] 0 is outside 1..=4095
seccomp syscall: InvalidConfig[seccomp syscall] 5000 is not a syscall number
effective not permitted: InvalidConfig[capabilities] effective holds capabilities not in permitted
ambient not inheritable: InvalidConfig[capabilities] ambient holds capabilities not in both permitted and inheritable
"#, Path::new("/nonexistent"));
}

/// Cgroup settings, checked against the host's cgroup layout (here: made up).
#[test]
fn bad_cgroup_settings() {
    let cg = |c: CgroupConfig| b(sh()).cgroup(c);
    let v2 = || HostFacts { cgroup: Some(&V2_NO_MEMORY), ..root_host() };
    let cases = vec![
        ("parent ..", cg(CgroupConfig::new().parent("../x")), root_host()),
        ("shares and weight", cg(CgroupConfig::new().cpu_shares(CpuShares(512)).cpu_weight(CpuWeight(100))), root_host()),
        ("memory 0", cg(CgroupConfig::new().memory_max(Bytes(0))), root_host()),
        ("memory on a v2 host without it", cg(CgroupConfig::new().memory_max(Bytes::mib(64))), v2()),
        ("no cgroupfs", cg(CgroupConfig::new().pids_max(10)), HostFacts { cgroup: None, ..root_host() }),
    ];
    check(cases, r#"
parent ..: Cgroup::Invalid invalid cgroup cgroup setting parent: ../x: must be a relative path without '.' or '..'
shares and weight: Cgroup::Invalid invalid cgroup cpu setting shares/weight: set shares or weight, not both
memory 0: Cgroup::Invalid invalid cgroup memory setting memory max: 0 bytes leaves nothing to run in
memory on a v2 host without it: Cgroup::ControllerUnavailable cgroup controller memory is not available: no mounted hierarchy offers it
no cgroupfs: Cgroup::NoCgroupfs no cgroup filesystem is mounted
"#, Path::new("/nonexistent"));
}

/// What planning finds wrong on the host or in the image: paths, users, the kernel.
#[test]
fn bad_paths_users_and_kernel() {
    let t = TempDir::new("errors");
    let file = t.write("file", "");
    let root = t.mkdir("root");
    t.write("root/etc/passwd", "root:x:0:0::/:/bin/sh\nbroken:x:zero:0::/:/bin/sh\n");
    let fifo_root = t.mkdir("fifo");
    t.mkdir("fifo/etc");
    let fifo = std::ffi::CString::new(format!("{}/fifo/etc/passwd", t.path().display())).unwrap_or_default();
    // SAFETY: mkfifo of a NUL-terminated path in our temp directory.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0, "mkfifo");
    let colon = t.mkdir("a:b");
    let id = IdRange::new(0, 100_000, 65_536);
    let dir = |p: Process| b(p).rootfs(Rootfs::directory(&root));
    let cases = vec![
        ("rootfs missing", b(sh()).rootfs(Rootfs::directory(t.path().join("nope"))), root_host()),
        ("rootfs is a file", b(sh()).rootfs(Rootfs::directory(&file)), root_host()),
        ("layer missing", b(sh()).rootfs(Rootfs::layers([t.path().join("nope")], &root, &root)), root_host()),
        (
            "':' in a layer before 6.8",
            b(sh()).rootfs(Rootfs::layers([&colon], &root, &root)),
            HostFacts { kernel: (6, 7), ..root_host() },
        ),
        ("bind source missing", b(sh()).mount(Mount::bind(t.path().join("nope"), "/x")), root_host()),
        ("user not in passwd", dir(sh().user(User::Name("app".into()))), root_host()),
        ("malformed passwd entry", dir(sh().user(User::Name("broken".into()))), root_host()),
        ("passwd is a FIFO", b(sh().user(User::Name("app".into()))).rootfs(Rootfs::directory(&fifo_root)), root_host()),
        ("sandbox has no such user", b(sh().user(User::Name("app".into()))), root_host()),
        (
            "groups while setgroups is denied",
            userns(sh().user(User::Id { uid: 0, gid: 0, groups: vec![5] }), id, id),
            user_host(),
        ),
        ("uid not mapped", userns(sh().uid_gid(70_000, 0), id, id), root_host()),
        ("gid not mapped", userns(sh().uid_gid(0, 70_000), id, id), root_host()),
        ("empty PATH", b(Process::new("sh").env("PATH", "::")), root_host()),
        ("NUL in an argument", b(sh().arg("a\0b")), root_host()),
        ("NUL in an environment value", b(sh().env("A", "a\0b")), root_host()),
        ("landlock path with ..", b(sh()).landlock(Landlock::new().read("/a/../b")), root_host()),
        (
            "landlock right above the kernel's ABI",
            b(sh()).landlock(Landlock::new().read_write("/x").mode(LandlockMode::Required)),
            HostFacts { landlock_abi: 3, ..root_host() },
        ),
        (
            "landlock ports on a kernel without Landlock",
            b(sh()).landlock(Landlock::new().connect_port(80).mode(LandlockMode::Required)),
            HostFacts { landlock_abi: 0, ..root_host() },
        ),
        ("landlock without no_new_privs", b(sh().no_new_privs(false)).landlock(Landlock::new().read("/")), root_host()),
    ];
    check(cases, r#"
rootfs missing: InvalidConfig[rootfs] $T/nope: No such file or directory (os error 2)
rootfs is a file: InvalidConfig[rootfs] $T/file is not a directory
layer missing: InvalidConfig[rootfs lower layer] $T/nope: No such file or directory (os error 2)
':' in a layer before 6.8: InvalidConfig[rootfs lower layer] $T/a:b contains ':', ',' or '\', which overlayfs before Linux 6.8 cannot take
bind source missing: InvalidConfig[bind source] $T/nope: No such file or directory (os error 2)
user not in passwd: InvalidConfig[user] "app" is not in the container's /etc/passwd
malformed passwd entry: InvalidConfig[user] "broken" has a malformed passwd entry
passwd is a FIFO: ImageFile[NotRegular("FIFO")] cannot use the image's $T/fifo/etc/passwd (it is a FIFO, not a regular file)
sandbox has no such user: InvalidConfig[user] "app" is not in the container's /etc/passwd
groups while setgroups is denied: InvalidConfig[supplementary groups] setgroups is denied in this user namespace (the caller lacks CAP_SETGID)
uid not mapped: InvalidConfig[user] uid 70000 is not in the uid map
gid not mapped: InvalidConfig[user] gid 70000 is not in the gid map
empty PATH: InvalidConfig[program] PATH is empty, so a bare name cannot be found
NUL in an argument: InvalidConfig[argument] "a\0b" contains a NUL byte
NUL in an environment value: InvalidConfig[environment variable] "A=a\0b" contains a NUL byte
landlock path with ..: InvalidConfig[landlock path] /a/../b contains '..'
landlock right above the kernel's ABI: Unsupported[landlock] /x: IOCTL_DEV needs ABI 5, the kernel has ABI 3
landlock ports on a kernel without Landlock: Unsupported[landlock] tcp port 80: CONNECT_TCP needs ABI 4, the kernel has ABI 0
landlock without no_new_privs: InvalidConfig[landlock] applying a ruleset needs no_new_privs (the default) or CAP_SYS_ADMIN kept in the container
"#, t.path());
}
