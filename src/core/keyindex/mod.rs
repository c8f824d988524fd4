//! The loaded keys of one listing: a compact, deduplicated store plus a namespace tree.
//!
//! Sized for millions of keys. All key bytes live in one arena; a key is a `u32` id. The tree
//! groups keys by a delimiter; each namespace node knows how many keys lie below it, its
//! children are intrusive linked lists (newest first) and the sorted order a user sees is built
//! only for expanded nodes, and then only merged with what arrived since. Filtering runs as a
//! time-boxed job so typing never stalls a frame. No crate offers this combination (a
//! byte-keyed, append-only index with a lazily sorted namespace tree), hence this module.

mod filter;
mod order;
mod sort;

use std::hash::BuildHasher;

use hashbrown::DefaultHashBuilder;
use hashbrown::HashTable;

pub use filter::Filter;
pub use order::natural_cmp;
use order::{key_slice, merge_sorted, sort_naturally};
pub use sort::{KeyNames, SortJob, Sorted, UNRANKED};

/// Id of a key in the index (its arrival order).
pub type KeyId = u32;
/// Id of a namespace node; 0 is the root.
pub type NodeId = u32;

const NONE: u32 = u32::MAX;
/// The root of the tree.
pub const ROOT: NodeId = 0;

/// The index cannot take more keys (ids and offsets are 32-bit to keep it small).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the key list is full (4 GiB of key names); narrow the pattern")]
pub struct IndexFull;

#[derive(Debug, Clone)]
struct Node {
    parent: NodeId,
    /// The segment's bytes are `arena[seg_start..seg_start + seg_len]`.
    seg_start: u32,
    seg_len: u32,
    /// Keys anywhere below this node.
    count: u32,
    first_child: NodeId,
    next_sibling: NodeId,
    children: u32,
    first_leaf: KeyId,
    leaves: u32,
}

/// Sorted view of one expanded node's children, merged incrementally as keys arrive.
#[derive(Debug, Default, Clone)]
struct SortedChildren {
    nodes: Vec<NodeId>,
    leaves: Vec<KeyId>,
}

/// One row of the tree view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeRow {
    /// A namespace, at a depth.
    Node {
        /// The node.
        id: NodeId,
        /// Nesting depth, 0 for the top level.
        depth: u16,
    },
    /// A key, at a depth.
    Leaf {
        /// The key.
        id: KeyId,
        /// Nesting depth.
        depth: u16,
    },
}

/// The bytes of a node's segment in the arena.
fn segment<'a>(arena: &'a [u8], n: &Node) -> &'a [u8] {
    &arena[n.seg_start as usize..(n.seg_start + n.seg_len) as usize]
}

/// Grows a vector by a quarter instead of doubling, so a large index wastes little memory.
fn reserve_quarter<T>(v: &mut Vec<T>, additional: usize) {
    let free = v.capacity() - v.len();
    if free < additional {
        let grow = additional.max(v.capacity() / 4).max(1024);
        v.reserve_exact(grow);
    }
}

/// Keys, the namespace tree over them, and a running filter.
pub struct KeyIndex {
    arena: Vec<u8>,
    ends: Vec<u32>,
    dedup: HashTable<KeyId>,
    hasher: DefaultHashBuilder,
    delimiter: Vec<u8>,
    nodes: Vec<Node>,
    lookup: HashTable<NodeId>,
    leaf_next: Vec<KeyId>,
    leaf_parent: Vec<NodeId>,
    sorted: hashbrown::HashMap<NodeId, SortedChildren>,
    /// The node found last at each depth: keys arrive in runs sharing a prefix, and comparing
    /// a few bytes is cheaper than a hash lookup.
    recent: Vec<(NodeId, NodeId)>,
    /// Put each new key into the tree at once. When the tree is not shown, keys only join
    /// the store and the tree catches up later ([`KeyIndex::attach_pending`]): the tree is
    /// two thirds of the cost of taking a key, and a listing of millions of keys shown as a
    /// list should not pay it.
    tree_wanted: bool,
}

impl std::fmt::Debug for KeyIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyIndex")
            .field("keys", &self.len())
            .field("nodes", &self.nodes.len())
            .finish_non_exhaustive()
    }
}

