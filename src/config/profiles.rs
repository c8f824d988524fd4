//! Saved connection profiles: a RON file in the platform config directory.
//!
//! Saves are atomic (a temp file in the same directory, synced, then renamed over the old one).
//! A file that cannot be parsed never stops the app: it is moved aside as a backup, the user is
//! told where, and the app starts with no profiles instead of losing the file's contents.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::connection::ConnectionSpec;

/// Environment variable that overrides where profiles are kept.
pub const CONFIG_DIR_ENV: &str = "CACHE_CONSOLE_CONFIG_DIR";
const FILE_NAME: &str = "profiles.ron";

/// One saved connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Unique name shown in the list.
    pub name: String,
    /// Where to connect; never holds a password.
    pub connection: ConnectionSpec,
    /// Pattern the key browser starts with.
    #[serde(default = "default_pattern")]
    pub default_pattern: String,
    /// Separator that groups keys into a tree.
    #[serde(default = "default_delimiter")]
    pub delimiter: String,
    /// Refuse every write through this profile (enforced below the UI).
    #[serde(default)]
    pub read_only: bool,
    /// Colour tag shown as the connection's header (red for production, say).
    #[serde(default, deserialize_with = "lenient_color")]
    pub color: Option<ColorTag>,
    /// Ask for confirmation before any write.
    #[serde(default)]
    pub production: bool,
    /// The SSH tunnel the connection goes through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<crate::config::connection::SshSpec>,
    /// The group (folder) the profile is listed under; none for the top level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// When the profile was last connected (Unix milliseconds): the list shows the last used
    /// first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_ms: Option<u64>,
}

/// The colour tag of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColorTag {
    /// Red.
    Red,
    /// Orange.
    Orange,
    /// Yellow.
    Yellow,
    /// Green.
    Green,
    /// Blue.
    Blue,
    /// Purple.
    Purple,
    /// Gray.
    Gray,
}

impl ColorTag {
    /// Every tag, in menu order.
    pub const ALL: [Self; 7] = [
        Self::Red,
        Self::Orange,
        Self::Yellow,
        Self::Green,
        Self::Blue,
        Self::Purple,
        Self::Gray,
    ];

    /// The lowercase name used on the command line.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Red => "red",
            Self::Orange => "orange",
            Self::Yellow => "yellow",
            Self::Green => "green",
            Self::Blue => "blue",
            Self::Purple => "purple",
            Self::Gray => "gray",
        }
    }
}

impl std::str::FromStr for ColorTag {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|c| c.name() == wanted || (wanted == "grey" && *c == Self::Gray))
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|c| c.name()).collect();
                format!("unknown colour `{s}`: use one of {}", names.join(", "))
            })
    }
}

/// A colour as read from the file: one this version does not know (a newer version's, or a
/// typo) is no colour, not a reason to drop every profile.
#[derive(Deserialize)]
enum ColorName {
    Red,
    Orange,
    Yellow,
    Green,
    Blue,
    Purple,
    Gray,
    #[serde(other)]
    Unknown,
}

fn lenient_color<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<ColorTag>, D::Error> {
    Ok(Option::<ColorName>::deserialize(d)?.and_then(|c| match c {
        ColorName::Red => Some(ColorTag::Red),
        ColorName::Orange => Some(ColorTag::Orange),
        ColorName::Yellow => Some(ColorTag::Yellow),
        ColorName::Green => Some(ColorTag::Green),
        ColorName::Blue => Some(ColorTag::Blue),
        ColorName::Purple => Some(ColorTag::Purple),
        ColorName::Gray => Some(ColorTag::Gray),
        ColorName::Unknown => None,
    }))
}

fn default_pattern() -> String {
    "*".to_owned()
}

fn default_delimiter() -> String {
    ":".to_owned()
}

