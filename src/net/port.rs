//! Published ports: a host port forwarded to a container port (TCP or UDP), optionally
//! only on one host address. Parsed from `HOST:CONTAINER[/PROTO]` or
//! `ADDR:HOST:CONTAINER[/PROTO]` (the forms `docker run -p` and `podman run -p` take).

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use crate::error::{Error, Result};

/// The transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// The IP protocol number (`IPPROTO_TCP`, `IPPROTO_UDP`).
    pub(crate) fn number(self) -> u8 {
        match self {
            Protocol::Tcp => libc::IPPROTO_TCP as u8,
            Protocol::Udp => libc::IPPROTO_UDP as u8,
        }
    }

    /// `"tcp"` or `"udp"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = Error;

    fn from_str(s: &str) -> Result<Protocol> {
        match s {
            "tcp" => Ok(Protocol::Tcp),
            "udp" => Ok(Protocol::Udp),
            _ => Err(Error::invalid("publish", format!("protocol {s:?} is neither tcp nor udp"))),
        }
    }
}

/// A host port forwarded to a port of the container's `eth0` address (DNAT in cocoon's
/// `ip cocoon` nftables table of the host's network namespace).
///
/// ```
/// use cocoon::net::{Protocol, PublishedPort};
/// let p: PublishedPort = "8080:80".parse()?;
/// assert_eq!((p.host_port(), p.container_port(), p.protocol()), (8080, 80, Protocol::Tcp));
/// let q: PublishedPort = "192.0.2.1:5353:53/udp".parse()?;
/// assert_eq!(q.host_address(), Some("192.0.2.1".parse().unwrap()));
/// # Ok::<(), cocoon::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublishedPort {
    host_addr: Option<Ipv4Addr>,
    host_port: u16,
    container_port: u16,
    protocol: Protocol,
}

impl PublishedPort {
    /// `host_port` on every local address of the host forwarded to `container_port`.
    /// Ports are checked (1..=65535) when the builder is validated.
    pub fn new(host_port: u16, container_port: u16, protocol: Protocol) -> PublishedPort {
        PublishedPort { host_addr: None, host_port, container_port, protocol }
    }

    /// Only connections to `addr` (a local address of the host; not a loopback one:
    /// DNAT to a container from 127.0.0.0/8 needs `route_localnet`, which cocoon does
    /// not turn on).
    pub fn host_address(&self) -> Option<Ipv4Addr> {
        self.host_addr
    }

    /// Restricts the port to connections to the host address `addr`.
    pub fn on_address(mut self, addr: Ipv4Addr) -> PublishedPort {
        self.host_addr = Some(addr);
        self
    }

    /// The host port.
    pub fn host_port(&self) -> u16 {
        self.host_port
    }

    /// The container port.
    pub fn container_port(&self) -> u16 {
        self.container_port
    }

    /// TCP or UDP.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Whether `self` and `other` would catch the same packets (same protocol and host
    /// port, and addresses equal or either unrestricted).
    pub(crate) fn overlaps(&self, other: &PublishedPort) -> bool {
        self.protocol == other.protocol
            && self.host_port == other.host_port
            && (self.host_addr.is_none() || other.host_addr.is_none() || self.host_addr == other.host_addr)
    }

    /// Checks the ports and the address; nothing is created.
    pub fn validate(&self) -> Result<()> {
        if self.host_port == 0 || self.container_port == 0 {
            return Err(Error::invalid("publish", format!("{self}: ports must be 1..=65535, not 0")));
        }
        if let Some(a) = self.host_addr {
            if a.is_loopback() {
                return Err(Error::Unsupported {
                    what: "publish",
                    reason: format!("{self}: a loopback address cannot be forwarded to a container (it would need route_localnet); publish on another host address or on all of them"),
                });
            }
            if a.is_unspecified() || a.is_multicast() || a.is_broadcast() {
                return Err(Error::invalid("publish", format!("{self}: {a} is not a unicast host address")));
            }
        }
        Ok(())
    }
}

