//! Memory analysis: where the bytes of a keyspace are. Fed the type, TTL and size of every key
//! a scan finds (the same pipelined facts the key list shows), it keeps only aggregates — the
//! biggest keys, totals by namespace and by type, and the TTL distribution — so a million keys
//! cost a few megabytes, not a copy of the keyspace.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use bytes::Bytes;

use crate::core::model::{KeyMeta, KeyType, Ttl};

/// What to analyse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalysisRequest {
    /// Redis glob pattern, as bytes.
    pub pattern: Vec<u8>,
    /// Stop after this many keys (a sample); `None` for the whole keyspace.
    pub sample: Option<u64>,
    /// Namespace delimiter (`:`).
    pub delimiter: String,
    /// Namespace depth: how many delimiter-separated segments name a namespace (1‥=3).
    pub depth: usize,
    /// How many of the biggest keys to keep.
    pub top: usize,
    /// Only the keys of this server (a pool's server, a cluster's node); `None` for all.
    pub server: Option<String>,
    /// The listing's scan budget ([`crate::core::model::ScanRequest::budget_ms`]).
    pub budget_ms: Option<u32>,
}

/// One of the biggest keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFact {
    /// The key.
    pub key: Bytes,
    /// Its type.
    pub key_type: KeyType,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its TTL when read.
    pub ttl: Ttl,
}

/// Keys and bytes of one group (a namespace, a type, a TTL range).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    /// Keys in the group.
    pub keys: u64,
    /// Their bytes.
    pub bytes: u64,
}

impl Totals {
    fn add(&mut self, bytes: u64) {
        self.keys += 1;
        self.bytes += bytes;
    }
}

/// TTL ranges of the distribution, in order.
pub const TTL_BUCKETS: [&str; 5] = ["no TTL", "< 1 min", "< 1 h", "< 1 day", "longer"];

fn ttl_bucket(ttl: Ttl) -> usize {
    match ttl {
        Ttl::Persistent => 0,
        Ttl::ExpiresInMs(ms) if ms < 60_000 => 1,
        Ttl::ExpiresInMs(ms) if ms < 3_600_000 => 2,
        Ttl::ExpiresInMs(ms) if ms < 86_400_000 => 3,
        Ttl::ExpiresInMs(_) | Ttl::Unknown => 4,
    }
}

/// Distinct namespaces kept; beyond this, new ones are counted under "(other namespaces)" so a
/// keyspace of unique prefixes cannot grow the analysis without bound.
pub const MAX_NAMESPACES: usize = 100_000;

/// Where a key's namespace could not be told apart.
pub const NO_NAMESPACE: &str = "(no namespace)";
/// Where keys beyond [`MAX_NAMESPACES`] namespaces are counted.
pub const OTHER_NAMESPACES: &str = "(other namespaces)";

/// The result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemoryReport {
    /// Keys analysed.
    pub keys: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Keys found by the scan that were gone before their size was read.
    pub vanished: u64,
    /// Keys whose size the backend could not tell.
    pub without_size: u64,
    /// The biggest keys, biggest first.
    pub top: Vec<KeyFact>,
    /// Totals by namespace (escaped prefix including the delimiter), most bytes first.
    pub namespaces: Vec<(String, Totals)>,
    /// Totals by type, most bytes first.
    pub types: Vec<(KeyType, Totals)>,
    /// Totals by TTL range, in [`TTL_BUCKETS`] order.
    pub ttl: [Totals; 5],
    /// Stopped at the sample size (not the whole keyspace).
    pub sampled: bool,
    /// Stopped by the user.
    pub cancelled: bool,
    /// How long it took, milliseconds.
    pub elapsed_ms: u64,
}

/// Folds key facts into a [`MemoryReport`].
#[derive(Debug)]
pub struct Analyzer {
    delimiter: Vec<u8>,
    depth: usize,
    top_n: usize,
    keys: u64,
    bytes: u64,
    vanished: u64,
    without_size: u64,
    // Min-heap of the biggest keys seen: the smallest of them is dropped first.
    top: BinaryHeap<Reverse<BySize>>,
    namespaces: HashMap<Bytes, Totals>,
    other: Totals,
    types: HashMap<KeyType, Totals>,
    ttl: [Totals; 5],
}

/// A key fact ordered by size, then key bytes: what the heap of the biggest keys compares.
#[derive(Debug)]
struct BySize(KeyFact);

impl BySize {
    fn rank(&self) -> (u64, &[u8]) {
        (self.0.bytes, &self.0.key)
    }
}

