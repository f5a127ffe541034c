//! Per-container firewall rules: egress and ingress allow/deny by address or prefix,
//! protocol and port, installed by the parent as an nftables table `inet cocoon` inside
//! the container's network namespace before GO. The container's program, even as root
//! inside, cannot change them without CAP_NET_ADMIN (not in the default capabilities).
//!
//! Each direction is a base chain (`output` for egress, `input` for ingress; type
//! filter, priority 0) whose policy is the direction's default. Loopback traffic and
//! packets of connections already accepted (`ct state established,related`) are always
//! accepted; then the rules, in the order added; then the default.

use std::fmt;
use std::net::Ipv4Addr;
use std::os::fd::BorrowedFd;
use std::str::FromStr;

use netlink_packet_netfilter::nftables::{InetHookNumber, MetaKey};
use netlink_packet_netfilter::NetfilterProtoFamily;

use super::nft::{self, Change, Nft};
use super::port::Protocol;
use crate::error::{Error, Result};

/// The table made in the container's network namespace (family `inet`).
pub const FIREWALL_TABLE: &str = "cocoon";
const FAMILY: NetfilterProtoFamily = NetfilterProtoFamily::Inet;

/// Which traffic a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Leaving the container (matched on destination address and port).
    Egress,
    /// Coming into the container (matched on source address and destination port).
    Ingress,
}

/// What happens to matching packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Action {
    /// Let them through (the default of both directions).
    #[default]
    Accept,
    /// Drop them silently (a TCP connect times out).
    Drop,
}

/// What a rule matches: an IPv4 address or prefix (none: any), a protocol and a port.
///
/// Parsed from `ADDR[/PREFIX]`, `ADDR[/PREFIX]:PORT[/tcp|/udp]`, `*:PORT[/PROTO]` or
/// `tcp`/`udp` (a port without protocol is TCP):
/// ```
/// use cocoon::net::{FirewallMatch, Protocol};
/// let m: FirewallMatch = "10.0.0.0/8:443".parse()?;
/// assert_eq!(m, FirewallMatch::new().net("10.0.0.0".parse().unwrap(), 8).port(Protocol::Tcp, 443));
/// # Ok::<(), cocoon::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FirewallMatch {
    net: Option<(Ipv4Addr, u8)>,
    protocol: Option<Protocol>,
    port: Option<u16>,
}

impl FirewallMatch {
    /// Matches every packet.
    pub fn new() -> FirewallMatch {
        FirewallMatch::default()
    }

    /// Only the peer `addr/prefix` (prefix 0..=32; host bits are ignored).
    pub fn net(mut self, addr: Ipv4Addr, prefix: u8) -> Self {
        self.net = Some((addr, prefix));
        self
    }

    /// Only the protocol `p`.
    pub fn protocol(mut self, p: Protocol) -> Self {
        self.protocol = Some(p);
        self
    }

    /// Only `p` to port `port` (1..=65535).
    pub fn port(mut self, p: Protocol, port: u16) -> Self {
        self.protocol = Some(p);
        self.port = Some(port);
        self
    }

    fn validate(&self) -> Result<()> {
        if let Some((_, prefix)) = self.net {
            if prefix > 32 {
                return Err(Error::invalid("firewall", format!("{self}: prefix {prefix} is over 32")));
            }
        }
        if self.port == Some(0) {
            return Err(Error::invalid("firewall", format!("{self}: port 0")));
        }
        Ok(())
    }

    fn is_any(&self) -> bool {
        *self == FirewallMatch::default()
    }
}

impl fmt::Display for FirewallMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.net, self.port, self.protocol) {
            (Some((a, p)), _, _) => write!(f, "{a}/{p}")?,
            (None, Some(_), _) | (None, None, None) => f.write_str("*")?,
            (None, None, Some(_)) => {}
        }
        match (self.port, self.protocol) {
            (Some(port), Some(p)) => write!(f, ":{port}/{p}"),
            (None, Some(p)) if self.net.is_some() => write!(f, ":{p}"),
            (None, Some(p)) => write!(f, "{p}"),
            _ => Ok(()),
        }
    }
}

impl FromStr for FirewallMatch {
    type Err = Error;

