//! Editing through the UI (`egui_kittest`) against a real redis-server, asserting what the
//! server holds afterwards.

mod common;

use cache_console::state::{Pending, ScanPhase, ViewerState};
use cache_console::ui::App;
use common::RedisServer;
use common::ui::{
    connect_to, connect_with, filter_to, replace_text, run_until, viewer_mode, wait_listed,
};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use redis::Commands as _;

type H = Harness<'static, App>;

fn pttl(c: &mut redis::Connection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query(c).expect("pttl")
}

/// Opens `key` by filtering the list to it and clicking it.
fn open(h: &mut H, key: &str) {
    filter_to(h, key);
    h.get_by_label(key).click();
    run_until(h, "the key to open", |app| {
        app.state
            .active_session()
            .and_then(|s| s.viewer.as_ref())
            .is_some_and(|v| v.key == key.as_bytes() && v.state == ViewerState::Loaded)
    });
}

/// Waits until the open key was reloaded after a write.
fn wait_reloaded(h: &mut H, what: &str) {
    h.run_steps(2);
    run_until(h, what, |app| {
        app.state.active_session().is_some_and(|s| {
            !s.writes_pending()
                && s.viewer
                    .as_ref()
                    .is_none_or(|v| v.state == ViewerState::Loaded)
                && s.browser.scan.phase != ScanPhase::Running
        })
    });
}

fn edit_text(h: &mut H, text: &str) {
    let editor = h.get_by_role(egui::accesskit::Role::MultilineTextInput);
    editor.focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_role(egui::accesskit::Role::MultilineTextInput)
        .type_text(text);
    h.run_steps(2);
}

