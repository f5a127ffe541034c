//! The Prometheus text exposition format (version 0.0.4) of any set of containers: what
//! monitoring stacks scrape. Every family is written once, with a sample per container
//! (and per interface for the network counters).

use std::fmt::Write;

use super::InterfaceStats;
use crate::cgroup::CgroupStats;

/// One container's figures for [`prometheus`].
#[derive(Debug, Clone, Copy)]
pub struct ContainerMetrics<'a> {
    /// The `id` label.
    pub id: &'a str,
    /// Its cgroup's usage ([`crate::Container::stats`]).
    pub stats: &'a CgroupStats,
    /// Its interfaces ([`crate::Container::net_stats`]; empty without a network namespace).
    pub net: &'a [InterfaceStats],
}

enum Kind {
    Counter,
    Gauge,
}

/// One metric family: name, help, type, and how to get its value from a container (None:
/// no sample for that container, e.g. the host lacks the controller).
struct Family {
    name: &'static str,
    help: &'static str,
    kind: Kind,
    value: fn(&CgroupStats) -> Option<f64>,
}

/// Microseconds per second (dividing keeps "0.004381" exact in the text; multiplying by
/// 1e-6 would print 0.0043809999999999995).
const US: f64 = 1e6;

const FAMILIES: &[Family] = &[
    Family {
        name: "cocoon_container_cpu_usage_seconds_total",
        help: "CPU time used by the container's tasks.",
        kind: Kind::Counter,
        value: |s| s.cpu.map(|c| c.usage.as_micros() as f64 / US),
    },
    Family {
        name: "cocoon_container_cpu_user_seconds_total",
        help: "CPU time in user mode.",
        kind: Kind::Counter,
        value: |s| s.cpu.map(|c| c.user.as_micros() as f64 / US),
    },
    Family {
        name: "cocoon_container_cpu_system_seconds_total",
        help: "CPU time in kernel mode.",
        kind: Kind::Counter,
        value: |s| s.cpu.map(|c| c.system.as_micros() as f64 / US),
    },
    Family {
        name: "cocoon_container_memory_usage_bytes",
        help: "Memory in use now.",
        kind: Kind::Gauge,
        value: |s| s.memory.map(|m| m.current as f64),
    },
    Family {
        name: "cocoon_container_memory_max_usage_bytes",
        help: "The highest memory use seen.",
        kind: Kind::Gauge,
        value: |s| s.memory.and_then(|m| m.peak).map(|p| p as f64),
    },
    Family {
        name: "cocoon_container_memory_limit_bytes",
        help: "The memory limit (no sample when unlimited).",
        kind: Kind::Gauge,
        value: |s| s.memory.and_then(|m| m.limit).map(|p| p as f64),
    },
    Family {
        name: "cocoon_container_memory_limit_hits_total",
        help: "Times the memory limit was hit (v1: memory.failcnt, v2: memory.events oom).",
        kind: Kind::Counter,
        value: |s| s.memory.map(|m| m.oom_events as f64),
    },
    Family {
        name: "cocoon_container_oom_kills_total",
        help: "Processes of the container killed by the OOM killer.",
        kind: Kind::Counter,
        value: |s| s.memory.map(|m| m.oom_kills as f64),
    },
    Family {
        name: "cocoon_container_tasks",
        help: "Tasks (processes and threads) in the container now.",
        kind: Kind::Gauge,
        value: |s| s.pids.map(|p| p.current as f64),
    },
    Family {
        name: "cocoon_container_blkio_read_bytes_total",
        help: "Bytes read from block devices.",
        kind: Kind::Counter,
        value: |s| s.io.map(|i| i.read_bytes as f64),
    },
    Family {
        name: "cocoon_container_blkio_write_bytes_total",
        help: "Bytes written to block devices.",
        kind: Kind::Counter,
        value: |s| s.io.map(|i| i.write_bytes as f64),
    },
    Family {
        name: "cocoon_container_blkio_reads_total",
        help: "Block device read operations.",
        kind: Kind::Counter,
        value: |s| s.io.map(|i| i.read_ops as f64),
    },
    Family {
        name: "cocoon_container_blkio_writes_total",
        help: "Block device write operations.",
        kind: Kind::Counter,
        value: |s| s.io.map(|i| i.write_ops as f64),
    },
];

/// Reads one counter of an interface.
type NetField = fn(&InterfaceStats) -> u64;

/// The per-interface families: name, help, field.
const NET_FAMILIES: &[(&str, &str, NetField)] = &[
    ("cocoon_container_network_receive_bytes_total", "Bytes received.", |i| i.rx_bytes),
    ("cocoon_container_network_receive_packets_total", "Packets received.", |i| i.rx_packets),
    ("cocoon_container_network_receive_errors_total", "Receive errors.", |i| i.rx_errors),
    ("cocoon_container_network_receive_packets_dropped_total", "Received packets dropped.", |i| i.rx_dropped),
    ("cocoon_container_network_transmit_bytes_total", "Bytes sent.", |i| i.tx_bytes),
    ("cocoon_container_network_transmit_packets_total", "Packets sent.", |i| i.tx_packets),
    ("cocoon_container_network_transmit_errors_total", "Send errors.", |i| i.tx_errors),
    ("cocoon_container_network_transmit_packets_dropped_total", "Packets dropped on send.", |i| i.tx_dropped),
];

/// A label value as the format wants it: backslash, double quote and newline escaped.
fn label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// `containers`' figures in the Prometheus text format (`Content-Type: text/plain;
/// version=0.0.4`). A family is left out when no container has a value for it.
pub fn prometheus(containers: &[ContainerMetrics<'_>]) -> String {
    let mut out = String::new();
    for f in FAMILIES {
        let samples: Vec<(&str, f64)> = containers.iter().filter_map(|c| Some((c.id, (f.value)(c.stats)?))).collect();
        if samples.is_empty() {
            continue;
        }
        header(&mut out, f.name, f.help, if matches!(f.kind, Kind::Counter) { "counter" } else { "gauge" });
        for (id, v) in samples {
            let _ = writeln!(out, "{}{{id=\"{}\"}} {}", f.name, label(id), v);
        }
    }
    for (name, help, field) in NET_FAMILIES {
        if containers.iter().all(|c| c.net.is_empty()) {
            break;
        }
        header(&mut out, name, help, "counter");
        for c in containers {
            for i in c.net {
                let _ = writeln!(out, "{name}{{id=\"{}\",interface=\"{}\"}} {}", label(c.id), label(&i.name), field(i));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_labels_and_skips_families_without_values() {
        let s = CgroupStats::default();
        let net = [InterfaceStats {
            name: "e\"th\\0\n".into(),
            rx_bytes: 5,
            rx_packets: 1,
            rx_errors: 0,
            rx_dropped: 0,
            tx_bytes: 7,
            tx_packets: 2,
            tx_errors: 0,
            tx_dropped: 0,
        }];
        let text = prometheus(&[ContainerMetrics { id: "a\"b", stats: &s, net: &net }]);
        assert!(!text.contains("cpu_usage"), "no cgroup figures, no cgroup families: {text}");
        assert!(
            text.contains(
                "cocoon_container_network_receive_bytes_total{id=\"a\\\"b\",interface=\"e\\\"th\\\\0\\n\"} 5\n"
            ),
            "{text}"
        );
        assert_eq!(text.matches("# TYPE ").count(), NET_FAMILIES.len());
        assert_eq!(prometheus(&[]), "");
    }
}
