//! The nftables rules cocoon makes in the host's network namespace for a bridge
//! container: masquerade for its traffic leaving the bridge's subnet, and DNAT of each
//! published host port to its address.
//!
//! They live in cocoon's own table `ip cocoon` (chains `prerouting` and `output`, type
//! nat at priority -100, and `postrouting`, type nat at 100); no other table is read or
//! changed. The table and chains stay (like the bridge); each rule carries the comment
//! `cocoon <host veth> <pid> <start time>[ <mapping>]`, naming its container's first
//! process, so that teardown deletes exactly that container's rules by handle and a
//! sweep deletes the rules of containers that are gone (pid and start time, as leases).
//! Installing holds `<state dir>/.ports.lock`, so two processes never publish one port.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use netlink_packet_netfilter::nftables::InetHookNumber;
use netlink_packet_netfilter::NetfilterProtoFamily;

use super::nft::{self, Change, Nft, RuleInfo};
use super::port::PublishedPort;
use super::Ipv4Subnet;
use crate::error::{Error, Result, Stage};

/// cocoon's table (family `ip`).
pub const NAT_TABLE: &str = "cocoon";
const FAMILY: NetfilterProtoFamily = NetfilterProtoFamily::IPv4;
/// The lock file (under the lease state directory) held while rules are installed.
pub(crate) const PORTS_LOCK: &str = ".ports.lock";

/// The container a rule belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    pub veth: String,
    pub pid: i32,
    pub start: u64,
}

impl Owner {
    fn tag(&self) -> String {
        format!("cocoon {} {} {}", self.veth, self.pid, self.start)
    }

    fn alive(&self) -> bool {
        crate::owner::process_start_time(self.pid) == Some(self.start)
    }
}

/// A rule comment: its owner and, for a DNAT rule, the mapping.
fn parse_comment(c: &str) -> Option<(Owner, Option<PublishedPort>)> {
    let mut it = c.split(' ');
    if it.next()? != "cocoon" {
        return None;
    }
    let owner = Owner { veth: it.next()?.to_string(), pid: it.next()?.parse().ok()?, start: it.next()?.parse().ok()? };
    let mapping = it.next().and_then(|m| m.parse().ok());
    Some((owner, mapping))
}

/// What one container asks for.
pub(crate) struct NatSpec<'a> {
    pub masquerade: bool,
    pub subnet: Ipv4Subnet,
    pub addr: Ipv4Addr,
    pub ports: &'a [PublishedPort],
}

/// A container's installed rules; [`Installed::remove`] (or drop) deletes them.
#[derive(Debug)]
pub(crate) struct Installed {
    /// Opened where the rules are: it still talks to that namespace from any thread.
    nft: NftHandle,
    owner: Owner,
    lock: std::path::PathBuf,
    done: bool,
}

struct NftHandle(Nft);

impl std::fmt::Debug for NftHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Nft")
    }
}

fn setup_err(detail: String, source: io::Error) -> Error {
    Error::Setup { stage: Stage::Network, detail, source }
}

/// `<state>/.ports.lock`, exclusively locked while it is open.
fn lock(state: &Path) -> io::Result<File> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(state)?;
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(state.join(PORTS_LOCK))?;
    // SAFETY: flock on a file we own; released when `f` is closed.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(f)
}

/// Whether each owner named by `rules` is alive (one `/proc` read per owner, not per rule).
fn liveness(rules: &[RuleInfo]) -> std::collections::HashMap<(i32, u64), bool> {
    let mut m = std::collections::HashMap::new();
    for (o, _) in rules.iter().filter_map(|r| parse_comment(r.comment.as_deref()?)) {
        m.entry((o.pid, o.start)).or_insert_with(|| o.alive());
    }
    m
}

type Alive = std::collections::HashMap<(i32, u64), bool>;

fn is_alive(alive: &Alive, o: &Owner) -> bool {
    alive.get(&(o.pid, o.start)).copied().unwrap_or_else(|| o.alive())
}

/// The first port of `ports` published by a live container among `rules`.
fn conflict(rules: &[RuleInfo], alive: &Alive, ports: &[PublishedPort]) -> Option<PublishedPort> {
    rules.iter().filter_map(|r| parse_comment(r.comment.as_deref()?)).find_map(|(o, m)| {
        let m = m?;
        ports.iter().find(|p| p.overlaps(&m)).filter(|_| is_alive(alive, &o)).copied()
    })
}

