//! cocoon-run: --network, --subnet, --ip, --mtu, --nat, --publish. Each test runs the tool from a thread
//! that unshared a network namespace of its own (a child inherits the forking thread's
//! namespaces), so the bridge and host veths live there, never on the machine.
#![cfg(feature = "cli")]

mod cli_support;

use cli_support::{command, in_test_netns, output, run, TempDir};


#[test]
fn bridge_with_a_static_address_and_verbose_report() {
    let state = TempDir::new("cli-net");
    in_test_netns(|| {
        let mut c = command(None);
        c.env("COCOON_NET_STATE_DIR", state.path()).args([
            "--network", "bridge=cbr-cli", "--subnet", "10.96.0.0/24", "--ip", "10.96.0.9", "--mtu", "1400", "--verbose",
            "--", "sh", "-c", "busybox ip -4 -o addr show eth0; busybox ip route; cat /sys/class/net/eth0/mtu",
        ]);
        let o = output(c);
        assert_eq!(o.code, 0, "{o:?}");
        assert!(o.stdout.contains("inet 10.96.0.9/24"), "{}", o.stdout);
        assert!(o.stdout.contains("default via 10.96.0.1 dev eth0"), "{}", o.stdout);
        assert!(o.stdout.ends_with("1400\n"), "{}", o.stdout);
        assert!(o.stderr.contains("network: eth0 10.96.0.9/24 via 10.96.0.1, host end coc"), "{}", o.stderr);
        // The lease went with the container; the bridge stays.
        let left: Vec<_> = std::fs::read_dir(state.join("cbr-cli")).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from(".lock")]);
    });
}

