//! The profiles panel, the profile form and the profile dialogs.

use super::{Actions, DialogPurpose, theme};
use crate::config::secrets::{StoreKind, VaultStatus};
use crate::state::{
    Action, AppState, Field, FormKind, ListEntry, PasswordMode, Problems, ProfileForm,
    SentinelAuthMode, SshAuthMode, TestStatus,
};

/// The list of saved profiles with its actions.
pub fn profiles_ui(ui: &mut egui::Ui, state: &mut AppState, actions: &mut Actions) {
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        ui.strong("Profiles");
        if super::palette::command_button(
            ui,
            theme::ICON_ADD,
            "New profile",
            crate::state::palette::Command::NewProfile,
        )
        .clicked()
        {
            actions.push(Action::NewProfile);
        }
    });
    if theme::icon_button(ui, theme::ICON_UPLOAD_FILE, "Import .env...", None)
        .on_hover_text("Create profiles from a Laravel/DreamFactory .env file")
        .clicked()
    {
        actions.pick_file(DialogPurpose::EnvFile);
    }
    transfer_buttons_ui(ui, actions);
    ui.separator();
    let entries = crate::state::profile_listing(state.profiles.profiles(), &state.profile_search);
    let total = state.profiles.profiles().len();
    if total == 0 {
        ui.label(egui::RichText::new("No profiles yet.").color(theme::MUTED));
    } else {
        ui.horizontal(|ui| {
            ui.label(theme::ICON_SEARCH.rich_text());
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut state.profile_search)
                        .hint_text("Search profiles")
                        .desired_width(f32::INFINITY),
                )
                .on_hover_text("Name, group or address; every word must match");
            r.widget_info(|| {
                egui::WidgetInfo::labeled(egui::Role::TextInput, true, "Search profiles")
            });
        });
        if entries.is_empty() {
            ui.label(
                egui::RichText::new(format!("No profile matches `{}`.", state.profile_search))
                    .color(theme::MUTED),
            );
        }
    }
    let searching = !state.profile_search.trim().is_empty();
    let mut connect = None;
    egui::ScrollArea::vertical()
        .max_height(ui.available_height() - 70.0)
        .show(ui, |ui| {
            for entry in &entries {
                match entry {
                    ListEntry::Profile(name) => {
                        profile_row_ui(ui, state, name, &mut connect, actions);
                    }
                    ListEntry::Group { name, profiles } => {
                        // A search opens every group it found something in.
                        egui::CollapsingHeader::new(
                            egui::RichText::new(format!("{name} ({})", profiles.len())).strong(),
                        )
                        .id_salt(("profile_group", name))
                        .default_open(true)
                        .open(searching.then_some(true))
                        .show(ui, |ui| {
                            for profile in profiles {
                                profile_row_ui(ui, state, profile, &mut connect, actions);
                            }
                        });
                    }
                }
            }
        });
    if let Some(name) = state.selected_profile.clone()
        && state.profiles.get(&name).is_some()
    {
        ui.separator();
        ui.horizontal_wrapped(|ui| {
            if theme::icon_button(ui, theme::ICON_LOGIN, "Connect", None).clicked() {
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

/// A labelled text row of the profile form. A field that can be wrong shows its problem beside
/// it (in the same row, so nothing below moves), once it was edited or a save was tried; the
/// message goes as soon as the field is right.
fn field_row(
    ui: &mut egui::Ui,
    form: &mut ProfileForm,
    problems: &Problems,
    row: (&str, Option<Field>, &str),
    text: impl FnOnce(&mut ProfileForm) -> &mut String,
) {
    let (label, field, hint) = row;
    let l = ui.label(label);
    ui.horizontal(|ui| {
        let changed = ui
            .add(
                egui::TextEdit::singleline(text(form))
                    .hint_text(egui::RichText::new(hint).italics())
                    .desired_width(260.0),
            )
            .labelled_by(l.id)
            .changed();
        if let Some(field) = field {
            if changed {
                form.touched.insert(field);
            }
            if form.shows(field)
                && let Some(problem) = problems.get(field)
            {
                ui.colored_label(
                    theme::level_color(crate::state::Level::Error),
                    egui::RichText::new(problem).small(),
                );
            }
        }
    });
    ui.end_row();
}

/// The SSH tunnel rows: off by default; when on, the host, the login, jump hosts and the
/// known-hosts file.
fn ssh_rows(ui: &mut egui::Ui, form: &mut ProfileForm, problems: &Problems) {
    ui.label("SSH tunnel");
    ui.checkbox(&mut form.ssh, "Connect through an SSH host (bastion)")
        .on_hover_text(
            "Every connection goes through the SSH host; addresses above are as that host \
             sees them",
        );
    ui.end_row();
    if !form.ssh {
        return;
    }
    field_row(
        ui,
        form,
        problems,
        (
            "SSH host",
            Some(Field::SshHost),
            "user@bastion:22 or a ~/.ssh/config alias",
        ),
        |f| &mut f.ssh_host,
    );
    ui.label("SSH login");
    ui.horizontal(|ui| {
        ui.radio_value(&mut form.ssh_auth, SshAuthMode::Auto, "Agent or usual keys")
            .on_hover_text(
                "As ssh does: the agent's keys, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa",
            );
        ui.radio_value(&mut form.ssh_auth, SshAuthMode::Agent, "Agent only");
        ui.radio_value(&mut form.ssh_auth, SshAuthMode::Key, "Key file");
        ui.radio_value(&mut form.ssh_auth, SshAuthMode::Password, "Password");
    });
    ui.end_row();
    match form.ssh_auth {
        SshAuthMode::Key => field_row(
            ui,
            form,
            problems,
            ("SSH key file", Some(Field::SshKey), "~/.ssh/id_ed25519"),
            |f| &mut f.ssh_key,
        ),
        SshAuthMode::Password => field_row(
            ui,
            form,
            problems,
            (
                "SSH password variable",
                Some(Field::SshPasswordEnv),
                "empty: ask when connecting",
            ),
            |f| &mut f.ssh_password_env,
        ),
        SshAuthMode::Auto | SshAuthMode::Agent => {}
    }
    field_row(
        ui,
        form,
        problems,
        (
            "Jump hosts",
            Some(Field::SshJumps),
            "none, or user@jump:22, …",
        ),
        |f| &mut f.ssh_jumps,
    );
    field_row(
        ui,
        form,
        problems,
        ("Known hosts file", None, "~/.ssh/known_hosts"),
        |f| &mut f.ssh_known_hosts,
    );
}

/// The rows every kind of profile has: the SSH tunnel (where there is a network), timeouts,
/// pattern, delimiter, safety.
fn shared_rows(ui: &mut egui::Ui, form: &mut ProfileForm, problems: &Problems) {
    if form.kind != FormKind::File {
        ssh_rows(ui, form, problems);
    }
    field_row(
        ui,
        form,
        problems,
        ("Connect timeout (ms)", Some(Field::ConnectTimeout), "5000"),
        |f| &mut f.connect_timeout_ms,
    );
    field_row(
        ui,
        form,
        problems,
        ("Command timeout (ms)", Some(Field::CommandTimeout), "10000"),
        |f| &mut f.command_timeout_ms,
    );
    field_row(ui, form, problems, ("Default pattern", None, "*"), |f| {
        &mut f.default_pattern
    });
    field_row(ui, form, problems, ("Tree delimiter", None, ":"), |f| {
        &mut f.delimiter
    });
    field_row(
        ui,
        form,
        problems,
        (
            "Group",
            Some(Field::Group),
            "a folder in the list; empty: top level",
        ),
        |f| &mut f.group,
    );
    safety_rows(ui, form);
}

/// *Import profiles…* and *Export profiles…*.
fn transfer_buttons_ui(ui: &mut egui::Ui, actions: &mut Actions) {
    ui.horizontal_wrapped(|ui| {
        if theme::icon_button(ui, theme::ICON_FILE_OPEN, "Import profiles...", None)
            .on_hover_text(
                "Profiles from a Cache Console export, Tiny RDM, RedisInsight, Another Redis \
                 Desktop Manager, RESP.app, or a list of redis:// URLs; previewed first",
            )
            .clicked()
        {
            actions.pick_file(DialogPurpose::ProfilesImport);
        }
        if theme::icon_button(ui, theme::ICON_FILE_SAVE, "Export profiles...", None)
            .on_hover_text("Chosen profiles to one file; passwords left out or sealed")
            .clicked()
        {
            actions.push(Action::OpenExport);
        }
    });
}

/// One profile in the list: its colour tag, its name (the address on hover), read-only.
/// A click selects it, a double click connects.
fn profile_row_ui(
    ui: &mut egui::Ui,
    state: &mut AppState,
    name: &str,
    connect: &mut Option<String>,
    actions: &mut Actions,
) {
    let Some(profile) = state.profiles.get(name) else {
        return;
    };
    let url = match &profile.ssh {
        Some(ssh) => format!("{} ({})", profile.connection.display_url(), ssh.label()),
        None => profile.connection.display_url(),
    };
    let (color, read_only) = (profile.color, profile.read_only);
    let selected = state.selected_profile.as_deref() == Some(name);
    let response = ui
        .horizontal(|ui| {
            // The colour tag as a small swatch before the name.
            let (rect, _) = ui.allocate_exact_size(egui::vec2(6.0, 14.0), egui::Sense::hover());
            if let Some(c) = color {
                ui.painter().rect_filled(rect, 1.0, theme::tag_color(c));
            }
            let r = ui.selectable_label(selected, name).on_hover_text(url);
            if read_only {
                ui.label(egui::RichText::new("read-only").small().color(theme::MUTED));
            }
            r
        })
        .inner;
    // The highlight is this list's own state: it moves at once.
    if response.clicked() {
        state.selected_profile = Some(name.to_owned());
    }
    if response.double_clicked() {
        *connect = Some(name.to_owned());
    }
    // Only while the menu is open: the groups are gathered from every profile.
    let profiles = &state.profiles;
    response.context_menu(|ui| {
        let groups = profiles.groups();
        let current = profiles.get(name).and_then(|p| p.group.clone());
        if ui.button("Connect").clicked() {
            *connect = Some(name.to_owned());
        }
        if ui.button("Edit").clicked() {
            actions.push(Action::EditProfile(name.to_owned()));
        }
        if ui.button("Clone").clicked() {
            actions.push(Action::DuplicateProfile(name.to_owned()));
        }
        if ui.button("Delete…").clicked() {
            actions.push(Action::AskDeleteProfile(name.to_owned()));
        }
        ui.separator();
        ui.menu_button("Move to group", |ui| {
            let mut moved = None;
            if current.is_some() && ui.button("Top level (no group)").clicked() {
                moved = Some(None);
            }
            for group in groups.iter().filter(|g| current.as_ref() != Some(*g)) {
                if ui.button(group).clicked() {
                    moved = Some(Some(group.clone()));
                }
            }
            ui.weak("A new group: the profile form's Group row");
            if let Some(group) = moved {
                actions.push(Action::MoveToGroup {
                    profile: name.to_owned(),
                    group,
                });
            }
        });
    });
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

/// The add/edit profile form. Each field says what is wrong with it beside it; "Test
/// connection" runs only on fields that are right, and its result shows while they still
/// describe what was tested; "Save and connect" saves and opens the profile.
#[expect(
    clippy::too_many_lines,
    reason = "an egui layout reads top to bottom as the screen does"
)]
pub fn form_ui(ui: &mut egui::Ui, state: &mut AppState, actions: &mut Actions) {
    let mut browse = false;
    let mut asked = None;
    let profiles = &state.profiles;
    let Some(form) = &mut state.form else {
        return;
    };
    let problems = form.problems(&|n| profiles.get(n).is_some());
    let new = form.original_name.is_none();
    ui.heading(if new { "New profile" } else { "Edit profile" });
    ui.add_space(6.0);
    egui::ScrollArea::vertical().show(ui, |ui| {
        egui::Grid::new("profile_form")
            .num_columns(2)
            .spacing([12.0, 6.0])
            .show(ui, |ui| {
                field_row(
                    ui,
                    form,
                    &problems,
                    ("Name", Some(Field::Name), "e.g. local, staging, prod"),
                    |f| &mut f.name,
                );
                let l = ui.label("Paste URL");
                ui.horizontal(|ui| {
                    if ui
                        .add(
                            egui::TextEdit::singleline(&mut form.url)
                                .hint_text("redis://user:pass@host:6379/0")
                                .desired_width(260.0),
                        )
                        .labelled_by(l.id)
                        .changed()
                    {
                        form.url_error = None;
                    }
                    if ui.button("Fill from URL").clicked() {
                        form.url_error = form.apply_url().err();
                    }
                    if let Some(e) = &form.url_error {
                        ui.colored_label(
                            theme::level_color(crate::state::Level::Error),
                            egui::RichText::new(e).small(),
                        );
                    }
                });
                ui.end_row();
                ui.label("Kind");
                // Two lines (Redis's kinds, then the others): narrow windows keep them all in
                // sight, and a grid row keeps its height.
                ui.vertical(|ui| {
                    ui.horizontal(|ui| {
                        ui.radio_value(&mut form.kind, FormKind::Redis, "Redis");
                        ui.radio_value(&mut form.kind, FormKind::RedisCluster, "Redis Cluster");
                        ui.radio_value(&mut form.kind, FormKind::RedisSentinel, "Redis Sentinel");
                    });
                    ui.horizontal(|ui| {
                        ui.radio_value(&mut form.kind, FormKind::Memcached, "Memcached");
                        ui.radio_value(&mut form.kind, FormKind::File, "File cache");
                        ui.radio_value(&mut form.kind, FormKind::Sql, "Database table");
                        ui.radio_value(
                            &mut form.kind,
                            FormKind::DreamFactory,
                            "DreamFactory cache API",
                        );
                    });
                });
                ui.end_row();
                let target = match form.kind {
                    FormKind::Sql => Some((
                        "Database URL",
                        "postgres://app:${DB_PASSWORD}@db:5432/app?table=cache",
                    )),
                    FormKind::DreamFactory => Some((
                        "Service URL",
                        "dreamfactory+https://df.example.com/api/v2/cache",
                    )),
                    FormKind::File => Some((
                        "Directory",
                        "/srv/app/storage/framework/cache/data (sessions: …/sessions?session_lifetime=120)",
                    )),
                    FormKind::Memcached => {
                        Some(("Servers", "host:11211, host2:11211 or /path.sock"))
                    }
                    FormKind::Redis | FormKind::RedisCluster | FormKind::RedisSentinel => None,
                };
                if let Some((label, hint)) = target {
                    field_row(
                        ui,
                        form,
                        &problems,
                        (label, Some(Field::Target), hint),
                        |f| &mut f.servers,
                    );
                    if form.kind == FormKind::DreamFactory {
                        password_rows(ui, form, &problems, "API key");
                        discover_rows(ui, form, &mut asked);
                    }
                    shared_rows(ui, form, &problems);
                    return;
                }
                browse = redis_rows(ui, form, &problems);
                shared_rows(ui, form, &problems);
            });
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            if ui
                .button("Save and connect")
                .on_hover_text("Save the profile and open it")
                .clicked()
            {
                asked = Some(Action::SaveFormAndConnect);
            }
            if ui.button("Save").clicked() {
                asked = Some(Action::SaveForm);
            }
            if ui.button("Test connection").clicked() {
                asked = Some(Action::TestForm);
            }
            if ui.button("Cancel").clicked() {
                asked = Some(Action::CloseForm);
            }
        });
        // What a click said goes below the buttons, so the buttons never move under the pointer.
        if let Some(error) = &form.error {
            ui.colored_label(theme::level_color(crate::state::Level::Error), error);
        }
        if form.attempted && !problems.is_empty() {
            ui.colored_label(
                theme::level_color(crate::state::Level::Warning),
                "Fix the fields marked in red first.",
            );
        }
        match form.test_result() {
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
    });
    if browse {
        actions.pick_file(DialogPurpose::CaFile);
    }
    if let Some(action) = asked {
        actions.push(action);
    }
}

/// A Sentinel group's rows: the sentinels, the primary's name, the sentinels' login, and
/// whether to browse a replica.
fn sentinel_rows(ui: &mut egui::Ui, form: &mut ProfileForm, problems: &Problems) {
    field_row(
        ui,
        form,
        problems,
        (
            "Sentinels",
            Some(Field::Target),
            "s1:26379, s2:26379, s3:26379",
        ),
        |f| &mut f.servers,
    );
    field_row(
        ui,
        form,
        problems,
        ("Primary name", Some(Field::Master), "mymaster"),
        |f| &mut f.master,
    );
    field_row(ui, form, problems, ("Sentinel user", None, "none"), |f| {
        &mut f.sentinel_user
    });
    ui.label("Sentinel password");
    ui.horizontal(|ui| {
        ui.radio_value(&mut form.sentinel_auth, SentinelAuthMode::None, "None");
        ui.radio_value(
            &mut form.sentinel_auth,
            SentinelAuthMode::Same,
            "Same as the data nodes",
        );
        ui.radio_value(
            &mut form.sentinel_auth,
            SentinelAuthMode::Env,
            "From variable",
        );
    });
    ui.end_row();
    if form.sentinel_auth == SentinelAuthMode::Env {
        field_row(
            ui,
            form,
            problems,
            (
                "Sentinel variable",
                Some(Field::SentinelEnv),
                "SENTINEL_PASSWORD",
            ),
            |f| &mut f.sentinel_env,
        );
    }
    ui.label("Node");
    ui.checkbox(
        &mut form.sentinel_replica,
        "Browse a replica (read-only) instead of the primary",
    );
    ui.end_row();
}

/// A cluster's rows: its seed nodes, the address map, where listings read from.
fn cluster_rows(ui: &mut egui::Ui, form: &mut ProfileForm, problems: &Problems) {
    field_row(
        ui,
        form,
        problems,
        (
            "Seed nodes",
            Some(Field::Target),
            "host:7000, host2:7001 (one is enough)",
        ),
        |f| &mut f.servers,
    );
    let l = ui.label("Address map");
    // The problem goes beside the field on one line (the whole text on hover), as for the
    // other fields: a message that came below it would move every row and button under the
    // pointer while the user types.
    ui.horizontal_top(|ui| {
        let changed = ui
            .add(
                egui::TextEdit::multiline(&mut form.address_map)
                    .hint_text("announced=reachable, one per line: 10.0.0.5:6379=127.0.0.1:7001")
                    .desired_rows(2)
                    .desired_width(260.0),
            )
            .labelled_by(l.id)
            .changed();
        if changed {
            form.touched.insert(Field::AddressMap);
        }
        if let Some(problem) = problems.get(Field::AddressMap)
            && form.shows(Field::AddressMap)
        {
            ui.add(
                egui::Label::new(
                    egui::RichText::new(problem)
                        .small()
                        .color(theme::level_color(crate::state::Level::Error)),
                )
                .truncate(),
            )
            .on_hover_text(problem);
        }
    });
    ui.end_row();
    ui.label("Listing");
    ui.checkbox(
        &mut form.scan_replicas,
        "Scan replicas, sparing the primaries",
    );
    ui.end_row();
}

/// The TLS rows. True when "Browse…" was clicked.
fn tls_rows(ui: &mut egui::Ui, form: &mut ProfileForm) -> bool {
    let mut browse = false;
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
    browse
}

/// DreamFactory: *Discover services* with an admin's session token typed here (never saved),
/// and what it found, each service with the profiles it can be reached by.
fn discover_rows(ui: &mut egui::Ui, form: &mut ProfileForm, asked: &mut Option<Action>) {
    let l = ui.label("Admin session token");
    ui.horizontal(|ui| {
        ui.add(
            egui::TextEdit::singleline(&mut form.df_token)
                .password(true)
                .hint_text("to list the instance's services; never saved")
                .desired_width(260.0),
        )
        .labelled_by(l.id);
        if ui
            .button("Discover services")
            .on_hover_text("List the instance's cache services (/api/v2/system/service)")
            .clicked()
        {
            *asked = Some(Action::DiscoverServices);
        }
    });
    ui.end_row();
    let found = match &form.discovery {
        crate::state::Discovery::Idle => return,
        crate::state::Discovery::Running(_) => {
            ui.label("");
            ui.spinner();
            ui.end_row();
            return;
        }
        crate::state::Discovery::Failed(e) => {
            ui.label("");
            ui.colored_label(theme::level_color(crate::state::Level::Error), e);
            ui.end_row();
            return;
        }
        crate::state::Discovery::Found(found) => found,
    };
    ui.label("Cache services");
    ui.vertical(|ui| {
        if found.is_empty() {
            ui.label("none");
        }
        for (index, service) in found.iter().enumerate() {
            ui.horizontal_wrapped(|ui| {
                ui.monospace(&service.name);
                ui.label(
                    egui::RichText::new(format!("{} ({})", service.label, service.kind))
                        .color(theme::MUTED),
                );
                if ui.small_button("Add API profile").clicked() {
                    *asked = Some(Action::AddDiscovered {
                        index,
                        direct: false,
                    });
                }
                if let Some(direct) = &service.direct
                    && ui
                        .small_button("Add direct profile")
                        .on_hover_text(direct.display_url())
                        .clicked()
                {
                    *asked = Some(Action::AddDiscovered {
                        index,
                        direct: true,
                    });
                }
            });
        }
    });
    ui.end_row();
}

/// Where the password comes from, and the password itself when it is typed here.
fn password_rows(ui: &mut egui::Ui, form: &mut ProfileForm, problems: &Problems, what: &str) {
    ui.label(what);
    ui.horizontal_wrapped(|ui| {
        ui.radio_value(&mut form.password_mode, PasswordMode::None, "None");
        ui.radio_value(
            &mut form.password_mode,
            PasswordMode::Ask,
            "Ask when connecting",
        );
        ui.radio_value(
            &mut form.password_mode,
            PasswordMode::Keyring,
            "Remember in OS keyring",
        );
        ui.radio_value(
            &mut form.password_mode,
            PasswordMode::Vault,
            "Remember in vault",
        );
        ui.radio_value(&mut form.password_mode, PasswordMode::Env, "From variable");
    });
    ui.end_row();
    match form.password_mode {
        PasswordMode::None => {}
        PasswordMode::Ask | PasswordMode::Keyring | PasswordMode::Vault => {
            let editing = form.original_name.is_some();
            let (label, hint) = match form.password_mode {
                PasswordMode::Keyring if editing => {
                    ("to remember", "empty: keep the one in the keyring")
                }
                PasswordMode::Keyring => ("to remember", "kept in the OS keyring on save"),
                PasswordMode::Vault if editing => {
                    ("to remember", "empty: keep the one in the vault")
                }
                PasswordMode::Vault => ("to remember", "kept in the vault on save"),
                _ => ("(this session)", "never saved to disk"),
            };
            let l = ui.label(format!("{what} {label}"));
            ui.add(
                egui::TextEdit::singleline(&mut form.password)
                    .password(true)
                    .hint_text(hint)
                    .desired_width(260.0),
            )
            .labelled_by(l.id);
            ui.end_row();
        }
        PasswordMode::Env => {
            field_row(
                ui,
                form,
                problems,
                ("Variable", Some(Field::EnvVar), "REDIS_PASSWORD"),
                |f| &mut f.env_var,
            );
        }
    }
}

/// The Redis rows: address, TLS, user, password, database. True when "Browse…" was clicked.
fn redis_rows(ui: &mut egui::Ui, form: &mut ProfileForm, problems: &Problems) -> bool {
    let mut browse = false;
    let cluster = matches!(form.kind, FormKind::RedisCluster | FormKind::RedisSentinel);
    if form.kind == FormKind::RedisSentinel {
        sentinel_rows(ui, form, problems);
    } else if cluster {
        cluster_rows(ui, form, problems);
    } else {
        ui.label("Address");
        ui.horizontal(|ui| {
            ui.radio_value(&mut form.use_unix, false, "TCP");
            ui.radio_value(&mut form.use_unix, true, "Unix socket");
        });
        ui.end_row();
    }
    if cluster {
        browse = tls_rows(ui, form);
    } else if form.use_unix {
        field_row(
            ui,
            form,
            problems,
            ("Socket path", Some(Field::Socket), "/run/redis/redis.sock"),
            |f| &mut f.unix_path,
        );
    } else {
        field_row(
            ui,
            form,
            problems,
            ("Host", Some(Field::Host), "required: a host name or IP"),
            |f| &mut f.host,
        );
        field_row(
            ui,
            form,
            problems,
            ("Port", Some(Field::Port), "required: 6379 by default"),
            |f| &mut f.port,
        );
        browse = tls_rows(ui, form);
    }
    field_row(
        ui,
        form,
        problems,
        ("Username", None, "default user"),
        |f| &mut f.username,
    );
    password_rows(ui, form, problems, "Password");
    field_row(
        ui,
        form,
        problems,
        ("Database", Some(Field::Db), "0"),
        |f| &mut f.db,
    );
    field_row(
        ui,
        form,
        problems,
        (
            "Key prefix",
            None,
            "keys shown without it (Laravel: laravel_database_laravel_cache:)",
        ),
        |f| &mut f.key_prefix,
    );
    browse
}

/// The password dialog for profiles that ask when connecting.
pub fn password_prompt_ui(ctx: &egui::Context, state: &mut AppState, actions: &mut Actions) {
    let Some(prompt) = &mut state.password_prompt else {
        return;
    };
    let mut submit = false;
    let mut cancel = false;
    egui::Modal::new(egui::Id::unique("password_prompt")).show(ctx, |ui| {
        ui.set_max_width(520.0);
        ui.heading(format!("{} for {}", prompt.what, prompt.profile));
        if let Some(note) = &prompt.note {
            ui.colored_label(ui.visuals().warn_fg_color, note);
        }
        let l = ui.label(prompt.what);
        let r = ui
            .add(egui::TextEdit::singleline(&mut prompt.text).password(true))
            .labelled_by(l.id);
        // Focus once as the dialog opens: asking every frame fights the window system over
        // keyboard focus (on X11 it repaints without end and typing is lost).
        if !prompt.focused {
            r.request_focus();
            prompt.focused = true;
        }
        remember_row(ui, &mut prompt.remember);
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

/// Where a typed secret is kept: this session only, the OS keyring or the vault.
fn remember_row(ui: &mut egui::Ui, remember: &mut Option<StoreKind>) {
    ui.horizontal(|ui| {
        ui.label("Remember:");
        ui.radio_value(remember, None, "This session only");
        ui.radio_value(remember, Some(StoreKind::Keyring), "In the OS keyring");
        ui.radio_value(remember, Some(StoreKind::Vault), "In the vault");
    });
    ui.weak(match remember {
        None => "Kept in memory until the app closes; asked for again next time.",
        Some(StoreKind::Keyring) => {
            "Kept by the system's keyring (Secret Service, Keychain, Credential Manager)."
        }
        Some(StoreKind::Vault) => {
            "Kept in the vault file, encrypted with a passphrase asked once per session."
        }
    });
}

/// The vault's passphrase: asked once per session, twice (to be sure of it) for a new vault.
pub fn vault_prompt_ui(ctx: &egui::Context, state: &mut AppState, actions: &mut Actions) {
    let Some(prompt) = &mut state.vault_prompt else {
        return;
    };
    let mut submit = false;
    let mut cancel = false;
    egui::Modal::new(egui::Id::unique("vault_prompt")).show(ctx, |ui| {
        ui.set_max_width(520.0);
        let creating = prompt.status == Some(VaultStatus::Missing);
        ui.heading(if creating {
            "Create the vault"
        } else {
            "Unlock the vault"
        });
        ui.label(if creating {
            "Remembered passwords are kept in a file encrypted with this passphrase. It cannot              be recovered: without it, the passwords are asked for again."
        } else {
            "The vault holds remembered passwords. Its passphrase is asked once per session."
        });
        if let Some(error) = &prompt.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        if prompt.status.is_none() || prompt.busy {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(if prompt.busy { "Unlocking…" } else { "Looking for the vault…" });
            });
        }
        let l = ui.label("Vault passphrase");
        let r = ui
            .add(egui::TextEdit::singleline(&mut prompt.passphrase).password(true))
            .labelled_by(l.id);
        if creating {
            let l = ui.label("Passphrase again");
            ui.add(egui::TextEdit::singleline(&mut prompt.confirm).password(true))
                .labelled_by(l.id);
        }
        // Typing goes to the passphrase at once (again after a refusal), asked once.
        if !prompt.focused && prompt.status.is_some() && !prompt.busy {
            r.request_focus();
            prompt.focused = true;
        }
        if ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            submit = true;
        }
        ui.horizontal(|ui| {
            let ready = prompt.status.is_some() && !prompt.busy;
            submit |= ui
                .add_enabled(ready, egui::Button::new(if creating { "Create" } else { "Unlock" }))
                .clicked();
            cancel = ui.button("Cancel").clicked();
        });
    });
    if cancel {
        actions.push(Action::CancelVault);
    } else if submit {
        actions.push(Action::SubmitVault);
    }
}

/// The SSH question: a host key never seen (its fingerprint, to compare with what the
/// server's administrator says), or a key passphrase or password, kept for this session only.
pub fn ssh_prompt_ui(ctx: &egui::Context, state: &mut AppState, actions: &mut Actions) {
    use crate::backend::ssh::SshError;
    let Some(prompt) = &mut state.ssh_prompt else {
        return;
    };
    let mut submit = false;
    let mut cancel = false;
    egui::Modal::new(egui::Id::unique("ssh_prompt")).show(ctx, |ui| {
        ui.set_max_width(560.0);
        let secret_label = match &prompt.question {
            SshError::UnknownHostKey {
                host,
                algorithm,
                fingerprint,
                known_hosts,
            } => {
                ui.heading(format!("Unknown SSH host {host}"));
                ui.label(
                    "This host's key has not been seen before. Compare its fingerprint with the \
                     one the server's administrator gives you before you trust it.",
                );
                ui.add_space(4.0);
                egui::Grid::new("ssh_host_key").show(ui, |ui| {
                    ui.label("Key type");
                    ui.monospace(algorithm);
                    ui.end_row();
                    ui.label("Fingerprint");
                    ui.monospace(fingerprint);
                    ui.end_row();
                });
                ui.add_space(4.0);
                ui.label(
                    egui::RichText::new(format!("Trusting it records it in {known_hosts}."))
                        .small(),
                );
                None
            }
            SshError::PassphraseNeeded { path } => {
                ui.heading("SSH key passphrase");
                ui.label(format!("The key {path} is encrypted."));
                Some("Passphrase")
            }
            SshError::WrongPassphrase { path } => {
                ui.heading("SSH key passphrase");
                ui.colored_label(
                    theme::level_color(crate::state::Level::Error),
                    format!("That passphrase does not open {path}. Try again."),
                );
                Some("Passphrase")
            }
            SshError::PasswordNeeded { host } => {
                ui.heading(format!("SSH password for {host}"));
                Some("Password")
            }
            other => {
                ui.label(other.to_string());
                None
            }
        };
        if let Some(label) = secret_label {
            let l = ui.label(label);
            let r = ui
                .add(egui::TextEdit::singleline(&mut prompt.text).password(true))
                .labelled_by(l.id);
            if !prompt.focused {
                r.request_focus();
                prompt.focused = true;
            }
            remember_row(ui, &mut prompt.remember);
            if ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                submit = true;
            }
        }
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            let go = if secret_label.is_some() {
                "Connect"
            } else {
                "Trust and connect"
            };
            submit |= ui.button(go).clicked();
            cancel = ui.button("Cancel").clicked();
        });
    });
    if submit {
        actions.push(Action::SubmitSsh);
    } else if cancel {
        actions.push(Action::CancelSsh);
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