fn delete(r: &RuleInfo) -> Change {
    Change::DeleteRule { family: FAMILY, table: NAT_TABLE.to_string(), chain: r.chain.clone(), handle: r.handle }
}

/// Deletions of the rules whose owners are gone.
fn stale(rules: &[RuleInfo], alive: &Alive) -> Vec<Change> {
    rules
        .iter()
        .filter(|r| r.comment.as_deref().and_then(parse_comment).is_some_and(|(o, _)| !is_alive(alive, &o)))
        .map(delete)
        .collect()
}

/// Before the clone: a port another live container publishes is refused (checked again,
/// under the lock, when the rules are installed).
pub(crate) fn precheck(ports: &[PublishedPort]) -> Result<()> {
    if ports.is_empty() {
        return Ok(());
    }
    // No socket or no table: nothing is published (install reports real failures).
    let Ok(rules) = Nft::new().and_then(|mut n| n.rules(FAMILY, NAT_TABLE)) else { return Ok(()) };
    match conflict(&rules, &Alive::new(), ports) {
        Some(p) => Err(Error::PortInUse { protocol: p.protocol(), port: p.host_port() }),
        None => Ok(()),
    }
}

/// Turns on IPv4 forwarding in the calling thread's network namespace.
fn enable_forwarding() -> io::Result<()> {
    let path = "/proc/sys/net/ipv4/ip_forward";
    let mut cur = String::new();
    File::open(path)?.take(16).read_to_string(&mut cur)?;
    if cur.trim() != "1" {
        OpenOptions::new().write(true).open(path)?.write_all(b"1\n")?;
    }
    Ok(())
}

fn chain(name: &str, hook: InetHookNumber, priority: i32) -> Change {
    Change::BaseChain { family: FAMILY, table: NAT_TABLE.into(), name: name.into(), kind: "nat", hook, priority, accept: true }
}

fn rule(chain: &str, exprs: Vec<netlink_packet_netfilter::nftables::ListAttribute<netlink_packet_netfilter::nftables::ExpressionAttribute>>, comment: String) -> Change {
    Change::Rule { family: FAMILY, table: NAT_TABLE.into(), chain: chain.into(), exprs, comment }
}

const CHAINS: [(&str, InetHookNumber, i32); 3] = [
    ("prerouting", InetHookNumber::PreRouting, -100),
    ("output", InetHookNumber::LocalOut, -100),
    ("postrouting", InetHookNumber::PostRouting, 100),
];

/// The table and those of its chains missing from `have`. Only what is missing is sent:
/// re-sending an existing chain costs the commit an RCU grace period (≈ 12 ms measured).
fn skeleton(have: &[String]) -> Vec<Change> {
    let missing: Vec<Change> = CHAINS.iter().filter(|(n, _, _)| !have.iter().any(|h| h == n)).map(|(n, h, p)| chain(n, *h, *p)).collect();
    if missing.is_empty() {
        return missing;
    }
    let mut v = vec![Change::Table { family: FAMILY, name: NAT_TABLE.into() }];
    v.extend(missing);
    v
}

/// The rules of `spec` for `owner`.
fn rules_for(owner: &Owner, spec: &NatSpec<'_>) -> Vec<Change> {
    let tag = owner.tag();
    let mut v = Vec::new();
    if spec.masquerade {
        let mut e = nft::ip_addr(true, spec.addr, 32, false);
        e.extend(nft::ip_addr(false, spec.subnet.addr(), spec.subnet.prefix(), true));
        e.push(nft::masquerade());
        v.push(rule("postrouting", e, tag.clone()));
    }
    for p in spec.ports {
        for ch in ["prerouting", "output"] {
            let mut e = match p.host_address() {
                Some(a) => nft::ip_addr(false, a, 32, false),
                None => nft::daddr_is_local(),
            };
            e.extend(nft::l4proto(p.protocol().number()));
            e.extend(nft::dport(p.host_port()));
            e.extend(nft::dnat(spec.addr, p.container_port()));
            v.push(rule(ch, e, format!("{tag} {p}")));
        }
    }
    v
}

