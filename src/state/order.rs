//! The order of the flat key list: as listed, or sorted by name, type, TTL or size.
//!
//! Sorting runs on the service ([`SortJob`]): until its answer comes, the rows keep the last
//! sorted order and keys listed since follow it in listing order. A sort by facts first reads
//! the facts of every loaded key, a chunk at a time, and sorts again as they arrive (at most
//! once a second). Keys whose facts are not known yet come last in either direction.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::MetaSlot;
use crate::core::keyindex::{KeyId, KeyIndex, SortJob, Sorted, UNRANKED};
use crate::core::model::{KeyType, Ttl};

/// What the flat list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// The key's name, in natural order (`user:2` before `user:10`).
    Name,
    /// Its type, then name.
    Type,
    /// Time left until it expires (keys without a TTL last), then name.
    Ttl,
    /// Memory or bytes it takes, then name.
    Size,
}

impl SortKey {
    /// Whether sorting by it needs the facts of every key.
    #[must_use]
    pub fn needs_facts(self) -> bool {
        self != Self::Name
    }

    /// The word for it in a sentence ("sorted by size").
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Type => "type",
            Self::Ttl => "TTL",
            Self::Size => "size",
        }
    }
}

/// A sort of the flat list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// By what.
    pub key: SortKey,
    /// Largest (or last) first.
    pub descending: bool,
}

/// Most loaded keys a sort by facts reads the facts of (about 150 bytes each are kept).
pub const MAX_FACT_SORT: usize = 250_000;
/// Keys whose facts one request reads for a sort.
pub const FACTS_PER_REQUEST: usize = 500;
/// How often a sort runs again while keys or facts stream in.
const RESORT_EVERY: Duration = Duration::from_secs(1);

/// The keys the flat list shows, in listing order: all loaded keys, or the filter's matches.
/// Either only grows until its generation changes.
#[derive(Debug, Clone, Copy)]
pub enum Base<'a> {
    /// Every loaded key: ids `0..n`.
    All(usize),
    /// These keys.
    Only(&'a [KeyId]),
}

impl Base<'_> {
    /// How many keys.
    #[must_use]
    pub fn len(self) -> usize {
        match self {
            Self::All(n) => n,
            Self::Only(ids) => ids.len(),
        }
    }

    /// True when there is no key.
    #[must_use]
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The key at a position.
    #[must_use]
    pub fn get(self, i: usize) -> Option<KeyId> {
        match self {
            Self::All(n) => (i < n).then(|| KeyId::try_from(i).ok()).flatten(),
            Self::Only(ids) => ids.get(i).copied(),
        }
    }

    fn to_vec(self) -> Vec<KeyId> {
        match self {
            Self::All(n) => (0..n).filter_map(|i| KeyId::try_from(i).ok()).collect(),
            Self::Only(ids) => ids.to_vec(),
        }
    }
}

/// The sorted order of the flat list and the work that keeps it so.
#[derive(Debug, Default)]
pub struct FlatOrder {
    sort: Option<Sort>,
    sorted: Sorted,
    /// Base entries the sorted order covers; the rest follow in listing order.
    covers: usize,
    /// The base generation and facts version it was sorted for.
    generation: u64,
    facts_version: u64,
    in_flight: bool,
    asked_at: Option<Instant>,
    /// The next base entry whose facts the sort still needs, for `facts_generation`.
    facts_next: usize,
    facts_generation: u64,
}

impl FlatOrder {
    /// The sort in effect.
    #[must_use]
    pub fn sort(&self) -> Option<Sort> {
        self.sort
    }

    pub(super) fn set(&mut self, sort: Option<Sort>) {
        *self = Self {
            sort,
            ..Self::default()
        };
    }

    /// The key at a row, for a base of generation `generation`.
    #[must_use]
    pub fn row(&self, base: Base<'_>, generation: u64, r: usize) -> Option<KeyId> {
        if self.sort.is_none() || generation != self.generation {
            return base.get(r);
        }
        let ids = &self.sorted.ids;
        let known = self.sorted.known;
        let descending = self.sort.is_some_and(|s| s.descending);
        if r < known {
            let i = if descending { known - 1 - r } else { r };
            return ids.get(i).copied();
        }
        if r < ids.len() {
            return ids.get(r).copied();
        }
        base.get(self.covers + (r - ids.len()))
    }

