//! Per-container firewall rules on the real kernel (in a network namespace of the test's
//! own as the "host", see tests/net_bridge.rs): an allowed port connects, a denied one is
//! dropped (with a control container without a firewall), and root inside the container
//! cannot flush the rules. `nft` only observes (and is what the container tries).

mod common;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cocoon::net::{Action, BridgeNetwork, Firewall, FirewallMatch, Network, Protocol};
use cocoon::{ContainerBuilder, Error, Process};
use common::*;

fn bridge(state: &Path, name: &str, subnet: &str) -> BridgeNetwork {
    BridgeNetwork::new(name, subnet.parse().unwrap()).state_dir(state)
}

fn on(net: BridgeNetwork, p: Process) -> ContainerBuilder {
    ContainerBuilder::new(p).network(Network::Bridge(net))
}

/// Listeners on the "host" answering every connection with `hi`, until dropped.
struct Servers(Arc<AtomicBool>, Vec<std::thread::JoinHandle<()>>);

impl Servers {
    fn new(ports: &[u16]) -> Servers {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = ports
            .iter()
            .map(|p| {
                let l = TcpListener::bind(("0.0.0.0", *p)).unwrap();
                l.set_nonblocking(true).unwrap();
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        match l.accept() {
                            Ok((mut s, _)) => {
                                let _ = s.write_all(b"hi\n");
                            }
                            Err(_) => std::thread::sleep(Duration::from_millis(10)),
                        }
                    }
                })
            })
            .collect();
        Servers(stop, threads)
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
        for t in self.1.drain(..) {
            let _ = t.join();
        }
    }
}

const TRY: &str = "try() { busybox nc -w 2 $1 $2 </dev/null | grep -q hi && echo \"$2 open\" || echo \"$2 closed\"; }; ";

#[test]
fn egress_allows_one_port_drops_the_rest_and_root_inside_cannot_flush() {
    let _g = lock();
    let tmp = TempDir::new("fw-egress");
    in_test_netns(|| {
        let _servers = Servers::new(&[8001, 8002]);
        let gw = Ipv4Addr::new(10, 101, 0, 1);
        let script = format!(
            "{TRY} try {gw} 8001; try {gw} 8002; \
             id -u; nft flush ruleset 2>/dev/null && echo flushed || echo flush-refused; \
             nft add rule inet cocoon output accept 2>/dev/null && echo added || echo add-refused; \
             try {gw} 8002"
        );
        let fw = Firewall::new()
            .egress_default(Action::Drop)
            .allow_egress(FirewallMatch::new().net(gw, 32).port(Protocol::Tcp, 8001));
        let net = bridge(tmp.path(), "cbr-fw", "10.101.0.0/24");
        let out = run(on(net.clone().firewall(fw.clone()), sh(&script))).ok();
        assert_eq!(out.stdout, "8001 open\n8002 closed\n0\nflush-refused\nadd-refused\n8002 closed\n", "{out:?}");
        // Control: the same container without a firewall reaches both.
        let out = run(on(net.clone(), sh(&format!("{TRY} try {gw} 8001; try {gw} 8002")))).ok();
        assert_eq!(out.stdout, "8001 open\n8002 open\n", "{out:?}");
        // The table is in the container's namespace (seen from the host with nsenter).
        let c = on(net.firewall(fw), Process::new("/bin/sleep").arg("1000")).spawn().unwrap();
        let listed = std::process::Command::new("nsenter")
            .arg(format!("--net=/proc/{}/ns/net", c.pid()))
            .args(["nft", "list", "table", "inet", "cocoon"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&listed.stdout);
        assert!(text.contains("policy drop") && text.contains("tcp dport 8001 accept"), "{text}");
        // And not in the host's.
        let host = std::process::Command::new("nft").args(["list", "table", "inet", "cocoon"]).output().unwrap();
        assert!(!host.status.success());
    });
}

#[test]
fn ingress_accepts_an_allowed_port_and_drops_another() {
    let _g = lock();
    let tmp = TempDir::new("fw-ingress");
    in_test_netns(|| {
        let serve = "(echo a | busybox nc -l -p 80 &); (echo b | busybox nc -l -p 81 &); busybox usleep 200000; echo ready; sleep 30";
        let get = |addr: Ipv4Addr, port: u16| -> Option<String> {
            let mut s = TcpStream::connect_timeout(&SocketAddr::from((addr, port)), Duration::from_secs(2)).ok()?;
            s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
            let mut out = String::new();
            std::io::Read::read_to_string(&mut s, &mut out).ok()?;
            Some(out.trim().to_string())
        };
        let net = bridge(tmp.path(), "cbr-fwin", "10.102.0.0/24");
        let fw = Firewall::new().ingress_default(Action::Drop).allow_ingress(FirewallMatch::new().port(Protocol::Tcp, 80));
        let mut c = on(net.clone().firewall(fw), sh(serve)).spawn().unwrap();
        let addr = c.network().unwrap().address;
        let mut lines = Lines::new(&mut c);
        assert_eq!(lines.next(), "ready");
        assert_eq!(get(addr, 80).as_deref(), Some("a"));
        assert_eq!(get(addr, 81), None, "port 81 is dropped");
        drop(lines);
        drop(c);
        // Control: without the firewall, both answer.
        let mut c = on(net, sh(serve)).spawn().unwrap();
        let addr = c.network().unwrap().address;
        let mut lines = Lines::new(&mut c);
        assert_eq!(lines.next(), "ready");
        assert_eq!(get(addr, 80).as_deref(), Some("a"));
        assert_eq!(get(addr, 81).as_deref(), Some("b"));
    });
}

#[test]
fn bad_firewall_rules_are_typed_errors_before_the_clone() {
    let _g = lock();
    let tmp = TempDir::new("fw-bad");
    in_test_netns(|| {
        for bad in ["10.0.0.0/33", "10.0.0.1:0", "10.0.0.1:65536", "10.0.0.1:80/icmp", "nowhere"] {
            assert!(matches!(bad.parse::<FirewallMatch>(), Err(Error::InvalidConfig { what: "firewall", .. })), "{bad}");
        }
        let fw = Firewall::new().deny_egress(FirewallMatch::new().net(Ipv4Addr::new(10, 0, 0, 0), 40));
        match on(bridge(tmp.path(), "cbr-fwbad", "10.103.0.0/24").firewall(fw), Process::new("/bin/true")).spawn() {
            Err(Error::InvalidConfig { what: "firewall", .. }) => {}
            other => panic!("expected InvalidConfig, got {:?}", other.map(|c| c.pid())),
        }
        assert_no_children();
    });
}
