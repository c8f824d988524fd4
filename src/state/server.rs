//! The server panel of a connection: every statistic, the slow log and the client list, with
//! the two administration steps (reset the slow log, kill a client) behind a confirmation.

use super::{Confirm, Effects, Loadable, Pending, Session};
use crate::core::model::{ClientInfo, SlowLogEntry, WriteOp};
use crate::service::{CommandKind, EventKind};

/// Slow log entries read at a time.
pub const SLOW_LOG_COUNT: u32 = 128;

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
    /// A cluster's nodes.
    Nodes,
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
    /// A cluster's nodes.
    pub nodes: Loadable<Vec<crate::core::model::NodeRow>>,
}

impl Session {
    /// Opens the server panel (or refreshes its shown tab).
    pub(super) fn open_server_info(&mut self) {
        // A cluster opens on its nodes: which node is which is the first question there.
        let first = if self.capabilities.as_ref().is_some_and(|c| c.nodes) {
            ServerTab::Nodes
        } else {
            ServerTab::Info
        };
        let tab = self
            .server_info
            .get_or_insert_with(|| ServerInfoView {
                tab: first,
                ..ServerInfoView::default()
            })
            .tab;
        self.load_tab(tab);
    }

    /// Shows a tab of the server panel, loading it the first time.
    pub(super) fn server_tab(&mut self, tab: ServerTab) {
        let Some(view) = self.server_info.as_mut() else {
            return;
        };
        view.tab = tab;
        let loaded = match tab {
            ServerTab::Info => view.info.requested(),
            ServerTab::SlowLog => view.slow_log.requested(),
            ServerTab::Clients => view.clients.requested(),
            ServerTab::Nodes => view.nodes.requested(),
        };
        if !loaded {
            self.load_tab(tab);
        }
    }

    fn load_tab(&mut self, tab: ServerTab) {
        match tab {
            ServerTab::Info => {
                let view = self.server_info.get_or_insert_with(ServerInfoView::default);
                view.info.start();
                self.request(Pending::ServerInfo, CommandKind::ServerInfo);
            }
            ServerTab::SlowLog => self.load_slow_log(),
            ServerTab::Clients => self.load_clients(),
            ServerTab::Nodes => {
                let view = self.server_info.get_or_insert_with(ServerInfoView::default);
                view.nodes.start();
                self.request(Pending::Nodes, CommandKind::Nodes);
            }
        }
    }

    /// Reads the slow log again.
    pub(super) fn load_slow_log(&mut self) {
        let Some(view) = self.server_info.as_mut() else {
            return;
        };
        view.slow_log.start();
        self.request(
            Pending::SlowLog,
            CommandKind::SlowLog {
                count: SLOW_LOG_COUNT,
            },
        );
    }

    /// Reads the client list again.
    pub(super) fn load_clients(&mut self) {
        let Some(view) = self.server_info.as_mut() else {
            return;
        };
        view.clients.start();
        self.request(Pending::Clients, CommandKind::Clients);
    }

    /// Asks before emptying the slow log.
    pub(super) fn ask_reset_slow_log(&mut self, fx: &mut Effects) {
        fx.ask(Confirm::Admin {
            conn: self.conn,
            title: "Reset the slow log?".to_owned(),
            description: format!(
                "Every slow log entry of {} will be deleted. This cannot be undone.",
                self.profile.name
            ),
            op: WriteOp::ResetSlowLog,
        });
    }

    /// Asks before disconnecting a client of the server.
    pub(super) fn ask_kill_client(&mut self, client: &ClientInfo, fx: &mut Effects) {
        let name = client.field("name");
        let on = client
            .node
            .as_ref()
            .map_or_else(String::new, |n| format!(" on node {n}"));
        let who = if name.is_empty() {
            format!("client {} at {}{on}", client.id, client.field("addr"))
        } else {
            format!(
                "client {} (`{name}`) at {}{on}",
                client.id,
                client.field("addr")
            )
        };
        fx.ask(Confirm::Admin {
            conn: self.conn,
            title: "Disconnect this client?".to_owned(),
            description: format!(
                "{who} will be disconnected from {}. An application may reconnect by itself.",
                self.profile.name
            ),
            op: WriteOp::KillClient {
                id: client.id,
                node: client.node.clone(),
            },
        });
    }

    /// A server panel answer arrived.
    pub(super) fn server_event(&mut self, kind: EventKind) {
        let Some(view) = self.server_info.as_mut() else {
            return;
        };
        match kind {
            EventKind::ServerInfo(info) => view.info.answer(Ok(info)),
            EventKind::SlowLog(entries) => view.slow_log.answer(Ok(entries)),
            EventKind::Clients(clients) => view.clients.answer(Ok(clients)),
            EventKind::Nodes(nodes) => view.nodes.answer(Ok(nodes)),
            _ => {}
        }
    }

    /// A server panel load failed.
    pub(super) fn server_failed(&mut self, pending: Pending, text: String) {
        let Some(view) = self.server_info.as_mut() else {
            return;
        };
        match pending {
            Pending::ServerInfo => view.info.answer(Err(text)),
            Pending::SlowLog => view.slow_log.answer(Err(text)),
            Pending::Nodes => view.nodes.answer(Err(text)),
            _ => view.clients.answer(Err(text)),
        }
    }
}
