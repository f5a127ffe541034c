//! NAT and published ports on the real kernel. Each test runs in a network namespace of
//! its own as the "host" (see tests/net_bridge.rs), with a second namespace, on another
//! thread, as an outside client or server joined to it by a veth pair ("uplink",
//! 192.168.77.1 on the host, 192.168.77.2 outside, no route back to the bridge's subnet).
//! `nft list table ip cocoon` (the nftables package) only observes.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cocoon::net::{sweep_stale, BridgeNetwork, Network, Protocol, PublishedPort};
use cocoon::{ContainerBuilder, Error, Process};
use common::*;

const HOST_UP: Ipv4Addr = Ipv4Addr::new(192, 168, 77, 1);
const OUTSIDE: Ipv4Addr = Ipv4Addr::new(192, 168, 77, 2);

type Job = Box<dyn FnOnce() + Send>;

/// A thread in a network namespace of its own, linked to the calling thread's by a veth
/// pair; jobs run on it (sockets made there live in its namespace).
struct Outside {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn ip(args: &str) {
    let st = Command::new("ip").args(args.split_whitespace()).status().unwrap();
    assert!(st.success(), "ip {args}");
}

impl Outside {
    fn new() -> Outside {
        let (tx, rx) = mpsc::channel::<Job>();
        let (tid_tx, tid_rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            // SAFETY: unshare of the network namespace affects only this thread.
            assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
            // SAFETY: gettid has no preconditions.
            tid_tx.send(unsafe { libc::gettid() }).unwrap();
            for job in rx {
                job();
            }
        });
        let tid = tid_rx.recv().unwrap();
        ip(&format!("link add cnat-up type veth peer name eth0 netns {tid}"));
        ip(&format!("addr add {HOST_UP}/24 dev cnat-up"));
        ip("link set cnat-up up");
        let o = Outside { jobs: Some(tx), thread: Some(thread) };
        o.run(|| {
            ip(&format!("addr add {OUTSIDE}/24 dev eth0"));
            ip("link set eth0 up");
            ip("link set lo up");
        });
        o
    }

    fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        self.jobs.as_ref().unwrap().send(Box::new(move || tx.send(f()).unwrap())).unwrap();
        rx.recv().unwrap()
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The rules of `ip cocoon` in the calling thread's namespace (as nft prints them).
fn nft_rules() -> Vec<String> {
    let out = Command::new("nft").args(["list", "table", "ip", "cocoon"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains("comment \"cocoon ")).map(|l| l.trim().to_string()).collect()
}

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

fn leases(state: &Path, bridge: &str) -> Vec<String> {
    match std::fs::read_dir(state.join(bridge)) {
        Ok(d) => d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n != ".lock").collect(),
        Err(_) => Vec::new(),
    }
}

fn bridge(state: &Path, name: &str, subnet: &str) -> BridgeNetwork {
    BridgeNetwork::new(name, subnet.parse().unwrap()).state_dir(state)
}

fn on(net: BridgeNetwork, p: Process) -> ContainerBuilder {
    ContainerBuilder::new(p).network(Network::Bridge(net))
}

fn port(s: &str) -> PublishedPort {
    s.parse().unwrap()
}

/// A server in the container: each TCP connection on 80 gets `tcp:<peer address>`, each
/// UDP datagram on 53 comes back as `udp:<datagram>`.
const SERVER: &str = r#"
import socket, threading
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(("0.0.0.0", 80)); t.listen(8)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 53))
def udp():
    while True:
        d, a = u.recvfrom(100); u.sendto(b"udp:" + d, a)
threading.Thread(target=udp, daemon=True).start()
print("ready", flush=True)
while True:
    c, a = t.accept(); c.sendall(("tcp:%s\n" % a[0]).encode()); c.close()
"#;

fn server() -> Process {
    Process::new("/usr/bin/python3").args(["-c", SERVER]).env("PATH", PATH).stdout(cocoon::Stdio::Piped)
}

fn tcp_get(to: SocketAddr) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&to, Duration::from_secs(3))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out.trim().to_string())
}

