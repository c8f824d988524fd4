//! The order a person expects keys and namespaces in: natural (`user:2` before `user:10`),
//! with sorted runs merged rather than sorted again as keys stream in.

use super::KeyId;

/// Orders names the way people count: `user:2` before `user:10`. Runs of ASCII digits compare
/// by value (then by length, so `007` and `7` keep a stable order); everything else by byte.
#[must_use]
pub fn natural_cmp(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let si = i;
            let sj = j;
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let da = trim_zeros(&a[si..i]);
            let db = trim_zeros(&b[sj..j]);
            let ord = da
                .len()
                .cmp(&db.len())
                .then_with(|| da.cmp(db))
                .then_with(|| (i - si).cmp(&(j - sj)));
            if ord != Ordering::Equal {
                return ord;
            }
        } else {
            match a[i].cmp(&b[j]) {
                Ordering::Equal => {
                    i += 1;
                    j += 1;
                }
                other => return other,
            }
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

/// A `u64` whose order agrees with [`natural_cmp`] wherever the two differ (equal prefixes
/// fall back to the full comparison). Sorting by it first keeps a big sort in cache: comparing
/// the names themselves means two random memory reads per comparison.
pub(super) fn sort_prefix(name: &[u8]) -> u64 {
    let mut out = [0u8; 8];
    if name.first().is_some_and(u8::is_ascii_digit) {
        // A leading number sorts by value: '0' as a marker, then the value in 56 bits.
        let digits = name.iter().take_while(|b| b.is_ascii_digit()).count();
        let value = name[..digits].iter().try_fold(0u64, |v, d| {
            v.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        });
        let value = value.unwrap_or(u64::MAX).min((1 << 56) - 1);
        return (u64::from(b'0') << 56) | value;
    }
    for (slot, &b) in out.iter_mut().zip(name) {
        if b.is_ascii_digit() {
            // Digits compare as numbers from here on: keep only that a digit comes next.
            *slot = b'0';
            break;
        }
        *slot = b;
    }
    u64::from_be_bytes(out)
}

/// Sorts ids by the natural order of their names.
pub(super) fn sort_naturally<'a>(ids: &mut [u32], name: impl Fn(u32) -> &'a [u8]) {
    let mut keyed: Vec<(u64, u32)> = ids.iter().map(|&id| (sort_prefix(name(id)), id)).collect();
    keyed.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| natural_cmp(name(a.1), name(b.1)))
    });
    for (slot, (_, id)) in ids.iter_mut().zip(keyed) {
        *slot = id;
    }
}

pub(super) fn trim_zeros(digits: &[u8]) -> &[u8] {
    let first = digits
        .iter()
        .position(|&d| d != b'0')
        .unwrap_or(digits.len());
    &digits[first..]
}

pub(super) fn key_slice<'a>(arena: &'a [u8], ends: &[u32], id: KeyId) -> &'a [u8] {
    let i = id as usize;
    let end = ends[i] as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] as usize };
    &arena[start..end]
}

pub(super) fn merge_sorted(
    old: &[u32],
    fresh: &[u32],
    le: impl Fn(&u32, &u32) -> bool,
) -> Vec<u32> {
    if old.is_empty() {
        return fresh.to_vec();
    }
    let mut out = Vec::with_capacity(old.len() + fresh.len());
    let (mut i, mut j) = (0, 0);
    while i < old.len() && j < fresh.len() {
        if le(&old[i], &fresh[j]) {
            out.push(old[i]);
            i += 1;
        } else {
            out.push(fresh[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&old[i..]);
    out.extend_from_slice(&fresh[j..]);
    out
}
