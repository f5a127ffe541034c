//! Value types of a [`CgroupConfig`](super::CgroupConfig): bytes, CPU shares and weights,
//! CPU/node id sets, block devices and I/O rates.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// A number of bytes.
///
/// The unit constructors saturate at `u64::MAX` on overflow; such a value is then refused by
/// [`CgroupConfig::validate`](super::CgroupConfig::validate) as too large, never silently used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(pub u64);

impl Bytes {
    /// `n` bytes.
    pub const fn new(n: u64) -> Bytes {
        Bytes(n)
    }
    /// `n` KiB.
    pub const fn kib(n: u64) -> Bytes {
        Bytes(n.saturating_mul(1 << 10))
    }
    /// `n` MiB.
    pub const fn mib(n: u64) -> Bytes {
        Bytes(n.saturating_mul(1 << 20))
    }
    /// `n` GiB.
    pub const fn gib(n: u64) -> Bytes {
        Bytes(n.saturating_mul(1 << 30))
    }
    /// The number of bytes.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes", self.0)
    }
}

/// cgroup v1 `cpu.shares` (2 to 262144; 1024 is the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CpuShares(pub u64);

/// cgroup v2 `cpu.weight` (1 to 10000; 100 is the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CpuWeight(pub u64);

impl CpuShares {
    /// Smallest valid value.
    pub const MIN: u64 = 2;
    /// Largest valid value.
    pub const MAX: u64 = 262_144;

    /// The v2 weight with the same relative share (the formula runc and crun use:
    /// `1 + (shares - 2) * 9999 / 262142`). Values out of range are clamped first.
    pub fn to_weight(self) -> CpuWeight {
        let s = self.0.clamp(Self::MIN, Self::MAX);
        CpuWeight(1 + ((s - 2) * 9999) / 262_142)
    }
}

impl CpuWeight {
    /// Smallest valid value.
    pub const MIN: u64 = 1;
    /// Largest valid value.
    pub const MAX: u64 = 10_000;

    /// The v1 shares for this weight: the inverse of [`CpuShares::to_weight`], rounded up so
    /// that `w.to_shares().to_weight() == w` for every valid `w`. Out-of-range values are
    /// clamped first.
    pub fn to_shares(self) -> CpuShares {
        let w = self.0.clamp(Self::MIN, Self::MAX);
        CpuShares(2 + ((w - 1) * 262_142).div_ceil(9999))
    }
}

/// A set of CPU or memory-node numbers, written like the kernel's lists: `"0-3,8,10-11"`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct IdSet(BTreeSet<u32>);

impl IdSet {
    /// A set holding these ids.
    pub fn from_ids(ids: impl IntoIterator<Item = u32>) -> IdSet {
        IdSet(ids.into_iter().collect())
    }
    /// Whether the set holds `id`.
    pub fn contains(&self, id: u32) -> bool {
        self.0.contains(&id)
    }
    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The ids, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().copied()
    }
    /// Whether every id of `self` is in `other`.
    pub fn is_subset(&self, other: &IdSet) -> bool {
        self.0.is_subset(&other.0)
    }
}

/// Why an [`IdSet`] could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad id list {input:?}: {reason}")]
pub struct IdSetParseError {
    /// The text.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// The largest id accepted in a list (guards against `0-4294967295` eating memory).
const IDSET_MAX_ID: u32 = 1 << 16;

impl FromStr for IdSet {
    type Err = IdSetParseError;
    fn from_str(s: &str) -> Result<IdSet, IdSetParseError> {
        let err = |reason| IdSetParseError { input: s.to_string(), reason };
        let mut set = BTreeSet::new();
        let t = s.trim();
        if t.is_empty() {
            return Ok(IdSet(set));
        }
        for part in t.split(',') {
            let num = |x: &str| -> Result<u32, IdSetParseError> {
                if x.is_empty() || !x.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err("expected a number or a range like 0-3"));
                }
                let v: u32 = x.parse().map_err(|_| err("number too large"))?;
                if v > IDSET_MAX_ID {
                    return Err(err("number too large"));
                }
                Ok(v)
            };
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (num(a)?, num(b)?);
                    if a > b {
                        return Err(err("range start is after its end"));
                    }
                    set.extend(a..=b);
                }
                None => {
                    set.insert(num(part)?);
                }
            }
        }
        Ok(IdSet(set))
    }
}