impl Profile {
    /// A profile with the default pattern and delimiter.
    #[must_use]
    pub fn new(name: impl Into<String>, connection: ConnectionSpec) -> Self {
        Self {
            name: name.into(),
            connection,
            default_pattern: default_pattern(),
            delimiter: default_delimiter(),
            read_only: false,
            color: None,
            production: false,
            ssh: None,
            group: None,
            last_used_ms: None,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct ProfilesFile {
    version: u32,
    profiles: Vec<Profile>,
}

/// Why profiles could not be changed or saved.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// No config directory could be determined.
    #[error("no configuration directory is known for this user; set {CONFIG_DIR_ENV}")]
    NoConfigDir,
    /// Writing the file failed.
    #[error("could not save profiles to {path}: {source}")]
    Save {
        /// The file being written.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The profiles could not be encoded.
    #[error("could not encode profiles: {0}")]
    Encode(String),
    /// A profile with that name exists already.
    #[error("a profile named `{0}` already exists")]
    Duplicate(String),
    /// No profile has that name.
    #[error("no profile named `{0}`")]
    NotFound(String),
    /// Profile names cannot be empty.
    #[error("a profile needs a name")]
    EmptyName,
    /// A name with control or invisible characters (it could forge a line of a listing, or
    /// look like another profile's name), or too long.
    #[error("the profile name `{0}` is not allowed: {1}")]
    BadName(String, &'static str),
}

/// The longest profile name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// Checks a profile name: something to type and read, never a control sequence.
///
/// # Errors
/// Empty, too long, or holding control (newline, tab, escape) or invisible characters.
pub fn check_name(name: &str) -> Result<(), ProfileError> {
    let shown = || crate::core::escape::escape_bytes(name.as_bytes());
    if name.trim().is_empty() {
        return Err(ProfileError::EmptyName);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ProfileError::BadName(
            shown(),
            "it is longer than 100 characters",
        ));
    }
    if name
        .chars()
        .any(|c| c.is_control() || crate::core::escape::is_invisible(c))
    {
        return Err(ProfileError::BadName(
            shown(),
            "it holds control or invisible characters (newlines, tabs, escapes, zero-width or \
             bidi marks)",
        ));
    }
    if name.trim() != name {
        return Err(ProfileError::BadName(
            shown(),
            "it starts or ends with a space",
        ));
    }
    Ok(())
}

/// A group name as typed: `None` when blank (the top level); otherwise the rules of profile
/// names apply, since a group is listed the same way.
///
/// # Errors
/// A name no profile could have, said of a group.
pub fn group_name(text: &str) -> Result<Option<String>, String> {
    let group = text.trim();
    if group.is_empty() {
        return Ok(None);
    }
    check_name(group).map_err(|e| e.to_string().replace("the profile name", "the group name"))?;
    Ok(Some(group.to_owned()))
}

/// The profiles, the most recently used first (never used ones after, by name).
#[must_use]
pub fn last_used_first(profiles: &[Profile]) -> Vec<&Profile> {
    let mut ordered: Vec<&Profile> = profiles.iter().collect();
    ordered.sort_by(|a, b| {
        b.last_used_ms
            .cmp(&a.last_used_ms)
            .then_with(|| a.name.cmp(&b.name))
    });
    ordered
}

/// The profiles and the file they live in.
#[derive(Debug, Clone)]
pub struct ProfileStore {
    path: PathBuf,
    profiles: Vec<Profile>,
    /// The file as loaded held settings this version does not know (a newer version's, or
    /// hand edits): it is copied aside before the first save drops them.
    keep_before_save: bool,
    /// Saves prepared so far.
    saves: u64,
}

/// What loading found besides the profiles: a message for the user, if any.
#[derive(Debug)]
pub struct Loaded {
    /// The store, possibly empty.
    pub store: ProfileStore,
    /// A problem the user must be told about (corrupt file moved aside, and where).
    pub warning: Option<String>,
}

/// The directory profiles are kept in: `$CACHE_CONSOLE_CONFIG_DIR` or the platform default.
///
/// # Errors
/// No home directory is known and the variable is unset.
pub fn config_dir() -> Result<PathBuf, ProfileError> {
    if let Some(dir) = std::env::var_os(CONFIG_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("dev", "cache-console", "cache-console")
        .map(|dirs| dirs.config_dir().to_path_buf())
        .ok_or(ProfileError::NoConfigDir)
}

impl ProfileStore {
    /// An empty store that saves to `dir`.
    #[must_use]
    pub fn empty_in(dir: &Path) -> Self {
        Self {
            path: dir.join(FILE_NAME),
            profiles: Vec::new(),
            keep_before_save: false,
            saves: 0,
        }
    }

    /// The groups profiles are in, by name, each once.
    #[must_use]
    pub fn groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = self
            .profiles
            .iter()
            .filter_map(|p| p.group.clone())
            .collect();
        groups.sort();
        groups.dedup();
        groups
    }

    /// Loads the profiles in `dir`. Never fails: problems become a warning.
    #[must_use]
    pub fn load_from(dir: &Path) -> Loaded {
        let path = dir.join(FILE_NAME);
        let mut store = Self {
            path: path.clone(),
            profiles: Vec::new(),
            keep_before_save: false,
            saves: 0,
        };
        let text = match read_bounded(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Loaded {
                    store,
                    warning: None,
                };
            }
            Err(e) => {
                return Loaded {
                    store,
                    warning: Some(format!(
                        "could not read saved profiles from {}: {e}. Starting without them; \
                         the file is left as it is",
                        path.display()
                    )),
                };
            }
        };
        let mut unknown = Vec::new();
        let parsed = std::str::from_utf8(&text)
            .map_err(|e| e.to_string())
            .and_then(|t| {
                let mut de = ron::Deserializer::from_str(t).map_err(|e| e.to_string())?;
                let file: ProfilesFile =
                    serde_ignored::deserialize(&mut de, |path| unknown.push(path.to_string()))
                        .map_err(|e| e.to_string())?;
                de.end().map_err(|e| e.to_string())?;
                Ok(file)
            });
        match parsed {
            Ok(file) => {
                store.profiles = file.profiles;
                let warning = (!unknown.is_empty()).then(|| {
                    store.keep_before_save = true;
                    unknown.truncate(5);
                    format!(
                        "{} holds settings this version does not know ({}); they stay in the \
                         file until the next save, which first copies it aside",
                        path.display(),
                        unknown.join(", ")
                    )
                });
                Loaded { store, warning }
            }
            Err(reason) => {
                let backup = super::backup_path(&path, "corrupt");
                let kept = match std::fs::rename(&path, &backup) {
                    Ok(()) => format!("it was kept as {}", backup.display()),
                    Err(e) => format!("it could not be moved aside ({e})"),
                };
                Loaded {
                    store,
                    warning: Some(format!(
                        "the saved profiles file {} is damaged ({reason}); {kept}. \
                         Starting with no profiles",
                        path.display()
                    )),
                }
            }
        }
    }

    /// Loads from the default directory.
    ///
    /// # Errors
    /// No config directory can be determined.
    pub fn load_default() -> Result<Loaded, ProfileError> {
        Ok(Self::load_from(&config_dir()?))
    }

    /// The file this store saves to.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All profiles, in the order they were added.
    #[must_use]
    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }

    /// The profile with this name.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// Adds a new profile (the name must be unused). [`Self::save`] writes the file.
    ///
    /// # Errors
    /// Empty, unsafe or duplicate name.
    pub fn add(&mut self, profile: Profile) -> Result<(), ProfileError> {
        check_name(&profile.name)?;
        if self.get(&profile.name).is_some() {
            return Err(ProfileError::Duplicate(profile.name));
        }
        self.profiles.push(profile);
        Ok(())
    }

    /// Replaces the profile named `old_name` (it may be renamed).
    ///
    /// # Errors
    /// Unknown old name, or an empty, unsafe or clashing new name.
    pub fn update(&mut self, old_name: &str, profile: Profile) -> Result<(), ProfileError> {
        check_name(&profile.name)?;
        if profile.name != old_name && self.get(&profile.name).is_some() {
            return Err(ProfileError::Duplicate(profile.name));
        }
        let slot = self
            .profiles
            .iter_mut()
            .find(|p| p.name == old_name)
            .ok_or_else(|| ProfileError::NotFound(old_name.to_owned()))?;
        *slot = profile;
        Ok(())
    }

    /// Adds a copy of `name` under a fresh name ("name (copy)", "name (copy 2)", …).
    ///
    /// # Errors
    /// Unknown name.
    pub fn duplicate(&mut self, name: &str) -> Result<String, ProfileError> {
        let mut copy = self
            .get(name)
            .cloned()
            .ok_or_else(|| ProfileError::NotFound(name.to_owned()))?;
        let mut n = 1;
        let mut candidate = format!("{name} (copy)");
        while self.get(&candidate).is_some() {
            n += 1;
            candidate = format!("{name} (copy {n})");
        }
        copy.name.clone_from(&candidate);
        self.profiles.push(copy);
        Ok(candidate)
    }

    /// Removes a profile.
    ///
    /// # Errors
    /// Unknown name.
    pub fn remove(&mut self, name: &str) -> Result<(), ProfileError> {
        let before = self.profiles.len();
        self.profiles.retain(|p| p.name != name);
        if self.profiles.len() == before {
            return Err(ProfileError::NotFound(name.to_owned()));
        }
        Ok(())
    }

    /// The profiles as they are now, ready to be written by [`SaveJob::run`] wherever
    /// blocking is allowed (the app hands it to its service; the command line runs it).
    ///
    /// # Errors
    /// The profiles cannot be encoded.
    pub fn save_job(&mut self) -> Result<SaveJob, ProfileError> {
        let file = ProfilesFile {
            version: 1,
            profiles: self.profiles.clone(),
        };
        let text = ron::ser::to_string_pretty(&file, ron::ser::PrettyConfig::default())
            .map_err(|e| ProfileError::Encode(e.to_string()))?;
        self.saves += 1;
        Ok(SaveJob {
            path: self.path.clone(),
            text,
            copy_aside_first: std::mem::take(&mut self.keep_before_save),
            generation: self.saves,
        })
    }

    /// Writes the file now (for the command line and setup before the window opens).
    ///
    /// # Errors
    /// The directory or file cannot be written.
    pub fn save(&mut self) -> Result<(), ProfileError> {
        self.save_job()?.run()
    }
}

/// One write of the profiles file, prepared by [`ProfileStore::save_job`].
#[derive(Debug, Clone)]
pub struct SaveJob {
    path: PathBuf,
    text: String,
    /// The file held settings this version does not know: copy it aside before replacing it.
    copy_aside_first: bool,
    generation: u64,
}

impl SaveJob {
    /// Counts the saves of one store: a higher one holds newer profiles.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Writes the file atomically: an unguessable temp file in the same directory, fsync,
    /// rename.
    ///
    /// # Errors
    /// The directory or file cannot be written.
    pub fn run(&self) -> Result<(), ProfileError> {
        let save_err = |source| ProfileError::Save {
            path: self.path.clone(),
            source,
        };
        if self.copy_aside_first {
            std::fs::copy(&self.path, super::backup_path(&self.path, "before-save"))
                .map_err(save_err)?;
        }
        super::write_private(&self.path, self.text.as_bytes(), FILE_NAME).map_err(save_err)
    }
}

/// The largest profiles file read (thousands of profiles fit in far less).
const MAX_FILE_BYTES: u64 = 16 << 20;

fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)?;
    let mut out = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut out)?;
    if out.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("it is larger than {} MiB", MAX_FILE_BYTES >> 20),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::connection::{PasswordSource, parse_url};

    fn profile(name: &str, url: &str) -> Profile {
        let (spec, _) = parse_url(url).expect("valid url");
        Profile::new(name, spec)
    }

    #[test]
    fn profiles_round_trip_through_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = ProfileStore::load_from(dir.path()).store;
        store
            .add(profile("local", "redis://127.0.0.1:6379/2"))
            .expect("add");
        store
            .add(profile("prod", "rediss://ops@cache:6380/0"))
            .expect("add");
        let name = store.duplicate("local").expect("clone");
        assert_eq!(name, "local (copy)");
        store.remove("prod").expect("remove");
        store.save().expect("save");
        let loaded = ProfileStore::load_from(dir.path());
        assert!(loaded.warning.is_none());
        let names: Vec<_> = loaded
            .store
            .profiles()
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(names, ["local", "local (copy)"]);
        assert_eq!(loaded.store.profiles()[0], store.profiles()[0]);
    }

    #[test]
    fn duplicate_and_empty_names_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = ProfileStore::empty_in(dir.path());
        store.add(profile("a", "redis://h")).expect("add");
        assert!(matches!(
            store.add(profile("a", "redis://h")),
            Err(ProfileError::Duplicate(_))
        ));
        assert!(matches!(
            store.add(profile(" ", "redis://h")),
            Err(ProfileError::EmptyName)
        ));
        assert!(matches!(
            store.remove("zzz"),
            Err(ProfileError::NotFound(_))
        ));
    }

    #[test]
    fn a_corrupt_file_is_moved_aside_and_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "this is (not ron").expect("write");
        let loaded = ProfileStore::load_from(dir.path());
        let warning = loaded.warning.expect("a warning");
        assert!(warning.contains("damaged"), "{warning}");
        assert!(loaded.store.profiles().is_empty());
        assert!(!path.exists());
        let backups: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains("corrupt"))
            .collect();
        assert_eq!(backups.len(), 1);
        let kept = std::fs::read_to_string(backups[0].path()).expect("read backup");
        assert_eq!(kept, "this is (not ron");
    }

    #[test]
    fn an_unknown_colour_costs_the_colour_not_the_profiles() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = ProfileStore::empty_in(dir.path());
        store.add(profile("a", "redis://h")).expect("add");
        let mut tagged = profile("b", "redis://h2");
        tagged.color = Some(ColorTag::Blue);
        store.add(tagged).expect("add");
        store.save().expect("save");
        let text = std::fs::read_to_string(store.path()).expect("read");
        std::fs::write(store.path(), text.replace("Blue", "Teal")).expect("write");
        let loaded = ProfileStore::load_from(dir.path());
        assert!(loaded.warning.is_none(), "{:?}", loaded.warning);
        assert_eq!(loaded.store.profiles().len(), 2);
        assert_eq!(loaded.store.profiles()[1].color, None);
    }

    #[test]
    fn settings_this_version_does_not_know_are_kept_aside_before_a_save() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = ProfileStore::empty_in(dir.path());
        store.add(profile("a", "redis://h")).expect("add");
        store.save().expect("save");
        let text = std::fs::read_to_string(store.path()).expect("read");
        let newer = text.replacen("name: \"a\",", "name: \"a\", ssh_tunnel: \"bastion\",", 1);
        assert_ne!(newer, text);
        std::fs::write(store.path(), &newer).expect("write");
        let mut loaded = ProfileStore::load_from(dir.path());
        let warning = loaded.warning.expect("a warning");
        assert!(warning.contains("ssh_tunnel"), "{warning}");
        assert_eq!(loaded.store.profiles().len(), 1);
        loaded.store.add(profile("b", "redis://h2")).expect("add");
        loaded.store.save().expect("save");
        let kept = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().contains("before-save"))
            .expect("a copy was kept");
        assert_eq!(std::fs::read_to_string(kept.path()).expect("read"), newer);
    }

    #[test]
    fn names_are_plain_text() {
        for bad in [
            "a\nb",
            "tab\tx",
            "esc\u{1b}[2J",
            "zw\u{200b}",
            "rtl\u{202e}",
            " lead",
            "trail ",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name(&"x".repeat(101)).is_err());
        for good in ["prod", "Prod — EU (read-only)", "東京 cache", "a:b/c"] {
            assert!(check_name(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn a_new_profiles_file_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = ProfileStore::empty_in(dir.path());
        store.add(profile("a", "redis://h")).expect("add");
        store.save().expect("save");
        let mode = std::fs::metadata(store.path())
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let leftovers = std::fs::read_dir(dir.path()).expect("dir").count();
        assert_eq!(leftovers, 1, "no temp file is left behind");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn any_profiles_file_loads_or_is_kept_aside(content in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::write(dir.path().join(FILE_NAME), &content).expect("write");
            let loaded = ProfileStore::load_from(dir.path());
            if loaded.warning.is_some() {
                let kept = std::fs::read_dir(dir.path())
                    .expect("dir")
                    .filter_map(Result::ok)
                    .any(|e| std::fs::read(e.path()).ok().as_deref() == Some(content.as_slice()));
                proptest::prop_assert!(kept, "the damaged file is kept byte for byte");
            }
        }

        #[test]
        fn names_with_control_characters_are_never_accepted(name in "\\PC{0,8}[\\x00-\\x1f\\x7f\\x{200b}\\x{202e}]\\PC{0,8}") {
            proptest::prop_assert!(check_name(&name).is_err());
        }
    }

    #[test]
    fn passwords_never_reach_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = ProfileStore::empty_in(dir.path());
        let (mut spec, pw) = parse_url("redis://u:hunter2@h:6379").expect("url");
        assert!(pw.is_some());
        spec.set_password_source(PasswordSource::Prompt);
        store.add(Profile::new("p", spec)).expect("add");
        store.save().expect("save");
        let text = std::fs::read_to_string(store.path()).expect("read");
        assert!(!text.contains("hunter2"));
        assert!(text.contains("Prompt"));
    }
}
