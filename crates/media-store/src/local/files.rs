//! The store's folder, seen only through a capability handle
//! ([`cap_std::fs::Dir`]): every path is resolved beneath the base folder,
//! and a symlink (or `..`) that leads out of it is refused by the kernel
//! walk, not by a check that could race. Nothing here creates, reads or
//! deletes anything outside the base folder, whatever the input.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};

use super::naming::{TEMP_PREFIX, temp_name};
use crate::layout::MEDIA_DIR;
use crate::{Error, Result};

/// Folder of the store's own files (the index database).
pub(crate) const STATE_DIR: &str = ".promptkit";

/// The base folder.
#[derive(Debug)]
pub(crate) struct Files {
    root: Dir,
    base: PathBuf,
    fsync: bool,
}

/// A file found under `media/` by [`Files::walk_media`].
#[derive(Debug)]
pub(crate) struct Found {
    /// Path relative to the base folder (may not be UTF-8).
    pub(crate) rel: PathBuf,
    /// Size in bytes.
    pub(crate) len: u64,
    /// Last modification.
    pub(crate) modified: Option<SystemTime>,
}

/// A media folder, open: temp files, renames and sidecars in it go
/// through its handle (one path walk per store, not one per file).
#[derive(Debug)]
pub(crate) struct Folder {
    dir: Dir,
    /// Its real path, relative to the base folder (`media/...`).
    pub(crate) rel: String,
    abs: PathBuf,
    fsync: bool,
}

/// A temporary file in a [`Folder`], removed unless renamed.
#[derive(Debug)]
pub(crate) struct Temp<'a> {
    folder: &'a Folder,
    name: Option<String>,
}

impl Drop for Temp<'_> {
    fn drop(&mut self) {
        if let Some(name) = self.name.take() {
            let _ = self.folder.dir.remove_file(&name);
        }
    }
}

impl Folder {
    fn err(&self, name: &str, e: io::Error) -> Error {
        fs_error(self.abs.join(name), e)
    }

    /// Writes `data` to the file `name`, opened with `options` (fsynced when
    /// the store fsyncs).
    fn write_file(&self, name: &str, data: &[u8], options: &OpenOptions) -> Result<()> {
        let mut file = self
            .dir
            .open_with(name, options)
            .map_err(|e| self.err(name, e))?;
        file.write_all(data)
            .and_then(|()| if self.fsync { file.sync_all() } else { Ok(()) })
            .map_err(|e| self.err(name, e))
    }

    /// Writes `data` to a new temporary file.
    pub(crate) fn write_temp(&self, data: &[u8]) -> Result<Temp<'_>> {
        let temp = Temp {
            folder: self,
            name: Some(temp_name()),
        };
        let name = temp.name.as_deref().unwrap_or_default();
        self.write_file(name, data, OpenOptions::new().write(true).create_new(true))?;
        Ok(temp)
    }

    /// Writes the file `name` in place (a sidecar: the index, not the file,
    /// is the truth, so a torn write is only a sidecar for `gc` to rewrite).
    /// What was there goes first, so a symlink planted there is replaced,
    /// never written through.
    pub(crate) fn write(&self, name: &str, data: &[u8]) -> Result<()> {
        match self.dir.remove_file(name) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(self.err(name, e)),
            _ => {}
        }
        self.write_file(name, data, OpenOptions::new().write(true).create_new(true))
    }

    /// Moves a temporary file (of any folder) to the name `name` here.
    pub(crate) fn rename(&self, mut temp: Temp<'_>, name: &str) -> Result<()> {
        let from = temp.name.take().unwrap_or_default();
        let source = &temp.folder.dir;
        source.rename(&from, &self.dir, name).map_err(|e| {
            let _ = source.remove_file(&from);
            self.err(name, e)
        })
    }

    /// Makes the folder's entries durable (when the store fsyncs).
    pub(crate) fn sync(&self) -> Result<()> {
        if !self.fsync {
            return Ok(());
        }
        // A directory opened for reading (cap-std's `open_dir` handle is
        // `O_PATH`, which cannot be synced).
        self.dir
            .open_with(".", OpenOptions::new().read(true))
            .and_then(|d| d.sync_all())
            .map_err(|e| self.err(".", e))
    }
}

