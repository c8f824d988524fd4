use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::backend::{BackendError, Capabilities};
use crate::config::connection::parse_url;
use crate::core::model::{KeyDetails, KeyMeta, KeyType, PageCursor, Ttl, ValueItems, WriteOp};
use crate::service::{CommandKind, EventKind, ScanState};

/// The connection commands queued since the last call, as (connection, request, command).
fn out(state: &mut AppState) -> Vec<(ConnId, ReqId, CommandKind)> {
    state
        .take_outbox()
        .into_iter()
        .filter_map(|c| match c {
            Command::Conn { conn, req, kind } => Some((conn, req, kind)),
            _ => None,
        })
        .collect()
}

/// Does what the UI does when the user acts on the shown connection.
fn act(state: &mut AppState, action: SessionAction) {
    let conn = state.active_conn().expect("a connection");
    state.handle(Action::Session(conn, action));
}

fn state_with_session() -> (AppState, ConnId, ReqId) {
    let dir = tempfile::tempdir().expect("dir");
    let mut store = ProfileStore::empty_in(dir.path());
    let (spec, _) = parse_url("redis://127.0.0.1:1/0").expect("url");
    store.add(Profile::new("p", spec)).expect("add");
    let mut state = AppState::new(store, None);
    state.connect_profile("p");
    let (conn, req, _) = out(&mut state).pop().expect("connect command");
    state.apply(Event::Conn {
        conn,
        req,
        kind: EventKind::Connected {
            description: "test".into(),
            capabilities: Capabilities {
                server_side_pattern: true,
                type_filter: true,
                databases: true,
                memory_usage: true,
                scan_pause: true,
                rename: true,
                ..Capabilities::string_store("Redis")
            },
        },
    });
    let scan_req = out(&mut state)
        .into_iter()
        .find_map(|(_, req, kind)| matches!(kind, CommandKind::Scan { .. }).then_some(req))
        .expect("a listing starts on connect");
    (state, conn, scan_req)
}

#[test]
fn rows_whose_facts_fail_wait_before_asking_again_and_say_so_once() {
    let (mut state, conn, scan) = state_with_session();
    state.apply(batch(conn, scan, &["a", "b"], ScanState::Done));
    out(&mut state);
    let fetches = |state: &mut AppState| -> Vec<ReqId> {
        out(state)
            .into_iter()
            .filter_map(|(_, req, kind)| {
                matches!(kind, CommandKind::FetchMeta { .. }).then_some(req)
            })
            .collect()
    };
    let fail = |state: &mut AppState, req| {
        state.apply(Event::Conn {
            conn,
            req,
            kind: EventKind::Failed(BackendError::Server {
                command: "SQL".into(),
                reason: "a row cannot be read".into(),
            }),
        });
    };
    act(&mut state, SessionAction::RequestMeta(vec![0, 1]));
    let first = fetches(&mut state);
    assert_eq!(first.len(), 1);
    fail(&mut state, first[0]);
    assert_eq!(state.notices.len(), 1, "the failure is reported");
    let s = state.active_session().expect("session");
    assert!(matches!(s.browser.meta(0), Some(MetaSlot::Failed(_))));
    // The next frames ask for nothing: no request loop while the rows keep failing.
    for _ in 0..100 {
        act(&mut state, SessionAction::RequestMeta(vec![0, 1]));
    }
    assert!(fetches(&mut state).is_empty());
    // After the pause they are asked again; the same failure is not reported twice.
    if let Some(s) = state.active_session_mut() {
        for id in [0, 1] {
            let due = Instant::now().checked_sub(META_RETRY).expect("uptime");
            s.browser.meta.insert(id, MetaSlot::Failed(due));
        }
    }
    state.notices.clear();
    act(&mut state, SessionAction::RequestMeta(vec![0, 1]));
    let again = fetches(&mut state);
    assert_eq!(again.len(), 1);
    fail(&mut state, again[0]);
    assert!(state.notices.is_empty(), "reported once");
}