impl PartialEq for BySize {
    fn eq(&self, other: &Self) -> bool {
        self.rank() == other.rank()
    }
}
impl Eq for BySize {}
impl Ord for BySize {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.rank().cmp(&other.rank())
    }
}
impl PartialOrd for BySize {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Analyzer {
    /// An empty analysis for `request`'s delimiter, depth and top size.
    #[must_use]
    pub fn new(request: &AnalysisRequest) -> Self {
        Self {
            delimiter: request.delimiter.as_bytes().to_vec(),
            depth: request.depth.clamp(1, 3),
            top_n: request.top.max(1),
            keys: 0,
            bytes: 0,
            vanished: 0,
            without_size: 0,
            top: BinaryHeap::new(),
            namespaces: HashMap::new(),
            other: Totals::default(),
            types: HashMap::new(),
            ttl: [Totals::default(); 5],
        }
    }

    /// Keys seen so far (analysed or gone).
    #[must_use]
    pub fn seen(&self) -> u64 {
        self.keys + self.vanished
    }

    /// The namespace of `key`: its first `depth` segments with their delimiters, or `None`
    /// when it has fewer.
    fn namespace<'k>(&self, key: &'k [u8]) -> Option<&'k [u8]> {
        if self.delimiter.is_empty() {
            return None;
        }
        let mut end = 0;
        for _ in 0..self.depth {
            let rest = &key[end..];
            let at = memchr::memmem::find(rest, &self.delimiter)?;
            end += at + self.delimiter.len();
        }
        Some(&key[..end])
    }

    /// Adds one key; `None` for a key that vanished between the scan and the size read.
    pub fn add(&mut self, key: &Bytes, meta: Option<&KeyMeta>) {
        let Some(meta) = meta else {
            self.vanished += 1;
            return;
        };
        let size = if let Some(size) = meta.size_bytes {
            size
        } else {
            self.without_size += 1;
            0
        };
        self.keys += 1;
        self.bytes += size;
        self.types
            .entry(meta.key_type.clone())
            .or_default()
            .add(size);
        self.ttl[ttl_bucket(meta.ttl)].add(size);
        let ns = self.namespace(key).unwrap_or(NO_NAMESPACE.as_bytes());
        if let Some(t) = self.namespaces.get_mut(ns) {
            t.add(size);
        } else if self.namespaces.len() < MAX_NAMESPACES {
            let mut t = Totals::default();
            t.add(size);
            self.namespaces.insert(Bytes::copy_from_slice(ns), t);
        } else {
            self.other.add(size);
        }
        let fits = self.top.len() < self.top_n
            || self
                .top
                .peek()
                .is_some_and(|Reverse(min)| size > min.0.bytes);
        if fits {
            self.top.push(Reverse(BySize(KeyFact {
                key: key.clone(),
                key_type: meta.key_type.clone(),
                bytes: size,
                ttl: meta.ttl,
            })));
            if self.top.len() > self.top_n {
                self.top.pop();
            }
        }
    }

    /// The report so far.
    #[must_use]
    pub fn report(&self) -> MemoryReport {
        let mut top: Vec<KeyFact> = self
            .top
            .iter()
            .map(|Reverse(fact)| fact.0.clone())
            .collect();
        top.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.key.cmp(&b.key)));
        let mut namespaces: Vec<(String, Totals)> = self
            .namespaces
            .iter()
            .map(|(ns, t)| (crate::core::escape::escape_bytes(ns), *t))
            .collect();
        if self.other.keys > 0 {
            namespaces.push((OTHER_NAMESPACES.to_owned(), self.other));
        }
        namespaces.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then_with(|| a.0.cmp(&b.0)));
        let mut types: Vec<(KeyType, Totals)> =
            self.types.iter().map(|(k, t)| (k.clone(), *t)).collect();
        types.sort_by(|a, b| {
            b.1.bytes
                .cmp(&a.1.bytes)
                .then_with(|| a.0.label().cmp(b.0.label()))
        });
        MemoryReport {
            keys: self.keys,
            bytes: self.bytes,
            vanished: self.vanished,
            without_size: self.without_size,
            top,
            namespaces,
            types,
            ttl: self.ttl,
            sampled: false,
            cancelled: false,
            elapsed_ms: 0,
        }
    }
}

/// Keys examined per SCAN round trip during an analysis.
const ANALYSIS_SCAN_COUNT: u32 = 1000;

