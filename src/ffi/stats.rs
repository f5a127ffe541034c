//! `cocoon_container_net_stats` and `cocoon_stats_prometheus` (`cocoon::stats`).

use std::ffi::{c_char, c_int};

use super::container::cocoon_container;
use super::{array_arg, guard, nonnull, put, Fail};
use crate::stats::{prometheus, ContainerMetrics, InterfaceStats};

/// Room for an interface name (`IFNAMSIZ`, with its NUL).
pub const COCOON_IFNAME_MAX: usize = 16;

/// The counters of one network interface of a container.
///
/// The struct grows at its end in later versions: set `size` of the first element to
/// `sizeof(cocoon_interface_stats)`; cocoon uses it as the stride of the array and fills
/// at most that many bytes of each element (setting each element's `size`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cocoon_interface_stats {
    /// In (first element): `sizeof(cocoon_interface_stats)`. Out: the bytes filled.
    pub size: u32,
    /// The interface's name inside the container, NUL-terminated.
    pub name: [c_char; COCOON_IFNAME_MAX],
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

/// The smallest `cocoon_interface_stats.size` accepted: the first version's size.
pub const COCOON_INTERFACE_STATS_SIZE_V1: u32 = 88;

const _: () = assert!(std::mem::size_of::<cocoon_interface_stats>() == COCOON_INTERFACE_STATS_SIZE_V1 as usize);

fn to_c(i: &InterfaceStats) -> cocoon_interface_stats {
    let mut out = cocoon_interface_stats {
        size: 0,
        name: [0; COCOON_IFNAME_MAX],
        rx_bytes: i.rx_bytes,
        rx_packets: i.rx_packets,
        rx_errors: i.rx_errors,
        rx_dropped: i.rx_dropped,
        tx_bytes: i.tx_bytes,
        tx_packets: i.tx_packets,
        tx_errors: i.tx_errors,
        tx_dropped: i.tx_dropped,
    };
    // Kernel interface names are at most 15 bytes; the last byte stays the terminator.
    for (d, s) in out.name.iter_mut().zip(i.name.as_bytes().iter().take(COCOON_IFNAME_MAX - 1)) {
        *d = *s as c_char;
    }
    out
}

/// The counters of the container's network interfaces (read in its network namespace;
/// none when it has no network namespace of its own). `*count` receives how many there
/// are; up to `cap` of them are written to `out` (which may be NULL when `cap` is 0: call
/// so first to learn the count). Set `out[0].size = sizeof(cocoon_interface_stats)`
/// before the call. An ended container -> `COCOON_E_ALREADY_EXITED`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_container_net_stats(
    container: *const cocoon_container,
    out: *mut cocoon_interface_stats,
    cap: usize,
    count: *mut usize,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a live handle.
        let c = unsafe { container.as_ref() }.ok_or_else(|| Fail::null("container"))?;
        nonnull(count, "count")?;
        let stride = if cap == 0 {
            0
        } else {
            nonnull(out, "out")?;
            // SAFETY: non-NULL and (cap > 0) at least one element starting with `size`.
            let size = unsafe { std::ptr::addr_of!((*out).size).read_unaligned() };
            if size < COCOON_INTERFACE_STATS_SIZE_V1 {
                return Err(Fail::arg(format!(
                    "out[0].size is {size}; set it to sizeof(cocoon_interface_stats) (at least {COCOON_INTERFACE_STATS_SIZE_V1})"
                )));
            }
            if cap.checked_mul(size as usize).is_none_or(|b| b > isize::MAX as usize) {
                return Err(Fail::arg(format!("cap {cap} elements of {size} bytes is too large")));
            }
            size as usize
        };
        let all = c.inner.net_stats()?;
        let n = std::mem::size_of::<cocoon_interface_stats>().min(stride);
        for (k, i) in all.iter().take(cap).enumerate() {
            let mut e = to_c(i);
            e.size = n as u32;
            // SAFETY: element k of `cap` elements of `stride` bytes (checked above to fit
            // in isize); `n` <= stride and <= size_of::<cocoon_interface_stats>(); the local
            // and the caller's array do not overlap.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    (&e as *const cocoon_interface_stats).cast::<u8>(),
                    out.cast::<u8>().add(k * stride),
                    n,
                )
            };
        }
        // SAFETY: checked non-NULL.
        unsafe { put(count, all.len()) };
        Ok(())
    })
}

/// Renders the figures of `containers` (`n` handles; cgroup usage where they have a
/// cgroup, and their interfaces) in the Prometheus text format. `*needed` (if not NULL)
/// receives the size of the whole text with its NUL; the text is written to `buf` (if not
/// NULL) NUL-terminated and cut to `len` bytes. A container whose cgroup cannot be read
/// -> that error (`COCOON_E_CGROUP`); one that has ended -> `COCOON_E_ALREADY_EXITED`.
#[no_mangle]
pub unsafe extern "C" fn cocoon_stats_prometheus(
    containers: *const *const cocoon_container,
    n: usize,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> c_int {
    guard(|| {
        // SAFETY: NULL (with n == 0) or `n` readable pointers per the contract.
        let handles = unsafe { array_arg(containers, n, "containers") }?;
        let mut figures = Vec::with_capacity(handles.len());
        for (k, &h) in handles.iter().enumerate() {
            // SAFETY: each element is NULL or a live handle per the contract.
            let c = unsafe { h.as_ref() }.ok_or_else(|| Fail::arg(format!("containers[{k}] is NULL")))?;
            let stats = match c.inner.stats() {
                Ok(s) => s,
                // No cgroup: no cgroup figures, but still its interfaces.
                Err(crate::Error::InvalidConfig { .. }) => crate::CgroupStats::default(),
                Err(e) => return Err(e.into()),
            };
            figures.push((c.inner.id(), stats, c.inner.net_stats()?));
        }
        let metrics: Vec<ContainerMetrics<'_>> =
            figures.iter().map(|(id, stats, net)| ContainerMetrics { id, stats, net }).collect();
        let text = prometheus(&metrics);
        if !needed.is_null() {
            // SAFETY: checked non-NULL.
            unsafe { put(needed, text.len() + 1) };
        }
        if !buf.is_null() && len > 0 {
            let k = text.len().min(len - 1);
            // SAFETY: `buf` holds `len` writable bytes per the contract; k + 1 <= len.
            unsafe {
                std::ptr::copy_nonoverlapping(text.as_ptr().cast::<c_char>(), buf, k);
                *buf.add(k) = 0;
            }
        }
        Ok(())
    })
}
