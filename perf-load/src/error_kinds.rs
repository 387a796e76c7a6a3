//! [`ErrorCount`] and the tally behind it: a run's errors grouped by kind (the error's
//! `Display` text), with a bound on distinct kinds so that unique messages cannot grow memory.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Distinct kinds kept; later new kinds are counted under [`OTHER_KINDS`].
pub const MAX_KINDS: usize = 256;

/// The kind under which errors beyond [`MAX_KINDS`] distinct kinds are counted.
pub const OTHER_KINDS: &str = "(other kinds)";

/// Longest kind text kept, in bytes; longer messages are cut at a character boundary.
const MAX_KIND_LEN: usize = 160;

/// How many times one kind of error happened.
///
/// ```
/// let e = perf_load::ErrorCount { kind: "status 503".into(), count: 7 };
/// assert_eq!(e.count, 7);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCount {
    /// The error's `Display` text (for the HTTP helper: `status 503`, `connection refused`, …).
    pub kind: String,
    /// How many requests failed with it.
    pub count: u64,
}

#[derive(Debug, Default)]
pub(crate) struct ErrorTally {
    counts: HashMap<String, u64>,
}

impl ErrorTally {
    pub(crate) fn add(&mut self, kind: &str, n: u64) {
        let mut end = kind.len().min(MAX_KIND_LEN);
        while !kind.is_char_boundary(end) {
            end -= 1;
        }
        let kind = &kind[..end];
        if let Some(c) = self.counts.get_mut(kind) {
            *c += n;
        } else if self.counts.len() < MAX_KINDS {
            self.counts.insert(kind.to_owned(), n);
        } else {
            *self.counts.entry(OTHER_KINDS.to_owned()).or_default() += n;
        }
    }

    /// Every kind, most frequent first (ties by name, so the order is stable).
    pub(crate) fn sorted(&self) -> Vec<ErrorCount> {
        let mut v: Vec<ErrorCount> = self
            .counts
            .iter()
            .map(|(k, c)| ErrorCount {
                kind: k.clone(),
                count: *c,
            })
            .collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.kind.cmp(&b.kind)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_sorts_and_bounds() {
        let mut t = ErrorTally::default();
        t.add("status 500", 1);
        t.add("timeout", 3);
        t.add("status 500", 1);
        t.add("a", 2);
        let v = t.sorted();
        let got: Vec<(&str, u64)> = v.iter().map(|e| (e.kind.as_str(), e.count)).collect();
        assert_eq!(got, [("timeout", 3), ("a", 2), ("status 500", 2)]);
        for i in 0..1000 {
            t.add(&format!("unique {i}"), 1);
        }
        let v = t.sorted();
        assert_eq!(v.len(), MAX_KINDS + 1);
        let other = v.iter().find(|e| e.kind == OTHER_KINDS).unwrap();
        assert_eq!(other.count, 1000 - (MAX_KINDS as u64 - 3));
        t.add(&"é".repeat(200), 1);
        assert!(t.counts.keys().all(|k| k.len() <= MAX_KIND_LEN));
    }
}
