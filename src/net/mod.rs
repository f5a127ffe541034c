//! Container networking: the typed configuration ([`Network`]) and, for
//! [`Network::Bridge`], the parent-side setup between the child's READY and GO.
//!
//! This file holds the description and its checks; `attach.rs` creates a container's
//! veth pair, address and route (and undoes them); `lease.rs` is the cross-process
//! address allocator; `netlink.rs` the synchronous rtnetlink socket they use;
//! `port.rs` the published-port type, `nat.rs` the NAT rules made for a container and
//! `firewall.rs` the container's own filter rules (inside its namespace) and `nft.rs`
//! the nftables messages they are all made of.

mod attach;
mod bandwidth;
mod firewall;
pub(crate) mod lease;
mod nat;
mod netlink;
mod nft;
mod port;

use std::fmt;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::str::FromStr;

use crate::error::{Error, Result};

pub(crate) use attach::{attach, precheck, sweep_once, Attachment, NetPlan};
pub use attach::{sweep_stale, NetworkInfo};
pub use lease::{DEFAULT_STATE_DIR, STATE_DIR_ENV};
pub use bandwidth::{Rate, RateLimit, MIN_BURST};
pub use firewall::{Action, Direction, Firewall, FirewallMatch, FIREWALL_TABLE};
pub use nat::NAT_TABLE;
pub use port::{Protocol, PublishedPort};

/// The longest interface name the kernel takes (`IFNAMSIZ` − 1).
pub const MAX_IFNAME_LEN: usize = 15;
/// The prefix of the host ends of cocoon's veth pairs (`coc<pid>.<n>`, hex).
pub const HOST_VETH_PREFIX: &str = "coc";
/// The name of the container's end of its veth pair.
pub const CONTAINER_IFNAME: &str = "eth0";

/// A container's network. The container's network namespace always has loopback up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Network {
    /// Loopback only (the default): the container's namespace has no other interface.
    #[default]
    None,
    /// A veth pair: the host end on a bridge (created if missing), the container end
    /// `eth0` with an address from the bridge's subnet and a default route via the
    /// gateway. Needs [`crate::Namespaces::NET`].
    Bridge(BridgeNetwork),
}

/// An IPv4 subnet: a network address and a prefix length (`10.88.0.0/16`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Subnet {
    addr: Ipv4Addr,
    prefix: u8,
}

impl Ipv4Subnet {
    /// `addr/prefix`; checked when the builder is validated.
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Ipv4Subnet {
        Ipv4Subnet { addr, prefix }
    }

    /// The network address.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix.min(32)))
        }
    }

    /// Whether `a` lies in the subnet.
    pub fn contains(&self, a: Ipv4Addr) -> bool {
        u32::from(a) & self.mask() == u32::from(self.addr) & self.mask()
    }

    /// The broadcast address.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }

    /// The first host address (`network + 1`), the default gateway.
    pub fn first_host(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) + 1)
    }

    /// Every host address (network and broadcast excluded), in order.
    #[cfg(test)]
    pub(crate) fn hosts(&self) -> impl Iterator<Item = Ipv4Addr> + Clone {
        self.hosts_after(None)
    }

    /// Every host address, starting after `after` (when it is one) and wrapping around.
    pub(crate) fn hosts_after(&self, after: Option<Ipv4Addr>) -> impl Iterator<Item = Ipv4Addr> + Clone {
        let net = u32::from(self.addr);
        let bcast = u32::from(self.broadcast());
        let start = after.map(u32::from).filter(|a| (net + 1..bcast).contains(a)).map_or(net + 1, |a| a + 1);
        (start..bcast).chain(net + 1..start).map(Ipv4Addr::from)
    }
}

impl fmt::Display for Ipv4Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Ipv4Subnet {
    type Err = Error;

    /// Parses `a.b.c.d/n`.
    fn from_str(s: &str) -> Result<Ipv4Subnet> {
        let bad = || Error::invalid("subnet", format!("{s:?} is not an IPv4 subnet like 10.88.0.0/16"));
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        Ok(Ipv4Subnet { addr: a.parse().map_err(|_| bad())?, prefix: p.parse().map_err(|_| bad())? })
    }
}

