//! Bandwidth limits on the real kernel (in a network namespace of the test's own as the
//! "host", see tests/net_bridge.rs): a bulk TCP transfer out of and into a container
//! limited to 10 Mbit/s measures within ±15 % of the limit, and the same transfers
//! without a limit are at least 10 times faster. Rates are measured, never timed out.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::Instant;

use cocoon::net::{BridgeNetwork, Network, Rate, RateLimit};
use cocoon::{ContainerBuilder, Error, Process};
use common::*;

/// Bytes moved each way: 2 s at 10 Mbit/s.
const BYTES: usize = 2_500_000;

/// In the container: listens on 9001, sends BYTES to the host's 9000, then receives on
/// 9001 until EOF and answers with the count.
const PEER: &str = r#"
import socket, sys
n, host = int(sys.argv[1]), sys.argv[2]
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(("0.0.0.0", 9001)); l.listen(1)
print("ready", flush=True)
s = socket.create_connection((host, 9000)); buf = b"x" * 65536; sent = 0
while sent < n:
    sent += s.send(buf[:min(65536, n - sent)])
s.close()
c, _ = l.accept(); got = 0
while True:
    d = c.recv(65536)
    if not d: break
    got += len(d)
c.sendall(str(got).encode()); c.close()
"#;

/// Bytes per second of the container's send (first byte to EOF) and of its receive
/// (first write to the container's answer).
fn transfer(net: BridgeNetwork) -> (f64, f64) {
    let gw = net.effective_gateway();
    let l = TcpListener::bind(("0.0.0.0", 9000)).unwrap();
    let p = Process::new("/usr/bin/python3")
        .args(["-c", PEER, &BYTES.to_string(), &gw.to_string()])
        .stdout(cocoon::Stdio::Piped);
    let mut c = ContainerBuilder::new(p).network(Network::Bridge(net)).spawn().unwrap();
    let addr: Ipv4Addr = c.network().unwrap().address;
    let mut lines = Lines::new(&mut c);
    assert_eq!(lines.next(), "ready");
    // Egress: the container sends.
    let (mut s, _) = l.accept().unwrap();
    let mut buf = vec![0u8; 65536];
    let first = s.read(&mut buf).unwrap();
    let t0 = Instant::now();
    let mut got = 0;
    loop {
        match s.read(&mut buf).unwrap() {
            0 => break,
            n => got += n,
        }
    }
    let egress = got as f64 / t0.elapsed().as_secs_f64();
    assert_eq!(first + got, BYTES);
    // Ingress: the container receives.
    let mut s = TcpStream::connect(SocketAddr::from((addr, 9001))).unwrap();
    let t0 = Instant::now();
    let chunk = vec![b'y'; 65536];
    let mut sent = 0;
    while sent < BYTES {
        sent += s.write(&chunk[..(BYTES - sent).min(chunk.len())]).unwrap();
    }
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let ingress = BYTES as f64 / t0.elapsed().as_secs_f64();
    assert_eq!(answer, BYTES.to_string());
    assert!(c.wait().unwrap().success());
    (egress, ingress)
}

fn bridge(state: &Path) -> BridgeNetwork {
    BridgeNetwork::new("cbr-bw", "10.104.0.0/24".parse().unwrap()).state_dir(state)
}

#[test]
fn ten_mbit_limits_measure_within_15_percent_and_unlimited_is_ten_times_faster() {
    let _g = lock();
    let tmp = TempDir::new("bw");
    in_test_netns(|| {
        let limit = RateLimit::new("10mbit".parse().unwrap());
        let (egress, ingress) = transfer(bridge(tmp.path()).egress_limit(limit).ingress_limit(limit));
        let (free_egress, free_ingress) = transfer(bridge(tmp.path()));
        let target = 10_000_000.0 / 8.0;
        eprintln!(
            "limited: egress {:.2} Mbit/s, ingress {:.2} Mbit/s; unlimited: egress {:.1} Mbit/s, ingress {:.1} Mbit/s",
            egress * 8e-6,
            ingress * 8e-6,
            free_egress * 8e-6,
            free_ingress * 8e-6
        );
        for (what, r) in [("egress", egress), ("ingress", ingress)] {
            assert!((r / target - 1.0).abs() <= 0.15, "{what}: {:.2} Mbit/s is not within 15 % of 10 Mbit/s", r * 8e-6);
        }
        assert!(free_egress >= 10.0 * egress, "unlimited egress {free_egress:.0} B/s vs limited {egress:.0} B/s");
        assert!(free_ingress >= 10.0 * ingress, "unlimited ingress {free_ingress:.0} B/s vs limited {ingress:.0} B/s");
    });
}

#[test]
fn the_qdiscs_are_where_the_traffic_leaves_and_root_inside_cannot_remove_them() {
    let _g = lock();
    let tmp = TempDir::new("bw-qdisc");
    in_test_netns(|| {
        let net = bridge(tmp.path())
            .egress_limit(RateLimit::new("5mbit".parse().unwrap()).burst(32 * 1024))
            .ingress_limit(RateLimit::new("20mbit".parse().unwrap()));
        let script = "tc qdisc del dev eth0 root 2>/dev/null && echo removed || echo refused; exec sleep 1000";
        let mut c = ContainerBuilder::new(sh(script)).network(Network::Bridge(net)).spawn().unwrap();
        let mut lines = Lines::new(&mut c);
        assert_eq!(lines.next(), "refused");
        let info = c.network().cloned().unwrap();
        let host = std::process::Command::new("tc").args(["qdisc", "show", "dev", &info.host_interface]).output().unwrap();
        let host = String::from_utf8_lossy(&host.stdout).into_owned();
        assert!(host.contains("qdisc tbf c0c0: root") && host.contains("rate 20Mbit"), "{host}");
        let inner = std::process::Command::new("nsenter")
            .arg(format!("--net=/proc/{}/ns/net", c.pid()))
            .args(["tc", "qdisc", "show", "dev", "eth0"])
            .output()
            .unwrap();
        let inner = String::from_utf8_lossy(&inner.stdout).into_owned();
        assert!(inner.contains("qdisc tbf c0c0: root") && inner.contains("rate 5Mbit") && inner.contains("burst 32Kb"), "{inner}");
    });
}

#[test]
fn a_rate_of_zero_and_a_tiny_burst_are_typed_errors_before_the_clone() {
    let _g = lock();
    let tmp = TempDir::new("bw-bad");
    in_test_netns(|| {
        for bad in ["0", "0mbit", "10parsecs", ""] {
            assert!(matches!(bad.parse::<Rate>(), Err(Error::InvalidConfig { what: "rate", .. })), "{bad}");
        }
        let p = || Process::new("/bin/true");
        for (net, what) in [
            (bridge(tmp.path()).egress_limit(RateLimit::new(Rate::from_bits_per_sec(0))), "egress rate"),
            (bridge(tmp.path()).ingress_limit(RateLimit::new(Rate::from_bits_per_sec(1_000_000)).burst(10)), "ingress rate"),
        ] {
            match ContainerBuilder::new(p()).network(Network::Bridge(net)).spawn() {
                Err(Error::InvalidConfig { what: w, .. }) => assert_eq!(w, what),
                other => panic!("expected InvalidConfig, got {:?}", other.map(|c| c.pid())),
            }
        }
        assert_no_children();
    });
}
