//! Laravel's tagged cache in Redis (Laravel 8's `RedisTaggedCache`), read and flushed through
//! any backend that holds sets and matches patterns on the server — so through the guard (a
//! read-only profile refuses the flush, the audit log names every key) and a declared key
//! prefix alike.
//!
//! What Laravel keeps, below the store's root `R` (the keys' common prefix as the console sees
//! them: Laravel's connection and cache prefixes, or nothing when the profile declares both):
//! - `R tag:{name}:key`: the tag's current id (a serialized string);
//! - `R {sha1(id1|id2…)}:{key}`: an entry stored under those tags;
//! - `R {id}:standard_ref` and `R {id}:forever_ref`: sets of the entries stored under the tag
//!   with a TTL and without, each member `P {sha1}:{key}` (`P` the cache prefix alone).
//!
//! `Cache::tags(['a'])->flush()` deletes every member of `a`'s two sets, the sets, and
//! `tag:a:key`; [`flush_tag`] does exactly that and no more (an entry also under another tag
//! goes too, and stays a member of that tag's set, as with Laravel).

use bytes::Bytes;

use super::{BackendError, BackendResult, CacheBackend, Capabilities};
use crate::core::model::{KeyType, PageCursor, ScanRequest, ValueItems, WriteOp};

/// The two reference sets of a tag, in the order Laravel flushes them.
const REFERENCES: [&str; 2] = ["forever_ref", "standard_ref"];

/// Tags looked at for one key, at most (a keyspace with more tag names than this is not a
/// cache's).
const MAX_TAGS: usize = 10_000;

/// Members of a reference set deleted in one write.
const DELETE_BATCH: usize = 500;

/// A tag a key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Its name (`Cache::tags(['users'])`).
    pub name: String,
    /// The store root its keys are under (the part before `tag:`).
    pub root: Bytes,
}

/// Whether `capabilities` can hold Laravel's tags: sets, searched and matched on the server.
#[must_use]
pub fn supports_tags(capabilities: &Capabilities) -> bool {
    capabilities.server_side_pattern
        && capabilities.find_in_values
        && capabilities.value_types.contains(&KeyType::Set)
}

/// Where a tagged entry's name splits: `R`, the namespace's sha1 and the key, when `key` has
/// the shape of one (`R {40 hex}:{name}`).
#[must_use]
pub fn tagged_entry(key: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    (0..key.len().saturating_sub(41)).find_map(|start| {
        let digest = &key[start..start + 40];
        let is_hex = digest
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
        let starts_part = start == 0 || !key[start - 1].is_ascii_hexdigit();
        (is_hex && starts_part && key[start + 40] == b':')
            .then(|| (&key[..start], digest, &key[start + 41..]))
    })
}

