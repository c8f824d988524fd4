//! The command palette (Ctrl+K, Ctrl+Shift+P): every action of the app by name, a profile to
//! connect to, a tab to show, a key to open — found by fuzzy search (`nucleo-matcher`, the
//! matcher of the Helix editor) and run with Enter. The same list of commands gives the
//! keyboard shortcuts (`ui/palette.rs`), so the palette, the tooltips and the keys agree.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher};

use super::{Action, AppState, SessionAction, SessionStatus};
use crate::service::ConnId;

/// Entries listed at most.
pub const MAX_ENTRIES: usize = 12;

/// An action of the app that has a name (and a shortcut).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// Open the palette.
    Palette,
    /// Show or hide the console.
    Console,
    /// Open the Pub/Sub viewer.
    PubSub,
    /// Open the MONITOR viewer.
    Monitor,
    /// Open the server panel.
    ServerInfo,
    /// Open the metrics dashboard.
    Metrics,
    /// Open the memory analysis.
    MemoryAnalysis,
    /// Count every namespace of the keyspace.
    Namespaces,
    /// List the keys again and read the counts again.
    Refresh,
    /// Make a key.
    NewKey,
    /// Delete the keys a pattern matches.
    DeleteByPattern,
    /// Flush the database (asks for its name).
    FlushDatabase,
    /// Undo the last delete or TTL change.
    Undo,
    /// Open the audit log.
    AuditLog,
    /// Show or hide the fleet view.
    Fleet,
    /// Make a profile.
    NewProfile,
    /// Close the tab shown.
    CloseTab,
    /// Show the next tab.
    NextTab,
    /// Show the tab before.
    PreviousTab,
}

/// What a command needs of the tab shown.
#[derive(Debug, Clone, Copy)]
enum Needs {
    /// Nothing.
    Nothing,
    /// A tab.
    Tab,
    /// A connected tab whose backend can do it.
    Capable(fn(&crate::backend::Capabilities) -> bool),
}

/// The commands, their names and what they need, in the palette's order.
const COMMANDS: &[(Command, &str, Needs)] = &[
    (
        Command::Console,
        "Console: show or hide",
        Needs::Capable(|c| c.commands),
    ),
    (
        Command::PubSub,
        "Pub/Sub: subscribe and publish",
        Needs::Capable(|c| c.pubsub),
    ),
    (
        Command::Monitor,
        "MONITOR: every command the server runs",
        Needs::Capable(|c| c.monitor),
    ),
    (
        Command::ServerInfo,
        "Server info",
        Needs::Capable(|c| c.server_stats),
    ),
    (
        Command::Metrics,
        "Metrics dashboard",
        Needs::Capable(|c| c.server_stats),
    ),
    (
        Command::MemoryAnalysis,
        "Memory analysis",
        Needs::Capable(|c| c.list_keys),
    ),
    (
        Command::Namespaces,
        "Namespaces: count every key into its namespaces",
        Needs::Capable(|c| c.list_keys),
    ),
    (
        Command::Refresh,
        "Refresh: list the keys again",
        Needs::Capable(|c| c.list_keys),
    ),
    (Command::NewKey, "New key...", Needs::Capable(|c| c.write)),
    (
        Command::DeleteByPattern,
        "Delete by pattern...",
        Needs::Capable(|c| c.write && c.list_keys),
    ),
    (
        Command::FlushDatabase,
        "Flush database...",
        Needs::Capable(|c| c.write && c.flush),
    ),
    (
        Command::Undo,
        "Undo the last delete or TTL change",
        Needs::Capable(|c| c.write),
    ),
    (Command::AuditLog, "Audit log", Needs::Nothing),
    (
        Command::Fleet,
        "Fleet: every profile's figures at a glance",
        Needs::Nothing,
    ),
    (Command::NewProfile, "New profile", Needs::Nothing),
    (Command::CloseTab, "Close tab", Needs::Tab),
    (Command::NextTab, "Next tab", Needs::Tab),
    (Command::PreviousTab, "Previous tab", Needs::Tab),
];

