//! The profiles panel, the profile form and the profile dialogs.

use super::{Actions, DialogPurpose, theme};
use crate::state::{Action, AppState, FormKind, PasswordMode, TestStatus};

/// The list of saved profiles with its actions.
pub fn profiles_ui(ui: &mut egui::Ui, state: &mut AppState, actions: &mut Actions) {
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        ui.strong("Profiles");
        if ui.button("+ New profile").clicked() {
            actions.push(Action::NewProfile);
        }
    });
    if ui
        .small_button("Import .env...")
        .on_hover_text("Create profiles from a Laravel/DreamFactory .env file")
        .clicked()
    {
        actions.pick_file(DialogPurpose::EnvFile);
    }
    ui.separator();
    let names: Vec<(
        String,
        String,
        Option<crate::config::profiles::ColorTag>,
        bool,
    )> = state
        .profiles
        .profiles()
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                p.connection.display_url(),
                p.color,
                p.read_only,
            )
        })
        .collect();
    if names.is_empty() {
        ui.label(egui::RichText::new("No profiles yet.").color(theme::MUTED));
    }
    let mut connect = None;
    egui::ScrollArea::vertical()
        .max_height(ui.available_height() - 70.0)
        .show(ui, |ui| {
            for (name, url, color, read_only) in &names {
                let selected = state.selected_profile.as_deref() == Some(name.as_str());
                let response = ui
                    .horizontal(|ui| {
                        // The colour tag as a small swatch before the name.
                        let (rect, _) =
                            ui.allocate_exact_size(egui::vec2(6.0, 14.0), egui::Sense::hover());
                        if let Some(c) = color {
                            ui.painter().rect_filled(rect, 1.0, theme::tag_color(*c));
                        }
                        let r = ui.selectable_label(selected, name).on_hover_text(url);
                        if *read_only {
                            ui.label(egui::RichText::new("read-only").small().color(theme::MUTED));
                        }
                        r
                    })
                    .inner;
                // The highlight is this list's own state: it moves at once.
                if response.clicked() {
                    state.selected_profile = Some(name.clone());
                }
                if response.double_clicked() {
                    connect = Some(name.clone());
                }
            }
        });
    if let Some(name) = state.selected_profile.clone()
        && state.profiles.get(&name).is_some()
    {
        ui.separator();
        ui.horizontal_wrapped(|ui| {
            if ui.button("Connect").clicked() {
                connect = Some(name.clone());
            }
            if ui.button("Edit").clicked() {
                actions.push(Action::EditProfile(name.clone()));
            }
            if ui.button("Clone").clicked() {
                actions.push(Action::DuplicateProfile(name.clone()));
            }
            if ui.button("Delete").clicked() {
                actions.push(Action::AskDeleteProfile(name.clone()));
            }
            if name == crate::config::demo::DEMO_PROFILE && ui.button("Reset demo data").clicked() {
                actions.push(Action::ResetDemo);
            }
        });
    }
    if let Some(name) = connect {
        actions.push(Action::Connect(name));
    }
}

fn labelled_text(ui: &mut egui::Ui, label: &str, text: &mut String, hint: &str) -> egui::Response {
    let l = ui.label(label);
    let r = ui
        .add(
            egui::TextEdit::singleline(text)
                .hint_text(hint)
                .desired_width(260.0),
        )
        .labelled_by(l.id);
    ui.end_row();
    r
}

/// The rows every kind of profile has: timeouts, pattern, delimiter, safety.
fn shared_rows(ui: &mut egui::Ui, form: &mut crate::state::ProfileForm) {
    labelled_text(
        ui,
        "Connect timeout (ms)",
        &mut form.connect_timeout_ms,
        "5000",
    );
    labelled_text(
        ui,
        "Command timeout (ms)",
        &mut form.command_timeout_ms,
        "10000",
    );
    labelled_text(ui, "Default pattern", &mut form.default_pattern, "*");
    labelled_text(ui, "Tree delimiter", &mut form.delimiter, ":");
    safety_rows(ui, form);
}

