//! File work inside a directory someone else can write to (a web server's cache directory, the
//! config directory), done so that a planted symlink can never redirect it.
//!
//! Every step below the directory the user chose is relative to an open directory handle
//! (`openat` and friends) with `O_NOFOLLOW`: a symlinked sub-directory or entry is refused or
//! treated as a plain name, never followed, and there is no window between a check and the use
//! of a path. Temp files get unguessable names and `O_EXCL`, so a planted file makes the create
//! fail instead of being written through. A rewritten file keeps its owner, group and mode; a
//! new file or directory takes the owner and group of its parent (PHP keeps writing a cache the
//! console touched as root). `std::fs` has no `*at` calls, hence `rustix`.

use std::io::{self, Read as _, Write as _};
use std::os::fd::{AsFd as _, OwnedFd};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags};

/// A directory held open: everything below it is reached through this handle.
pub struct SafeDir {
    fd: OwnedFd,
    path: PathBuf,
}

/// What a directory entry is, read without following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory (not a symlink to one).
    Dir,
    /// A symlink, device, socket or anything else: never opened.
    Other,
}

fn refuse_link(path: &Path, e: io::Error) -> io::Error {
    // ELOOP from O_NOFOLLOW, ENOTDIR from O_DIRECTORY on a symlink to a file.
    if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
        || e.raw_os_error() == Some(rustix::io::Errno::NOTDIR.raw_os_error())
    {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is a symlink or not a directory: refused (it is never followed)",
                path.display()
            ),
        )
    } else {
        e
    }
}

/// A name for a temp file nobody can predict (a planted file or symlink cannot wait for it).
fn temp_name(prefix: &str) -> String {
    // Random enough for a name that only needs to be unguessable; `O_EXCL` does the rest.
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    format!(".{prefix}.{:016x}.tmp", h.finish())
}

/// Replaces (or creates) the file at `path` with what `write` writes, as
/// [`SafeDir::write_atomic_with`] does in its directory (a path without one: the current
/// directory).
///
/// # Errors
/// `path` names no file, its directory cannot be written, or `write` failed.
pub fn write_file_atomic_with(
    path: &Path,
    new_mode: Option<u32>,
    write: impl FnOnce(&mut std::fs::File) -> io::Result<()>,
) -> io::Result<()> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "it names no file"))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    SafeDir::open(dir)?.write_atomic_with(name, new_mode, write)
}

