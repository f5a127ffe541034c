//! Bridge networking on the real kernel. Every test first makes a network namespace of
//! its own (a thread that unshares CLONE_NEWNET) as the "host" side and spawns its
//! containers from that thread, so their bridge and host veths live there: the machine's
//! own interfaces are never touched and no traffic leaves the addresses the test made.

mod common;

use std::net::Ipv4Addr;
use std::path::Path;

use cocoon::net::{sweep_stale, BridgeNetwork, Network};
use cocoon::{ContainerBuilder, Error, Namespaces, Process, Stage};
use common::*;


/// The links of the calling thread's network namespace.
fn links() -> Vec<String> {
    std::fs::read_to_string("/proc/thread-self/net/dev")
        .unwrap()
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next().map(|n| n.trim().to_string()))
        .collect()
}

fn host_veths() -> Vec<String> {
    links().into_iter().filter(|l| l.starts_with(cocoon::net::HOST_VETH_PREFIX)).collect()
}

/// The lease files of `bridge` under `state`.
fn leases(state: &Path, bridge: &str) -> Vec<String> {
    match std::fs::read_dir(state.join(bridge)) {
        Ok(d) => d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n != ".lock").collect(),
        Err(_) => Vec::new(),
    }
}

/// Waits until no host veth is left: the kernel deletes the pair of a container whose
/// program had ended with its network namespace, asynchronously.
fn wait_no_host_veths() {
    wait_until(std::time::Duration::from_secs(60), "the host veths to go", || host_veths().is_empty());
}

fn bridge(state: &Path, name: &str, subnet: &str) -> BridgeNetwork {
    BridgeNetwork::new(name, subnet.parse().unwrap()).state_dir(state)
}

fn on(net: BridgeNetwork, p: Process) -> ContainerBuilder {
    ContainerBuilder::new(p).network(Network::Bridge(net))
}

#[test]
fn two_containers_on_one_bridge_talk_tcp() {
    let _g = lock();
    let tmp = TempDir::new("net-tcp");
    in_test_netns(|| {
        let net = bridge(tmp.path(), "cbr-tcp", "10.77.0.0/24");
        // The server answers one connection with a line, then exits.
        let mut server = on(net.clone(), sh("echo ready; echo pong-from-server | busybox nc -l -p 7000")).spawn().unwrap();
        let info = server.network().cloned().expect("network info");
        assert_eq!(info.interface, "eth0");
        assert_eq!(info.gateway, Ipv4Addr::new(10, 77, 0, 1));
        assert_eq!(info.prefix, 24);
        assert!(net.subnet().contains(info.address) && info.address != info.gateway);
        assert!(links().contains(&"cbr-tcp".to_string()), "bridge made: {:?}", links());
        assert!(links().contains(&info.host_interface));
        let mut lines = Lines::new(&mut server);
        assert_eq!(lines.next(), "ready");
        let addr = info.address;
        // The listener may not be up yet: the client retries a few times.
        let script = format!(
            "ip=$(busybox ip -4 -o addr show eth0); echo \"$ip\" >&2; \
             for i in $(busybox seq 1 50); do out=$(busybox nc {addr} 7000 </dev/null) && [ -n \"$out\" ] && echo \"$out\" && exit 0; busybox usleep 100000; done; exit 1"
        );
        let client = on(net.clone(), sh(&script)).spawn().unwrap();
        let caddr = client.network().map(|n| n.address);
        assert_ne!(caddr, Some(addr), "distinct addresses");
        // A container on another bridge cannot reach it (the "host" does not forward:
        // a new network namespace starts with ip_forward 0, and there is no NAT yet).
        let other = bridge(tmp.path(), "cbr-tcp2", "10.76.0.0/24");
        let out = run(on(other, sh(&format!("busybox ping -c1 -W2 10.76.0.1 >/dev/null && echo own-gw-ok; \
             busybox ping -c1 -W2 {addr} >/dev/null && echo reached || echo unreachable"))))
        .ok();
        assert_eq!(out.stdout, "own-gw-ok\nunreachable\n");
        let mut client = client;
        let out = collect(&mut client).ok();
        assert_eq!(out.stdout.trim(), "pong-from-server");
        assert!(out.stderr.contains(&format!("{}/24", caddr.unwrap())), "client's eth0: {}", out.stderr);
        assert!(server.wait().unwrap().success());
        drop(server);
        drop(client);
        wait_no_host_veths();
        assert_eq!(leases(tmp.path(), "cbr-tcp"), Vec::<String>::new());
        // The bridge stays (cocoon never deletes one).
        assert!(links().contains(&"cbr-tcp".to_string()));
    });
}