    /// True while a sort is on and its order is older than the keys or facts it sorts.
    #[must_use]
    pub fn stale(&self, base: Base<'_>, generation: u64, facts_version: u64) -> bool {
        self.sort.is_some_and(|sort| {
            generation != self.generation
                || base.len() != self.covers
                || (sort.key.needs_facts() && facts_version != self.facts_version)
        })
    }

    /// A sort job when one is due: the order is stale, none runs, and the last ran long
    /// enough ago (at once when nothing is sorted yet or the keys changed generation).
    pub(super) fn job_due(
        &mut self,
        index: &KeyIndex,
        base: Base<'_>,
        generation: u64,
        facts: (&HashMap<KeyId, MetaSlot>, u64, Instant),
        now: Instant,
    ) -> Option<SortJob> {
        let sort = self.sort?;
        let (meta, facts_version, epoch) = facts;
        if self.in_flight || !self.stale(base, generation, facts_version) {
            return None;
        }
        let fresh = generation != self.generation || self.asked_at.is_none();
        if !fresh && self.asked_at.is_some_and(|t| now - t < RESORT_EVERY) {
            return None;
        }
        if generation != self.generation {
            self.sorted = Sorted::default();
            self.covers = 0;
            self.generation = generation;
        }
        self.in_flight = true;
        self.asked_at = Some(now);
        self.facts_version = facts_version;
        let ids = base.to_vec();
        let ranks = sort.key.needs_facts().then(|| {
            ids.iter()
                .map(|id| rank(sort.key, meta.get(id), epoch))
                .collect()
        });
        Some(SortJob {
            names: index.names(),
            ids,
            ranks,
        })
    }

    /// A sort's answer, for the keys of `generation` it was asked for (`covers` of them).
    pub(super) fn finished(&mut self, generation: u64, sorted: Sorted) {
        self.in_flight = false;
        if generation == self.generation {
            self.covers = sorted.ids.len();
            self.sorted = sorted;
        }
    }

    /// A sort failed (the service stopped): the rows stay as they are.
    pub(super) fn failed(&mut self) {
        self.in_flight = false;
    }

    /// Up to [`FACTS_PER_REQUEST`] base keys whose facts a sort by facts still needs.
    pub(super) fn facts_wanted(
        &mut self,
        base: Base<'_>,
        generation: u64,
        meta: &HashMap<KeyId, MetaSlot>,
    ) -> Vec<KeyId> {
        if !self.sort.is_some_and(|s| s.key.needs_facts()) || base.len() > MAX_FACT_SORT {
            return Vec::new();
        }
        if generation != self.facts_generation {
            self.facts_generation = generation;
            self.facts_next = 0;
        }
        let mut wanted = Vec::new();
        while self.facts_next < base.len() && wanted.len() < FACTS_PER_REQUEST {
            if let Some(id) = base.get(self.facts_next)
                && !meta.contains_key(&id)
            {
                wanted.push(id);
            }
            self.facts_next += 1;
        }
        wanted
    }

    /// How many base keys the facts have been asked for (for "reading facts: N of M").
    #[must_use]
    pub fn facts_progress(&self, generation: u64) -> usize {
        if generation == self.facts_generation {
            self.facts_next
        } else {
            0
        }
    }
}

/// Where a key goes in a sort by facts; [`UNRANKED`] when its facts are not known.
fn rank(key: SortKey, slot: Option<&MetaSlot>, epoch: Instant) -> u64 {
    let Some(MetaSlot::Ready(meta, at)) = slot else {
        return UNRANKED;
    };
    match key {
        SortKey::Name => 0,
        SortKey::Type => type_rank(&meta.key_type),
        SortKey::Size => meta.size_bytes.unwrap_or(UNRANKED - 1),
        SortKey::Ttl => match meta.ttl {
            // No TTL lasts longest; one nobody can tell sorts last.
            Ttl::Persistent => UNRANKED - 1,
            Ttl::Unknown => UNRANKED,
            Ttl::ExpiresInMs(ms) => {
                let read = u64::try_from(at.saturating_duration_since(epoch).as_millis())
                    .unwrap_or(UNRANKED - 2);
                read.saturating_add(ms).min(UNRANKED - 2)
            }
        },
    }
}

