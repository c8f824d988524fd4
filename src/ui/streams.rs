//! The Pub/Sub and MONITOR windows: what they listen to, the rows as a table that draws only
//! what is in sight (tens of thousands of rows cost a frame nothing more), filter, pause,
//! clear and save.

use egui_extras::{Column, TableBuilder};

use super::{Actions, DialogPurpose, local_time, theme};
use crate::core::cmdline::redacted_line;
use crate::core::escape::escape_bytes;
use crate::core::format::group_digits;
use crate::state::{Rows, Session, SessionAction};

/// The counters under a viewer's controls.
fn counters_ui<T: crate::state::Weigh>(ui: &mut egui::Ui, rows: &Rows<T>, what: &str) {
    ui.horizontal_wrapped(|ui| {
        ui.label(format!(
            "{} {what} received · {} held · {} shown",
            group_digits(rows.received),
            group_digits(rows.held() as u64),
            group_digits(rows.shown() as u64)
        ));
        if rows.evicted > 0 {
            ui.label(format!(
                "· {} older let go (the {} newest are kept)",
                group_digits(rows.evicted),
                group_digits(crate::state::MAX_ROWS as u64)
            ))
            .on_hover_text("A bounded ring keeps memory flat; Save keeps what is shown");
        }
        if rows.lost > 0 {
            ui.colored_label(
                theme::level_color(crate::state::Level::Warning),
                format!(
                    "· {} lost: the app fell behind the server",
                    group_digits(rows.lost)
                ),
            );
        }
        if rows.paused_at.is_some() {
            ui.label(egui::RichText::new("· paused").strong());
        }
    });
}

/// Pause, Clear and Save for a viewer.
fn rows_buttons_ui(
    ui: &mut egui::Ui,
    (conn, profile): (crate::service::ConnId, &str),
    monitor: bool,
    paused: bool,
    actions: &mut Actions,
) {
    let pause = if paused { "Resume" } else { "Pause" };
    if ui
        .button(pause)
        .on_hover_text("Freeze the table; rows still arrive and are counted")
        .clicked()
    {
        actions.session(conn, SessionAction::PauseStream { monitor });
    }
    if ui.button("Clear").clicked() {
        actions.session(conn, SessionAction::ClearStream { monitor });
    }
    if ui
        .button("Save...")
        .on_hover_text("The rows shown, as JSON lines")
        .clicked()
    {
        let kind = if monitor { "monitor" } else { "pubsub" };
        actions.of(conn).pick_file(DialogPurpose::StreamSave {
            conn,
            monitor,
            name: format!("{profile}-{kind}.jsonl"),
        });
    }
}

/// The Pub/Sub window of the shown connection, when open.
pub fn pubsub_ui(ctx: &egui::Context, s: &mut Session, actions: &mut Actions) {
    let conn = s.conn;
    let cluster = s.capabilities.as_ref().is_some_and(|c| c.nodes);
    let writable = s.writable();
    let profile = s.profile.name.clone();
    let title = format!("Pub/Sub · {profile}");
    let Some(view) = s.pubsub.as_mut() else {
        return;
    };
    view.refilter_if_changed();
    let mut open = true;
    egui::Window::new(title)
        .id(egui::Id::unique(("pubsub", conn)))
        .open(&mut open)
        .default_size([900.0, 560.0])
        .min_height(460.0)
        .default_pos([theme::PROFILES_WIDTH + 80.0, 120.0])
        .show(ctx, |ui| {
            inputs_ui(ui, view, cluster, conn);
            ui.horizontal(|ui| {
                if ui.button("Subscribe").clicked() {
                    actions.session(conn, SessionAction::Subscribe);
                }
                if view.listening.is_some() && ui.button("Stop").clicked() {
                    actions.session(conn, SessionAction::Unsubscribe);
                }
                if let Some(l) = &view.listening {
                    ui.label(format!(
                        "listening: {} channels, {} patterns, {} sharded",
                        l.channels.len(),
                        l.patterns.len(),
                        l.sharded.len()
                    ));
                }
            });
            if let Some(e) = &view.error {
                ui.colored_label(theme::level_color(crate::state::Level::Error), e.as_str());
            }
            if writable {
                ui.horizontal(|ui| {
                    ui.label("Publish on");
                    ui.add(
                        egui::TextEdit::singleline(&mut view.publish_channel)
                            .hint_text("channel")
                            .desired_width(160.0),
                    );
                    ui.add(
                        egui::TextEdit::singleline(&mut view.publish_message)
                            .hint_text("message")
                            .desired_width(300.0),
                    );
                    if cluster {
                        ui.checkbox(&mut view.publish_sharded, "sharded");
                    }
                    if ui.button("Publish").clicked() {
                        actions.session(conn, SessionAction::Publish);
                    }
                });
            }
            ui.separator();
            ui.horizontal(|ui| {
                ui.label("Filter");
                ui.add(
                    egui::TextEdit::singleline(&mut view.filter)
                        .hint_text("channel or payload")
                        .desired_width(220.0),
                );
                let paused = view.rows.paused_at.is_some();
                rows_buttons_ui(ui, (conn, &profile), false, paused, actions);
            });
            counters_ui(ui, &view.rows, "messages");
            messages_table_ui(ui, &view.rows);
        });
    if !open {
        actions.session(conn, SessionAction::ClosePubSub);
    }
}

