//! Network counters of a container, per interface, from `/proc/<pid>/net/dev`: procfs
//! shows the network namespace of the process it is read through, so these are the
//! container's interfaces (its `lo` and `eth0`), not the host's.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// The counters of one network interface, as the kernel keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InterfaceStats {
    /// The interface's name inside the container (`lo`, `eth0`).
    pub name: String,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Received packets dropped.
    pub rx_dropped: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Send errors.
    pub tx_errors: u64,
    /// Packets dropped on send.
    pub tx_dropped: u64,
}

/// The interfaces of the network namespace of process `pid`.
pub fn net_stats_of_pid(pid: i32) -> Result<Vec<InterfaceStats>> {
    let path = PathBuf::from(format!("/proc/{pid}/net/dev"));
    let text = crate::kernel_file::read_to_string(&path, 4096).map_err(|e| match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ESRCH) => Error::AlreadyExited,
        _ => Error::os("read", path.display().to_string(), e),
    })?;
    parse(&text).ok_or_else(|| Error::os("parse", path.display().to_string(), std::io::ErrorKind::InvalidData.into()))
}

/// Parses `net/dev`: two header lines, then `name: rx_bytes packets errs drop fifo frame
/// compressed multicast tx_bytes packets errs drop fifo colls carrier compressed`.
fn parse(text: &str) -> Option<Vec<InterfaceStats>> {
    let mut out = Vec::new();
    for line in text.lines().skip(2) {
        let (name, rest) = line.split_once(':')?;
        let n: Vec<u64> = rest.split_whitespace().map(|f| f.parse().ok()).collect::<Option<_>>()?;
        if n.len() < 16 {
            return None;
        }
        out.push(InterfaceStats {
            name: name.trim().to_string(),
            rx_bytes: n[0],
            rx_packets: n[1],
            rx_errors: n[2],
            rx_dropped: n[3],
            tx_bytes: n[8],
            tx_packets: n[9],
            tx_errors: n[10],
            tx_dropped: n[11],
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_kernel_layout_and_refuses_garbage() {
        let t = "Inter-|   Receive                                                |  Transmit\n \
                 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
                 lo:    1200      12    0    0    0     0          0         0     1200      12    0    0    0     0       0          0\n  \
                 eth0: 98765      43    1    2    0     0          0         0     4321      21    3    4    0     0       0          0\n";
        let v = parse(t).expect("parses");
        assert_eq!(v.len(), 2);
        assert_eq!((v[0].name.as_str(), v[0].rx_bytes, v[0].tx_packets), ("lo", 1200, 12));
        assert_eq!((v[1].name.as_str(), v[1].rx_bytes, v[1].rx_errors, v[1].rx_dropped), ("eth0", 98765, 1, 2));
        assert_eq!((v[1].tx_bytes, v[1].tx_packets, v[1].tx_errors, v[1].tx_dropped), (4321, 21, 3, 4));
        assert!(parse("a\nb\nlo: 1 2 x\n").is_none());
        assert!(parse("a\nb\nlo: 1 2 3\n").is_none());
        assert_eq!(parse("a\nb\n"), Some(vec![]));
    }
}
