"""Container.net_stats(), the memory limit, cpu_percent and cocoon.prometheus() — the text
checked with prometheus_client's parser (the reference reader of the format)."""

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

import cocoon
from test_cocoon import needs_root

PING = "busybox ip link set lo up && busybox ping -c 3 -s 400 127.0.0.1 >/dev/null; echo up; exec sleep 30"


@needs_root
def test_net_stats_memory_limit_and_prometheus():
    with cocoon.Container(["sh", "-c", PING], namespaces=cocoon.Namespace.MOUNT | cocoon.Namespace.PID | cocoon.Namespace.NET,
                          memory_max=40 << 20, stdout=cocoon.PIPE) as c, \
            cocoon.Container(["sleep", "30"], namespaces=cocoon.Namespace.MOUNT | cocoon.Namespace.PID,
                             cgroup=cocoon.Cgroup(cpu_quota=(20_000, 100_000))) as idle:
        assert c.stdout.readline() == b"up\n"
        net = c.net_stats()
        assert [i.name for i in net] == ["lo"]
        assert net[0].rx_packets >= 6 and net[0].rx_bytes >= 6 * 400 and net[0].tx_bytes == net[0].rx_bytes
        assert idle.net_stats() == []
        assert c.stats().memory.limit == 40 << 20
        assert idle.stats().memory.limit is None
        text = cocoon.prometheus([c, idle])
        families = {f.name: f for f in text_string_to_metric_families(text)}
        # prometheus_client drops the _total suffix of counters from the family name.
        cpu = families["cocoon_container_cpu_usage_seconds"]
        assert cpu.type == "counter" and {s.labels["id"] for s in cpu.samples} == {c.id, idle.id}
        limit = families["cocoon_container_memory_limit_bytes"]
        assert [(s.labels, s.value) for s in limit.samples] == [({"id": c.id}, float(40 << 20))]
        rx = families["cocoon_container_network_receive_bytes"]
        assert [(s.labels, s.value) for s in rx.samples] == [({"id": c.id, "interface": "lo"}, float(net[0].rx_bytes))]
        assert cocoon.prometheus([]) == ""


@needs_root
def test_cpu_percent_under_a_quota():
    with cocoon.Container(["sh", "-c", "while :; do :; done"],
                          cgroup=cocoon.Cgroup(cpu_quota=(20_000, 100_000))) as c:
        t0, a = time.monotonic(), c.stats().cpu
        time.sleep(1.0)
        b = c.stats().cpu
        pct = cocoon.cpu_percent(a, b, time.monotonic() - t0)
        assert 0 < pct <= 30, pct
        assert cocoon.cpu_percent(b, a, 1.0) == 0.0
        assert cocoon.cpu_percent(a, b, 0) == 0.0
    with pytest.raises(RuntimeError):
        cocoon.prometheus([cocoon.Container(["true"])])
