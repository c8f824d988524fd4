//! The server panel: every statistic of every server (searchable), the slow log and the
//! client list. Tabs come from the backend's capabilities.

use egui_extras::{Column, TableBuilder};

use super::{Actions, theme};
use crate::core::escape::escape_bytes;
use crate::core::model::{ClientInfo, SlowLogEntry};
use crate::state::{Level, Loadable, ServerInfoView, ServerTab, Session, SessionAction};

/// What the user asked for in the panel this frame.
#[derive(Default)]
struct Request {
    refresh: bool,
    tab: Option<ServerTab>,
    reset_slow_log: bool,
    kill: Option<ClientInfo>,
}

/// The server panel of the shown connection, when open.
pub fn server_info_ui(ctx: &egui::Context, s: &mut Session, actions: &mut Actions) {
    let mut acts = actions.of(s.conn);
    let (slow_log, clients, write, nodes) = s
        .capabilities
        .as_ref()
        .map_or((false, false, false, false), |c| {
            (c.slow_log, c.clients, c.write, c.nodes)
        });
    let Some(view) = s.server_info.as_mut() else {
        return;
    };
    let mut open = true;
    let mut request = Request::default();
    egui::Window::new("Server info")
        .open(&mut open)
        .default_size([720.0, 560.0])
        // Below the connection header, so its buttons stay reachable.
        .default_pos([theme::PROFILES_WIDTH + 60.0, 110.0])
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                for (tab, label, shown) in [
                    (ServerTab::Nodes, "Nodes", nodes),
                    (ServerTab::Info, "Statistics", true),
                    (ServerTab::SlowLog, "Slow log", slow_log),
                    (ServerTab::Clients, "Clients", clients),
                ] {
                    if shown && ui.selectable_label(view.tab == tab, label).clicked() {
                        request.tab = Some(tab);
                    }
                }
                ui.separator();
                request.refresh = ui.button("Refresh").clicked();
            });
            ui.separator();
            match view.tab {
                ServerTab::Info => info_ui(ui, view),
                ServerTab::SlowLog => slow_log_ui(ui, view, write, &mut request),
                ServerTab::Clients => clients_ui(ui, view, write, &mut request),
                ServerTab::Nodes => nodes_ui(ui, view),
            }
        });
    if !open {
        acts.ask(SessionAction::CloseServerInfo);
        return;
    }
    if let Some(tab) = request.tab {
        acts.ask(SessionAction::ServerTab(tab));
    }
    if request.refresh {
        acts.ask(SessionAction::RefreshServerInfo);
    }
    if request.reset_slow_log {
        acts.ask(SessionAction::AskResetSlowLog);
    }
    if let Some(client) = request.kill {
        acts.ask(SessionAction::AskKillClient(client));
    }
}

/// A spinner while loading, the error when it failed, else the loaded value.
fn loaded<'a, T>(ui: &mut egui::Ui, what: &'a Loadable<T>) -> Option<&'a T> {
    match &what.result {
        None => {
            ui.spinner();
            None
        }
        Some(Err(e)) => {
            ui.colored_label(theme::level_color(Level::Error), e);
            None
        }
        Some(Ok(v)) => Some(v),
    }
}

fn info_ui(ui: &mut egui::Ui, view: &mut ServerInfoView) {
    ui.horizontal(|ui| {
        let l = ui.label("Find");
        ui.add(egui::TextEdit::singleline(&mut view.filter).desired_width(200.0))
            .labelled_by(l.id);
    });
    let needle = view.filter.to_ascii_lowercase();
    let Some(servers) = loaded(ui, &view.info) else {
        return;
    };
    egui::ScrollArea::vertical().show(ui, |ui| {
        for server in servers {
            ui.strong(&server.server);
            for (section, fields) in &server.sections {
                let shown: Vec<&(String, String)> = fields
                    .iter()
                    .filter(|(k, v)| {
                        needle.is_empty()
                            || k.to_ascii_lowercase().contains(&needle)
                            || v.to_ascii_lowercase().contains(&needle)
                    })
                    .collect();
                if shown.is_empty() {
                    continue;
                }
                egui::CollapsingHeader::new(format!("{section} ({})", shown.len()))
                    .id_salt((&server.server, section))
                    // A search opens every section that has a match.
                    .open((!needle.is_empty()).then_some(true))
                    .show(ui, |ui| {
                        egui::Grid::new((&server.server, section, "grid"))
                            .striped(true)
                            .show(ui, |ui| {
                                for (k, v) in shown {
                                    ui.monospace(k);
                                    ui.monospace(v);
                                    ui.end_row();
                                }
                            });
                    });
            }
        }
    });
}

