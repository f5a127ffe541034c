//! The text of a generated module. Every name that reaches here was checked
//! ([`super::validate_policy_name`], `context::validate_name`), so nothing needs quoting.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Access, Grant};
use crate::capability::Capability;
use crate::net::Protocol;

/// Perms on a bind source's type, per class: (class, read perms, extra write perms).
const BIND_PERMS: &[(&str, &str, &str)] = &[
    ("dir", "getattr search open read ioctl lock", "write add_name remove_name create rmdir rename reparent setattr"),
    ("file", "getattr open read ioctl lock map", "write append create unlink link rename setattr"),
    ("lnk_file", "getattr read", "create unlink rename setattr"),
    ("fifo_file", "getattr open read ioctl lock", "write append create unlink setattr"),
    ("sock_file", "getattr read", "write create unlink setattr"),
];

/// Perms on a device node's type.
const DEVICE_PERMS: (&str, &str) = ("getattr open read ioctl lock", "write append");

/// The SELinux name of a capability (`CAP_NET_ADMIN` -> `net_admin`) and whether it is
/// in the `capability2` class (numbers 32 and up).
fn cap_name(cap: Capability) -> (String, bool) {
    let full = cap.to_string();
    let name = full.strip_prefix("CAP_").unwrap_or(&full).to_ascii_lowercase();
    (name, cap.bitmask().trailing_zeros() >= 32)
}

fn perms(access: Access, read: &str, write: &str) -> String {
    match access {
        Access::Read => read.to_string(),
        Access::ReadWrite => format!("{read} {write}"),
    }
}

/// The module text for policy `name`.
pub(crate) fn render(
    name: &str,
    caps: &[Capability],
    binds: &BTreeMap<String, Grant>,
    devices: &BTreeMap<String, Grant>,
    ports: &BTreeMap<(Protocol, String), Vec<u16>>,
) -> String {
    let mut s = String::new();
    // writeln! into a String cannot fail.
    let _ = writeln!(s, "; cocoon per-container SELinux policy `{name}`, generated from the container's configuration");
    let _ = writeln!(
        s,
        "; by cocoon {}. Needs cocoon.cil (the `container` template) in the policy.",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(
        s,
        "; Install: semodule -i {}.cil   Remove: semodule -r {}",
        super::module_name(name),
        super::module_name(name)
    );
    let _ = writeln!(s, "; The container runs as system_u:system_r:{name}.process:<level>.");
    let _ = writeln!(s, "(block {name}");
    let _ = writeln!(s, "    (blockinherit container)");

    let (c1, c2): (Vec<_>, Vec<_>) = caps.iter().map(|c| cap_name(*c)).partition(|(_, two)| !two);
    if caps.is_empty() {
        let _ = writeln!(s, "    ; capabilities: none");
    } else {
        let _ = writeln!(s, "    ; capabilities: the bounding set");
    }
    for (class, list) in [("capability", c1), ("capability2", c2)] {
        if !list.is_empty() {
            let names: Vec<_> = list.into_iter().map(|(n, _)| n).collect();
            let _ = writeln!(s, "    (allow process self ({class} ({})))", names.join(" "));
        }
    }

    for g in binds.values() {
        let _ = writeln!(s, "    ; {}: {}", g.why, if g.access == Access::Read { "read" } else { "read-write" });
        for (class, read, write) in BIND_PERMS {
            let _ = writeln!(s, "    (allow process {} ({class} ({})))", g.ty, perms(g.access, read, write));
        }
    }
    for g in devices.values() {
        let _ = writeln!(s, "    ; {}", g.why);
        let (read, write) = DEVICE_PERMS;
        let _ = writeln!(s, "    (allow process {} (chr_file ({})))", g.ty, perms(g.access, read, write));
    }

    let mut sockets_done = Vec::new();
    for ((proto, ty), list) in ports {
        let class = match proto {
            Protocol::Tcp => "tcp_socket",
            Protocol::Udp => "udp_socket",
        };
        let nums: Vec<String> = list.iter().map(|p| format!("{p}/{proto}")).collect();
        let _ = writeln!(s, "    ; published port(s) {}", nums.join(" "));
        if !sockets_done.contains(proto) {
            sockets_done.push(*proto);
            let base = "create bind connect read write getattr setattr getopt setopt shutdown";
            let extra = if *proto == Protocol::Tcp { " listen accept" } else { "" };
            let _ = writeln!(s, "    (allow process self ({class} ({base}{extra})))");
            let _ = writeln!(s, "    (allow process node_t ({class} (node_bind)))");
        }
        let _ = writeln!(s, "    (allow process {ty} ({class} (name_bind)))");
    }
    s.push_str(")\n");
    s
}