#[test]
fn hash_fields_scan_returns_twice_are_shown_once() {
    let (mut state, conn, scan) = state_with_session();
    state.apply(batch(conn, scan, &["h"], ScanState::Done));
    out(&mut state);
    act(&mut state, SessionAction::OpenKey(0));
    let open = out(&mut state)
        .into_iter()
        .find_map(|(_, req, kind)| matches!(kind, CommandKind::OpenKey { .. }).then_some(req))
        .expect("open");
    let pair = |f: &str, v: &str| {
        (
            Bytes::copy_from_slice(f.as_bytes()),
            Bytes::copy_from_slice(v.as_bytes()),
        )
    };
    state.apply(Event::Conn {
        conn,
        req: open,
        kind: EventKind::KeyOpened {
            key: Bytes::from_static(b"h"),
            details: KeyDetails {
                meta: KeyMeta {
                    key_type: KeyType::Hash,
                    ttl: Ttl::Persistent,
                    size_bytes: None,
                    server: None,
                    idle_secs: None,
                    preview: None,
                },
                encoding: None,
                length: 3,
                extra: Vec::new(),
                flags: None,
            },
            page: crate::core::model::ValuePage {
                cursor: PageCursor::Start,
                items: ValueItems::Hash(vec![pair("a", "1"), pair("b", "2"), pair("a", "1")]),
                next: Some(PageCursor::Scan(9)),
            },
        },
    });
    act(&mut state, SessionAction::LoadMore);
    let more = out(&mut state)
        .into_iter()
        .find_map(|(_, req, kind)| matches!(kind, CommandKind::ReadPage { .. }).then_some(req))
        .expect("next page");
    state.apply(Event::Conn {
        conn,
        req: more,
        kind: EventKind::Page {
            key: Bytes::from_static(b"h"),
            page: crate::core::model::ValuePage {
                cursor: PageCursor::Scan(9),
                items: ValueItems::Hash(vec![pair("b", "2"), pair("c", "3")]),
                next: None,
            },
        },
    });
    let items = state.sessions[0]
        .viewer
        .as_ref()
        .and_then(|v| v.items.clone());
    assert_eq!(
        items,
        Some(ValueItems::Hash(vec![
            pair("a", "1"),
            pair("b", "2"),
            pair("c", "3")
        ]))
    );
}

/// The metrics commands in the outbox: `Some(req)` for a start, `None` for a stop.
fn sampler_commands(state: &mut AppState) -> Vec<Option<ReqId>> {
    out(state)
        .into_iter()
        .filter_map(|(_, req, kind)| match kind {
            CommandKind::StartMetrics { .. } => Some(Some(req)),
            CommandKind::StopMetrics => Some(None),
            _ => None,
        })
        .collect()
}

fn metrics_event(conn: ConnId, req: ReqId, at_ms: u64) -> Event {
    let sample = crate::core::metrics::Sample {
        at_ms,
        servers: Vec::new(),
    };
    Event::Conn {
        conn,
        req,
        kind: EventKind::Metrics {
            derived: crate::core::metrics::derive(None, &sample),
            sample,
            took: Duration::from_millis(3),
            next_in: Duration::from_secs(1),
        },
    }
}

#[test]
fn a_sampler_runs_only_while_its_dashboard_shows_something() {
    let (mut state, conn, _) = state_with_session();
    state.sync_samplers();
    assert!(
        sampler_commands(&mut state).is_empty(),
        "closed: no sampler"
    );
    act(&mut state, SessionAction::OpenDashboard);
    let started = sampler_commands(&mut state);
    let [Some(first)] = started[..] else {
        panic!("one start: {started:?}");
    };
    state.apply(metrics_event(conn, first, 1_000));
    assert_eq!(state.sessions[0].dashboard.history.total.len(), 1);

    // Collapsed to its title: paused; expanded: a new sampler.
    state.sessions[0].dashboard.collapsed = true;
    state.sync_samplers();
    assert_eq!(sampler_commands(&mut state), vec![None]);
    state.apply(metrics_event(conn, first, 2_000));
    assert_eq!(
        state.sessions[0].dashboard.history.total.len(),
        1,
        "a late sample of a stopped sampler is dropped"
    );
    state.sessions[0].dashboard.collapsed = false;
    state.sync_samplers();
    let [Some(second)] = sampler_commands(&mut state)[..] else {
        panic!("restarted");
    };

    // A new interval restarts it; a refused one changes nothing.
    state.sessions[0].dashboard.interval_text = "-3".into();
    act(&mut state, SessionAction::ApplyMetricsInterval);
    assert!(sampler_commands(&mut state).is_empty());
    assert!(state.sessions[0].dashboard.interval_error.is_some());
    state.sessions[0].dashboard.interval_text = "250ms".into();
    act(&mut state, SessionAction::ApplyMetricsInterval);
    let restarted = sampler_commands(&mut state);
    assert_eq!(restarted.len(), 2, "{restarted:?}");
    assert_eq!(restarted[0], None);
    assert!(restarted[1].is_some_and(|r| r != second));
    assert!((state.sessions[0].dashboard.interval_secs - 0.25).abs() < 1e-9);

    act(&mut state, SessionAction::CloseDashboard);
    assert_eq!(sampler_commands(&mut state), vec![None]);
    assert_eq!(
        state.sessions[0].dashboard.history.total.len(),
        1,
        "the history stays for the next time"
    );
}

