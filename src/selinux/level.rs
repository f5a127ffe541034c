//! MLS/MCS levels and ranges: `s0`, `s0:c1,c2`, `s0:c0.c1023`, `s0-s0:c0.c1023`.
//!
//! A [`Level`] is a sensitivity (`s0`..`s15`) plus a set of categories (`c0`..`c1023`,
//! kept as a 1024-bit set). A [`MlsRange`] is a `low-high` pair of levels where `high`
//! dominates `low`; a single level is a range whose ends are equal.
//!
//! # Canonical form
//!
//! [`Display`](std::fmt::Display) writes the form the kernel itself writes back (for
//! example in `/proc/self/attr/current`), so that a label we format compares equal to the
//! label the kernel reports:
//!
//! * categories in ascending order, separated by `,`;
//! * a run of **three or more** consecutive categories is compressed to `first.last`
//!   (`c0,c1,c2` → `c0.c2`), a run of two stays `c0,c1` — the kernel's rule
//!   (`mls_sid_to_context`) and libselinux's;
//! * a level without categories is just `s0`;
//! * a range whose two ends are equal is written as one level (`s0-s0` → `s0`).

use std::fmt;
use std::str::FromStr;

use super::SelinuxError;

/// The number of categories (`c0`..`c1023`).
pub const CATEGORY_COUNT: u16 = 1024;
/// The number of sensitivities accepted (`s0`..`s15`).
pub const SENSITIVITY_COUNT: u8 = 16;

const WORDS: usize = CATEGORY_COUNT as usize / 64;

/// A set of MCS categories `c0`..`c1023`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CategorySet {
    bits: [u64; WORDS],
}

impl CategorySet {
    /// The empty set.
    pub const fn new() -> CategorySet {
        CategorySet { bits: [0; WORDS] }
    }

    /// A set holding the given categories. Fails on a category above `c1023`.
    pub fn from_categories(cats: impl IntoIterator<Item = u16>) -> Result<CategorySet, SelinuxError> {
        let mut s = CategorySet::new();
        for c in cats {
            if !s.insert(c) {
                // inserting twice is fine; out of range is not
                if c >= CATEGORY_COUNT {
                    return Err(SelinuxError::InvalidLevel {
                        level: format!("c{c}"),
                        reason: format!("categories go from c0 to c{}", CATEGORY_COUNT - 1),
                    });
                }
            }
        }
        Ok(s)
    }

    /// Adds category `c`. Returns false if `c` is out of range or already present.
    pub fn insert(&mut self, c: u16) -> bool {
        if c >= CATEGORY_COUNT {
            return false;
        }
        let (w, b) = (c as usize / 64, c % 64);
        let had = self.bits[w] & (1 << b) != 0;
        self.bits[w] |= 1 << b;
        !had
    }

    /// Removes category `c`; returns whether it was present.
    pub fn remove(&mut self, c: u16) -> bool {
        if c >= CATEGORY_COUNT {
            return false;
        }
        let (w, b) = (c as usize / 64, c % 64);
        let had = self.bits[w] & (1 << b) != 0;
        self.bits[w] &= !(1 << b);
        had
    }

    /// Whether category `c` is in the set.
    pub fn contains(&self, c: u16) -> bool {
        c < CATEGORY_COUNT && self.bits[c as usize / 64] & (1 << (c % 64)) != 0
    }

    /// The number of categories in the set.
    pub fn len(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|w| *w == 0)
    }

    /// Whether every category of `other` is also in `self`.
    pub fn is_superset(&self, other: &CategorySet) -> bool {
        self.bits.iter().zip(&other.bits).all(|(a, b)| a & b == *b)
    }

    /// The categories in both sets.
    pub fn intersection(&self, other: &CategorySet) -> CategorySet {
        let mut bits = self.bits;
        for (a, b) in bits.iter_mut().zip(&other.bits) {
            *a &= b;
        }
        CategorySet { bits }
    }

    /// The categories in either set.
    pub fn union(&self, other: &CategorySet) -> CategorySet {
        let mut bits = self.bits;
        for (a, b) in bits.iter_mut().zip(&other.bits) {
            *a |= b;
        }
        CategorySet { bits }
    }

    /// The categories in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (0..CATEGORY_COUNT).filter(move |c| self.contains(*c))
    }

    /// Parses `c1,c2`, `c0.c1023`, `c0.c3,c7` (the part after `s0:`).
    fn parse_list(text: &str, whole: &str) -> Result<CategorySet, SelinuxError> {
        let bad = |reason: String| SelinuxError::InvalidLevel { level: whole.to_string(), reason };
        let mut set = CategorySet::new();
        if text.is_empty() {
            return Err(bad("empty category list after ':'".into()));
        }
        for item in text.split(',') {
            match item.split_once('.') {
                Some((a, b)) => {
                    let lo = parse_category(a).map_err(&bad)?;
                    let hi = parse_category(b).map_err(&bad)?;
                    if lo >= hi {
                        return Err(bad(format!("category range {item:?} must go upwards")));
                    }
                    for c in lo..=hi {
                        set.insert(c);
                    }
                }
                None => {
                    let c = parse_category(item).map_err(&bad)?;
                    set.insert(c);
                }
            }
        }
        Ok(set)
    }
}

