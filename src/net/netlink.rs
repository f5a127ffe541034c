//! A synchronous rtnetlink socket (netlink-packet-route messages over a netlink-sys
//! socket): the few requests bridge networking makes, each acknowledged before the next.
//!
//! A netlink socket talks to the network namespace it was created in, whichever thread
//! uses it later: [`Rtnl::in_netns`] creates one inside a container's namespace from a
//! short-lived thread (setns affects only the calling thread) and hands it back.

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// Runs `make` (which opens a socket) on a short-lived thread inside the network
/// namespace `ns`; the socket it returns stays bound to that namespace.
pub(crate) fn in_netns<T: Send>(ns: BorrowedFd<'_>, make: fn() -> io::Result<T>) -> io::Result<T> {
    let raw = ns.as_raw_fd();
    std::thread::scope(|s| {
        // Builder::spawn_scoped, not scope.spawn: a thread that cannot be made (EAGAIN
        // at the thread limit) is an error, not a panic.
        std::thread::Builder::new()
            .name("cocoon-netns".into())
            .spawn_scoped(s, move || {
                // SAFETY: setns on a valid namespace fd; it changes only this thread's
                // network namespace, and this thread ends right after making the socket.
                if unsafe { libc::setns(raw, libc::CLONE_NEWNET) } != 0 {
                    return Err(io::Error::last_os_error());
                }
                make()
            })?
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("netlink thread panicked")))
    })
}

/// One rtnetlink socket; requests are numbered and each waits for its acknowledgement.
pub(crate) struct Rtnl {
    sock: Socket,
    seq: u32,
    buf: Vec<u8>,
}

/// The veth pair to create: the host end (`host`) in the socket's namespace, attached to
/// `master` and up; the peer (`peer`) created directly in the namespace `peer_ns`, down.
pub(crate) struct VethSpec<'a> {
    pub host: &'a str,
    pub master: u32,
    pub peer: &'a str,
    pub peer_ns: BorrowedFd<'a>,
    pub mtu: Option<u32>,
    pub mac: Option<[u8; 6]>,
}

impl Rtnl {
    /// A socket in the caller's network namespace.
    pub(crate) fn new() -> io::Result<Rtnl> {
        let mut sock = Socket::new(NETLINK_ROUTE)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        // Extended acks are not parsed, but keep the kernel from echoing whole requests.
        let _ = sock.set_cap_ack(true);
        Ok(Rtnl { sock, seq: 0, buf: vec![0; 16 * 1024] })
    }

    /// A socket in the network namespace `ns` (an open `/proc/<pid>/ns/net`), created by
    /// a thread that enters it and exits right after.
    pub(crate) fn in_netns(ns: BorrowedFd<'_>) -> io::Result<Rtnl> {
        in_netns(ns, Rtnl::new)
    }

