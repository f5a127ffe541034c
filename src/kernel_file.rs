//! Reading the kernel's small text files (procfs, sysfs, cgroupfs) in as few syscalls as
//! they need: open, one read into a buffer already big enough, the read that sees the
//! end, close.
//!
//! `std::fs::read_to_string` first `statx`es the file for a size hint; these files say 0,
//! so it then probes with reads of 32, 64, 128 … bytes, and every read of a seq_file
//! (mountinfo) makes the kernel walk its list again. A process's first spawn reads several
//! of them (mountinfo, the kernel version, cap_last_cap, cgroup.controllers, `/proc/<pid>/stat`
//! in the stale sweep), so the probing is a measurable part of a one-shot start.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// The whole of a kernel text file; `size_hint` is the buffer's first size (it grows
/// when the file is longer). Invalid UTF-8 is an `InvalidData` error, as in std.
pub(crate) fn read_to_string(path: impl AsRef<Path>, size_hint: usize) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut buf: Vec<u8> = Vec::with_capacity(size_hint.max(64));
    loop {
        if buf.capacity() - buf.len() < 64 {
            buf.reserve(buf.capacity());
        }
        let len = buf.len();
        let cap = buf.capacity();
        buf.resize(cap, 0);
        match file.read(&mut buf[len..]) {
            Ok(0) => {
                buf.truncate(len);
                break;
            }
            Ok(n) => buf.truncate(len + n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => buf.truncate(len),
            Err(e) => return Err(e),
        }
    }
    String::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::read_to_string;

    #[test]
    fn reads_what_std_reads_with_any_first_size() {
        for path in ["/proc/self/mountinfo", "/proc/sys/kernel/osrelease", "/proc/stat"] {
            let want = std::fs::read_to_string(path).unwrap();
            for hint in [1, 64, 100, 4096] {
                let got = read_to_string(path, hint).unwrap();
                // /proc/stat's counters move between the reads: compare its shape.
                if path == "/proc/stat" {
                    assert_eq!(got.lines().count(), want.lines().count(), "{path} hint {hint}");
                } else {
                    assert_eq!(got, want, "{path} hint {hint}");
                }
            }
        }
        assert_eq!(read_to_string("/nonexistent/file", 16).unwrap_err().kind(), std::io::ErrorKind::NotFound);
    }
}