/// Bridge networking for one container (see [`Network::Bridge`]).
///
/// ```
/// use cocoon::net::{BridgeNetwork, Network};
/// let net = Network::Bridge(BridgeNetwork::new("cocoon0", "10.88.0.0/16".parse()?).mtu(1400));
/// # Ok::<(), cocoon::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeNetwork {
    pub(crate) bridge: String,
    pub(crate) subnet: Ipv4Subnet,
    pub(crate) gateway: Option<Ipv4Addr>,
    pub(crate) address: Option<Ipv4Addr>,
    pub(crate) mtu: Option<u32>,
    pub(crate) mac: Option<[u8; 6]>,
    pub(crate) state_dir: Option<PathBuf>,
    pub(crate) nat: bool,
    pub(crate) ports: Vec<PublishedPort>,
    pub(crate) firewall: Firewall,
    pub(crate) egress: Option<RateLimit>,
    pub(crate) ingress: Option<RateLimit>,
}

impl BridgeNetwork {
    /// The bridge `bridge` (created, with the gateway address, if missing; cocoon never
    /// deletes a bridge) and its subnet; the address is allocated from the subnet.
    pub fn new(bridge: impl Into<String>, subnet: Ipv4Subnet) -> BridgeNetwork {
        BridgeNetwork {
            bridge: bridge.into(),
            subnet,
            gateway: None,
            address: None,
            mtu: None,
            mac: None,
            state_dir: None,
            nat: false,
            ports: Vec::new(),
            firewall: Firewall::new(),
            egress: None,
            ingress: None,
        }
    }

    /// Masquerade (source NAT to the host's outgoing address) for the container's
    /// traffic leaving the bridge's subnet, so it reaches networks beyond the host.
    /// Turns on `net.ipv4.ip_forward` in the host's network namespace. Rules go in
    /// cocoon's own nftables table [`NAT_TABLE`] and are deleted with the container.
    pub fn nat(mut self, on: bool) -> Self {
        self.nat = on;
        self
    }

    /// Forwards a host port to the container (DNAT in [`NAT_TABLE`], from other hosts
    /// and from the host itself, not from its loopback addresses). Turns on
    /// `net.ipv4.ip_forward`. A port another live container publishes fails the spawn
    /// with [`Error::PortInUse`].
    pub fn publish(mut self, port: PublishedPort) -> Self {
        self.ports.push(port);
        self
    }

    /// The container's firewall: nftables rules (table `inet cocoon`) made inside its
    /// network namespace before the program starts, out of reach of a program without
    /// CAP_NET_ADMIN (root inside included, with the default capabilities).
    pub fn firewall(mut self, fw: Firewall) -> Self {
        self.firewall = fw;
        self
    }

    /// Limits the container's egress (what it sends): a tbf qdisc on its `eth0`, made
    /// inside its namespace before the program starts.
    pub fn egress_limit(mut self, l: RateLimit) -> Self {
        self.egress = Some(l);
        self
    }

    /// Limits the container's ingress (what it receives): a tbf qdisc on the host end of
    /// its veth pair.
    pub fn ingress_limit(mut self, l: RateLimit) -> Self {
        self.ingress = Some(l);
        self
    }

    /// The egress and ingress limits.
    pub fn limits(&self) -> (Option<RateLimit>, Option<RateLimit>) {
        (self.egress, self.ingress)
    }

    /// The firewall.
    pub fn get_firewall(&self) -> &Firewall {
        &self.firewall
    }

    /// Whether masquerade is on.
    pub fn nat_enabled(&self) -> bool {
        self.nat
    }

    /// The published ports.
    pub fn published_ports(&self) -> &[PublishedPort] {
        &self.ports
    }

    /// The gateway (the bridge's address, the container's default route). Default:
    /// the subnet's first host address.
    pub fn gateway(mut self, gw: Ipv4Addr) -> Self {
        self.gateway = Some(gw);
        self
    }

