//! nftables through nfnetlink: a synchronous socket, transactions (a batch of table,
//! chain and rule changes applied atomically by the kernel), a dump of one table's rules,
//! and the expressions cocoon's rules are made of. Message types come from
//! netlink-packet-netfilter; the expressions it has no type for (`fib`, `nat`, `masq`)
//! are built from its generic attributes with the numbers of `linux/netfilter/nf_tables.h`.

use std::io;
use std::net::Ipv4Addr;

use netlink_packet_core::{
    DefaultNla, NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NlasIterator, NLA_TYPE_MASK, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_DUMP,
    NLM_F_REQUEST,
};
use netlink_packet_netfilter::none::ControlMessage;
use netlink_packet_netfilter::nftables::{
    Bitwise, ChainAttribute, ChainMessage, Cmp, DataAttribute, ExpressionAttribute, Expressions, Hook, Immediate,
    InetHookNumber, ListAttribute, Meta, MetaKey, NfTablesMessage, Operator, Payload, Register, RuleAttribute,
    RuleMessage, TableAttribute, TableMessage,
};
use netlink_packet_netfilter::{NetfilterHeader, NetfilterMessage, NetfilterProtoFamily};
use netlink_sys::{protocols::NETLINK_NETFILTER, Socket, SocketAddr};

const NFNL_SUBSYS_NFTABLES: u16 = 10;

/// One nfnetlink socket in the network namespace it was created in.
pub(crate) struct Nft {
    sock: Socket,
    seq: u32,
    buf: Vec<u8>,
}

/// A rule of a dumped table: where it is, its handle, and its comment (if it has one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuleInfo {
    pub chain: String,
    pub handle: u64,
    pub comment: Option<String>,
}

/// One change of a transaction.
pub(crate) enum Change {
    /// Creates the table if missing.
    Table { family: NetfilterProtoFamily, name: String },
    /// Creates a base chain if missing: `type` (`"nat"`, `"filter"`), hook, priority, and
    /// the policy (`true`: accept, `false`: drop).
    BaseChain { family: NetfilterProtoFamily, table: String, name: String, kind: &'static str, hook: InetHookNumber, priority: i32, accept: bool },
    /// Appends a rule with a comment.
    Rule { family: NetfilterProtoFamily, table: String, chain: String, exprs: Vec<ListAttribute<ExpressionAttribute>>, comment: String },
    /// Deletes the rule `handle`.
    DeleteRule { family: NetfilterProtoFamily, table: String, chain: String, handle: u64 },
}

fn nf(family: NetfilterProtoFamily, m: NfTablesMessage) -> NetfilterMessage {
    NetfilterMessage::new(NetfilterHeader::new(family, 0, 0), m)
}

impl Change {
    fn message(self) -> (NetfilterMessage, u16) {
        match self {
            Change::Table { family, name } => {
                (nf(family, NfTablesMessage::NewTable(TableMessage { attributes: vec![TableAttribute::Name(name)] })), NLM_F_CREATE)
            }
            Change::BaseChain { family, table, name, kind, hook, priority, accept } => {
                let attributes = vec![
                    ChainAttribute::Table(table),
                    ChainAttribute::Name(name),
                    ChainAttribute::Hook(vec![Hook::Number(hook.into()), Hook::Priority(priority as u32)]),
                    ChainAttribute::Type(kind.to_string()),
                    ChainAttribute::Policy(u32::from(accept)),
                ];
                (nf(family, NfTablesMessage::NewChain(ChainMessage { attributes })), NLM_F_CREATE)
            }
            Change::Rule { family, table, chain, exprs, comment } => {
                let attributes = vec![
                    RuleAttribute::Table(table),
                    RuleAttribute::Chain(chain),
                    RuleAttribute::Expressions(exprs),
                    RuleAttribute::UserData(comment_udata(&comment)),
                ];
                (nf(family, NfTablesMessage::NewRule(RuleMessage { attributes })), NLM_F_CREATE | NLM_F_APPEND)
            }
            Change::DeleteRule { family, table, chain, handle } => {
                let attributes = vec![RuleAttribute::Table(table), RuleAttribute::Chain(chain), RuleAttribute::Handle(handle)];
                (nf(family, NfTablesMessage::DeleteRule(RuleMessage { attributes })), 0)
            }
        }
    }
}

/// The comment as nft(8) stores it: a libnftnl user-data TLV (type 0, length, bytes, NUL).
fn comment_udata(comment: &str) -> Vec<u8> {
    // nft limits comments to 128 bytes; the kernel takes any user data up to 256.
    let bytes = &comment.as_bytes()[..comment.len().min(127)];
    let mut v = vec![0u8, bytes.len() as u8 + 1];
    v.extend_from_slice(bytes);
    v.push(0);
    v
}

/// The comment of a rule's user data, if there is one.
fn parse_comment(mut u: &[u8]) -> Option<String> {
    while u.len() >= 2 {
        let (kind, len) = (u[0], usize::from(u[1]));
        let value = u.get(2..2 + len)?;
        if kind == 0 {
            let text = value.split(|b| *b == 0).next().unwrap_or_default();
            return String::from_utf8(text.to_vec()).ok();
        }
        u = &u[2 + len..];
    }
    None
}

fn invalid_data(e: impl ToString) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

impl Nft {
    /// A socket in the calling thread's network namespace.
    pub(crate) fn new() -> io::Result<Nft> {
        let mut sock = Socket::new(NETLINK_NETFILTER)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        let _ = sock.set_cap_ack(true);
        Ok(Nft { sock, seq: 0, buf: vec![0; 64 * 1024] })
    }