#[test]
fn container_reaches_the_gateway_and_has_a_default_route() {
    let _g = lock();
    let tmp = TempDir::new("net-gw");
    in_test_netns(|| {
        let net = bridge(tmp.path(), "cbr-gw", "10.78.0.0/16").mtu(1400).mac([0x02, 0, 0, 0, 0x12, 0x34]);
        let out = run(on(net, sh("busybox ip route; busybox ip link show eth0; busybox ping -c1 -W5 10.78.0.1 >/dev/null && echo gw-ok"))).ok();
        assert!(out.stdout.contains("default via 10.78.0.1 dev eth0"), "{}", out.stdout);
        assert!(out.stdout.contains("mtu 1400"), "{}", out.stdout);
        assert!(out.stdout.contains("02:00:00:00:12:34"), "{}", out.stdout);
        assert!(out.stdout.contains("gw-ok"), "{}", out.stdout);
    });
}

#[test]
fn fifty_live_containers_get_distinct_addresses() {
    let _g = lock();
    let tmp = TempDir::new("net-50");
    in_test_netns(|| {
        let plan = on(bridge(tmp.path(), "cbr-50", "10.79.0.0/24"), Process::new("/bin/sleep").arg("1000")).prepare().unwrap();
        let cs: Vec<_> = (0..50).map(|_| plan.spawn().unwrap()).collect();
        let mut addrs: Vec<Ipv4Addr> = cs.iter().map(|c| c.network().unwrap().address).collect();
        addrs.sort();
        addrs.dedup();
        assert_eq!(addrs.len(), 50);
        assert_eq!(leases(tmp.path(), "cbr-50").len(), 50);
        assert_eq!(host_veths().len(), 50);
        drop(cs);
        assert_eq!(host_veths(), Vec::<String>::new());
        assert_eq!(leases(tmp.path(), "cbr-50"), Vec::<String>::new());
    });
}

#[test]
fn create_destroy_cycles_leave_nothing() {
    let _g = lock();
    let tmp = TempDir::new("net-cycles");
    in_test_netns(|| {
        let plan = on(bridge(tmp.path(), "cbr-cyc", "10.80.0.0/24"), Process::new("/bin/true")).prepare().unwrap();
        // Warm up (the bridge, the helper memfd, the cgroup sweep) before counting fds.
        assert!(plan.spawn().unwrap().wait().unwrap().success());
        let before = fds();
        for _ in 0..100 {
            let mut c = plan.spawn().unwrap();
            assert!(c.wait().unwrap().success());
            c.delete().unwrap();
        }
        assert_eq!(fds(), before);
        assert_eq!(leases(tmp.path(), "cbr-cyc"), Vec::<String>::new());
        wait_no_host_veths();
        // Containers dropped while running: their pairs are deleted at once.
        for _ in 0..20 {
            let c = on(bridge(tmp.path(), "cbr-cyc", "10.80.0.0/24"), Process::new("/bin/sleep").arg("1000")).spawn().unwrap();
            assert_eq!(host_veths().len(), 1);
            drop(c);
            assert_eq!(host_veths(), Vec::<String>::new());
        }
        assert_eq!(fds(), before);
        assert_eq!(leases(tmp.path(), "cbr-cyc"), Vec::<String>::new());
        assert_no_children();
    });
}

fn invalid(r: cocoon::Result<cocoon::Container>) -> &'static str {
    match r {
        Err(Error::InvalidConfig { what, .. }) => what,
        Err(e) => panic!("expected InvalidConfig, got {e:?}"),
        Ok(_) => panic!("expected InvalidConfig, got a container"),
    }
}

#[test]
fn bad_inputs_are_typed_errors_and_leave_nothing() {
    let _g = lock();
    let tmp = TempDir::new("net-bad");
    in_test_netns(|| {
        let p = || Process::new("/bin/true");
        let net = bridge(tmp.path(), "cbr-bad", "10.81.0.0/24");
        assert_eq!(invalid(on(net.clone().address(Ipv4Addr::new(10, 82, 0, 5)), p()).spawn()), "address");
        assert_eq!(invalid(on(bridge(tmp.path(), "bridge-name-16by", "10.81.0.0/24"), p()).spawn()), "bridge name");
        assert_eq!(
            invalid(on(net.clone(), p()).namespaces(Namespaces::DEFAULT - Namespaces::NET).spawn()),
            "network"
        );
        assert_eq!(invalid(on(net.clone().mtu(0), p()).spawn()), "mtu");
        // Nothing was created: no bridge, no lease directory content, no child.
        assert_eq!(links(), vec!["lo".to_string()]);
        assert_eq!(leases(tmp.path(), "cbr-bad"), Vec::<String>::new());

        // A static address held by a live container: refused before the clone.
        let a = Ipv4Addr::new(10, 81, 0, 9);
        let holder = on(net.clone().address(a), Process::new("/bin/sleep").arg("1000")).spawn().unwrap();
        assert_eq!(holder.network().unwrap().address, a);
        let children_before = children();
        match on(net.clone().address(a), p()).spawn() {
            Err(Error::AddressInUse { address, bridge }) => {
                assert_eq!(address, a);
                assert_eq!(bridge, "cbr-bad");
            }
            other => panic!("expected AddressInUse, got {:?}", other.map(|c| c.pid())),
        }
        assert_eq!(children(), children_before);
        assert_eq!(host_veths().len(), 1);
        assert_eq!(leases(tmp.path(), "cbr-bad"), vec![a.to_string()]);
        drop(holder);
        assert_eq!(host_veths(), Vec::<String>::new());
        assert_eq!(leases(tmp.path(), "cbr-bad"), Vec::<String>::new());
    });
}