    /// A static address instead of one from the allocator (still leased: two live
    /// containers never share one).
    pub fn address(mut self, addr: Ipv4Addr) -> Self {
        self.address = Some(addr);
        self
    }

    /// The MTU of both ends of the veth pair (68–65535).
    pub fn mtu(mut self, mtu: u32) -> Self {
        self.mtu = Some(mtu);
        self
    }

    /// The MAC address of the container's `eth0` (unicast).
    pub fn mac(mut self, mac: [u8; 6]) -> Self {
        self.mac = Some(mac);
        self
    }

    /// Where address leases are kept (default `$COCOON_NET_STATE_DIR`, else
    /// [`DEFAULT_STATE_DIR`]); all processes sharing a bridge must share it.
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    /// The bridge's name.
    pub fn bridge_name(&self) -> &str {
        &self.bridge
    }

    /// The subnet.
    pub fn subnet(&self) -> Ipv4Subnet {
        self.subnet
    }

    /// The gateway, defaulted.
    pub fn effective_gateway(&self) -> Ipv4Addr {
        self.gateway.unwrap_or_else(|| self.subnet.first_host())
    }

    /// Checks every value; nothing is created.
    pub fn validate(&self) -> Result<()> {
        validate_ifname("bridge name", &self.bridge)?;
        let s = self.subnet;
        if !(8..=30).contains(&s.prefix) {
            return Err(Error::invalid("subnet", format!("{s}: the prefix must be 8..=30 (room for a gateway and a container)")));
        }
        if !s.contains(s.addr) || u32::from(s.addr) & !s.mask() != 0 {
            return Err(Error::invalid("subnet", format!("{s} has host bits set (the network address is {}/{})", Ipv4Addr::from(u32::from(s.addr) & s.mask()), s.prefix)));
        }
        if s.addr.is_loopback() || s.addr.is_multicast() || s.addr.is_unspecified() || s.broadcast().is_broadcast() {
            return Err(Error::invalid("subnet", format!("{s} is not a unicast subnet")));
        }
        let gw = self.effective_gateway();
        check_host("gateway", &s, gw)?;
        if let Some(a) = self.address {
            check_host("address", &s, a)?;
            if a == gw {
                return Err(Error::invalid("address", format!("{a} is the gateway of {s}")));
            }
        }
        if let Some(m) = self.mtu {
            if !(68..=65535).contains(&m) {
                return Err(Error::invalid("mtu", format!("{m} is outside 68..=65535")));
            }
        }
        if let Some(mac) = self.mac {
            if mac[0] & 1 != 0 || mac == [0; 6] {
                return Err(Error::invalid("mac", format!("{} is not a unicast address", fmt_mac(&mac))));
            }
        }
        self.firewall.validate()?;
        if let Some(l) = self.egress {
            l.validate("egress rate")?;
        }
        if let Some(l) = self.ingress {
            l.validate("ingress rate")?;
        }
        for (i, p) in self.ports.iter().enumerate() {
            p.validate()?;
            if let Some(q) = self.ports[..i].iter().find(|q| q.overlaps(p)) {
                return Err(Error::invalid("publish", format!("{p} and {q} publish the same host port")));
            }
        }
        Ok(())
    }
}

fn check_host(what: &'static str, s: &Ipv4Subnet, a: Ipv4Addr) -> Result<()> {
    if !s.contains(a) {
        return Err(Error::invalid(what, format!("{a} is outside the subnet {s}")));
    }
    if a == s.addr || a == s.broadcast() {
        return Err(Error::invalid(what, format!("{a} is the network or broadcast address of {s}")));
    }
    Ok(())
}

pub(crate) fn fmt_mac(m: &[u8; 6]) -> String {
    format!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
}