    /// A socket in the network namespace `ns` (an open `/proc/<pid>/ns/net`), made by a
    /// short-lived thread that enters it (see [`super::netlink::Rtnl::in_netns`]).
    pub(crate) fn in_netns(ns: std::os::fd::BorrowedFd<'_>) -> io::Result<Nft> {
        super::netlink::in_netns(ns, Nft::new)
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    fn emit(&mut self, out: &mut Vec<u8>, msg: NetfilterMessage, flags: u16) -> u32 {
        let seq = self.next_seq();
        let mut hdr = NetlinkHeader::default();
        hdr.flags = NLM_F_REQUEST | flags;
        hdr.sequence_number = seq;
        let mut m = NetlinkMessage::new(hdr, NetlinkPayload::from(msg));
        m.finalize();
        let at = out.len();
        out.resize(at + m.buffer_len(), 0);
        m.serialize(&mut out[at..]);
        seq
    }

    /// Applies `changes` as one transaction: all of them or none. Returns the first error
    /// the kernel reports (e.g. `ENOENT` for a rule already gone).
    pub(crate) fn apply(&mut self, changes: Vec<Change>) -> io::Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let batch = |m| NetfilterMessage::new(NetfilterHeader::new(NetfilterProtoFamily::Unspec, 0, NFNL_SUBSYS_NFTABLES), m);
        let mut out = Vec::new();
        let begin = self.emit(&mut out, batch(ControlMessage::BatchBegin), 0);
        let mut expected = Vec::with_capacity(changes.len());
        for c in changes {
            let (m, flags) = c.message();
            expected.push(self.emit(&mut out, m, NLM_F_ACK | flags));
        }
        self.emit(&mut out, batch(ControlMessage::BatchEnd), 0);
        self.sock.send(&out, 0)?;
        // Every change is acknowledged (with its error, if any) once the kernel has
        // committed or aborted the whole batch; a batch refused as a whole is answered
        // for its begin message only.
        let mut acked = 0;
        let mut first_err = None;
        while acked < expected.len() {
            self.recv_each(|seq, payload| {
                if let NetlinkPayload::Error(e) = payload {
                    if seq == begin {
                        first_err.get_or_insert(e.code.map_or(0, |c| -c.get()));
                        acked = expected.len();
                    } else if expected.contains(&seq) {
                        acked += 1;
                        if let Some(c) = e.code {
                            first_err.get_or_insert(-c.get());
                        }
                    }
                }
                Ok(())
            })?;
        }
        match first_err {
            Some(errno) if errno != 0 => Err(io::Error::from_raw_os_error(errno)),
            _ => Ok(()),
        }
    }

    /// Receives one datagram and hands each message in it to `f` (sequence, payload).
    fn recv_each(&mut self, mut f: impl FnMut(u32, NetlinkPayload<NetfilterMessage>) -> io::Result<()>) -> io::Result<()> {
        let n = self.sock.recv(&mut &mut self.buf[..], 0)?.min(self.buf.len());
        let mut off = 0;
        while off < n {
            let rx = NetlinkMessage::<NetfilterMessage>::deserialize(&self.buf[off..n]).map_err(invalid_data)?;
            let step = rx.header.length as usize;
            f(rx.header.sequence_number, rx.payload)?;
            if step == 0 {
                break;
            }
            off += (step + 3) & !3;
        }
        Ok(())
    }

