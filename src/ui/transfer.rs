//! The export dialog (which profiles, with or without their passwords) and the import preview
//! (each incoming profile, what happens to it when its name is taken, where the passwords it
//! brings go), drawn from [`ExportDialog`] and [`ImportPreview`].

use crate::config::secrets::StoreKind;
use crate::config::transfer::{Conflict, Step};
use crate::state::{Action, AppState};

use super::{Actions, DialogPurpose, theme};

/// The export dialog: profiles ticked, passwords sealed or left out, then the file.
pub fn export_ui(ctx: &egui::Context, state: &mut AppState, actions: &mut Actions) {
    let names: Vec<String> = state
        .profiles
        .profiles()
        .iter()
        .map(|p| p.name.clone())
        .collect();
    let Some(dialog) = &mut state.export_dialog else {
        return;
    };
    let mut pick = false;
    let mut cancel = false;
    let modal = egui::Modal::new(egui::Id::unique("export_profiles")).show(ctx, |ui| {
        ui.set_width(520.0);
        ui.heading("Export profiles");
        ui.label("The file holds the ticked profiles: addresses, users, SSH and TLS settings.");
        ui.horizontal(|ui| {
            if ui.button("All").clicked() {
                dialog.chosen.clone_from(&names);
            }
            if ui.button("None").clicked() {
                dialog.chosen.clear();
            }
            ui.weak(format!("{} of {} ticked", dialog.chosen.len(), names.len()));
        });
        egui::ScrollArea::vertical()
            .max_height(260.0)
            .show(ui, |ui| {
                for name in &names {
                    let mut ticked = dialog.chosen.contains(name);
                    if ui.checkbox(&mut ticked, name).changed() {
                        if ticked {
                            dialog.chosen.push(name.clone());
                        } else {
                            dialog.chosen.retain(|n| n != name);
                        }
                    }
                }
            });
        ui.separator();
        ui.checkbox(
            &mut dialog.with_secrets,
            "Include remembered passwords, sealed with a passphrase",
        );
        // The passphrase rows are always there (greyed while unticked), so ticking the box
        // moves nothing under the pointer.
        ui.add_enabled_ui(dialog.with_secrets, |ui| {
            let l = ui.label("Passphrase (the importer types it)");
            ui.add(egui::TextEdit::singleline(&mut dialog.passphrase).password(true))
                .labelled_by(l.id);
            let l = ui.label("Passphrase again");
            ui.add(egui::TextEdit::singleline(&mut dialog.confirm).password(true))
                .labelled_by(l.id);
        });
        ui.weak(if dialog.with_secrets {
            "The passwords go in the file encrypted (age, scrypt); the importer types this."
        } else {
            "Passwords are left out: the importer is asked for them at connect."
        });
        // One line kept for the problem, so the buttons never move under the pointer.
        match &dialog.error {
            Some(e) => ui.colored_label(ui.visuals().error_fg_color, e),
            None => ui.label(""),
        };
        ui.horizontal(|ui| {
            pick = ui.button("Export…").clicked();
            cancel = ui.button("Cancel").clicked();
        });
    });
    // Escape (or a click beside the dialog) cancels, as in every other dialog.
    cancel |= modal.should_close();
    if cancel {
        actions.push(Action::CancelExport);
    } else if pick && state.export_ready() {
        actions.pick_file(DialogPurpose::ProfilesExport);
    }
}

/// The import preview: nothing is merged until *Import* is clicked.
pub fn import_ui(ctx: &egui::Context, state: &mut AppState, actions: &mut Actions) {
    let steps = match &state.import_preview {
        Some(preview) => preview.steps(&state.profiles),
        None => return,
    };
    let Some(preview) = &mut state.import_preview else {
        return;
    };
    let mut confirm = false;
    let mut cancel = false;
    let mut open_secrets = false;
    let modal = egui::Modal::new(egui::Id::unique("import_preview")).show(ctx, |ui| {
        ui.set_width(720.0);
        ui.heading("Import profiles");
        ui.label(format!(
            "{} — {}, {} profile(s)",
            preview.file.display(),
            preview.incoming.source.describe(),
            preview.incoming.profiles.len()
        ));
        clash_all_ui(ui, preview, &steps);
        incoming_rows_ui(ui, preview, &steps);
        notes_ui(ui, &preview.incoming.notes);
        ui.separator();
        open_secrets = secrets_ui(ui, preview);
        let adding = steps.iter().filter(|(_, s)| *s != Step::Skip).count();
        ui.horizontal(|ui| {
            confirm = ui
                .add_enabled(
                    adding > 0 && !preview.opening,
                    egui::Button::new(format!("Import {adding}")),
                )
                .clicked();
            cancel = ui.button("Cancel").clicked();
        });
    });
    cancel |= modal.should_close();
    if cancel {
        actions.push(Action::CancelImport);
    } else if confirm {
        actions.push(Action::ConfirmImport);
    } else if open_secrets {
        actions.push(Action::OpenImportSecrets);
    }
}