fn parse_number(text: &str, what: &str, prefix: char, max: u32) -> Result<u32, String> {
    let digits = text
        .strip_prefix(prefix)
        .ok_or_else(|| format!("{what} {text:?} must look like {prefix}N"))?;
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || (digits.len() > 1 && digits.starts_with('0'))
    {
        return Err(format!("{what} {text:?} must look like {prefix}N (decimal, no leading zero)"));
    }
    let n: u32 = digits.parse().map_err(|_| format!("{what} {text:?} is too large"))?;
    if n > max {
        return Err(format!("{what} {text:?} is out of range ({prefix}0..{prefix}{max})"));
    }
    Ok(n)
}

fn parse_category(text: &str) -> Result<u16, String> {
    parse_number(text, "category", 'c', u32::from(CATEGORY_COUNT) - 1).map(|n| n as u16)
}

impl fmt::Display for CategorySet {
    /// The kernel's compressed form: `c0.c2,c5,c7,c8` (no `s0:` prefix).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut cats = self.iter().peekable();
        while let Some(start) = cats.next() {
            let mut end = start;
            while cats.peek() == Some(&(end + 1)) {
                end += 1;
                cats.next();
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            match end - start {
                0 => write!(f, "c{start}")?,
                1 => write!(f, "c{start},c{end}")?,
                _ => write!(f, "c{start}.c{end}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for CategorySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CategorySet({self})")
    }
}

/// One MLS/MCS level: a sensitivity and a set of categories, e.g. `s0:c1,c2`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Level {
    sensitivity: u8,
    categories: CategorySet,
}

impl Level {
    /// `s0` with no categories: the level shared by everything (`z` relabel).
    pub const S0: Level = Level { sensitivity: 0, categories: CategorySet::new() };

    /// A level from a sensitivity (0..=15) and a category set.
    pub fn new(sensitivity: u8, categories: CategorySet) -> Result<Level, SelinuxError> {
        if sensitivity >= SENSITIVITY_COUNT {
            return Err(SelinuxError::InvalidLevel {
                level: format!("s{sensitivity}"),
                reason: format!("sensitivities go from s0 to s{}", SENSITIVITY_COUNT - 1),
            });
        }
        Ok(Level { sensitivity, categories })
    }

    /// The usual container level `s0:cA,cB`. Fails unless `a < b <= 1023`.
    pub fn mcs_pair(a: u16, b: u16) -> Result<Level, SelinuxError> {
        if a >= b || b >= CATEGORY_COUNT {
            return Err(SelinuxError::InvalidLevel {
                level: format!("s0:c{a},c{b}"),
                reason: "an MCS pair needs two categories cA < cB <= c1023".into(),
            });
        }
        let mut categories = CategorySet::new();
        categories.insert(a);
        categories.insert(b);
        Ok(Level { sensitivity: 0, categories })
    }

    /// The sensitivity number (the `N` of `sN`).
    pub fn sensitivity(&self) -> u8 {
        self.sensitivity
    }

    /// The categories.
    pub fn categories(&self) -> &CategorySet {
        &self.categories
    }

    /// Whether `self` dominates `other`: its sensitivity is at least `other`'s and its
    /// categories include all of `other`'s. Every level dominates itself; `s0:c1,c2`
    /// dominates `s0` and `s0:c1` but not `s0:c3`.
    pub fn dominates(&self, other: &Level) -> bool {
        self.sensitivity >= other.sensitivity && self.categories.is_superset(&other.categories)
    }

