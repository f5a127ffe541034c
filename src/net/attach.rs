//! The parent's network work for one container, between READY and GO: lease an address,
//! make sure the bridge exists, create the veth pair with its peer directly in the
//! container's namespace, then address and default route inside it. [`Attachment`] undoes
//! it all (host veth, lease) when the container goes; a failure undoes what was made.

use std::fs::File;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::lease::{self, Holder, Lease, LeaseError};
use super::nat::{self, Installed, NatSpec, Owner};
use super::netlink::{Rtnl, VethSpec};
use super::{BridgeNetwork, PublishedPort, CONTAINER_IFNAME, HOST_VETH_PREFIX, MAX_IFNAME_LEN};
use crate::error::{Error, Result, Stage};

/// The planned network of a container (from a validated [`BridgeNetwork`]).
#[derive(Debug, Clone)]
pub(crate) struct NetPlan {
    cfg: BridgeNetwork,
    state: PathBuf,
    gateway: Ipv4Addr,
}

impl NetPlan {
    pub(crate) fn new(cfg: &BridgeNetwork) -> NetPlan {
        NetPlan { state: lease::state_dir(cfg.state_dir.as_deref()), gateway: cfg.effective_gateway(), cfg: cfg.clone() }
    }
}

/// A running container's network, as [`crate::Container::network`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkInfo {
    /// The bridge the host end is attached to.
    pub bridge: String,
    /// The container's interface (`eth0`).
    pub interface: String,
    /// The host end of the veth pair (in the creating thread's network namespace).
    pub host_interface: String,
    /// The container's address.
    pub address: Ipv4Addr,
    /// Its prefix length.
    pub prefix: u8,
    /// The default route's gateway.
    pub gateway: Ipv4Addr,
    /// Whether its traffic leaving the subnet is masqueraded.
    pub masquerade: bool,
    /// The host ports forwarded to it.
    pub published: Vec<PublishedPort>,
    /// Its firewall.
    pub firewall: super::Firewall,
    /// The limit of what it sends.
    pub egress_limit: Option<super::RateLimit>,
    /// The limit of what it receives.
    pub ingress_limit: Option<super::RateLimit>,
}

/// What [`attach`] made; dropping it removes the host veth (and so the pair) and the lease.
#[derive(Debug)]
pub(crate) struct Attachment {
    pub(crate) info: NetworkInfo,
    lease: Lease,
    /// Its NAT rules (deleted through the socket they were made with, which talks to
    /// the host's namespace from any thread).
    nat: Option<Installed>,
    /// The network namespace (inode) the host end was made in.
    netns: u64,
    kept: bool,
}

impl Attachment {
    /// Keeps veth, lease and NAT rules (a detached container): they are the container's,
    /// and the next allocation or [`sweep_stale`] reclaims them once it is gone.
    pub(crate) fn leave(mut self) {
        self.kept = true;
        self.lease.keep();
        if let Some(n) = self.nat.as_mut() {
            n.keep();
        }
    }
}

impl Attachment {
    /// Releases the lease only: the container's program has ended, so its network
    /// namespace is being destroyed and the kernel deletes the pair with it. Deleting the
    /// host end now would wait behind that cleanup for the RTNL lock (≈ 25 ms measured,
    /// against ≈ 25 µs for a pair whose namespace is alive).
    pub(crate) fn release_exited(mut self) {
        self.kept = true;
        // The rules are in the host's namespace, which stays: they go now.
        if let Some(n) = self.nat.as_mut() {
            let _ = n.remove();
        }
        let _ = self.lease.release();
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        if !self.kept {
            // Dropped on a thread of another network namespace: the kernel removes the
            // pair when the container's namespace goes, just not at once.
            if lease::own_netns() == self.netns {
                if let Ok(mut nl) = Rtnl::new() {
                    let _ = nl.delete_link(&self.info.host_interface);
                }
            }
            if let Some(n) = self.nat.as_mut() {
                let _ = n.remove();
            }
            let _ = self.lease.release();
        }
    }
}

fn setup_err(detail: String, source: io::Error) -> Error {
    Error::Setup { stage: Stage::Network, detail, source }
}

