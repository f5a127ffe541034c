//! Expected plans of representative builders: the default in full, the others as their
//! difference from it (`-` a line of the default they lack, `+` a line they add).

use super::*;
use crate::cgroup::{Bytes, CgroupConfig};
use crate::idmap::IdRange;
use crate::mount::Mount;
use crate::namespace::{Namespaces, TimeOffsets};
use crate::process::{Process, Rlimit, User};
use crate::rootfs::Rootfs;

fn sh() -> Process {
    Process::new("sh").args(["-c", "true"])
}

fn default_render() -> String {
    render(&plan(&ContainerBuilder::new(sh()), &root_host()))
}

/// `b`'s plan on `host` as its difference from the default builder's on the root host.
fn delta_from_default(b: &ContainerBuilder, host: &HostFacts<'_>) -> String {
    delta(&default_render(), &render(&plan(b, host)))
}

const DEFAULT: &str = r#"
namespaces Namespaces(MOUNT | UTS | IPC | PID | NET | CGROUP)
root tmpfs mode=755 labeled [nodev] read-only=no
uid_map - gid_map -
setgroups allow become_root no
time_offsets -
hostname - domainname -
loopback yes init no
joins []
masked /proc/asound /proc/acpi /proc/interrupts /proc/kcore /proc/keys /proc/latency_stats /proc/timer_list /proc/timer_stats /proc/sched_debug /proc/scsi /sys/firmware /sys/devices/virtual/powercap
readonly /proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger
cgroup policy_only=yes shared=yes device_rules=10
argv ["sh", "-c", "true"]
exec ["/usr/local/sbin/sh", "/usr/local/bin/sh", "/usr/sbin/sh", "/usr/bin/sh", "/sbin/sh", "/bin/sh"]
cwd . uid 0 gid 0 groups [] set_groups yes
last_cap 40 no_new_privs yes default_seccomp yes seccomp no
mount rbind /usr on /usr [ro,nosuid,nodev]
symlink /bin -> usr/bin
symlink /sbin -> usr/sbin
symlink /lib -> usr/lib
symlink /lib64 -> usr/lib64
dir /etc 0755
dir /root 0700
dir /home 0755
dir /run 0755
mount rbind /etc/alternatives on /etc/alternatives [ro,nosuid,nodev]
mount rbind /etc/ld.so.cache on /etc/ld.so.cache (file) [ro,nosuid,nodev]
mount rbind /etc/ssl/certs on /etc/ssl/certs [ro,nosuid,nodev]
symlink /etc/localtime -> /usr/share/zoneinfo/Etc/UTC
mount tmpfs mode=1777 labeled on /tmp [nosuid,nodev]
file /etc/passwd 0644 "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
file /etc/group 0644 "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n"
file /etc/hosts 0644 "127.0.0.1\tlocalhost localhost\n::1\tlocalhost ip6-localhost\n"
file /etc/hostname 0644 "localhost\n"
file /etc/nsswitch.conf 0644 "passwd: files\ngroup: files\nhosts: files\n"
mount proc on /proc [nosuid,nodev,noexec]
mount sysfs on /sys [ro,nosuid,nodev,noexec]
mount tmpfs mode=755,size=65536k labeled on /dev [nosuid,nodev,noexec]
mount bind /dev/null (1:3) on /dev/null (file) [nosuid,noexec]
mount bind /dev/zero (1:5) on /dev/zero (file) [nosuid,noexec]
mount bind /dev/full (1:7) on /dev/full (file) [nosuid,noexec]
mount bind /dev/random (1:8) on /dev/random (file) [nosuid,noexec]
mount bind /dev/urandom (1:9) on /dev/urandom (file) [nosuid,noexec]
mount bind /dev/tty (5:0) on /dev/tty (file) [nosuid,noexec]
mount devpts newinstance,ptmxmode=0666,mode=0620,gid=5 labeled on /dev/pts [nosuid,noexec]
mount tmpfs mode=1777,size=65536k labeled on /dev/shm [nosuid,nodev,noexec]
mount mqueue on /dev/mqueue [nosuid,nodev,noexec]
symlink /dev/fd -> /proc/self/fd
symlink /dev/stdin -> /proc/self/fd/0
symlink /dev/stdout -> /proc/self/fd/1
symlink /dev/stderr -> /proc/self/fd/2
symlink /dev/ptmx -> pts/ptmx
symlink /dev/core -> /proc/kcore
"#;