/// One choice for every taken name at once, when there are several (fifty clashes are not
/// answered one by one).
fn clash_all_ui(
    ui: &mut egui::Ui,
    preview: &mut crate::state::ImportPreview,
    steps: &[(String, Step)],
) {
    let clashes: Vec<usize> = steps
        .iter()
        .enumerate()
        .filter(|(_, (_, step))| *step != Step::Add)
        .map(|(i, _)| i)
        .collect();
    if clashes.len() < 2 {
        return;
    }
    ui.horizontal(|ui| {
        ui.label(format!(
            "{} names are taken. For all of them:",
            clashes.len()
        ));
        for (choice, label) in [
            (Conflict::Skip, "Skip all"),
            (Conflict::Rename, "Rename all"),
            (Conflict::Replace, "Replace all"),
        ] {
            if ui.button(label).clicked() {
                for &i in &clashes {
                    if let Some(c) = preview.choices.get_mut(i) {
                        *c = choice;
                    }
                }
            }
        }
    });
}

/// One row per incoming profile: its name, where it points, and what happens to it.
fn incoming_rows_ui(
    ui: &mut egui::Ui,
    preview: &mut crate::state::ImportPreview,
    steps: &[(String, Step)],
) {
    egui::ScrollArea::vertical()
        .max_height(280.0)
        .show(ui, |ui| {
            egui::Grid::new("import_rows")
                .num_columns(3)
                .striped(true)
                .show(ui, |ui| {
                    ui.strong("Profile");
                    ui.strong("Connects to");
                    ui.strong("On import");
                    ui.end_row();
                    for (i, profile) in preview.incoming.profiles.iter().enumerate() {
                        ui.label(&profile.name);
                        let mut url = profile.connection.display_url();
                        if let Some(ssh) = &profile.ssh {
                            url = format!("{url} ({})", ssh.label());
                        }
                        ui.label(crate::core::format::middle_ellipsis(&url, 44).into_owned())
                            .on_hover_text(url);
                        let step = steps.get(i).map(|(_, s)| s);
                        if matches!(step, Some(Step::Add)) {
                            ui.colored_label(theme::OK, "added");
                        } else if let Some(choice) = preview.choices.get_mut(i) {
                            clash_ui(ui, i, &profile.name, choice, step);
                        }
                        ui.end_row();
                    }
                });
        });
}

/// The choice for a name already taken, and what it comes to.
fn clash_ui(ui: &mut egui::Ui, row: usize, name: &str, choice: &mut Conflict, step: Option<&Step>) {
    ui.horizontal(|ui| {
        let l = ui.colored_label(ui.visuals().warn_fg_color, "name taken:");
        egui::ComboBox::from_id_salt(("clash", row))
            .selected_text(match choice {
                Conflict::Skip => "Skip",
                Conflict::Rename => "Rename",
                Conflict::Replace => "Replace",
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(choice, Conflict::Skip, "Skip");
                ui.selectable_value(choice, Conflict::Rename, "Rename");
                ui.selectable_value(choice, Conflict::Replace, "Replace");
            })
            .response
            .labelled_by(l.id)
            .on_hover_text(format!("What to do with `{name}`, which is saved already"));
        match step {
            Some(Step::Rename(to)) => ui.label(format!("as `{to}`")),
            Some(Step::Replace) => ui.label("replaces the saved one"),
            _ => ui.weak("left out"),
        };
    });
}

/// What could not be carried over.
fn notes_ui(ui: &mut egui::Ui, notes: &[String]) {
    if notes.is_empty() {
        return;
    }
    ui.add_space(4.0);
    ui.label(format!("Not carried over ({}):", notes.len()));
    egui::ScrollArea::vertical()
        .id_salt("import_notes")
        .max_height(120.0)
        .show(ui, |ui| {
            for note in notes {
                ui.colored_label(ui.visuals().warn_fg_color, format!("• {note}"));
            }
        });
}

/// Sealed passwords (a passphrase to open them), and where the passwords go. `true` when the
/// user asked to open them.
fn secrets_ui(ui: &mut egui::Ui, preview: &mut crate::state::ImportPreview) -> bool {
    let mut open = false;
    if preview.incoming.sealed.is_some() {
        ui.label("The file holds sealed passwords. Type the passphrase it was exported with:");
        ui.horizontal(|ui| {
            let l = ui.label("Passphrase");
            let r = ui
                .add(egui::TextEdit::singleline(&mut preview.passphrase).password(true))
                .labelled_by(l.id);
            let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            open = ui
                .add_enabled(!preview.opening, egui::Button::new("Open passwords"))
                .clicked()
                || enter;
            if preview.opening {
                ui.spinner();
            }
        });
        match &preview.error {
            Some(e) => ui.colored_label(ui.visuals().error_fg_color, e),
            None => ui.weak("Without it the profiles come in and their passwords are asked for."),
        };
    }
    if !preview.incoming.secrets.is_empty() {
        ui.horizontal(|ui| {
            ui.label(format!(
                "{} password(s) come with it. Keep them:",
                preview.incoming.secrets.len()
            ));
            ui.radio_value(
                &mut preview.secrets_to,
                Some(StoreKind::Keyring),
                "In the OS keyring",
            );
            ui.radio_value(
                &mut preview.secrets_to,
                Some(StoreKind::Vault),
                "In the vault",
            );
            ui.radio_value(&mut preview.secrets_to, None, "Nowhere (ask at connect)");
        });
    }
    open
}