#[test]
fn a_string_is_edited_as_json_keeping_its_ttl_and_conflicts_are_caught() {
    let server = RedisServer::start();
    let mut c = server.conn();
    redis::cmd("SET")
        .arg("user:1:profile")
        .arg(r#"{"name":"Ada"}"#)
        .arg("EX")
        .arg(3600)
        .query::<()>(&mut c)
        .expect("set");
    let (_cfg, mut h) = connect_to(&server.url(), "edit");
    wait_listed(&mut h);
    open(&mut h, "user:1:profile");
    h.get_by_label("Edit raw").click();
    h.run_steps(2);
    assert!(h.query_by_label("JSON").is_some());

    // Broken JSON is refused with line and column; nothing is sent.
    edit_text(&mut h, "{\n  \"name\": \"Ada\",\n}");
    h.get_by_label("Save").click();
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("invalid JSON at line 3, column 1")
            .is_some()
    );
    let v: String = c.get("user:1:profile").expect("get");
    assert_eq!(v, r#"{"name":"Ada"}"#);

    edit_text(&mut h, "{\n  \"name\": \"Ada Lovelace\"\n}");
    h.get_by_label("Save").click();
    wait_reloaded(&mut h, "the save");
    let v: String = c.get("user:1:profile").expect("get");
    assert_eq!(v, r#"{"name":"Ada Lovelace"}"#);
    assert!(
        pttl(&mut c, "user:1:profile") > 3_500_000,
        "the TTL is kept"
    );

    // Another client changes the value while we edit: the save is refused, then overwritten
    // only when the user says so.
    h.get_by_label("Edit raw").click();
    h.run_steps(2);
    let _: () = c
        .set_options(
            "user:1:profile",
            r#"{"name":"theirs"}"#,
            redis::SetOptions::default().with_expiration(redis::SetExpiry::KEEPTTL),
        )
        .expect("other writer");
    edit_text(&mut h, r#"{"name": "mine"}"#);
    h.get_by_label("Save").click();
    run_until(&mut h, "the conflict", |app| {
        app.state
            .active_session()
            .and_then(|s| s.viewer.as_ref())
            .is_some_and(|v| v.conflict.is_some())
    });
    assert!(
        h.query_by_label_contains("changed on the server since you loaded it")
            .is_some()
    );
    let v: String = c.get("user:1:profile").expect("get");
    assert_eq!(v, r#"{"name":"theirs"}"#, "nothing was clobbered");
    h.get_by_label("Overwrite").click();
    wait_reloaded(&mut h, "the overwrite");
    let v: String = c.get("user:1:profile").expect("get");
    assert_eq!(v, r#"{"name":"mine"}"#);
    assert!(
        pttl(&mut c, "user:1:profile") > 3_500_000,
        "still the same TTL"
    );
    h.state_mut().shutdown();
}

#[test]
fn hash_fields_are_added_edited_and_removed_and_the_ttl_stays() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let _: () = c
        .hset_multiple("session:9", &[("a", "1"), ("b", "2")])
        .expect("hset");
    let _: () = c.expire("session:9", 900).expect("expire");
    let (_cfg, mut h) = connect_to(&server.url(), "hash");
    wait_listed(&mut h);
    open(&mut h, "session:9");

    common::ui::open_add_form(&mut h);
    replace_text(&mut h, "New field", "c");
    replace_text(&mut h, "New value", "3");
    h.get_by_label("Add field").click();
    wait_reloaded(&mut h, "the new field");
    let v: Option<String> = c.hget("session:9", "c").expect("hget");
    assert_eq!(v.as_deref(), Some("3"));

    // Edit field `a` (row order follows HSCAN; find its row by its value).
    let row = row_of(&h, |items| match items {
        cache_console::core::model::ValueItems::Hash(pairs) => {
            pairs.iter().position(|(f, _)| f.as_ref() == b"a")
        }
        _ => None,
    });
    h.get_by_label(&row.to_string()).click();
    h.run_steps(2);
    replace_text(&mut h, "Edit value", "100");
    h.get_by_label("Save element").click();
    wait_reloaded(&mut h, "the edit");
    let v: Option<String> = c.hget("session:9", "a").expect("hget");
    assert_eq!(v.as_deref(), Some("100"));

    let row = row_of(&h, |items| match items {
        cache_console::core::model::ValueItems::Hash(pairs) => {
            pairs.iter().position(|(f, _)| f.as_ref() == b"b")
        }
        _ => None,
    });
    h.get_by_label(&row.to_string()).click();
    h.run_steps(2);
    h.get_by_label("Remove element").click();
    wait_reloaded(&mut h, "the removal");
    let fields: Vec<String> = c.hkeys("session:9").expect("hkeys");
    let mut fields = fields;
    fields.sort();
    assert_eq!(fields, ["a", "c"]);
    let ms = pttl(&mut c, "session:9");
    assert!(ms > 890_000 && ms <= 900_000, "TTL kept: {ms}");
    h.state_mut().shutdown();
}

#[test]
fn ttl_rename_delete_and_undo() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let _: () = c.set("k:1", "one").expect("set");
    let _: () = c.set("k:taken", "keep").expect("set");
    let (_cfg, mut h) = connect_to(&server.url(), "keys");
    wait_listed(&mut h);
    open(&mut h, "k:1");

    replace_text(&mut h, "New TTL", "-5");
    h.get_by_label("Set TTL").click();
    h.run_steps(2);
    assert!(h.query_by_label_contains("cannot be negative").is_some());
    assert_eq!(pttl(&mut c, "k:1"), -1, "nothing was sent");
    replace_text(&mut h, "New TTL", "15m");
    h.get_by_label("Set TTL").click();
    wait_reloaded(&mut h, "the TTL");
    let ms = pttl(&mut c, "k:1");
    assert!(ms > 890_000 && ms <= 900_000, "{ms}");
    h.get_by_label("Persist").click();
    wait_reloaded(&mut h, "persist");
    assert_eq!(pttl(&mut c, "k:1"), -1);
    let _: () = c.expire("k:1", 500).expect("expire");

    // Rename onto an existing key asks first.
    replace_text(&mut h, "New name", "k:taken");
    h.get_by_label("Rename").click();
    run_until(&mut h, "the overwrite question", |app| {
        app.state.confirm.is_some()
    });
    assert!(h.query_by_label("Replace the existing key?").is_some());
    h.get_by_label("Cancel").click();
    h.run_steps(5);
    let all: Vec<String> = c.keys("*").expect("keys");
    assert_eq!(all.len(), 2);
    let v: String = c.get("k:taken").expect("get");
    assert_eq!(v, "keep");
    replace_text(&mut h, "New name", "k:2");
    h.get_by_label("Rename").click();
    wait_reloaded(&mut h, "the rename");
    let exists: bool = c.exists("k:1").expect("exists");
    let v: String = c.get("k:2").expect("get");
    assert!(!exists);
    assert_eq!(v, "one");

    // Delete, then undo: value and TTL come back.
    h.get_by_label("Delete key").click();
    run_until(&mut h, "the delete", |app| {
        app.state.active_session().is_some_and(|s| {
            s.undo
                .as_ref()
                .is_some_and(|u| u.kind == cache_console::state::UndoKind::Delete)
        })
    });
    let exists: bool = c.exists("k:2").expect("exists");
    assert!(!exists);
    assert!(h.query_by_label("Deleted k:2.").is_some());
    h.get_by_label("Undo").click();
    run_until(&mut h, "the undo", |app| {
        app.state.active_session().is_some_and(|s| s.undo.is_none())
    });
    h.run_steps(5);
    let v: String = c.get("k:2").expect("restored");
    assert_eq!(v, "one");
    let ms = pttl(&mut c, "k:2");
    assert!(ms > 400_000 && ms <= 500_000, "TTL restored: {ms}");
    h.state_mut().shutdown();
}

#[test]
fn delete_by_pattern_previews_then_deletes_only_matches() {
    let server = RedisServer::start();
    let mut c = server.conn();
    common::fill(&mut c, "tmp:", 3_000);
    common::fill(&mut c, "keep:", 50);
    let (_cfg, mut h) = connect_to(&server.url(), "bulk");
    wait_listed(&mut h);
    h.get_by_label("Delete by pattern...").click();
    h.run_steps(2);
    replace_text(&mut h, "Pattern to delete", "tmp:*");
    h.get_by_label("Preview").click();
    run_until(&mut h, "the preview", |app| {
        app.state
            .active_session()
            .and_then(|s| s.bulk.as_ref())
            .is_some_and(|b| matches!(b.phase, cache_console::state::BulkPhase::Previewed { .. }))
    });
    assert!(
        h.query_by_label("3,000 keys match. The first 20:")
            .is_some()
    );
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 3_050, "a preview deletes nothing");
    h.get_by_label("Delete 3,000 keys").click();
    run_until(&mut h, "the delete", |app| {
        app.state
            .active_session()
            .and_then(|s| s.bulk.as_ref())
            .is_some_and(|b| matches!(b.phase, cache_console::state::BulkPhase::Done { .. }))
    });
    assert!(h.query_by_label("Deleted 3,000 keys.").is_some());
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 50);
    let left: Vec<String> = c.keys("tmp:*").expect("keys");
    assert!(left.is_empty());
    h.state_mut().shutdown();
}

#[test]
fn flush_needs_the_database_name_typed() {
    let server = RedisServer::start();
    let mut c = server.conn();
    common::fill(&mut c, "f:", 10);
    let (_cfg, mut h) = connect_to(&server.url(), "flush");
    wait_listed(&mut h);
    h.get_by_label("Flush database...").click();
    h.run_steps(2);
    assert!(h.query_by_label("Flush this database?").is_some());
    replace_text(&mut h, "Confirmation", "db1");
    h.get_by_label("Flush").click();
    h.run_steps(3);
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 10, "the wrong name flushes nothing");
    replace_text(&mut h, "Confirmation", "db0");
    h.get_by_label("Flush").click();
    run_until(&mut h, "the flush", |app| {
        app.state
            .active_session()
            .is_some_and(|s| s.browser.scan.phase == ScanPhase::Done && s.browser.index.is_empty())
    });
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 0);
    h.state_mut().shutdown();
}