fn batch(conn: ConnId, req: ReqId, keys: &[&str], state: ScanState) -> Event {
    Event::Conn {
        conn,
        req,
        kind: EventKind::ScanBatch {
            keys: keys
                .iter()
                .map(|k| Bytes::copy_from_slice(k.as_bytes()))
                .collect(),
            cursor: if state == ScanState::Done { 0 } else { 7 },
            progress: 0.5,
            parts: Vec::new(),
            note: None,
            count: None,
            state,
        },
    }
}

#[test]
fn batches_of_a_superseded_search_are_dropped() {
    let (mut state, conn, first) = state_with_session();
    state.apply(batch(conn, first, &["a", "b"], ScanState::Running));
    assert_eq!(
        state.active_session().map(|s| s.browser.index.len()),
        Some(2)
    );
    act(&mut state, SessionAction::Search);
    let second = out(&mut state)
        .into_iter()
        .find_map(|(_, req, kind)| matches!(kind, CommandKind::Scan { .. }).then_some(req))
        .expect("second listing");
    state.apply(batch(conn, first, &["late"], ScanState::Running));
    state.apply(batch(conn, second, &["x"], ScanState::Done));
    let s = state.active_session().expect("session");
    assert_eq!(s.browser.index.len(), 1);
    assert_eq!(s.browser.index.key(0), b"x");
    assert_eq!(s.browser.scan.phase, ScanPhase::Done);
}

#[test]
fn events_for_a_closed_connection_are_dropped() {
    let (mut state, conn, scan) = state_with_session();
    state.handle(Action::Close(conn));
    assert!(matches!(
        out(&mut state).as_slice(),
        [(c, _, CommandKind::Disconnect)] if *c == conn
    ));
    state.apply(batch(conn, scan, &["a"], ScanState::Done));
    assert!(state.sessions.is_empty());
    assert!(state.notices.is_empty());
}