/// What to subscribe to: channels, patterns and (a cluster) sharded channels.
fn inputs_ui(
    ui: &mut egui::Ui,
    view: &mut crate::state::PubSubView,
    cluster: bool,
    conn: crate::service::ConnId,
) {
    egui::Grid::new(("pubsub_inputs", conn))
        .num_columns(2)
        .show(ui, |ui| {
            ui.label("Channels");
            ui.add(
                egui::TextEdit::singleline(&mut view.channels)
                    .hint_text("orders news")
                    .desired_width(420.0),
            );
            ui.end_row();
            ui.label("Patterns");
            ui.add(
                egui::TextEdit::singleline(&mut view.patterns)
                    .hint_text("cache:* __keyevent@0__:*")
                    .desired_width(420.0),
            );
            ui.end_row();
            if cluster {
                ui.label("Sharded channels");
                ui.add(
                    egui::TextEdit::singleline(&mut view.sharded)
                        .hint_text("each on its slot's node")
                        .desired_width(420.0),
                );
                ui.end_row();
            }
        });
}

fn messages_table_ui(ui: &mut egui::Ui, rows: &Rows<crate::core::model::PubSubMessage>) {
    let row_height = ui.text_style_height(&egui::TextStyle::Monospace) + 4.0;
    TableBuilder::new(ui)
        .striped(true)
        .auto_shrink([false, false])
        .stick_to_bottom(true)
        .column(Column::exact(96.0))
        .column(Column::initial(180.0).at_least(80.0).clip(true))
        .column(Column::initial(110.0).at_least(50.0).clip(true))
        .column(Column::remainder().clip(true))
        .header(20.0, |mut h| {
            for title in ["Time", "Channel", "Pattern", "Payload"] {
                h.col(|ui| {
                    ui.strong(title);
                });
            }
        })
        .body(|body| {
            body.rows(row_height, rows.shown(), |mut row| {
                let Some(m) = rows.get(row.index()) else {
                    return;
                };
                row.col(|ui| {
                    ui.monospace(local_time(m.at_ms, "%H:%M:%S%.3f"));
                });
                row.col(|ui| {
                    let channel = escape_bytes(&m.channel);
                    let text = if m.sharded {
                        format!("{channel} (sharded)")
                    } else {
                        channel
                    };
                    ui.add(egui::Label::new(egui::RichText::new(text).monospace()).truncate());
                });
                row.col(|ui| {
                    let pattern = m
                        .pattern
                        .as_ref()
                        .map(|p| escape_bytes(p))
                        .unwrap_or_default();
                    ui.add(egui::Label::new(egui::RichText::new(pattern).monospace()).truncate());
                });
                row.col(|ui| {
                    ui.add(
                        egui::Label::new(egui::RichText::new(&m.preview).monospace()).truncate(),
                    )
                    .on_hover_text(format!("{} bytes", m.payload.len()));
                });
            });
        });
}