#[test]
fn a_failing_network_step_is_a_setup_error_and_leaves_nothing() {
    let _g = lock();
    let tmp = TempDir::new("net-fail");
    in_test_netns(|| {
        // A link that is not a bridge under the bridge's name: attaching a veth fails.
        let dummy = std::process::Command::new("ip")
            .args(["link", "add", "name", "cbr-fail", "type", "veth", "peer", "name", "cbr-fail-p"])
            .status()
            .unwrap();
        assert!(dummy.success());
        // Warm up the process-wide caches (helper memfd, device policy) before counting fds.
        assert!(ContainerBuilder::new(Process::new("/bin/true")).spawn().unwrap().wait().unwrap().success());
        let before = fds();
        let e = on(bridge(tmp.path(), "cbr-fail", "10.83.0.0/24"), Process::new("/bin/true")).spawn().expect_err("error");
        assert_eq!(e.stage(), Some(Stage::Network), "{e}");
        let msg = e.to_string();
        assert!(msg.contains("cbr-fail") && msg.contains("10.83.0."), "{msg}");
        assert_eq!(host_veths(), Vec::<String>::new());
        assert_eq!(leases(tmp.path(), "cbr-fail"), Vec::<String>::new());
        assert_eq!(fds(), before);
        assert_no_children();
    });
}

#[test]
fn a_lease_of_a_sigkilled_owner_is_reclaimed() {
    let _g = lock();
    let tmp = TempDir::new("net-stale");
    in_test_netns(|| {
        // A /30 has one address for containers: the next allocation must reclaim it.
        let net = bridge(tmp.path(), "cbr-st", "10.84.0.0/30");
        let only = Ipv4Addr::new(10, 84, 0, 2);
        // A creating process killed with SIGKILL: a forked child of this thread spawns a
        // container (its veth host end lands in this netns), reports, and is killed.
        let (mut r, w) = std::io::pipe().unwrap();
        // SAFETY: the forked child only spawns, writes one byte and waits to be killed;
        // it never returns into the test harness.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let code = match on(net.clone(), Process::new("/bin/sleep").arg("1000")).spawn() {
                Ok(c) => {
                    let _ = std::io::Write::write_all(&mut &w, b"1");
                    std::mem::forget(c);
                    loop {
                        std::thread::park();
                    }
                }
                Err(_) => 1,
            };
            // SAFETY: leave the forked child without running the harness' exit code.
            unsafe { libc::_exit(code) };
        }
        drop(w);
        let mut b = [0u8; 1];
        std::io::Read::read_exact(&mut r, &mut b).expect("the child spawned its container");
        assert_eq!(leases(tmp.path(), "cbr-st"), vec![only.to_string()]);
        // SAFETY: pid is our child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        // Its monitor kills its container; the lease file stays behind.
        wait_until(std::time::Duration::from_secs(20), "the orphaned container to die", || {
            std::fs::read_to_string(tmp.path().join("cbr-st").join(only.to_string()))
                .ok()
                .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<i32>().ok()))
                .is_some_and(|p| !pid_exists(p))
        });
        assert_eq!(leases(tmp.path(), "cbr-st"), vec![only.to_string()]);
        let c = on(net.clone(), Process::new("/bin/sleep").arg("1000")).spawn().unwrap();
        assert_eq!(c.network().unwrap().address, only);
        drop(c);
        // And the sweep call removes a stale lease without an allocation.
        std::fs::write(tmp.path().join("cbr-st").join("10.84.0.2"), "00 0 1 1 cocdead.0\n").unwrap();
        assert_eq!(sweep_stale(Some(tmp.path())).unwrap(), 1);
        assert_eq!(leases(tmp.path(), "cbr-st"), Vec::<String>::new());
        assert_eq!(host_veths(), Vec::<String>::new());
    });
}

#[test]
fn bridge_works_for_a_container_in_a_user_namespace() {
    let _g = lock();
    let tmp = TempDir::new("net-userns");
    in_test_netns(|| {
        let b = on(bridge(tmp.path(), "cbr-us", "10.85.0.0/24"), sh("id -u; busybox ip -4 -o addr show eth0; busybox ping -c1 -W5 10.85.0.1 >/dev/null && echo gw-ok"))
            .uid_map([cocoon::IdRange::new(0, 100000, 65536)])
            .gid_map([cocoon::IdRange::new(0, 100000, 65536)]);
        let out = run(b).ok();
        assert!(out.stdout.starts_with("0\n"), "{}", out.stdout);
        assert!(out.stdout.contains("inet 10.85.0.2/24"), "{}", out.stdout);
        assert!(out.stdout.contains("gw-ok"), "{}", out.stdout);
        wait_no_host_veths();
    });
}
