//! Format detection and every decoder behind it (gzip, zlib, FastLZ, MessagePack, base64,
//! PHP memcached flags): never panics, never allocates without bound.
#![no_main]
use cache_console::core::decode::{Format, decode_as, detect};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (flags, value) = match data.split_first_chunk::<4>() {
        Some((f, rest)) => (Some(u32::from_le_bytes(*f)), rest),
        None => (None, data),
    };
    if let Some(Ok(decoded)) = detect(value, flags) {
        let _ = cache_console::core::decode::to_json(&decoded.node);
        let _ = cache_console::core::decode::render(&decoded);
    }
    for format in [
        Format::Php,
        Format::Base64Php,
        Format::MessagePack,
        Format::Gzip,
        Format::Zlib,
    ] {
        let _ = decode_as(value, format);
    }
    let _ = cache_console::core::decode::fastlz_decompress(value, 1 << 20);
});