    /// The names of the chains of the table `table` (none if the table does not exist).
    pub(crate) fn chains(&mut self, family: NetfilterProtoFamily, table: &str) -> io::Result<Vec<String>> {
        const NFTA_CHAIN_TABLE: u16 = 1;
        const NFTA_CHAIN_NAME: u16 = 3;
        let msg = nf(family, NfTablesMessage::GetChain(ChainMessage { attributes: vec![ChainAttribute::Table(table.to_string())] }));
        let mut names = Vec::new();
        self.dump(msg, |nlas| {
            let (mut name, mut ours) = (None, false);
            for (kind, v) in nlas {
                match kind {
                    NFTA_CHAIN_TABLE => ours = nla_str(v) == Some(table),
                    NFTA_CHAIN_NAME => name = nla_str(v).map(str::to_string),
                    _ => {}
                }
            }
            names.extend(name.filter(|_| ours));
        })?;
        Ok(names)
    }

    /// Every rule of the table `table` (none if the table does not exist).
    pub(crate) fn rules(&mut self, family: NetfilterProtoFamily, table: &str) -> io::Result<Vec<RuleInfo>> {
        const NFTA_RULE_TABLE: u16 = 1;
        const NFTA_RULE_CHAIN: u16 = 2;
        const NFTA_RULE_HANDLE: u16 = 3;
        const NFTA_RULE_USERDATA: u16 = 7;
        let msg = nf(family, NfTablesMessage::GetRule(RuleMessage { attributes: vec![RuleAttribute::Table(table.to_string())] }));
        let mut rules = Vec::new();
        self.dump(msg, |nlas| {
            let mut info = RuleInfo { chain: String::new(), handle: 0, comment: None };
            let mut ours = false;
            for (kind, v) in nlas {
                match kind {
                    NFTA_RULE_TABLE => ours = nla_str(v) == Some(table),
                    NFTA_RULE_CHAIN => info.chain = nla_str(v).unwrap_or_default().to_string(),
                    NFTA_RULE_HANDLE => info.handle = v.try_into().map_or(0, u64::from_be_bytes),
                    NFTA_RULE_USERDATA => info.comment = parse_comment(v),
                    _ => {}
                }
            }
            if ours {
                rules.push(info);
            }
        })?;
        Ok(rules)
    }