impl fmt::Display for PublishedPort {
    /// `[ADDR:]HOST:CONTAINER/PROTO`, which [`PublishedPort::from_str`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(a) = self.host_addr {
            write!(f, "{a}:")?;
        }
        write!(f, "{}:{}/{}", self.host_port, self.container_port, self.protocol)
    }
}

fn port(what: &str, s: &str, whole: &str) -> Result<u16> {
    let bad = |why: &str| Error::invalid("publish", format!("{whole:?}: {what} port {s:?} {why}"));
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("is not a number"));
    }
    let n: u32 = s.parse().map_err(|_| bad("is not a number"))?;
    match u16::try_from(n) {
        Ok(0) => Err(bad("must be 1..=65535")),
        Ok(p) => Ok(p),
        Err(_) => Err(bad("is over 65535")),
    }
}

impl FromStr for PublishedPort {
    type Err = Error;

    /// `HOST:CONTAINER[/tcp|/udp]` or `ADDR:HOST:CONTAINER[/tcp|/udp]` (default tcp).
    fn from_str(s: &str) -> Result<PublishedPort> {
        let (ports, protocol) = match s.rsplit_once('/') {
            Some((p, proto)) => (p, proto.parse::<Protocol>().map_err(|_| {
                Error::invalid("publish", format!("{s:?}: protocol {proto:?} is neither tcp nor udp"))
            })?),
            None => (s, Protocol::Tcp),
        };
        let parts: Vec<&str> = ports.split(':').collect();
        let (addr, host, container) = match parts.as_slice() {
            [h, c] => (None, *h, *c),
            [a, h, c] => (Some(*a), *h, *c),
            _ => return Err(Error::invalid("publish", format!("{s:?} is not HOST:CONTAINER[/udp] or ADDR:HOST:CONTAINER[/udp]"))),
        };
        let host_addr = addr
            .map(|a| a.parse::<Ipv4Addr>().map_err(|_| Error::invalid("publish", format!("{s:?}: {a:?} is not an IPv4 address"))))
            .transpose()?;
        Ok(PublishedPort { host_addr, host_port: port("host", host, s)?, container_port: port("container", container, s)?, protocol })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn what(s: &str) -> &'static str {
        match s.parse::<PublishedPort>().and_then(|p| p.validate()) {
            Err(Error::InvalidConfig { what, .. }) | Err(Error::Unsupported { what, .. }) => what,
            other => panic!("{s}: expected a typed error, got {other:?}"),
        }
    }

    #[test]
    fn parse_and_print() {
        let p: PublishedPort = "8080:80".parse().expect("parse");
        assert_eq!(p, PublishedPort::new(8080, 80, Protocol::Tcp));
        assert_eq!(p.to_string(), "8080:80/tcp");
        let q: PublishedPort = "10.0.0.1:53:5353/udp".parse().expect("parse");
        assert_eq!(q, PublishedPort::new(53, 5353, Protocol::Udp).on_address(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(q.to_string().parse::<PublishedPort>().expect("round trip"), q);
        assert_eq!("1:65535/tcp".parse::<PublishedPort>().expect("parse").container_port(), 65535);
        for bad in ["0:80", "80:0", "65536:80", "80:99999", "80:80/sctp", "80", "a:80", "1:2:3:4", "x.y:1:2", "80:80/", ":80", "-1:80"] {
            assert_eq!(what(bad), "publish", "{bad}");
        }
        assert!(matches!("127.0.0.1:80:80".parse::<PublishedPort>().expect("parse").validate(), Err(Error::Unsupported { .. })));
    }

    #[test]
    fn overlap() {
        let a = PublishedPort::new(80, 80, Protocol::Tcp);
        assert!(a.overlaps(&PublishedPort::new(80, 81, Protocol::Tcp)));
        assert!(!a.overlaps(&PublishedPort::new(80, 80, Protocol::Udp)));
        assert!(a.overlaps(&a.on_address(Ipv4Addr::new(10, 0, 0, 1))));
        let b = a.on_address(Ipv4Addr::new(10, 0, 0, 2));
        assert!(!b.overlaps(&a.on_address(Ipv4Addr::new(10, 0, 0, 1))));
    }
}