/// One line of the palette.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A command.
    Run(Command),
    /// Connect to a profile (or show its tab).
    Connect(String),
    /// Show a tab.
    Tab(ConnId),
    /// Open a key by the name typed, in the tab shown.
    OpenKey(String),
}

/// The palette while open.
#[derive(Debug, Default, Clone)]
pub struct Palette {
    /// What is typed.
    pub query: String,
    /// The entry chosen with the arrow keys.
    pub selected: usize,
}

impl Command {
    /// Its name in the palette.
    #[must_use]
    pub fn name(self) -> &'static str {
        COMMANDS
            .iter()
            .find(|(c, _, _)| *c == self)
            .map_or("Command palette", |(_, name, _)| name)
    }

    /// Whether it can run now.
    #[must_use]
    pub fn available(self, state: &AppState) -> bool {
        let needs = COMMANDS
            .iter()
            .find(|(c, _, _)| *c == self)
            .map_or(Needs::Nothing, |(_, _, needs)| *needs);
        let session = state.active_session();
        match needs {
            Needs::Nothing => true,
            Needs::Tab => session.is_some(),
            Needs::Capable(can) => session.is_some_and(|s| {
                s.status == SessionStatus::Connected && s.capabilities.as_ref().is_some_and(can)
            }),
        }
    }

    /// What it asks of the app now (nothing when it cannot run).
    #[must_use]
    pub fn actions(self, state: &AppState) -> Vec<Action> {
        if !self.available(state) {
            return Vec::new();
        }
        let Some(conn) = state.active_conn() else {
            return match self {
                Self::AuditLog => vec![Action::OpenAudit],
                Self::Fleet => vec![Action::ToggleFleet],
                Self::NewProfile => vec![Action::NewProfile],
                _ => Vec::new(),
            };
        };
        let on = |a: SessionAction| Action::Session(conn, a);
        let step = |by: isize| {
            let n = state.sessions.len().cast_signed();
            let next = (state.active.cast_signed() + by).rem_euclid(n.max(1));
            state
                .sessions
                .get(next.cast_unsigned())
                .map(|s| Action::Activate(s.conn))
        };
        match self {
            Self::Palette => Vec::new(),
            Self::Console => vec![on(SessionAction::ToggleConsole)],
            Self::PubSub => vec![on(SessionAction::OpenPubSub)],
            Self::Monitor => vec![on(SessionAction::OpenMonitor)],
            Self::ServerInfo => vec![on(SessionAction::OpenServerInfo)],
            Self::Metrics => vec![on(SessionAction::OpenDashboard)],
            Self::MemoryAnalysis => vec![on(SessionAction::OpenAnalysis)],
            Self::Namespaces => vec![on(SessionAction::OpenCensus)],
            Self::Refresh => vec![
                on(SessionAction::RefreshDatabases),
                on(SessionAction::Search),
            ],
            Self::NewKey => vec![on(SessionAction::OpenCreate)],
            Self::DeleteByPattern => vec![on(SessionAction::OpenBulkDelete)],
            Self::FlushDatabase => vec![on(SessionAction::AskFlush(false))],
            Self::Undo => vec![on(SessionAction::Undo)],
            Self::AuditLog => vec![Action::OpenAudit],
            Self::Fleet => vec![Action::ToggleFleet],
            Self::NewProfile => vec![Action::NewProfile],
            Self::CloseTab => vec![Action::Close(conn)],
            Self::NextTab => step(1).into_iter().collect(),
            Self::PreviousTab => step(-1).into_iter().collect(),
        }
    }
}

impl Entry {
    /// Its text in the palette.
    #[must_use]
    pub fn label(&self, state: &AppState) -> String {
        match self {
            Self::Run(command) => command.name().to_owned(),
            Self::Connect(profile) => format!("Connect: {profile}"),
            Self::Tab(conn) => state.session(*conn).map_or_else(String::new, |s| {
                format!("Tab: {} · db{}", s.profile.name, s.db)
            }),
            Self::OpenKey(name) => format!("Open key: {name}"),
        }
    }