/// Before the clone: a static address already leased by a live container, or a host
/// port another live container publishes, is refused.
pub(crate) fn precheck(p: &NetPlan) -> Result<()> {
    match p.cfg.address {
        Some(a) if lease::held_by_live(&p.state, &p.cfg.bridge, a) => {
            Err(Error::AddressInUse { bridge: p.cfg.bridge.clone(), address: a })
        }
        _ => nat::precheck(&p.cfg.ports),
    }
}

static NEXT_VETH: AtomicU32 = AtomicU32::new(0);

/// `coc<pid>.<n>` in hex, at most 15 bytes (pid ≤ 2^22: 6 digits; n: up to 5).
fn host_veth_name() -> String {
    let n = NEXT_VETH.fetch_add(1, Ordering::Relaxed) & 0xf_ffff;
    let name = format!("{HOST_VETH_PREFIX}{:x}.{n:x}", std::process::id());
    debug_assert!(name.len() <= MAX_IFNAME_LEN);
    name
}

/// Removes host veths named by stale leases recorded in this network namespace.
fn remove_stale_veths(nl: &mut Rtnl, stale: &[Holder]) -> usize {
    let ns = lease::own_netns();
    stale
        .iter()
        .filter(|h| h.netns == ns && h.veth.starts_with(HOST_VETH_PREFIX))
        .filter(|h| nl.delete_link(&h.veth).is_ok())
        .count()
}

/// The parent's network setup for the container whose first process is `pid` (stopped
/// before GO, in its new network namespace).
pub(crate) fn attach(p: &NetPlan, pid: i32) -> Result<Attachment> {
    let cfg = &p.cfg;
    let start = crate::owner::process_start_time(pid)
        .ok_or_else(|| setup_err(format!("/proc/{pid}/stat"), io::Error::from_raw_os_error(libc::ESRCH)))?;
    let host = host_veth_name();
    let netns = lease::own_netns();
    let holder = Holder { nonce: 0, pid, start, netns, veth: host.clone() };
    let gw = p.gateway;
    // Next fit: start after this process's last allocation on the bridge, so that the
    // first address tried is usually free (no scan over live leases) and a released one
    // is not handed out again at once.
    let candidates = cfg.subnet.hosts_after(lease::last_allocated(&p.state, &cfg.bridge)).filter(move |a| *a != gw);
    let (lease, stale) = lease::acquire(&p.state, &cfg.bridge, cfg.address, candidates, holder).map_err(|e| match e {
        LeaseError::Taken(a) => Error::AddressInUse { bridge: cfg.bridge.clone(), address: a },
        LeaseError::Exhausted => setup_err(
            format!("every address of {} on bridge {} is leased", cfg.subnet, cfg.bridge),
            io::Error::from_raw_os_error(libc::EADDRNOTAVAIL),
        ),
        LeaseError::Io(op, path, e) => setup_err(format!("{op} {}", path.display()), e),
    })?;
    let addr = lease.addr;
    let info = NetworkInfo {
        bridge: cfg.bridge.clone(),
        interface: CONTAINER_IFNAME.to_string(),
        host_interface: host.clone(),
        address: addr,
        prefix: cfg.subnet.prefix(),
        gateway: gw,
        masquerade: cfg.nat,
        published: cfg.ports.clone(),
        firewall: cfg.firewall.clone(),
        egress_limit: cfg.egress,
        ingress_limit: cfg.ingress,
    };
    // From here on dropping `att` undoes everything (a missing veth is fine).
    let mut att = Attachment { info, lease, nat: None, netns, kept: false };
    let what = |step: &str| format!("{step}: {host} / {CONTAINER_IFNAME} {addr}/{} on bridge {}", cfg.subnet.prefix(), cfg.bridge);
    let mut nl = Rtnl::new().map_err(|e| setup_err(what("netlink socket"), e))?;
    remove_stale_veths(&mut nl, &stale);
    let master = ensure_bridge(&mut nl, cfg, gw).map_err(|e| setup_err(what("bridge"), e))?;
    let ns_path = format!("/proc/{pid}/ns/net");
    let ns = File::open(&ns_path).map_err(|e| setup_err(format!("{ns_path}: {}", what("open network namespace")), e))?;
    nl.create_veth(&VethSpec { host: &host, master, peer: CONTAINER_IFNAME, peer_ns: ns.as_fd(), mtu: cfg.mtu, mac: cfg.mac })
        .map_err(|e| setup_err(what("create veth"), e))?;
    let mut inner = Rtnl::in_netns(ns.as_fd()).map_err(|e| setup_err(what("netlink socket in the container"), e))?;
    let idx = inner
        .link_index(CONTAINER_IFNAME)
        .and_then(|i| i.ok_or_else(|| io::Error::from_raw_os_error(libc::ENODEV)))
        .map_err(|e| setup_err(what("find container interface"), e))?;
    inner.set_up(idx).map_err(|e| setup_err(what("bring the container interface up"), e))?;
    inner.add_address(idx, addr, cfg.subnet.prefix(), cfg.subnet.broadcast()).map_err(|e| setup_err(what("add address"), e))?;
    inner.add_default_route(idx, gw).map_err(|e| setup_err(what(&format!("add default route via {gw}")), e))?;
    if let Some(l) = cfg.egress {
        inner.add_root_tbf(idx, l.tbf_options()).map_err(|e| setup_err(what(&format!("limit egress to {l} (tbf on eth0)")), e))?;
    }
    if let Some(l) = cfg.ingress {
        let hidx = nl
            .link_index(&host)
            .and_then(|i| i.ok_or_else(|| io::Error::from_raw_os_error(libc::ENODEV)))
            .and_then(|i| nl.add_root_tbf(i, l.tbf_options()))
            .map_err(|e| setup_err(what(&format!("limit ingress to {l} (tbf on {host})")), e));
        hidx?;
    }
    super::firewall::install(ns.as_fd(), &cfg.firewall).map_err(|e| setup_err(what("install the firewall (table inet cocoon in the container)"), e))?;
    if cfg.nat || !cfg.ports.is_empty() {
        let spec = NatSpec { masquerade: cfg.nat, subnet: cfg.subnet, addr, ports: &cfg.ports };
        att.nat = Some(nat::install(&p.state, Owner { veth: host, pid, start }, &spec)?);
    }
    Ok(att)
}