#[test]
fn default_builder() {
    assert_text(&default_render(), DEFAULT.trim_start());
}

#[test]
fn read_only_root_with_hostname() {
    let b = ContainerBuilder::new(sh()).read_only_root(true).hostname("box").domainname("example.org");
    assert_text(&delta_from_default(&b, &root_host()), r#"
-root tmpfs mode=755 labeled [nodev] read-only=no
+root tmpfs mode=755 labeled [nodev] read-only=yes
-hostname - domainname -
+hostname box domainname example.org
-file /etc/hosts 0644 "127.0.0.1\tlocalhost localhost\n::1\tlocalhost ip6-localhost\n"
-file /etc/hostname 0644 "localhost\n"
+file /etc/hosts 0644 "127.0.0.1\tlocalhost box\n::1\tlocalhost ip6-localhost\n"
+file /etc/hostname 0644 "box\n"
"#.trim_start());
}

#[test]
fn user_namespace_with_maps() {
    let map = [IdRange::new(0, 100_000, 65_536)];
    let b = ContainerBuilder::new(sh()).namespaces(Namespaces::DEFAULT | Namespaces::USER).uid_map(map).gid_map(map);
    assert_text(&delta_from_default(&b, &root_host()), r#"
-namespaces Namespaces(MOUNT | UTS | IPC | PID | NET | CGROUP)
+namespaces Namespaces(MOUNT | UTS | IPC | PID | NET | USER | CGROUP)
-uid_map - gid_map -
-setgroups allow become_root no
+uid_map "0 100000 65536\n" gid_map "0 100000 65536\n"
+setgroups allow become_root yes
"#.trim_start());
}

#[test]
fn rootless_user_namespace_without_pid_net_ipc() {
    // One id mapped (the caller's), no CAP_SETGID: setgroups denied, no gid 5 for devpts;
    // no PID or NET namespace: the host's /proc and /sys are bound instead of new ones.
    let b = ContainerBuilder::new(sh())
        .namespaces(Namespaces::MOUNT | Namespaces::USER)
        .uid_map([IdRange::new(0, 1000, 1)])
        .gid_map([IdRange::new(0, 1000, 1)]);
    assert_text(&delta_from_default(&b, &user_host()), r#"
-namespaces Namespaces(MOUNT | UTS | IPC | PID | NET | CGROUP)
+namespaces Namespaces(MOUNT | USER)
-uid_map - gid_map -
-setgroups allow become_root no
+uid_map "0 1000 1\n" gid_map "0 1000 1\n"
+setgroups deny become_root yes
-loopback yes init no
+loopback no init no
-cgroup policy_only=yes shared=yes device_rules=10
+cgroup -
-cwd . uid 0 gid 0 groups [] set_groups yes
+cwd . uid 0 gid 0 groups [] set_groups no
-mount proc on /proc [nosuid,nodev,noexec]
-mount sysfs on /sys [ro,nosuid,nodev,noexec]
+mount rbind /proc on /proc [nosuid,nodev,noexec]
+mount rbind /sys on /sys [ro,nosuid,nodev,noexec]
-mount devpts newinstance,ptmxmode=0666,mode=0620,gid=5 labeled on /dev/pts [nosuid,noexec]
+mount devpts newinstance,ptmxmode=0666,mode=0620 labeled on /dev/pts [nosuid,noexec]
-mount mqueue on /dev/mqueue [nosuid,nodev,noexec]
"#.trim_start());
}

#[test]
fn directory_rootfs_with_mounts() {
    // A directory root: none of the host sandbox's ops; the user's mounts come after the
    // standard ones; the user and its groups come from the image's /etc/passwd and group.
    let root = TempDir::new("rootfs");
    root.write("etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/srv:/bin/sh\n");
    root.write("etc/group", "root:x:0:\nwheel:x:10:app\nstaff:x:50:root,app\n");
    let data = root.mkdir("data");
    let conf = root.write("app.conf", "x=1\n");
    let b = ContainerBuilder::new(sh().user(User::Name("app".into())).cwd("/srv/app"))
        .rootfs(Rootfs::directory(root.path()))
        .mount(Mount::bind(&data, "/data").recursive(false))
        .mount(Mount::bind(&conf, "/etc/app.conf").read_only(true))
        .mount(Mount::tmpfs("/scratch").size(1 << 20).mode(0o700).noexec(true))
        .mount(Mount::proc("/mnt/proc"));
    let got = render(&plan(&b, &root_host())).replace(&root.path().display().to_string(), "$ROOT");
    assert_text(&delta(&default_render(), &got), r#"
-root tmpfs mode=755 labeled [nodev] read-only=no
+root rbind $ROOT [nodev] read-only=no
-cwd . uid 0 gid 0 groups [] set_groups yes
+cwd srv/app uid 1000 gid 1000 groups [10, 50] set_groups yes
-mount rbind /usr on /usr [ro,nosuid,nodev]
-symlink /bin -> usr/bin
-symlink /sbin -> usr/sbin
-symlink /lib -> usr/lib
-symlink /lib64 -> usr/lib64
-dir /etc 0755
-dir /root 0700
-dir /home 0755
-dir /run 0755
-mount rbind /etc/alternatives on /etc/alternatives [ro,nosuid,nodev]
-mount rbind /etc/ld.so.cache on /etc/ld.so.cache (file) [ro,nosuid,nodev]
-mount rbind /etc/ssl/certs on /etc/ssl/certs [ro,nosuid,nodev]
-symlink /etc/localtime -> /usr/share/zoneinfo/Etc/UTC
-mount tmpfs mode=1777 labeled on /tmp [nosuid,nodev]
-file /etc/passwd 0644 "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
-file /etc/group 0644 "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n"
-file /etc/hosts 0644 "127.0.0.1\tlocalhost localhost\n::1\tlocalhost ip6-localhost\n"
-file /etc/hostname 0644 "localhost\n"
-file /etc/nsswitch.conf 0644 "passwd: files\ngroup: files\nhosts: files\n"
+mount bind $ROOT/data on /data [nosuid,nodev]
+mount rbind $ROOT/app.conf on /etc/app.conf (file) [ro,nosuid,nodev]
+mount tmpfs mode=700,size=1048576 labeled on /scratch [nosuid,nodev,noexec]
+mount proc on /mnt/proc [nosuid,nodev,noexec]
"#.trim_start());
}

#[test]
fn init_and_no_pid_namespace() {
    let init = ContainerBuilder::new(sh()).init(true);
    assert_text(&delta_from_default(&init, &root_host()), r#"
-loopback yes init no
+loopback yes init yes
"#.trim_start());
    // Without a PID namespace (and no user namespace) /proc is still a new proc; the
    // device policy is a cgroup of the container's own, not the machine's shared one.
    let no_pid = ContainerBuilder::new(sh()).namespaces(Namespaces::DEFAULT - Namespaces::PID - Namespaces::NET);
    assert_text(&delta_from_default(&no_pid, &root_host()), r#"
-namespaces Namespaces(MOUNT | UTS | IPC | PID | NET | CGROUP)
+namespaces Namespaces(MOUNT | UTS | IPC | CGROUP)
-loopback yes init no
+loopback no init no
-cgroup policy_only=yes shared=yes device_rules=10
+cgroup policy_only=yes shared=no device_rules=10
"#.trim_start());
}

#[test]
fn cgroup_limits() {
    let cfg = CgroupConfig::new().memory_max(Bytes::mib(64)).pids_max(32);
    let b = ContainerBuilder::new(sh()).cgroup(cfg.clone());
    // Root: the caller's limits with the default device policy before its own rules.
    let p = plan(&b, &root_host());
    assert_eq!(p.cgroup, Some(cfg.clone().with_default_devices()));
    assert_text(&delta(&default_render(), &render(&p)), r#"
-cgroup policy_only=yes shared=yes device_rules=10
+cgroup policy_only=no shared=no device_rules=10
"#.trim_start());
    // Unprivileged: the limits alone; with none asked for, no cgroup at all.
    assert_eq!(plan(&b, &user_host()).cgroup, Some(cfg));
    assert_eq!(plan(&ContainerBuilder::new(sh()), &user_host()).cgroup, None);
    assert_eq!(plan(&ContainerBuilder::new(sh()), &root_host()).cgroup, Some(CgroupConfig::device_policy_only(true)));
}

#[test]
fn cgroup2_at_sys_fs_cgroup_only_on_a_v2_host_with_a_cgroup_namespace() {
    // CVE-2023-25809: never the host's cgroupfs; its own subtree, read-only.
    let v2 = HostFacts { cgroup: Some(&V2_NO_MEMORY), ..root_host() };
    assert_text(&delta_from_default(&ContainerBuilder::new(sh()), &v2), r#"
+mount cgroup2 on /sys/fs/cgroup [ro,nosuid,nodev,noexec]
"#.trim_start());
    let no_cgroupns = ContainerBuilder::new(sh()).namespaces(Namespaces::DEFAULT - Namespaces::CGROUP);
    assert_text(&delta_from_default(&no_cgroupns, &v2), r#"
-namespaces Namespaces(MOUNT | UTS | IPC | PID | NET | CGROUP)
+namespaces Namespaces(MOUNT | UTS | IPC | PID | NET)
"#.trim_start());
}

#[test]
fn overlay_layers_by_kernel_version() {
    let d = TempDir::new("layers");
    let (l1, l2, up, work) = (d.mkdir("l1"), d.mkdir("l2"), d.mkdir("up"), d.mkdir("work"));
    let b = ContainerBuilder::new(sh()).rootfs(Rootfs::layers([&l1, &l2], &up, &work)).standard_mounts(false);
    let root_line = |host: &HostFacts<'_>| {
        let r = render(&plan(&b, host)).replace(&d.path().display().to_string(), "$D");
        r.lines().find(|l| l.starts_with("root ")).unwrap_or_default().to_string()
    };
    // From 6.8 one `lowerdir+` per layer (no escaping); before, one ':'-joined lowerdir.
    assert_eq!(root_line(&root_host()), "root overlay lowerdir+=$D/l1,lowerdir+=$D/l2,upperdir=$D/up,workdir=$D/work labeled [nodev] read-only=no");
    assert_eq!(root_line(&HostFacts { kernel: (6, 1), ..root_host() }), "root overlay lowerdir=$D/l1:$D/l2,upperdir=$D/up,workdir=$D/work labeled [nodev] read-only=no");
}

#[test]
fn image_root_gets_each_containers_writable_layer() {
    let d = TempDir::new("image-root");
    let (l1, l2) = (d.mkdir("l1"), d.mkdir("l2"));
    let img = crate::rootfs::ImageRootfs::new(d.path().to_path_buf(), vec![l1, l2], "sha256:abc".into());
    let b = ContainerBuilder::new(sh()).rootfs(Rootfs::Image(img)).standard_mounts(false);
    let p = plan(&b, &root_host());
    let line = |r: &str| r.replace(&d.path().display().to_string(), "$D").lines().find(|l| l.starts_with("root ")).unwrap_or_default().to_string();
    // The plan holds placeholders; each spawn puts its own upper and work in.
    assert_eq!(line(&render(&p)), "root overlay lowerdir+=$D/l1,lowerdir+=$D/l2,upperdir=/,workdir=/ labeled [nodev] read-only=no");
    let own = p.root_for(&d.path().join("c/upper"), &d.path().join("c/work")).unwrap();
    let Source::Fs { options, .. } = &own else { panic!("an overlay root") };
    let opts: Vec<String> = options
        .iter()
        .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.as_ref().map(|v| v.to_string_lossy().into_owned()).unwrap_or_default()))
        .collect();
    let dp = d.path().display().to_string();
    assert_eq!(opts.last().cloned(), Some(format!("workdir={dp}/c/work")));
    assert_eq!(opts[opts.len() - 2], format!("upperdir={dp}/c/upper"));
    assert_eq!(p.image_root.as_ref().map(|i| i.image.as_str()), Some("sha256:abc"));
}

#[test]
fn process_environment_path_cwd_and_limits() {
    let p = Process::new("tool")
        .env("PATH", "/opt/bin::/usr/bin")
        .env("LANG", "C.UTF-8")
        .cwd("/work/dir")
        .uid_gid(1000, 1000)
        .rlimit(Rlimit::Nofile, 64, 128)
        .umask(0o027)
        .default_seccomp(false);
    let b = ContainerBuilder::new(p).standard_mounts(false);
    let plan = plan(&b, &root_host());
    assert_eq!(format!("{:?}", plan.process.envp), r#"["PATH=/opt/bin::/usr/bin", "LANG=C.UTF-8"]"#);
    assert_eq!(plan.process.umask, Some(0o027));
    assert_eq!(plan.process.rlimits.len(), 1);
    let got = render(&plan);
    let got: Vec<&str> = got.lines().filter(|l| l.starts_with("exec ") || l.starts_with("cwd ") || l.starts_with("last_cap ")).collect();
    // An empty PATH entry is skipped; the cwd is resolved in-root, relative to the root.
    assert_eq!(
        got,
        [
            r#"exec ["/opt/bin/tool", "/usr/bin/tool"]"#,
            "cwd work/dir uid 1000 gid 1000 groups [] set_groups yes",
            "last_cap 40 no_new_privs yes default_seccomp no seccomp no",
        ]
    );
}

#[test]
fn time_namespace_offsets() {
    let offsets = TimeOffsets { monotonic: std::time::Duration::from_secs(3600), boottime: std::time::Duration::from_millis(1500) };
    let b = ContainerBuilder::new(sh()).namespaces(Namespaces::DEFAULT | Namespaces::TIME).time_offsets(offsets);
    assert_text(&delta_from_default(&b, &root_host()), r#"
-namespaces Namespaces(MOUNT | UTS | IPC | PID | NET | CGROUP)
+namespaces Namespaces(MOUNT | UTS | IPC | PID | NET | CGROUP | TIME)
-time_offsets -
+time_offsets "1 3600 0\n7 1 500000000\n"
"#.trim_start());
}

#[test]
fn joined_network_namespace_and_no_standard_mounts() {
    let b = ContainerBuilder::new(sh())
        .namespaces(Namespaces::DEFAULT - Namespaces::NET)
        .join_namespace(Namespaces::NET, "/run/netns/blue")
        .standard_mounts(false);
    assert_text(&delta_from_default(&b, &root_host()), r#"
-namespaces Namespaces(MOUNT | UTS | IPC | PID | NET | CGROUP)
+namespaces Namespaces(MOUNT | UTS | IPC | PID | CGROUP)
-loopback yes init no
-joins []
+loopback no init no
+joins [(1073741824, "/run/netns/blue")]
-mount proc on /proc [nosuid,nodev,noexec]
-mount sysfs on /sys [ro,nosuid,nodev,noexec]
-mount tmpfs mode=755,size=65536k labeled on /dev [nosuid,nodev,noexec]
-mount bind /dev/null (1:3) on /dev/null (file) [nosuid,noexec]
-mount bind /dev/zero (1:5) on /dev/zero (file) [nosuid,noexec]
-mount bind /dev/full (1:7) on /dev/full (file) [nosuid,noexec]
-mount bind /dev/random (1:8) on /dev/random (file) [nosuid,noexec]
-mount bind /dev/urandom (1:9) on /dev/urandom (file) [nosuid,noexec]
-mount bind /dev/tty (5:0) on /dev/tty (file) [nosuid,noexec]
-mount devpts newinstance,ptmxmode=0666,mode=0620,gid=5 labeled on /dev/pts [nosuid,noexec]
-mount tmpfs mode=1777,size=65536k labeled on /dev/shm [nosuid,nodev,noexec]
-mount mqueue on /dev/mqueue [nosuid,nodev,noexec]
-symlink /dev/fd -> /proc/self/fd
-symlink /dev/stdin -> /proc/self/fd/0
-symlink /dev/stdout -> /proc/self/fd/1
-symlink /dev/stderr -> /proc/self/fd/2
-symlink /dev/ptmx -> pts/ptmx
-symlink /dev/core -> /proc/kcore
"#.trim_start());
}

/// The mounts an OCI spec brings: the pseudo-filesystems as user mounts, the cgroup
/// hierarchies of a hybrid host under a tmpfs made read-only last, fs options and atime,
/// then the default devices and links.
#[test]
fn spec_style_mounts() {
    use crate::mount::Atime;
    let b = ContainerBuilder::new(sh())
        .standard_mounts(false)
        .default_devices(true)
        .mount(Mount::tmpfs("/dev").fs_option("mode", Some("755")).fs_option("size", Some("65536k")).atime(Atime::Strictatime))
        .mount(Mount::devpts("/dev/pts").fs_option("newinstance", None).fs_option("gid", Some("5")).nodev(false))
        .mount(Mount::sysfs("/sys").read_only(true))
        .mount(Mount::mqueue("/dev/mqueue"))
        .mount(Mount::cgroup("/sys/fs/cgroup"))
        .sysctl("net.ipv4.ip_forward", "1");
    let got = plan(&b, &root_host());
    let ops: Vec<String> = got.ops.iter().map(render_op).collect();
    let tail: Vec<&str> = ops.iter().map(String::as_str).skip_while(|l| !l.contains("on /dev ")).collect();
    assert_text(&tail.join("\n"), r#"mount tmpfs mode=755,size=65536k labeled on /dev [nosuid,nodev]
mount devpts newinstance,gid=5 labeled on /dev/pts [nosuid,noexec]
mount sysfs on /sys [ro,nosuid,nodev,noexec]
mount mqueue on /dev/mqueue [nosuid,nodev,noexec]
mount tmpfs mode=755,size=64k labeled on /sys/fs/cgroup [nosuid,nodev,noexec]
mount cgroup memory on /sys/fs/cgroup/memory [ro,nosuid,nodev,noexec]
mount cgroup pids on /sys/fs/cgroup/pids [ro,nosuid,nodev,noexec]
mount cgroup cpu,cpuacct on /sys/fs/cgroup/cpu,cpuacct [ro,nosuid,nodev,noexec]
symlink /sys/fs/cgroup/cpu -> cpu,cpuacct
symlink /sys/fs/cgroup/cpuacct -> cpu,cpuacct
mount cgroup devices on /sys/fs/cgroup/devices [ro,nosuid,nodev,noexec]
mount cgroup freezer on /sys/fs/cgroup/freezer [ro,nosuid,nodev,noexec]
mount cgroup2 on /sys/fs/cgroup/unified [ro,nosuid,nodev,noexec]
setattr /sys/fs/cgroup [ro,nosuid,nodev,noexec]
mount bind /dev/null (1:3) on /dev/null (file) [nosuid,noexec]
mount bind /dev/zero (1:5) on /dev/zero (file) [nosuid,noexec]
mount bind /dev/full (1:7) on /dev/full (file) [nosuid,noexec]
mount bind /dev/random (1:8) on /dev/random (file) [nosuid,noexec]
mount bind /dev/urandom (1:9) on /dev/urandom (file) [nosuid,noexec]
mount bind /dev/tty (5:0) on /dev/tty (file) [nosuid,noexec]
symlink /dev/fd -> /proc/self/fd
symlink /dev/stdin -> /proc/self/fd/0
symlink /dev/stdout -> /proc/self/fd/1
symlink /dev/stderr -> /proc/self/fd/2
symlink /dev/ptmx -> pts/ptmx"#);
    let dev = got.ops.iter().find(|o| o.describe().ends_with("on /dev")).expect("the /dev op");
    let Op::Mount { attrs, .. } = dev else { panic!("not a mount") };
    assert_eq!(attrs & (crate::sys::ATTR_SET_ATIME | crate::sys::MOUNT_ATTR_ATIME_MASK), crate::sys::ATTR_SET_ATIME | crate::sys::MOUNT_ATTR_STRICTATIME);
    assert_eq!(got.sysctls.len(), 1);
    assert_eq!(got.sysctls[0].0.to_str(), Ok("sys/net/ipv4/ip_forward"));

    // On a v2 host: one read-only cgroup2.
    let v2 = HostFacts { cgroup: Some(&V2_NO_MEMORY), ..root_host() };
    let b = ContainerBuilder::new(sh()).standard_mounts(false).mount(Mount::cgroup("/sys/fs/cgroup"));
    let ops: Vec<String> = plan(&b, &v2).ops.iter().map(render_op).collect();
    assert!(ops.contains(&"mount cgroup2 on /sys/fs/cgroup [ro,nosuid,nodev,noexec]".to_string()), "{ops:?}");
}

/// Builder checks of the new settings.
#[test]
fn spec_style_errors() {
    let host = root_host();
    let e = |b: ContainerBuilder| Plan::for_host(&b, &host).err().map(|e| e.to_string()).unwrap_or_default();
    let no_cgns = Namespaces::DEFAULT - Namespaces::CGROUP;
    assert!(e(ContainerBuilder::new(sh()).namespaces(no_cgns).mount(Mount::cgroup("/sys/fs/cgroup"))).contains("needs a cgroup namespace"));
    assert!(e(ContainerBuilder::new(sh()).mount(Mount::cgroup2("/sys/fs/cgroup").read_only(false))).contains("must be read-only"));
    assert!(e(ContainerBuilder::new(sh()).mount(Mount::tmpfs("/t").fs_option("bogus", None))).contains("\"bogus\""));
    assert!(e(ContainerBuilder::new(sh()).sysctl("kernel.panic", "1")).contains("would change the host"));
    assert!(e(ContainerBuilder::new(sh()).namespaces(Namespaces::MOUNT).sysctl("net.core.somaxconn", "1")).contains("namespace of the container's own"));
    assert!(e(ContainerBuilder::new(sh()).sysctl("net/../x", "1")).contains("not a sysctl name"));
}