fn type_rank(t: &KeyType) -> u64 {
    match t {
        KeyType::String => 0,
        KeyType::Hash => 1,
        KeyType::List => 2,
        KeyType::Set => 3,
        KeyType::ZSet => 4,
        KeyType::Stream => 5,
        KeyType::Json => 6,
        KeyType::Other(_) => 7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::KeyMeta;

    fn meta(size: u64, ttl: Ttl) -> KeyMeta {
        KeyMeta {
            key_type: KeyType::String,
            ttl,
            size_bytes: Some(size),
            server: None,
            idle_secs: None,
            preview: None,
        }
    }

    #[test]
    fn rows_follow_the_sort_then_keys_listed_since_and_descending_keeps_unknowns_last() {
        let mut index = KeyIndex::new(":");
        index.extend([b"a".as_slice(), b"b", b"c"]).expect("fits");
        let epoch = Instant::now();
        let mut facts = HashMap::new();
        facts.insert(0, MetaSlot::Ready(meta(30, Ttl::Persistent), epoch));
        facts.insert(2, MetaSlot::Ready(meta(10, Ttl::Persistent), epoch));
        let mut order = FlatOrder::default();
        order.set(Some(Sort {
            key: SortKey::Size,
            descending: false,
        }));
        let base = Base::All(3);
        let job = order
            .job_due(&index, base, 1, (&facts, 1, epoch), epoch)
            .expect("due at once");
        assert!(
            order
                .job_due(&index, base, 1, (&facts, 1, epoch), epoch)
                .is_none(),
            "one at a time"
        );
        order.finished(1, job.run());
        let rows = |o: &FlatOrder, base| (0..4).map(|r| o.row(base, 1, r)).collect::<Vec<_>>();
        assert_eq!(rows(&order, base), vec![Some(2), Some(0), Some(1), None]);
        // A key listed since comes after the sorted ones until the next sort.
        index.extend([b"d".as_slice()]).expect("fits");
        let base = Base::All(4);
        assert_eq!(rows(&order, base), vec![Some(2), Some(0), Some(1), Some(3)]);
        assert!(order.stale(base, 1, 1));
        order.sort = Some(Sort {
            key: SortKey::Size,
            descending: true,
        });
        assert_eq!(
            rows(&order, base),
            vec![Some(0), Some(2), Some(1), Some(3)],
            "unknown sizes stay last"
        );
    }

    #[test]
    fn facts_are_asked_once_per_key_and_only_while_a_fact_sort_is_on() {
        let meta = HashMap::new();
        let mut order = FlatOrder::default();
        assert!(order.facts_wanted(Base::All(10), 1, &meta).is_empty());
        order.set(Some(Sort {
            key: SortKey::Ttl,
            descending: false,
        }));
        let first = order.facts_wanted(Base::All(FACTS_PER_REQUEST + 3), 1, &meta);
        assert_eq!(first.len(), FACTS_PER_REQUEST);
        let rest = order.facts_wanted(Base::All(FACTS_PER_REQUEST + 3), 1, &meta);
        assert_eq!(rest.len(), 3);
        assert!(
            order
                .facts_wanted(Base::All(FACTS_PER_REQUEST + 3), 1, &meta)
                .is_empty()
        );
        // A new filter (generation) starts over.
        assert_eq!(order.facts_wanted(Base::All(4), 2, &meta).len(), 4);
        assert!(
            order
                .facts_wanted(Base::All(MAX_FACT_SORT + 1), 3, &meta)
                .is_empty()
        );
    }

    #[test]
    fn ttl_ranks_put_soonest_first_and_no_ttl_after_every_ttl() {
        let epoch = Instant::now();
        let soon = MetaSlot::Ready(meta(1, Ttl::ExpiresInMs(1_000)), epoch);
        let later = MetaSlot::Ready(meta(1, Ttl::ExpiresInMs(60_000)), epoch);
        let never = MetaSlot::Ready(meta(1, Ttl::Persistent), epoch);
        let r = |s| rank(SortKey::Ttl, Some(s), epoch);
        assert!(r(&soon) < r(&later));
        assert!(r(&later) < r(&never));
        assert!(r(&never) < UNRANKED);
        assert_eq!(rank(SortKey::Ttl, Some(&MetaSlot::Gone), epoch), UNRANKED);
    }
}