#[test]
fn a_new_key_is_created_with_its_ttl() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let (_cfg, mut h) = connect_to(&server.url(), "create");
    wait_listed(&mut h);
    h.get_by_label("New key").click();
    h.run_steps(2);
    replace_text(&mut h, "Key name", "cart:7");
    h.get_by_label("hash").click();
    h.run_steps(1);
    replace_text(&mut h, "Field", "sku-1");
    replace_text(&mut h, "Value", "2");
    replace_text(&mut h, "TTL (empty: none)", "1h");
    h.get_by_label("Create").click();
    run_until(&mut h, "the new key", |app| {
        app.state.active_session().is_some_and(|s| {
            s.create.is_none()
                && s.viewer.as_ref().is_some_and(|v| {
                    v.key == b"cart:7".as_slice() && v.state == ViewerState::Loaded
                })
        })
    });
    let v: Option<String> = c.hget("cart:7", "sku-1").expect("hget");
    assert_eq!(v.as_deref(), Some("2"));
    let ms = pttl(&mut c, "cart:7");
    assert!(ms > 3_590_000 && ms <= 3_600_000, "{ms}");
    h.state_mut().shutdown();
}

#[test]
fn read_only_profiles_show_no_write_controls_and_production_asks_first() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let _: () = c.set("p:1", "v").expect("set");
    let (_cfg, mut h) = connect_with(&server.url(), "ro", |p| p.read_only = true);
    wait_listed(&mut h);
    open(&mut h, "p:1");
    assert!(h.query_by_label("READ-ONLY").is_some());
    for control in [
        "Edit",
        "Delete key",
        "Set TTL",
        "New key",
        "Delete by pattern...",
        "Flush database...",
    ] {
        assert!(h.query_by_label(control).is_none(), "{control} is hidden");
    }
    h.state_mut().shutdown();

    let (_cfg, mut h) = connect_with(&server.url(), "prod", |p| p.production = true);
    wait_listed(&mut h);
    open(&mut h, "p:1");
    h.get_by_label("Delete key").click();
    h.run_steps(2);
    assert!(h.query_by_label("Write to production?").is_some());
    let exists: bool = c.exists("p:1").expect("exists");
    assert!(exists, "nothing before the answer");
    h.get_by_label("Yes, do it").click();
    run_until(&mut h, "the delete", |app| {
        app.state.active_session().is_some_and(|s| s.undo.is_some())
    });
    let exists: bool = c.exists("p:1").expect("exists");
    assert!(!exists);
    h.state_mut().shutdown();
}