impl fmt::Display for IdSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut it = self.0.iter().copied().peekable();
        while let Some(start) = it.next() {
            let mut end = start;
            while it.peek() == Some(&(end + 1)) {
                end += 1;
                it.next();
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if start == end {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
        }
        Ok(())
    }
}

/// A block device, named by its path or its numbers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BlockDevice {
    /// A block device node, e.g. `/dev/vda`.
    Path(PathBuf),
    /// `major:minor`.
    Number {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
}

impl From<&str> for BlockDevice {
    fn from(p: &str) -> BlockDevice {
        BlockDevice::Path(PathBuf::from(p))
    }
}

impl From<PathBuf> for BlockDevice {
    fn from(p: PathBuf) -> BlockDevice {
        BlockDevice::Path(p)
    }
}

impl From<(u32, u32)> for BlockDevice {
    fn from((major, minor): (u32, u32)) -> BlockDevice {
        BlockDevice::Number { major, minor }
    }
}

/// Which I/O rate an [`IoLimit`] caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IoRate {
    /// Bytes read per second.
    ReadBps,
    /// Bytes written per second.
    WriteBps,
    /// Read operations per second.
    ReadIops,
    /// Write operations per second.
    WriteIops,
}

impl IoRate {
    pub(crate) fn v2_key(self) -> &'static str {
        match self {
            IoRate::ReadBps => "rbps",
            IoRate::WriteBps => "wbps",
            IoRate::ReadIops => "riops",
            IoRate::WriteIops => "wiops",
        }
    }
}

/// A per-device I/O throttle.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IoLimit {
    /// The device.
    pub device: BlockDevice,
    /// Which rate.
    pub rate: IoRate,
    /// The limit (bytes or operations per second; at least 1).
    pub value: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shares_weight_bounds() {
        assert_eq!(CpuShares(2).to_weight(), CpuWeight(1));
        assert_eq!(CpuShares(262_144).to_weight(), CpuWeight(10_000));
        assert_eq!(CpuShares(1024).to_weight(), CpuWeight(39));
        assert_eq!(CpuWeight(1).to_shares(), CpuShares(2));
        assert_eq!(CpuWeight(10_000).to_shares(), CpuShares(262_144));
    }

    proptest! {
        #[test]
        fn weight_round_trips(w in CpuWeight::MIN..=CpuWeight::MAX) {
            let s = CpuWeight(w).to_shares();
            prop_assert!((CpuShares::MIN..=CpuShares::MAX).contains(&s.0));
            prop_assert_eq!(s.to_weight(), CpuWeight(w));
        }

        #[test]
        fn shares_round_trip_within_one_weight_step(s in CpuShares::MIN..=CpuShares::MAX) {
            let w = CpuShares(s).to_weight();
            prop_assert!((CpuWeight::MIN..=CpuWeight::MAX).contains(&w.0));
            let back = w.to_shares().0;
            // One weight step spans 262142/9999 ≈ 26.2 shares.
            prop_assert!(back <= s && s - back <= 27, "{} -> {:?} -> {}", s, w, back);
        }

        #[test]
        fn conversion_is_monotonic(a in CpuShares::MIN..=CpuShares::MAX, b in CpuShares::MIN..=CpuShares::MAX) {
            if a <= b {
                prop_assert!(CpuShares(a).to_weight() <= CpuShares(b).to_weight());
            }
        }

        #[test]
        fn idset_display_parses_back(ids in proptest::collection::btree_set(0u32..512, 0..40)) {
            let set = IdSet(ids);
            let text = set.to_string();
            prop_assert_eq!(text.parse::<IdSet>().unwrap(), set);
        }
    }

    #[test]
    fn idset_parse() {
        assert_eq!("0-2,5".parse::<IdSet>().unwrap(), IdSet::from_ids([0, 1, 2, 5]));
        assert_eq!("0-1\n".parse::<IdSet>().unwrap().to_string(), "0-1");
        for bad in ["a", "3-1", "1,,2", "-1", "0-99999999", "1-", " 1 - 2"] {
            assert!(bad.parse::<IdSet>().is_err(), "{bad:?} parsed");
        }
    }
}