/// Checks an interface name: 1–15 bytes, none of `/`, `:`, whitespace or NUL, not `.`/`..`.
pub fn validate_ifname(what: &'static str, name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_IFNAME_LEN {
        return Err(Error::invalid(what, format!("{name:?} must be 1 to {MAX_IFNAME_LEN} bytes")));
    }
    if name == "." || name == ".." || name.bytes().any(|b| b == b'/' || b == b':' || b == 0 || b.is_ascii_whitespace() || !b.is_ascii_graphic()) {
        return Err(Error::invalid(what, format!("{name:?} is not a valid interface name (printable ASCII, no '/', ':' or spaces)")));
    }
    Ok(())
}

impl Network {
    /// Checks the network against the namespaces the container gets: bridge networking
    /// needs a new network namespace (`net_ns`), not a joined one.
    pub(crate) fn validate(&self, net_ns: bool) -> Result<()> {
        match self {
            Network::None => Ok(()),
            Network::Bridge(b) => {
                if !net_ns {
                    return Err(Error::invalid("network", "bridge networking needs a new network namespace (Namespaces::NET)"));
                }
                b.validate()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn br(s: &str) -> BridgeNetwork {
        BridgeNetwork::new("cocoon0", s.parse().expect("subnet"))
    }

    fn what(r: Result<()>) -> &'static str {
        match r {
            Err(Error::InvalidConfig { what, .. }) => what,
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn bridge_validation() {
        assert!(br("10.88.0.0/16").validate().is_ok());
        assert!(br("10.88.0.0/16").address(Ipv4Addr::new(10, 88, 3, 4)).validate().is_ok());
        assert_eq!(what(br("10.88.0.0/16").address(Ipv4Addr::new(10, 89, 0, 2)).validate()), "address");
        assert_eq!(what(br("10.88.0.0/16").address(Ipv4Addr::new(10, 88, 0, 1)).validate()), "address");
        assert_eq!(what(br("10.88.0.0/16").address(Ipv4Addr::new(10, 88, 255, 255)).validate()), "address");
        assert_eq!(what(br("10.88.0.0/16").address(Ipv4Addr::new(10, 88, 0, 0)).validate()), "address");
        assert_eq!(what(br("10.88.0.1/16").validate()), "subnet");
        assert_eq!(what(br("10.88.0.0/31").validate()), "subnet");
        assert_eq!(what(br("10.0.0.0/4").validate()), "subnet");
        assert_eq!(what(br("10.88.0.0/16").gateway(Ipv4Addr::new(10, 9, 0, 1)).validate()), "gateway");
        assert_eq!(what(br("10.88.0.0/16").mtu(20).validate()), "mtu");
        assert_eq!(what(br("10.88.0.0/16").mac([1, 0, 0, 0, 0, 1]).validate()), "mac");
        assert_eq!(what(BridgeNetwork::new("a-name-over-15-b", "10.88.0.0/16".parse().expect("s")).validate()), "bridge name");
        assert_eq!(what(BridgeNetwork::new("a b", "10.88.0.0/16".parse().expect("s")).validate()), "bridge name");
        assert_eq!(what(Network::Bridge(br("10.88.0.0/16")).validate(false)), "network");
        assert!("10.88.0.0".parse::<Ipv4Subnet>().is_err());
        assert!("10.88.0.0/x".parse::<Ipv4Subnet>().is_err());
    }

    #[test]
    fn subnet_hosts() {
        let s: Ipv4Subnet = "10.1.2.0/30".parse().expect("subnet");
        assert_eq!(s.hosts().collect::<Vec<_>>(), vec![Ipv4Addr::new(10, 1, 2, 1), Ipv4Addr::new(10, 1, 2, 2)]);
        assert_eq!(s.broadcast(), Ipv4Addr::new(10, 1, 2, 3));
        let s: Ipv4Subnet = "10.1.2.0/29".parse().expect("subnet");
        let from = |a: Option<u8>| s.hosts_after(a.map(|a| Ipv4Addr::new(10, 1, 2, a))).map(|a| a.octets()[3]).collect::<Vec<_>>();
        assert_eq!(from(None), vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(from(Some(4)), vec![5, 6, 1, 2, 3, 4]);
        assert_eq!(from(Some(6)), vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(from(Some(9)), vec![1, 2, 3, 4, 5, 6]);
    }
}
