//! A process's environment variables, set one at a time in amortised O(1).
//!
//! Semantics (unchanged from the earlier `retain` + `push`): setting a key removes any
//! earlier entry of that key and appends the new one, so the order is the order in
//! which each key was *last* set and a key set twice keeps the last value.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};

/// Environment variables in last-set order, each key once.
#[derive(Debug, Clone, Default)]
pub(crate) struct EnvVars {
    /// Entries in the order they were set; `None` where a key was set again later.
    slots: Vec<Option<(OsString, OsString)>>,
    /// Where each key's live entry is in `slots`.
    index: HashMap<OsString, usize>,
}

impl EnvVars {
    /// Sets `key` to `value`, moving it after every other key.
    pub(crate) fn set(&mut self, key: OsString, value: OsString) {
        let at = self.slots.len();
        if let Some(old) = self.index.insert(key.clone(), at) {
            self.slots[old] = None;
        }
        self.slots.push(Some((key, value)));
        // Drop the holes once they outnumber the live entries: amortised O(1) per set.
        if self.slots.len() > 2 * self.index.len() + 16 {
            self.compact();
        }
    }

    fn compact(&mut self) {
        self.slots.retain(Option::is_some);
        for (i, (k, _)) in self.slots.iter().flatten().enumerate() {
            if let Some(at) = self.index.get_mut(k) {
                *at = i;
            }
        }
    }

    /// The entries in last-set order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.slots.iter().flatten().map(|(k, v)| (k.as_os_str(), v.as_os_str()))
    }

    /// How many distinct keys are set.
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }
}

impl<K: Into<OsString>, V: Into<OsString>> FromIterator<(K, V)> for EnvVars {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut e = EnvVars::default();
        for (k, v) in iter {
            e.set(k.into(), v.into());
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The reference semantics: remove the key, then append it.
    fn model(ops: &[(u8, u8)]) -> Vec<(OsString, OsString)> {
        let mut v: Vec<(OsString, OsString)> = Vec::new();
        for (k, val) in ops {
            let k = OsString::from(format!("K{k}"));
            v.retain(|(x, _)| *x != k);
            v.push((k, OsString::from(format!("v{val}"))));
        }
        v
    }

    fn ours(ops: &[(u8, u8)]) -> Vec<(OsString, OsString)> {
        let e: EnvVars = ops.iter().map(|(k, v)| (format!("K{k}"), format!("v{v}"))).collect();
        assert_eq!(e.len(), e.iter().count());
        e.iter().map(|(k, v)| (k.to_os_string(), v.to_os_string())).collect()
    }

    #[test]
    fn last_set_wins_and_moves_to_the_end() {
        assert_eq!(
            ours(&[(1, 1), (2, 2), (1, 3)]),
            vec![(OsString::from("K2"), OsString::from("v2")), (OsString::from("K1"), OsString::from("v3"))]
        );
    }

    proptest! {
        // Few distinct keys and long runs, so keys repeat often and compaction runs.
        #[test]
        fn matches_remove_then_append(ops in prop::collection::vec((0u8..12, any::<u8>()), 0..400)) {
            prop_assert_eq!(ours(&ops), model(&ops));
        }

        #[test]
        fn matches_with_many_keys(ops in prop::collection::vec((any::<u8>(), any::<u8>()), 0..600)) {
            prop_assert_eq!(ours(&ops), model(&ops));
        }
    }
}
