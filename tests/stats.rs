//! `cocoon::stats` on real containers: network counters read in the container's own
//! network namespace (checked against what the container itself reads in sysfs), the
//! memory limit, CPU percentage under a quota, and the Prometheus text of several
//! containers checked line by line against the exposition format's grammar.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use cocoon::stats::{cpu_percent, prometheus, ContainerMetrics};
use cocoon::{Bytes, CgroupConfig, ContainerBuilder, Error, Namespaces, Process, Stdio};
use common::{lock, sh, Lines};

fn exec_out(c: &cocoon::Container, script: &str) -> String {
    let mut p = c.exec(&sh(script).stderr(Stdio::Null)).expect("exec");
    let mut s = String::new();
    std::io::Read::read_to_string(&mut p.take_stdout().expect("stdout"), &mut s).expect("read");
    assert!(p.wait().expect("wait").success(), "{script}: {s}");
    s
}

#[test]
fn network_counters_are_the_containers_own() {
    let _g = lock();
    let script =
        "busybox ip link set lo up && busybox ping -c 5 -s 1000 -W 2 127.0.0.1 >/dev/null; echo done; exec sleep 60";
    let mut c = ContainerBuilder::new(sh(script))
        .namespaces(Namespaces::MOUNT | Namespaces::PID | Namespaces::NET)
        .spawn()
        .expect("spawn");
    assert_eq!(Lines::new(&mut c).next(), "done");
    let net = c.net_stats().expect("net stats");
    let names: Vec<&str> = net.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["lo"], "only the container's interfaces");
    let lo = &net[0];
    // Five echo requests and five replies, each counted on lo's both sides.
    assert!(lo.rx_packets >= 10 && lo.tx_packets >= 10, "{lo:?}");
    assert!(lo.rx_bytes >= 10 * 1000 && lo.tx_bytes == lo.rx_bytes, "{lo:?}");
    // The same counter as the container itself reads it (sysfs of its namespace, or its
    // own procfs); nothing moves on lo in between.
    let inside = exec_out(
        &c,
        "cat /sys/class/net/lo/statistics/rx_bytes 2>/dev/null || busybox awk '/lo:/ {print $2}' /proc/net/dev",
    );
    assert_eq!(inside.trim().parse::<u64>().expect("a number"), lo.rx_bytes);
    c.kill(libc::SIGKILL).expect("kill");
    c.wait().expect("wait");
    assert!(matches!(c.net_stats(), Err(Error::AlreadyExited)));

    // No network namespace of its own: nothing to report (not the host's interfaces).
    let mut host_net =
        ContainerBuilder::new(sh("exit 0")).namespaces(Namespaces::MOUNT | Namespaces::PID).spawn().expect("spawn");
    assert_eq!(host_net.net_stats().expect("net stats"), vec![]);
    host_net.wait().expect("wait");
}

#[test]
fn memory_limit_and_cpu_percent_under_a_quota() {
    let _g = lock();
    // 20 ms of CPU every 100 ms: a busy loop gets at most about 20 % of one CPU.
    let c = ContainerBuilder::new(sh("while :; do :; done").stdout(Stdio::Null))
        .namespaces(Namespaces::MOUNT | Namespaces::PID)
        .cgroup(
            CgroupConfig::new()
                .memory_max(Bytes::mib(64))
                .cpu_quota(Duration::from_millis(20), Duration::from_millis(100)),
        )
        .spawn()
        .expect("spawn");
    let (t0, a) = (Instant::now(), c.stats().expect("stats"));
    std::thread::sleep(Duration::from_millis(1500));
    let b = c.stats().expect("stats");
    let pct = cpu_percent(&a.cpu.expect("cpu"), &b.cpu.expect("cpu"), t0.elapsed());
    eprintln!("busy loop under a 20 % quota: {pct:.1} %");
    assert!(pct > 0.0 && pct <= 30.0, "{pct}");
    assert_eq!(b.memory.expect("memory").limit, Some(64 << 20));
    // Backwards or no time: 0, not garbage.
    assert_eq!(cpu_percent(&b.cpu.expect("cpu"), &a.cpu.expect("cpu"), Duration::from_secs(1)), 0.0);
    assert_eq!(cpu_percent(&a.cpu.expect("cpu"), &b.cpu.expect("cpu"), Duration::ZERO), 0.0);
    drop(c);
    let unlimited = ContainerBuilder::new(sh("sleep 5").stdout(Stdio::Null))
        .namespaces(Namespaces::MOUNT | Namespaces::PID)
        .cgroup(CgroupConfig::new().pids_max(8))
        .spawn()
        .expect("spawn");
    assert_eq!(unlimited.stats().expect("stats").memory.expect("memory").limit, None);
}

