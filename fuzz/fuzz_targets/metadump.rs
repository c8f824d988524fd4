//! memcached's `lru_crawler metadump` lines.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(key) = cache_console::backend::memcached::parse_dump_line(data) {
        assert!(key.len() <= data.len());
    }
});