/// The row index of the element of the open collection for which `pick` holds.
fn row_of(h: &H, pick: impl Fn(&cache_console::core::model::ValueItems) -> Option<usize>) -> usize {
    h.state()
        .state
        .active_session()
        .and_then(|s| s.viewer.as_ref())
        .and_then(|v| v.items.as_ref())
        .and_then(pick)
        .expect("the element is shown")
}

#[test]
fn lists_sets_sorted_sets_and_streams_are_edited_in_place() {
    use cache_console::core::model::ValueItems;
    let server = RedisServer::start();
    let mut c = server.conn();
    let _: () = c.rpush("q", &["a", "b", "c"]).expect("rpush");
    let _: () = c.sadd("tags", &["red", "blue"]).expect("sadd");
    let _: () = c.zadd("board", "ann", 10).expect("zadd");
    let _: () = redis::cmd("XADD")
        .arg("log")
        .arg("*")
        .arg("e")
        .arg("1")
        .query(&mut c)
        .expect("xadd");
    let (_cfg, mut h) = connect_to(&server.url(), "collections");
    wait_listed(&mut h);

    // List: push at both ends, edit an element, remove one by index.
    open(&mut h, "q");
    common::ui::open_add_form(&mut h);
    replace_text(&mut h, "New element", "head");
    h.get_by_label("Push head").click();
    wait_reloaded(&mut h, "push head");
    common::ui::open_add_form(&mut h);
    replace_text(&mut h, "New element", "tail");
    h.get_by_label("Push tail").click();
    wait_reloaded(&mut h, "push tail");
    h.get_by_label("2").click();
    h.run_steps(2);
    replace_text(&mut h, "Edit value", "B");
    h.get_by_label("Save element").click();
    wait_reloaded(&mut h, "the element edit");
    h.get_by_label("1").click();
    h.run_steps(2);
    h.get_by_label("Remove element").click();
    wait_reloaded(&mut h, "the removal");
    let list: Vec<String> = c.lrange("q", 0, -1).expect("lrange");
    assert_eq!(list, ["head", "B", "c", "tail"]);

    // Set: add and remove members.
    open(&mut h, "tags");
    common::ui::open_add_form(&mut h);
    replace_text(&mut h, "New member", "green");
    h.get_by_label("Add member").click();
    wait_reloaded(&mut h, "sadd");
    let red = row_of(&h, |items| match items {
        ValueItems::Set(m) => m.iter().position(|x| x.as_ref() == b"red"),
        _ => None,
    });
    h.get_by_label(&red.to_string()).click();
    h.run_steps(2);
    h.get_by_label("Remove element").click();
    wait_reloaded(&mut h, "srem");
    let mut tags: Vec<String> = c.smembers("tags").expect("smembers");
    tags.sort();
    assert_eq!(tags, ["blue", "green"]);

    // Sorted set: add a member, change a score.
    open(&mut h, "board");
    common::ui::open_add_form(&mut h);
    replace_text(&mut h, "New member", "bob");
    replace_text(&mut h, "New score", "5");
    h.get_by_label("Add member").click();
    wait_reloaded(&mut h, "zadd");
    let ann = row_of(&h, |items| match items {
        ValueItems::ZSet(m) => m.iter().position(|(x, _)| x.as_ref() == b"ann"),
        _ => None,
    });
    h.get_by_label(&ann.to_string()).click();
    h.run_steps(2);
    replace_text(&mut h, "Edit score", "99.5");
    h.get_by_label("Save score").click();
    wait_reloaded(&mut h, "the score");
    let board: Vec<(String, f64)> = c.zrange_withscores("board", 0, -1).expect("zrange");
    assert_eq!(board, [("bob".to_owned(), 5.0), ("ann".to_owned(), 99.5)]);

    // Stream: add an entry, delete the first one.
    open(&mut h, "log");
    common::ui::open_add_form(&mut h);
    replace_text(&mut h, "New entry (field=value per line)", "e=2\nuser=42");
    h.get_by_label("Add entry").click();
    wait_reloaded(&mut h, "xadd");
    h.get_by_label("0").click();
    h.run_steps(2);
    h.get_by_label("Remove element").click();
    wait_reloaded(&mut h, "xdel");
    let entries: Vec<redis::Value> = redis::cmd("XRANGE")
        .arg("log")
        .arg("-")
        .arg("+")
        .query(&mut c)
        .expect("xrange");
    assert_eq!(entries.len(), 1);
    assert!(format!("{entries:?}").contains("user"), "{entries:?}");
    h.state_mut().shutdown();
}