/// A cluster's nodes: each shard's primary, then its replicas.
fn nodes_ui(ui: &mut egui::Ui, view: &ServerInfoView) {
    let Some(nodes) = loaded(ui, &view.nodes) else {
        return;
    };
    let primaries = nodes.iter().filter(|n| n.primary).count();
    let keys: u64 = nodes
        .iter()
        .filter(|n| n.primary)
        .filter_map(|n| n.keys)
        .sum();
    let memory: u64 = nodes.iter().filter_map(|n| n.memory).sum();
    let replicas = nodes.len() - primaries;
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    // A Sentinel group has no slots: no column for them.
    let with_slots = nodes.iter().any(|n| !n.slots.is_empty());
    ui.label(
        egui::RichText::new(format!(
            "{}, {} · {} keys · {} used on all nodes",
            plural(primaries, "primary", "primaries"),
            plural(replicas, "replica", "replicas"),
            crate::core::format::group_digits(keys),
            crate::core::format::human_bytes(memory)
        ))
        .color(theme::MUTED),
    );
    let mut table = TableBuilder::new(ui)
        .id_salt("cluster_nodes")
        .striped(true)
        .column(Column::auto().at_least(150.0))
        .column(Column::auto().at_least(90.0));
    if with_slots {
        table = table.column(Column::auto().at_least(110.0));
    }
    table
        .column(Column::auto().at_least(70.0))
        .column(Column::auto().at_least(80.0))
        .column(Column::remainder().at_least(90.0).clip(true))
        .header(theme::ROW_HEIGHT, |mut h| {
            for title in ["Node", "Role", "Slots", "Keys", "Memory", "Link"] {
                if title == "Slots" && !with_slots {
                    continue;
                }
                h.col(|ui| {
                    ui.strong(title);
                });
            }
        })
        .body(|body| {
            body.rows(theme::ROW_HEIGHT, nodes.len(), |mut row| {
                let n = &nodes[row.index()];
                row.col(|ui| {
                    let r = ui.add(
                        egui::Label::new(egui::RichText::new(&n.address).monospace()).extend(),
                    );
                    let hover = match &n.reached_at {
                        Some(at) => format!("id {}\nreached at {at} (address map)", n.id),
                        None => format!("id {}", n.id),
                    };
                    r.on_hover_text(hover);
                });
                row.col(|ui| {
                    let role = match &n.replica_of {
                        Some(primary) => format!("replica of {primary}"),
                        None if n.primary => "primary".to_owned(),
                        None => "replica".to_owned(),
                    };
                    cell(ui, &role);
                });
                if with_slots {
                    row.col(|ui| {
                        cell(ui, &n.slots).on_hover_text(format!("{} slots", n.slot_count));
                    });
                }
                row.col(|ui| {
                    cell(
                        ui,
                        &n.keys
                            .map_or_else(|| "?".to_owned(), crate::core::format::group_digits),
                    );
                });
                row.col(|ui| {
                    cell(
                        ui,
                        &n.memory
                            .map_or_else(|| "?".to_owned(), crate::core::format::human_bytes),
                    );
                });
                row.col(|ui| {
                    let healthy = (n.link.starts_with("online") || n.link == "?")
                        && !n.link.contains("unreachable");
                    let color = if healthy {
                        theme::OK
                    } else {
                        theme::level_color(Level::Error)
                    };
                    ui.colored_label(color, &n.link);
                });
            });
        });
}

fn slow_log_ui(ui: &mut egui::Ui, view: &ServerInfoView, write: bool, request: &mut Request) {
    ui.horizontal(|ui| {
        let reset = ui
            .add_enabled(write, egui::Button::new("Reset slow log…"))
            .on_disabled_hover_text("This profile is read-only");
        request.reset_slow_log = reset.clicked();
    });
    let Some(entries) = loaded(ui, &view.slow_log) else {
        return;
    };
    if entries.is_empty() {
        ui.label(
            egui::RichText::new("The slow log is empty (see `slowlog-log-slower-than`).")
                .color(theme::MUTED),
        );
        return;
    }
    // A cluster's log is every node's: which node ran it is a column of its own.
    let with_node = entries.iter().any(|e| e.node.is_some());
    let mut table = TableBuilder::new(ui).id_salt("slow_log").striped(true);
    if with_node {
        table = table.column(Column::auto().at_least(110.0));
    }
    table
        .column(Column::auto().at_least(40.0))
        .column(Column::auto().at_least(80.0))
        .column(Column::auto().at_least(80.0))
        .column(Column::remainder().at_least(200.0).clip(true))
        .column(Column::auto().at_least(120.0))
        .header(theme::ROW_HEIGHT, |mut h| {
            let titles = ["Node", "Id", "Time", "Duration", "Command", "Client"];
            for title in &titles[usize::from(!with_node)..] {
                h.col(|ui| {
                    ui.strong(*title);
                });
            }
        })
        .body(|body| {
            body.rows(theme::ROW_HEIGHT, entries.len(), |mut row| {
                let e: &SlowLogEntry = &entries[row.index()];
                if with_node {
                    row.col(|ui| {
                        cell(ui, e.node.as_deref().unwrap_or_default());
                    });
                }
                row.col(|ui| {
                    cell(ui, &e.id.to_string());
                });
                row.col(|ui| {
                    cell(ui, &wall_clock(e.at_unix));
                });
                row.col(|ui| {
                    cell(ui, &duration(e.duration_us));
                });
                row.col(|ui| {
                    let command: Vec<String> = e.args.iter().map(|a| escape_bytes(a)).collect();
                    ui.monospace(command.join(" "));
                });
                row.col(|ui| {
                    let who = if e.client_name.is_empty() {
                        e.client.clone()
                    } else {
                        format!("{} ({})", e.client, e.client_name)
                    };
                    ui.monospace(who);
                });
            });
        });
}

