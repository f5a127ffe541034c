//! One test per namespace, each proving the isolation from inside the container.

mod common;

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use cocoon::{ContainerBuilder, IdRange, Mount, Namespaces, Stdio, TimeOffsets};
use common::*;

fn host(path: &str) -> String {
    std::fs::read_to_string(path).unwrap().trim().to_string()
}

fn ns_link(pid: &str, ns: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).unwrap().display().to_string()
}

#[test]
fn uts_hostname_and_domainname_are_private() {
    let _g = lock();
    let (host_name, host_domain) = (host("/proc/sys/kernel/hostname"), host("/proc/sys/kernel/domainname"));
    let out = run_ok(
        ContainerBuilder::new(sh("hostname; cat /proc/sys/kernel/domainname; readlink /proc/self/ns/uts"))
            .hostname("cocoon-uts-test")
            .domainname("cocoon-nis-test"),
    );
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(l[0], "cocoon-uts-test");
    assert_eq!(l[1], "cocoon-nis-test");
    assert_ne!(l[0], host_name);
    assert_ne!(l[1], host_domain);
    assert_ne!(l[2], ns_link("self", "uts"), "same UTS namespace as the host");
    // The host's names were not touched.
    assert_eq!(host("/proc/sys/kernel/hostname"), host_name);
    assert_eq!(host("/proc/sys/kernel/domainname"), host_domain);
}

#[test]
fn pid_namespace_program_is_pid_1_and_sees_only_its_processes() {
    let _g = lock();
    let my_comm = host("/proc/self/comm");
    // `exec` keeps the pid: sh is PID 1, then the listing runs as another pid.
    let out = run_ok(ContainerBuilder::new(sh(
        "echo $$; for p in /proc/[0-9]*; do echo \"${p#/proc/} $(cat $p/comm 2>/dev/null)\"; done",
    )));
    let mut l = out.lines();
    assert_eq!(l.next(), Some("1"), "the program is not PID 1: {out}");
    let procs: Vec<(i32, String)> = l
        .map(|s| {
            let (p, c) = s.split_once(' ').unwrap();
            (p.parse().unwrap(), c.to_string())
        })
        .collect();
    assert!(!procs.is_empty());
    // Only sh (PID 1) and the short-lived helpers it forked: a handful of small pids, none
    // of them ours or the host's init.
    assert!(procs.len() <= 4, "too many processes visible: {procs:?}");
    assert!(procs.iter().all(|(p, _)| *p < 10), "host pids visible: {procs:?}");
    assert!(procs.iter().any(|(p, c)| *p == 1 && c == "sh"), "{procs:?}");
    assert!(!procs.iter().any(|(_, c)| *c == my_comm), "the test process is visible inside: {procs:?}");
}

