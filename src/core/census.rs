//! Namespace counts of a whole keyspace without its keys: a listing's keys are counted into a
//! tree of their namespaces (`user:`, `user:42:`) as they arrive and then let go, so the tree
//! of 50 million keys takes tens of megabytes where the keys would take gigabytes.
//!
//! Bounded whatever the keyspace: a namespace itemises at most [`MAX_CHILDREN`] namespaces
//! below it, and the tree at most [`MAX_NODES`]; keys under namespaces past those bounds are
//! still counted, in their parent's `unlisted` share (`user:` → "3,300,000 keys in namespaces
//! not itemised"), and a namespace's own keys are browsed by listing its pattern. Written here
//! rather than with a trie crate: what is kept per node (counts, a capped child list, the
//! segment in a shared arena) is the point, and it is small.

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

/// Namespaces itemised below one namespace.
pub const MAX_CHILDREN: u32 = 50_000;
/// Namespaces in the whole tree.
pub const MAX_NODES: usize = 500_000;

/// Id of a namespace; 0 is the root (the whole keyspace).
pub type NsId = u32;

const NONE: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Node {
    parent: NsId,
    seg_start: u32,
    seg_len: u32,
    first_child: NsId,
    next_sibling: NsId,
    children: u32,
    /// Keys anywhere below.
    keys: u64,
    /// Keys whose name ends at this level (`user:42` under `user:`).
    direct: u64,
    /// Keys below namespaces that were not itemised (past the bounds).
    unlisted: u64,
}

/// The namespace tree of a listing, counts only.
#[derive(Debug, Clone)]
pub struct Census {
    delimiter: Vec<u8>,
    nodes: Vec<Node>,
    names: Vec<u8>,
    index: HashTable<NsId>,
    hasher: DefaultHashBuilder,
    max_children: u32,
    max_nodes: usize,
}

/// One namespace as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// Its id (to ask for its children).
    pub id: NsId,
    /// Its full prefix, delimiter included (`user:42:`).
    pub prefix: Vec<u8>,
    /// Its last segment (`42`).
    pub name: Vec<u8>,
    /// Keys anywhere below it.
    pub keys: u64,
    /// Keys whose name ends directly under it.
    pub direct: u64,
    /// Keys in namespaces below it that were not itemised.
    pub unlisted: u64,
    /// Namespaces itemised below it.
    pub children: u32,
}

impl Census {
    /// An empty tree for keys split by `delimiter` (empty: no namespaces, every key direct).
    #[must_use]
    pub fn new(delimiter: &str) -> Self {
        Self::with_bounds(delimiter, MAX_CHILDREN, MAX_NODES)
    }

    /// The same with other bounds (the tests use small ones).
    #[must_use]
    pub fn with_bounds(delimiter: &str, max_children: u32, max_nodes: usize) -> Self {
        Self {
            delimiter: delimiter.as_bytes().to_vec(),
            nodes: vec![Node {
                parent: NONE,
                seg_start: 0,
                seg_len: 0,
                first_child: NONE,
                next_sibling: NONE,
                children: 0,
                keys: 0,
                direct: 0,
                unlisted: 0,
            }],
            names: Vec::new(),
            index: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
            max_children,
            max_nodes,
        }
    }

    /// Keys counted.
    #[must_use]
    pub fn keys(&self) -> u64 {
        self.nodes[0].keys
    }

    /// Namespaces itemised (the root not counted).
    #[must_use]
    pub fn namespaces(&self) -> usize {
        self.nodes.len() - 1
    }

