//! Driving the app headless with `egui_kittest`.

use std::time::{Duration, Instant};

use cache_console::config::profiles::{Profile, ProfileStore};
use cache_console::state::{Action, AppState, ScanPhase, SessionAction, ValueMode, ViewerState};
use cache_console::ui::App;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

/// The app in a 1400×900 headless window. Its audit log goes to a temp dir (leaked for the
/// life of the test process) so tests never write to the user's data directory.
pub fn harness(mut state: AppState) -> Harness<'static, App> {
    let audit_dir = tempfile::tempdir().expect("audit dir").keep();
    state.audit = Some(cache_console::config::audit::AuditLog::in_dir(&audit_dir));
    let app = App::new(state, None, Instant::now()).expect("app");
    Harness::builder()
        .with_size([1400.0, 900.0])
        .build_ui_state(|ui, app: &mut App| app.ui(ui), app)
}

/// The app over the profiles in `cfg` (a restart reads them again), its keyring on `bus` and
/// its vault in `cfg`.
pub fn app_with_secrets(cfg: &std::path::Path, bus: &str) -> Harness<'static, App> {
    let loaded = ProfileStore::load_from(cfg);
    let mut state = AppState::new(loaded.store, loaded.warning);
    state.secret_places = cache_console::config::secrets::SecretPlaces {
        keyring: cache_console::config::secrets::Keyring::on_bus(bus),
        vault_dir: cfg.to_path_buf(),
    };
    let mut h = harness(state);
    h.run_steps(1);
    h
}

/// Does what a click would ask of the shown connection.
pub fn act(h: &mut Harness<'static, App>, action: SessionAction) {
    let state = &mut h.state_mut().state;
    let conn = state.active_conn().expect("a connection");
    state.handle(Action::Session(conn, action));
}

/// Runs frames as the real window does: the app paces each frame's input first (a click that
/// comes in the same frame as typing waits for the next one), until nothing waits.
pub fn step_paced(h: &mut Harness<'static, App>) {
    loop {
        let mut events = std::mem::take(&mut h.input_mut().events);
        let held = h.state_mut().pace_input(&mut events);
        h.input_mut().events = events;
        h.step();
        if !held {
            return;
        }
    }
}

/// Types `text` into the focused field and clicks `button` in the same frame, as a fast user
/// does (kittest's own clicks and typing each take a frame of their own).
pub fn type_and_click_at_once(h: &mut Harness<'static, App>, text: &str, button: &str) {
    let pos = h.get_by_label(button).rect().center();
    let events = &mut h.input_mut().events;
    events.push(egui::Event::Text(text.to_owned()));
    for pressed in [true, false] {
        events.push(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::default(),
        });
    }
    step_paced(h);
}

/// Opens the audit log window and waits until the service has read it.
pub fn open_audit_log(h: &mut Harness<'static, App>) {
    h.get_by_label("Audit log").click();
    run_until(h, "the audit log read", |app| {
        app.state
            .audit_view
            .as_ref()
            .is_some_and(|v| v.read.result.is_some())
    });
}

/// The entries the audit window read (newest first).
pub fn audit_entries(h: &Harness<'static, App>) -> Vec<cache_console::config::audit::AuditEntry> {
    h.state()
        .state
        .audit_view
        .as_ref()
        .and_then(|v| v.read.result.clone())
        .expect("the window read the log")
        .expect("readable")
        .entries
}

/// Steps frames until `done` holds; the service answers on its own thread meanwhile.
pub fn run_until(h: &mut Harness<'static, App>, what: &str, done: impl Fn(&App) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(h.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    h.run_steps(3);
}

/// Waits until the profile form's *Test connection* has an answer, whichever it is.
pub fn wait_tested(h: &mut Harness<'static, App>) {
    run_until(h, "the connection test", |app| {
        app.state.form.as_ref().is_some_and(|f| {
            matches!(
                f.test,
                cache_console::state::TestStatus::Ok(_)
                    | cache_console::state::TestStatus::Failed(_)
            )
        })
    });
}

/// Replaces the text of the field labelled `label`, as a user would (select all, type).
pub fn replace_text(h: &mut Harness<'static, App>, label: &str, text: &str) {
    // A dialog that just closed may still hold focus for a frame or two: retry then.
    for _ in 0..5 {
        h.get_by_label(label).focus();
        h.run_steps(1);
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        h.get_by_label(label).type_text(text);
        h.run_steps(2);
        if h.get_by_label(label).value().as_deref() == Some(text) {
            return;
        }
        h.run_steps(3);
    }
    panic!("could not type `{text}` into `{label}`");
}

/// Opens the viewer's "Add an element" form when it is closed.
pub fn open_add_form(h: &mut Harness<'static, App>) {
    let open = ["Add field", "Push head", "Add member", "Add entry"]
        .iter()
        .any(|b| h.query_by_label(b).is_some());
    if !open {
        h.get_by_label("Add an element").click();
        h.run_steps(2);
    }
}