/// Scans the keys `request` matches and reads their type, TTL and size a page at a time (the
/// next page is scanned while this one's sizes are read), until the keyspace or the sample is
/// done or `cancel` is set. `progress` gets the keys seen and the share of the keyspace visited.
///
/// # Errors
/// A scan or size read failed.
pub async fn analyze(
    backend: &dyn crate::backend::CacheBackend,
    request: &AnalysisRequest,
    cancel: &std::sync::atomic::AtomicBool,
    progress: &(dyn Fn(u64, f64) + Send + Sync),
) -> crate::backend::BackendResult<MemoryReport> {
    let started = std::time::Instant::now();
    let mut scan = crate::core::model::ScanRequest::matching(request.pattern.clone());
    scan.count = ANALYSIS_SCAN_COUNT;
    scan.server.clone_from(&request.server);
    scan.budget_ms = request.budget_ms;
    let mut analyzer = Analyzer::new(request);
    let mut pages = crate::backend::ops::Pages::new(backend, &scan, 0);
    let mut page = pages.next().await?;
    let (mut sampled, mut cancelled) = (false, false);
    while let Some(mut current) = page {
        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
            cancelled = true;
            break;
        }
        let mut keys = std::mem::take(&mut current.keys);
        if let Some(limit) = request.sample {
            let room = usize::try_from(limit.saturating_sub(analyzer.seen())).unwrap_or(usize::MAX);
            if keys.len() >= room {
                sampled = keys.len() > room || current.next_cursor != 0;
                keys.truncate(room);
            }
        }
        let more = current.next_cursor != 0 && !sampled;
        // The next page is scanned while this one's facts are read.
        let (meta, next) = if more {
            let (meta, next) = tokio::join!(backend.key_meta(&keys), pages.next());
            (meta?, next?)
        } else {
            (backend.key_meta(&keys).await?, None)
        };
        for (key, meta) in keys.iter().zip(&meta) {
            analyzer.add(key, meta.as_ref());
        }
        progress(analyzer.seen(), if more { current.progress } else { 1.0 });
        page = next;
    }
    let mut report = analyzer.report();
    report.sampled = sampled;
    report.cancelled = cancelled;
    report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(t: KeyType, ttl: Ttl, size: u64) -> KeyMeta {
        KeyMeta {
            key_type: t,
            ttl,
            size_bytes: Some(size),
            server: None,
            idle_secs: None,
            preview: None,
        }
    }

    fn request(depth: usize, top: usize) -> AnalysisRequest {
        AnalysisRequest {
            pattern: b"*".to_vec(),
            sample: None,
            delimiter: ":".into(),
            depth,
            top,
            server: None,
            budget_ms: None,
        }
    }

    #[test]
    fn totals_by_namespace_type_and_ttl_and_the_biggest_keys() {
        let mut a = Analyzer::new(&request(1, 2));
        let add = |a: &mut Analyzer, k: &str, t: KeyType, ttl: Ttl, size: u64| {
            a.add(
                &Bytes::copy_from_slice(k.as_bytes()),
                Some(&meta(t, ttl, size)),
            );
        };
        add(&mut a, "user:1", KeyType::String, Ttl::Persistent, 100);
        add(
            &mut a,
            "user:2",
            KeyType::Hash,
            Ttl::ExpiresInMs(30_000),
            300,
        );
        add(
            &mut a,
            "session:9",
            KeyType::String,
            Ttl::ExpiresInMs(7_200_000),
            50,
        );
        add(
            &mut a,
            "plain",
            KeyType::Set,
            Ttl::ExpiresInMs(172_800_000),
            10,
        );
        a.add(&Bytes::from_static(b"gone:1"), None);
        let r = a.report();
        assert_eq!((r.keys, r.bytes, r.vanished), (4, 460, 1));
        assert_eq!(
            r.namespaces,
            vec![
                (
                    "user:".to_owned(),
                    Totals {
                        keys: 2,
                        bytes: 400
                    }
                ),
                ("session:".to_owned(), Totals { keys: 1, bytes: 50 }),
                (NO_NAMESPACE.to_owned(), Totals { keys: 1, bytes: 10 }),
            ]
        );
        let top: Vec<(&[u8], u64)> = r.top.iter().map(|f| (&f.key[..], f.bytes)).collect();
        assert_eq!(top, vec![(&b"user:2"[..], 300), (&b"user:1"[..], 100)]);
        assert_eq!(
            r.types[0],
            (
                KeyType::Hash,
                Totals {
                    keys: 1,
                    bytes: 300
                }
            )
        );
        let ttl_keys: Vec<u64> = r.ttl.iter().map(|t| t.keys).collect();
        assert_eq!(ttl_keys, vec![1, 1, 0, 1, 1]);
    }

    #[test]
    fn deeper_namespaces_and_the_namespace_cap() {
        let mut a = Analyzer::new(&request(2, 5));
        let m = meta(KeyType::String, Ttl::Persistent, 1);
        for k in ["app:user:1", "app:user:2", "app:order:1", "app:x"] {
            a.add(&Bytes::copy_from_slice(k.as_bytes()), Some(&m));
        }
        let names: Vec<String> = a.report().namespaces.into_iter().map(|(n, _)| n).collect();
        // Most bytes first, ties by name.
        assert_eq!(names, ["app:user:", NO_NAMESPACE, "app:order:"]);

        let mut a = Analyzer::new(&request(1, 1));
        for i in 0..(MAX_NAMESPACES + 10) {
            a.add(&Bytes::from(format!("ns{i}:k")), Some(&m));
        }
        let r = a.report();
        assert_eq!(r.namespaces.len(), MAX_NAMESPACES + 1);
        assert!(r.namespaces.contains(&(
            OTHER_NAMESPACES.to_owned(),
            Totals {
                keys: 10,
                bytes: 10
            }
        )));
    }
}
