//! The container's root filesystem: pivoted, old root gone, read-only where asked,
//! masked paths, overlay layers, directory roots, bind and tmpfs mounts, user lookup.

mod common;

use std::path::Path;

use cocoon::{ContainerBuilder, Mount, Process, Rootfs, User};
use common::*;

/// The host root filesystem's device (`major:minor` of the mount at `/`).
fn host_root_dev() -> String {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    mi.lines()
        .map(|l| l.split(' ').collect::<Vec<_>>())
        .find(|f| f[4] == "/")
        .map(|f| f[2].to_string())
        .unwrap()
}

#[test]
fn old_root_is_unreachable() {
    let _g = lock();
    let dir = TempDir::new("oldroot");
    let name = format!("cocoon-marker-{}", std::process::id());
    std::fs::write(dir.join(&name), "host").unwrap();
    let host_path = dir.join(&name).display().to_string();
    let script = format!(
        "cat {p} /proc/1/root{p} /proc/self/root{p} /proc/1/cwd{p} /../../{p} 2>/dev/null && echo REACHED; \
         find / -xdev -name {name} 2>/dev/null; \
         for d in / /tmp /proc /sys /dev /root /home /run /etc; do find $d -xdev -name {name} 2>/dev/null; done; \
         echo --; cat /proc/self/mountinfo",
        p = host_path
    );
    let out = run_ok(ContainerBuilder::new(sh(&script)));
    let (found, mountinfo) = out.split_once("--\n").unwrap();
    assert!(!found.contains("REACHED") && !found.contains(&name), "host marker reachable: {found}");
    // No mount of the host root filesystem's own root exists inside (only sub-trees
    // like /usr are bound), and no mount point names the host temp dir.
    let dev = host_root_dev();
    for l in mountinfo.lines() {
        let f: Vec<&str> = l.split(' ').collect();
        assert!(!(f[2] == dev && f[3] == "/"), "the host root is mounted inside: {l}");
        assert!(!l.contains(&dir.path().display().to_string()), "host path in mountinfo: {l}");
    }
    assert!(mountinfo.lines().any(|l| l.split(' ').nth(4) == Some("/")), "no root mount? {mountinfo}");
}