impl Files {
    /// Opens the base folder `base`, creating it and its `media/` and
    /// `.promptkit/` folders unless `read_only`. `media/` and `.promptkit/`
    /// must be real folders: a symlink there is [`Error::PathEscape`].
    pub(crate) fn open(base: &Path, read_only: bool, fsync: bool) -> Result<Files> {
        if base.as_os_str().is_empty() {
            return Err(Error::Config(
                "the local store needs a base directory (with_base_dir or MEDIA_STORE_DIR)".into(),
            ));
        }
        if !read_only {
            std::fs::create_dir_all(base).map_err(|e| Error::io(base, e))?;
        }
        let base = base.canonicalize().map_err(|e| Error::io(base, e))?;
        let root =
            Dir::open_ambient_dir(&base, ambient_authority()).map_err(|e| Error::io(&base, e))?;
        let files = Files { root, base, fsync };
        for dir in [MEDIA_DIR, STATE_DIR] {
            files.check_real_dir(dir)?;
            if !read_only {
                files
                    .root
                    .create_dir_all(dir)
                    .map_err(|e| files.err(dir, e))?;
            }
            files.check_real_dir(dir)?;
        }
        Ok(files)
    }

    /// The canonical base folder.
    pub(crate) fn base(&self) -> &Path {
        &self.base
    }

    /// Absolute path of `rel` (for messages and `file://` URLs).
    pub(crate) fn abs(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.base.join(rel)
    }

    fn err(&self, rel: impl AsRef<Path>, e: io::Error) -> Error {
        fs_error(self.abs(rel), e)
    }

