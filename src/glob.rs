//! Redis glob matching, for backends whose servers cannot filter keys by pattern themselves.
//!
//! The same pattern must mean the same keys on every backend, so this follows Redis'
//! `stringmatchlen` rule for rule: `*`, `?`, `[abc]`, `[^abc]`, `[a-z]` (reversed ranges too),
//! `\` escapes inside and outside brackets, and an unclosed `[` that ends the pattern. Glob
//! crates differ on several of these (path separators, `!` negation, unclosed brackets), hence
//! this small module.

/// True when `key` matches the Redis glob `pattern` (bytes, case-sensitive).
#[must_use]
pub fn matches(pattern: &[u8], key: &[u8]) -> bool {
    match_from(pattern, key)
}

fn match_from(mut p: &[u8], mut s: &[u8]) -> bool {
    while let Some(&c) = p.first() {
        match c {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                for start in 0..=s.len() {
                    if match_from(&p[1..], &s[start..]) {
                        return true;
                    }
                }
                return false;
            }
            b'?' => {
                if s.is_empty() {
                    return false;
                }
                s = &s[1..];
                p = &p[1..];
            }
            b'[' => {
                let Some(&ch) = s.first() else {
                    return false;
                };
                let (matched, rest) = match_class(&p[1..], ch);
                if !matched {
                    return false;
                }
                p = rest;
                s = &s[1..];
            }
            b'\\' if p.len() >= 2 => {
                if s.first() != Some(&p[1]) {
                    return false;
                }
                p = &p[2..];
                s = &s[1..];
            }
            literal => {
                if s.first() != Some(&literal) {
                    return false;
                }
                p = &p[1..];
                s = &s[1..];
            }
        }
    }
    s.is_empty()
}

/// Matches `ch` against a bracket class starting after `[`; returns the verdict and the
/// pattern after the closing `]` (or the end, for an unclosed class, as Redis does).
fn match_class(mut p: &[u8], ch: u8) -> (bool, &[u8]) {
    let negate = p.first() == Some(&b'^');
    if negate {
        p = &p[1..];
    }
    let mut found = false;
    loop {
        match p {
            [] => break,
            [b']', rest @ ..] => {
                p = rest;
                break;
            }
            [b'\\', escaped, rest @ ..] => {
                if *escaped == ch {
                    found = true;
                }
                p = rest;
            }
            // As in Redis, `x-y` is a range whenever three bytes remain, even when `y` is `]`.
            [lo, b'-', hi, rest @ ..] => {
                let (lo, hi) = if lo <= hi { (*lo, *hi) } else { (*hi, *lo) };
                if (lo..=hi).contains(&ch) {
                    found = true;
                }
                p = rest;
            }
            [c, rest @ ..] => {
                if *c == ch {
                    found = true;
                }
                p = rest;
            }
        }
    }
    (found != negate, p)
}

#[cfg(test)]
mod tests {
    use super::matches;

    fn m(p: &str, s: &str) -> bool {
        matches(p.as_bytes(), s.as_bytes())
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
}
