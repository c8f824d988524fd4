//! Editing collections where people look for it: a click anywhere on a row selects it and names
//! it by its field, member or index; a double-click edits the value in its row; the add form
//! has its own fields; "Find" searches the whole collection on the server.

mod common;

use cache_console::core::model::ValueItems;
use cache_console::state::{Pending, SessionAction};
use common::RedisServer;
use common::ui::{
    act, connect_to, open_add_form, replace_text, run_until, wait_listed, wait_value,
};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use redis::Commands as _;

type H = Harness<'static, cache_console::ui::App>;

fn open(h: &mut H, key: &str) {
    act(h, SessionAction::OpenKeyByName(key.to_owned()));
    wait_value(h);
    h.run_steps(2);
}

/// Waits until nothing the viewer asked for is pending (a page, a search, a write).
fn settle(h: &mut H, what: &str) {
    h.run_steps(2);
    run_until(h, what, |app| {
        app.state
            .active_session()
            .is_some_and(|s| !s.is_pending(Pending::Page) && !s.writes_pending())
    });
}

/// Two clicks in one frame at the centre of what is labelled `label`, as a double-click.
fn double_click(h: &mut H, label: &str) {
    let pos = h.get_by_label(label).rect().center();
    let events = &mut h.input_mut().events;
    events.push(egui::Event::PointerMoved(pos));
    for _ in 0..2 {
        for pressed in [true, false] {
            events.push(egui::Event::PointerButton {
                pos,
                button: egui::PointerButton::Primary,
                pressed,
                modifiers: egui::Modifiers::default(),
            });
        }
    }
    h.run_steps(3);
}

/// Replaces the text of the focused field holding `value` (the row's inline editor).
fn retype_focused(h: &mut H, value: &str, text: &str) {
    assert!(
        h.get_all_by_value(value).any(|n| n.is_focused()),
        "a focused editor holds {value}"
    );
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_all_by_value(value)
        .find(egui_kittest::Node::is_focused)
        .expect("still focused")
        .type_text(text);
    h.run_steps(1);
}

fn items(h: &H) -> Option<ValueItems> {
    common::ui::viewer_items(h)
}

#[test]
fn a_click_on_a_value_selects_its_row_by_name_and_a_double_click_edits_it_in_place() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let _: () = c
        .hset_multiple("h", &[("colour", "red"), ("size", "large")])
        .expect("hset");
    let (_cfg, mut h) = connect_to(&server.url(), "inline");
    wait_listed(&mut h);
    open(&mut h, "h");
    // The value cell, not the field or the row number; the table stays where it was.
    let before = h.get_by_label("red").rect();
    h.get_by_label("large").click();
    h.run_steps(2);
    assert_eq!(
        h.get_by_label("red").rect(),
        before,
        "selecting moved nothing"
    );
    assert!(
        h.query_by_label("Field `size`:").is_some(),
        "the selected element is named by its field"
    );
    assert_eq!(
        h.get_by_label("Edit value").value().as_deref(),
        Some("large")
    );
    double_click(&mut h, "red");
    retype_focused(&mut h, "red", "crimson");
    h.key_press(egui::Key::Enter);
    settle(&mut h, "the inline save");
    let colour: Option<String> = c.hget("h", "colour").expect("hget");
    assert_eq!(colour.as_deref(), Some("crimson"));
    assert!(h.query_by_label("crimson").is_some(), "the row shows it");
    h.state_mut().shutdown();
}

#[test]
fn the_add_form_has_its_own_fields_apart_from_the_edit_of_the_selected_element() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let _: () = c.hset("h", "a", "1").expect("hset");
    let (_cfg, mut h) = connect_to(&server.url(), "buffers");
    wait_listed(&mut h);
    open(&mut h, "h");
    h.get_by_label("1").click();
    h.run_steps(2);
    assert_eq!(h.get_by_label("Edit value").value().as_deref(), Some("1"));
    open_add_form(&mut h);
    replace_text(&mut h, "New field", "b");
    replace_text(&mut h, "New value", "2");
    assert_eq!(
        h.get_by_label("Edit value").value().as_deref(),
        Some("1"),
        "typing a new element leaves the edit alone"
    );
    h.get_by_label("Add field").click();
    settle(&mut h, "the addition");
    let all: std::collections::HashMap<String, String> = c.hgetall("h").expect("hgetall");
    assert_eq!(all.get("a").map(String::as_str), Some("1"));
    assert_eq!(all.get("b").map(String::as_str), Some("2"));
    h.state_mut().shutdown();
}