/// An app with one saved profile for `url`, connecting to it.
pub fn connect_to(url: &str, name: &str) -> (tempfile::TempDir, Harness<'static, App>) {
    connect_with(url, name, |_| {})
}

/// Like [`connect_to`], with the profile adjusted by `adjust` (read-only, production, …).
pub fn connect_with(
    url: &str,
    name: &str,
    adjust: impl FnOnce(&mut Profile),
) -> (tempfile::TempDir, Harness<'static, App>) {
    let cfg = tempfile::tempdir().expect("config dir");
    let mut store = ProfileStore::empty_in(cfg.path());
    let (spec, _) = cache_console::config::connection::parse_url(url).expect("url");
    let mut profile = Profile::new(name, spec);
    adjust(&mut profile);
    store.add(profile).expect("add profile");
    let mut h = harness(AppState::new(store, None));
    h.run_steps(1);
    h.state_mut().state.connect_profile(name);
    (cfg, h)
}

/// Waits until the active connection has listed its keys.
pub fn wait_listed(h: &mut Harness<'static, App>) {
    run_until(h, "the listing", |app| {
        app.state
            .active_session()
            .is_some_and(|s| s.browser.scan.phase == ScanPhase::Done)
    });
}

/// Types `text` into the Filter field and waits until the loaded keys are filtered.
pub fn filter_to(h: &mut Harness<'static, App>, text: &str) {
    replace_text(h, "Filter", text);
    run_until(h, "the filter", |app| {
        app.state
            .active_session()
            .is_some_and(|s| !s.browser.filter_running())
    });
}

/// Waits until the value viewer has loaded the open key.
pub fn wait_value(h: &mut Harness<'static, App>) {
    run_until(h, "the value", |app| {
        app.state
            .active_session()
            .and_then(|s| s.viewer.as_ref())
            .is_some_and(|v| v.state == ViewerState::Loaded)
    });
}

/// What the value viewer holds of the open key.
pub fn viewer_items(h: &Harness<'static, App>) -> Option<cache_console::core::model::ValueItems> {
    h.state()
        .state
        .active_session()
        .and_then(|s| s.viewer.as_ref())
        .and_then(|v| v.items.clone())
}

/// How the open value is shown (text, JSON, hex, decoded).
pub fn viewer_mode(h: &Harness<'static, App>) -> Option<ValueMode> {
    h.state()
        .state
        .active_session()
        .and_then(|s| s.viewer.as_ref())
        .map(|v| v.mode)
}

/// One frame of a 60 Hz display.
const FRAME: Duration = Duration::from_micros(16_667);

/// Benchmarks: connects a headless app to `url` and lists the whole keyspace through the app's
/// own path `runs` times (a frame every 1/60 s at most, as a window's are paced by the
/// display), within the scan budget `budget_ms` (`None`: unthrottled). Returns the harness,
/// still connected, and the fastest listing.
pub fn timed_app_listing(
    url: &str,
    runs: usize,
    budget_ms: Option<u32>,
) -> (Harness<'static, App>, Duration) {
    let cfg = tempfile::tempdir().expect("config dir").keep();
    let mut store = ProfileStore::empty_in(&cfg);
    let (spec, _) = cache_console::config::connection::parse_url(url).expect("url");
    store.add(Profile::new("bench", spec)).expect("profile");
    let mut state = AppState::new(store, None);
    state.batch_limit = u64::MAX;
    let app = App::new(state, None, Instant::now()).expect("app");
    let mut h = Harness::builder()
        .with_size([1400.0, 900.0])
        .with_max_steps(u64::MAX)
        .build_ui_state(|ui, app: &mut App| app.ui(ui), app);
    h.state_mut().state.connect_profile("bench");
    if let Some(s) = h.state_mut().state.active_session_mut() {
        s.browser.scan_budget_ms = budget_ms;
    }
    let wait_done = |h: &mut Harness<'static, App>| {
        let deadline = Instant::now() + Duration::from_mins(2);
        loop {
            let phase = h.state().state.active_session().map(|s| {
                (
                    s.status == cache_console::state::SessionStatus::Connected,
                    s.browser.scan.phase.clone(),
                )
            });
            match phase {
                Some((true, ScanPhase::Done)) => break,
                Some((_, ScanPhase::Failed(e))) => panic!("listing failed: {e}"),
                _ => {}
            }
            assert!(Instant::now() < deadline, "listing did not finish");
            // Frames at a 60 Hz display's pace, as a real window's are (vsync): the harness
            // alone would draw as fast as it can, hundreds of frames a second no screen shows.
            let frame = Instant::now();
            h.step();
            if let Some(rest) = FRAME.checked_sub(frame.elapsed()) {
                std::thread::sleep(rest);
            }
        }
    };
    wait_done(&mut h);
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        act(&mut h, SessionAction::Search);
        wait_done(&mut h);
        best = best.min(start.elapsed());
    }
    (h, best)
}