fn udp_ask(to: SocketAddr, msg: &str) -> std::io::Result<String> {
    let s = UdpSocket::bind("0.0.0.0:0")?;
    s.set_read_timeout(Some(Duration::from_millis(500)))?;
    let mut buf = [0u8; 128];
    // UDP may lose the first datagram while neighbours are resolved: ask a few times.
    for _ in 0..6 {
        s.send_to(msg.as_bytes(), to)?;
        if let Ok((n, _)) = s.recv_from(&mut buf) {
            return Ok(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    Err(std::io::Error::from(std::io::ErrorKind::TimedOut))
}

#[test]
fn published_tcp_and_udp_ports_are_reachable_from_outside_and_from_the_host() {
    let _g = lock();
    let tmp = TempDir::new("nat-pub");
    in_test_netns(|| {
        let outside = Outside::new();
        let net = bridge(tmp.path(), "cbr-pub", "10.91.0.0/24").publish(port("8080:80")).publish(port("5353:53/udp"));
        let mut c = on(net, server()).spawn().unwrap();
        let info = c.network().cloned().unwrap();
        assert_eq!(info.published, vec![PublishedPort::new(8080, 80, Protocol::Tcp), PublishedPort::new(5353, 53, Protocol::Udp)]);
        assert!(!info.masquerade);
        let mut lines = Lines::new(&mut c);
        assert_eq!(lines.next(), "ready");
        let rules = nft_rules();
        // Two DNAT rules (prerouting, output) per port, each naming the container.
        assert_eq!(rules.len(), 4, "{rules:?}");
        assert!(rules.iter().all(|r| r.contains(&info.host_interface) && r.contains(&format!("dnat to {}", info.address))), "{rules:?}");
        assert_eq!(std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap().trim(), "1");
        // From outside: the container sees the client's own address (DNAT only).
        let tcp = SocketAddr::from((HOST_UP, 8080));
        let udp = SocketAddr::from((HOST_UP, 5353));
        assert_eq!(outside.run(move || tcp_get(tcp).unwrap()), format!("tcp:{OUTSIDE}"));
        assert_eq!(outside.run(move || udp_ask(udp, "hello").unwrap()), "udp:hello");
        // From the host itself, to its own address (the output chain).
        assert_eq!(tcp_get(tcp).unwrap(), format!("tcp:{HOST_UP}"));
        assert_eq!(udp_ask(udp, "again").unwrap(), "udp:again");
        // Control: a port nobody published is refused.
        let closed = SocketAddr::from((HOST_UP, 8081));
        assert!(outside.run(move || tcp_get(closed)).is_err());
        drop(lines);
        drop(c);
        assert_eq!(nft_rules(), Vec::<String>::new());
        assert_eq!(host_veths(), Vec::<String>::new());
        assert_eq!(leases(tmp.path(), "cbr-pub"), Vec::<String>::new());
        // The port is gone with the container.
        assert!(outside.run(move || tcp_get(tcp)).is_err());
    });
}

/// Accepts one connection on OUTSIDE:9000 within 8 s; returns the peer's address.
fn accept_one(outside: &Outside) -> mpsc::Receiver<Option<Ipv4Addr>> {
    let (ready_tx, ready_rx) = mpsc::channel();
    let (tx, rx) = mpsc::channel();
    // The listener runs on its own thread inside the outside namespace.
    outside.run(move || {
        let l = TcpListener::bind((OUTSIDE, 9000)).unwrap();
        l.set_nonblocking(true).unwrap();
        std::thread::spawn(move || {
            ready_tx.send(()).unwrap();
            let end = Instant::now() + Duration::from_secs(8);
            let mut got = None;
            while Instant::now() < end {
                match l.accept() {
                    Ok((mut s, a)) => {
                        let _ = s.write_all(b"hi\n");
                        got = match a {
                            SocketAddr::V4(v) => Some(*v.ip()),
                            SocketAddr::V6(_) => None,
                        };
                        break;
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            let _ = tx.send(got);
        });
    });
    ready_rx.recv().unwrap();
    rx
}

#[test]
fn masquerade_lets_a_container_reach_outside_and_without_it_there_is_no_way_back() {
    let _g = lock();
    let tmp = TempDir::new("nat-masq");
    in_test_netns(|| {
        let outside = Outside::new();
        let client = format!("busybox nc -w 3 {OUTSIDE} 9000 </dev/null && echo connected || echo failed");
        let net = bridge(tmp.path(), "cbr-masq", "10.92.0.0/24");
        let seen = accept_one(&outside);
        let out = run(on(net.clone().nat(true), sh(&client))).ok();
        assert_eq!(out.stdout.trim(), "hi\nconnected", "{out:?}");
        // The outside server saw the host's uplink address, not the container's.
        assert_eq!(seen.recv().unwrap(), Some(HOST_UP));
        assert_eq!(nft_rules(), Vec::<String>::new(), "the masquerade rule went with the container");
        // Control, forwarding still on: without NAT the server's answer has no route to
        // the bridge's subnet, so no connection is made.
        let seen = accept_one(&outside);
        let out = run(on(net, sh(&client))).ok();
        assert_eq!(out.stdout.trim(), "failed", "{out:?}");
        assert_eq!(seen.recv().unwrap(), None);
        assert_eq!(host_veths().len(), 0);
        assert_eq!(leases(tmp.path(), "cbr-masq"), Vec::<String>::new());
    });
}

#[test]
fn a_port_in_use_is_a_typed_error_before_the_clone_and_leaves_nothing() {
    let _g = lock();
    let tmp = TempDir::new("nat-inuse");
    in_test_netns(|| {
        let net = bridge(tmp.path(), "cbr-inuse", "10.93.0.0/24");
        let sleep = || Process::new("/bin/sleep").arg("1000");
        let holder = on(net.clone().publish(port("8080:80")), sleep()).spawn().unwrap();
        let rules = nft_rules();
        let children_before = children();
        for taken in ["8080:81", "8080:80/tcp", &format!("{HOST_UP}:8080:80")] {
            match on(net.clone().publish(port(taken)), sleep()).spawn() {
                Err(Error::PortInUse { protocol, port }) => assert_eq!((protocol, port), (Protocol::Tcp, 8080)),
                other => panic!("{taken}: expected PortInUse, got {:?}", other.map(|c| c.pid())),
            }
        }
        assert_eq!(children(), children_before);
        assert_eq!(nft_rules(), rules);
        assert_eq!(host_veths().len(), 1);
        assert_eq!(leases(tmp.path(), "cbr-inuse").len(), 1);
        // The same port over UDP, and another TCP port, are free.
        let udp = on(net.clone().publish(port("8080:80/udp")).publish(port("8081:80")), sleep()).spawn().unwrap();
        assert_eq!(nft_rules().len(), 6);
        drop((holder, udp));
        assert_eq!(nft_rules(), Vec::<String>::new());
        assert_eq!(host_veths(), Vec::<String>::new());
        assert_eq!(leases(tmp.path(), "cbr-inuse"), Vec::<String>::new());
    });
}

fn invalid(r: cocoon::Result<cocoon::Container>) -> String {
    match r {
        Err(Error::InvalidConfig { what, .. }) => what.to_string(),
        Err(Error::Unsupported { what, .. }) => format!("unsupported {what}"),
        Err(e) => panic!("expected a typed config error, got {e:?}"),
        Ok(_) => panic!("expected a typed config error, got a container"),
    }
}

#[test]
fn bad_mappings_are_typed_errors_before_the_clone() {
    let _g = lock();
    let tmp = TempDir::new("nat-bad");
    in_test_netns(|| {
        for bad in ["0:80", "80:0", "65536:80", "80:70000", "80:80/sctp", "80", "x:80", "1.2.3:80:80"] {
            match bad.parse::<PublishedPort>() {
                Err(Error::InvalidConfig { what: "publish", reason }) => assert!(reason.contains(bad), "{reason}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        let net = bridge(tmp.path(), "cbr-bad", "10.94.0.0/24");
        let p = || Process::new("/bin/true");
        assert_eq!(invalid(on(net.clone().publish(PublishedPort::new(0, 80, Protocol::Tcp)), p()).spawn()), "publish");
        assert_eq!(invalid(on(net.clone().publish(PublishedPort::new(80, 0, Protocol::Udp)), p()).spawn()), "publish");
        assert_eq!(invalid(on(net.clone().publish(port("80:80")).publish(port("80:81")), p()).spawn()), "publish");
        assert_eq!(invalid(on(net.clone().publish(port("127.0.0.1:80:80")), p()).spawn()), "unsupported publish");
        assert_eq!(invalid(on(net.clone().publish(port("224.0.0.1:80:80")), p()).spawn()), "publish");
        // Nothing was made: no bridge, no table, no lease, no child.
        assert_eq!(links(), vec!["lo".to_string()]);
        assert_eq!(nft_rules(), Vec::<String>::new());
        assert_eq!(leases(tmp.path(), "cbr-bad"), Vec::<String>::new());
        assert_no_children();
    });
}

#[test]
fn rules_of_a_sigkilled_creator_are_swept() {
    let _g = lock();
    let tmp = TempDir::new("nat-stale");
    in_test_netns(|| {
        let net = bridge(tmp.path(), "cbr-st", "10.95.0.0/24").nat(true).publish(port("8090:80"));
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
        // Masquerade plus two DNAT rules.
        assert_eq!(nft_rules().len(), 3, "{:?}", nft_rules());
        let owner: i32 = nft_rules()[0].split_whitespace().skip_while(|w| *w != "\"cocoon").nth(2).unwrap().parse().unwrap();
        // SAFETY: pid is our child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        wait_until(Duration::from_secs(20), "the orphaned container to die", || !pid_exists(owner));
        assert_eq!(nft_rules().len(), 3, "the rules outlive their creator");
        // The next spawn publishing the same port takes it over (the dead owner's rules go).
        let c = on(net.clone(), Process::new("/bin/sleep").arg("1000")).spawn().unwrap();
        let rules = nft_rules();
        assert_eq!(rules.len(), 3, "{rules:?}");
        assert!(rules.iter().all(|r| r.contains(&c.network().unwrap().host_interface)), "{rules:?}");
        drop(c);
        assert_eq!(nft_rules(), Vec::<String>::new());
        // And a sweep alone removes what a killed creator left.
        // SAFETY: as above.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let code = match on(net.clone(), Process::new("/bin/sleep").arg("1000")).spawn() {
                Ok(c) => {
                    std::mem::forget(c);
                    loop {
                        std::thread::park();
                    }
                }
                Err(_) => 1,
            };
            // SAFETY: as above.
            unsafe { libc::_exit(code) };
        }
        wait_until(Duration::from_secs(20), "the child's rules", || nft_rules().len() == 3);
        let owner: i32 = nft_rules()[0].split_whitespace().skip_while(|w| *w != "\"cocoon").nth(2).unwrap().parse().unwrap();
        // SAFETY: pid is our child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        wait_until(Duration::from_secs(20), "the orphaned container to die", || !pid_exists(owner));
        // Both killed creators' leases (the takeover above leased a fresh address).
        assert_eq!(sweep_stale(Some(tmp.path())).unwrap(), 2);
        assert_eq!(nft_rules(), Vec::<String>::new());
        assert_eq!(host_veths(), Vec::<String>::new());
        assert_eq!(leases(tmp.path(), "cbr-st"), Vec::<String>::new());
    });
}

#[test]
fn create_destroy_cycles_leave_no_rule() {
    let _g = lock();
    let tmp = TempDir::new("nat-cycles");
    in_test_netns(|| {
        let net = bridge(tmp.path(), "cbr-cyc", "10.96.0.0/24").nat(true).publish(port("8100:80")).publish(port("8100:80/udp"));
        let plan = on(net, Process::new("/bin/true")).prepare().unwrap();
        assert!(plan.spawn().unwrap().wait().unwrap().success());
        let before = fds();
        for _ in 0..50 {
            let mut c = plan.spawn().unwrap();
            assert_eq!(nft_rules().len(), 5);
            assert!(c.wait().unwrap().success());
            c.delete().unwrap();
            assert_eq!(nft_rules(), Vec::<String>::new());
        }
        // Dropped while running too.
        let plan = on(bridge(tmp.path(), "cbr-cyc", "10.96.0.0/24").publish(port("8101:80")), Process::new("/bin/sleep").arg("1000")).prepare().unwrap();
        for _ in 0..20 {
            let c = plan.spawn().unwrap();
            drop(c);
            assert_eq!(nft_rules(), Vec::<String>::new());
        }
        assert_eq!(fds(), before);
        assert_eq!(leases(tmp.path(), "cbr-cyc"), Vec::<String>::new());
        assert_no_children();
    });
}
