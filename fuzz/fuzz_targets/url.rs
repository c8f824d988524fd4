//! Connection URLs: never panic; a parsed URL prints as one that parses to the same spec, and
//! no password ever shows in the printed form.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok((spec, password)) = cache_console::connection::parse_url(text) else {
        return;
    };
    let printed = spec.display_url();
    if let Some(pw) = password {
        if pw.expose().len() >= 4 {
            assert!(!printed.contains(pw.expose()), "{printed}");
        }
    }
    if let Ok((again, _)) = cache_console::connection::parse_url(&printed) {
        assert_eq!(again.display_url(), printed);
    }
});
