//! Connection URLs: never panic; a parsed URL prints as one that parses back to the same, and
//! no password ever shows in the printed form.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok((spec, password)) = cache_console::config::connection::parse_url(text) else {
        return;
    };
    let printed = spec.display_url();
    // Unless the same text also stands elsewhere in the URL (a path may contain anything).
    if let Some(pw) = password {
        if pw.expose().len() >= 4 && text.matches(pw.expose()).count() <= 1 {
            assert!(!printed.contains(pw.expose()), "{printed}");
        }
    }
    // The printed form can be pasted back, and means the same.
    let (again, _) =
        cache_console::config::connection::parse_url(&printed).expect("the printed URL parses");
    assert_eq!(again.display_url(), printed);
});