/// The tags `key` (an entry stored under tags) belongs to. Empty when the key is not a tagged
/// entry.
///
/// The entry's name says it: its digest is the sha1 of its tags' ids as Laravel joined them,
/// so up to three tags are found by hashing their ids in every order. Only an entry under
/// more tags than that is looked for in every tag's reference sets, which are read whole.
///
/// # Errors
/// The server failed to list or read.
pub async fn tags_of(be: &dyn CacheBackend, key: &[u8]) -> BackendResult<Vec<Tag>> {
    let Some((root, digest, name)) = tagged_entry(key) else {
        return Ok(Vec::new());
    };
    let ids = tag_ids(be, root).await?;
    let tag = |name: &str| Tag {
        name: name.to_owned(),
        root: Bytes::copy_from_slice(root),
    };
    if let Some(mut names) = tags_by_namespace(&ids, digest) {
        names.sort_unstable();
        return Ok(names.into_iter().map(tag).collect());
    }
    let mut suffix = digest.to_vec();
    suffix.push(b':');
    suffix.extend_from_slice(name);
    let mut member_pattern = b"*".to_vec();
    member_pattern.extend(crate::core::glob::escape(&suffix));
    let mut found = Vec::new();
    for (tag, id) in ids {
        for reference in REFERENCES {
            let set = reference_key(root, &id, reference);
            if holds_member(be, &set, &member_pattern, &suffix).await? {
                found.push(Tag {
                    name: tag.clone(),
                    root: Bytes::copy_from_slice(root),
                });
                break;
            }
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// The most namespaces hashed while looking for an entry's tags (fifty tags in every order of
/// up to three is about 120,000).
const MAX_NAMESPACES: usize = 200_000;

/// The tags whose ids, joined as Laravel joins them (`id1|id2`, in the order the tags were
/// given), hash to `digest` (40 lower-case hex digits): one, two or three distinct tags.
fn tags_by_namespace<'a>(ids: &'a [(String, Vec<u8>)], digest: &[u8]) -> Option<Vec<&'a str>> {
    let mut tried = 0;
    let mut order = Vec::new();
    for size in 1..=3 {
        if let Some(found) = permutations(ids, size, &mut order, &mut tried, digest) {
            return Some(found);
        }
    }
    None
}

/// Tries every ordering of `size` more distinct ids after `order`; the tags of the first
/// namespace whose sha1 is `digest`.
fn permutations<'a>(
    ids: &'a [(String, Vec<u8>)],
    size: usize,
    order: &mut Vec<usize>,
    tried: &mut usize,
    digest: &[u8],
) -> Option<Vec<&'a str>> {
    if size == 0 {
        *tried += 1;
        let namespace: Vec<&[u8]> = order.iter().map(|&i| ids[i].1.as_slice()).collect();
        let hash = sha1_smol::Sha1::from(namespace.join(&b'|'))
            .digest()
            .to_string();
        return (hash.as_bytes() == digest)
            .then(|| order.iter().map(|&i| ids[i].0.as_str()).collect());
    }
    for i in 0..ids.len() {
        if order.contains(&i) || *tried >= MAX_NAMESPACES {
            continue;
        }
        order.push(i);
        let found = permutations(ids, size - 1, order, tried, digest);
        order.pop();
        if found.is_some() {
            return found;
        }
    }
    None
}

/// What flushing tag `name` under `root` deletes, as Laravel would: the entries its reference
/// sets name, the two sets and the tag's id key. Nothing is deleted here.
///
/// # Errors
/// The server failed to read.
pub async fn tag_members(
    be: &dyn CacheBackend,
    root: &[u8],
    name: &str,
) -> BackendResult<Vec<Bytes>> {
    let tag_key = tag_key(root, name);
    let Some(id) = read_tag_id(be, &tag_key).await? else {
        return Ok(Vec::new());
    };
    // The entries first (what a person checks), then the two sets and the tag's id.
    let mut keys = Vec::new();
    let mut sets = Vec::new();
    for reference in REFERENCES {
        let set = reference_key(root, &id, reference);
        for member in set_members(be, &set).await? {
            keys.push(entry_for_member(root, &member));
        }
        sets.push(Bytes::from(set));
    }
    keys.extend(sets);
    keys.push(Bytes::from(tag_key));
    let mut seen = std::collections::HashSet::new();
    keys.retain(|k| seen.insert(k.clone()));
    Ok(keys)
}

/// `Cache::tags([name])->flush()`: deletes what [`tag_members`] names (the entries first, then
/// the sets, then the tag's id), in batches; how many keys went.
///
/// # Errors
/// The server failed, or refused (a read-only profile).
pub async fn flush_tag(be: &dyn CacheBackend, root: &[u8], name: &str) -> BackendResult<u64> {
    delete_keys(be, &tag_members(be, root, name).await?).await
}

/// Deletes `keys` (what [`tag_members`] named) in batches; how many were there.
///
/// # Errors
/// The server failed, or refused (a read-only profile).
pub async fn delete_keys(be: &dyn CacheBackend, keys: &[Bytes]) -> BackendResult<u64> {
    let mut deleted = 0;
    for batch in keys.chunks(DELETE_BATCH) {
        deleted += be
            .write(&WriteOp::Delete {
                keys: batch.to_vec(),
            })
            .await?
            .changed();
    }
    Ok(deleted)
}