    /// Sends the dump request `msg` and hands the top-level attributes (kind, value) of
    /// each answer to `each`; a missing table (`ENOENT`) is an empty dump. Answers are
    /// read by hand, not parsed into the crate's types: only a few attributes are
    /// needed, and parsing every expression of a table of hundreds of rules took ≈ 50 ms.
    fn dump(&mut self, msg: NetfilterMessage, mut each: impl FnMut(&mut dyn Iterator<Item = (u16, &[u8])>)) -> io::Result<()> {
        const NLMSG_ERROR: u16 = 2;
        const NLMSG_DONE: u16 = 3;
        let mut out = Vec::new();
        let seq = self.emit(&mut out, msg, NLM_F_DUMP | NLM_F_ACK);
        self.sock.send(&out, 0)?;
        loop {
            let n = self.sock.recv(&mut &mut self.buf[..], 0)?.min(self.buf.len());
            let mut off = 0;
            while off + 16 <= n {
                let b = NetlinkBuffer::new_checked(&self.buf[off..n]).map_err(invalid_data)?;
                let len = b.length() as usize;
                if len < 16 {
                    return Err(invalid_data("short netlink message"));
                }
                if b.sequence_number() == seq {
                    let payload = b.payload();
                    match b.message_type() {
                        NLMSG_DONE => return Ok(()),
                        NLMSG_ERROR => {
                            let code = payload.get(..4).and_then(|c| c.try_into().ok()).map_or(0, i32::from_ne_bytes);
                            return match -code {
                                0 | libc::ENOENT => Ok(()),
                                e => Err(io::Error::from_raw_os_error(e)),
                            };
                        }
                        _ => {
                            // nfgenmsg (4 bytes), then the attributes.
                            let attrs = payload.get(4..).unwrap_or_default();
                            let mut it = NlasIterator::new(attrs)
                                .map_while(|a| a.ok())
                                .filter_map(|a| {
                                    let (kind, len) = (a.kind() & NLA_TYPE_MASK, a.value_length());
                                    Some((kind, a.into_inner().get(4..4 + len)?))
                                });
                            each(&mut it);
                        }
                    }
                }
                off += (len + 3) & !3;
            }
        }
    }
}

/// A NUL-terminated string attribute.
fn nla_str(v: &[u8]) -> Option<&str> {
    std::str::from_utf8(v.split(|b| *b == 0).next().unwrap_or_default()).ok()
}

// The expressions cocoon's rules use. Every match loads into register 1 and compares.

const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
const NFT_PAYLOAD_TRANSPORT_HEADER: u32 = 2;

fn load(base: u32, offset: u32, len: u32) -> ListAttribute<ExpressionAttribute> {
    Expressions::Payload(vec![
        Payload::DestinationRegister(Register::Reg1),
        Payload::Base(base),
        Payload::Offset(offset),
        Payload::Len(len),
    ])
    .into()
}

fn cmp(op: Operator, value: Vec<u8>) -> ListAttribute<ExpressionAttribute> {
    Expressions::Cmp(vec![Cmp::SourceRegister(Register::Reg1), Cmp::Op(op), Cmp::Data(DataAttribute::Value(value))]).into()
}

/// `ip saddr` (`source`) or `ip daddr` in `addr/prefix` (or not, with `negate`).
pub(crate) fn ip_addr(source: bool, addr: Ipv4Addr, prefix: u8, negate: bool) -> Vec<ListAttribute<ExpressionAttribute>> {
    let offset = if source { 12 } else { 16 };
    let op = if negate { Operator::NotEqual } else { Operator::Equal };
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix.min(32))) };
    let net = (u32::from(addr) & mask).to_be_bytes().to_vec();
    let mut v = vec![load(NFT_PAYLOAD_NETWORK_HEADER, offset, 4)];
    if prefix < 32 {
        v.push(
            Expressions::Bitwise(vec![
                Bitwise::SourceRegister(Register::Reg1),
                Bitwise::DestinationRegister(Register::Reg1),
                Bitwise::Length(4),
                Bitwise::Mask(DataAttribute::Value(mask.to_be_bytes().to_vec())),
                Bitwise::Xor(DataAttribute::Value(vec![0; 4])),
            ])
            .into(),
        );
    }
    v.push(cmp(op, net));
    v
}

/// `meta l4proto <proto>`.
pub(crate) fn l4proto(proto: u8) -> Vec<ListAttribute<ExpressionAttribute>> {
    vec![Expressions::Meta(vec![Meta::Key(MetaKey::L4Proto), Meta::DestinationRegister(Register::Reg1)]).into(), cmp(Operator::Equal, vec![proto])]
}

/// `th dport <port>` (after an [`l4proto`] match).
pub(crate) fn dport(port: u16) -> Vec<ListAttribute<ExpressionAttribute>> {
    vec![load(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2), cmp(Operator::Equal, port.to_be_bytes().to_vec())]
}

fn other(name: &str, attrs: Vec<(u16, u32)>) -> ListAttribute<ExpressionAttribute> {
    let attributes = attrs.into_iter().map(|(k, v)| DefaultNla::new(k, v.to_be_bytes().to_vec())).collect();
    Expressions::Other { expression_type: name.to_string(), attributes }.into()
}

/// `fib daddr type local`: the destination is an address of this host.
pub(crate) fn daddr_is_local() -> Vec<ListAttribute<ExpressionAttribute>> {
    const NFTA_FIB_DREG: u16 = 1;
    const NFTA_FIB_RESULT: u16 = 2;
    const NFTA_FIB_FLAGS: u16 = 3;
    const NFT_FIB_RESULT_ADDRTYPE: u32 = 3;
    const NFTA_FIB_F_DADDR: u32 = 1 << 1;
    const RTN_LOCAL: u32 = 2;
    vec![
        other("fib", vec![(NFTA_FIB_DREG, Register::Reg1.into()), (NFTA_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE), (NFTA_FIB_FLAGS, NFTA_FIB_F_DADDR)]),
        // The address type is a host-order u32 in the register.
        cmp(Operator::Equal, RTN_LOCAL.to_ne_bytes().to_vec()),
    ]
}

