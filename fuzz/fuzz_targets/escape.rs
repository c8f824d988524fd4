//! The escaped text form: any bytes round-trip; any text unescapes or says why.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let shown = cache_console::core::escape::escape_bytes(data);
    assert_eq!(
        cache_console::core::escape::unescape(&shown).ok().as_deref(),
        Some(data)
    );
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cache_console::core::escape::unescape(text);
        let _ = cache_console::core::escape::pattern_to_glob(text);
    }
});
