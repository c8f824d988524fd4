//! The server panel of a connection: every statistic, the slow log and the client list, with
//! the two administration steps (reset the slow log, kill a client) behind a confirmation.

use super::{AppState, Confirm};
use crate::core::model::{ClientInfo, SlowLogEntry, WriteOp};
use crate::service::{CommandKind, EventKind, ReqId};

/// Slow log entries read at a time.
pub const SLOW_LOG_COUNT: u32 = 128;

/// Something the panel loads: the request awaited and what came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loadable<T> {
    /// The request whose answer is awaited (0 before the first load).
    pub req: ReqId,
    /// The answer, or why it failed; `None` while loading or before the first load.
    pub result: Option<Result<T, String>>,
}

impl<T> Default for Loadable<T> {
    fn default() -> Self {
        Self {
            req: 0,
            result: None,
        }
    }
}

impl<T> Loadable<T> {
    /// Whether a load is running.
    #[must_use]
    pub fn loading(&self) -> bool {
        self.req != 0 && self.result.is_none()
    }

    fn start(&mut self, req: ReqId) {
        self.req = req;
        self.result = None;
    }

    /// Takes the answer to `req`; false when it answers something else.
    fn answer(&mut self, req: ReqId, result: Result<T, String>) -> bool {
        if self.req != req || req == 0 {
            return false;
        }
        self.result = Some(result);
        true
    }
}

/// The panel's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServerTab {
    /// Every statistic (`INFO`, memcached `stats`).
    #[default]
    Info,
    /// The slowest recent commands.
    SlowLog,
    /// Connected clients.
    Clients,
}

/// The server panel of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerInfoView {
    /// The shown tab.
    pub tab: ServerTab,
    /// Every server's statistics by section.
    pub info: Loadable<Vec<crate::backend::ServerInfo>>,
    /// Filter over statistic names and values.
    pub filter: String,
    /// The slow log, newest first.
    pub slow_log: Loadable<Vec<SlowLogEntry>>,
    /// The connected clients.
    pub clients: Loadable<Vec<ClientInfo>>,
    /// Filter over the clients' fields.
    pub client_filter: String,
}

impl AppState {
    /// Opens the server panel (or refreshes its shown tab).
    pub fn open_server_info(&mut self) {
        let index = self.active;
        let Some(s) = self.sessions.get_mut(index) else {
            return;
        };
        let tab = s
            .server_info
            .get_or_insert_with(ServerInfoView::default)
            .tab;
        self.load_tab(index, tab);
    }

    /// Shows a tab of the active connection's server panel, loading it the first time.
    pub fn server_tab(&mut self, tab: ServerTab) {
        let index = self.active;
        let Some(view) = self
            .sessions
            .get_mut(index)
            .and_then(|s| s.server_info.as_mut())
        else {
            return;
        };
        view.tab = tab;
        let loaded = match tab {
            ServerTab::Info => view.info.req != 0,
            ServerTab::SlowLog => view.slow_log.req != 0,
            ServerTab::Clients => view.clients.req != 0,
        };
        if !loaded {
            self.load_tab(index, tab);
        }
    }

    fn load_tab(&mut self, index: usize, tab: ServerTab) {
        match tab {
            ServerTab::Info => {
                let req = self.next();
                let Some(s) = self.sessions.get_mut(index) else {
                    return;
                };
                let conn = s.conn;
                s.server_info
                    .get_or_insert_with(ServerInfoView::default)
                    .info
                    .start(req);
                self.send(conn, req, CommandKind::ServerInfo);
            }
            ServerTab::SlowLog => self.load_slow_log(index),
            ServerTab::Clients => self.load_clients(index),
        }
    }

    /// Reads session `index`'s slow log again.
    pub(super) fn load_slow_log(&mut self, index: usize) {
        let req = self.next();
        let Some(s) = self.sessions.get_mut(index) else {
            return;
        };
        let Some(view) = s.server_info.as_mut() else {
            return;
        };
        view.slow_log.start(req);
        let conn = s.conn;
        self.send(
            conn,
            req,
            CommandKind::SlowLog {
                count: SLOW_LOG_COUNT,
            },
        );
    }

    /// Reads session `index`'s client list again.
    pub(super) fn load_clients(&mut self, index: usize) {
        let req = self.next();
        let Some(s) = self.sessions.get_mut(index) else {
            return;
        };
        let Some(view) = s.server_info.as_mut() else {
            return;
        };
        view.clients.start(req);
        let conn = s.conn;
        self.send(conn, req, CommandKind::Clients);
    }

    /// Asks before emptying the active connection's slow log.
    pub fn ask_reset_slow_log(&mut self) {
        let Some(s) = self.sessions.get(self.active) else {
            return;
        };
        self.confirm = Some(Confirm::Admin {
            conn: s.conn,
            title: "Reset the slow log?".to_owned(),
            description: format!(
                "Every slow log entry of {} will be deleted. This cannot be undone.",
                s.profile.name
            ),
            op: WriteOp::ResetSlowLog,
        });
    }

    /// Asks before disconnecting a client of the active connection's server.
    pub fn ask_kill_client(&mut self, client: &ClientInfo) {
        let Some(s) = self.sessions.get(self.active) else {
            return;
        };
        let name = client.field("name");
        let who = if name.is_empty() {
            format!("client {} at {}", client.id, client.field("addr"))
        } else {
            format!(
                "client {} (`{name}`) at {}",
                client.id,
                client.field("addr")
            )
        };
        self.confirm = Some(Confirm::Admin {
            conn: s.conn,
            title: "Disconnect this client?".to_owned(),
            description: format!(
                "{who} will be disconnected from {}. An application may reconnect by itself.",
                s.profile.name
            ),
            op: WriteOp::KillClient { id: client.id },
        });
    }

    /// Folds a server panel answer in; gives the event back when it is not one.
    pub(super) fn apply_server_event(
        &mut self,
        index: usize,
        req: ReqId,
        kind: EventKind,
    ) -> Option<EventKind> {
        let Some(view) = self
            .sessions
            .get_mut(index)
            .and_then(|s| s.server_info.as_mut())
        else {
            return Some(kind);
        };
        match kind {
            EventKind::ServerInfo(info) => {
                view.info.answer(req, Ok(info));
                None
            }
            EventKind::SlowLog(entries) => {
                view.slow_log.answer(req, Ok(entries));
                None
            }
            EventKind::Clients(clients) => {
                view.clients.answer(req, Ok(clients));
                None
            }
            EventKind::Failed(e) => {
                let text = e.to_string();
                let taken = view.info.answer(req, Err(text.clone()))
                    || view.slow_log.answer(req, Err(text.clone()))
                    || view.clients.answer(req, Err(text));
                if taken {
                    None
                } else {
                    Some(EventKind::Failed(e))
                }
            }
            other => Some(other),
        }
    }
}