/// Checks `text` against the text exposition format: `# HELP`/`# TYPE` then the samples of
/// one family, each family once; names and label names by the grammar; values floats.
/// Returns (family, labels, value) for every sample.
fn parse_exposition(text: &str) -> Vec<(String, String, f64)> {
    let name_ok = |n: &str| {
        let mut ch = n.chars();
        ch.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && ch.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let mut seen = HashSet::new();
    let mut current: Option<String> = None;
    let mut out = Vec::new();
    assert!(text.ends_with('\n'), "ends with a newline");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().expect("name");
            assert!(name_ok(name) && seen.insert(name.to_string()), "family {name} once");
            current = Some(name.to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("name and type");
            assert_eq!(Some(name), current.as_deref(), "TYPE follows its HELP");
            assert!(["counter", "gauge"].contains(&kind), "{kind}");
            assert!(
                !kind.is_empty() && (kind != "counter" || name.ends_with("_total")),
                "counters end in _total: {name}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample and value");
        let (name, labels) = series.split_once('{').expect("labels");
        assert_eq!(Some(name), current.as_deref(), "sample {name} inside its family");
        let labels = labels.strip_suffix('}').expect("closing brace");
        // label="value" pairs, values with \\ \" \n escapes only.
        let mut rest = labels;
        while !rest.is_empty() {
            let (lname, after) = rest.split_once("=\"").expect("label=\"");
            assert!(name_ok(lname) && !lname.contains(':'), "label name {lname}");
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next().expect("closing quote") {
                    (_, '\\') => assert!(matches!(chars.next(), Some((_, '\\' | '"' | 'n'))), "escape in {line}"),
                    (i, '"') => break i,
                    (_, '\n') => panic!("raw newline"),
                    _ => {}
                }
            };
            rest = after[end + 1..].strip_prefix(',').unwrap_or(&after[end + 1..]);
        }
        out.push((name.to_string(), labels.to_string(), value.parse::<f64>().expect("a float value")));
    }
    out
}

#[test]
fn prometheus_text_of_several_containers_follows_the_format() {
    let _g = lock();
    let mut busy = ContainerBuilder::new(sh(
        "busybox ip link set lo up; busybox ping -c 2 127.0.0.1 >/dev/null; echo up; exec sleep 60",
    ))
    .namespaces(Namespaces::MOUNT | Namespaces::PID | Namespaces::NET)
    .cgroup(CgroupConfig::new().memory_max(Bytes::mib(32)))
    .spawn()
    .expect("spawn");
    assert_eq!(Lines::new(&mut busy).next(), "up");
    let idle = ContainerBuilder::new(Process::new("/bin/sleep").arg("60"))
        .namespaces(Namespaces::MOUNT | Namespaces::PID)
        .cgroup(CgroupConfig::new().pids_max(8))
        .spawn()
        .expect("spawn");
    let (s1, s2) = (busy.stats().expect("stats"), idle.stats().expect("stats"));
    let (n1, n2) = (busy.net_stats().expect("net"), idle.net_stats().expect("net"));
    let text = prometheus(&[
        ContainerMetrics { id: busy.id(), stats: &s1, net: &n1 },
        ContainerMetrics { id: idle.id(), stats: &s2, net: &n2 },
    ]);
    let samples = parse_exposition(&text);
    let get = |fam: &str, id: &str| {
        samples.iter().find(|(f, l, _)| f == fam && l.starts_with(&format!("id=\"{id}\""))).map(|(_, _, v)| *v)
    };
    assert_eq!(get("cocoon_container_memory_limit_bytes", busy.id()), Some((32u64 << 20) as f64));
    assert_eq!(get("cocoon_container_memory_limit_bytes", idle.id()), None, "unlimited: no sample");
    assert_eq!(get("cocoon_container_tasks", idle.id()), Some(1.0));
    assert!(get("cocoon_container_cpu_usage_seconds_total", busy.id()).is_some_and(|v| v > 0.0));
    let lo = n1.iter().find(|i| i.name == "lo").expect("lo");
    let rx = samples
        .iter()
        .find(|(f, l, _)| f == "cocoon_container_network_receive_bytes_total" && l.ends_with("interface=\"lo\""))
        .map(|(_, _, v)| *v);
    assert_eq!(rx, Some(lo.rx_bytes as f64));
    assert!(
        !samples.iter().any(|(f, l, _)| f.contains("network") && l.starts_with(&format!("id=\"{}\"", idle.id()))),
        "no interfaces for the container without a network namespace"
    );
}
