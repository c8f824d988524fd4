//! The one way the UI asks for anything: every panel pushes [`Action`]s, and
//! [`super::AppState::handle`] carries them out after the frame is drawn. A panel edits the
//! plain fields it shows (a text input, a toggle) in place; whatever sends a command, asks a
//! question or touches another panel's state is an action. Everything about one connection
//! names it, so an action can never land on whichever tab happens to be shown.

use std::path::PathBuf;

use bytes::Bytes;

use super::{ConflictChoice, ServerTab, SortKey};
use crate::core::keyindex::KeyId;
use crate::core::model::ClientInfo;
use crate::service::ConnId;

/// Something the UI asks of the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Something about one connection.
    Session(ConnId, SessionAction),
    /// Open the form for a new profile.
    NewProfile,
    /// Open the form on a saved profile.
    EditProfile(String),
    /// Save the form (add or update); it closes when that worked.
    SaveForm,
    /// Save the form, then connect the profile.
    SaveFormAndConnect,
    /// Test the form's settings.
    TestForm,
    /// List the cache services of the DreamFactory instance the form names.
    DiscoverServices,
    /// Save a profile for the discovered service at `index`: through the API, or `direct`ly
    /// to its server.
    AddDiscovered {
        /// Its place in the list.
        index: usize,
        /// Straight to its Redis or memcached.
        direct: bool,
    },
    /// Close the form without saving.
    CloseForm,
    /// The CA file picked for the form.
    SetCaFile(PathBuf),
    /// Copy a profile under a new name.
    DuplicateProfile(String),
    /// Ask before deleting a profile.
    AskDeleteProfile(String),
    /// Delete a profile (asked already).
    DeleteProfile(String),
    /// Keep the profile after all.
    KeepProfile,
    /// Connect a saved profile (asking for its password first when it needs one).
    Connect(String),
    /// Connect with the password typed in the dialog.
    SubmitPassword,
    /// Close the password dialog.
    CancelPassword,
    /// Browse connection `conn` without the key prefix its keys were found to have (the
    /// profile keeps it; the connection opens again).
    UseKeyPrefix(ConnId),
    /// Put a profile in a group (`None`: the top level).
    MoveToGroup {
        /// The profile.
        profile: String,
        /// The group.
        group: Option<String>,
    },
    /// Open the export dialog.
    OpenExport,
    /// Write the export dialog's profiles to this file.
    ExportProfiles(PathBuf),
    /// Close the export dialog.
    CancelExport,
    /// Read this file and preview its profiles.
    ImportProfiles(PathBuf),
    /// Open the previewed file's sealed passwords with the typed passphrase.
    OpenImportSecrets,
    /// Merge the previewed profiles as chosen.
    ConfirmImport,
    /// Close the preview; nothing is merged.
    CancelImport,
    /// The vault dialog was answered.
    SubmitVault,
    /// The vault dialog was closed.
    CancelVault,
    /// Answer the SSH question: trust the host key, or use the passphrase / password typed.
    SubmitSsh,
    /// Close the SSH question without connecting.
    CancelSsh,
    /// Show a connection's tab.
    Activate(ConnId),
    /// Close a connection.
    Close(ConnId),
    /// Open the copy dialog of a connection (the other open connections to choose from).
    OpenCopy(ConnId),
    /// Open or close the command palette.
    TogglePalette,
    /// Run a palette entry (and close the palette).
    RunEntry(super::palette::Entry),
    /// Run a named command (a keyboard shortcut's).
    RunCommand(super::palette::Command),
    /// Move a tab to another place (dragged).
    MoveTab {
        /// Where it was.
        from: usize,
        /// Where it goes.
        to: usize,
    },
    /// Close a connection and open its profile again.
    Reconnect(ConnId),
    /// Yes to the open question.
    ConfirmYes,
    /// No to the open question.
    ConfirmNo,
    /// Remove a notice.
    DismissNotice(usize),
    /// Show the fleet view (every profile's figures), or hide it.
    ToggleFleet,
    /// Hide the fleet view.
    CloseFleet,
    /// Sort the fleet by a column (again: the other way round).
    SortFleet(crate::core::fleet::Column),
    /// The fleet's filter was typed.
    FilterFleet(String),
    /// Take the fleet's typed interval, time limit and concurrency.
    ApplyFleetInterval,
    /// Thresholds or the alerts-only switch changed.
    FleetViewChanged,
    /// A fleet row was clicked: show its connection (connecting it) with its dashboard.
    OpenFromFleet(String),
    /// Open the audit log window.
    OpenAudit,
    /// Read it again with the filter its controls hold.
    FilterAudit,
    /// Write what the filter matches to this file (CSV for `.csv`, else JSON lines).
    ExportAudit(PathBuf),
    /// Close it.
    CloseAudit,
    /// Make profiles from this `.env` file.
    ImportEnv(PathBuf),
    /// Light, dark or the system's theme.
    SetTheme(crate::config::uistate::ThemeChoice),
    /// Seed the demo database again.
    ResetDemo,
    /// Write the points a connection's dashboard shows to a CSV file.
    ExportCsv {
        /// The connection.
        conn: ConnId,
        /// The file.
        path: PathBuf,
    },
}