/// The MONITOR window of the shown connection, when open.
pub fn monitor_ui(ctx: &egui::Context, s: &mut Session, actions: &mut Actions) {
    let conn = s.conn;
    let cluster = s.capabilities.as_ref().is_some_and(|c| c.nodes);
    let profile = s.profile.name.clone();
    let nodes: Vec<(String, bool)> = s.console.nodes.clone();
    let Some(view) = s.monitor.as_mut() else {
        return;
    };
    view.refilter_if_changed();
    let mut open = true;
    egui::Window::new(format!("MONITOR · {profile}"))
        .id(egui::Id::unique(("monitor", conn)))
        .open(&mut open)
        .default_size([960.0, 560.0])
        .min_height(460.0)
        .default_pos([theme::PROFILES_WIDTH + 100.0, 140.0])
        .show(ctx, |ui| {
            ui.colored_label(
                theme::level_color(crate::state::Level::Warning),
                "MONITOR makes the server send every command it runs to this app: on a busy \
                 server that can cut its throughput by half or more. Run it briefly; it stops \
                 when this window closes.",
            );
            ui.horizontal(|ui| {
                if cluster {
                    let shown = if view.nodes.is_empty() {
                        "every primary".to_owned()
                    } else {
                        view.nodes.join(", ")
                    };
                    egui::ComboBox::from_id_salt(("monitor_nodes", conn))
                        .selected_text(format!("Nodes: {shown}"))
                        .show_ui(ui, |ui| {
                            if ui
                                .selectable_label(view.nodes.is_empty(), "Every primary")
                                .clicked()
                            {
                                view.nodes.clear();
                            }
                            for (node, primary) in &nodes {
                                let label = if *primary {
                                    node.clone()
                                } else {
                                    format!("{node} (replica)")
                                };
                                let chosen = view.nodes == [node.clone()];
                                if ui.selectable_label(chosen, label).clicked() {
                                    view.nodes = vec![node.clone()];
                                }
                            }
                        });
                }
                if view.running {
                    if ui.button("Stop").clicked() {
                        actions.session(conn, SessionAction::StopMonitor);
                    }
                    ui.spinner();
                } else if ui.button("Start").clicked() {
                    actions.session(conn, SessionAction::StartMonitor);
                }
            });
            if let Some(e) = &view.error {
                ui.colored_label(theme::level_color(crate::state::Level::Error), e.as_str());
            }
            ui.separator();
            ui.horizontal(|ui| {
                ui.label("Command");
                ui.add(
                    egui::TextEdit::singleline(&mut view.command_filter)
                        .hint_text("get")
                        .desired_width(90.0),
                );
                ui.label("Key");
                ui.add(
                    egui::TextEdit::singleline(&mut view.key_filter)
                        .hint_text("user:")
                        .desired_width(140.0),
                );
                ui.label("Client");
                ui.add(
                    egui::TextEdit::singleline(&mut view.client_filter)
                        .hint_text("10.0.0.")
                        .desired_width(140.0),
                );
                let paused = view.rows.paused_at.is_some();
                rows_buttons_ui(ui, (conn, &profile), true, paused, actions);
            });
            counters_ui(ui, &view.rows, "commands");
            commands_table_ui(ui, &view.rows, cluster);
        });
    if !open {
        actions.session(conn, SessionAction::CloseMonitor);
    }
}

/// A MONITOR time (Unix seconds with microseconds) as local time.
fn monitor_time(at: &str) -> String {
    let (secs, fraction) = at.split_once('.').unwrap_or((at, "0"));
    let millis: i64 = format!("{fraction:0<3}")
        .get(..3)
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let ms = secs.parse::<i64>().unwrap_or(0).saturating_mul(1000) + millis;
    local_time(ms, "%H:%M:%S%.3f")
}

fn commands_table_ui(
    ui: &mut egui::Ui,
    rows: &Rows<crate::core::model::MonitorLine>,
    cluster: bool,
) {
    let row_height = ui.text_style_height(&egui::TextStyle::Monospace) + 4.0;
    let mut table = TableBuilder::new(ui)
        .striped(true)
        .auto_shrink([false, false])
        .stick_to_bottom(true)
        .column(Column::exact(96.0));
    if cluster {
        table = table.column(Column::initial(130.0).clip(true));
    }
    table
        .column(Column::initial(150.0).clip(true))
        .column(Column::exact(30.0))
        .column(Column::remainder().clip(true))
        .header(20.0, |mut h| {
            let titles: &[&str] = if cluster {
                &["Time", "Node", "Client", "DB", "Command"]
            } else {
                &["Time", "Client", "DB", "Command"]
            };
            for title in titles {
                h.col(|ui| {
                    ui.strong(*title);
                });
            }
        })
        .body(|body| {
            body.rows(row_height, rows.shown(), |mut row| {
                let Some(l) = rows.get(row.index()) else {
                    return;
                };
                row.col(|ui| {
                    ui.monospace(monitor_time(&l.at));
                });
                if cluster {
                    row.col(|ui| {
                        ui.monospace(l.node.as_deref().unwrap_or_default());
                    });
                }
                row.col(|ui| {
                    ui.add(egui::Label::new(egui::RichText::new(&l.client).monospace()).truncate());
                });
                row.col(|ui| {
                    ui.monospace(&l.db);
                });
                row.col(|ui| {
                    ui.add(
                        egui::Label::new(egui::RichText::new(redacted_line(&l.args)).monospace())
                            .truncate(),
                    );
                });
            });
        });
}