#[test]
fn read_only_root_refuses_writes() {
    let _g = lock();
    let out = run(ContainerBuilder::new(sh("echo x > /newfile; mkdir /newdir; echo x > /tmp/ok && echo tmp-ok"))
        .read_only_root(true)
        // Mounts on top of a read-only root keep their own mode.
        .mount(Mount::tmpfs("/tmp")));
    assert!(out.stderr.contains("Read-only file system"), "no EROFS: {}", out.stderr);
    assert!(!out.stderr.contains("/tmp/ok"), "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "tmp-ok");
    // Control: a writable root accepts the same write.
    let w = run_ok(ContainerBuilder::new(sh("echo x > /newfile && echo wrote")).read_only_root(false));
    assert_eq!(w.trim(), "wrote");
}

#[test]
fn masked_paths_read_empty() {
    let _g = lock();
    let mut script = String::from(
        "for f in /proc/keys /proc/timer_list /proc/kcore /proc/interrupts; do \
           if [ -e $f ]; then echo \"$f $(stat -L -c %t:%T $f) $(head -c 100 $f | wc -c)\"; else echo \"$f absent\"; fi; done; \
         echo \"/sys/firmware $(ls -A /sys/firmware | wc -l)\"",
    );
    script.push('\n');
    let out = run_ok(ContainerBuilder::new(sh(&script)));
    for l in out.lines() {
        let f: Vec<&str> = l.split(' ').collect();
        match f[0] {
            "/sys/firmware" => assert_eq!(f[1], "0", "/sys/firmware not empty: {out}"),
            p if Path::new(p).exists() => assert_eq!(&f[1..], ["1:3", "0"], "{p} not masked with /dev/null: {out}"),
            // Not on this kernel (e.g. /proc/kcore): must not appear inside either.
            p => assert_eq!(f[1], "absent", "{p} absent on host but present inside: {out}"),
        }
    }
    assert!(Path::new("/proc/keys").exists() && Path::new("/sys/firmware").read_dir().unwrap().next().is_some());
}

#[test]
fn proc_sys_and_sysrq_trigger_are_not_writable() {
    let _g = lock();
    let host_domain = std::fs::read_to_string("/proc/sys/kernel/domainname").unwrap();
    let out = run(ContainerBuilder::new(sh(
        "echo hacked > /proc/sys/kernel/domainname || echo sys-refused; \
         if [ -e /proc/sysrq-trigger ]; then echo h > /proc/sysrq-trigger || echo sysrq-refused; else echo sysrq-absent; fi; \
         grep ' /proc/sys ' /proc/self/mountinfo",
    )));
    assert!(out.stdout.contains("sys-refused"), "{out:?}");
    assert!(out.stderr.contains("Read-only file system"), "{out:?}");
    if Path::new("/proc/sysrq-trigger").exists() {
        assert!(out.stdout.contains("sysrq-refused"), "{out:?}");
    } else {
        assert!(out.stdout.contains("sysrq-absent"), "{out:?}");
    }
    let ro_line = out.stdout.lines().find(|l| l.contains(" /proc/sys ")).expect("no /proc/sys mount inside");
    assert!(ro_line.split(' ').nth(5).unwrap().split(',').any(|o| o == "ro"), "{ro_line}");
    assert_eq!(std::fs::read_to_string("/proc/sys/kernel/domainname").unwrap(), host_domain);
}

#[test]
fn overlay_writes_land_in_upper_and_lower_layers_stay_untouched() {
    let _g = lock();
    let base = TempDir::new("lower-base");
    busybox_root(base.path());
    let top = TempDir::new("lower-top");
    std::fs::create_dir(top.join("etc")).unwrap();
    std::fs::write(top.join("etc/marker"), "top-layer\n").unwrap();
    let upper = TempDir::new("upper");
    let work = TempDir::new("work");
    let (base_before, top_before) = (tree(base.path()), tree(top.path()));
    let out = run_ok(
        ContainerBuilder::new(sh(
            "cat /etc/marker; echo changed > /etc/marker; echo new > /newfile; rm /bin/wc; cat /etc/marker",
        ))
        .rootfs(Rootfs::layers([top.path(), base.path()], upper.path(), work.path())),
    );
    assert_eq!(out, "top-layer\nchanged\n", "the top-most lower layer must win");
    assert_eq!(std::fs::read_to_string(upper.join("etc/marker")).unwrap(), "changed\n");
    assert_eq!(std::fs::read_to_string(upper.join("newfile")).unwrap(), "new\n");
    // The removal is a whiteout (char device 0:0) in upper.
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let wh = std::fs::symlink_metadata(upper.join("bin/wc")).unwrap();
    assert!(wh.file_type().is_char_device() && wh.rdev() == 0, "no whiteout for /bin/wc");
    // Lower layers untouched.
    assert_eq!(tree(base.path()), base_before);
    assert_eq!(tree(top.path()), top_before);
    assert_eq!(std::fs::read_to_string(top.join("etc/marker")).unwrap(), "top-layer\n");
    assert_eq!(std::fs::read_to_string(base.join("etc/marker")).unwrap(), "lower-layer\n");
    assert!(base.join("bin/wc").symlink_metadata().is_ok());
}

#[test]
fn directory_rootfs_is_the_root() {
    let _g = lock();
    let root = TempDir::new("dirroot");
    busybox_root(root.path());
    let out = run_ok(
        ContainerBuilder::new(sh("cat /etc/marker; [ -e /usr ] || echo no-usr; echo hi > /root/hello")).rootfs(Rootfs::directory(root.path())),
    );
    assert_eq!(out, "lower-layer\nno-usr\n");
    assert_eq!(std::fs::read_to_string(root.join("root/hello")).unwrap(), "hi\n");
    // Read-only variant: the image is not modified.
    let out = run(
        ContainerBuilder::new(sh("echo x > /root/again"))
            .rootfs(Rootfs::directory(root.path()))
            .read_only_root(true),
    );
    assert!(out.stderr.contains("Read-only file system"), "{out:?}");
    assert!(!root.join("root/again").exists());
}

#[test]
fn bind_mounts_read_only_and_read_write() {
    let _g = lock();
    let (rw, ro) = (TempDir::new("bind-rw"), TempDir::new("bind-ro"));
    std::fs::write(ro.join("given"), "from host\n").unwrap();
    let out = run(
        ContainerBuilder::new(sh("echo a > /mnt/rw/f && echo rw-ok; cat /mnt/ro/given; echo b > /mnt/ro/f || echo ro-refused"))
            .mount(Mount::bind(rw.path(), "/mnt/rw"))
            .mount(Mount::bind(ro.path(), "/mnt/ro").read_only(true)),
    );
    assert_eq!(out.stdout, "rw-ok\nfrom host\nro-refused\n", "{out:?}");
    assert!(out.stderr.contains("Read-only file system"), "{out:?}");
    assert_eq!(std::fs::read_to_string(rw.join("f")).unwrap(), "a\n");
    assert!(!ro.join("f").exists());
    // The read-only flag is the container's mount only: the host dir stays writable.
    std::fs::write(ro.join("host-write"), "ok").unwrap();
}

#[test]
fn tmpfs_mount_has_size_and_mode() {
    let _g = lock();
    let out = run(
        ContainerBuilder::new(sh(
            "stat -c %a /scratch; head -c 2097152 /dev/zero > /scratch/big || echo full; stat -c %s /scratch/big; grep ' /scratch ' /proc/self/mountinfo",
        ))
        .mount(Mount::tmpfs("/scratch").size(1 << 20).mode(0o1770)),
    );
    let l: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(l[0], "1770", "{out:?}");
    assert_eq!(l[1], "full", "{out:?}");
    assert!(out.stderr.contains("No space left on device"), "{out:?}");
    assert_eq!(l[2], "1048576", "{out:?}");
    assert!(l[3].contains(" - tmpfs ") && l[3].contains("size=1024k"), "{out:?}");
}

#[test]
fn user_name_is_looked_up_in_the_rootfs() {
    let _g = lock();
    let root = TempDir::new("userroot");
    busybox_root(root.path());
    let out = run_ok(
        ContainerBuilder::new(sh("grep -E '^(Uid|Gid|Groups):' /proc/self/status").user(User::Name("alice".into())))
            .rootfs(Rootfs::directory(root.path()))
            .read_only_root(true),
    );
    assert_eq!(status_field(&out, "Uid").split_whitespace().collect::<Vec<_>>(), ["1234"; 4], "{out}");
    assert_eq!(status_field(&out, "Gid").split_whitespace().collect::<Vec<_>>(), ["2345"; 4], "{out}");
    assert_eq!(status_field(&out, "Groups"), "777", "{out}");
    // The host sandbox has its own passwd: nobody is 65534 there.
    let out = run_ok(ContainerBuilder::new(sh("id -u; id -g").user(User::Name("nobody".into()))));
    assert_eq!(out, "65534\n65534\n");
    // A Process built without sh helpers, to use the bare-name PATH search too.
    let out = run_ok(ContainerBuilder::new(
        Process::new("id").arg("-un").env("PATH", PATH).stdout(cocoon::Stdio::Piped).user(User::Name("root".into())),
    ));
    assert_eq!(out, "root\n");
}

/// The embedded host sandbox carries what the host's /usr needs from /etc (alternatives,
/// loader cache, certificates, time zone), read-only, and nothing secret.
#[test]
fn host_sandbox_has_what_usr_needs_from_etc() {
    let _g = lock();
    let out = run_ok(ContainerBuilder::new(sh(
        "echo awk=$(awk 'BEGIN{print 1+1}'); t=$(readlink -f /usr/bin/awk); test -f \"$t\" && echo awk-resolves; \
         test -f /etc/ld.so.cache && echo ld-cache; \
         test -e /etc/shadow && echo SHADOW; test -e /etc/ssl/private && echo PRIVATE; \
         touch /etc/alternatives/x 2>/dev/null && echo ALT-WRITABLE; \
         echo passwd=$(grep -c '^' /etc/passwd)",
    )));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.contains(&"awk=2"), "awk does not run: {out}");
    assert!(lines.contains(&"awk-resolves"), "{out}");
    assert!(lines.contains(&"ld-cache"), "{out}");
    assert!(!out.contains("SHADOW") && !out.contains("PRIVATE"), "secrets inside: {out}");
    assert!(!out.contains("ALT-WRITABLE"), "/etc/alternatives writable: {out}");
    // The sandbox's own two-line passwd, not the host's.
    assert!(lines.contains(&"passwd=2"), "{out}");
    if Path::new("/etc/ssl/certs/ca-certificates.crt").exists() {
        let certs = run_ok(ContainerBuilder::new(sh("test -s /etc/ssl/certs/ca-certificates.crt && echo certs")));
        assert_eq!(certs.trim(), "certs");
    }
    if let Ok(link) = std::fs::read_link("/etc/localtime") {
        let tz = run_ok(ContainerBuilder::new(sh("readlink /etc/localtime")));
        assert_eq!(tz.trim(), link.display().to_string());
    }
}
