//! Docker's masked and read-only paths, and no mounting without CAP_SYS_ADMIN. Each test
//! has a control showing the same access works when the protection is turned off, so a
//! runtime that forgets it fails.

mod common;

use std::path::Path;

use cocoon::{Capabilities, Capability, ContainerBuilder};
use common::*;

const SENSITIVE: &[&str] = &["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/interrupts", "/proc/latency_stats", "/proc/timer_stats"];

fn read_script() -> String {
    SENSITIVE
        .iter()
        .filter(|p| Path::new(p).exists())
        .map(|p| format!("echo \"{p} $(head -c 4096 {p} 2>/dev/null | wc -c)\";"))
        .collect::<String>()
        + "echo \"/sys/firmware $(ls -A /sys/firmware | wc -l)\""
}

#[test]
fn sensitive_proc_and_sys_files_read_empty() {
    let _g = lock();
    let out = run_ok(ContainerBuilder::new(sh(&read_script())));
    for l in out.lines() {
        let (p, n) = l.rsplit_once(' ').unwrap();
        assert_eq!(n, "0", "{p} readable inside: {out}");
    }
    // Control: unmasked, at least timer_list and /sys/firmware have content.
    let open = run_ok(ContainerBuilder::new(sh(&read_script())).masked_paths(Vec::<&str>::new()));
    assert!(open.lines().any(|l| l.starts_with("/proc/timer_list ") && !l.ends_with(" 0")), "{open}");
    assert!(open.lines().any(|l| l.starts_with("/sys/firmware ") && !l.ends_with(" 0")), "{open}");
}

#[test]
fn writes_to_masked_files_go_nowhere() {
    let _g = lock();
    let out = run_ok(ContainerBuilder::new(sh("echo x > /proc/keys; echo $?; stat -c %t:%T /proc/keys")));
    // The mask is the real /dev/null (1:3): writing succeeds and does nothing.
    assert_eq!(out, "0\n1:3\n");
}

#[test]
fn proc_sys_and_sysrq_trigger_are_read_only() {
    let _g = lock();
    let script = "echo changed > /proc/sys/kernel/hostname 2>/dev/null && echo SYS-WRITTEN; \
                  [ -e /proc/sysrq-trigger ] && { echo h > /proc/sysrq-trigger 2>/dev/null && echo SYSRQ-WRITTEN; }; \
                  grep -E ' /proc/(sys|sysrq-trigger) ' /proc/self/mountinfo | cut -d' ' -f6";
    let out = run(ContainerBuilder::new(sh(script)));
    assert!(!out.stdout.contains("WRITTEN"), "{out:?}");
    let ro: Vec<&str> = out.stdout.lines().collect();
    assert!(!ro.is_empty() && ro.iter().all(|o| o.split(',').any(|x| x == "ro")), "{out:?}");
    // Control: without the read-only paths, root in a container can write the hostname
    // sysctl (of its own UTS namespace), so the check above discriminates.
    let out = run(ContainerBuilder::new(sh(script)).readonly_paths(Vec::<&str>::new()));
    assert!(out.stdout.contains("SYS-WRITTEN"), "control: {out:?}");
}

#[test]
fn no_mounting_without_cap_sys_admin() {
    let _g = lock();
    let script = "mount -t tmpfs none /tmp 2>/dev/null && echo MOUNTED; mount -o remount,rw / 2>/dev/null && echo REMOUNTED; \
                  mount -t proc proc /mnt 2>/dev/null && echo PROC; echo done";
    let out = run_ok(ContainerBuilder::new(sh(script)));
    assert_eq!(out, "done\n", "mounted without CAP_SYS_ADMIN: {out}");
    // Control: with CAP_SYS_ADMIN the same mount works.
    let admin = Capabilities::uniform(Capabilities::docker_default().bounding.with(Capability::CAP_SYS_ADMIN));
    let out = run_ok(ContainerBuilder::new(sh(script).capabilities(admin)));
    assert!(out.contains("MOUNTED"), "control: {out}");
}