    fn from_str(s: &str) -> Result<FirewallMatch> {
        let bad = |why: &str| Error::invalid("firewall", format!("{s:?}: {why} (ADDR[/PREFIX][:PORT[/tcp|udp]], *:PORT or tcp|udp)"));
        let mut m = FirewallMatch::default();
        if let Ok(p) = s.parse::<Protocol>() {
            return Ok(m.protocol(p));
        }
        let (net, rest) = match s.split_once(':') {
            Some((n, r)) => (n, Some(r)),
            None => (s, None),
        };
        if net != "*" {
            let (a, prefix) = match net.split_once('/') {
                Some((a, p)) => (a, p.parse::<u8>().map_err(|_| bad("bad prefix"))?),
                None => (net, 32),
            };
            m = m.net(a.parse().map_err(|_| bad("bad address"))?, prefix);
        }
        if let Some(r) = rest {
            let (port, proto) = match r.split_once('/') {
                Some((p, proto)) => (p, proto.parse::<Protocol>().map_err(|_| bad("protocol is neither tcp nor udp"))?),
                None => (r, Protocol::Tcp),
            };
            if let Ok(p) = port.parse::<Protocol>() {
                m = m.protocol(p);
            } else {
                let n: u32 = port.parse().map_err(|_| bad("bad port"))?;
                let n = u16::try_from(n).ok().filter(|n| *n != 0).ok_or_else(|| bad("port must be 1..=65535"))?;
                m = m.port(proto, n);
            }
        }
        m.validate()?;
        Ok(m)
    }
}

/// A container's firewall (see the module docs): defaults per direction and ordered rules.
///
/// ```
/// use cocoon::net::{Action, Firewall, FirewallMatch, Protocol};
/// // A CI sandbox that may reach only one mirror over HTTPS.
/// let fw = Firewall::new()
///     .egress_default(Action::Drop)
///     .allow_egress(FirewallMatch::new().net("192.0.2.10".parse().unwrap(), 32).port(Protocol::Tcp, 443));
/// # Ok::<(), cocoon::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Firewall {
    egress_default: Action,
    ingress_default: Action,
    rules: Vec<(Direction, Action, FirewallMatch)>,
}

impl Firewall {
    /// Everything accepted, no rules.
    pub fn new() -> Firewall {
        Firewall::default()
    }

    /// What happens to egress packets no rule matches.
    pub fn egress_default(mut self, a: Action) -> Self {
        self.egress_default = a;
        self
    }

    /// What happens to ingress packets no rule matches.
    pub fn ingress_default(mut self, a: Action) -> Self {
        self.ingress_default = a;
        self
    }

    /// Appends a rule (rules are checked in the order added; the first match decides).
    pub fn rule(mut self, d: Direction, a: Action, m: FirewallMatch) -> Self {
        self.rules.push((d, a, m));
        self
    }

    /// Accepts egress packets matching `m`.
    pub fn allow_egress(self, m: FirewallMatch) -> Self {
        self.rule(Direction::Egress, Action::Accept, m)
    }

    /// Drops egress packets matching `m`.
    pub fn deny_egress(self, m: FirewallMatch) -> Self {
        self.rule(Direction::Egress, Action::Drop, m)
    }

    /// Accepts ingress packets matching `m`.
    pub fn allow_ingress(self, m: FirewallMatch) -> Self {
        self.rule(Direction::Ingress, Action::Accept, m)
    }

    /// Drops ingress packets matching `m`.
    pub fn deny_ingress(self, m: FirewallMatch) -> Self {
        self.rule(Direction::Ingress, Action::Drop, m)
    }

    /// Adds a rule from the text `[out:|in:]MATCH` (out = egress, the default). A match of
    /// everything (`*`) sets the direction's default instead.
    pub fn add_spec(self, a: Action, spec: &str) -> Result<Firewall> {
        let (d, m) = match spec.split_once(':') {
            Some(("out", m)) => (Direction::Egress, m),
            Some(("in", m)) => (Direction::Ingress, m),
            _ => (Direction::Egress, spec),
        };
        let m: FirewallMatch = m.parse()?;
        Ok(match (m.is_any(), d) {
            (true, Direction::Egress) => self.egress_default(a),
            (true, Direction::Ingress) => self.ingress_default(a),
            (false, _) => self.rule(d, a, m),
        })
    }

    /// Whether nothing is filtered (no table is made).
    pub fn is_open(&self) -> bool {
        self.rules.is_empty() && self.egress_default == Action::Accept && self.ingress_default == Action::Accept
    }

    /// Checks every rule.
    pub fn validate(&self) -> Result<()> {
        self.rules.iter().try_for_each(|(_, _, m)| m.validate())
    }

    /// A line per default and rule, for `cocoon-run --verbose`.
    pub fn describe(&self) -> Vec<String> {
        let name = |a: Action| if a == Action::Accept { "allow" } else { "deny" };
        let mut v = vec![format!("firewall: egress default {}, ingress default {}", name(self.egress_default), name(self.ingress_default))];
        for (d, a, m) in &self.rules {
            v.push(format!("firewall: {} {} {m}", name(*a), if *d == Direction::Egress { "out" } else { "in" }));
        }
        v
    }
}