#[test]
fn marked_keys_including_binary_ones_are_deleted_exactly_and_undone() {
    let server = RedisServer::start();
    let mut c = server.conn();
    redis::cmd("SET")
        .arg(b"bin:\xff\x00".as_slice())
        .arg("x")
        .arg("EX")
        .arg(300)
        .query::<()>(&mut c)
        .expect("set");
    let _: () = c.set("bin:plain", "y").expect("set");
    let _: () = c.set("bin:other", "z").expect("set");
    let (_cfg, mut h) = connect_to(&server.url(), "mark");
    wait_listed(&mut h);
    filter_to(&mut h, "bin:");
    h.get_by_label("bin:\\xff\\x00")
        .click_modifiers(egui::Modifiers::COMMAND);
    h.run_steps(2);
    h.get_by_label("bin:plain")
        .click_modifiers(egui::Modifiers::COMMAND);
    h.run_steps(2);
    h.get_by_label("Delete 2 marked").click();
    run_until(&mut h, "the delete", |app| {
        app.state.active_session().is_some_and(|s| s.undo.is_some())
    });
    let left: Vec<Vec<u8>> = redis::cmd("KEYS").arg("bin:*").query(&mut c).expect("keys");
    assert_eq!(
        left,
        vec![b"bin:other".to_vec()],
        "exactly the marked keys went"
    );
    assert!(h.query_by_label("Deleted 2 keys.").is_some());
    h.get_by_label("Undo").click();
    run_until(&mut h, "the undo", |app| {
        app.state
            .active_session()
            .is_some_and(|s| s.undo.is_none() && !s.writes_pending())
    });
    let v: Vec<u8> = redis::cmd("GET")
        .arg(b"bin:\xff\x00".as_slice())
        .query(&mut c)
        .expect("restored");
    assert_eq!(v, b"x");
    let ms: i64 = redis::cmd("PTTL")
        .arg(b"bin:\xff\x00".as_slice())
        .query(&mut c)
        .expect("pttl");
    assert!(ms > 290_000 && ms <= 300_000, "{ms}");

    // Everything done is in the audit log, which the app shows.
    common::ui::open_audit_log(&mut h);
    assert!(h.query_by_label("restore").is_some());
    assert!(h.query_by_label("delete").is_some());
    let entries = common::ui::audit_entries(&h);
    assert!(
        entries
            .iter()
            .any(|e| e.action == "restore" && e.keys.contains(&"bin:\\xff\\x00".to_owned()))
    );
    h.state_mut().shutdown();
}

#[test]
fn a_ttl_date_in_the_past_asks_before_it_deletes() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let _: () = c.set("old:1", "v").expect("set");
    let (_cfg, mut h) = connect_to(&server.url(), "past");
    wait_listed(&mut h);
    open(&mut h, "old:1");
    replace_text(&mut h, "New TTL", "2001-01-01 00:00:00");
    h.get_by_label("Set TTL").click();
    h.run_steps(2);
    assert!(h.query_by_label("Delete the key?").is_some());
    assert!(h.query_by_label_contains("is in the past").is_some());
    let exists: bool = c.exists("old:1").expect("exists");
    assert!(exists, "nothing sent before the answer");
    h.get_by_label("Delete it").click();
    run_until(&mut h, "the delete", |app| {
        app.state.active_session().is_some_and(|s| s.undo.is_some())
    });
    let exists: bool = c.exists("old:1").expect("exists");
    assert!(!exists);
    h.state_mut().shutdown();
}

#[test]
fn the_delete_key_deletes_the_open_key_and_read_only_refuses_it() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let _: () = c.set("del:1", "v").expect("set");
    let (_cfg, mut h) = connect_with(&server.url(), "ro-del", |p| p.read_only = true);
    wait_listed(&mut h);
    open(&mut h, "del:1");
    // Escape leaves the filter field, so the list has the keyboard.
    h.key_press(egui::Key::Escape);
    h.run_steps(1);
    h.key_press(egui::Key::Delete);
    h.run_steps(2);
    assert!(h.query_by_label_contains("is read-only").is_some());
    let exists: bool = c.exists("del:1").expect("exists");
    assert!(exists);
    h.state_mut().shutdown();

    let (_cfg, mut h) = connect_to(&server.url(), "del");
    wait_listed(&mut h);
    open(&mut h, "del:1");
    h.key_press(egui::Key::Escape);
    h.run_steps(1);
    h.key_press(egui::Key::Delete);
    run_until(&mut h, "the delete", |app| {
        app.state.active_session().is_some_and(|s| s.undo.is_some())
    });
    let exists: bool = c.exists("del:1").expect("exists");
    assert!(!exists);
    h.state_mut().shutdown();
}