/// Read-only, production and colour tag rows of the profile form.
fn safety_rows(ui: &mut egui::Ui, form: &mut crate::state::ProfileForm) {
    ui.label("Safety");
    ui.horizontal(|ui| {
        ui.checkbox(&mut form.read_only, "Read-only")
            .on_hover_text("Every write through this profile is refused");
        ui.checkbox(&mut form.production, "Production")
            .on_hover_text("Ask before every write");
    });
    ui.end_row();
    let l = ui.label("Colour tag");
    egui::ComboBox::from_id_salt("color_tag")
        .selected_text(form.color.map_or("none", |c| c.name()))
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut form.color, None, "none");
            for c in crate::config::profiles::ColorTag::ALL {
                ui.selectable_value(&mut form.color, Some(c), c.name());
            }
        })
        .response
        .labelled_by(l.id);
    ui.end_row();
}

/// The add/edit form.
#[expect(
    clippy::too_many_lines,
    reason = "an egui layout reads top to bottom as the screen does"
)]
pub fn form_ui(ui: &mut egui::Ui, state: &mut AppState, actions: &mut Actions) {
    let mut browse = false;
    let mut save = false;
    let mut test = false;
    let mut cancel = false;
    let Some(form) = &mut state.form else {
        return;
    };
    ui.heading(if form.original_name.is_some() {
        "Edit profile"
    } else {
        "New profile"
    });
    ui.add_space(6.0);
    egui::ScrollArea::vertical().show(ui, |ui| {
        egui::Grid::new("profile_form")
            .num_columns(2)
            .spacing([12.0, 6.0])
            .show(ui, |ui| {
                labelled_text(ui, "Name", &mut form.name, "e.g. local, staging, prod");
                let l = ui.label("Paste URL");
                ui.horizontal(|ui| {
                    ui.add(
                        egui::TextEdit::singleline(&mut form.url)
                            .hint_text("redis://user:pass@host:6379/0")
                            .desired_width(260.0),
                    )
                    .labelled_by(l.id);
                    if ui.button("Fill from URL").clicked() {
                        form.error = form.apply_url().err();
                    }
                });
                ui.end_row();
                ui.label("Kind");
                ui.horizontal(|ui| {
                    ui.radio_value(&mut form.kind, FormKind::Redis, "Redis");
                    ui.radio_value(&mut form.kind, FormKind::Memcached, "Memcached");
                    ui.radio_value(&mut form.kind, FormKind::File, "File cache");
                    ui.radio_value(&mut form.kind, FormKind::Sql, "Database table");
                });
                ui.end_row();
                if form.kind == FormKind::Sql {
                    labelled_text(
                        ui,
                        "Database URL",
                        &mut form.servers,
                        "postgres://app:${DB_PASSWORD}@db:5432/app?table=cache",
                    );
                    shared_rows(ui, form);
                    return;
                }
                if form.kind == FormKind::File {
                    labelled_text(
                        ui,
                        "Directory",
                        &mut form.servers,
                        "/srv/app/storage/framework/cache/data",
                    );
                    shared_rows(ui, form);
                    return;
                }
                if form.kind == FormKind::Memcached {
                    labelled_text(
                        ui,
                        "Servers",
                        &mut form.servers,
                        "host:11211, host2:11211 or /path.sock",
                    );
                    shared_rows(ui, form);
                    return;
                }
                ui.label("Address");
                ui.horizontal(|ui| {
                    ui.radio_value(&mut form.use_unix, false, "TCP");
                    ui.radio_value(&mut form.use_unix, true, "Unix socket");
                });
                ui.end_row();
                if form.use_unix {
                    labelled_text(
                        ui,
                        "Socket path",
                        &mut form.unix_path,
                        "/run/redis/redis.sock",
                    );
                } else {
                    labelled_text(ui, "Host", &mut form.host, "127.0.0.1");
                    labelled_text(ui, "Port", &mut form.port, "6379");
                    ui.label("TLS");
                    ui.checkbox(&mut form.tls, "Use TLS (rediss://)");
                    ui.end_row();
                    if form.tls {
                        let l = ui.label("CA file");
                        ui.horizontal(|ui| {
                            ui.add(
                                egui::TextEdit::singleline(&mut form.ca_file)
                                    .hint_text("system roots")
                                    .desired_width(200.0),
                            )
                            .labelled_by(l.id);
                            if ui.button("Browse…").clicked() {
                                browse = true;
                            }
                        });
                        ui.end_row();
                    }
                }
                labelled_text(ui, "Username", &mut form.username, "default user");
                ui.label("Password");
                ui.horizontal(|ui| {
                    ui.radio_value(&mut form.password_mode, PasswordMode::None, "None");
                    ui.radio_value(
                        &mut form.password_mode,
                        PasswordMode::Ask,
                        "Ask when connecting",
                    );
                    ui.radio_value(&mut form.password_mode, PasswordMode::Env, "From variable");
                });
                ui.end_row();
                match form.password_mode {
                    PasswordMode::None => {}
                    PasswordMode::Ask => {
                        let l = ui.label("Password (this session)");
                        ui.add(
                            egui::TextEdit::singleline(&mut form.password)
                                .password(true)
                                .hint_text("never saved to disk")
                                .desired_width(260.0),
                        )
                        .labelled_by(l.id);
                        ui.end_row();
                    }
                    PasswordMode::Env => {
                        labelled_text(ui, "Variable", &mut form.env_var, "REDIS_PASSWORD");
                    }
                }
                labelled_text(ui, "Database", &mut form.db, "0");
                shared_rows(ui, form);
            });
        ui.add_space(8.0);
        if let Some(error) = &form.error {
            ui.colored_label(theme::level_color(crate::state::Level::Error), error);
        }
        match &form.test {
            TestStatus::Idle => {}
            TestStatus::Running(_) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Testing the connection…");
                });
            }
            TestStatus::Ok(description) => {
                ui.colored_label(theme::OK, format!("Connection OK: {description}"));
            }
            TestStatus::Failed(reason) => {
                ui.colored_label(
                    theme::level_color(crate::state::Level::Error),
                    format!("Connection failed: {reason}"),
                );
            }
        }
        ui.horizontal(|ui| {
            save = ui.button("Save").clicked();
            test = ui.button("Test connection").clicked();
            cancel = ui.button("Cancel").clicked();
        });
    });
    if browse {
        actions.pick_file(DialogPurpose::CaFile);
    }
    if save {
        actions.push(Action::SaveForm);
    } else if test {
        actions.push(Action::TestForm);
    } else if cancel {
        actions.push(Action::CloseForm);
    }
}

