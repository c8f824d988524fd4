//! `cargo bench --bench census`: 10,000,000 keys, shaped as a Laravel/DreamFactory app's
//! (`{type}:{id}:{field}`: 2.5 million entities of five types with four fields each, and one key in fifty with no namespace),
//! counted into the namespace census (no key kept) and, for comparison, held whole in the
//! browser's key index with its namespace tree. Reports the heap each holds (capacity, not
//! length), the resident memory the process grew by, and the time taken. Targets: the census
//! of the whole keyspace in at most 64 MB; the full listing at most 60 bytes a key beyond the
//! key bytes.

use std::time::Instant;

use memory::rss_mib;

use cache_console::core::census::Census;
use cache_console::core::keyindex::KeyIndex;

#[path = "support/memory.rs"]
mod memory;

const KEYS: u64 = 10_000_000;

/// The `n`th key of the keyspace (the same every run): `user:42:profile` and its kind, and
/// one key in fifty with no namespace.
fn key(n: u64, out: &mut Vec<u8>) {
    use std::io::Write as _;
    const TYPES: [&str; 5] = ["user", "order", "session", "product", "cache"];
    const FIELDS: [&str; 4] = ["profile", "cart", "items", "meta"];
    out.clear();
    if n.is_multiple_of(50) {
        let _ = write!(out, "counter{n}");
        return;
    }
    let pick = |i: u64, len: usize| usize::try_from(i).unwrap_or(0) % len;
    // Four fields an entity, 2,500,000 entities spread over the five types.
    let entity = n / 4;
    let ty = TYPES[pick(entity, TYPES.len())];
    let id = entity / 5;
    let field = FIELDS[pick(n, FIELDS.len())];
    let _ = write!(out, "{ty}:{id}:{field}");
}

fn mib(bytes: usize) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "a size for people")]
    let b = bytes as f64;
    b / 1_048_576.0
}

fn main() {
    let mut buf = Vec::new();
    let before = rss_mib();
    let started = Instant::now();
    let mut census = Census::new(":");
    for n in 0..KEYS {
        key(n, &mut buf);
        census.add(&buf);
    }
    let took = started.elapsed();
    let grown = rss_mib() - before;
    println!("census of {KEYS} keys (no key kept)");
    println!(
        "  {} namespaces itemised, {:.1} MiB of heap (target <= 64 MB = 61.0 MiB), process grew {grown:.1} MiB, {:.2} s ({:.1} M keys/s)",
        census.namespaces(),
        mib(census.heap_bytes()),
        took.as_secs_f64(),
        KEYS as f64 / took.as_secs_f64() / 1e6
    );
    let top = census.children(0);
    for ns in top.iter().take(6) {
        println!(
            "  {}  {} keys, {} namespaces itemised below, {} keys in namespaces past the bounds",
            String::from_utf8_lossy(&ns.prefix),
            ns.keys,
            ns.children,
            ns.unlisted
        );
    }
    drop(top);
    drop(census);

    // The worst shape for a tree: every key its own three-level path.
    let mut worst = Census::new(":");
    for n in 0..KEYS {
        buf.clear();
        let _ = std::io::Write::write_fmt(&mut buf, format_args!("a{n}:b{n}:c{n}:k"));
        worst.add(&buf);
    }
    println!(
        "  the worst shape (every key its own path a{{n}}:b{{n}}:c{{n}}:k): {} namespaces itemised (the bound), {:.1} MiB of heap, {} keys counted past the bounds",
        worst.namespaces(),
        mib(worst.heap_bytes()),
        worst.namespace(0).map_or(0, |root| root.unlisted)
    );
    drop(worst);

    let before = rss_mib();
    let started = Instant::now();
    let mut index = KeyIndex::new(":");
    for n in 0..KEYS {
        key(n, &mut buf);
        index.insert(&buf).expect("room for the keys");
    }
    while !index.tree_complete() {
        index.attach_pending(std::time::Duration::from_millis(50));
    }
    let took = started.elapsed();
    let heap = index.heap_bytes();
    let key_bytes = index.key_bytes();
    #[expect(clippy::cast_precision_loss, reason = "a size for people")]
    let per_key = (heap - key_bytes) as f64 / KEYS as f64;
    println!("full listing of {KEYS} keys (every key held, with the namespace tree)");
    println!(
        "  {:.1} MiB of heap, {:.1} MiB of it key names: {per_key:.1} bytes a key beyond the key bytes (target <= 60); process grew {:.1} MiB; {:.2} s",
        mib(heap),
        mib(key_bytes),
        rss_mib() - before,
        took.as_secs_f64()
    );
}
