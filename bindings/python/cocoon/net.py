"""Container networking (Rust: `cocoon::net`, `ContainerBuilder::network`)."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from ._lib import lib
from ._util import StrPath, _b
from .errors import _check

__all__ = ["Bridge", "NetworkInfo", "net_sweep_stale"]


@dataclass(frozen=True)
class Bridge:
    """Bridge networking (`network=Bridge(...)`; the default, None, is loopback only).

    A veth pair: the host end on the bridge `name` (created, up, with the gateway address
    network+1, if missing; cocoon never deletes a bridge), the container end `eth0` with an
    address of `subnet` ("10.88.0.0/16") and a default route via the gateway.

    address: a static IPv4 address (default: the first free one of the subnet). Addresses
        are leased across processes under $COCOON_NET_STATE_DIR (default /run/cocoon/net);
        a static one leased by a live container raises AddressInUse at spawn.
    mtu: the MTU of both ends (68..65535).
    gateway: the bridge's address and the default route (default: network+1).
    mac: the MAC address of eth0, "02:00:00:00:12:34" (unicast).
    state_dir: where leases are kept (default $COCOON_NET_STATE_DIR or /run/cocoon/net).
    nat: masquerade the container's traffic leaving the subnet (rules in cocoon's own
        nftables table "ip cocoon"; turns on net.ipv4.ip_forward in the host namespace).
    ports: published host ports, "HOST:CONTAINER", "HOST:CONTAINER/udp" or
        "ADDR:HOST:CONTAINER/tcp" (DNAT to the container; not on loopback addresses). A
        port another live container publishes raises PortInUse at spawn.
    allow, deny: firewall rules made inside the container's network namespace before the
        program starts (an nftables table "inet cocoon" that root inside cannot change
        without CAP_NET_ADMIN): "[out:|in:]MATCH", MATCH one of "ADDR[/PREFIX]",
        "ADDR[/PREFIX]:PORT[/tcp|udp]", "*:PORT[/PROTO]", "tcp", "udp" (out, egress, by
        default). The deny rules are checked first, then the allow rules, in order.
    egress_default, ingress_default: "accept" (the default) or "drop" for packets no rule
        matches. Loopback and packets of accepted connections always pass.
    egress_rate, ingress_rate: bandwidth limits of what the container sends / receives,
        tc rates like "10mbit", "1M", "500kbps" (a tbf qdisc on its eth0 / on the host
        end of its veth); egress_burst, ingress_burst: the bucket in bytes (default 20 ms
        at the rate, at least 64 KiB; at least 2048). A rate of 0 raises InvalidConfig.

    Needs Namespace.NET (in the default namespaces). Bad values raise InvalidConfig when
    the Container is built.
    """

    name: str
    subnet: str
    address: Optional[str] = None
    mtu: Optional[int] = None
    gateway: Optional[str] = None
    mac: Optional[str] = None
    state_dir: Optional[StrPath] = None
    nat: bool = False
    ports: Sequence[str] = ()
    allow: Sequence[str] = ()
    deny: Sequence[str] = ()
    egress_default: str = "accept"
    ingress_default: str = "accept"
    egress_rate: Optional[str] = None
    ingress_rate: Optional[str] = None
    egress_burst: int = 0
    ingress_burst: int = 0


@dataclass(frozen=True)
class NetworkInfo:
    """A running container's bridge network: its eth0 address ("10.88.0.2/16") and the
    host end of its veth pair."""

    address: str
    host_interface: str


def _apply_network(h: Any, network: Optional[Bridge]) -> None:
    if network is None:
        return
    if not isinstance(network, Bridge):
        raise TypeError(f"network= takes None or cocoon.Bridge(...), not {type(network).__name__}")
    _check(lib.cocoon_builder_set_network_bridge(
        h, network.name.encode(), network.subnet.encode(),
        None if network.address is None else network.address.encode()))
    if network.mtu is not None:
        _check(lib.cocoon_builder_set_network_mtu(h, network.mtu))
    if network.gateway is not None:
        _check(lib.cocoon_builder_set_network_gateway(h, network.gateway.encode()))
    if network.mac is not None:
        try:
            raw = bytes(int(x, 16) for x in network.mac.split(":"))
        except ValueError:
            raw = b""
        if len(raw) != 6:
            raise ValueError(f"mac={network.mac!r} is not six hex bytes like 02:00:00:00:12:34")
        _check(lib.cocoon_builder_set_network_mac(h, raw))
    if network.state_dir is not None:
        _check(lib.cocoon_builder_set_network_state_dir(h, _b(network.state_dir)))
    if network.nat:
        _check(lib.cocoon_builder_set_network_nat(h, 1))
    if isinstance(network.ports, str):
        raise TypeError("ports= takes a list of mappings like [\"8080:80\"], not one string")
    for p in network.ports:
        _check(lib.cocoon_builder_add_published_port(h, p.encode()))
    actions = {"accept": 0, "drop": 1}
    for direction, default in ((0, network.egress_default), (1, network.ingress_default)):
        if default not in actions:
            raise ValueError(f"firewall default {default!r} is neither 'accept' nor 'drop'")
        if default != "accept":
            _check(lib.cocoon_builder_set_network_firewall_default(h, direction, actions[default]))
    for action, rules in ((1, network.deny), (0, network.allow)):
        if isinstance(rules, str):
            raise TypeError("allow=/deny= take a list of rules like [\"out:10.0.0.1:443\"], not one string")
        for r in rules:
            _check(lib.cocoon_builder_add_firewall_rule(h, action, r.encode()))
    for direction, rate, burst in ((0, network.egress_rate, network.egress_burst),
                                   (1, network.ingress_rate, network.ingress_burst)):
        if rate is not None:
            if not 0 <= burst <= 0xFFFFFFFF:
                raise ValueError(f"burst {burst} is outside 0..4294967295")
            _check(lib.cocoon_builder_set_network_rate(h, direction, str(rate).encode(), burst))


def net_sweep_stale(state_dir: Optional[StrPath] = None) -> int:
    """Removes the address leases whose containers are gone (and the host veths they name
    in this thread's network namespace, and the NAT rules of gone containers in its
    nftables table "ip cocoon"); returns how many leases went."""
    n = ctypes.c_size_t()
    _check(lib.cocoon_net_sweep_stale(None if state_dir is None else _b(state_dir), ctypes.byref(n)))
    return n.value