/// Something the UI asks of one connection.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionAction {
    /// List keys with the browser's pattern (a new listing replaces the running one).
    Search,
    /// Continue a paused or stopped listing; `true` lists the rest without pausing.
    ContinueScan(bool),
    /// Stop the listing; what was found stays.
    StopScan,
    /// Switch to another database.
    SelectDb(u32),
    /// Read the databases' key counts again.
    RefreshDatabases,
    /// Fetch type, TTL and size of these rows on screen (those not known yet).
    RequestMeta(Vec<KeyId>),
    /// Open a listed key in the viewer.
    OpenKey(KeyId),
    /// Open a key by the name typed (escaped form; hashed where entries are stored by hash).
    OpenKeyByName(String),
    /// Ask to flush a Laravel cache tag (what it deletes is read first, then asked about).
    FlushTag(crate::backend::laravel::Tag),
    /// Open exactly this backend key, listed or not (the viewer's Reload).
    OpenKeyBytes(Bytes),
    /// Mark or unmark a key for a multi-key delete.
    ToggleMark(KeyId),
    /// Unmark every key.
    Unmark,
    /// Load the next page of the open value.
    LoadMore,
    /// Write the open string value to this file.
    SaveValue(PathBuf),
    /// Select an element of the open collection (its value fills the edit inputs).
    SelectElement(usize),
    /// Apply the TTL typed in the viewer.
    ApplyTtl,
    /// Remove the open key's TTL.
    Persist,
    /// Rename the open key to the name typed.
    Rename,
    /// Copy the open key to the name typed.
    Copy,
    /// Delete the open key (undoable).
    DeleteOpenKey,
    /// Delete the marked keys (undoable).
    DeleteMarked,
    /// Put back what the last delete removed.
    Undo,
    /// Open the string editor.
    OpenEditor,
    /// Save the string editor.
    SaveEditor,
    /// Close the string editor.
    CloseEditor,
    /// Open the editor of a decoded value's scalars.
    OpenDecodedEditor,
    /// Save it.
    SaveDecodedEditor,
    /// Close it.
    CloseDecodedEditor,
    /// Answer a save conflict.
    ResolveConflict(ConflictChoice),
    /// Save the edited value of the selected element.
    SaveElement,
    /// Remove the selected element.
    RemoveElement,
    /// Add an element from the inputs; `true` pushes a list element at the head.
    AddElement(bool),
    /// Open the "new key" dialog.
    OpenCreate,
    /// Create the key it describes.
    CreateKey,
    /// Close it.
    CloseCreate,
    /// Open the delete-by-pattern dialog.
    OpenBulkDelete,
    /// Count what its pattern matches.
    PreviewBulkDelete,
    /// Delete what it matches.
    RunBulkDelete,
    /// Stop the running delete after its batch.
    CancelBulkDelete,
    /// Close the dialog.
    CloseBulkDelete,
    /// Delete the entries whose TTL ran out (SQL and file caches).
    PurgeExpired,
    /// Ask before flushing (`true`: every database).
    AskFlush(bool),
    /// Open the server panel.
    OpenServerInfo,
    /// Show one of its tabs.
    ServerTab(ServerTab),
    /// Load the shown tab again.
    RefreshServerInfo,
    /// Close the server panel.
    CloseServerInfo,
    /// Ask before emptying the slow log.
    AskResetSlowLog,
    /// Ask before disconnecting a client.
    AskKillClient(ClientInfo),
    /// Open the metrics dashboard.
    OpenDashboard,
    /// Close it (its history stays).
    CloseDashboard,
    /// Apply the sample interval typed.
    ApplyMetricsInterval,
    /// Open the memory analysis window.
    OpenAnalysis,
    /// Start an analysis with its settings.
    StartAnalysis,
    /// Stop the running analysis.
    CancelAnalysis,
    /// Close the window (stopping a running analysis).
    CloseAnalysis,
    /// List the keys of an analysed namespace in the browser.
    BrowseNamespace(String),
    /// Open the namespace census window.
    OpenCensus,
    /// Count every key the browser's pattern matches into its namespaces.
    StartCensus,
    /// Stop the running census.
    CancelCensus,
    /// Close the window (stopping a running census).
    CloseCensus,
    /// Open or close a namespace of the census.
    ToggleNamespace(crate::core::census::NsId),
    /// List the server's keys that contain what the filter looks for.
    SearchServerForFilter,
    /// Sort the flat list by this (again: the other way; a third time: as listed).
    SortBy(SortKey),
    /// Show or hide the console.
    ToggleConsole,
    /// Run what is typed in the console (each line a command).
    SubmitConsole,
    /// Stop the console's running command and drop the queued ones.
    CancelConsole,
    /// Empty the console's screen (its history stays).
    ClearConsole,
    /// Run console entry `.0`, a command without a key, where `.1` says.
    ConsoleRunOn(u64, crate::core::model::ExecOn),
    /// Open the export dialog (the marked keys, or the pattern's).
    OpenExport,
    /// Open the import dialog.
    OpenImport,
    /// Count the keys the dialog's pattern matches.
    CountMove,
    /// Export into this file (chosen in the save dialog).
    ExportTo(std::path::PathBuf),
    /// Import this file (chosen in the open dialog): its header is read first.
    ImportFileChosen(std::path::PathBuf),
    /// Start the import or the copy.
    StartMove,
    /// Stop the running export, import or copy.
    CancelMove,
    /// Close the dialog (a running transfer is stopped).
    CloseMove,
    /// Open the Pub/Sub viewer.
    OpenPubSub,
    /// Close it (its subscription ends).
    ClosePubSub,
    /// Subscribe to what its inputs name.
    Subscribe,
    /// End the subscription.
    Unsubscribe,
    /// Publish its message.
    Publish,
    /// Open the MONITOR viewer (it starts when asked).
    OpenMonitor,
    /// Close it (MONITOR stops).
    CloseMonitor,
    /// Start MONITOR.
    StartMonitor,
    /// Stop MONITOR.
    StopMonitor,
    /// Pause or resume a viewer's rows (`monitor`: MONITOR's, else Pub/Sub's).
    PauseStream {
        /// Which viewer.
        monitor: bool,
    },
    /// Empty a viewer's rows.
    ClearStream {
        /// Which viewer.
        monitor: bool,
    },
    /// Save a viewer's shown rows as JSON lines.
    SaveStream {
        /// Which viewer.
        monitor: bool,
        /// The file.
        path: std::path::PathBuf,
    },
    /// Search inside the open collection for what the find field holds.
    FindInValue,
    /// Leave the search inside the open collection.
    ClearFind,
    /// Edit this element of the open collection in its row.
    EditInline(usize),
    /// Save the element edited in its row.
    SaveInline,
    /// Stop editing it.
    CancelInline,
}
