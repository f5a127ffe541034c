//! CVE-2023-25809: a container without its own cgroup namespace got a writable
//! `/sys/fs/cgroup`. cocoon's /sys is read-only (a fresh sysfs, or, in a user namespace
//! without a network namespace, a recursive read-only bind of the host's /sys whose
//! cgroup submounts must be read-only too).

mod common;

use cocoon::{ContainerBuilder, IdRange, Namespaces};
use common::*;

fn attempt(name: &str) -> String {
    format!(
        "for d in /sys/fs/cgroup /sys/fs/cgroup/pids /sys/fs/cgroup/memory /sys/fs/cgroup/unified; do \
           mkdir $d/{name} 2>/dev/null && echo CREATED-$d; done; \
         echo 1 > /sys/fs/cgroup/pids/cgroup.procs 2>/dev/null && echo WROTE; \
         grep -E ' /sys( |/)' /proc/self/mountinfo | cut -d' ' -f5,6"
    )
}

fn check(out: &str, name: &str) {
    assert!(!out.contains("CREATED") && !out.contains("WROTE"), "cgroupfs writable inside: {out}");
    for l in out.lines() {
        let (mp, opts) = l.split_once(' ').unwrap();
        assert!(opts.split(',').any(|o| o == "ro"), "{mp} is mounted read-write inside: {out}");
    }
    for ctrl in ["pids", "memory", "unified", "cpu", "systemd"] {
        let p = format!("/sys/fs/cgroup/{ctrl}/{name}");
        assert!(!std::path::Path::new(&p).exists(), "{p} was created on the host");
    }
}

#[test]
fn sys_fs_cgroup_is_read_only_without_a_cgroup_namespace() {
    let _g = lock();
    let name = format!("cocoon-escape-{}", std::process::id());
    for ns in [Namespaces::DEFAULT - Namespaces::CGROUP, Namespaces::DEFAULT - Namespaces::CGROUP - Namespaces::NET] {
        let out = run_ok(ContainerBuilder::new(sh(&attempt(&name))).namespaces(ns));
        check(&out, &name);
    }
}

#[test]
fn host_sys_bound_into_a_user_namespace_is_read_only_recursively() {
    let _g = lock();
    let name = format!("cocoon-escape-u{}", std::process::id());
    let map = [IdRange::new(0, 100_000, 65_536)];
    // No NET namespace: sysfs cannot be mounted fresh, the host's /sys is bound.
    let out = run_ok(
        ContainerBuilder::new(sh(&attempt(&name)))
            .namespaces(Namespaces::DEFAULT - Namespaces::CGROUP - Namespaces::NET)
            .uid_map(map)
            .gid_map(map),
    );
    // The host's cgroup hierarchies are visible below /sys/fs/cgroup and all read-only.
    assert!(out.contains("/sys/fs/cgroup/pids "), "expected the host /sys bound: {out}");
    check(&out, &name);
}
