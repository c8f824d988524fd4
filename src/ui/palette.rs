//! The command palette (Ctrl+K or Ctrl+Shift+P) and the app's keyboard shortcuts, both taken
//! from the one list of commands in `state::palette`: a shortcut shown in the palette and in a
//! button's tooltip is the one that works.

use egui::{Key, KeyboardShortcut, Modifiers};

use super::{Actions, theme};
use crate::state::palette::{Command, Entry, entries};
use crate::state::{Action, AppState};

/// The shortcut of a command (the first of its keys where it has two).
#[must_use]
pub fn shortcut(command: Command) -> KeyboardShortcut {
    let ctrl = Modifiers::COMMAND;
    let ctrl_shift = Modifiers::COMMAND | Modifiers::SHIFT;
    let (modifiers, key) = match command {
        Command::Palette => (ctrl, Key::K),
        Command::Console => (ctrl, Key::Backtick),
        Command::PubSub => (ctrl_shift, Key::U),
        Command::Monitor => (ctrl_shift, Key::M),
        Command::ServerInfo => (ctrl_shift, Key::I),
        Command::Metrics => (ctrl_shift, Key::D),
        Command::MemoryAnalysis => (ctrl_shift, Key::A),
        Command::Namespaces => (ctrl_shift, Key::E),
        Command::Refresh => (Modifiers::NONE, Key::F5),
        Command::NewKey => (ctrl, Key::N),
        Command::DeleteByPattern => (ctrl_shift, Key::Delete),
        Command::FlushDatabase => (ctrl_shift, Key::F),
        Command::Undo => (ctrl, Key::Z),
        Command::AuditLog => (ctrl_shift, Key::L),
        Command::Fleet => (ctrl_shift, Key::O),
        Command::NewProfile => (ctrl_shift, Key::N),
        Command::CloseTab => (ctrl, Key::W),
        Command::NextTab => (ctrl, Key::PageDown),
        Command::PreviousTab => (ctrl, Key::PageUp),
    };
    KeyboardShortcut::new(modifiers, key)
}

/// Second keys: Ctrl+Shift+P for the palette, Ctrl+Tab and Ctrl+Shift+Tab for the tabs.
fn second_shortcut(command: Command) -> Option<KeyboardShortcut> {
    let ctrl = Modifiers::COMMAND;
    match command {
        Command::Palette => Some(KeyboardShortcut::new(ctrl | Modifiers::SHIFT, Key::P)),
        Command::NextTab => Some(KeyboardShortcut::new(ctrl, Key::Tab)),
        Command::PreviousTab => Some(KeyboardShortcut::new(ctrl | Modifiers::SHIFT, Key::Tab)),
        _ => None,
    }
}

/// A command's keys as this platform writes them (`Ctrl+Shift+U`).
#[must_use]
pub fn keys_text(ctx: &egui::Context, command: Command) -> String {
    let mut text = ctx.format_shortcut(&shortcut(command));
    if let Some(second) = second_shortcut(command) {
        text.push_str(" or ");
        text.push_str(&ctx.format_shortcut(&second));
    }
    text
}

/// A button for `command`: its icon and words, its keys in the tooltip.
pub fn command_button(
    ui: &mut egui::Ui,
    icon: theme::MaterialIcon,
    text: &str,
    command: Command,
) -> egui::Response {
    let keys = keys_text(ui.ctx(), command);
    theme::icon_button(ui, icon, text, Some(&keys))
}

/// Every command with a shortcut, checked in this order (longer key combinations first, so
/// Ctrl+Shift+N is not taken for Ctrl+N).
const ALL: &[Command] = &[
    Command::Palette,
    Command::PubSub,
    Command::Monitor,
    Command::ServerInfo,
    Command::Metrics,
    Command::MemoryAnalysis,
    Command::Namespaces,
    Command::DeleteByPattern,
    Command::FlushDatabase,
    Command::AuditLog,
    Command::Fleet,
    Command::NewProfile,
    Command::PreviousTab,
    Command::Console,
    Command::Refresh,
    Command::NewKey,
    Command::Undo,
    Command::CloseTab,
    Command::NextTab,
];

/// The shortcuts pressed this frame, run. While a text field has the keyboard only the
/// palette's and the console's keys act (Ctrl+W, Ctrl+Z, … belong to the field then); while a
/// question is open, none.
pub fn shortcuts_ui(ctx: &egui::Context, state: &AppState, actions: &mut Actions) {
    if ctx.memory(|m| m.top_modal_layer().is_some()) && state.palette.is_none() {
        return;
    }
    let typing = ctx.egui_wants_keyboard_input();
    for &command in ALL {
        if typing && !matches!(command, Command::Palette | Command::Console) {
            continue;
        }
        let pressed = ctx.input_mut(|i| {
            i.consume_shortcut(&shortcut(command))
                || second_shortcut(command).is_some_and(|s| i.consume_shortcut(&s))
        });
        if pressed && (command == Command::Palette || command.available(state)) {
            actions.push(Action::RunCommand(command));
        }
    }
}

fn palette_id() -> egui::Id {
    egui::Id::unique("palette_query")
}

/// The palette, when open: a search field over the entries, the arrow keys to choose, Enter
/// to run, Escape to close.
pub fn palette_ui(ctx: &egui::Context, state: &mut AppState, actions: &mut Actions) {
    let Some(palette) = state.palette.as_ref() else {
        return;
    };
    let found = entries(state, &palette.query);
    let mut selected = palette.selected.min(found.len().saturating_sub(1));
    let mut query = palette.query.clone();
    let (down, up, enter) = ctx.input_mut(|i| {
        (
            i.consume_key(Modifiers::NONE, Key::ArrowDown),
            i.consume_key(Modifiers::NONE, Key::ArrowUp),
            i.consume_key(Modifiers::NONE, Key::Enter),
        )
    });
    if down && !found.is_empty() {
        selected = (selected + 1) % found.len();
    }
    if up && !found.is_empty() {
        selected = (selected + found.len() - 1) % found.len();
    }
    let mut chosen: Option<Entry> = enter.then(|| found.get(selected).cloned()).flatten();
    let modal = egui::Modal::new(egui::Id::unique("palette")).show(ctx, |ui| {
        ui.set_width(560.0);
        let field = ui.add(
            egui::TextEdit::singleline(&mut query)
                .id(palette_id())
                .hint_text("a command, a profile, a tab, or a key to open")
                .desired_width(f32::INFINITY),
        );
        field.widget_info(|| {
            egui::WidgetInfo::labeled(egui::Role::TextInput, true, "Command palette")
        });
        field.request_focus();
        ui.separator();
        for (i, entry) in found.iter().enumerate() {
            let keys = match entry {
                Entry::Run(command) => keys_text(ctx, *command),
                _ => String::new(),
            };
            let label = entry.label(state);
            let row = ui
                .horizontal(|ui| {
                    let r = ui.selectable_label(i == selected, &label);
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        ui.label(egui::RichText::new(keys).color(theme::MUTED).small());
                    });
                    r
                })
                .inner;
            if row.clicked() {
                chosen = Some(entry.clone());
            }
        }
        if found.is_empty() {
            ui.label(egui::RichText::new("Nothing matches").color(theme::MUTED));
        }
    });
    if let Some(p) = state.palette.as_mut() {
        p.selected = if p.query == query { selected } else { 0 };
        p.query = query;
    }
    if let Some(entry) = chosen {
        actions.push(Action::RunEntry(entry));
    } else if modal.should_close() {
        actions.push(Action::TogglePalette);
    }
}