/// `dnat to <addr>:<port>`.
pub(crate) fn dnat(addr: Ipv4Addr, port: u16) -> Vec<ListAttribute<ExpressionAttribute>> {
    const NFTA_NAT_TYPE: u16 = 1;
    const NFTA_NAT_FAMILY: u16 = 2;
    const NFTA_NAT_REG_ADDR_MIN: u16 = 3;
    const NFTA_NAT_REG_ADDR_MAX: u16 = 4;
    const NFTA_NAT_REG_PROTO_MIN: u16 = 5;
    const NFTA_NAT_REG_PROTO_MAX: u16 = 6;
    const NFTA_NAT_FLAGS: u16 = 7;
    const NFT_NAT_DNAT: u32 = 1;
    const NF_NAT_RANGE_MAP_IPS: u32 = 1;
    const NF_NAT_RANGE_PROTO_SPECIFIED: u32 = 2;
    let imm = |reg: Register, v: Vec<u8>| -> ListAttribute<ExpressionAttribute> {
        Expressions::Immediate(vec![Immediate::DestinationRegister(reg), Immediate::Data(DataAttribute::Value(v))]).into()
    };
    let (r1, r2): (u32, u32) = (Register::Reg1.into(), Register::Reg2.into());
    vec![
        imm(Register::Reg1, addr.octets().to_vec()),
        imm(Register::Reg2, port.to_be_bytes().to_vec()),
        other(
            "nat",
            vec![
                (NFTA_NAT_TYPE, NFT_NAT_DNAT),
                (NFTA_NAT_FAMILY, libc::NFPROTO_IPV4 as u32),
                (NFTA_NAT_REG_ADDR_MIN, r1),
                (NFTA_NAT_REG_ADDR_MAX, r1),
                (NFTA_NAT_REG_PROTO_MIN, r2),
                (NFTA_NAT_REG_PROTO_MAX, r2),
                (NFTA_NAT_FLAGS, NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED),
            ],
        ),
    ]
}

/// `meta <key>` equal to `value` (`meta nfproto ipv4`, `meta oif 1`).
pub(crate) fn meta_eq(key: MetaKey, value: Vec<u8>) -> Vec<ListAttribute<ExpressionAttribute>> {
    vec![Expressions::Meta(vec![Meta::Key(key), Meta::DestinationRegister(Register::Reg1)]).into(), cmp(Operator::Equal, value)]
}

/// `ct state established,related`.
pub(crate) fn ct_established() -> Vec<ListAttribute<ExpressionAttribute>> {
    const NFTA_CT_DREG: u16 = 1;
    const NFTA_CT_KEY: u16 = 2;
    const NFT_CT_STATE: u32 = 0;
    // NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED), host order.
    let bits: u32 = (1 << 1) | (1 << 2);
    vec![
        other("ct", vec![(NFTA_CT_DREG, Register::Reg1.into()), (NFTA_CT_KEY, NFT_CT_STATE)]),
        Expressions::Bitwise(vec![
            Bitwise::SourceRegister(Register::Reg1),
            Bitwise::DestinationRegister(Register::Reg1),
            Bitwise::Length(4),
            Bitwise::Mask(DataAttribute::Value(bits.to_ne_bytes().to_vec())),
            Bitwise::Xor(DataAttribute::Value(vec![0; 4])),
        ])
        .into(),
        cmp(Operator::NotEqual, vec![0; 4]),
    ]
}

/// The verdict `accept` or `drop`.
pub(crate) fn verdict(accept: bool) -> ListAttribute<ExpressionAttribute> {
    // NF_ACCEPT = 1, NF_DROP = 0 (the crate names only the jump verdicts).
    let code = netlink_packet_netfilter::nftables::Verdict::Other(u32::from(accept));
    Expressions::Immediate(vec![
        Immediate::DestinationRegister(Register::Verdict),
        Immediate::Data(DataAttribute::Verdict(vec![netlink_packet_netfilter::nftables::VerdictAttribute::Code(code)])),
    ])
    .into()
}

/// `masquerade`.
pub(crate) fn masquerade() -> ListAttribute<ExpressionAttribute> {
    ListAttribute::Element(vec![ExpressionAttribute::Name("masq".to_string())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_round_trip() {
        let c = "cocoon coc1a.0 42 1234 8080:80/tcp";
        assert_eq!(parse_comment(&comment_udata(c)).as_deref(), Some(c));
        // Another TLV first (nft's own user data types), then the comment.
        let mut u = vec![5u8, 2, 9, 9];
        u.extend(comment_udata("x"));
        assert_eq!(parse_comment(&u).as_deref(), Some("x"));
        assert_eq!(parse_comment(&[0, 40, 1]), None);
    }
}
