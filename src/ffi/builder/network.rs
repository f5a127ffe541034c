//! The container's network: loopback only (the default) or a veth pair on a bridge.
//! A bridge setting is checked on its own when it is made (`COCOON_E_INVALID_CONFIG`,
//! builder unchanged); that it needs `COCOON_NS_NET` is checked at validate/spawn.

use std::ffi::{c_char, c_int};
use std::net::Ipv4Addr;

use super::{absolute, cocoon_builder, with_builder};
use crate::ffi::{cstr_arg, utf8_arg, Fail};
use crate::net::{Action, BridgeNetwork, Ipv4Subnet, Network, PublishedPort};

/// Loopback only (the default): the container's network namespace has no other interface.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_network_none(builder: *mut cocoon_builder) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(builder, |b| {
            b.set_network(Network::None);
        })
    }
}

/// Bridge networking: a veth pair whose host end is on the bridge `bridge` (created, up,
/// with the gateway address `network + 1`, if missing; never deleted by cocoon) and whose
/// container end is `eth0` with an address of `subnet` (`"10.88.0.0/16"`) and a default
/// route via the gateway. `address` (NULL: allocated) is a static IPv4 address. Addresses
/// are leased across processes under `$COCOON_NET_STATE_DIR` (default `/run/cocoon/net`);
/// a static address leased by a live container fails the spawn with
/// `COCOON_E_ADDRESS_IN_USE`, a failing network step with `COCOON_E_SETUP` at
/// `COCOON_STAGE_NETWORK`. Needs `COCOON_NS_NET`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_network_bridge(
    builder: *mut cocoon_builder,
    bridge: *const c_char,
    subnet: *const c_char,
    address: *const c_char,
) -> c_int {
    // SAFETY: forwarded contract; the strings are NUL-terminated (address may be NULL).
    unsafe {
        with_builder(builder, |b| -> Result<(), Fail> {
            let name = utf8_arg(cstr_arg(bridge, "bridge")?, "bridge")?;
            let subnet: Ipv4Subnet = utf8_arg(cstr_arg(subnet, "subnet")?, "subnet")?.parse()?;
            let mut net = BridgeNetwork::new(name, subnet);
            if !address.is_null() {
                let text = utf8_arg(cstr_arg(address, "address")?, "address")?;
                let a: Ipv4Addr = text.parse().map_err(|_| {
                    crate::Error::InvalidConfig { what: "address", reason: format!("{text:?} is not an IPv4 address") }
                })?;
                net = net.address(a);
            }
            net.validate()?;
            b.set_network(Network::Bridge(net));
            Ok(())
        })
    }
}

/// Applies `f` to a copy of the builder's bridge network (`what` names the setting in
/// the error when there is none yet), checks the copy and stores it only if that succeeds.
///
/// # Safety
/// As [`with_builder`].
unsafe fn with_bridge(
    b: *mut cocoon_builder,
    what: &'static str,
    f: impl FnOnce(BridgeNetwork) -> Result<BridgeNetwork, Fail>,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_builder(b, |b| -> Result<(), Fail> {
            let Network::Bridge(net) = b.get_network() else {
                return Err(crate::Error::InvalidConfig { what, reason: "set a bridge network first".into() }.into());
            };
            let net = f(net.clone())?;
            net.validate()?;
            b.set_network(Network::Bridge(net));
            Ok(())
        })
    }
}

/// The MTU of both ends of the bridge network's veth pair (68..=65535). This and the
/// other `cocoon_builder_set_network_*` settings need a bridge network set first
/// (`COCOON_E_INVALID_CONFIG` otherwise; on any failure the builder is unchanged).
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_network_mtu(builder: *mut cocoon_builder, mtu: u32) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_bridge(builder, "mtu", |n| Ok(n.mtu(mtu))) }
}

/// The gateway of the bridge network (the bridge's address and the container's default
/// route; default: the subnet's first host address), an IPv4 address in the subnet.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_network_gateway(builder: *mut cocoon_builder, gateway: *const c_char) -> c_int {
    // SAFETY: forwarded contract; `gateway` is NUL-terminated.
    unsafe {
        with_bridge(builder, "gateway", |n| {
            let text = utf8_arg(cstr_arg(gateway, "gateway")?, "gateway")?;
            let a: Ipv4Addr = text.parse().map_err(|_| {
                crate::Error::InvalidConfig { what: "gateway", reason: format!("{text:?} is not an IPv4 address") }
            })?;
            Ok(n.gateway(a))
        })
    }
}

/// The MAC address of the container's `eth0`: 6 bytes at `mac`, unicast.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_network_mac(builder: *mut cocoon_builder, mac: *const u8) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_bridge(builder, "mac", |n| {
            crate::ffi::nonnull(mac, "mac")?;
            let mut m = [0u8; 6];
            // SAFETY: non-NULL; the caller passes 6 readable bytes.
            m.copy_from_slice(std::slice::from_raw_parts(mac, 6));
            Ok(n.mac(m))
        })
    }
}

/// Where the bridge network's address leases are kept (an absolute directory; default
/// `$COCOON_NET_STATE_DIR`, else `/run/cocoon/net`). Every process sharing a bridge must
/// use the same one.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_network_state_dir(builder: *mut cocoon_builder, dir: *const c_char) -> c_int {
    // SAFETY: forwarded contract; `dir` is NUL-terminated.
    unsafe { with_bridge(builder, "network state dir", |n| Ok(n.state_dir(absolute("network state dir", cstr_arg(dir, "dir")?)?))) }
}