    /// Sends `msg` with `flags` and waits for its acknowledgement; with `reply`, returns
    /// the first answer message before it.
    fn request(&mut self, msg: RouteNetlinkMessage, flags: u16) -> io::Result<Option<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        let mut hdr = NetlinkHeader::default();
        hdr.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        hdr.sequence_number = self.seq;
        let mut m = NetlinkMessage::new(hdr, NetlinkPayload::from(msg));
        m.finalize();
        let len = m.buffer_len();
        if self.buf.len() < len {
            self.buf.resize(len, 0);
        }
        m.serialize(&mut self.buf[..len]);
        self.sock.send(&self.buf[..len], 0)?;
        let mut answer = None;
        loop {
            let n = self.sock.recv(&mut &mut self.buf[..], 0)?.min(self.buf.len());
            let mut off = 0;
            while off < n {
                let rx = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&self.buf[off..n])
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                let step = rx.header.length as usize;
                if rx.header.sequence_number == self.seq {
                    match rx.payload {
                        NetlinkPayload::Error(e) => {
                            return match e.code {
                                None => Ok(answer),
                                Some(c) => Err(io::Error::from_raw_os_error(-c.get())),
                            };
                        }
                        NetlinkPayload::InnerMessage(inner) if answer.is_none() => answer = Some(inner),
                        NetlinkPayload::Done(_) => return Ok(answer),
                        _ => {}
                    }
                }
                if step == 0 {
                    break;
                }
                off += (step + 3) & !3;
            }
        }
    }

    /// The index of the link named `name`, or `None` if there is none.
    pub(crate) fn link_index(&mut self, name: &str) -> io::Result<Option<u32>> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        match self.request(RouteNetlinkMessage::GetLink(m), 0) {
            Ok(Some(RouteNetlinkMessage::NewLink(l))) => Ok(Some(l.header.index)),
            Ok(_) => Err(io::Error::new(io::ErrorKind::InvalidData, "no link in the answer")),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates the bridge `name`, up. `EEXIST` if it exists already.
    pub(crate) fn create_bridge(&mut self, name: &str) -> io::Result<()> {
        let mut m = LinkMessage::default();
        m.header.flags = LinkFlags::Up;
        m.header.change_mask = LinkFlags::Up;
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        m.attributes.push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Bridge)]));
        self.request(RouteNetlinkMessage::NewLink(m), NLM_F_CREATE | NLM_F_EXCL).map(drop)
    }

    /// Creates the veth pair `spec` in one request (no move between namespaces after).
    pub(crate) fn create_veth(&mut self, spec: &VethSpec<'_>) -> io::Result<()> {
        // The peer is brought up afterwards ([`Rtnl::set_up`]): the kernel configures it
        // before the pair is linked, and a veth without its peer refuses to open (ENOTCONN).
        let mut peer = LinkMessage::default();
        peer.attributes.push(LinkAttribute::IfName(spec.peer.to_string()));
        peer.attributes.push(LinkAttribute::NetNsFd(spec.peer_ns.as_raw_fd()));
        if let Some(mtu) = spec.mtu {
            peer.attributes.push(LinkAttribute::Mtu(mtu));
        }
        if let Some(mac) = spec.mac {
            peer.attributes.push(LinkAttribute::Address(mac.to_vec()));
        }
        let mut m = LinkMessage::default();
        m.header.flags = LinkFlags::Up;
        m.header.change_mask = LinkFlags::Up;
        m.attributes.push(LinkAttribute::IfName(spec.host.to_string()));
        m.attributes.push(LinkAttribute::Controller(spec.master));
        if let Some(mtu) = spec.mtu {
            m.attributes.push(LinkAttribute::Mtu(mtu));
        }
        m.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
        ]));
        self.request(RouteNetlinkMessage::NewLink(m), NLM_F_CREATE | NLM_F_EXCL).map(drop)
    }

    /// Brings the link `index` up.
    pub(crate) fn set_up(&mut self, index: u32) -> io::Result<()> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.header.flags = LinkFlags::Up;
        m.header.change_mask = LinkFlags::Up;
        self.request(RouteNetlinkMessage::SetLink(m), 0).map(drop)
    }

    /// Deletes the link `name` (for a veth end: the pair). `ENODEV` if there is none.
    pub(crate) fn delete_link(&mut self, name: &str) -> io::Result<()> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        self.request(RouteNetlinkMessage::DelLink(m), 0).map(drop)
    }

    /// Adds `addr/prefix` (with its broadcast address) to the link `index`; `EEXIST` if it
    /// has it already.
    pub(crate) fn add_address(&mut self, index: u32, addr: Ipv4Addr, prefix: u8, broadcast: Ipv4Addr) -> io::Result<()> {
        let mut m = AddressMessage::default();
        m.header.family = AddressFamily::Inet;
        m.header.prefix_len = prefix;
        m.header.index = index;
        m.attributes.push(AddressAttribute::Local(IpAddr::V4(addr)));
        m.attributes.push(AddressAttribute::Address(IpAddr::V4(addr)));
        m.attributes.push(AddressAttribute::Broadcast(broadcast));
        self.request(RouteNetlinkMessage::NewAddress(m), NLM_F_CREATE | NLM_F_EXCL).map(drop)
    }

    /// Makes a tbf qdisc (handle `c0c0:`) the root qdisc of the link `index`, with the
    /// tbf options `opts` (kind, bytes).
    pub(crate) fn add_root_tbf(&mut self, index: u32, opts: Vec<(u16, Vec<u8>)>) -> io::Result<()> {
        use netlink_packet_route::tc::{TcAttribute, TcHandle, TcMessage, TcOption};
        let mut m = TcMessage::default();
        m.header.family = AddressFamily::Unspec;
        m.header.index = i32::try_from(index).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        m.header.handle = TcHandle { major: 0xc0c0, minor: 0 };
        m.header.parent = TcHandle::ROOT;
        m.attributes.push(TcAttribute::Kind("tbf".to_string()));
        let opts = opts.into_iter().map(|(k, v)| TcOption::Other(netlink_packet_core::DefaultNla::new(k, v))).collect();
        m.attributes.push(TcAttribute::Options(opts));
        self.request(RouteNetlinkMessage::NewQueueDiscipline(m), NLM_F_CREATE | NLM_F_EXCL).map(drop)
    }

    /// Adds the default route via `gateway` out of the link `index`.
    pub(crate) fn add_default_route(&mut self, index: u32, gateway: Ipv4Addr) -> io::Result<()> {
        let mut m = RouteMessage::default();
        m.header.address_family = AddressFamily::Inet;
        m.header.table = netlink_packet_route::route::RouteHeader::RT_TABLE_MAIN;
        m.header.protocol = RouteProtocol::Boot;
        m.header.scope = RouteScope::Universe;
        m.header.kind = RouteType::Unicast;
        m.attributes.push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
        m.attributes.push(RouteAttribute::Oif(index));
        self.request(RouteNetlinkMessage::NewRoute(m), NLM_F_CREATE | NLM_F_EXCL).map(drop)
    }
}