impl SafeDir {
    /// Opens the directory the user chose (a symlink there is the user's own choice).
    ///
    /// # Errors
    /// It is missing or not a directory.
    pub fn open(path: &Path) -> io::Result<Self> {
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Self {
            fd,
            path: path.to_owned(),
        })
    }

    /// Opens the directory the user chose, creating it (and its parents) first when missing.
    ///
    /// # Errors
    /// It cannot be created or opened.
    pub fn open_or_create(path: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(path)?;
        Self::open(path)
    }

    /// The path, for messages.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn child_path(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Opens a sub-directory without following a symlink; `None` when there is none.
    ///
    /// # Errors
    /// It is a symlink or a file (refused), or cannot be opened.
    pub fn subdir(&self, name: &str) -> io::Result<Option<Self>> {
        match rustix::fs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => Ok(Some(Self {
                fd,
                path: self.child_path(name),
            })),
            Err(e) if e == rustix::io::Errno::NOENT => Ok(None),
            Err(e) => Err(refuse_link(&self.child_path(name), e.into())),
        }
    }

    /// Opens a sub-directory, creating it like its parent (owner, group, mode) when missing.
    ///
    /// # Errors
    /// It is a symlink or a file (refused), or cannot be created.
    pub fn subdir_create(&self, name: &str) -> io::Result<Self> {
        if let Some(dir) = self.subdir(name)? {
            return Ok(dir);
        }
        let parent = self.meta()?;
        match rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(parent.mode() & 0o7777)) {
            Ok(()) => {}
            Err(e) if e == rustix::io::Errno::EXIST => {} // made meanwhile
            Err(e) => return Err(e.into()),
        }
        let dir = self
            .subdir(name)?
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        like(&dir.fd, &parent, parent.mode() & 0o7777);
        Ok(dir)
    }

    fn meta(&self) -> io::Result<std::fs::Metadata> {
        std::fs::File::from(self.fd.try_clone()?).metadata()
    }

    /// What `name` is, without following it; `None` when it does not exist.
    ///
    /// # Errors
    /// The directory cannot be read.
    pub fn kind(&self, name: &str) -> io::Result<Option<EntryKind>> {
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(kind_of(rustix::fs::FileType::from_raw_mode(
                st.st_mode,
            )))),
            Err(e) if e == rustix::io::Errno::NOENT => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The names in this directory with their kinds (symlinks are `Other`, never followed).
    ///
    /// # Errors
    /// The directory cannot be read.
    pub fn entries(&self) -> io::Result<Vec<(String, EntryKind)>> {
        let mut out = Vec::new();
        for entry in rustix::fs::Dir::read_from(&self.fd)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().to_str() else {
                continue; // not UTF-8: no name this app writes or reads
            };
            if name == "." || name == ".." {
                continue;
            }
            let kind = match entry.file_type() {
                rustix::fs::FileType::Unknown => self.kind(name)?.unwrap_or(EntryKind::Other),
                t => kind_of(t),
            };
            out.push((name.to_owned(), kind));
        }
        Ok(out)
    }

    fn open_file(&self, name: &str) -> io::Result<Option<std::fs::File>> {
        match rustix::fs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
            Mode::empty(),
        ) {
            Ok(fd) => {
                let file = std::fs::File::from(fd);
                if !file.metadata()?.is_file() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{} is not a regular file", self.child_path(name).display()),
                    ));
                }
                Ok(Some(file))
            }
            Err(e) if e == rustix::io::Errno::NOENT => Ok(None),
            Err(e) if e == rustix::io::Errno::LOOP => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is a symlink: refused (it is never followed)",
                    self.child_path(name).display()
                ),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads a regular file (never through a symlink), at most `limit` bytes; `None` when
    /// there is no such file.
    ///
    /// # Errors
    /// It is a symlink or not a regular file, is bigger than `limit`, or cannot be read.
    pub fn read(&self, name: &str, limit: u64) -> io::Result<Option<Vec<u8>>> {
        let Some(file) = self.open_file(name)? else {
            return Ok(None);
        };
        let len = file.metadata()?.len();
        if len > limit {
            return Err(too_big(&self.child_path(name), limit));
        }
        let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        // The file may grow while it is read: the limit holds anyway.
        file.take(limit + 1).read_to_end(&mut out)?;
        if out.len() as u64 > limit {
            return Err(too_big(&self.child_path(name), limit));
        }
        Ok(Some(out))
    }

    /// The first `n` bytes of a regular file and its whole length; `None` when it is missing.
    ///
    /// # Errors
    /// It is a symlink or not a regular file, or cannot be read.
    pub fn read_head(&self, name: &str, n: usize) -> io::Result<Option<(Vec<u8>, u64)>> {
        let Some(file) = self.open_file(name)? else {
            return Ok(None);
        };
        let len = file.metadata()?.len();
        let mut head = Vec::with_capacity(n.min(1 << 16));
        file.take(n as u64).read_to_end(&mut head)?;
        Ok(Some((head, len)))
    }

    /// Replaces (or creates) `name` with `content` atomically: an unguessable temp file made
    /// with `O_EXCL | O_NOFOLLOW`, synced, then renamed over the old one. An existing file's
    /// owner, group and mode are kept; a new one takes the directory's owner and group and
    /// `new_mode` (or the directory's mode without execute bits).
    ///
    /// # Errors
    /// The directory cannot be written, or `name` is a directory.
    pub fn write_atomic(
        &self,
        name: &str,
        content: &[u8],
        new_mode: Option<u32>,
    ) -> io::Result<()> {
        self.write_atomic_with(name, new_mode, |file| file.write_all(content))
    }

    /// [`SafeDir::write_atomic`] of what `write` writes, as it writes it (an export of a
    /// million keys never held whole): the file appears whole once `write` succeeds, or not at
    /// all.
    ///
    /// # Errors
    /// The directory cannot be written, `name` is a directory, or `write` failed.
    pub fn write_atomic_with(
        &self,
        name: &str,
        new_mode: Option<u32>,
        write: impl FnOnce(&mut std::fs::File) -> io::Result<()>,
    ) -> io::Result<()> {
        let (owner, mode) = match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if rustix::fs::FileType::from_raw_mode(st.st_mode).is_file() => {
                (Some((st.st_uid, st.st_gid)), st.st_mode & 0o7777)
            }
            // A symlink or anything else at the name is replaced by the rename, never written
            // through; the new file is made like one in this directory.
            Ok(_) | Err(_) => {
                let dir = self.meta()?;
                (
                    Some((dir.uid(), dir.gid())),
                    new_mode.unwrap_or(dir.mode() & 0o666),
                )
            }
        };
        let mut attempts = 0;
        let (tmp, fd) = loop {
            let tmp = temp_name(name);
            match rustix::fs::openat(
                &self.fd,
                tmp.as_str(),
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            ) {
                Ok(fd) => break (tmp, fd),
                Err(e) if e == rustix::io::Errno::EXIST && attempts < 8 => attempts += 1,
                Err(e) => return Err(e.into()),
            }
        };
        let result = (|| -> io::Result<()> {
            let mut file = std::fs::File::from(fd);
            write(&mut file)?;
            if let Some((uid, gid)) = owner {
                chown_like(&file, uid, gid);
            }
            rustix::fs::fchmod(file.as_fd(), Mode::from_raw_mode(mode))?;
            file.sync_all()?;
            rustix::fs::renameat(&self.fd, tmp.as_str(), &self.fd, name)?;
            Ok(())
        })();
        if result.is_err() {
            let _ = rustix::fs::unlinkat(&self.fd, tmp.as_str(), AtFlags::empty());
        }
        result
    }

    /// When the regular file `name` was last modified (Unix seconds) and its length; `None`
    /// when there is none, or it is not a regular file (a symlink is not followed).
    ///
    /// # Errors
    /// The directory cannot be read.
    pub fn modified(&self, name: &str) -> io::Result<Option<(i64, u64)>> {
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if rustix::fs::FileType::from_raw_mode(st.st_mode).is_file() => {
                Ok(Some((st.st_mtime, u64::try_from(st.st_size).unwrap_or(0))))
            }
            Ok(_) => Ok(None),
            Err(e) if e == rustix::io::Errno::NOENT => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Sets when the file `name` was last modified (Unix seconds), never through a symlink;
    /// its access time is left as it is.
    ///
    /// # Errors
    /// It cannot be changed (a symlink is refused).
    pub fn set_modified(&self, name: &str, secs: i64) -> io::Result<()> {
        let times = rustix::fs::Timestamps {
            last_access: rustix::fs::Timespec {
                tv_sec: 0,
                tv_nsec: rustix::fs::UTIME_OMIT,
            },
            last_modification: rustix::fs::Timespec {
                tv_sec: secs,
                tv_nsec: 0,
            },
        };
        rustix::fs::utimensat(&self.fd, name, &times, AtFlags::SYMLINK_NOFOLLOW)?;
        Ok(())
    }

    /// Removes the file (or symlink: the link itself) `name`; false when there was none.
    ///
    /// # Errors
    /// It cannot be removed.
    pub fn remove_file(&self, name: &str) -> io::Result<bool> {
        match rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()) {
            Ok(()) => Ok(true),
            Err(e) if e == rustix::io::Errno::NOENT => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes the sub-directory `name` if it is empty; false when it was not removed.
    #[must_use]
    pub fn remove_empty_dir(&self, name: &str) -> bool {
        rustix::fs::unlinkat(&self.fd, name, AtFlags::REMOVEDIR).is_ok()
    }
}

fn kind_of(t: rustix::fs::FileType) -> EntryKind {
    match t {
        rustix::fs::FileType::RegularFile => EntryKind::File,
        rustix::fs::FileType::Directory => EntryKind::Dir,
        _ => EntryKind::Other,
    }
}

fn too_big(path: &Path, limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "{} is larger than {} MiB: not read",
            path.display(),
            limit >> 20
        ),
    )
}