    /// Refuses a symlink (or anything but a folder) at `rel`; a missing
    /// folder is fine (read-only stores may lack one).
    fn check_real_dir(&self, rel: &str) -> Result<()> {
        match self.root.symlink_metadata(rel) {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(m) if m.is_symlink() => Err(Error::PathEscape {
                path: self.abs(rel),
            }),
            Ok(_) => Err(Error::io(
                self.abs(rel),
                io::Error::other("expected a folder of the media store"),
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.err(rel, e)),
        }
    }

    /// Creates the media folder `rel` and its parents, inside the base
    /// folder only, and opens it at its real path (symlinks inside the store
    /// resolved), which must still be under `media/`, so what the index
    /// records is what `gc` finds when it walks without following symlinks.
    pub(crate) fn folder(&self, rel: &str) -> Result<Folder> {
        let escape = || Error::PathEscape {
            path: self.abs(rel),
        };
        if !inside_media(Path::new(rel)) {
            return Err(escape());
        }
        // Usually there already (an existing symlink to a folder is fine if
        // it stays inside); created when missing.
        let real = match self.root.canonicalize(rel) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.root
                    .create_dir_all(rel)
                    .map_err(|e| self.err(rel, e))?;
                self.root.canonicalize(rel)
            }
            found => found,
        };
        let real = real.map_err(|e| self.err(rel, e))?;
        let real = match real.to_str() {
            Some(r) if inside_media(&real) => r.to_owned(),
            _ => return Err(escape()),
        };
        Ok(Folder {
            dir: self.root.open_dir(&real).map_err(|e| self.err(&real, e))?,
            abs: self.abs(&real),
            rel: real,
            fsync: self.fsync,
        })
    }

    /// The folder of the media file at `location` (created if missing), and
    /// the file's name in it.
    pub(crate) fn folder_of<'l>(&self, location: &'l str) -> Result<(Folder, &'l str)> {
        let (dir, name) = location.rsplit_once('/').unwrap_or_default();
        Ok((self.folder(dir)?, name))
    }

    /// The absolute path of the media file `rel` for a caller outside the
    /// store (a `file://` URL): refused unless it is under `media/` and
    /// resolves inside the base folder.
    pub(crate) fn checked_abs(&self, rel: impl AsRef<Path>) -> Result<PathBuf> {
        let rel = self.media_path(rel.as_ref())?;
        self.root.metadata(rel).map_err(|e| self.err(rel, e))?;
        Ok(self.abs(rel))
    }

    /// Refuses a path the index gave that is not a plain path under `media/`.
    fn media_path<'p>(&self, rel: &'p Path) -> Result<&'p Path> {
        if inside_media(rel) {
            Ok(rel)
        } else {
            Err(Error::PathEscape {
                path: self.abs(rel),
            })
        }
    }

    /// Opens the regular file `rel` for reading, with its length; `None`
    /// when no regular file is there. Opened without blocking and checked
    /// before any read, so a named pipe or a device planted in the store is
    /// never waited on or read.
    fn open_regular(&self, rel: &Path) -> Result<Option<(cap_std::fs::File, u64)>> {
        let rel = self.media_path(rel)?;
        let mut options = OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        cap_std::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
        let opened = self.root.open_with(rel, &options).and_then(|file| {
            let meta = file.metadata()?;
            Ok(meta.is_file().then(|| (file, meta.len())))
        });
        match opened {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            opened => opened.map_err(|e| self.err(rel, e)),
        }
    }

    /// Reads the file `rel`, up to one byte more than `limit` (a file longer
    /// than expected is never read whole); `None` when no regular file is
    /// there.
    pub(crate) fn read(&self, rel: impl AsRef<Path>, limit: u64) -> Result<Option<Vec<u8>>> {
        let rel = rel.as_ref();
        let Some((file, len)) = self.open_regular(rel)? else {
            return Ok(None);
        };
        let limit = limit.saturating_add(1);
        let mut data = Vec::with_capacity(usize::try_from(len.min(limit)).unwrap_or(0));
        io::Read::read_to_end(&mut io::Read::take(file, limit), &mut data)
            .map_err(|e| self.err(rel, e))?;
        Ok(Some(data))
    }

    /// The BLAKE3 hash (hex) of the file `rel`, read in pieces (a large file
    /// is never held in memory), if it has `size` bytes: `Some(None)` when
    /// its length differs (it is not read), `None` when no regular file is
    /// there.
    pub(crate) fn hash(&self, rel: impl AsRef<Path>, size: u64) -> Result<Option<Option<String>>> {
        let rel = rel.as_ref();
        let Some((file, len)) = self.open_regular(rel)? else {
            return Ok(None);
        };
        if len != size {
            return Ok(Some(None));
        }
        let mut hasher = blake3::Hasher::new();
        hasher
            .update_reader(io::Read::take(file, size.saturating_add(1)))
            .map_err(|e| self.err(rel, e))?;
        Ok(Some(Some(hasher.finalize().to_hex().to_string())))
    }

    /// Whether a regular file is at `rel` (a symlink is not followed).
    pub(crate) fn is_file(&self, rel: impl AsRef<Path>) -> Result<bool> {
        let rel = self.media_path(rel.as_ref())?;
        match self.root.symlink_metadata(rel) {
            Ok(m) => Ok(m.is_file()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.err(rel, e)),
        }
    }

    /// Removes the file `rel` (never a folder, never through a symlink);
    /// whether it was there.
    pub(crate) fn remove(&self, rel: impl AsRef<Path>) -> Result<bool> {
        let rel = self.media_path(rel.as_ref())?;
        match self.root.remove_file(rel) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.err(rel, e)),
        }
    }

    /// Every regular file under `media/`, sorted, without following
    /// symlinks (a symlink is neither listed nor entered).
    pub(crate) fn walk_media(&self) -> Result<Vec<Found>> {
        let mut out = Vec::new();
        let mut dirs = vec![PathBuf::from(MEDIA_DIR)];
        while let Some(dir) = dirs.pop() {
            let entries = match self.root.read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(self.err(&dir, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| self.err(&dir, e))?;
                let rel = dir.join(entry.file_name());
                let ty = entry.file_type().map_err(|e| self.err(&rel, e))?;
                if ty.is_dir() {
                    dirs.push(rel);
                } else if ty.is_file() {
                    // Gone meanwhile (a concurrent delete): not listed.
                    let Ok(m) = entry.metadata() else { continue };
                    out.push(Found {
                        rel,
                        len: m.len(),
                        modified: m.modified().ok().map(|t| t.into_std()),
                    });
                }
            }
        }
        out.sort_by(|a, b| a.rel.cmp(&b.rel));
        Ok(out)
    }
}

/// Whether `rel` is a plain relative path under `media/` (no `..`, no root,
/// no prefix).
fn inside_media(rel: &Path) -> bool {
    use std::path::Component;
    let mut parts = rel.components();
    parts.next() == Some(Component::Normal(MEDIA_DIR.as_ref()))
        && parts.all(|c| matches!(c, Component::Normal(_)))
}

/// A file operation's error at `path`: one that cap-std refused because the
/// path resolves outside its folder is [`Error::PathEscape`].
fn fs_error(path: PathBuf, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::PermissionDenied && e.to_string().contains("outside") {
        Error::PathEscape { path }
    } else {
        Error::io(path, e)
    }
}

/// Whether a file name is one of the store's temporary files.
pub(crate) fn is_temp(rel: &Path) -> bool {
    rel.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(TEMP_PREFIX))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn only_plain_paths_under_media() {
        assert!(inside_media(Path::new("media/a/b.png")));
        assert!(!inside_media(Path::new("media/../x")));
        assert!(!inside_media(Path::new("/etc/passwd")));
        assert!(!inside_media(Path::new(".promptkit/index.sqlite3")));
        assert!(!inside_media(Path::new("media/../../../tmp/x")));
    }
}
