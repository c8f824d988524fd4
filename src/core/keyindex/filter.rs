//! Filter-as-you-type over the loaded keys: a substring match computed a slice of time at a
//! time, so typing never stalls a frame, with per-namespace counts for the tree.

use std::time::{Duration, Instant};

use super::{KeyId, KeyIndex, NodeId};

/// A substring filter over the loaded keys, computed a slice of time at a time.
#[derive(Debug, Clone)]
pub struct Filter {
    needle: Vec<u8>,
    folded: bool,
    /// Candidates to test first (the matches of a shorter filter this one extends).
    candidates: Option<(Vec<KeyId>, usize)>,
    /// First key id not yet tested beyond the candidates.
    next: KeyId,
    matches: Vec<KeyId>,
    bits: Vec<u64>,
    node_counts: Vec<u32>,
}

impl Filter {
    /// A filter for `text` (case-insensitive for ASCII letters), refining `previous` when the
    /// new text extends it so that typing one more letter only re-tests earlier matches.
    #[must_use]
    pub fn new(text: &[u8], previous: Option<Filter>) -> Self {
        let needle = text.to_ascii_lowercase();
        let folded = needle.iter().any(u8::is_ascii_alphabetic);
        let (candidates, next) = match previous {
            Some(prev)
                if prev.is_complete_candidates()
                    && memchr::memmem::find(&needle, &prev.needle).is_some() =>
            {
                (Some((prev.matches, 0)), prev.next)
            }
            _ => (None, 0),
        };
        Self {
            needle,
            folded,
            candidates,
            next,
            matches: Vec::new(),
            bits: Vec::new(),
            node_counts: Vec::new(),
        }
    }

    fn is_complete_candidates(&self) -> bool {
        self.candidates
            .as_ref()
            .is_none_or(|(c, pos)| *pos >= c.len())
    }

    /// The lowercased text being searched for.
    #[must_use]
    pub fn needle(&self) -> &[u8] {
        &self.needle
    }

    /// Matching key ids found so far, in test order.
    #[must_use]
    pub fn matches(&self) -> &[KeyId] {
        &self.matches
    }

    /// Whether key `id` matched (false if not tested yet).
    #[must_use]
    pub fn is_match(&self, id: KeyId) -> bool {
        self.bits
            .get(id as usize / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    /// Matching keys below a node.
    #[must_use]
    pub fn node_matches(&self, id: NodeId) -> u32 {
        self.node_counts.get(id as usize).copied().unwrap_or(0)
    }

    /// True when every key in `index` has been tested.
    #[must_use]
    pub fn is_done(&self, index: &KeyIndex) -> bool {
        self.is_complete_candidates() && self.next as usize >= index.len()
    }

    fn test(&self, key: &[u8], scratch: &mut Vec<u8>) -> bool {
        if self.needle.is_empty() {
            return true;
        }
        if self.folded {
            scratch.clear();
            scratch.extend(key.iter().map(u8::to_ascii_lowercase));
            memchr::memmem::find(scratch, &self.needle).is_some()
        } else {
            memchr::memmem::find(key, &self.needle).is_some()
        }
    }

    fn test_and_record(&mut self, index: &KeyIndex, id: KeyId, scratch: &mut Vec<u8>) {
        if self.test(index.key(id), scratch) {
            self.record(index, id);
        }
    }

    fn record(&mut self, index: &KeyIndex, id: KeyId) {
        self.matches.push(id);
        let word = id as usize / 64;
        if self.bits.len() <= word {
            self.bits.resize(word + 1, 0);
        }
        self.bits[word] |= 1 << (id % 64);
        // A key not in the tree yet is counted when it joins (`count_attached`).
        if (id as usize) < index.attached() {
            self.count_in_tree(index, id);
        }
    }

    /// Counts the matches among keys that just joined the tree (`ids`) in their namespaces.
    pub fn count_attached(&mut self, index: &KeyIndex, ids: std::ops::Range<KeyId>) {
        for id in ids {
            if self.is_match(id) {
                self.count_in_tree(index, id);
            }
        }
    }

    fn count_in_tree(&mut self, index: &KeyIndex, id: KeyId) {
        if self.node_counts.len() < index.node_total() {
            self.node_counts.resize(index.node_total(), 0);
        }
        let mut node = index.leaf_parent(id);
        loop {
            self.node_counts[node as usize] += 1;
            match index.node_parent(node) {
                Some(p) => node = p,
                None => break,
            }
        }
    }

    /// Tests keys until done or `budget` is spent. Returns true when it changed anything.
    pub fn step(&mut self, index: &KeyIndex, budget: Duration) -> bool {
        let start = Instant::now();
        let mut scratch = Vec::new();
        let mut changed = false;
        let mut tested = 0u32;
        if let Some((cands, mut pos)) = self.candidates.take() {
            while pos < cands.len() {
                self.test_and_record(index, cands[pos], &mut scratch);
                pos += 1;
                changed = true;
                tested += 1;
                if tested.is_multiple_of(1024) && start.elapsed() >= budget {
                    break;
                }
            }
            self.candidates = Some((cands, pos));
            if !self.is_complete_candidates() {
                return changed;
            }
        }
        while (self.next as usize) < index.len() {
            self.test_and_record(index, self.next, &mut scratch);
            self.next += 1;
            changed = true;
            tested += 1;
            if tested.is_multiple_of(1024) && start.elapsed() >= budget {
                break;
            }
        }
        changed
    }
}