#[test]
fn stop_keeps_keys_and_continue_resumes_from_the_cursor() {
    let (mut state, conn, scan) = state_with_session();
    state.apply(batch(conn, scan, &["a"], ScanState::Running));
    act(&mut state, SessionAction::StopScan);
    let _ = out(&mut state);
    state.apply(batch(conn, scan, &["late"], ScanState::Running));
    assert_eq!(
        state.active_session().map(|s| s.browser.index.len()),
        Some(1)
    );
    act(&mut state, SessionAction::ContinueScan(true));
    match out(&mut state).pop() {
        Some((
            _,
            _,
            CommandKind::Scan {
                from_cursor, limit, ..
            },
        )) => {
            assert_eq!(from_cursor, 7);
            assert_eq!(limit, None);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn progress_reads_scanned_of_total_and_matched() {
    let status = ScanStatus {
        phase: ScanPhase::Running,
        total_keys: 1_000_000,
        progress: 0.25,
        cursor: 5,
        request: None,
        parts: Vec::new(),
        note: None,
        count: None,
    };
    assert_eq!(
        status.summary(1234),
        "scanned 250,000 of 1,000,000 keys, 1,234 matched"
    );
}

#[test]
fn the_form_refuses_bad_fields_with_a_reason() {
    let mut form = ProfileForm::default();
    assert_eq!(
        form.to_profile().err().as_deref(),
        Some("a profile needs a name")
    );
    form.name = "x".into();
    form.port = "70000".into();
    assert_eq!(
        form.to_profile().err().as_deref(),
        Some("`70000` is not a port: use 1 to 65535")
    );
    form.port = "6379".into();
    form.db = "two".into();
    assert!(
        form.to_profile()
            .err()
            .is_some_and(|e| e.contains("not a database index"))
    );
    form.db = "2".into();
    form.url = "redis://u:pw@h:1/3".into();
    form.apply_url().expect("url applies");
    assert_eq!(form.name, "x", "the name survives a pasted URL");
    assert_eq!(form.password_mode, PasswordMode::Ask);
    let profile = form.to_profile().expect("valid");
    assert_eq!(
        profile.connection.password_source(),
        &PasswordSource::Prompt
    );
    assert_eq!(profile.connection.display_url(), "redis://u@h:1/3");
    assert!(
        !form.url.contains("pw"),
        "the pasted password is not left on screen"
    );
    form.url = "ftp://nope".into();
    assert!(form.apply_url().is_err());
}

/// Connects one more session to `state` under profile `name` (already in the store).
fn connect_another(state: &mut AppState, name: &str) -> ConnId {
    state.connect_profile(name);
    let (conn, req, _) = out(state).pop().expect("connect command");
    state.apply(Event::Conn {
        conn,
        req,
        kind: EventKind::Connected {
            description: "test".into(),
            capabilities: Capabilities {
                databases: true,
                rename: true,
                ..Capabilities::string_store("Redis")
            },
        },
    });
    out(state);
    conn
}

#[test]
fn an_overwrite_question_answered_on_another_tab_writes_to_the_connection_that_asked() {
    let (mut state, a, _) = state_with_session();
    let (spec, _) = parse_url("redis://127.0.0.1:2/0").expect("url");
    state.profiles.add(Profile::new("q", spec)).expect("add");
    let b = connect_another(&mut state, "q");
    // A rename on `a` comes back "target exists": the question names `a`.
    let rename = WriteOp::Rename {
        from: Bytes::from_static(b"x"),
        to: Bytes::from_static(b"y"),
        overwrite: false,
    };
    state.handle(Action::Activate(a));
    act(&mut state, SessionAction::Search);
    out(&mut state);
    let req = state
        .with_session(a, |s, _| {
            s.request(Pending::Write, CommandKind::Write { op: rename.clone() })
        })
        .expect("session a");
    out(&mut state);
    state.apply(Event::Conn {
        conn: a,
        req,
        kind: EventKind::Written {
            op: rename,
            outcome: crate::core::model::WriteOutcome::TargetExists,
        },
    });
    assert_eq!(state.confirm.as_ref().map(Confirm::conn), Some(a));
    // The user looks at `b`, then says yes.
    state.handle(Action::Activate(b));
    state.handle(Action::ConfirmYes);
    let sent = out(&mut state);
    assert!(
        sent.iter().any(|(conn, _, kind)| *conn == a
            && matches!(
                kind,
                CommandKind::Write {
                    op: WriteOp::Rename {
                        overwrite: true,
                        ..
                    }
                }
            )),
        "{sent:?}"
    );
    assert!(sent.iter().all(|(conn, _, _)| *conn != b), "{sent:?}");
}

#[test]
fn a_flush_question_refuses_when_its_connection_moved_to_another_database() {
    let (mut state, a, _) = state_with_session();
    act(&mut state, SessionAction::AskFlush(false));
    let Some(Confirm::Flush(flush)) = &mut state.confirm else {
        panic!("a flush question");
    };
    assert_eq!((flush.conn, flush.db), (a, 0));
    flush.typed = "db0".into();
    act(&mut state, SessionAction::SelectDb(3));
    out(&mut state);
    state.handle(Action::ConfirmYes);
    let sent = out(&mut state);
    assert!(
        !sent
            .iter()
            .any(|(_, _, kind)| matches!(kind, CommandKind::Write { .. })),
        "nothing flushed: {sent:?}"
    );
    assert!(
        state
            .notices
            .iter()
            .any(|n| n.text.contains("moved from db0 to db3")),
        "{:?}",
        state.notices
    );
}

/// The secret-store commands queued since the last call.
fn secret_ops(state: &mut AppState) -> Vec<(ReqId, crate::service::SecretOp)> {
    state
        .take_outbox()
        .into_iter()
        .filter_map(|c| match c {
            Command::App {
                req,
                kind: AppCommand::Secret { op, .. },
            } => Some((req, op)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_password_typed_in_the_form_is_kept_in_the_keyring_and_follows_renames_and_deletes() {
    use crate::config::secrets::{SecretName, Slot, StoreKind};
    use crate::service::{SecretAnswer, SecretOp};
    let dir = tempfile::tempdir().expect("dir");
    let mut state = AppState::new(ProfileStore::empty_in(dir.path()), None);
    let mut form = ProfileForm {
        name: "prod".into(),
        password_mode: PasswordMode::Keyring,
        password: "s3cret".into(),
        ..ProfileForm::default()
    };
    form.host = "127.0.0.1".into();
    state.form = Some(form);
    state.handle(Action::SaveForm);
    let ops = secret_ops(&mut state);
    let [(req, SecretOp::Keep(name, StoreKind::Keyring, secret))] = ops.as_slice() else {
        panic!("one keep: {ops:?}");
    };
    assert_eq!(name, &SecretName::new("prod", Slot::Password));
    assert_eq!(secret.expose(), "s3cret");
    assert_eq!(
        state
            .profiles
            .get("prod")
            .expect("saved")
            .connection
            .password_source(),
        &PasswordSource::Keyring
    );
    state.apply(Event::App {
        req: *req,
        kind: AppEvent::Secret(SecretAnswer::Kept {
            name: name.clone(),
            store: StoreKind::Keyring,
            result: Ok(()),
        }),
    });
    assert!(
        state
            .notices
            .iter()
            .any(|n| n.text == "the password of `prod` is remembered in the OS keyring")
    );

    // Renamed: the keyring entry moves with it.
    state.handle(Action::EditProfile("prod".into()));
    if let Some(form) = &mut state.form {
        form.name = "prod-eu".into();
    }
    state.handle(Action::SaveForm);
    let ops = secret_ops(&mut state);
    assert!(
        matches!(ops.as_slice(), [(_, SecretOp::Rename { from, to, stores })]
            if from == "prod" && to == "prod-eu" && stores == &[StoreKind::Keyring]),
        "{ops:?}"
    );

    // Deleted: so is its keyring entry. A vault that is locked is tidied when next unlocked.
    state.handle(Action::DeleteProfile("prod-eu".into()));
    let ops = secret_ops(&mut state);
    assert!(
        matches!(ops.as_slice(), [(_, SecretOp::Forget(name, stores))]
            if name == "prod-eu" && stores == &[StoreKind::Keyring]),
        "{ops:?}"
    );
}

#[test]
fn a_store_that_cannot_keep_the_password_leaves_the_profile_asking() {
    use crate::config::secrets::{SecretError, StoreKind};
    use crate::service::{SecretAnswer, SecretOp};
    let dir = tempfile::tempdir().expect("dir");
    let mut store = ProfileStore::empty_in(dir.path());
    let (mut spec, _) = parse_url("redis://127.0.0.1:1/0").expect("url");
    spec.set_password_source(PasswordSource::Prompt);
    store.add(Profile::new("p", spec)).expect("add");
    let mut state = AppState::new(store, None);
    state.connect_profile("p");
    let prompt = state.password_prompt.as_mut().expect("asked");
    prompt.text = "pw".into();
    prompt.remember = Some(StoreKind::Keyring);
    state.handle(Action::SubmitPassword);
    let ops = secret_ops(&mut state);
    let [(req, SecretOp::Keep(name, ..))] = ops.as_slice() else {
        panic!("{ops:?}");
    };
    state.apply(Event::App {
        req: *req,
        kind: AppEvent::Secret(SecretAnswer::Kept {
            name: name.clone(),
            store: StoreKind::Keyring,
            result: Err(SecretError::KeyringUnavailable("no session bus".into())),
        }),
    });
    assert_eq!(
        state
            .profiles
            .get("p")
            .expect("kept")
            .connection
            .password_source(),
        &PasswordSource::Prompt,
        "never switched to a store that did not take it"
    );
    let notice = state.notices.last().expect("said");
    assert_eq!(notice.level, Level::Error);
    assert!(
        notice
            .text
            .contains("could not be remembered in the OS keyring"),
        "{}",
        notice.text
    );
    assert!(!notice.text.contains("pw"), "{}", notice.text);
}

#[test]
fn an_export_of_vault_passwords_asks_for_the_vault_first_and_keeps_the_dialog_when_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let mut store = ProfileStore::empty_in(dir.path());
    let (mut spec, _) = parse_url("redis://127.0.0.1:1/0").expect("url");
    spec.set_password_source(crate::config::connection::PasswordSource::Vault);
    store.add(Profile::new("kept", spec)).expect("add");
    let mut state = AppState::new(store, None);
    state.handle(Action::OpenExport);
    if let Some(dialog) = &mut state.export_dialog {
        dialog.with_secrets = true;
        dialog.passphrase = "team".into();
        dialog.confirm = "team".into();
    }
    assert!(state.export_ready());
    let file = dir.path().join("export.json");
    state.handle(Action::ExportProfiles(file.clone()));
    assert!(state.vault_prompt.is_some(), "the vault is asked for first");
    assert!(
        !state.take_outbox().iter().any(|c| matches!(
            c,
            Command::App {
                kind: AppCommand::ExportProfiles { .. },
                ..
            }
        )),
        "nothing is written while the vault is locked"
    );
    state.handle(Action::CancelVault);
    let dialog = state.export_dialog.as_ref().expect("the dialog comes back");
    assert!(dialog.error.as_deref().is_some_and(|e| e.contains("vault")));
    assert_eq!(dialog.chosen, ["kept"]);
}

#[test]
fn imported_passwords_a_store_cannot_keep_are_held_for_the_session_as_said() {
    use crate::config::secrets::{SecretError, StoreKind};
    use crate::service::{SecretAnswer, SecretOp};
    let dir = tempfile::tempdir().expect("dir");
    let mut state = AppState::new(ProfileStore::empty_in(dir.path()), None);
    let list = dir.path().join("list.txt");
    state.handle(Action::ImportProfiles(list.clone()));
    let incoming =
        crate::config::transfer::read(b"redis://:imported-pw@127.0.0.1:1/0\n", None, None)
            .expect("read");
    let req = state
        .take_outbox()
        .into_iter()
        .find_map(|c| match c {
            Command::App {
                req,
                kind: AppCommand::ReadImport { .. },
            } => Some(req),
            _ => None,
        })
        .expect("the file is read by the service");
    state.apply(Event::App {
        req,
        kind: AppEvent::ImportRead(list, Ok(incoming)),
    });
    state.import_preview.as_mut().expect("previewed").secrets_to = Some(StoreKind::Keyring);
    state.handle(Action::ConfirmImport);
    let ops = secret_ops(&mut state);
    let [(req, SecretOp::Keep(name, ..))] = ops.as_slice() else {
        panic!("{ops:?}");
    };
    let profile = name.profile.clone();
    state.apply(Event::App {
        req: *req,
        kind: AppEvent::Secret(SecretAnswer::Kept {
            name: name.clone(),
            store: StoreKind::Keyring,
            result: Err(SecretError::KeyringUnavailable("no session bus".into())),
        }),
    });
    let notice = state.notices.last().expect("said");
    assert!(
        notice.text.contains("kept for this session only"),
        "{}",
        notice.text
    );
    // The profile asks for it next time, and this session connects with it at once.
    assert_eq!(
        state
            .profiles
            .get(&profile)
            .map(|p| p.connection.password_source()),
        Some(&PasswordSource::Prompt)
    );
    state.connect_profile(&profile);
    assert!(state.password_prompt.is_none());
    let sent = out(&mut state)
        .into_iter()
        .find_map(|(_, _, kind)| match kind {
            CommandKind::Connect { password, .. } => Some(password),
            _ => None,
        });
    assert_eq!(
        sent.flatten().map(|p| p.expose().to_owned()).as_deref(),
        Some("imported-pw")
    );
}

#[test]
fn a_profile_moves_between_groups_and_back_to_the_top_level() {
    let dir = tempfile::tempdir().expect("dir");
    let mut store = ProfileStore::empty_in(dir.path());
    for (name, group) in [("a", Some("Prod")), ("b", None)] {
        let (spec, _) = parse_url("redis://127.0.0.1:1/0").expect("url");
        let mut p = Profile::new(name, spec);
        p.group = group.map(str::to_owned);
        store.add(p).expect("add");
    }
    let mut state = AppState::new(store, None);
    assert_eq!(state.profiles.groups(), ["Prod"]);
    state.handle(Action::MoveToGroup {
        profile: "b".into(),
        group: Some("Prod".into()),
    });
    state.handle(Action::MoveToGroup {
        profile: "a".into(),
        group: None,
    });
    let group_of = |s: &AppState, n: &str| s.profiles.get(n).and_then(|p| p.group.clone());
    assert_eq!(group_of(&state, "a"), None);
    assert_eq!(group_of(&state, "b").as_deref(), Some("Prod"));
    assert!(
        state.take_outbox().iter().any(|c| matches!(
            c,
            Command::App {
                kind: AppCommand::SaveProfiles(_),
                ..
            }
        )),
        "saved"
    );
}