fn chain_of(d: Direction) -> &'static str {
    match d {
        Direction::Egress => "output",
        Direction::Ingress => "input",
    }
}

fn rule(d: Direction, exprs: Vec<netlink_packet_netfilter::nftables::ListAttribute<netlink_packet_netfilter::nftables::ExpressionAttribute>>, comment: &str) -> Change {
    Change::Rule { family: FAMILY, table: FIREWALL_TABLE.into(), chain: chain_of(d).into(), exprs, comment: comment.into() }
}

/// The transaction that makes `fw` in an empty namespace.
fn changes(fw: &Firewall) -> Vec<Change> {
    let mut v = vec![Change::Table { family: FAMILY, name: FIREWALL_TABLE.into() }];
    for (d, default, hook) in [
        (Direction::Egress, fw.egress_default, InetHookNumber::LocalOut),
        (Direction::Ingress, fw.ingress_default, InetHookNumber::LocalIn),
    ] {
        v.push(Change::BaseChain {
            family: FAMILY,
            table: FIREWALL_TABLE.into(),
            name: chain_of(d).into(),
            kind: "filter",
            hook,
            priority: 0,
            accept: default == Action::Accept,
        });
        // The loopback interface of a new namespace has index 1.
        let lo = if d == Direction::Egress { MetaKey::Oif } else { MetaKey::Iif };
        let mut e = nft::meta_eq(lo, 1u32.to_ne_bytes().to_vec());
        e.push(nft::verdict(true));
        v.push(rule(d, e, "cocoon loopback"));
        let mut e = nft::ct_established();
        e.push(nft::verdict(true));
        v.push(rule(d, e, "cocoon established"));
    }
    for (d, a, m) in &fw.rules {
        let mut e = nft::meta_eq(MetaKey::Nfproto, vec![libc::NFPROTO_IPV4 as u8]);
        if let Some((addr, prefix)) = m.net {
            e.extend(nft::ip_addr(*d == Direction::Ingress, addr, prefix, false));
        }
        if let Some(p) = m.protocol {
            e.extend(nft::l4proto(p.number()));
        }
        if let Some(port) = m.port {
            e.extend(nft::dport(port));
        }
        e.push(nft::verdict(*a == Action::Accept));
        v.push(rule(*d, e, &format!("cocoon {m}")));
    }
    v
}

/// Installs `fw` in the network namespace `ns` (the container's, before GO).
pub(crate) fn install(ns: BorrowedFd<'_>, fw: &Firewall) -> std::io::Result<()> {
    if fw.is_open() {
        return Ok(());
    }
    Nft::in_netns(ns)?.apply(changes(fw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_parse_and_print() {
        let m: FirewallMatch = "10.0.0.0/8:443/tcp".parse().expect("parse");
        assert_eq!(m, FirewallMatch::new().net(Ipv4Addr::new(10, 0, 0, 0), 8).port(Protocol::Tcp, 443));
        assert_eq!(m.to_string(), "10.0.0.0/8:443/tcp");
        assert_eq!("1.2.3.4".parse::<FirewallMatch>().expect("p"), FirewallMatch::new().net(Ipv4Addr::new(1, 2, 3, 4), 32));
        assert_eq!("*:53/udp".parse::<FirewallMatch>().expect("p"), FirewallMatch::new().port(Protocol::Udp, 53));
        assert_eq!("udp".parse::<FirewallMatch>().expect("p"), FirewallMatch::new().protocol(Protocol::Udp));
        assert_eq!("1.2.3.4:udp".parse::<FirewallMatch>().expect("p").to_string(), "1.2.3.4/32:udp");
        for m in ["*:53/udp", "udp", "1.2.3.0/24:udp", "*"] {
            assert_eq!(m.parse::<FirewallMatch>().expect("p").to_string(), m);
        }
        for bad in ["1.2.3.4/33", "1.2.3.4:0", "1.2.3.4:70000", "x", "1.2.3.4:80/sctp", "1.2.3/8"] {
            assert!(matches!(bad.parse::<FirewallMatch>(), Err(Error::InvalidConfig { what: "firewall", .. })), "{bad}");
        }
        let fw = Firewall::new().add_spec(Action::Drop, "out:*").and_then(|f| f.add_spec(Action::Accept, "10.0.0.1:80")).expect("spec");
        assert_eq!(fw, Firewall::new().egress_default(Action::Drop).allow_egress("10.0.0.1:80".parse().expect("m")));
        assert!(Firewall::new().is_open());
    }
}