    /// If the level is an MCS pair `s0:cA,cB`, the two categories.
    pub fn as_mcs_pair(&self) -> Option<(u16, u16)> {
        if self.sensitivity != 0 || self.categories.len() != 2 {
            return None;
        }
        let mut it = self.categories.iter();
        Some((it.next()?, it.next()?))
    }
}

impl FromStr for Level {
    type Err = SelinuxError;

    /// Parses `s0`, `s0:c1,c2`, `s0:c0.c1023`, `s2:c0.c3,c9`.
    fn from_str(text: &str) -> Result<Level, SelinuxError> {
        let bad = |reason: String| SelinuxError::InvalidLevel { level: text.to_string(), reason };
        let (sens, cats) = match text.split_once(':') {
            Some((s, c)) => (s, Some(c)),
            None => (text, None),
        };
        let sensitivity =
            parse_number(sens, "sensitivity", 's', u32::from(SENSITIVITY_COUNT) - 1).map_err(bad)? as u8;
        let categories = match cats {
            Some(c) => CategorySet::parse_list(c, text)?,
            None => CategorySet::new(),
        };
        Ok(Level { sensitivity, categories })
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s{}", self.sensitivity)?;
        if !self.categories.is_empty() {
            write!(f, ":{}", self.categories)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Level({self})")
    }
}

/// An MLS range `low-high` (`s0-s0:c0.c1023`); `high` always dominates `low`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MlsRange {
    low: Level,
    high: Level,
}

impl MlsRange {
    /// A range from two levels. Fails unless `high` dominates `low`.
    pub fn new(low: Level, high: Level) -> Result<MlsRange, SelinuxError> {
        if !high.dominates(&low) {
            return Err(SelinuxError::InvalidLevel {
                level: format!("{low}-{high}"),
                reason: format!("the high level {high} does not dominate the low level {low}"),
            });
        }
        Ok(MlsRange { low, high })
    }

    /// The range holding exactly one level.
    pub fn single(level: Level) -> MlsRange {
        MlsRange { low: level, high: level }
    }

    /// The low (effective) level.
    pub fn low(&self) -> &Level {
        &self.low
    }

    /// The high (clearance) level.
    pub fn high(&self) -> &Level {
        &self.high
    }

    /// Whether the range is one level.
    pub fn is_single(&self) -> bool {
        self.low == self.high
    }

    /// Whether `level` lies within the range (`high` dominates it and it dominates `low`).
    pub fn contains(&self, level: &Level) -> bool {
        self.high.dominates(level) && level.dominates(&self.low)
    }
}

impl From<Level> for MlsRange {
    fn from(level: Level) -> MlsRange {
        MlsRange::single(level)
    }
}

impl FromStr for MlsRange {
    type Err = SelinuxError;

    /// Parses `s0`, `s0:c1,c2` or `low-high` such as `s0-s0:c0.c1023`.
    fn from_str(text: &str) -> Result<MlsRange, SelinuxError> {
        match text.split_once('-') {
            Some((lo, hi)) => {
                let low: Level = lo.parse()?;
                let high: Level = hi.parse()?;
                if !high.dominates(&low) {
                    return Err(SelinuxError::InvalidLevel {
                        level: text.to_string(),
                        reason: format!("the high level {high} does not dominate the low level {low}"),
                    });
                }
                Ok(MlsRange { low, high })
            }
            None => Ok(MlsRange::single(text.parse()?)),
        }
    }
}

impl fmt::Display for MlsRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.low)?;
        if self.low != self.high {
            write!(f, "-{}", self.high)?;
        }
        Ok(())
    }
}