/// The root of tag `name`: the one prefix under which `tag:{name}:key` exists.
///
/// # Errors
/// No such tag, or several roots hold one (then the root must be given).
pub async fn find_tag_root(be: &dyn CacheBackend, name: &str) -> BackendResult<Bytes> {
    let mut wanted = b"*".to_vec();
    wanted.extend(crate::core::glob::escape(&tag_key(b"", name)));
    let keys = list(be, wanted).await?;
    let suffix = tag_key(b"", name);
    let mut roots: Vec<Bytes> = keys
        .iter()
        .filter_map(|k| k.strip_suffix(suffix.as_slice()))
        .map(Bytes::copy_from_slice)
        .collect();
    roots.sort();
    roots.dedup();
    match roots.len() {
        0 => Err(BackendError::Invalid(format!(
            "no Laravel tag named `{name}` here (no key ends with `tag:{name}:key`)"
        ))),
        1 => Ok(roots.remove(0)),
        _ => Err(BackendError::Invalid(format!(
            "tag `{name}` is under several prefixes ({}): say which with --root",
            roots
                .iter()
                .map(|r| crate::core::escape::escape_bytes(r))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn tag_key(root: &[u8], name: &str) -> Vec<u8> {
    let mut key = root.to_vec();
    key.extend_from_slice(b"tag:");
    key.extend_from_slice(name.as_bytes());
    key.extend_from_slice(b":key");
    key
}

fn reference_key(root: &[u8], id: &[u8], reference: &str) -> Vec<u8> {
    let mut key = root.to_vec();
    key.extend_from_slice(id);
    key.push(b':');
    key.extend_from_slice(reference.as_bytes());
    key
}

/// The key of the entry a reference set's member names: the member is `P {sha1}:{key}` with
/// `P` the cache prefix alone; the entry is `root {sha1}:{key}`.
fn entry_for_member(root: &[u8], member: &[u8]) -> Bytes {
    let rest = tagged_entry(member).map_or(member, |(prefix, _, _)| &member[prefix.len()..]);
    let mut key = root.to_vec();
    key.extend_from_slice(rest);
    Bytes::from(key)
}

/// Every tag under `root` and its current id.
async fn tag_ids(be: &dyn CacheBackend, root: &[u8]) -> BackendResult<Vec<(String, Vec<u8>)>> {
    let mut pattern = crate::core::glob::escape(root);
    pattern.extend_from_slice(b"tag:*:key");
    let mut out = Vec::new();
    for key in list(be, pattern).await?.into_iter().take(MAX_TAGS) {
        let Some(name) = key
            .strip_prefix(root)
            .and_then(|k| k.strip_prefix(b"tag:"))
            .and_then(|k| k.strip_suffix(b":key"))
        else {
            continue;
        };
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        if let Some(id) = read_tag_id(be, &key).await? {
            out.push((name.to_owned(), id));
        }
    }
    Ok(out)
}

/// A tag's id: the string Laravel stored (serialized, `s:22:"…";`, or raw); `None` when the
/// key is gone or holds something else.
async fn read_tag_id(be: &dyn CacheBackend, key: &[u8]) -> BackendResult<Option<Vec<u8>>> {
    let raw = match be.read_string_range(key, 0, 256).await {
        Ok(raw) => raw,
        Err(BackendError::KeyNotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let id = unserialized_string(&raw).unwrap_or(&raw);
    let valid = !id.is_empty() && id.iter().all(u8::is_ascii_alphanumeric);
    Ok(valid.then(|| id.to_vec()))
}

/// The string of PHP's `s:N:"…";`, when `raw` is one.
fn unserialized_string(raw: &[u8]) -> Option<&[u8]> {
    let rest = raw.strip_prefix(b"s:")?;
    let colon = rest.iter().position(|&b| b == b':')?;
    let len: usize = std::str::from_utf8(&rest[..colon]).ok()?.parse().ok()?;
    let body = rest[colon + 1..].strip_prefix(b"\"")?;
    (body.get(len..)? == b"\";").then(|| &body[..len])
}

/// Every key `pattern` matches, through the backend's own listing.
async fn list(be: &dyn CacheBackend, pattern: Vec<u8>) -> BackendResult<Vec<Bytes>> {
    let request = ScanRequest::matching(pattern);
    let mut pages = super::ops::Pages::new(be, &request, 0);
    let mut keys = Vec::new();
    while let Some(page) = pages.next().await? {
        keys.extend(page.keys);
    }
    Ok(keys)
}

/// Whether set `key` holds a member matching `pattern` that ends with `suffix`.
async fn holds_member(
    be: &dyn CacheBackend,
    key: &[u8],
    pattern: &[u8],
    suffix: &[u8],
) -> BackendResult<bool> {
    let mut cursor = PageCursor::Start;
    loop {
        let page = match be
            .find_in_value(key, &KeyType::Set, pattern, &cursor, 1000)
            .await
        {
            Ok(page) => page,
            Err(BackendError::KeyNotFound(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        if let ValueItems::Set(members) = &page.items
            && members.iter().any(|m| m.ends_with(suffix))
        {
            return Ok(true);
        }
        match page.next {
            Some(next) => cursor = next,
            None => return Ok(false),
        }
    }
}

/// Every member of set `key` (none when it is not there).
async fn set_members(be: &dyn CacheBackend, key: &[u8]) -> BackendResult<Vec<Bytes>> {
    let mut cursor = PageCursor::Start;
    let mut members = Vec::new();
    loop {
        let page = match be.read_page(key, &KeyType::Set, &cursor, 1000).await {
            Ok(page) => page,
            Err(BackendError::KeyNotFound(_)) => return Ok(members),
            Err(e) => return Err(e),
        };
        if let ValueItems::Set(page_members) = page.items {
            members.extend(page_members);
        }
        match page.next {
            Some(next) => cursor = next,
            None => return Ok(members),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn a_tagged_entry_splits_at_its_namespace_digest() {
        let key = format!("laravel_database_laravel_cache:{SHA}:user:1");
        let (root, digest, name) = tagged_entry(key.as_bytes()).expect("tagged");
        assert_eq!(root, b"laravel_database_laravel_cache:");
        assert_eq!(digest, SHA.as_bytes());
        assert_eq!(name, b"user:1");
        let bare = format!("{SHA}:k");
        assert_eq!(tagged_entry(bare.as_bytes()).map(|t| t.0), Some(&b""[..]));
        assert!(tagged_entry(b"user:1").is_none());
        assert!(tagged_entry(format!("x{SHA}:k").as_bytes()).is_some());
        assert!(
            tagged_entry(format!("{}:k", &SHA[..39]).as_bytes()).is_none(),
            "39 digits are not a sha1"
        );
    }

    #[test]
    fn members_name_entries_under_the_root() {
        let member = format!("laravel_cache:{SHA}:user:1");
        assert_eq!(
            entry_for_member(b"laravel_database_laravel_cache:", member.as_bytes()),
            Bytes::from(format!("laravel_database_laravel_cache:{SHA}:user:1"))
        );
        assert_eq!(
            entry_for_member(b"", member.as_bytes()),
            Bytes::from(format!("{SHA}:user:1")),
            "with the whole prefix declared, the entry is named without it"
        );
    }

    #[test]
    fn an_entrys_tags_are_found_by_hashing_their_ids() {
        let ids: Vec<(String, Vec<u8>)> = ["people", "admins", "posts"]
            .iter()
            .enumerate()
            .map(|(i, n)| ((*n).to_owned(), format!("5f3c{i}a").into_bytes()))
            .collect();
        let digest = |ns: &str| sha1_smol::Sha1::from(ns).digest().to_string();
        assert_eq!(
            tags_by_namespace(&ids, digest("5f3c1a").as_bytes()),
            Some(vec!["admins"])
        );
        assert_eq!(
            tags_by_namespace(&ids, digest("5f3c1a|5f3c0a").as_bytes()),
            Some(vec!["admins", "people"]),
            "in the order the tags were given"
        );
        assert_eq!(
            tags_by_namespace(&ids, digest("5f3c2a|5f3c0a|5f3c1a").as_bytes()),
            Some(vec!["posts", "people", "admins"])
        );
        assert_eq!(tags_by_namespace(&ids, digest("other").as_bytes()), None);
    }

    #[test]
    fn tag_ids_are_read_serialized_or_raw() {
        assert_eq!(
            unserialized_string(br#"s:22:"656b2e7ea4c6a283906425";"#),
            Some(&b"656b2e7ea4c6a283906425"[..])
        );
        assert_eq!(unserialized_string(br#"s:3:"ab";"#), None);
        assert_eq!(unserialized_string(b"656b2e7e"), None);
    }
}