#[test]
fn net_namespace_has_only_loopback_and_it_is_up() {
    let _g = lock();
    let host_ifaces = host("/proc/net/dev");
    let out = run_ok(ContainerBuilder::new(sh(
        "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; echo --; ls /sys/class/net; echo --; cat /sys/class/net/lo/flags; readlink /proc/self/ns/net",
    )));
    let parts: Vec<&str> = out.split("--\n").collect();
    assert_eq!(parts[0].split_whitespace().collect::<Vec<_>>(), ["lo"], "/proc/net/dev inside: {out}");
    assert_eq!(parts[1].split_whitespace().collect::<Vec<_>>(), ["lo"], "/sys/class/net inside: {out}");
    let mut rest = parts[2].lines();
    let flags = u32::from_str_radix(rest.next().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert_ne!(flags & libc::IFF_UP as u32, 0, "lo is down inside (flags {flags:#x})");
    assert_ne!(rest.next().unwrap(), ns_link("self", "net"));
    // Sanity: the host sees more than loopback, so the check above discriminates.
    assert!(host_ifaces.lines().skip(2).any(|l| !l.trim_start().starts_with("lo:")), "host has only lo?");
}

struct MsgQueue(i32);
impl Drop for MsgQueue {
    fn drop(&mut self) {
        // SAFETY: removing the queue this test created.
        unsafe { libc::msgctl(self.0, libc::IPC_RMID, std::ptr::null_mut()) };
    }
}

#[test]
fn ipc_namespace_hides_host_message_queues() {
    let _g = lock();
    // SAFETY: creating a private SysV message queue; removed by the guard.
    let id = unsafe { libc::msgget(libc::IPC_PRIVATE, libc::IPC_CREAT | 0o600) };
    assert!(id >= 0, "msgget: {}", std::io::Error::last_os_error());
    let _q = MsgQueue(id);
    let host_list = host("/proc/sysvipc/msg");
    assert!(
        host_list.lines().skip(1).any(|l| l.split_whitespace().nth(1) == Some(&id.to_string())),
        "the host does not list its own queue {id}: {host_list}"
    );
    let out = run_ok(ContainerBuilder::new(sh("tail -n +2 /proc/sysvipc/msg | wc -l; readlink /proc/self/ns/ipc")));
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(l[0].trim(), "0", "host message queues visible inside: {out}");
    assert_ne!(l[1], ns_link("self", "ipc"));
    // Control: sharing the IPC namespace shows the queue, so the check discriminates.
    let shared = run_ok(
        ContainerBuilder::new(sh("cat /proc/sysvipc/msg"))
            .namespaces(Namespaces::DEFAULT - Namespaces::IPC),
    );
    assert!(shared.lines().skip(1).any(|l| l.split_whitespace().nth(1) == Some(&id.to_string())), "{shared}");
}

#[test]
fn user_namespace_root_inside_is_unprivileged_outside() {
    let _g = lock();
    let shared = TempDir::new("userns");
    chmod(shared.path(), 0o777);
    let secret = TempDir::new("secret");
    let secret_file = secret.join("secret");
    std::fs::write(&secret_file, "host secret\n").unwrap();
    chmod(&secret_file, 0o600);
    let map = [IdRange::new(0, 100_000, 65_536)];
    let mut c = ContainerBuilder::new(
        sh("cat /proc/self/uid_map /proc/self/gid_map; id -u; touch /shared/made-inside; echo ready; read x; \
            if cat /secret 2>/dev/null; then echo READ-SECRET; else echo denied; fi")
        .stdin(Stdio::Piped),
    )
    .uid_map(map)
    .gid_map(map)
    .mount(Mount::bind(shared.path(), "/shared"))
    .mount(Mount::bind(&secret_file, "/secret"))
    .spawn()
    .unwrap();
    let mut out = Lines::new(&mut c);
    let uid_map: Vec<String> = out.next().split_whitespace().map(String::from).collect();
    assert_eq!(uid_map, ["0", "100000", "65536"]);
    let gid_map: Vec<String> = out.next().split_whitespace().map(String::from).collect();
    assert_eq!(gid_map, ["0", "100000", "65536"]);
    assert_eq!(out.next(), "0", "not root inside");
    assert_eq!(out.next(), "ready");
    // From the host, the same process is uid/gid 100000.
    let status = std::fs::read_to_string(format!("/proc/{}/status", c.pid())).unwrap();
    assert_eq!(status_field(&status, "Uid").split_whitespace().collect::<Vec<_>>(), ["100000"; 4]);
    assert_eq!(status_field(&status, "Gid").split_whitespace().collect::<Vec<_>>(), ["100000"; 4]);
    drop(c.take_stdin());
    assert_eq!(out.next(), "denied", "root in a user namespace read a host root 0600 file");
    assert!(c.wait().unwrap().success());
    let md = std::fs::metadata(shared.join("made-inside")).unwrap();
    assert_eq!((md.uid(), md.gid()), (100_000, 100_000), "file made inside is not owned by the mapped ids");
    assert_eq!(std::fs::read_to_string(&secret_file).unwrap(), "host secret\n");
}

#[test]
fn proc_shows_only_the_container_processes() {
    let _g = lock();
    // A long-running host process that must not appear inside.
    let mut sleeper = std::process::Command::new("/bin/sleep").arg("1000").spawn().unwrap();
    let out = run_ok(ContainerBuilder::new(sh("cat /proc/[0-9]*/cmdline | tr '\\0' ' '; echo")));
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    assert!(!out.contains("sleep 1000"), "a host process is visible inside: {out}");
    assert!(out.contains("/bin/sh -c"), "{out}");
}

#[test]
fn time_namespace_shifts_monotonic_and_boottime() {
    let _g = lock();
    let day = Duration::from_secs(86_400);
    let host_up = |s: &str| s.split_whitespace().next().unwrap().parse::<f64>().unwrap();
    let before = host_up(&host("/proc/uptime"));
    let out = run_ok(
        ContainerBuilder::new(sh("cat /proc/uptime; readlink /proc/self/ns/time"))
            .time_offsets(TimeOffsets { monotonic: day, boottime: day }),
    );
    let after = host_up(&host("/proc/uptime"));
    let mut l = out.lines();
    let inside = host_up(l.next().unwrap());
    assert!(
        inside >= before + 86_400.0 && inside <= after + 86_400.0 + 1.0,
        "uptime inside {inside}, host {before}..{after}: not shifted by one day"
    );
    assert_ne!(l.next().unwrap(), ns_link("self", "time"));
    // The host's clock is untouched.
    assert!(after < before + 60.0);
}

#[test]
fn cgroup_namespace_shows_root() {
    let _g = lock();
    let own = host("/proc/self/cgroup");
    // Precondition that makes the test meaningful: the test process sits below the root
    // of at least one hierarchy (the machine's memory cgroup).
    let nonroot: Vec<&str> = own.lines().filter(|l| !l.ends_with(":/")).collect();
    assert!(!nonroot.is_empty(), "the test process is at the root of every hierarchy: {own}");
    let out = run_ok(ContainerBuilder::new(sh("cat /proc/self/cgroup")));
    assert!(out.lines().count() >= 1);
    for l in out.lines() {
        assert!(l.ends_with(":/"), "cgroup path outside the namespace root visible: {l} (all: {out})");
    }
    // Control: without a cgroup namespace the host path shows through.
    let shared = run_ok(
        ContainerBuilder::new(sh("cat /proc/self/cgroup")).namespaces(Namespaces::DEFAULT - Namespaces::CGROUP),
    );
    for l in nonroot {
        assert!(shared.lines().any(|s| s == l), "{l} not seen without cgroupns: {shared}");
    }
}
