//! PHP `unserialize()`: never panics; what it reads, it writes back so that it reads the same
//! (compared as bytes: a `d:NAN;` float is not equal to itself).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(node) = cache_console::core::decode::php::unserialize(data) {
        let again = cache_console::core::decode::php::serialize(&node);
        let back =
            cache_console::core::decode::php::unserialize(&again).expect("re-serialized data reads");
        assert_eq!(cache_console::core::decode::php::serialize(&back), again);
    }
});
