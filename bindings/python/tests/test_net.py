"""Bridge networking through the Python bindings. Each test runs its containers from a
thread that unshared a network namespace of its own (the test's "host" side), so the
machine's interfaces are never touched."""

import ctypes
import os
import shutil
import tempfile
import threading

import pytest

import cocoon

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="bridge networking needs root")


def in_netns(fn):
    """Runs fn() on a thread in a new network namespace; re-raises what it raised."""
    result = {}

    def body():
        try:
            if _libc.unshare(CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")
            result["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            result["error"] = e

    t = threading.Thread(target=body)
    t.start()
    t.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


def test_bridge_address_route_and_lease_cleanup():
    state = tempfile.mkdtemp(prefix="cocoon-py-net-")

    def body():
        os.environ["COCOON_NET_STATE_DIR"] = "/nonexistent/overridden/by/state_dir"
        try:
            net = cocoon.Bridge(name="cbr-py", subnet="10.93.0.0/24", address="10.93.0.5", mtu=1400,
                                gateway="10.93.0.254", mac="02:00:00:00:56:78", state_dir=state)
            c = cocoon.Container(["/bin/sh", "-c", "busybox ip -4 -o addr show eth0; busybox ip route; "
                                  "busybox ip link show eth0"],
                                 network=net, stdout=cocoon.PIPE)
            with c.spawn():
                info = c.network
                assert info is not None and info.address == "10.93.0.5/24"
                assert info.host_interface.startswith("coc")
                # The same static address while it lives: refused before any clone.
                with pytest.raises(cocoon.AddressInUse) as e:
                    cocoon.Container(["/bin/true"], network=net).spawn()
                assert e.value.code == cocoon.ErrorCode.ADDRESS_IN_USE
                out = c.stdout.read().decode()
                assert c.wait().success
            assert "10.93.0.5/24" in out, out
            assert "default via 10.93.0.254 dev eth0" in out, out
            assert "mtu 1400" in out, out
            assert "02:00:00:00:56:78" in out, out
            assert [f for f in os.listdir(os.path.join(state, "cbr-py")) if f != ".lock"] == []
            assert cocoon.net_sweep_stale(state) == 0
            # No bridge network: no network info.
            with cocoon.Container(["/bin/true"]).spawn() as plain:
                assert plain.network is None
        finally:
            del os.environ["COCOON_NET_STATE_DIR"]

    try:
        in_netns(body)
    finally:
        shutil.rmtree(state, ignore_errors=True)


def test_bad_network_values_are_invalid_config():
    for net in [cocoon.Bridge(name="cbr-py", subnet="10.93.0.0/24", address="10.94.0.5"),
                cocoon.Bridge(name="a-name-over-15-b", subnet="10.93.0.0/24"),
                cocoon.Bridge(name="cbr-py", subnet="10.93.0.0"),
                cocoon.Bridge(name="cbr-py", subnet="10.93.0.0/24", mtu=10),
                cocoon.Bridge(name="cbr-py", subnet="10.93.0.0/24", gateway="10.9.0.1"),
                cocoon.Bridge(name="cbr-py", subnet="10.93.0.0/24", mac="01:00:00:00:00:01"),
                cocoon.Bridge(name="cbr-py", subnet="10.93.0.0/24", state_dir="relative")]:
        with pytest.raises(cocoon.InvalidConfig):
            cocoon.Container(["/bin/true"], network=net)
    with pytest.raises(TypeError):
        cocoon.Container(["/bin/true"], network="bridge")
    with pytest.raises(ValueError):
        cocoon.Container(["/bin/true"], network=cocoon.Bridge(name="cbr-py", subnet="10.93.0.0/24", mac="zz"))
    # A bridge without a new network namespace: refused at spawn, before any clone.
    c = cocoon.Container(["/bin/true"], network=cocoon.Bridge(name="cbr-py", subnet="10.93.0.0/24"),
                         namespaces=cocoon.Namespace.DEFAULT & ~cocoon.Namespace.NET)
    with pytest.raises(cocoon.InvalidConfig):
        c.spawn()


def _nft_rules():
    """cocoon's rules in the calling thread's namespace (`nft` only observes)."""
    import subprocess
    out = subprocess.run(["nft", "list", "table", "ip", "cocoon"], capture_output=True, text=True).stdout
    return [line.strip() for line in out.splitlines() if 'comment "cocoon ' in line]


def test_published_port_nat_and_port_in_use():
    import socket
    import time
    state = tempfile.mkdtemp(prefix="cocoon-py-nat-")

    def get(addr, port):
        # The listener in the container may not be up yet: retry.
        for _ in range(50):
            try:
                with socket.create_connection((addr, port), timeout=3) as s:
                    return s.makefile().read()
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"{addr}:{port} never answered")

    def body():
        net = cocoon.Bridge(name="cbr-pynat", subnet="10.97.0.0/24", state_dir=state, nat=True,
                            ports=["8080:80", "5353:53/udp"])
        c = cocoon.Container(["/bin/sh", "-c", "echo pong-py | busybox nc -l -p 80"], network=net)
        with c.spawn():
            rules = _nft_rules()
            # masquerade, and DNAT in prerouting and output for each port
            assert len(rules) == 5, rules
            other = cocoon.Bridge(name="cbr-pynat", subnet="10.97.0.0/24", state_dir=state, ports=["8080:9090"])
            with pytest.raises(cocoon.PortInUse) as e:
                cocoon.Container(["/bin/true"], network=other).spawn()
            assert e.value.code == cocoon.ErrorCode.PORT_IN_USE
            assert "8080/tcp" in str(e.value)
            # Reached from the host side through the bridge's (local) address.
            assert get("10.97.0.1", 8080).strip() == "pong-py"
            assert c.wait().success
        assert _nft_rules() == []
        assert [f for f in os.listdir(os.path.join(state, "cbr-pynat")) if f != ".lock"] == []

    try:
        in_netns(body)
    finally:
        shutil.rmtree(state, ignore_errors=True)


def test_bad_published_ports_are_typed_errors():
    for ports in [["0:80"], ["65536:80"], ["80:80/sctp"], ["80"], ["80:80", "80:81"]]:
        with pytest.raises(cocoon.InvalidConfig):
            cocoon.Container(["/bin/true"], network=cocoon.Bridge(name="cbr-py", subnet="10.93.0.0/24", ports=ports))
    with pytest.raises(cocoon.UnsupportedError):
        cocoon.Container(["/bin/true"],
                         network=cocoon.Bridge(name="cbr-py", subnet="10.93.0.0/24", ports=["127.0.0.1:80:80"]))
    with pytest.raises(TypeError):
        cocoon.Container(["/bin/true"], network=cocoon.Bridge(name="cbr-py", subnet="10.93.0.0/24", ports="80:80"))


def test_firewall_allows_denies_and_cannot_be_flushed_inside():
    state = tempfile.mkdtemp(prefix="cocoon-py-fw-")
    script = ("busybox ping -c1 -W2 10.98.0.1 >/dev/null && echo gw-ok || echo gw-blocked; "
              "nft flush ruleset 2>/dev/null && echo flushed || echo flush-refused; "
              "busybox ping -c1 -W2 10.98.0.1 >/dev/null && echo gw-ok || echo gw-blocked")

    def body():
        base = dict(name="cbr-pyfw", subnet="10.98.0.0/24", state_dir=state)
        for net, want in [(cocoon.Bridge(**base, egress_default="drop", allow=["out:10.98.0.1"]), "gw-ok"),
                          (cocoon.Bridge(**base, deny=["out:10.98.0.1/32"]), "gw-blocked")]:
            c = cocoon.Container(["/bin/sh", "-c", script], network=net, stdout=cocoon.PIPE)
            with c.spawn():
                out = c.stdout.read().decode()
                assert c.wait().success
            assert out == f"{want}\nflush-refused\n{want}\n", out

    try:
        in_netns(body)
    finally:
        shutil.rmtree(state, ignore_errors=True)


def test_bad_firewall_rules_are_typed_errors():
    base = dict(name="cbr-py", subnet="10.93.0.0/24")
    for kw in [dict(allow=["10.0.0.0/33"]), dict(deny=["in:*:0"]), dict(allow=["10.0.0.1:80/icmp"])]:
        with pytest.raises(cocoon.InvalidConfig):
            cocoon.Container(["/bin/true"], network=cocoon.Bridge(**base, **kw))
    with pytest.raises(ValueError):
        cocoon.Container(["/bin/true"], network=cocoon.Bridge(**base, egress_default="reject"))
    with pytest.raises(TypeError):
        cocoon.Container(["/bin/true"], network=cocoon.Bridge(**base, allow="10.0.0.1"))


def test_rate_limits_make_tbf_qdiscs_and_bad_rates_are_typed():
    import subprocess
    state = tempfile.mkdtemp(prefix="cocoon-py-rate-")

    def body():
        net = cocoon.Bridge(name="cbr-pyrate", subnet="10.99.0.0/24", state_dir=state,
                            egress_rate="5mbit", ingress_rate="20mbit", ingress_burst=65536)
        c = cocoon.Container(["/bin/sh", "-c", "tc qdisc show dev eth0; cat >/dev/null"], network=net,
                             stdout=cocoon.PIPE, stdin=cocoon.PIPE)
        with c.spawn():
            line = c.stdout.readline().decode()
            assert "tbf c0c0: root" in line and "rate 5Mbit" in line, line
            host = subprocess.run(["tc", "qdisc", "show", "dev", c.network.host_interface],
                                  capture_output=True, text=True).stdout
            assert "tbf c0c0: root" in host and "rate 20Mbit" in host and "burst 64Kb" in host, host
            c.stdin.close()
            assert c.wait().success

    try:
        in_netns(body)
    finally:
        shutil.rmtree(state, ignore_errors=True)
    base = dict(name="cbr-py", subnet="10.93.0.0/24")
    for kw in [dict(egress_rate="0"), dict(ingress_rate="10parsecs"), dict(egress_rate="1M", egress_burst=10)]:
        with pytest.raises(cocoon.InvalidConfig):
            cocoon.Container(["/bin/true"], network=cocoon.Bridge(**base, **kw))
