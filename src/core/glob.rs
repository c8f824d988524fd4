//! Redis glob matching, for backends whose servers cannot filter keys by pattern themselves.
//!
//! The same pattern must mean the same keys on every backend, so this follows Redis'
//! `stringmatchlen` rule for rule: `*`, `?`, `[abc]`, `[^abc]`, `[a-z]` (reversed ranges too),
//! `\` escapes inside and outside brackets, and an unclosed `[` that ends the pattern. Glob
//! crates differ on several of these (path separators, `!` negation, unclosed brackets), hence
//! this small module.

/// A glob that matches `literal` and nothing else: `*`, `?`, `[`, `]` and `\` escaped.
#[must_use]
pub fn escape(literal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(literal.len());
    for &b in literal {
        if matches!(b, b'*' | b'?' | b'[' | b']' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

/// True when `key` matches the Redis glob `pattern` (bytes, case-sensitive).
///
/// Time is at most proportional to `pattern.len() * key.len()`, whatever the pattern: every
/// element but `*` matches exactly one byte, so backtracking to the last `*` only is enough
/// (a pattern like `*a*a*a…b` cannot blow up, as plain recursion does).
#[must_use]
pub fn matches(pattern: &[u8], key: &[u8]) -> bool {
    if key.is_empty() {
        // Redis' own rule for the empty key: its matcher never looks at a pattern against an
        // empty string (only an empty pattern matches), and `*` alone lists every key without
        // matching at all. So `*` and `` find it; `**` or `*?` do not.
        return pattern.is_empty() || pattern == b"*";
    }
    let tokens = tokenize(pattern);
    let (mut t, mut s) = (0, 0);
    // The last `*` seen and the key position it is currently taken to end at.
    let mut star: Option<(usize, usize)> = None;
    while s < key.len() {
        match tokens.get(t) {
            Some(Token::Star) => {
                star = Some((t, s));
                t += 1;
            }
            Some(one) if one.matches(key[s]) => {
                t += 1;
                s += 1;
            }
            _ => {
                let Some((star_t, star_s)) = star else {
                    return false;
                };
                // Let that `*` swallow one more byte and try again from just after it.
                t = star_t + 1;
                s = star_s + 1;
                star = Some((star_t, s));
            }
        }
    }
    tokens[t..].iter().all(|tok| matches!(tok, Token::Star))
}

/// One element of a pattern.
#[derive(Debug)]
enum Token<'a> {
    /// `*`: any run of bytes.
    Star,
    /// `?`: any one byte.
    Any,
    /// One byte, literal (also from a `\` escape).
    Byte(u8),
    /// `[…]`: the bytes between the brackets (ranges and escapes read at match time).
    Class(&'a [u8]),
}

impl Token<'_> {
    fn matches(&self, ch: u8) -> bool {
        match self {
            Self::Star | Self::Any => true,
            Self::Byte(b) => *b == ch,
            Self::Class(body) => match_class(body, ch),
        }
    }
}

fn tokenize(mut p: &[u8]) -> Vec<Token<'_>> {
    let mut out = Vec::with_capacity(p.len());
    while let Some(&c) = p.first() {
        match c {
            b'*' => {
                if !matches!(out.last(), Some(Token::Star)) {
                    out.push(Token::Star);
                }
                p = &p[1..];
            }
            b'?' => {
                out.push(Token::Any);
                p = &p[1..];
            }
            b'[' => {
                let len = class_len(&p[1..]);
                out.push(Token::Class(&p[1..=len]));
                // Past the closing `]`, or at the end for an unclosed class (as in Redis).
                p = p.get(len + 2..).unwrap_or_default();
            }
            b'\\' if p.len() >= 2 => {
                out.push(Token::Byte(p[1]));
                p = &p[2..];
            }
            literal => {
                out.push(Token::Byte(literal));
                p = &p[1..];
            }
        }
    }
    out
}

/// The length of a class body after `[`, up to (not including) its closing `]` or the end;
/// read with the same rules as [`match_class`].
fn class_len(body: &[u8]) -> usize {
    let mut p = body;
    if p.first() == Some(&b'^') {
        p = &p[1..];
    }
    loop {
        match p {
            [] | [b']', ..] => return body.len() - p.len(),
            [b'\\', _, rest @ ..] | [_, b'-', _, rest @ ..] | [_, rest @ ..] => p = rest,
        }
    }
}

/// Matches `ch` against a class body (the bytes after `[` up to its closing `]`).
fn match_class(mut p: &[u8], ch: u8) -> bool {
    let negate = p.first() == Some(&b'^');
    if negate {
        p = &p[1..];
    }
    let mut found = false;
    loop {
        match p {
            [] => break,
            [b'\\', escaped, rest @ ..] => {
                found |= *escaped == ch;
                p = rest;
            }
            // As in Redis, `x-y` is a range whenever three bytes remain, even when `y` is `]`.
            // Redis compares range ends as C `char`s, which are signed on the x86-64 servers it
            // runs on: a byte from 0x80 up sorts below `a` there (the property test against a
            // real Redis found `[\xff-a]` not matching `b`).
            [lo, b'-', hi, rest @ ..] => {
                let signed = |b: u8| i8::from_ne_bytes([b]);
                let (lo, hi) = (signed(*lo), signed(*hi));
                let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
                found |= (lo..=hi).contains(&signed(ch));
                p = rest;
            }
            [c, rest @ ..] => {
                found |= *c == ch;
                p = rest;
            }
        }
    }
    found != negate
}

#[cfg(test)]
mod tests {
    use super::matches;

    fn m(p: &str, s: &str) -> bool {
        matches(p.as_bytes(), s.as_bytes())
    }

    #[test]
    fn the_empty_key_matches_as_redis_matches_it() {
        // Checked against redis-server 7.0 with SCAN MATCH on a key named "".
        assert!(m("*", "") && m("", ""));
        for p in ["**", "*?", "[a]*", "\\*", "a"] {
            assert!(!m(p, ""), "{p}");
        }
    }

    #[test]
    fn stars_and_question_marks() {
        assert!(m("*", ""));
        assert!(m("user:*", "user:42:profile"));
        assert!(!m("user:*", "order:1"));
        assert!(m("*:profile", "user:42:profile"));
        assert!(m("u?er", "user"));
        assert!(!m("u?er", "uer"));
        assert!(m("a**b", "axxb"));
        assert!(m("h*llo*", "hello world"));
    }

    #[test]
    fn classes_ranges_and_negation() {
        assert!(m("[a-c]bc", "bbc"));
        assert!(!m("[a-c]bc", "dbc"));
        assert!(m("[c-a]bc", "bbc"), "reversed ranges work as in Redis");
        assert!(m("[^a-c]bc", "dbc"));
        assert!(!m("[^a-c]bc", "abc"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(m("[\\]]", "]"));
        // Redis reads `a-]` as the range `]`..`a`, leaving the class unclosed.
        assert!(m("[a-]", "_"));
        assert!(!m("[a-]", "-"));
        assert!(m("[-a]", "-"), "a leading dash is literal");
        assert!(m("ab[c", "abc"), "an unclosed class ends the pattern");
        assert!(
            !matches(b"[\xff-a]", b"b"),
            "range ends compare as signed chars"
        );
        assert!(matches(b"[\xff-a]", b"\xff"));
        assert!(matches(b"[\x80-\x90]", b"\x85"));
    }

    #[test]
    fn escapes_make_specials_literal() {
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axb"));
        assert!(m("a\\?", "a?"));
        assert!(m("a\\\\b", "a\\b"));
        assert!(m("a\\", "a\\"), "a lone trailing backslash is literal");
        assert!(matches(b"bin:\xff*", b"bin:\xff\x00"));
    }

    #[test]
    fn many_stars_take_linear_time() {
        let key = "a".repeat(60);
        assert!(!m("*a*a*a*a*a*a*a*a*a*a*a*a*b", &key));
        let key = "a".repeat(100_000);
        let pattern = "*a".repeat(500) + "b";
        let started = std::time::Instant::now();
        assert!(!matches(pattern.as_bytes(), key.as_bytes()));
        // Not a timing test: a blow-up would take longer than the universe, not a second.
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
    }

    /// The recursive reading of Redis' rules, as the matcher was first written: the reference
    /// the fast one is checked against on small inputs. The empty key is Redis' special case
    /// (see [`matches`] and the test above, checked against a real server), not the recursion's.
    fn reference(p: &[u8], s: &[u8]) -> bool {
        if s.is_empty() {
            return p.is_empty() || p == b"*";
        }
        recurse(p, s)
    }

    fn recurse(p: &[u8], s: &[u8]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some(b'*') => (0..=s.len()).any(|i| recurse(&p[1..], &s[i..])),
            Some(b'?') => !s.is_empty() && recurse(&p[1..], &s[1..]),
            Some(b'[') => {
                let len = super::class_len(&p[1..]);
                let rest = p.get(len + 2..).unwrap_or_default();
                s.first()
                    .is_some_and(|c| super::match_class(&p[1..=len], *c))
                    && recurse(rest, &s[1..])
            }
            Some(b'\\') if p.len() >= 2 => s.first() == Some(&p[1]) && recurse(&p[2..], &s[1..]),
            Some(c) => s.first() == Some(c) && recurse(&p[1..], &s[1..]),
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_matcher_agrees_with_the_reference(
            pattern in proptest::collection::vec(proptest::sample::select(b"ab*?[]^-\\\xff".to_vec()), 0..10),
            key in proptest::collection::vec(proptest::sample::select(b"ab]-^\\\xff".to_vec()), 0..10),
        ) {
            proptest::prop_assert_eq!(matches(&pattern, &key), reference(&pattern, &key));
        }
    }
}