impl Default for KeyIndex {
    fn default() -> Self {
        Self::new(":")
    }
}

fn root_node() -> Node {
    Node {
        parent: NONE,
        seg_start: 0,
        seg_len: 0,
        count: 0,
        first_child: NONE,
        next_sibling: NONE,
        children: 0,
        first_leaf: NONE,
        leaves: 0,
    }
}

impl KeyIndex {
    /// An empty index grouping by `delimiter` (empty: no grouping).
    #[must_use]
    pub fn new(delimiter: &str) -> Self {
        Self {
            arena: Vec::new(),
            ends: Vec::new(),
            dedup: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
            delimiter: delimiter.as_bytes().to_vec(),
            nodes: vec![root_node()],
            lookup: HashTable::new(),
            leaf_next: Vec::new(),
            leaf_parent: Vec::new(),
            sorted: hashbrown::HashMap::new(),
            recent: Vec::new(),
            tree_wanted: true,
        }
    }

    /// Whether new keys join the tree at once (see the field). Keys left out join it, in
    /// arrival order, through [`KeyIndex::attach_pending`].
    pub fn set_tree_wanted(&mut self, wanted: bool) {
        self.tree_wanted = wanted;
    }

    /// Keys in the tree (ids below this are in it).
    #[must_use]
    pub fn attached(&self) -> usize {
        self.leaf_parent.len()
    }

    /// True when every key is in the tree.
    #[must_use]
    pub fn tree_complete(&self) -> bool {
        self.attached() == self.len()
    }

    /// Puts keys left out of the tree into it, in arrival order, until all are in or `budget`
    /// is spent; the ids it attached.
    pub fn attach_pending(&mut self, budget: std::time::Duration) -> std::ops::Range<KeyId> {
        let start = std::time::Instant::now();
        // Ids fit in u32: insert() refuses more.
        #[allow(clippy::cast_possible_truncation)]
        let first = self.attached() as KeyId;
        let mut next = first;
        // Once a sample of keys is in, the node table is sized for the rest at once: growing a
        // hash table of hundreds of thousands of nodes rehashes it whole, in one frame. (The
        // node list itself grows by quarters as before: the sample's ratio of nodes to keys
        // runs high, as the first keys of a namespace each make a node, and a node is 36
        // bytes where a table slot is 5.)
        // (Once sized, a later call finds the room there and reserves nothing.)
        if self.attached() >= 4096 && self.attached() < self.len() {
            let pending = self.len() - self.attached();
            let per_key = self.nodes.len() as f64 / self.attached() as f64;
            // Bounded by the keys themselves times their depth so far: never a wild guess.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let nodes = ((pending as f64) * per_key).ceil() as usize;
            let nodes = nodes.min(pending.saturating_mul(self.recent.len().max(1)));
            let (arena, all) = (&self.arena, &self.nodes);
            let hasher = &self.hasher;
            self.lookup.reserve(nodes, |&other| {
                let n = &all[other as usize];
                hasher.hash_one((n.parent, segment(arena, n)))
            });
            self.leaf_next.reserve_exact(pending);
            self.leaf_parent.reserve_exact(pending);
        }
        while (next as usize) < self.len() {
            self.attach(next);
            next += 1;
            if (next - first).is_multiple_of(4096) && start.elapsed() >= budget {
                break;
            }
        }
        first..next
    }

    /// Makes room for `bytes` more bytes of key names.
    pub fn reserve_bytes(&mut self, bytes: usize) {
        self.arena.reserve_exact(bytes);
    }

    /// Makes room for `keys` more keys in the store (a listing that knows its size), so the
    /// tables do not grow, and copy themselves, step by step.
    pub fn reserve(&mut self, keys: usize) {
        let (arena, ends, hasher) = (&self.arena, &self.ends, &self.hasher);
        self.dedup.reserve(keys, |&other| {
            hasher.hash_one(key_slice(arena, ends, other))
        });
        self.ends.reserve_exact(keys);
    }

    /// Number of distinct keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when no key is loaded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The bytes of a key.
    #[must_use]
    pub fn key(&self, id: KeyId) -> &[u8] {
        let i = id as usize;
        let end = self.ends[i] as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.arena[start..end]
    }