#[test]
fn editing_a_big_hash_keeps_the_loaded_pages() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let mut cmd = redis::cmd("HSET");
    cmd.arg("big");
    for i in 0..3000 {
        cmd.arg(format!("f{i:04}")).arg(i);
    }
    cmd.query::<()>(&mut c).expect("hset");
    let (_cfg, mut h) = connect_to(&server.url(), "pages");
    wait_listed(&mut h);
    open(&mut h, "big");
    h.get_by_label("Load more").click();
    run_until(&mut h, "a second page", |app| {
        app.state.active_session().is_some_and(|s| {
            s.viewer.as_ref().is_some_and(|v| v.pages >= 2) && !s.is_pending(Pending::Page)
        })
    });
    let loaded = |h: &H| {
        h.state()
            .state
            .active_session()
            .and_then(|s| s.viewer.as_ref())
            .map(cache_console::state::Viewer::loaded_len)
            .unwrap_or_default()
    };
    let before = loaded(&h);
    common::ui::open_add_form(&mut h);
    replace_text(&mut h, "New field", "added");
    replace_text(&mut h, "New value", "x");
    h.get_by_label("Add field").click();
    wait_reloaded(&mut h, "the new field");
    assert_eq!(
        loaded(&h),
        before + 1,
        "the pages stay loaded, with the new field"
    );
    assert!(h.query_by_label_contains("Length: 3,001").is_some());
    h.get_by_label("5").click();
    h.run_steps(2);
    h.get_by_label("Remove element").click();
    wait_reloaded(&mut h, "the removal");
    assert_eq!(loaded(&h), before);
    assert!(h.query_by_label_contains("Length: 3,000").is_some());
    let n: u64 = c.hlen("big").expect("hlen");
    assert_eq!(n, 3000);
    h.state_mut().shutdown();
}

#[test]
fn a_memcached_pool_is_browsed_edited_and_flushed_in_the_app() {
    let servers: Vec<common::MemcachedServer> =
        (0..2).map(|_| common::MemcachedServer::start()).collect();
    for (i, s) in servers.iter().enumerate() {
        s.fill(&format!("s{i}:"), 20);
    }
    let url = format!(
        "memcached://{}",
        servers
            .iter()
            .map(common::MemcachedServer::addr)
            .collect::<Vec<_>>()
            .join(",")
    );
    let (_cfg, mut h) = connect_to(&url, "mc-pool");
    wait_listed(&mut h);
    assert!(
        h.query_by_label("scanned 40 of 40 keys, 40 matched")
            .is_some()
    );
    assert!(
        h.query_by_label("Database").is_none(),
        "no databases in memcached"
    );
    // One server's keys only.
    h.get_by_label("Server").click();
    h.run_steps(2);
    h.get_by_label(&servers[0].addr()).click();
    h.run_steps(2);
    h.get_by_label("Search").click();
    h.run_steps(2);
    run_until(&mut h, "the server's listing", |app| {
        app.state.active_session().is_some_and(|s| {
            s.browser.scan.phase == ScanPhase::Done && s.browser.server_filter.is_some()
        })
    });
    let listed = h
        .state()
        .state
        .active_session()
        .map_or(0, |s| s.browser.index.len());
    let on_first = servers[0].raw("stats\r\n", "END\r\n");
    assert!(
        on_first.contains(&format!("STAT curr_items {listed}\r")),
        "{listed}"
    );
    h.get_by_label("Server").click();
    h.run_steps(2);
    h.get_by_label("all servers").click();
    h.run_steps(2);
    h.get_by_label("Search").click();
    h.run_steps(2);
    run_until(&mut h, "the pool's listing", |app| {
        app.state
            .active_session()
            .is_some_and(|s| s.browser.scan.phase == ScanPhase::Done && s.browser.index.len() == 40)
    });
    open(&mut h, "s1:7");
    let shown_server = servers
        .iter()
        .any(|s| h.query_by_label(&format!("Server: {}", s.addr())).is_some());
    assert!(shown_server, "the viewer says which server holds the key");
    assert!(
        h.query_by_label("Rename").is_none(),
        "memcached keys cannot be renamed"
    );
    h.get_by_label("Edit raw").click();
    h.run_steps(2);
    edit_text(&mut h, "edited in the app");
    h.get_by_label("Save").click();
    wait_reloaded(&mut h, "the save");
    let holder = servers
        .iter()
        .find(|s| s.raw("get s1:7\r\n", "END\r\n").contains("VALUE"))
        .expect("one server holds it");
    assert!(
        holder
            .raw("get s1:7\r\n", "END\r\n")
            .contains("edited in the app")
    );

    h.get_by_label("Flush...").click();
    h.run_steps(2);
    assert!(h.query_by_label("Flush the cache?").is_some());
    replace_text(&mut h, "Confirmation", "mc-pool");
    h.get_by_label("Flush").click();
    h.run_steps(2);
    run_until(&mut h, "the flush", |app| {
        app.state.active_session().is_some_and(|s| {
            s.browser.scan.phase == ScanPhase::Done
                && s.browser.index.is_empty()
                && !s.writes_pending()
        })
    });
    for s in &servers {
        assert!(!s.raw("get s1:7\r\n", "END\r\n").contains("VALUE"));
    }
    h.state_mut().shutdown();
}

