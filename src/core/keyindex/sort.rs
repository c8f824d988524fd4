//! Sorting loaded keys away from the UI thread: a natural sort of 190,000 names takes about
//! 200 ms, far more than a frame. The names are copied out of the index (one memcpy of its
//! arena) and sorted on the service's blocking pool; ids stay valid because the index only
//! ever grows.

use super::order::sort_naturally;
use super::{KeyId, KeyIndex};

/// A rank that says "not known yet": such keys come after every ranked key.
pub const UNRANKED: u64 = u64::MAX;

/// The names of the loaded keys, copied out of the index for work on another thread.
#[derive(Clone, Default)]
pub struct KeyNames {
    arena: Vec<u8>,
    ends: Vec<u32>,
}

impl std::fmt::Debug for KeyNames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the names themselves: they can be megabytes, and they are user data.
        f.debug_struct("KeyNames")
            .field("keys", &self.ends.len())
            .finish_non_exhaustive()
    }
}

impl KeyNames {
    /// The bytes of key `id` (empty for an id the copy does not hold).
    #[must_use]
    pub fn key(&self, id: KeyId) -> &[u8] {
        let i = id as usize;
        let Some(&end) = self.ends.get(i) else {
            return &[];
        };
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.arena
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }

    /// Number of keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when it holds no key.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

impl KeyIndex {
    /// A copy of every loaded name, for sorting elsewhere.
    #[must_use]
    pub fn names(&self) -> KeyNames {
        KeyNames {
            arena: self.arena.clone(),
            ends: self.ends.clone(),
        }
    }
}

/// Keys to put in order: by name, or by a rank per key (a size, a TTL, a type) and then by
/// name among equal ranks.
#[derive(Clone)]
pub struct SortJob {
    /// The names.
    pub names: KeyNames,
    /// The keys to order.
    pub ids: Vec<KeyId>,
    /// One rank per entry of `ids` ([`UNRANKED`] when unknown), or none to sort by name.
    pub ranks: Option<Vec<u64>>,
}

impl std::fmt::Debug for SortJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SortJob")
            .field("keys", &self.ids.len())
            .field("by_rank", &self.ranks.is_some())
            .finish_non_exhaustive()
    }
}

/// Keys in order: the ranked ones first (ascending), then those without a rank yet, in the
/// order they were given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sorted {
    /// The ids, ascending.
    pub ids: Vec<KeyId>,
    /// How many of them (from the start) are ranked.
    pub known: usize,
}

impl SortJob {
    /// Puts the keys in order.
    #[must_use]
    pub fn run(self) -> Sorted {
        let SortJob { names, ids, ranks } = self;
        let name = |id: KeyId| names.key(id);
        let Some(ranks) = ranks else {
            let mut ids = ids;
            sort_naturally(&mut ids, name);
            let known = ids.len();
            return Sorted { ids, known };
        };
        let mut rank_of = vec![UNRANKED; names.len()];
        let mut ranked = Vec::with_capacity(ids.len());
        let mut unranked = Vec::new();
        for (&id, &rank) in ids.iter().zip(ranks.iter()) {
            match rank_of.get_mut(id as usize) {
                Some(slot) if rank != UNRANKED => {
                    *slot = rank;
                    ranked.push(id);
                }
                _ => unranked.push(id),
            }
        }
        // By name first, then a stable sort by rank: equal ranks stay in name order.
        sort_naturally(&mut ranked, name);
        ranked.sort_by_key(|&id| rank_of[id as usize]);
        let known = ranked.len();
        ranked.extend(unranked);
        Sorted { ids: ranked, known }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(keys: &[&str]) -> KeyIndex {
        let mut index = KeyIndex::new(":");
        index
            .extend(keys.iter().map(|k| k.as_bytes()))
            .expect("fits");
        index
    }

    #[test]
    fn by_name_is_natural_order() {
        let index = index(&["user:10", "user:2", "a", "user:1"]);
        let sorted = SortJob {
            names: index.names(),
            ids: vec![0, 1, 2, 3],
            ranks: None,
        }
        .run();
        assert_eq!(sorted.ids, vec![2, 3, 1, 0]);
        assert_eq!(sorted.known, 4);
    }

    #[test]
    fn by_rank_then_name_with_unranked_last_in_given_order() {
        let index = index(&["b", "a", "c", "d", "e"]);
        let sorted = SortJob {
            names: index.names(),
            ids: vec![0, 1, 2, 3, 4],
            ranks: Some(vec![5, 5, UNRANKED, 1, UNRANKED]),
        }
        .run();
        // d (1), then a and b (5, by name), then c and e unranked as given.
        assert_eq!(sorted.ids, vec![3, 1, 0, 2, 4]);
        assert_eq!(sorted.known, 3);
    }

    #[test]
    fn an_id_beyond_the_copy_is_unranked_not_a_panic() {
        let index = index(&["a"]);
        let sorted = SortJob {
            names: index.names(),
            ids: vec![0, 7],
            ranks: Some(vec![1, 2]),
        }
        .run();
        assert_eq!(sorted.ids, vec![0, 7]);
        assert_eq!(sorted.known, 1);
    }
}
