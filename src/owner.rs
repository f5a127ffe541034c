//! Records that a live process holds across processes (MCS level reservations, network
//! address leases): the owner is a pid *and* its start time, so a pid the kernel reused
//! for another process is not taken for the owner; random nonces name the records' files.

/// The start time of `pid` (clock ticks since boot, field 22 of `/proc/<pid>/stat`), or
/// `None` when there is no such process.
pub(crate) fn process_start_time(pid: i32) -> Option<u64> {
    let stat = crate::kernel_file::read_to_string(format!("/proc/{pid}/stat"), 512).ok()?;
    // comm (field 2) may hold spaces and ')': split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

pub(crate) fn random_u64() -> u64 {
    let mut buf = [0u8; 8];
    // SAFETY: getrandom writes at most buf.len() bytes into our buffer.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n == buf.len() as isize {
        return u64::from_ne_bytes(buf);
    }
    // Fallback (getrandom unavailable): mix time, pid and a counter. Only uniqueness of
    // the eventual pick matters (the callers check for collisions).
    use std::sync::atomic::{AtomicU64, Ordering};
    static CTR: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = t ^ (u64::from(std::process::id()) << 32) ^ CTR.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x
}