#[test]
fn a_php_serialized_value_is_shown_decoded_and_its_scalars_edited_exactly() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let value = common::php("echo serialize(['name' => 'Ada', 'qty' => 3, 'tags' => ['x']]);");
    redis::cmd("SET")
        .arg("laravel:cart")
        .arg(&value)
        .arg("EX")
        .arg(600)
        .query::<()>(&mut c)
        .expect("set");
    let (_cfg, mut h) = connect_to(&server.url(), "php");
    wait_listed(&mut h);
    open(&mut h, "laravel:cart");
    let mode = viewer_mode(&h);
    assert_eq!(
        mode,
        Some(cache_console::state::ValueMode::Decoded(None)),
        "the value opens decoded"
    );
    assert!(h.query_by_label("Edit decoded").is_some());
    h.get_by_label("Edit decoded").click();
    h.run_steps(2);
    replace_text(&mut h, "[qty]", "4");
    replace_text(&mut h, "[tags][0]", "y");
    h.get_by_label("Save values").click();
    wait_reloaded(&mut h, "the save");
    let stored: Vec<u8> = redis::cmd("GET")
        .arg("laravel:cart")
        .query(&mut c)
        .expect("get");
    let expected = common::php("echo serialize(['name' => 'Ada', 'qty' => 4, 'tags' => ['y']]);");
    assert_eq!(stored, expected, "re-serialized exactly as PHP would");
    assert!(pttl(&mut c, "laravel:cart") > 590_000, "TTL kept");
    h.state_mut().shutdown();
}

/// Rows left in the SQLite cache table at `path` (read with sqlx, not through the app).
fn sqlite_rows(rt: &tokio::runtime::Runtime, path: &std::path::Path) -> i64 {
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&format!("sqlite://{}", path.display()))
            .await
            .expect("open sqlite");
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cache")
            .fetch_one(&pool)
            .await
            .expect("count");
        pool.close().await;
        n
    })
}

#[test]
fn a_database_cache_is_flushed_from_the_app_after_its_name_is_typed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cache.sqlite");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(cache_console::config::demo::seed(&path))
        .expect("seed the demo table");
    let seeded = sqlite_rows(&rt, &path);
    assert!(seeded > 100);

    let url = format!("sqlite://{}?table=cache", path.display());
    let (_cfg, mut h) = connect_to(&url, "table");
    wait_listed(&mut h);
    // One table, one flush: no per-database buttons.
    assert!(h.query_by_label("Flush database...").is_none());
    assert!(h.query_by_label("Flush all databases...").is_none());
    h.get_by_label("Flush...").click();
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("Flushes table (SQLite table `cache`")
            .is_some(),
        "the dialog names the table, not a database number"
    );
    replace_text(&mut h, "Confirmation", "not-it");
    h.get_by_label("Flush").click();
    h.run_steps(3);
    assert_eq!(
        sqlite_rows(&rt, &path),
        seeded,
        "the wrong name flushes nothing"
    );
    replace_text(&mut h, "Confirmation", "table");
    h.get_by_label("Flush").click();
    run_until(&mut h, "the flush", |app| {
        app.state.active_session().is_some_and(|s| {
            s.browser.scan.phase == ScanPhase::Done
                && s.browser.index.is_empty()
                && !s.writes_pending()
        })
    });
    assert_eq!(sqlite_rows(&rt, &path), 0);
    h.state_mut().shutdown();
}

