//! The namespace census window: every key the browser's pattern matches counted into its
//! namespaces (no key kept), shown as a tree opened a level at a time; a namespace's keys are
//! listed in the browser with *Browse*.

use super::{Actions, theme};
use crate::core::census::{Census, Namespace, NsId};
use crate::core::escape::escape_bytes;
use crate::core::format::group_digits;
use crate::state::census::{CensusView, SHOWN_CHILDREN};
use crate::state::{Level, Session, SessionAction};

/// The census window of the shown connection, when open.
pub fn census_ui(ctx: &egui::Context, s: &mut Session, actions: &mut Actions) {
    let mut acts = actions.of(s.conn);
    let title = format!("Namespaces · {}", s.profile.name);
    let pattern = if s.browser.pattern.trim().is_empty() {
        "*".to_owned()
    } else {
        s.browser.pattern.trim().to_owned()
    };
    let Some(view) = s.census.as_mut() else {
        return;
    };
    let mut open = true;
    let mut asked: Vec<SessionAction> = Vec::new();
    let mut toggles: Vec<NsId> = Vec::new();
    egui::Window::new(title)
        .id(egui::Id::unique("namespace_census"))
        .open(&mut open)
        .default_size([720.0, 600.0])
        .default_pos([theme::PROFILES_WIDTH + 120.0, 150.0])
        .show(ctx, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.label(format!(
                    "Counts every key `{pattern}` matches into its namespaces; no key is kept, \
                     so the whole keyspace fits however big."
                ));
                if view.running {
                    if ui.button("Cancel").clicked() {
                        asked.push(SessionAction::CancelCensus);
                    }
                } else if ui.button("Count").clicked() {
                    asked.push(SessionAction::StartCensus);
                }
            });
            if let Some(e) = &view.error {
                ui.colored_label(theme::level_color(Level::Error), e);
            }
            if let Some((keys, progress)) = view.progress {
                #[expect(clippy::cast_possible_truncation, reason = "a share, 0 to 1")]
                let bar = egui::ProgressBar::new(progress as f32)
                    .text(format!(
                        "{} keys counted · {:.0} % of the keyspace visited",
                        group_digits(keys),
                        progress * 100.0
                    ))
                    .animate(true);
                ui.add(bar);
            }
            if let Some(census) = view.census.as_deref() {
                summary_ui(ui, census, view);
                ui.separator();
                egui::ScrollArea::vertical()
                    .auto_shrink([false, false])
                    .show(ui, |ui| tree_ui(ui, census, view, &mut toggles, &mut asked));
            }
        });
    for id in toggles {
        view.toggle(id);
    }
    if !open {
        acts.ask(SessionAction::CloseCensus);
        return;
    }
    for action in asked {
        acts.ask(action);
    }
}

fn summary_ui(ui: &mut egui::Ui, census: &Census, view: &CensusView) {
    let cut = if view.cancelled {
        " (cancelled: what was counted before)"
    } else {
        ""
    };
    ui.label(format!(
        "{} keys in {} namespaces{cut} · the tree takes {}",
        group_digits(census.keys()),
        group_digits(census.namespaces() as u64),
        crate::core::metrics::bytes(census.heap_bytes() as f64)
    ));
}

#[expect(clippy::cast_precision_loss, reason = "a share for people")]
fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        return String::new();
    }
    format!("{:.1} %", part as f64 * 100.0 / whole as f64)
}

/// The rows of the open tree, depth first.
fn tree_ui(
    ui: &mut egui::Ui,
    census: &Census,
    view: &CensusView,
    toggles: &mut Vec<NsId>,
    asked: &mut Vec<SessionAction>,
) {
    let total = census.keys();
    if let Some(root) = census.namespace(0) {
        rest_rows(ui, 0, &root, total);
    }
    // References into the view: a frame copies no namespace.
    let mut stack: Vec<(usize, &Namespace)> = view.top.iter().rev().map(|n| (0, n)).collect();
    while let Some((depth, ns)) = stack.pop() {
        let children = view.open.get(&ns.id);
        namespace_row(ui, depth, ns, total, children.is_some(), toggles, asked);
        if let Some(children) = children {
            rest_rows(ui, depth + 1, ns, total);
            if ns.children as usize > children.len() {
                indented(ui, depth + 1, |ui| {
                    ui.label(
                        egui::RichText::new(format!(
                            "and {} more namespaces (the {SHOWN_CHILDREN} with the most keys are shown)",
                            group_digits(u64::from(ns.children) - children.len() as u64)
                        ))
                        .color(theme::MUTED),
                    );
                });
            }
            for child in children.iter().rev() {
                stack.push((depth + 1, child));
            }
        }
    }
}

fn indented(ui: &mut egui::Ui, depth: usize, add: impl FnOnce(&mut egui::Ui)) {
    ui.horizontal(|ui| {
        #[expect(clippy::cast_precision_loss, reason = "a small depth")]
        ui.add_space(depth as f32 * theme::TREE_INDENT * 1.5);
        add(ui);
    });
}

/// The keys directly in a namespace, and those in namespaces not itemised.
fn rest_rows(ui: &mut egui::Ui, depth: usize, ns: &Namespace, total: u64) {
    if ns.direct > 0 {
        indented(ui, depth, |ui| {
            ui.label(
                egui::RichText::new(format!(
                    "{} keys directly here ({})",
                    group_digits(ns.direct),
                    share(ns.direct, total)
                ))
                .color(theme::MUTED),
            );
        });
    }
    if ns.unlisted > 0 {
        indented(ui, depth, |ui| {
            ui.label(
                egui::RichText::new(format!(
                    "{} keys in more namespaces than are itemised ({}): Browse lists them",
                    group_digits(ns.unlisted),
                    share(ns.unlisted, total)
                ))
                .color(theme::MUTED),
            );
        });
    }
}

fn namespace_row(
    ui: &mut egui::Ui,
    depth: usize,
    ns: &Namespace,
    total: u64,
    open: bool,
    toggles: &mut Vec<NsId>,
    asked: &mut Vec<SessionAction>,
) {
    indented(ui, depth, |ui| {
        let name = escape_bytes(&ns.prefix);
        let openable = ns.children > 0 || ns.unlisted > 0 || ns.direct > 0;
        let (icon, verb) = if open {
            (theme::ICON_EXPAND_MORE, "Close")
        } else {
            (theme::ICON_CHEVRON_RIGHT, "Open")
        };
        if openable && theme::icon_only(ui, icon, &format!("{verb} {name}")).clicked() {
            toggles.push(ns.id);
        }
        ui.label(egui::RichText::new(&name).monospace().strong());
        ui.label(format!(
            "{} keys · {}",
            group_digits(ns.keys),
            share(ns.keys, total)
        ));
        if ns.children > 0 {
            ui.label(
                egui::RichText::new(format!(
                    "{} namespaces",
                    group_digits(u64::from(ns.children))
                ))
                .color(theme::MUTED),
            );
        }
        if ui
            .small_button("Browse")
            .on_hover_text(format!("List the keys under {name} in the browser"))
            .clicked()
        {
            asked.push(SessionAction::BrowseNamespace(name.clone()));
        }
    });
}
