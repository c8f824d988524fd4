//! TTL input: parses to a bounded TTL or says why.
#![no_main]
use cache_console::core::model::TtlChange;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = 1_790_000_000_000;
    match cache_console::core::ttl::parse_ttl(text, now) {
        Ok(TtlChange::InMs(ms)) => assert!(ms > 0 && ms <= cache_console::core::ttl::MAX_TTL_MS),
        Ok(TtlChange::AtUnixMs(at)) => assert!(at > now),
        Ok(_) | Err(_) => {}
    }
});
