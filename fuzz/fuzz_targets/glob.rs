//! The glob matcher: never panics, and stays fast (libFuzzer's -timeout catches a blow-up).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Pattern and key are split at the first NUL.
    let (pattern, key) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let _ = cache_console::core::glob::matches(pattern, key);
    // A key always matches itself once its specials are escaped.
    let escaped: Vec<u8> = key
        .iter()
        .flat_map(|b| {
            if matches!(b, b'*' | b'?' | b'[' | b']' | b'\\') {
                vec![b'\\', *b]
            } else {
                vec![*b]
            }
        })
        .collect();
    assert!(cache_console::core::glob::matches(&escaped, key));
});