/// Masquerade (`nat` non-zero) for the bridge network's traffic leaving its subnet, in
/// cocoon's own nftables table `ip cocoon` of the host's network namespace; turns on
/// `net.ipv4.ip_forward` there. The rules go with the container.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_network_nat(builder: *mut cocoon_builder, nat: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_bridge(builder, "nat", |n| Ok(n.nat(nat != 0))) }
}

/// Publishes a host port of the bridge network: `spec` is `"HOST:CONTAINER"`,
/// `"HOST:CONTAINER/udp"` or `"ADDR:HOST:CONTAINER/tcp"` (ports 1..=65535; default tcp;
/// ADDR an IPv4 address of the host, not a loopback one: `COCOON_E_UNSUPPORTED`).
/// Connections to the host port (from other hosts and from the host itself) are
/// forwarded to the container's address (DNAT in the table `ip cocoon`). A port another
/// live container publishes fails the spawn with `COCOON_E_PORT_IN_USE`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_add_published_port(builder: *mut cocoon_builder, spec: *const c_char) -> c_int {
    // SAFETY: forwarded contract; `spec` is NUL-terminated.
    unsafe {
        with_bridge(builder, "publish", |n| {
            let p: PublishedPort = utf8_arg(cstr_arg(spec, "spec")?, "spec")?.parse()?;
            Ok(n.publish(p))
        })
    }
}

/// Direction (of a firewall default or a rate limit): packets leaving the container.
pub const COCOON_FW_EGRESS: c_int = 0;
/// Direction (of a firewall default or a rate limit): packets coming into the container.
pub const COCOON_FW_INGRESS: c_int = 1;
/// Firewall action: let the packets through.
pub const COCOON_FW_ACCEPT: c_int = 0;
/// Firewall action: drop the packets silently.
pub const COCOON_FW_DROP: c_int = 1;

fn fw_action(a: c_int) -> Result<Action, Fail> {
    match a {
        COCOON_FW_ACCEPT => Ok(Action::Accept),
        COCOON_FW_DROP => Ok(Action::Drop),
        _ => Err(Fail::arg(format!("action {a} is neither COCOON_FW_ACCEPT nor COCOON_FW_DROP"))),
    }
}

/// What the bridge network's firewall does with packets of `direction`
/// (`COCOON_FW_EGRESS`, `COCOON_FW_INGRESS`) that no rule matches: `action`
/// (`COCOON_FW_ACCEPT`, the default, or `COCOON_FW_DROP`). The firewall is an nftables
/// table `inet cocoon` made inside the container's network namespace before the program
/// starts; loopback and packets of accepted connections always pass; without
/// CAP_NET_ADMIN (not in the default capabilities) the program cannot change it.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_network_firewall_default(
    builder: *mut cocoon_builder,
    direction: c_int,
    action: c_int,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_bridge(builder, "firewall", |n| {
            let a = fw_action(action)?;
            let fw = n.get_firewall().clone();
            let fw = match direction {
                COCOON_FW_EGRESS => fw.egress_default(a),
                COCOON_FW_INGRESS => fw.ingress_default(a),
                _ => return Err(Fail::arg(format!("direction {direction} is neither COCOON_FW_EGRESS nor COCOON_FW_INGRESS"))),
            };
            Ok(n.firewall(fw))
        })
    }
}

/// Appends a firewall rule (checked in the order added; the first match decides):
/// `action` (`COCOON_FW_ACCEPT`/`COCOON_FW_DROP`) for packets matching `spec`,
/// `"[out:|in:]MATCH"` (out, egress, by default) where MATCH is `ADDR[/PREFIX]`,
/// `ADDR[/PREFIX]:PORT[/tcp|/udp]`, `*:PORT[/PROTO]` or `tcp`/`udp` (egress matches the
/// destination, ingress the source address; the port is the destination port). A MATCH
/// of `*` alone sets the direction's default instead.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_add_firewall_rule(builder: *mut cocoon_builder, action: c_int, spec: *const c_char) -> c_int {
    // SAFETY: forwarded contract; `spec` is NUL-terminated.
    unsafe {
        with_bridge(builder, "firewall", |n| {
            let a = fw_action(action)?;
            let text = utf8_arg(cstr_arg(spec, "spec")?, "spec")?;
            let fw = n.get_firewall().clone().add_spec(a, text)?;
            Ok(n.firewall(fw))
        })
    }
}


/// Limits the bridge network's traffic in `direction` (`COCOON_FW_EGRESS`: what the
/// container sends, shaped on its `eth0` inside its namespace; `COCOON_FW_INGRESS`: what
/// it receives, shaped on the host end of its veth) to `rate` (`"10mbit"`, `"1M"`,
/// `"500kbps"`: tc units; 0 is `COCOON_E_INVALID_CONFIG`) with a burst of `burst` bytes
/// (0: the default, 20 ms at the rate and at least 64 KiB; otherwise at least 2048). A tc
/// `tbf` qdisc made through netlink before the program starts.
#[no_mangle]
pub unsafe extern "C" fn cocoon_builder_set_network_rate(
    builder: *mut cocoon_builder,
    direction: c_int,
    rate: *const c_char,
    burst: u32,
) -> c_int {
    // SAFETY: forwarded contract; `rate` is NUL-terminated.
    unsafe {
        with_bridge(builder, "rate", |n| {
            let r: crate::net::Rate = utf8_arg(cstr_arg(rate, "rate")?, "rate")?.parse()?;
            let mut l = crate::net::RateLimit::new(r);
            if burst != 0 {
                l = l.burst(burst);
            }
            match direction {
                COCOON_FW_EGRESS => Ok(n.egress_limit(l)),
                COCOON_FW_INGRESS => Ok(n.ingress_limit(l)),
                _ => Err(Fail::arg(format!("direction {direction} is neither COCOON_FW_EGRESS nor COCOON_FW_INGRESS"))),
            }
        })
    }
}
