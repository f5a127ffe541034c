"""Bridge networking through the Python bindings. Each test runs its containers from a
thread that unshared a network namespace of its own (the test's "host" side), so the
machine's interfaces are never touched."""

import ctypes
import os
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

    in_netns(body)


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
