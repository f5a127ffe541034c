//! User and group id maps for user namespaces.

use crate::error::{Error, Result};

/// One range of a uid or gid map: `count` ids starting at `inside` in the container map to
/// ids starting at `outside` on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdRange {
    /// First id inside the container.
    pub inside: u32,
    /// First id on the host.
    pub outside: u32,
    /// Number of ids in the range (at least 1).
    pub count: u32,
}

impl IdRange {
    /// A range of `count` ids: `inside..inside+count` ↦ `outside..outside+count`.
    pub fn new(inside: u32, outside: u32, count: u32) -> Self {
        IdRange { inside, outside, count }
    }
}

/// The maximum number of lines the kernel accepts in a uid_map / gid_map.
pub const MAX_ID_RANGES: usize = 340;

/// Checks a map the way the kernel would, but with an error that says what is wrong.
///
/// Rejected: an empty map, more than [`MAX_ID_RANGES`] ranges, a zero count, a range that
/// overflows 32 bits (or reaches id 4294967295, which is never valid), and ranges that
/// overlap on either side.
pub fn validate_id_map(what: &'static str, map: &[IdRange]) -> Result<()> {
    if map.is_empty() {
        return Err(Error::invalid(what, "the map is empty"));
    }
    if map.len() > MAX_ID_RANGES {
        return Err(Error::invalid(
            what,
            format!("{} ranges given, the kernel accepts at most {MAX_ID_RANGES}", map.len()),
        ));
    }
    for r in map {
        if r.count == 0 {
            return Err(Error::invalid(what, format!("range {r:?} has a count of 0")));
        }
        let end_in = r.inside as u64 + r.count as u64;
        let end_out = r.outside as u64 + r.count as u64;
        if end_in > u32::MAX as u64 || end_out > u32::MAX as u64 {
            return Err(Error::invalid(what, format!("range {r:?} runs past id 4294967294")));
        }
    }
    for (i, a) in map.iter().enumerate() {
        for b in &map[i + 1..] {
            if overlaps(a.inside, a.count, b.inside, b.count) {
                return Err(Error::invalid(
                    what,
                    format!("ranges {a:?} and {b:?} overlap inside the container"),
                ));
            }
            if overlaps(a.outside, a.count, b.outside, b.count) {
                return Err(Error::invalid(
                    what,
                    format!("ranges {a:?} and {b:?} overlap on the host"),
                ));
            }
        }
    }
    Ok(())
}

fn overlaps(a: u32, alen: u32, b: u32, blen: u32) -> bool {
    let (a, alen, b, blen) = (a as u64, alen as u64, b as u64, blen as u64);
    a < b + blen && b < a + alen
}

/// Maps an id inside the container to the host, if the map covers it.
pub fn map_to_host(map: &[IdRange], inside: u32) -> Option<u32> {
    map.iter().find_map(|r| {
        let off = inside.checked_sub(r.inside)?;
        (off < r.count).then(|| r.outside + off)
    })
}

/// The text the kernel expects in `/proc/<pid>/uid_map`.
pub(crate) fn render(map: &[IdRange]) -> String {
    let mut s = String::with_capacity(map.len() * 24);
    for r in map {
        s.push_str(&format!("{} {} {}\n", r.inside, r.outside, r.count));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_overlap_and_empty() {
        assert!(validate_id_map("uid map", &[]).is_err());
        let m = [IdRange::new(0, 1000, 10), IdRange::new(5, 5000, 10)];
        assert!(matches!(validate_id_map("uid map", &m), Err(Error::InvalidConfig { .. })));
        let m = [IdRange::new(0, 1000, 10), IdRange::new(50, 1005, 10)];
        assert!(validate_id_map("uid map", &m).is_err());
        let m = [IdRange::new(0, 1000, 10), IdRange::new(10, 1010, 10)];
        assert!(validate_id_map("uid map", &m).is_ok());
        assert!(validate_id_map("uid map", &[IdRange::new(0, u32::MAX, 1)]).is_err());
        assert!(validate_id_map("uid map", &[IdRange::new(0, 0, 0)]).is_err());
    }

    proptest! {
        // Whatever the validator accepts, the map is a bijection on its ranges.
        #[test]
        fn accepted_maps_are_injective(ranges in proptest::collection::vec(
            (0u32..2000, 0u32..2000, 1u32..300).prop_map(|(i, o, c)| IdRange::new(i, o, c)), 1..5)) {
            if validate_id_map("uid map", &ranges).is_ok() {
                let mut seen = std::collections::HashSet::new();
                for r in &ranges {
                    for k in 0..r.count {
                        prop_assert_eq!(map_to_host(&ranges, r.inside + k), Some(r.outside + k));
                        prop_assert!(seen.insert(r.outside + k));
                    }
                }
            }
        }

        // The validator never panics, whatever the values.
        #[test]
        fn never_panics(ranges in proptest::collection::vec(
            (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(i, o, c)| IdRange::new(i, o, c)), 0..6)) {
            let _ = validate_id_map("gid map", &ranges);
        }
    }
}