/// The password dialog for profiles that ask when connecting.
pub fn password_prompt_ui(ctx: &egui::Context, state: &mut AppState, actions: &mut Actions) {
    let Some(prompt) = &mut state.password_prompt else {
        return;
    };
    let mut submit = false;
    let mut cancel = false;
    egui::Modal::new(egui::Id::unique("password_prompt")).show(ctx, |ui| {
        ui.heading(format!("Password for {}", prompt.profile));
        ui.label("It is kept in memory for this session only.");
        let l = ui.label("Password");
        let r = ui
            .add(egui::TextEdit::singleline(&mut prompt.text).password(true))
            .labelled_by(l.id);
        if prompt.text.is_empty() && !r.has_focus() {
            r.request_focus();
        }
        // The dialog is modal: Enter anywhere in it connects.
        if ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            submit = true;
        }
        ui.horizontal(|ui| {
            submit |= ui.button("Connect").clicked();
            cancel = ui.button("Cancel").clicked();
        });
    });
    if submit {
        actions.push(Action::SubmitPassword);
    } else if cancel {
        actions.push(Action::CancelPassword);
    }
}

/// Confirmation before a profile is deleted.
pub fn confirm_delete_ui(ctx: &egui::Context, state: &AppState, actions: &mut Actions) {
    let Some(name) = state.confirm_delete.clone() else {
        return;
    };
    let mut delete = false;
    let mut cancel = false;
    egui::Modal::new(egui::Id::unique("confirm_delete")).show(ctx, |ui| {
        ui.heading("Delete profile?");
        ui.label(format!(
            "The profile “{name}” will be removed. The cache itself is not touched."
        ));
        ui.horizontal(|ui| {
            delete = ui.button("Delete profile").clicked();
            cancel = ui.button("Keep it").clicked();
        });
    });
    if delete {
        actions.push(Action::DeleteProfile(name));
    } else if cancel {
        actions.push(Action::KeepProfile);
    }
}
