//! The audit window as support staff use it: filter what was done by profile, action, key and
//! time, then export exactly that.

mod common;

use cache_console::config::audit::{AuditEntry, AuditLog};
use cache_console::config::profiles::ProfileStore;
use cache_console::state::{Action, AppState};
use common::ui::{harness, open_audit_log, replace_text, run_until};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

type H = Harness<'static, cache_console::ui::App>;

fn entry(profile: &str, action: &str, keys: &[&str], hours_ago: u64) -> AuditEntry {
    let at = std::time::SystemTime::now() - std::time::Duration::from_secs(hours_ago * 3600);
    AuditEntry {
        time: humantime::format_rfc3339_seconds(at).to_string(),
        profile: profile.into(),
        target: "redis://127.0.0.1:6379/0".into(),
        action: action.into(),
        keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        key_count: keys.len() as u64,
        db: Some(0),
        outcome: "ok".into(),
        ..AuditEntry::default()
    }
}

/// An app whose audit log holds a morning's work on two profiles.
fn app_with_history() -> (tempfile::TempDir, H, AuditLog) {
    let cfg = tempfile::tempdir().expect("config dir");
    let mut h = harness(AppState::new(ProfileStore::empty_in(cfg.path()), None));
    let log = h.state().state.audit.clone().expect("a log");
    let mut ttl = entry("prod", "ttl", &["user:1"], 1);
    ttl.ttl_before = Some("none".into());
    ttl.ttl_after = Some("15 minutes".into());
    let mut flush = entry("dev", "flushdb", &[], 2);
    flush.affected = Some(30_000);
    for e in [
        entry("prod", "delete", &["=HYPERLINK(\"x\")", "user:2"], 72),
        flush,
        entry("prod", "delete", &["session:9"], 3),
        ttl,
    ] {
        log.append(&e).expect("append");
    }
    h.run_steps(2);
    (cfg, h, log)
}

fn wait_read(h: &mut H) {
    h.run_steps(2);
    run_until(h, "the audit read", |app| {
        app.state
            .audit_view
            .as_ref()
            .is_some_and(|v| v.read.result.is_some())
    });
}

fn shown(h: &H) -> Vec<(String, String)> {
    common::ui::audit_entries(h)
        .into_iter()
        .map(|e| (e.profile, e.action))
        .collect()
}

fn choose(h: &mut H, combo: &str, option: &str) {
    h.get_by_role_and_label(Role::ComboBox, combo).click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, option).click();
    wait_read(h);
}

#[test]
fn the_audit_window_filters_by_profile_action_key_and_time_and_exports_what_it_shows() {
    let (_cfg, mut h, _log) = app_with_history();
    open_audit_log(&mut h);
    assert!(h.query_by_label("4 matching entries.").is_some());
    assert!(
        h.query_by_label("TTL from none to 15 minutes").is_some(),
        "the TTL change is shown"
    );
    assert!(
        h.query_by_label("30,000").is_some(),
        "what the flush removed"
    );

    choose(&mut h, "Profile", "prod");
    assert_eq!(
        shown(&h),
        [
            ("prod".to_owned(), "ttl".to_owned()),
            ("prod".to_owned(), "delete".to_owned()),
            ("prod".to_owned(), "delete".to_owned())
        ]
    );
    choose(&mut h, "Action", "delete");
    assert_eq!(shown(&h).len(), 2);
    replace_text(&mut h, "Keys", "user:*");
    wait_read(&mut h);
    assert_eq!(shown(&h).len(), 1, "only the delete of user:2");
    h.get_by_label("Keys").focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.key_press(egui::Key::Backspace);
    wait_read(&mut h);
    assert_eq!(shown(&h).len(), 2, "the key filter is off again");
    choose(&mut h, "When", "the last 24 hours");
    let recent = common::ui::audit_entries(&h);
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].keys, ["session:9"]);

    // Export writes what the filter matches, as a CSV or as JSON lines.
    let out = tempfile::tempdir().expect("out");
    for name in ["audit.csv", "audit.jsonl"] {
        let path = out.path().join(name);
        h.state_mut()
            .state
            .handle(Action::ExportAudit(path.clone()));
        run_until(&mut h, "the export", |_| path.exists());
        let text = std::fs::read_to_string(&path).expect("exported");
        assert!(text.contains("session:9"), "{text}");
        assert!(
            !text.contains("user:2") && !text.contains("flushdb"),
            "{text}"
        );
    }
    h.run_steps(2);
    assert_eq!(
        h.query_all_by_label_contains("exported 1 audit entry to")
            .count(),
        2,
        "each export says where it went"
    );

    // An unfiltered CSV keeps a formula-looking key as text.
    choose(&mut h, "Profile", "any profile");
    choose(&mut h, "Action", "any action");
    choose(&mut h, "When", "any time");
    let path = out.path().join("all.csv");
    h.state_mut()
        .state
        .handle(Action::ExportAudit(path.clone()));
    run_until(&mut h, "the export", |_| path.exists());
    let text = std::fs::read_to_string(&path).expect("exported");
    assert_eq!(text.lines().count(), 5, "a header and every entry: {text}");
    assert!(text.contains("'=HYPERLINK"), "{text}");
    h.state_mut().shutdown();
}
