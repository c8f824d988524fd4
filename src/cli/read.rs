//! `keys` and `get`: listings and values printed for scripts, bytes escaped, collections
//! streamed as JSON a page at a time.

use std::io::Write as _;

use super::target::{backend_key, block_on, open, parse_key, split_target};
use super::{Failure, GetArgs, KeysArgs};
use crate::backend::CacheBackend;
use crate::backend::ops::{Chunks, Pages};
use crate::core::escape::{escape_bytes, pattern_to_glob};
use crate::core::model::{KeyDetails, KeyType, PageCursor, ScanRequest, Ttl, ValueItems};

/// `keys`: one escaped key per line, or just how many.
pub(super) fn keys(args: &KeysArgs, ssh: &super::SshArgs) -> Result<(), Failure> {
    let (target, rest) = split_target(ssh, args.profile.as_deref(), &args.args, 0..=1)?;
    let pattern = rest.first().map_or("*", String::as_str);
    let mut request = super::listing_request(pattern_to_glob(pattern));
    request.type_filter = args
        .key_type
        .as_deref()
        .map(|t| KeyType::from_redis(t).unwrap_or_else(|| KeyType::Other(t.to_owned())));
    request.server.clone_from(&args.server);
    block_on(async move {
        let backend = open(&target).await?;
        print_keys(backend.as_ref(), &request, args.count).await
    })
}

/// `get`: a string's raw bytes, a collection as JSON, the facts, or the decoded value.
pub(super) fn get(args: &GetArgs, ssh: &super::SshArgs) -> Result<(), Failure> {
    let (target, rest) = split_target(ssh, args.profile.as_deref(), &args.args, 1..=1)?;
    let key = parse_key(&rest[0])?;
    block_on(async move {
        let backend = open(&target).await?;
        let key = backend_key(backend.as_ref(), key, args.hashed);
        let details = backend.key_details(&key).await?;
        if args.decode {
            return print_decoded(backend.as_ref(), &key, &details).await;
        }
        if args.meta {
            return print_meta(&details);
        }
        if details.meta.key_type == KeyType::String {
            let mut out = std::io::stdout().lock();
            let mut chunks = Chunks::new(backend.as_ref(), &key, details.length);
            while let Some(chunk) = chunks.next().await? {
                out.write_all(&chunk).map_err(Failure::error)?;
            }
            return Ok(());
        }
        print_collection(backend.as_ref(), &key, &details.meta.key_type).await
    })
}

async fn print_keys(
    backend: &dyn CacheBackend,
    request: &ScanRequest,
    count_only: bool,
) -> Result<(), Failure> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // SCAN may return a key twice while the server rehashes; print each once.
    let mut seen = crate::core::keyindex::KeyIndex::new("");
    let mut line = String::new();
    let mut pages = Pages::new(backend, request, 0);
    while let Some(page) = pages.next().await? {
        for key in &page.keys {
            let before = seen.len();
            seen.insert(key).map_err(Failure::error)?;
            if seen.len() > before && !count_only {
                line.clear();
                crate::core::escape::escape_into(key, &mut line);
                line.push('\n');
                if out.write_all(line.as_bytes()).is_err() {
                    return Ok(()); // the reader went away (`| head`): not an error
                }
            }
        }
    }
    if count_only {
        let _ = writeln!(out, "{}", seen.len());
    }
    let _ = out.flush();
    Ok(())
}

fn print_meta(details: &KeyDetails) -> Result<(), Failure> {
    let ttl = match details.meta.ttl {
        Ttl::Persistent => "-1".to_owned(),
        Ttl::ExpiresInMs(ms) => ms.div_ceil(1000).to_string(),
        Ttl::Unknown => "unknown".to_owned(),
    };
    let size = details
        .meta
        .size_bytes
        .map_or_else(|| "unknown".to_owned(), |s| s.to_string());
    let text = format!(
        "type: {}\nttl: {ttl}\nsize: {size}\nlength: {}\nencoding: {}\n",
        details.meta.key_type.label(),
        details.length,
        details.encoding.as_deref().unwrap_or("unknown"),
    );
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(Failure::error)
}