    /// What choosing it asks of the app.
    #[must_use]
    pub fn actions(&self, state: &AppState) -> Vec<Action> {
        match self {
            Self::Run(command) => command.actions(state),
            Self::Connect(profile) => vec![Action::Connect(profile.clone())],
            Self::Tab(conn) => vec![Action::Activate(*conn)],
            Self::OpenKey(name) => state
                .active_conn()
                .map(|conn| Action::Session(conn, SessionAction::OpenKeyByName(name.clone())))
                .into_iter()
                .collect(),
        }
    }
}

/// The entries for `query`, best first: commands that can run now, profiles, tabs, and —
/// when something is typed and a tab is connected — opening a key by that name.
#[must_use]
pub fn entries(state: &AppState, query: &str) -> Vec<Entry> {
    let mut all: Vec<Entry> = COMMANDS
        .iter()
        .filter(|(c, _, _)| c.available(state))
        .map(|(c, _, _)| Entry::Run(*c))
        .collect();
    all.extend(state.sessions.iter().map(|s| Entry::Tab(s.conn)));
    all.extend(
        state
            .profiles
            .profiles()
            .iter()
            .map(|p| Entry::Connect(p.name.clone())),
    );
    let labelled: Vec<(String, Entry)> = all.into_iter().map(|e| (e.label(state), e)).collect();
    let pattern = Pattern::parse(query.trim(), CaseMatching::Ignore, Normalization::Smart);
    let mut matcher = Matcher::new(Config::DEFAULT);
    let texts: Vec<&str> = labelled.iter().map(|(l, _)| l.as_str()).collect();
    let ranked = pattern.match_list(texts, &mut matcher);
    let mut out: Vec<Entry> = ranked
        .into_iter()
        .filter_map(|(text, _)| {
            labelled
                .iter()
                .find(|(l, _)| l == text)
                .map(|(_, e)| e.clone())
        })
        .collect();
    let connected = state
        .active_session()
        .is_some_and(|s| s.status == SessionStatus::Connected);
    if connected && !query.trim().is_empty() {
        out.push(Entry::OpenKey(query.trim().to_owned()));
    }
    out.truncate(MAX_ENTRIES);
    out
}

impl AppState {
    /// Opens the palette (or closes it when open).
    pub fn toggle_palette(&mut self) {
        self.palette = match self.palette {
            Some(_) => None,
            None => Some(Palette::default()),
        };
    }

    /// Runs a palette entry, and closes the palette.
    pub(super) fn run_entry(&mut self, entry: &Entry) {
        self.palette = None;
        for action in entry.actions(self) {
            self.handle(action);
        }
    }

    /// Runs a command (a shortcut's), when it can run now.
    pub(super) fn run_command(&mut self, command: Command) {
        if command == Command::Palette {
            self.toggle_palette();
            return;
        }
        for action in command.actions(self) {
            self.handle(action);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_its_own_name() {
        let mut names: Vec<&str> = COMMANDS.iter().map(|(c, _, _)| c.name()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before);
    }

    #[test]
    fn fuzzy_search_finds_profiles_and_commands_that_can_run() {
        let dir = tempfile::tempdir().expect("dir");
        let mut store = crate::config::profiles::ProfileStore::empty_in(dir.path());
        for name in ["prod-redis", "staging-memcached"] {
            let (spec, _) =
                crate::config::connection::parse_url("redis://127.0.0.1:6379").expect("url");
            store
                .add(crate::config::profiles::Profile::new(name, spec))
                .expect("add");
        }
        let state = AppState::new(store, None);
        let found = entries(&state, "prdrds");
        assert_eq!(found.first(), Some(&Entry::Connect("prod-redis".into())));
        // No tab: nothing that needs one is offered, and no key can be opened.
        let all = entries(&state, "");
        assert!(all.contains(&Entry::Run(Command::AuditLog)));
        assert!(!all.contains(&Entry::Run(Command::Console)));
        assert!(
            !entries(&state, "user:1")
                .iter()
                .any(|e| matches!(e, Entry::OpenKey(_)))
        );
    }
}
