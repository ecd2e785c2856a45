//! The locked step of a store: attach a reference to identical content
//! already stored, or move the prepared temp files to their final names;
//! then append the journal record (the acknowledgment).
//!
//! A dedup hit writes one journal line (the reference and its owner) and
//! nothing else: the sidecar of the existing file is not read or rewritten,
//! so the hit costs the same however many references the content has.

use std::fs;
use std::path::{Path, PathBuf};

use super::index::Change;
use super::journal::{JOURNAL_VERSION, Record, RecordOwner, RefRecord};
use super::ops::{Inner, NewMedia, Prepared, rel_string};
use super::paths::{self, check_relative};
use super::records::{
    FORMAT_VERSION, MediaSidecar, Owner, TempFile, read_json, sidecar_path, write_json,
    write_json_with,
};
use crate::{Error, Result, StorageReference, extension_for_mime};

/// The file name of new media: the hash's first 32 hex digits with
/// deduplication, else the reference id; then the MIME type's extension.
pub(crate) fn media_name(new: &NewMedia, hash: &str, dedup: bool) -> String {
    let stem = if dedup { &hash[..32] } else { new.id.as_str() };
    format!("{stem}.{}", extension_for_mime(&new.mime_type))
}

/// The owner a store records for its reference.
fn owner(inner: &Inner, new: &NewMedia) -> Owner {
    Owner::new(&new.metadata, inner.config.default_policy, new.now)
}

/// The sidecar of new content: what the file holds, and this store's owner.
pub(crate) fn fresh_sidecar(inner: &Inner, new: &NewMedia, hash: &str) -> MediaSidecar {
    let dedup = inner.config.enable_deduplication;
    MediaSidecar {
        version: FORMAT_VERSION,
        file: media_name(new, hash, dedup),
        mime_type: new.mime_type.clone(),
        size_bytes: new.data.len() as u64,
        blake3: hash.to_owned(),
        deduplicated: dedup,
        owner: owner(inner, new),
    }
}

/// Whether `path` is a regular file (not a symlink).
fn is_file(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
}

impl Inner {
    /// Where a hash's deduplicated media lives, if it is intact (the media
    /// and its sidecar are regular files; neither is read): the relative
    /// path.
    fn dedup_target(&self, path: &str, hash: &str) -> Result<Option<PathBuf>> {
        let Ok(rel) = check_relative(path) else {
            return Ok(None);
        };
        // The directory is checked to be inside the store (and remembered),
        // the files to be regular files, not symlinks.
        let (Some(parent), Some(name)) = (rel.parent(), rel.file_name()) else {
            return Ok(None);
        };
        let dir = match self.checked_dir(parent, hash) {
            Ok(d) => d,
            Err(Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let media = dir.join(name);
        let intact = is_file(&media) && is_file(&sidecar_path(&media));
        Ok(intact.then_some(rel))
    }

    /// Commits a store (the lock held): adds a reference to existing
    /// identical content, or moves the media temp file (written beforehand,
    /// or now) to its final name and puts its sidecar in place; then appends
    /// the journal record. Returns the new reference.
    pub(crate) fn commit_store(
        &self,
        new: &NewMedia,
        prepared: Prepared,
    ) -> Result<StorageReference> {
        let fsync = self.config.fsync;
        let Prepared {
            hash,
            media: temp,
            sidecar: sidecar_temp,
            fresh,
        } = prepared;
        let reference = paths::reference_for(&new.id)?;
        let dedup = self.config.enable_deduplication;
        // Refreshed under the lock: nobody else appends until it is released.
        let hint = self.dedup_hint(&hash)?;
        let existing = match hint.filter(|_| dedup) {
            Some(path) => self.dedup_target(&path, &hash)?,
            None => None,
        };
        let rel = match existing {
            // A dedup hit: the journal line below is all it writes.
            Some(rel) => rel,
            None => {
                let dir = self.prepare_dir(&new.rel_dir)?;
                let temp = match temp {
                    Some(t) => t,
                    None => TempFile::write(&dir, &new.data, fsync)?,
                };
                let name = media_name(new, &hash, dedup);
                // Records hold the canonical path (symlinked directories inside
                // the store resolved), the one `gc` and the index walk.
                let rel = dir
                    .strip_prefix(&self.base)
                    .map_err(|_| Error::PathEscape { path: dir.clone() })?
                    .join(&name);
                let media = dir.join(&name);
                temp.persist(&media, fsync)?;
                self.new_content_sidecar(new, &hash, &rel, &media, sidecar_temp, fresh)?;
                rel
            }
        };
        let owner = owner(self, new);
        let path = rel_string(&rel)?;
        let record = Record::Add {
            v: JOURNAL_VERSION,
            id: new.id.clone(),
            rec: RefRecord {
                path: path.clone(),
                blake3: hash,
                mime_type: new.mime_type.clone(),
                size_bytes: new.data.len() as u64,
                dedup,
                probe: Some(new.probe),
            },
            owner: RecordOwner::of(&owner),
        };
        let gens = self.append(&[record])?;
        self.commit(
            gens,
            Change::Add {
                path: &path,
                size: new.data.len() as u64,
                id: &new.id,
                mime: &new.mime_type,
                owner: &owner,
            },
        );
        Ok(reference)
    }

    /// Puts the sidecar of media just moved to `media` in place (lock held).
    /// A readable sidecar of this content already at this name (its media
    /// had gone missing under live references) stays as it is; any other
    /// (left by an interrupted store) is replaced, by the prepared one when
    /// it was written before the lock.
    fn new_content_sidecar(
        &self,
        new: &NewMedia,
        hash: &str,
        rel: &Path,
        media: &Path,
        temp: Option<TempFile>,
        fresh: Option<MediaSidecar>,
    ) -> Result<()> {
        let fsync = self.config.fsync;
        let file = sidecar_path(media);
        let rel_str = rel_string(rel)?;
        let live =
            self.config.enable_deduplication && self.journal.peek(|j| j.refs_of(&rel_str) > 0);
        if live && matches!(read_json::<MediaSidecar>(&file), Ok(Some(s)) if s.blake3 == hash) {
            return Ok(());
        }
        match (temp, fresh) {
            // Written before the lock, in this directory, for this hash (the
            // sidecar depends on nothing else that could have changed).
            (Some(t), Some(sidecar)) if t.path().parent() == file.parent() => {
                debug_assert!(sidecar == fresh_sidecar(self, new, hash));
                if t.persist(&file, fsync).is_err() {
                    // Removed meanwhile (a `gc` sweeps temp files): write it now.
                    write_json(&file, &sidecar, fsync)?;
                }
            }
            (t, _) => write_json_with(t, &file, &fresh_sidecar(self, new, hash), fsync)?,
        }
        Ok(())
    }
}