impl fmt::Debug for MlsRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MlsRange({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lv(s: &str) -> Level {
        s.parse().unwrap()
    }

    #[test]
    fn selinux_level_parse_and_canonical_form() {
        assert_eq!(lv("s0").to_string(), "s0");
        assert_eq!(lv("s0:c1,c2").to_string(), "s0:c1,c2");
        assert_eq!(lv("s0:c2,c1").to_string(), "s0:c1,c2");
        assert_eq!(lv("s0:c0,c1,c2").to_string(), "s0:c0.c2");
        assert_eq!(lv("s0:c0.c1023").to_string(), "s0:c0.c1023");
        assert_eq!(lv("s0:c0.c1023").categories().len(), 1024);
        assert_eq!(lv("s0:c0.c1").to_string(), "s0:c0,c1");
        assert_eq!(lv("s3:c0.c3,c5,c7,c8,c9").to_string(), "s3:c0.c3,c5,c7.c9");
        assert_eq!(lv("s15").sensitivity(), 15);
    }

    #[test]
    fn selinux_level_rejects_bad_syntax() {
        for bad in [
            "", "s", "s16", "s01", "x0", "s0:", "s0:c", "s0:c1024", "s0:c1,", "s0:c3.c1", "s0:c1.c1",
            "s0:c01", "s0:c-1", "s0:c1 ", " s0", "s0:c1:c2", "s0:d1", "s0:c1..c3",
        ] {
            let e = bad.parse::<Level>().unwrap_err();
            assert!(matches!(e, SelinuxError::InvalidLevel { .. }), "{bad:?} gave {e:?}");
            assert!(e.to_string().contains("invalid SELinux level"), "{e}");
        }
    }

    #[test]
    fn selinux_range_parse_and_format() {
        let r: MlsRange = "s0-s0:c0.c1023".parse().unwrap();
        assert_eq!(r.low(), &Level::S0);
        assert_eq!(r.high().categories().len(), 1024);
        assert_eq!(r.to_string(), "s0-s0:c0.c1023");
        assert_eq!("s0-s0".parse::<MlsRange>().unwrap().to_string(), "s0");
        assert!(r.contains(&lv("s0:c5,c6")));
        assert!(!r.contains(&lv("s1")));
        assert!("s0:c1-s0".parse::<MlsRange>().is_err());
        assert!("s1-s0".parse::<MlsRange>().is_err());
        assert!(MlsRange::new(lv("s0:c1"), lv("s0:c2")).is_err());
    }

    #[test]
    fn selinux_level_dominance() {
        assert!(lv("s0:c1,c2").dominates(&lv("s0")));
        assert!(lv("s0:c1,c2").dominates(&lv("s0:c1")));
        assert!(lv("s0:c1,c2").dominates(&lv("s0:c1,c2")));
        assert!(!lv("s0:c1,c2").dominates(&lv("s0:c1,c3")));
        assert!(!lv("s0").dominates(&lv("s0:c1")));
        assert!(lv("s1").dominates(&lv("s0")));
        assert!(!lv("s0").dominates(&lv("s1")));
        assert!(!lv("s1:c1").dominates(&lv("s0:c2")));
        assert!(lv("s0:c0.c1023").dominates(&lv("s0:c3,c4")));
        assert_eq!(Level::mcs_pair(3, 4).unwrap().as_mcs_pair(), Some((3, 4)));
        assert!(Level::mcs_pair(4, 4).is_err());
        assert!(Level::mcs_pair(5, 1024).is_err());
        assert_eq!(lv("s0:c1,c2,c3").as_mcs_pair(), None);
    }

    fn arb_level() -> impl Strategy<Value = Level> {
        (0u8..16, proptest::collection::vec(0u16..1024, 0..40)).prop_map(|(s, cats)| {
            Level::new(s, CategorySet::from_categories(cats).unwrap()).unwrap()
        })
    }

    proptest! {
        #[test]
        fn selinux_level_round_trip(l in arb_level()) {
            let text = l.to_string();
            let back: Level = text.parse().unwrap();
            prop_assert_eq!(back, l);
            prop_assert_eq!(back.to_string(), text);
        }

        #[test]
        fn selinux_range_round_trip(a in arb_level(), b in arb_level()) {
            let high = Level::new(a.sensitivity().max(b.sensitivity()),
                                  a.categories().union(b.categories())).unwrap();
            let r = MlsRange::new(a, high).unwrap();
            let back: MlsRange = r.to_string().parse().unwrap();
            prop_assert_eq!(back, r);
        }

        #[test]
        fn selinux_dominance_is_a_partial_order(a in arb_level(), b in arb_level(), c in arb_level()) {
            prop_assert!(a.dominates(&a));
            if a.dominates(&b) && b.dominates(&a) { prop_assert_eq!(a, b); }
            if a.dominates(&b) && b.dominates(&c) { prop_assert!(a.dominates(&c)); }
            let meet = Level::new(a.sensitivity().min(b.sensitivity()),
                                  a.categories().intersection(b.categories())).unwrap();
            prop_assert!(a.dominates(&meet) && b.dominates(&meet));
        }

        #[test]
        fn selinux_level_parser_never_panics(s in "[sc0-9:,.\\-]{0,24}") {
            let _ = s.parse::<Level>();
            let _ = s.parse::<MlsRange>();
        }
    }
}