/// Gives `file` this owner and group where the process may (root may; anyone else can at
/// least keep a group it belongs to). Failing is fine: the file is then the process's own.
fn chown_like(file: &impl std::os::fd::AsFd, uid: u32, gid: u32) {
    if std::os::unix::fs::fchown(file, Some(uid), Some(gid)).is_err() {
        let _ = std::os::unix::fs::fchown(file, None, Some(gid));
    }
}

fn like(fd: &OwnedFd, parent: &std::fs::Metadata, mode: u32) {
    chown_like(fd, parent.uid(), parent.gid());
    let _ = rustix::fs::fchmod(fd, Mode::from_raw_mode(mode));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planted_symlink_is_never_written_through() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, b"keep").expect("victim");
        let dir = tmp.path().join("d");
        std::fs::create_dir(&dir).expect("dir");
        std::os::unix::fs::symlink(&victim, dir.join("entry")).expect("link");
        let safe = SafeDir::open(&dir).expect("open");
        assert!(
            safe.read("entry", 100).is_err(),
            "a symlinked entry is not read"
        );
        safe.write_atomic("entry", b"new", None).expect("write");
        assert_eq!(std::fs::read(&victim).expect("read"), b"keep");
        assert!(
            !std::fs::symlink_metadata(dir.join("entry"))
                .expect("meta")
                .is_symlink(),
            "the link itself was replaced by a file"
        );
        std::os::unix::fs::symlink(tmp.path(), dir.join("sub")).expect("dir link");
        assert!(
            safe.subdir("sub").is_err(),
            "a symlinked directory is refused"
        );
        assert!(safe.subdir_create("sub").is_err());
    }

    #[test]
    fn reads_are_bounded() {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::write(tmp.path().join("f"), vec![b'x'; 100]).expect("write");
        let safe = SafeDir::open(tmp.path()).expect("open");
        assert!(safe.read("f", 99).is_err());
        assert_eq!(
            safe.read("f", 100).expect("read").map(|v| v.len()),
            Some(100)
        );
        assert_eq!(
            safe.read_head("f", 10)
                .expect("head")
                .map(|(h, n)| (h.len(), n)),
            Some((10, 100))
        );
        assert_eq!(safe.read("missing", 10).expect("read"), None);
    }
}