#[test]
fn find_searches_the_whole_hash_on_the_server_and_a_match_is_edited_in_place() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let mut pipe = redis::pipe();
    for i in 0..5_000 {
        pipe.hset("big", format!("f{i}"), format!("v{i}")).ignore();
    }
    pipe.query::<()>(&mut c).expect("fill");
    let (_cfg, mut h) = connect_to(&server.url(), "find");
    wait_listed(&mut h);
    open(&mut h, "big");
    assert!(h.query_by_label_contains(" of 5,000").is_some());
    replace_text(&mut h, "Find inside", "f49*");
    h.get_by_label("Find").click();
    settle(&mut h, "the search");
    while h.query_by_label("Find more").is_some() {
        h.get_by_label("Find more").click();
        settle(&mut h, "more matches");
    }
    let Some(ValueItems::Hash(found)) = items(&h) else {
        panic!("hash matches");
    };
    assert_eq!(found.len(), 111, "f49, f490-f499, f4900-f4999");
    assert!(found.iter().all(|(f, _)| f.starts_with(b"f49")));
    assert!(h.query_by_label_contains("111 matches").is_some());
    // Plain text finds the field anywhere.
    replace_text(&mut h, "Find inside", "f4321");
    h.key_press(egui::Key::Enter);
    settle(&mut h, "the text search");
    let Some(ValueItems::Hash(found)) = items(&h) else {
        panic!("hash matches");
    };
    assert_eq!(found.len(), 1);
    double_click(&mut h, "v4321");
    retype_focused(&mut h, "v4321", "changed");
    h.key_press(egui::Key::Enter);
    settle(&mut h, "the edit of a match");
    let v: Option<String> = c.hget("big", "f4321").expect("hget");
    assert_eq!(v.as_deref(), Some("changed"));
    assert!(h.query_by_label("changed").is_some(), "the match shows it");
    h.get_by_label("Clear").click();
    h.run_steps(2);
    wait_value(&mut h);
    assert!(
        h.query_by_label_contains("Loaded ")
            .is_some_and(|_| h.query_by_label_contains(" of 5,000").is_some()),
        "the pages are shown again"
    );
    h.state_mut().shutdown();
}

#[test]
fn find_in_a_list_names_matches_by_their_index_and_edits_that_index() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let mut elements: Vec<String> = (0..3_000).map(|i| format!("e{i}")).collect();
    elements[2_500] = "needle".to_owned();
    let _: () = c.rpush("q", &elements).expect("rpush");
    let (_cfg, mut h) = connect_to(&server.url(), "list");
    wait_listed(&mut h);
    open(&mut h, "q");
    replace_text(&mut h, "Find inside", "needle");
    h.key_press(egui::Key::Enter);
    settle(&mut h, "the search");
    assert!(
        h.query_by_label("2500").is_some(),
        "the row shows its index"
    );
    h.get_by_label("needle").click();
    h.run_steps(2);
    assert!(h.query_by_label("Element at index 2500:").is_some());
    replace_text(&mut h, "Edit value", "found");
    h.get_by_label("Save element").click();
    settle(&mut h, "the edit");
    let at: String = c.lindex("q", 2_500).expect("lindex");
    assert_eq!(at, "found");
    let first: String = c.lindex("q", 0).expect("lindex");
    assert_eq!(first, "e0", "no other element moved");
    h.state_mut().shutdown();
}

#[test]
fn find_in_a_sorted_set_and_a_score_edited_in_its_row() {
    let server = RedisServer::start();
    let mut c = server.conn();
    let mut pipe = redis::pipe();
    for i in 0..1_000 {
        pipe.zadd("board", format!("player:{i}"), i).ignore();
    }
    pipe.query::<()>(&mut c).expect("fill");
    let (_cfg, mut h) = connect_to(&server.url(), "zset");
    wait_listed(&mut h);
    open(&mut h, "board");
    replace_text(&mut h, "Find inside", "player:777");
    h.key_press(egui::Key::Enter);
    settle(&mut h, "the search");
    double_click(&mut h, "777");
    retype_focused(&mut h, "777", "1.5");
    h.key_press(egui::Key::Enter);
    settle(&mut h, "the score");
    let score: Option<f64> = c.zscore("board", "player:777").expect("zscore");
    assert_eq!(score, Some(1.5));
    h.state_mut().shutdown();
}