/// The bridge's index; creates it (up, with the gateway address) if missing. The address
/// is also added to a bridge that lacks it (e.g. a creator killed in between).
fn ensure_bridge(nl: &mut Rtnl, cfg: &BridgeNetwork, gw: Ipv4Addr) -> io::Result<u32> {
    let idx = match nl.link_index(&cfg.bridge)? {
        Some(i) => i,
        None => {
            match nl.create_bridge(&cfg.bridge) {
                Err(e) if e.raw_os_error() != Some(libc::EEXIST) => return Err(e),
                _ => {}
            }
            nl.link_index(&cfg.bridge)?.ok_or_else(|| io::Error::from_raw_os_error(libc::ENODEV))?
        }
    };
    match nl.add_address(idx, gw, cfg.subnet.prefix(), cfg.subnet.broadcast()) {
        Err(e) if e.raw_os_error() != Some(libc::EEXIST) => Err(e),
        _ => Ok(idx),
    }
}

/// At a process's first bridge spawn (after GO, while the child sets itself up): the
/// stale leases of `p`'s state directory and their host veths (see [`sweep_stale`]).
pub(crate) fn sweep_once(p: &NetPlan) {
    static DONE: std::sync::Once = std::sync::Once::new();
    DONE.call_once(|| {
        let _ = sweep_stale(Some(&p.state));
    });
}

/// Removes what killed processes left: every lease under the state directory
/// (`$COCOON_NET_STATE_DIR` or [`super::DEFAULT_STATE_DIR`], or `state_dir`) whose
/// container is gone, the host veths those leases name in the calling thread's
/// network namespace, and the rules of gone containers in its nftables table
/// [`super::NAT_TABLE`]. Returns how many leases were removed.
pub fn sweep_stale(state_dir: Option<&Path>) -> Result<usize> {
    let dir = lease::state_dir(state_dir);
    nat::sweep(&dir);
    let stale = lease::sweep(&dir).map_err(|e| Error::os("sweep address leases", dir.display().to_string(), e))?;
    if !stale.is_empty() {
        if let Ok(mut nl) = Rtnl::new() {
            remove_stale_veths(&mut nl, &stale);
        }
    }
    Ok(stale.len())
}