    /// The id of a key, if loaded.
    #[must_use]
    pub fn find(&self, key: &[u8]) -> Option<KeyId> {
        let hash = self.hasher.hash_one(key);
        self.dedup.find(hash, |&id| self.key(id) == key).copied()
    }

    /// Adds keys, skipping ones already present (SCAN may return a key twice).
    ///
    /// # Errors
    /// The index is full; keys before the one that did not fit were added.
    pub fn extend<'a>(
        &mut self,
        keys: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(), IndexFull> {
        for key in keys {
            self.insert(key)?;
        }
        Ok(())
    }

    /// Adds one key; returns its id (the existing id for a duplicate).
    ///
    /// # Errors
    /// The index is full.
    pub fn insert(&mut self, key: &[u8]) -> Result<KeyId, IndexFull> {
        let hash = self.hasher.hash_one(key);
        let new_len = self.arena.len() + key.len();
        let end = u32::try_from(new_len).map_err(|_| IndexFull)?;
        let id = u32::try_from(self.ends.len())
            .ok()
            .filter(|&id| id != NONE)
            .ok_or(IndexFull)?;
        // One probe of the table for both the duplicate check and the insert (a find then an
        // insert walked it twice: a cache miss each, the most of what a new key costs).
        let (arena, ends, hasher) = (&self.arena, &self.ends, &self.hasher);
        match self.dedup.entry(
            hash,
            |&other| key_slice(arena, ends, other) == key,
            |&other| hasher.hash_one(key_slice(arena, ends, other)),
        ) {
            hashbrown::hash_table::Entry::Occupied(found) => return Ok(*found.get()),
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(id);
            }
        }
        reserve_quarter(&mut self.arena, key.len());
        self.arena.extend_from_slice(key);
        reserve_quarter(&mut self.ends, 1);
        self.ends.push(end);
        if self.tree_wanted && self.attached() == id as usize {
            self.attach(id);
        }
        Ok(id)
    }

    /// The grouping delimiter.
    #[must_use]
    pub fn delimiter(&self) -> &[u8] {
        &self.delimiter
    }

    /// Regroups every key by a new delimiter.
    pub fn set_delimiter(&mut self, delimiter: &str) {
        if self.delimiter == delimiter.as_bytes() {
            return;
        }
        self.delimiter = delimiter.as_bytes().to_vec();
        self.nodes = vec![root_node()];
        self.lookup = HashTable::new();
        self.leaf_next.clear();
        self.leaf_parent.clear();
        self.sorted.clear();
        self.recent.clear();
        if self.tree_wanted {
            self.attach_pending(std::time::Duration::MAX);
        }
    }

    /// Puts key `id` into the tree.
    fn attach(&mut self, id: KeyId) {
        let i = id as usize;
        let end = self.ends[i] as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        let mut node = ROOT;
        self.nodes[ROOT as usize].count += 1;
        if !self.delimiter.is_empty() {
            // Borrowed out for the loop: child() needs `&mut self` but never the delimiter.
            let delimiter = std::mem::take(&mut self.delimiter);
            let mut seg_start = start;
            let mut depth = 0;
            loop {
                // One-byte delimiters (the usual `:`) take memchr's fast path; a Finder is
                // built only for longer ones.
                let found = match delimiter.as_slice() {
                    [byte] => memchr::memchr(*byte, &self.arena[seg_start..end]),
                    longer => memchr::memmem::find(&self.arena[seg_start..end], longer),
                };
                let Some(pos) = found else { break };
                let seg_end = seg_start + pos;
                let cached = self.recent.get(depth).and_then(|&(parent, child)| {
                    (parent == node && self.node_name(child) == &self.arena[seg_start..seg_end])
                        .then_some(child)
                });
                node = if let Some(child) = cached {
                    child
                } else {
                    let child = self.child(node, seg_start, seg_end);
                    if self.recent.len() <= depth {
                        self.recent.resize(depth + 1, (NONE, NONE));
                    }
                    self.recent[depth] = (node, child);
                    child
                };
                self.nodes[node as usize].count += 1;
                seg_start = seg_end + delimiter.len();
                depth += 1;
            }
            self.delimiter = delimiter;
        }
        reserve_quarter(&mut self.leaf_next, 1);
        reserve_quarter(&mut self.leaf_parent, 1);
        let n = &mut self.nodes[node as usize];
        self.leaf_next.push(n.first_leaf);
        self.leaf_parent.push(node);
        n.first_leaf = id;
        n.leaves += 1;
    }

    /// Finds or creates the child of `parent` whose segment is `arena[start..end]`.
    fn child(&mut self, parent: NodeId, start: usize, end: usize) -> NodeId {
        let Self {
            arena,
            nodes,
            lookup,
            hasher,
            ..
        } = self;
        let seg = &arena[start..end];
        let hash = hasher.hash_one((parent, seg));
        // Offsets fit: the arena is bounded by u32 in insert().
        #[allow(clippy::cast_possible_truncation)]
        let id = nodes.len() as NodeId;
        // One probe for the look-up and the insert, as in `insert`.
        match lookup.entry(
            hash,
            |&other| {
                let n = &nodes[other as usize];
                n.parent == parent && segment(arena, n) == seg
            },
            |&other| {
                let n = &nodes[other as usize];
                hasher.hash_one((n.parent, segment(arena, n)))
            },
        ) {
            hashbrown::hash_table::Entry::Occupied(found) => return *found.get(),
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(id);
            }
        }
        let first_sibling = nodes[parent as usize].first_child;
        reserve_quarter(nodes, 1);
        #[allow(clippy::cast_possible_truncation)]
        nodes.push(Node {
            parent,
            seg_start: start as u32,
            seg_len: (end - start) as u32,
            count: 0,
            first_child: NONE,
            next_sibling: first_sibling,
            children: 0,
            first_leaf: NONE,
            leaves: 0,
        });
        let p = &mut nodes[parent as usize];
        p.first_child = id;
        p.children += 1;
        id
    }

    /// The segment name of a node (empty for the root).
    #[must_use]
    pub fn node_name(&self, id: NodeId) -> &[u8] {
        let n = &self.nodes[id as usize];
        segment(&self.arena, n)
    }

    /// Keys below a node.
    #[must_use]
    pub fn node_count(&self, id: NodeId) -> u32 {
        self.nodes[id as usize].count
    }

    /// The parent of a node (`None` for the root).
    #[must_use]
    pub fn node_parent(&self, id: NodeId) -> Option<NodeId> {
        let p = self.nodes[id as usize].parent;
        (p != NONE).then_some(p)
    }

    /// The node a key hangs from.
    #[must_use]
    pub fn leaf_parent(&self, id: KeyId) -> NodeId {
        // A key not in the tree yet sits at the root until it joins.
        self.leaf_parent.get(id as usize).copied().unwrap_or(ROOT)
    }

    /// Number of namespace nodes (root included).
    #[must_use]
    pub fn node_total(&self) -> usize {
        self.nodes.len()
    }

    /// The full prefix of a node, segments joined by the delimiter, e.g. `user:42`.
    #[must_use]
    pub fn node_path(&self, id: NodeId) -> Vec<u8> {
        let mut parts = Vec::new();
        let mut cur = id;
        while cur != ROOT && cur != NONE {
            parts.push(self.node_name(cur));
            cur = self.nodes[cur as usize].parent;
        }
        let mut out = Vec::new();
        for (i, part) in parts.iter().rev().enumerate() {
            if i > 0 {
                out.extend_from_slice(&self.delimiter);
            }
            out.extend_from_slice(part);
        }
        out
    }

    /// Looks a namespace up by its path segments.
    #[must_use]
    pub fn find_node(&self, path: &[&[u8]]) -> Option<NodeId> {
        let mut node = ROOT;
        for seg in path {
            let hash = self.hasher.hash_one((node, *seg));
            node = *self.lookup.find(hash, |&id| {
                self.nodes[id as usize].parent == node && self.node_name(id) == *seg
            })?;
        }
        Some(node)
    }

    /// Children of `id` in display order (namespaces, then keys, each sorted by bytes).
    ///
    /// The order is cached per node and only merged with what arrived since the last call.
    fn take_sorted(&mut self, id: NodeId) -> SortedChildren {
        let node = self.nodes[id as usize].clone();
        let mut cache = self.sorted.remove(&id).unwrap_or_default();
        let new_nodes = node.children as usize - cache.nodes.len();
        if new_nodes > 0 {
            let mut fresh = Vec::with_capacity(new_nodes);
            let mut cur = node.first_child;
            while fresh.len() < new_nodes && cur != NONE {
                fresh.push(cur);
                cur = self.nodes[cur as usize].next_sibling;
            }
            sort_naturally(&mut fresh, |id| self.node_name(id));
            cache.nodes = merge_sorted(&cache.nodes, &fresh, |a, b| {
                natural_cmp(self.node_name(*a), self.node_name(*b)).is_le()
            });
        }
        let new_leaves = node.leaves as usize - cache.leaves.len();
        if new_leaves > 0 {
            let mut fresh = Vec::with_capacity(new_leaves);
            let mut cur = node.first_leaf;
            while fresh.len() < new_leaves && cur != NONE {
                fresh.push(cur);
                cur = self.leaf_next[cur as usize];
            }
            // Leaves of one node share its path: sort by what follows it.
            let skip = if id == ROOT {
                0
            } else {
                self.node_path(id).len() + self.delimiter.len()
            };
            let suffix = |k: KeyId| {
                let key = self.key(k);
                key.get(skip..).unwrap_or(key)
            };
            sort_naturally(&mut fresh, suffix);
            cache.leaves = merge_sorted(&cache.leaves, &fresh, |a, b| {
                natural_cmp(suffix(*a), suffix(*b)).is_le()
            });
        }
        cache
    }

    /// The rows of the tree view for the given expanded nodes.
    ///
    /// With `filter`, only keys it matched and namespaces holding such keys are listed.
    pub fn tree_rows(
        &mut self,
        is_expanded: &dyn Fn(NodeId) -> bool,
        filter: Option<&Filter>,
    ) -> Vec<TreeRow> {
        let mut rows = Vec::new();
        // Iterative depth-first walk. Each level owns its sorted children while it is walked
        // and gives them back to the cache when done.
        let root = self.take_sorted(ROOT);
        let mut stack: Vec<(NodeId, u16, SortedChildren, usize)> = vec![(ROOT, 0, root, 0)];
        while let Some((id, depth, children, idx)) = stack.last_mut() {
            let depth = *depth;
            if let Some(&child) = children.nodes.get(*idx) {
                *idx += 1;
                if filter.is_some_and(|f| f.node_matches(child) == 0) {
                    continue;
                }
                rows.push(TreeRow::Node { id: child, depth });
                if is_expanded(child) {
                    let sorted = self.take_sorted(child);
                    stack.push((child, depth + 1, sorted, 0));
                }
                continue;
            }
            let leaves = &children.leaves;
            match filter {
                Some(f) => rows.extend(
                    leaves
                        .iter()
                        .filter(|&&k| f.is_match(k))
                        .map(|&k| TreeRow::Leaf { id: k, depth }),
                ),
                None => rows.extend(leaves.iter().map(|&k| TreeRow::Leaf { id: k, depth })),
            }
            let id = *id;
            if let Some((_, _, children, _)) = stack.pop() {
                self.sorted.insert(id, children);
            }
        }
        rows
    }

    /// Heap bytes held by the index and tree (capacity, not just length).
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        let table = |buckets: usize| buckets * (std::mem::size_of::<u32>() + 1);
        self.arena.capacity()
            + self.ends.capacity() * 4
            + table(self.dedup.capacity() * 8 / 7 + 1)
            + self.nodes.capacity() * std::mem::size_of::<Node>()
            + table(self.lookup.capacity() * 8 / 7 + 1)
            + self.leaf_next.capacity() * 4
            + self.leaf_parent.capacity() * 4
            + self
                .sorted
                .values()
                .map(|s| (s.nodes.capacity() + s.leaves.capacity()) * 4)
                .sum::<usize>()
    }

    /// Total bytes of all key names.
    #[must_use]
    pub fn key_bytes(&self) -> usize {
        self.arena.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use super::order::sort_prefix;

    #[test]
    fn a_tree_left_out_catches_up_to_the_same_tree_and_filter_counts() {
        let keys = [
            "user:1:a", "user:1:b", "user:2:a", "order:9", "plain", "user:1:a",
        ];
        let mut eager = index(&keys);
        let mut lazy = KeyIndex::new(":");
        lazy.set_tree_wanted(false);
        lazy.extend(keys.iter().map(|k| k.as_bytes()))
            .expect("fits");
        assert_eq!(lazy.len(), 5, "deduplicated all the same");
        assert_eq!(lazy.attached(), 0);
        assert!(!lazy.tree_complete());
        assert_eq!(
            lazy.leaf_parent(0),
            ROOT,
            "not in the tree yet: at the root"
        );
        // A filter that matched keys before they joined counts them when they do.
        let mut filter = Filter::new(b"user:1", None);
        filter.step(&lazy, Duration::MAX);
        assert_eq!(filter.matches().len(), 2);
        let first = lazy.attach_pending(Duration::ZERO);
        filter.count_attached(&lazy, first.clone());
        let rest = lazy.attach_pending(Duration::MAX);
        filter.count_attached(&lazy, rest.clone());
        assert_eq!(first.start, 0);
        assert_eq!(rest.end, 5);
        assert!(lazy.tree_complete());
        let all = |_: NodeId| true;
        assert_eq!(lazy.tree_rows(&all, None), eager.tree_rows(&all, None));
        let user = lazy.find_node(&[b"user"]).expect("user");
        let user1 = lazy.find_node(&[b"user", b"1"]).expect("user:1");
        assert_eq!(lazy.node_count(user), 3);
        assert_eq!(filter.node_matches(user1), 2);
        assert_eq!(filter.node_matches(user), 2);
        assert_eq!(filter.node_matches(ROOT), 2);
        // Keys added while wanted again, with nothing left out, join at once.
        lazy.set_tree_wanted(true);
        lazy.insert(b"user:3:z").expect("fits");
        assert!(lazy.tree_complete());
        // Room made ahead changes nothing that is seen.
        lazy.reserve(1000);
        assert_eq!(lazy.len(), 6);
        assert_eq!(lazy.find(b"user:3:z"), Some(5));
    }

    fn index(keys: &[&str]) -> KeyIndex {
        let mut idx = KeyIndex::new(":");
        idx.extend(keys.iter().map(|k| k.as_bytes())).expect("fits");
        idx
    }

    #[test]
    fn duplicates_are_stored_once() {
        let idx = index(&["a", "b", "a", "c:d", "c:d"]);
        assert_eq!(idx.len(), 3);
        assert_eq!(idx.find(b"c:d"), Some(2));
        assert_eq!(idx.key(2), b"c:d");
        assert_eq!(idx.find(b"zz"), None);
    }

    #[test]
    fn tree_counts_namespaces() {
        let idx = index(&[
            "user:1:name",
            "user:1:mail",
            "user:2:name",
            "order:9",
            "plain",
        ]);
        assert_eq!(idx.node_count(ROOT), 5);
        let user = idx.find_node(&[b"user"]).expect("user node");
        assert_eq!(idx.node_count(user), 3);
        let user1 = idx.find_node(&[b"user", b"1"]).expect("user:1 node");
        assert_eq!(idx.node_count(user1), 2);
        assert_eq!(idx.node_path(user1), b"user:1");
        assert!(idx.find_node(&[b"nope"]).is_none());
    }

    #[test]
    fn tree_rows_are_sorted_and_follow_expansion() {
        let mut idx = index(&["user:2", "user:10", "a:x", "zed", "user:1"]);
        // Natural order: user:1, user:2, user:10.
        let user = idx.find_node(&[b"user"]).expect("user");
        let rows = idx.tree_rows(&|_| false, None);
        let names: Vec<String> = rows
            .iter()
            .map(|r| match *r {
                TreeRow::Node { id, .. } => {
                    format!("[{}]", String::from_utf8_lossy(idx.node_name(id)))
                }
                TreeRow::Leaf { id, .. } => String::from_utf8_lossy(idx.key(id)).into_owned(),
            })
            .collect();
        assert_eq!(names, ["[a]", "[user]", "zed"]);
        let rows = idx.tree_rows(&|n| n == user, None);
        assert_eq!(rows.len(), 6);
        assert_eq!(rows[2], TreeRow::Leaf { id: 4, depth: 1 });
        // Keys arriving later are merged into the cached order.
        idx.insert(b"user:0").expect("fits");
        let rows = idx.tree_rows(&|n| n == user, None);
        assert_eq!(rows[2], TreeRow::Leaf { id: 5, depth: 1 });
        assert_eq!(rows.len(), 7);
    }

    #[test]
    fn names_sort_naturally() {
        let mut names: Vec<&[u8]> = vec![
            b"user10", b"user2", b"user1", b"b", b"a10b", b"a9c", b"007", b"7", b"x\xff",
        ];
        names.sort_by(|a, b| natural_cmp(a, b));
        let expected: Vec<&[u8]> = vec![
            b"7", b"007", b"a9c", b"a10b", b"b", b"user1", b"user2", b"user10", b"x\xff",
        ];
        assert_eq!(names, expected);
    }

    #[test]
    fn the_sort_prefix_agrees_with_natural_order() {
        let names: Vec<&[u8]> = vec![
            b"",
            b"0",
            b"7",
            b"007",
            b"10",
            b"99999999999999999999",
            b"a",
            b"ab",
            b"ab1",
            b"ab!",
            b"ab/",
            b"ab:",
            b"ab0x",
            b"abc",
            b"abcdefghij",
            b"abcdefgh1",
            b"\xff",
            b"Z",
            b"_",
        ];
        for a in &names {
            for b in &names {
                let (pa, pb) = (sort_prefix(a), sort_prefix(b));
                if pa != pb {
                    assert_eq!(pa.cmp(&pb), natural_cmp(a, b), "{a:?} vs {b:?}");
                }
            }
        }
        let mut ids: Vec<u32> = (0..u32::try_from(names.len()).expect("few names")).collect();
        sort_naturally(&mut ids, |id| names[id as usize]);
        let sorted: Vec<&[u8]> = ids.iter().map(|&i| names[i as usize]).collect();
        let mut expected = names.clone();
        expected.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(sorted, expected);
    }

    #[test]
    fn delimiter_change_regroups() {
        let mut idx = index(&["a/b:c", "a/d"]);
        assert!(idx.find_node(&[b"a/b"]).is_some());
        idx.set_delimiter("/");
        assert_eq!(idx.node_count(idx.find_node(&[b"a"]).expect("a")), 2);
        idx.set_delimiter("");
        assert_eq!(idx.node_total(), 1);
        assert_eq!(idx.tree_rows(&|_| true, None).len(), 2);
    }

    #[test]
    fn filter_finds_substrings_case_insensitively_and_refines() {
        let idx = index(&["User:1", "user:2", "order:1", "blob\u{0}"]);
        let mut f = Filter::new(b"user", None);
        while !f.is_done(&idx) {
            f.step(&idx, Duration::from_millis(5));
        }
        assert_eq!(f.matches(), &[0, 1]);
        assert!(f.is_match(1));
        assert!(!f.is_match(2));
        let user = idx.find_node(&[b"user"]).expect("user");
        assert_eq!(f.node_matches(user), 1);
        assert_eq!(f.node_matches(ROOT), 2);
        let mut g = Filter::new(b"user:2", Some(f));
        while !g.is_done(&idx) {
            g.step(&idx, Duration::from_millis(5));
        }
        assert_eq!(g.matches(), &[1]);
    }

    #[test]
    fn filtered_tree_hides_empty_namespaces() {
        let mut idx = index(&["user:1", "order:1", "order:2"]);
        let mut f = Filter::new(b"order", None);
        f.step(&idx, Duration::from_millis(5));
        let rows = idx.tree_rows(&|_| true, Some(&f));
        assert_eq!(rows.len(), 3);
        assert!(matches!(rows[0], TreeRow::Node { .. }));
    }

    #[test]
    fn binary_keys_are_kept_exactly() {
        let mut idx = KeyIndex::new(":");
        let key = b"\xff\x00:\x80";
        let id = idx.insert(key).expect("fits");
        assert_eq!(idx.key(id), key);
        assert_eq!(idx.node_count(ROOT), 1);
    }
}