#[test]
fn network_flags_refused_with_the_flag_named() {
    let o = run(&["--ip", "10.0.0.2", "--", "true"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("--ip: needs --network bridge"), "{}", o.stderr);
    let o = run(&["--network", "bridge=a-name-over-15-b", "--", "true"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("must be 1 to 15 bytes"), "{}", o.stderr);
    let o = run(&["--network", "bridge", "--ip", "10.99.0.1", "--", "true"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("--ip") && o.stderr.contains("outside the subnet 10.88.0.0/16"), "{}", o.stderr);
    let o = run(&["--network", "wifi", "--", "true"]);
    assert_eq!(o.code, 2, "{o:?}");
    let o = run(&["--network", "bridge", "--no-net", "--", "true"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("--network"), "{}", o.stderr);
}

#[test]
fn network_none_is_loopback_only() {
    let o = run(&["--network", "none", "--", "sh", "-c", "ls /sys/class/net"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert_eq!(o.stdout, "lo\n");
}

/// cocoon's rules in the calling thread's namespace (`nft` only observes).
fn nft_rules() -> Vec<String> {
    let out = std::process::Command::new("nft").args(["list", "table", "ip", "cocoon"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains("comment \"cocoon ")).map(|l| l.trim().to_string()).collect()
}

#[test]
fn nat_and_published_ports_in_verbose_and_gone_after() {
    let state = TempDir::new("cli-nat");
    in_test_netns(|| {
        let mut c = command(None);
        c.env("COCOON_NET_STATE_DIR", state.path()).args([
            "--network", "bridge=cbr-clinat", "--subnet", "10.98.0.0/24", "--ip", "10.98.0.5", "--nat",
            "-p", "8080:80", "--publish", "5353:53/udp", "--verbose", "--", "true",
        ]);
        let o = output(c);
        assert_eq!(o.code, 0, "{o:?}");
        assert!(o.stderr.contains("nat: masquerade 10.98.0.5 leaving the subnet"), "{}", o.stderr);
        assert!(o.stderr.contains("publish: *:8080/tcp -> 10.98.0.5:80"), "{}", o.stderr);
        assert!(o.stderr.contains("publish: *:5353/udp -> 10.98.0.5:53"), "{}", o.stderr);
        assert_eq!(nft_rules(), Vec::<String>::new());
    });
}

#[test]
fn bad_publish_flags_are_refused_with_the_flag_named() {
    let o = run(&["--publish", "8080:80", "--", "true"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("--publish: needs --network bridge"), "{}", o.stderr);
    for bad in ["0:80", "65536:80", "80:80/sctp"] {
        let o = run(&["--network", "bridge", "-p", bad, "--", "true"]);
        assert_eq!(o.code, 2, "{bad}: {o:?}");
        assert!(o.stderr.contains("publish"), "{bad}: {}", o.stderr);
    }
    let o = run(&["--network", "bridge", "-p", "8080:80", "-p", "8080:81", "--", "true"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("--publish"), "{}", o.stderr);
    let o = run(&["--network", "bridge", "-p", "127.0.0.1:8080:80", "--", "true"]);
    assert_ne!(o.code, 0, "{o:?}");
    assert!(o.stderr.contains("--publish") && o.stderr.contains("loopback"), "{}", o.stderr);
}

#[test]
fn firewall_flags_filter_and_show_in_verbose() {
    let state = TempDir::new("cli-fw");
    in_test_netns(|| {
        let mut c = command(None);
        c.env("COCOON_NET_STATE_DIR", state.path()).args([
            "--network", "bridge=cbr-clifw", "--subnet", "10.99.0.0/24", "--deny", "out:*", "--allow", "out:10.99.0.1",
            "--verbose", "--", "sh", "-c",
            "busybox ping -c1 -W2 10.99.0.1 >/dev/null && echo gw-ok; busybox ping -c1 -W1 10.99.0.77 >/dev/null || echo other-blocked",
        ]);
        let o = output(c);
        assert_eq!(o.code, 0, "{o:?}");
        assert_eq!(o.stdout, "gw-ok\nother-blocked\n");
        assert!(o.stderr.contains("firewall: egress default deny, ingress default allow"), "{}", o.stderr);
        assert!(o.stderr.contains("firewall: allow out 10.99.0.1/32"), "{}", o.stderr);
        let mut c = command(None);
        c.env("COCOON_NET_STATE_DIR", state.path()).args([
            "--network", "bridge=cbr-clifw", "--subnet", "10.99.0.0/24", "--deny", "10.99.0.1", "--", "sh", "-c",
            "busybox ping -c1 -W2 10.99.0.1 >/dev/null && echo gw-ok || echo gw-blocked",
        ]);
        let o = output(c);
        assert_eq!(o.stdout, "gw-blocked\n", "{o:?}");
    });
    let o = run(&["--allow", "10.0.0.1", "--", "true"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("--allow: needs --network bridge"), "{}", o.stderr);
    let o = run(&["--network", "bridge", "--deny", "10.0.0.0/33", "--", "true"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("--deny") && o.stderr.contains("prefix"), "{}", o.stderr);
}

#[test]
fn rate_flags_make_qdiscs_and_show_in_verbose() {
    let state = TempDir::new("cli-rate");
    in_test_netns(|| {
        let mut c = command(None);
        c.env("COCOON_NET_STATE_DIR", state.path()).args([
            "--network", "bridge=cbr-clirate", "--subnet", "10.100.0.0/24", "--egress-rate", "5mbit",
            "--ingress-rate", "20mbit,65536", "--verbose", "--", "sh", "-c", "tc qdisc show dev eth0",
        ]);
        let o = output(c);
        assert_eq!(o.code, 0, "{o:?}");
        assert!(o.stdout.contains("tbf c0c0: root") && o.stdout.contains("rate 5Mbit"), "{}", o.stdout);
        assert!(o.stderr.contains("egress limit: 5mbit burst 65536 bytes (tbf on eth0)"), "{}", o.stderr);
        assert!(o.stderr.contains("ingress limit: 20mbit burst 65536 bytes (tbf on coc"), "{}", o.stderr);
    });
    for bad in ["0", "10parsecs", "1M,10", "1M,x"] {
        let o = run(&["--network", "bridge", "--egress-rate", bad, "--", "true"]);
        assert_eq!(o.code, 2, "{bad}: {o:?}");
        assert!(o.stderr.contains("--egress-rate"), "{bad}: {}", o.stderr);
    }
    let o = run(&["--ingress-rate", "1M", "--", "true"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("--ingress-rate: needs --network bridge"), "{}", o.stderr);
}