/// The server panel of the active connection, once its shown tab has loaded.
fn panel_loaded(app: &App, tab: cache_console::state::ServerTab) -> bool {
    use cache_console::state::ServerTab;
    app.state
        .active_session()
        .and_then(|s| s.server_info.as_ref())
        .is_some_and(|v| {
            v.tab == tab
                && match tab {
                    ServerTab::Info => v.info.result.is_some(),
                    ServerTab::SlowLog => v.slow_log.result.is_some(),
                    ServerTab::Clients => v.clients.result.is_some(),
                    ServerTab::Nodes => v.nodes.result.is_some(),
                }
        })
}

#[test]
fn the_server_panel_resets_the_slow_log_and_kills_a_client_after_asking() {
    use cache_console::state::ServerTab;
    let server = RedisServer::start();
    let mut c = server.conn();
    server.log_every_command();
    let mut victim = server.named_conn("victim");
    redis::cmd("SET")
        .arg("slow:marker")
        .arg("x")
        .query::<()>(&mut victim)
        .expect("set");
    let (_cfg, mut h) = connect_to(&server.url(), "admin");
    wait_listed(&mut h);

    h.get_by_label("Server info").click();
    run_until(&mut h, "the statistics", |app| {
        panel_loaded(app, ServerTab::Info)
    });
    replace_text(&mut h, "Find", "redis_version");
    assert!(h.query_by_label("redis_version").is_some());
    assert!(h.query_by_label("maxmemory_policy").is_none(), "filtered");

    h.get_by_label("Slow log").click();
    run_until(&mut h, "the slow log", |app| {
        panel_loaded(app, ServerTab::SlowLog)
    });
    assert!(h.query_by_label("SET slow:marker x").is_some());
    h.get_by_label("Reset slow log…").click();
    // The confirmation is a modal: it shows a few frames later.
    h.run_steps(5);
    assert!(h.query_by_label("Reset the slow log?").is_some());
    h.get_by_label("Yes, do it").click();
    run_until(&mut h, "the reset and reload", |app| {
        app.state
            .notices
            .iter()
            .any(|n| n.text == "the slow log was reset")
            && panel_loaded(app, ServerTab::SlowLog)
    });
    assert!(h.query_by_label("SET slow:marker x").is_none());
    let log: redis::Value = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(128)
        .query(&mut c)
        .expect("slowlog");
    assert!(!format!("{log:?}").contains("slow:marker"), "{log:?}");

    h.get_by_label("Clients").click();
    run_until(&mut h, "the clients", |app| {
        panel_loaded(app, ServerTab::Clients)
    });
    assert!(
        h.query_by_label("this app").is_some(),
        "the app's own connection"
    );
    replace_text(&mut h, "Find client", "victim");
    h.get_by_label("Kill").click();
    h.run_steps(5);
    assert!(h.query_by_label("Disconnect this client?").is_some());
    h.get_by_label("Yes, do it").click();
    run_until(&mut h, "the kill", |app| {
        app.state
            .notices
            .iter()
            .any(|n| n.text.ends_with("was disconnected"))
    });
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut c)
        .expect("list");
    assert!(!list.contains("name=victim "), "{list}");
    assert!(
        redis::cmd("PING").query::<String>(&mut victim).is_err(),
        "the victim's connection was closed"
    );
    // Both steps are in the audit log, the kill with the client it was aimed at.
    common::ui::open_audit_log(&mut h);
    assert!(h.query_by_label("slowlog-reset").is_some());
    assert!(h.query_by_label("client-kill").is_some());
    assert!(h.query_by_label_contains("client id ").is_some());
}

#[test]
fn a_read_only_profile_cannot_kill_clients_or_reset_the_slow_log() {
    use cache_console::state::ServerTab;
    let server = RedisServer::start();
    let mut other = server.named_conn("other");
    let (_cfg, mut h) = connect_with(&server.url(), "ro", |p| p.read_only = true);
    wait_listed(&mut h);
    h.get_by_label("Server info").click();
    h.run_steps(2);
    h.get_by_label("Clients").click();
    run_until(&mut h, "the clients", |app| {
        panel_loaded(app, ServerTab::Clients)
    });
    replace_text(&mut h, "Find client", "other");
    h.get_by_label("Kill").click();
    h.run_steps(2);
    assert!(
        h.state().state.confirm.is_none(),
        "a disabled button asks nothing"
    );
    h.get_by_label("Slow log").click();
    h.run_steps(3);
    h.get_by_label("Reset slow log…").click();
    h.run_steps(5);
    assert!(h.state().state.confirm.is_none());
    assert!(redis::cmd("PING").query::<String>(&mut other).is_ok());
}
