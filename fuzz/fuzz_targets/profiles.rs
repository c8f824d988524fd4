//! The profiles file: any content loads, or is kept aside byte for byte with a warning.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("profiles.ron");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let loaded = cache_console::config::profiles::ProfileStore::load_from(dir.path());
    if loaded.warning.is_some() && !path.exists() {
        let kept = std::fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| std::fs::read(e.path()).ok().as_deref() == Some(data));
        assert!(kept, "a damaged file was lost");
    }
});