/// The client list's columns: field name and title.
const COLUMNS: [(&str, &str); 7] = [
    ("id", "Id"),
    ("addr", "Address"),
    ("name", "Name"),
    ("user", "User"),
    ("db", "Db"),
    ("age", "Age (s)"),
    ("idle", "Idle (s)"),
];

fn clients_ui(ui: &mut egui::Ui, view: &mut ServerInfoView, write: bool, request: &mut Request) {
    ui.horizontal(|ui| {
        let l = ui.label("Find client");
        ui.add(egui::TextEdit::singleline(&mut view.client_filter).desired_width(200.0))
            .labelled_by(l.id);
    });
    let needle = view.client_filter.to_ascii_lowercase();
    let Some(clients) = loaded(ui, &view.clients) else {
        return;
    };
    let shown: Vec<&ClientInfo> = clients
        .iter()
        .filter(|c| {
            needle.is_empty()
                || c.fields
                    .iter()
                    .any(|(_, v)| v.to_ascii_lowercase().contains(&needle))
        })
        .collect();
    ui.label(
        egui::RichText::new(format!("{} of {} clients", shown.len(), clients.len()))
            .color(theme::MUTED),
    );
    let with_node = clients.iter().any(|c| c.node.is_some());
    let mut table = TableBuilder::new(ui).id_salt("clients").striped(true);
    if with_node {
        table = table.column(Column::auto().at_least(110.0));
    }
    table
        .columns(Column::auto().at_least(40.0), COLUMNS.len())
        .column(Column::auto().at_least(90.0))
        .column(Column::remainder().at_least(70.0))
        .header(theme::ROW_HEIGHT, |mut h| {
            if with_node {
                h.col(|ui| {
                    ui.strong("Node");
                });
            }
            for (_, title) in COLUMNS {
                h.col(|ui| {
                    ui.strong(title);
                });
            }
            h.col(|ui| {
                ui.strong("Last command");
            });
            h.col(|_| {});
        })
        .body(|body| {
            body.rows(theme::ROW_HEIGHT, shown.len(), |mut row| {
                let c = shown[row.index()];
                if with_node {
                    row.col(|ui| {
                        cell(ui, c.node.as_deref().unwrap_or_default());
                    });
                }
                for (field, _) in COLUMNS {
                    row.col(|ui| {
                        cell(ui, c.field(field));
                    });
                }
                row.col(|ui| {
                    cell(ui, c.field("cmd"));
                });
                row.col(|ui| {
                    if c.own {
                        ui.label(egui::RichText::new("this app").color(theme::MUTED));
                    } else {
                        let kill = ui
                            .add_enabled(write, egui::Button::new("Kill").small())
                            .on_hover_text(format!("Disconnect client {}", c.id))
                            .on_disabled_hover_text("This profile is read-only");
                        if kill.clicked() {
                            request.kill = Some(c.clone());
                        }
                    }
                });
            });
        });
}

/// A table cell on one line: columns grow to fit rather than wrap an address in two.
fn cell(ui: &mut egui::Ui, text: &str) -> egui::Response {
    ui.add(egui::Label::new(egui::RichText::new(text).monospace()).extend())
}

/// Local wall-clock date and time of a Unix-seconds value.
fn wall_clock(secs: u64) -> String {
    let ms = i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    super::local_time(ms, "%Y-%m-%d %H:%M:%S")
}

/// `850 µs`, `12.4 ms`, `3.20 s`.
#[allow(clippy::cast_precision_loss)]
fn duration(us: u64) -> String {
    if us < 1000 {
        format!("{us} µs")
    } else if us < 1_000_000 {
        format!("{:.1} ms", us as f64 / 1000.0)
    } else {
        format!("{:.2} s", us as f64 / 1e6)
    }
}