    /// Bytes the tree holds on the heap (capacity, not length).
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.names.capacity()
            // A hashbrown table: a slot and a control byte per bucket.
            + self.index.capacity() * (std::mem::size_of::<NsId>() + 1)
    }

    fn segment(&self, id: NsId) -> &[u8] {
        let n = &self.nodes[id as usize];
        &self.names[n.seg_start as usize..(n.seg_start + n.seg_len) as usize]
    }

    fn hash(&self, parent: NsId, segment: &[u8]) -> u64 {
        self.hasher.hash_one((parent, segment))
    }

    fn child(&self, parent: NsId, segment: &[u8]) -> Option<NsId> {
        let hash = self.hash(parent, segment);
        self.index
            .find(hash, |&id| {
                self.nodes[id as usize].parent == parent && self.segment(id) == segment
            })
            .copied()
    }

    /// Makes a child namespace, or `None` past the bounds (or when the arena is full).
    fn add_child(&mut self, parent: NsId, segment: &[u8]) -> Option<NsId> {
        if self.nodes[parent as usize].children >= self.max_children
            || self.nodes.len() > self.max_nodes
        {
            return None;
        }
        let id = NsId::try_from(self.nodes.len()).ok()?;
        let seg_start = u32::try_from(self.names.len()).ok()?;
        let seg_len = u32::try_from(segment.len()).ok()?;
        seg_start.checked_add(seg_len)?;
        self.names.extend_from_slice(segment);
        let first = self.nodes[parent as usize].first_child;
        self.nodes.push(Node {
            parent,
            seg_start,
            seg_len,
            first_child: NONE,
            next_sibling: first,
            children: 0,
            keys: 0,
            direct: 0,
            unlisted: 0,
        });
        let p = &mut self.nodes[parent as usize];
        p.first_child = id;
        p.children += 1;
        let hash = self.hash(parent, segment);
        let (nodes, names) = (&self.nodes, &self.names);
        let hasher = &self.hasher;
        self.index.insert_unique(hash, id, |&other| {
            let n = &nodes[other as usize];
            let seg = &names[n.seg_start as usize..(n.seg_start + n.seg_len) as usize];
            hasher.hash_one((n.parent, seg))
        });
        Some(id)
    }

    /// Counts one key into its namespaces.
    pub fn add(&mut self, key: &[u8]) {
        self.nodes[0].keys += 1;
        let mut at: NsId = 0;
        let mut rest = key;
        // Taken out for the walk (the tree is changed meanwhile), put back after.
        let d = std::mem::take(&mut self.delimiter);
        while !d.is_empty() {
            let Some(pos) = find(rest, &d) else { break };
            let segment = &rest[..pos];
            let next = match self.child(at, segment) {
                Some(id) => Some(id),
                None => self.add_child(at, segment),
            };
            let Some(next) = next else {
                self.nodes[at as usize].unlisted += 1;
                self.delimiter = d;
                return;
            };
            self.nodes[next as usize].keys += 1;
            at = next;
            rest = &rest[pos + d.len()..];
        }
        self.nodes[at as usize].direct += 1;
        self.delimiter = d;
    }

    /// One namespace.
    #[must_use]
    pub fn namespace(&self, id: NsId) -> Option<Namespace> {
        let n = self.nodes.get(id as usize)?;
        let mut prefix = Vec::new();
        let mut chain = Vec::new();
        let mut up = id;
        while up != 0 && up != NONE {
            chain.push(up);
            up = self.nodes[up as usize].parent;
        }
        for &c in chain.iter().rev() {
            prefix.extend_from_slice(self.segment(c));
            prefix.extend_from_slice(&self.delimiter);
        }
        Some(Namespace {
            id,
            prefix,
            name: self.segment(id).to_vec(),
            keys: n.keys,
            direct: n.direct,
            unlisted: n.unlisted,
            children: n.children,
        })
    }

    /// The namespaces just below `id`, the most keys first (then by name).
    #[must_use]
    pub fn children(&self, id: NsId) -> Vec<Namespace> {
        let Some(n) = self.nodes.get(id as usize) else {
            return Vec::new();
        };
        let mut ids = Vec::with_capacity(n.children as usize);
        let mut c = n.first_child;
        while c != NONE {
            ids.push(c);
            c = self.nodes[c as usize].next_sibling;
        }
        ids.sort_by(|&a, &b| {
            let (x, y) = (&self.nodes[a as usize], &self.nodes[b as usize]);
            y.keys
                .cmp(&x.keys)
                .then_with(|| super::keyindex::natural_cmp(self.segment(a), self.segment(b)))
        });
        ids.into_iter().filter_map(|c| self.namespace(c)).collect()
    }
}

/// Where `needle` first occurs in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() == 1 {
        return hay.iter().position(|&b| b == needle[0]);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_counted_into_their_namespaces_and_let_go() {
        let mut c = Census::new(":");
        for key in [
            "user:1:profile",
            "user:1:cart",
            "user:2:profile",
            "user:3",
            "order:9",
            "plain",
            "",
            "a::b",
        ] {
            c.add(key.as_bytes());
        }
        assert_eq!(c.keys(), 8);
        let root = c.namespace(0).expect("root");
        assert_eq!(root.direct, 2, "`plain` and the empty name");
        let top = c.children(0);
        let names: Vec<&[u8]> = top.iter().map(|n| n.name.as_slice()).collect();
        assert_eq!(names, [b"user".as_slice(), b"a", b"order"]);
        let user = &top[0];
        assert_eq!((user.keys, user.direct, user.children), (4, 1, 2));
        assert_eq!(user.prefix, b"user:");
        let ones = c.children(user.id);
        assert_eq!(ones[0].name, b"1");
        assert_eq!(ones[0].prefix, b"user:1:");
        assert_eq!((ones[0].keys, ones[0].direct), (2, 2));
        // An empty segment is a namespace like any other (`a::b`).
        let a = &top[1];
        assert_eq!(c.children(a.id)[0].prefix, b"a::");
    }

    #[test]
    fn past_the_bounds_keys_are_still_counted_as_unlisted() {
        let mut c = Census::with_bounds(":", 3, 100);
        for i in 0..10 {
            c.add(format!("user:{i}:x").as_bytes());
        }
        let user = &c.children(0)[0];
        assert_eq!(user.keys, 10);
        assert_eq!(user.children, 3);
        assert_eq!(user.unlisted, 7);
        let itemised: u64 = c.children(user.id).iter().map(|n| n.keys).sum();
        assert_eq!(itemised + user.unlisted + user.direct, user.keys);

        let mut small = Census::with_bounds(":", 1000, 2);
        for k in ["a:1", "b:1", "c:1", "c:2"] {
            small.add(k.as_bytes());
        }
        assert!(small.namespaces() <= 3);
        assert_eq!(small.namespace(0).expect("root").unlisted, 2);
        assert_eq!(small.keys(), 4);
    }

    #[test]
    fn bytes_and_a_longer_delimiter_are_taken_as_they_are() {
        let mut c = Census::new("::");
        c.add(b"\xff\x00::x::y");
        c.add(b"\xff\x00::z");
        let top = c.children(0);
        assert_eq!(top[0].name, b"\xff\x00");
        assert_eq!(top[0].keys, 2);
        let none = {
            let mut c = Census::new("");
            c.add(b"a:b");
            c
        };
        assert_eq!(none.namespace(0).expect("root").direct, 1);
        assert!(c.heap_bytes() > 0);
    }
}