/// Installs `spec`'s rules for `owner` in the calling thread's network namespace (and
/// turns on IPv4 forwarding there), deleting on the way the rules of owners that are gone.
pub(crate) fn install(state: &Path, owner: Owner, spec: &NatSpec<'_>) -> Result<Installed> {
    let what = |step: &str| format!("{step}: nftables table ip {NAT_TABLE} for {} ({})", owner.veth, spec.addr);
    let lock_path = state.join(PORTS_LOCK);
    let _lock = lock(state).map_err(|e| setup_err(format!("lock {}", lock_path.display()), e))?;
    let mut nft = Nft::new().map_err(|e| setup_err(what("netfilter netlink socket"), e))?;
    enable_forwarding().map_err(|e| setup_err(what("turn on net.ipv4.ip_forward"), e))?;
    let mut tries = 0;
    loop {
        let rules = nft.rules(FAMILY, NAT_TABLE).map_err(|e| setup_err(what("list rules"), e))?;
        let alive = liveness(&rules);
        if let Some(p) = conflict(&rules, &alive, spec.ports) {
            return Err(Error::PortInUse { protocol: p.protocol(), port: p.host_port() });
        }
        let have = nft.chains(FAMILY, NAT_TABLE).map_err(|e| setup_err(what("list chains"), e))?;
        let mut changes = skeleton(&have);
        changes.extend(stale(&rules, &alive));
        changes.extend(rules_for(&owner, spec));
        match nft.apply(changes) {
            Ok(()) => break,
            // A stale rule deleted meanwhile by a process not sharing our lock: list again.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && tries == 0 => tries += 1,
            Err(e) => return Err(setup_err(what("add rules"), e)),
        }
    }
    Ok(Installed { nft: NftHandle(nft), owner, lock: lock_path, done: false })
}

impl Installed {
    /// Leaves the rules (a detached container: a sweep deletes them once it is gone).
    pub(crate) fn keep(&mut self) {
        self.done = true;
    }

    /// Deletes this container's rules.
    pub(crate) fn remove(&mut self) -> io::Result<()> {
        if std::mem::replace(&mut self.done, true) {
            return Ok(());
        }
        let state = self.lock.parent().unwrap_or(Path::new("/"));
        let _lock = lock(state)?;
        let tag = self.owner.tag();
        for _ in 0..2 {
            let rules = self.nft.0.rules(FAMILY, NAT_TABLE)?;
            let ours: Vec<Change> = rules
                .iter()
                .filter(|r| r.comment.as_deref().and_then(parse_comment).is_some_and(|(o, _)| o == self.owner))
                .map(delete)
                .collect();
            match self.nft.0.apply(ours) {
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
                r => return r,
            }
        }
        Err(io::Error::other(format!("rules of {tag} keep changing")))
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = self.remove();
    }
}

/// Deletes the rules of owners that are gone from cocoon's table in the calling thread's
/// network namespace; returns how many. No table (or no nftables) is nothing to do.
pub(crate) fn sweep(state: &Path) -> usize {
    let Ok(mut nft) = Nft::new() else { return 0 };
    // Listed once without the lock: most sweeps find nothing to delete.
    if nft.rules(FAMILY, NAT_TABLE).map_or(true, |r| stale(&r, &liveness(&r)).is_empty()) {
        return 0;
    }
    let Ok(_lock) = lock(state) else { return 0 };
    let Ok(rules) = nft.rules(FAMILY, NAT_TABLE) else { return 0 };
    let changes = stale(&rules, &liveness(&rules));
    let n = changes.len();
    match nft.apply(changes) {
        Ok(()) => n,
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments() {
        let o = Owner { veth: "coc1.2".into(), pid: 7, start: 99 };
        assert_eq!(parse_comment(&o.tag()), Some((o.clone(), None)));
        let p: PublishedPort = "10.0.0.1:80:8080/udp".parse().expect("port");
        assert_eq!(parse_comment(&format!("{} {p}", o.tag())), Some((o, Some(p))));
        assert_eq!(parse_comment("someone else's rule"), None);
        assert_eq!(parse_comment("cocoon x y 1"), None);
    }
}