/// Collections stream to stdout a page at a time: a million-field hash never sits in memory
/// as one JSON document. Elements are written compact, one per line.
async fn print_collection(
    backend: &dyn CacheBackend,
    key: &[u8],
    key_type: &KeyType,
) -> Result<(), Failure> {
    let mut out = JsonStream::new(*key_type == KeyType::Hash);
    let mut seen = SeenSet::default();
    let json = |v: &serde_json::Value| v.to_string();
    let text = |b: &[u8]| json(&escape_bytes(b).into());
    let mut cursor = PageCursor::Start;
    loop {
        let page = backend.read_page(key, key_type, &cursor, 1000).await?;
        match page.items {
            ValueItems::String { bytes, .. } => out.element(&text(&bytes))?,
            ValueItems::Hash(pairs) => {
                // HSCAN may return a field twice while Redis rehashes: printed once.
                for (f, v) in pairs.iter().filter(|(f, _)| seen.first_time(f)) {
                    out.element(&format!("{}: {}", text(f), text(v)))?;
                }
            }
            ValueItems::List(items) => {
                for v in &items {
                    out.element(&text(v))?;
                }
            }
            ValueItems::Set(items) => {
                for v in items.iter().filter(|v| seen.first_time(v)) {
                    out.element(&text(v))?;
                }
            }
            ValueItems::ZSet(members) => {
                for (m, score) in &members {
                    out.element(&json(&serde_json::json!([escape_bytes(m), score])))?;
                }
            }
            ValueItems::Stream(entries) => {
                for e in &entries {
                    let fields: serde_json::Map<String, serde_json::Value> = e
                        .fields
                        .iter()
                        .map(|(f, v)| (escape_bytes(f), serde_json::Value::String(escape_bytes(v))))
                        .collect();
                    out.element(&json(
                        &serde_json::json!({"id": escape_bytes(&e.id), "fields": fields}),
                    ))?;
                }
            }
            ValueItems::Json(text) => {
                return writeln!(std::io::stdout().lock(), "{text}").map_err(Failure::error);
            }
        }
        match page.next {
            Some(next) => cursor = next,
            None => break,
        }
    }
    out.close()
}

/// A JSON array (or object) written to stdout one element at a time.
struct JsonStream {
    out: std::io::StdoutLock<'static>,
    object: bool,
    first: bool,
}

impl JsonStream {
    fn new(object: bool) -> Self {
        Self {
            out: std::io::stdout().lock(),
            object,
            first: true,
        }
    }

    fn element(&mut self, text: &str) -> Result<(), Failure> {
        let open = match (self.first, self.object) {
            (true, true) => "{\n  ",
            (true, false) => "[\n  ",
            (false, _) => ",\n  ",
        };
        self.first = false;
        self.out
            .write_all(open.as_bytes())
            .and_then(|()| self.out.write_all(text.as_bytes()))
            .map_err(Failure::error)
    }

    fn close(mut self) -> Result<(), Failure> {
        let close = match (self.first, self.object) {
            (true, true) => "{}\n",
            (true, false) => "[]\n",
            (false, true) => "\n}\n",
            (false, false) => "\n]\n",
        };
        self.out.write_all(close.as_bytes()).map_err(Failure::error)
    }
}

/// Which members were printed already, as 128-bit fingerprints (16 bytes a member, not the
/// member itself): two members colliding is less likely than a disk error.
#[derive(Default)]
struct SeenSet {
    seen: std::collections::HashSet<u128>,
    keys: (std::hash::RandomState, std::hash::RandomState),
}

impl SeenSet {
    fn first_time(&mut self, member: &[u8]) -> bool {
        use std::hash::BuildHasher as _;
        let a = self.keys.0.hash_one(member);
        let b = self.keys.1.hash_one(member);
        self.seen.insert(u128::from(a) << 64 | u128::from(b))
    }
}

async fn print_decoded(
    backend: &dyn CacheBackend,
    key: &[u8],
    details: &KeyDetails,
) -> Result<(), Failure> {
    if details.meta.key_type != KeyType::String {
        return Err(Failure::error(
            "--decode reads string values; collections print as JSON without it",
        ));
    }
    let mut bytes = Vec::new();
    let mut chunks = Chunks::new(backend, key, details.length);
    while let Some(chunk) = chunks.next().await? {
        bytes.extend_from_slice(&chunk);
    }
    let decoded = crate::core::decode::detect(&bytes, details.flags)
        .ok_or_else(|| {
            Failure::error(
                "no known encoding recognised (not PHP serialize, gzip, zlib or flagged)",
            )
        })?
        .map_err(Failure::error)?;
    let text = serde_json::to_string_pretty(&crate::core::decode::to_json(&decoded.node))
        .map_err(Failure::error)?;
    println!("{text}");
    Ok(())
}
