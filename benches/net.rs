//! Network spawn benchmarks (criterion): spawn + wait + delete of a container running
//! `/bin/true` with (a) a network namespace only, (b) bridge networking (veth, address,
//! route), (c) bridge + NAT + one published port (nftables rules), (d) bridge + a
//! firewall and rate limits; with `COCOON_NET_BENCH_LIVE=N` containers on the bridge
//! (each with NAT and a published port) alive meanwhile. Run as root:
//! `cargo bench --bench net` (it makes a network namespace of its own first).

use cocoon::net::{Action, BridgeNetwork, Firewall, FirewallMatch, Network, Protocol, PublishedPort, RateLimit};
use cocoon::{ContainerBuilder, Namespaces, Process, Stdio};
use criterion::{criterion_group, criterion_main, Criterion};

fn builder() -> ContainerBuilder {
    ContainerBuilder::new(Process::new("/bin/true").stdin(Stdio::Null))
        .namespaces(Namespaces::MOUNT | Namespaces::PID | Namespaces::UTS | Namespaces::IPC | Namespaces::NET)
        .read_only_root(true)
}

fn run(plan: &cocoon::Plan) {
    let mut c = plan.spawn().expect("spawn");
    assert!(c.wait().expect("wait").success());
    c.delete().expect("delete");
}

fn bench_net(c: &mut Criterion) {
    // SAFETY: unshare of the network namespace affects only this thread, on which
    // criterion runs the benchmarks: the machine's interfaces are never touched.
    assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0, "unshare(CLONE_NEWNET) needs root");
    let state = std::env::temp_dir().join(format!("cocoon-bench-net-{}", std::process::id()));
    let br = || BridgeNetwork::new("cbr-bench", "10.200.0.0/16".parse().expect("subnet")).state_dir(&state);
    let live_n: usize = std::env::var("COCOON_NET_BENCH_LIVE").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let live_plan = ContainerBuilder::new(Process::new("/bin/sleep").arg("100000").stdin(Stdio::Null));
    let live: Vec<_> = (0..live_n)
        .map(|i| {
            let port = PublishedPort::new(20000 + i as u16, 80, Protocol::Tcp);
            live_plan.clone().network(Network::Bridge(br().nat(true).publish(port))).spawn().expect("live container")
        })
        .collect();
    let mut g = c.benchmark_group(format!("spawn_net_live{live_n}"));
    g.sample_size(30);
    let netns = builder().prepare().expect("plan a");
    g.bench_function("a_netns_only", |b| b.iter(|| run(&netns)));
    let bridge = builder().network(Network::Bridge(br())).prepare().expect("plan b");
    g.bench_function("b_bridge", |b| b.iter(|| run(&bridge)));
    let nat = builder().network(Network::Bridge(br().nat(true).publish(PublishedPort::new(8080, 80, Protocol::Tcp)))).prepare().expect("plan c");
    g.bench_function("c_bridge_nat_publish", |b| b.iter(|| run(&nat)));
    // The spawn alone (to the program's exec), the teardown left out of the timing.
    for (name, plan) in [("b_bridge_spawn_only", &bridge), ("c_bridge_nat_publish_spawn_only", &nat)] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = std::time::Duration::ZERO;
                for _ in 0..iters {
                    let t = std::time::Instant::now();
                    let mut c = plan.spawn().expect("spawn");
                    total += t.elapsed();
                    assert!(c.wait().expect("wait").success());
                    c.delete().expect("delete");
                }
                total
            })
        });
    }
    let fw = Firewall::new().egress_default(Action::Drop).allow_egress(FirewallMatch::new().net("10.200.0.1".parse().expect("addr"), 32));
    let limit = RateLimit::new("100mbit".parse().expect("rate"));
    let shaped = builder().network(Network::Bridge(br().firewall(fw).egress_limit(limit).ingress_limit(limit))).prepare().expect("plan d");
    g.bench_function("d_bridge_firewall_rates", |b| b.iter(|| run(&shaped)));
    g.finish();
    drop(live);
    let _ = std::fs::remove_dir_all(&state);
}

criterion_group!(benches, bench_net);
criterion_main!(benches);
