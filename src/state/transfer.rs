//! Export and import of profiles in the app: the export dialog (which profiles, with or
//! without their secrets), and the import preview (each incoming profile, what happens to it
//! when its name is taken, where the passwords it brings go) before anything is merged.

use super::{AppPending, AppState, Level};
use crate::config::connection::Secret;
use crate::config::secrets::StoreKind;
use crate::config::transfer::{self, Conflict, Incoming, Step};
use crate::service::AppCommand;

/// The export dialog.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportDialog {
    /// The profiles ticked, by name (all when it opens).
    pub chosen: Vec<String>,
    /// Include the remembered passwords, sealed with a passphrase.
    pub with_secrets: bool,
    /// The passphrase that seals them.
    pub passphrase: String,
    /// The same again.
    pub confirm: String,
    /// What is wrong with the choice.
    pub error: Option<String>,
}

/// The import preview.
#[derive(Debug, Clone)]
pub struct ImportPreview {
    /// The file read.
    pub file: std::path::PathBuf,
    /// What it holds.
    pub incoming: Incoming,
    /// What to do with each incoming profile whose name is taken (by index).
    pub choices: Vec<Conflict>,
    /// Where the passwords it brings go (`None`: not kept, asked for).
    pub secrets_to: Option<StoreKind>,
    /// The passphrase of sealed secrets, typed.
    pub passphrase: String,
    /// The service is opening the sealed secrets.
    pub opening: bool,
    /// Why opening them failed.
    pub error: Option<String>,
}

impl ImportPreview {
    /// The preview's steps, as they stand.
    #[must_use]
    pub fn steps(&self, store: &crate::config::profiles::ProfileStore) -> Vec<(String, Step)> {
        transfer::plan(store, &self.incoming.profiles, |i| {
            self.choices.get(i).copied().unwrap_or_default()
        })
    }
}

impl AppState {
    /// Opens the export dialog with every profile ticked.
    pub(super) fn open_export(&mut self) {
        self.export_dialog = Some(ExportDialog {
            chosen: self
                .profiles
                .profiles()
                .iter()
                .map(|p| p.name.clone())
                .collect(),
            ..ExportDialog::default()
        });
    }

    /// Checks the export dialog before the file is picked; `true` when it may go on.
    pub fn export_ready(&mut self) -> bool {
        let Some(dialog) = &mut self.export_dialog else {
            return false;
        };
        dialog.error = if dialog.chosen.is_empty() {
            Some("tick at least one profile".to_owned())
        } else if dialog.with_secrets && dialog.passphrase.is_empty() {
            Some("a passphrase seals the passwords; the importer types it".to_owned())
        } else if dialog.with_secrets && dialog.passphrase != dialog.confirm {
            Some("the two passphrases differ".to_owned())
        } else {
            None
        };
        dialog.error.is_none()
    }

    /// Writes the export to `path` (the service gathers the secrets, seals and writes).
    pub(super) fn export_profiles(&mut self, path: std::path::PathBuf) {
        let Some(dialog) = self.export_dialog.take() else {
            return;
        };
        let profiles: Vec<_> = self
            .profiles
            .profiles()
            .iter()
            .filter(|p| dialog.chosen.contains(&p.name))
            .cloned()
            .collect();
        let in_vault = profiles.iter().any(|p| {
            crate::config::secrets::stored_slots(p)
                .iter()
                .any(|(_, store)| *store == StoreKind::Vault)
        });
        if dialog.with_secrets && in_vault && !self.vault_unlocked {
            self.ask_vault(super::AfterVault::Export(path, dialog));
            return;
        }
        let passphrase = dialog.with_secrets.then(|| Secret::new(dialog.passphrase));
        let places = self.secret_places.clone();
        self.send_app(
            AppPending::ExportProfiles,
            AppCommand::ExportProfiles {
                path,
                profiles,
                passphrase,
                places,
            },
        );
    }

    /// The file picked for an import is read by the service; the preview opens with its
    /// answer.
    pub(super) fn read_import(&mut self, path: std::path::PathBuf) {
        self.send_app(AppPending::ReadImport, AppCommand::ReadImport { path });
    }

    /// The service read an import file.
    pub(super) fn import_read(
        &mut self,
        path: std::path::PathBuf,
        result: Result<Incoming, String>,
    ) {
        match result {
            Ok(incoming) => {
                let choices = vec![Conflict::Skip; incoming.profiles.len()];
                self.import_preview = Some(ImportPreview {
                    file: path,
                    incoming,
                    choices,
                    secrets_to: None,
                    passphrase: String::new(),
                    opening: false,
                    error: None,
                });
            }
            Err(e) => self.notify(Level::Error, format!("import: {e}")),
        }
    }

    /// The user asked to open the sealed secrets of the previewed file.
    pub(super) fn open_import_secrets(&mut self) {
        let Some(preview) = &mut self.import_preview else {
            return;
        };
        let Some(sealed) = preview.incoming.sealed.clone() else {
            return;
        };
        preview.opening = true;
        preview.error = None;
        let passphrase = Secret::new(std::mem::take(&mut preview.passphrase));
        self.send_app(
            AppPending::UnsealImport,
            AppCommand::UnsealImport { sealed, passphrase },
        );
    }

    /// The sealed secrets were opened, or why not.
    pub(super) fn import_unsealed(
        &mut self,
        result: Result<Vec<(crate::config::secrets::SecretName, Secret)>, String>,
    ) {
        let Some(preview) = &mut self.import_preview else {
            return;
        };
        preview.opening = false;
        match result {
            Ok(secrets) => {
                preview.incoming.secrets = secrets;
                preview.incoming.sealed = None;
                preview.secrets_to.get_or_insert(StoreKind::Keyring);
            }
            Err(e) => preview.error = Some(e),
        }
    }

    /// Merges the previewed profiles as chosen, saves, and keeps their passwords where the
    /// preview says (the vault asked for first when locked).
    pub(super) fn confirm_import(&mut self) {
        let Some(preview) = self.import_preview.take() else {
            return;
        };
        let steps = preview.steps(&self.profiles);
        let mut merged = match transfer::merge(&mut self.profiles, preview.incoming, &steps) {
            Ok(merged) => merged,
            Err(e) => {
                self.notify(Level::Error, format!("import: {e}"));
                return;
            }
        };
        self.save_profiles();
        if let Some(store) = preview.secrets_to {
            for (name, secret) in std::mem::take(&mut merged.secrets) {
                // Held for this session too: a store that cannot keep it (no keyring here)
                // says the secret is kept for this session only, and so it is.
                self.put_secret(&name.profile, name.slot, secret.clone());
                self.remember(name, store, secret);
            }
        }
        self.notify(
            Level::Info,
            format!(
                "imported from {}: {} added, {} replaced, {} skipped",
                preview.file.display(),
                merged.added.len(),
                merged.replaced.len(),
                merged.skipped.len()
            ),
        );
    }
}
