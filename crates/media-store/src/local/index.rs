//! The in-memory index the statistics and lifecycle operations read instead
//! of every file.
//!
//! Every mutation (in any process) appends to the journal while holding the
//! store lock, and compaction replaces it: the journal's identity and length
//! are the index's generation. A store applies its own mutations to the
//! index incrementally, one reference at a time (a store or delete costs
//! the same however many references share the file); when it finds the
//! journal moved by someone else, it rebuilds the index from the sidecars
//! (which files exist, their sizes) and the journal (the live references
//! and their owners, see [`owners`](super::owners)). The media itself is
//! never read.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::compact::{IdMap, Strings};
use super::journal::Generation;
use super::ops::{Inner, rel_string};
use super::owners::{Replayed, legacy_owners, replay};
use super::paths::{MEDIA_DIR, META_SUFFIX, TEMP_PREFIX};
use super::records::{MediaSidecar, Owner, read_json, sidecar_path};
use crate::{Error, Result, RetentionPolicy, StorageStats, TypeStats};

/// A media file, by the first 16 bytes of the BLAKE3 hash of its path
/// (relative to the base dir, `/`-separated): no path text is kept.
type FileKey = [u8; 16];

fn file_key(path: &str) -> FileKey {
    let mut k = [0u8; 16];
    k.copy_from_slice(&blake3::hash(path.as_bytes()).as_bytes()[..16]);
    k
}

/// What the index keeps: per media file its size and reference count, per
/// reference what statistics and retention read, with repeated strings
/// (MIME types, conversation and session ids) interned. About 70 bytes per
/// file and 130 per reference (hash map slack included).
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// Generation this index reflects; `None` when it must be rebuilt.
    pub(crate) generation: Option<Generation>,
    files: HashMap<FileKey, FileEntry>,
    refs: IdMap<RefEntry>,
    /// MIME types, conversation ids and session ids.
    strings: Strings,
}

#[derive(Debug)]
struct FileEntry {
    size: u64,
    refs: u32,
}

/// No interned string (a reference without conversation or session).
const NONE: u32 = u32::MAX;

#[derive(Debug)]
struct RefEntry {
    file: FileKey,
    size: u64,
    created: OffsetDateTime,
    mime: u32,
    conversation: u32,
    session: u32,
    policy: RetentionPolicy,
}

/// A reference as retention sees it.
#[derive(Debug)]
pub(crate) struct RefView<'a> {
    pub(crate) id: String,
    pub(crate) policy: RetentionPolicy,
    pub(crate) created_at: OffsetDateTime,
    pub(crate) conversation_id: Option<&'a str>,
}

impl RefView<'_> {
    /// Whether the reference's retention period is over at `now`.
    pub(crate) fn is_expired(&self, now: OffsetDateTime) -> bool {
        crate::lifecycle::is_expired(self.policy, self.created_at, now)
    }
}

/// One mutation of the store, as the index follows it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Change<'a> {
    /// A reference added to the media at `path` (of `size` bytes).
    Add {
        path: &'a str,
        size: u64,
        id: &'a str,
        mime: &'a str,
        owner: &'a Owner,
    },
    /// A reference dropped.
    Remove { id: &'a str },
}

impl Index {
    fn intern(&mut self, s: Option<&str>) -> u32 {
        s.map_or(NONE, |s| self.strings.intern(s))
    }

    fn release(&mut self, i: u32) {
        if i != NONE {
            self.strings.release(i);
        }
    }

    fn text(&self, i: u32) -> Option<&str> {
        (i != NONE).then(|| self.strings.get(i))
    }

    /// Adds (or replaces) a reference to the media at `path`.
    fn add(&mut self, path: &str, size: u64, id: &str, mime: &str, owner: &Owner) {
        self.remove(id);
        let file = file_key(path);
        self.files
            .entry(file)
            .or_insert(FileEntry { size, refs: 0 })
            .refs += 1;
        let entry = RefEntry {
            file,
            size,
            created: owner.created_at,
            mime: self.strings.intern(mime),
            conversation: self.intern(owner.conversation_id.as_deref()),
            session: self.intern(owner.session_id.as_deref()),
            policy: owner.retention_policy,
        };
        self.refs.insert(id, entry);
    }

    /// Drops a reference (and its file with its last one); an unknown id is
    /// ignored.
    fn remove(&mut self, id: &str) {
        let Some(old) = self.refs.remove(id) else {
            return;
        };
        self.release(old.mime);
        self.release(old.conversation);
        self.release(old.session);
        if let Some(f) = self.files.get_mut(&old.file) {
            f.refs -= 1;
            if f.refs == 0 {
                self.files.remove(&old.file);
            }
        }
    }

    /// Follows a mutation made under the lock that moved the journal from
    /// `seen` to `next` (a stale index is left for a rebuild).
    pub(crate) fn apply(&mut self, seen: Generation, next: Generation, change: Change<'_>) {
        if self.generation != Some(seen) {
            self.generation = None;
            return;
        }
        match change {
            Change::Add {
                path,
                size,
                id,
                mime,
                owner,
            } => self.add(path, size, id, mime, owner),
            Change::Remove { id } => self.remove(id),
        }
        self.generation = Some(next);
    }

    /// Indexes the live references of every media file whose sidecar and
    /// media exist (and whose hash they have): the sidecars say which files
    /// and their sizes, a replay of the journal the references and owners.
    pub(crate) fn rebuild(inner: &Inner, generation: Generation) -> Result<Index> {
        let mut files: HashMap<String, (PathBuf, MediaSidecar)> = HashMap::new();
        for (rel, sidecar) in scan(&inner.base)? {
            if let Ok(path) = rel_string(&rel) {
                files.insert(path, (rel, sidecar));
            }
        }
        let mut idx = Index::default();
        // References whose record has no owner (written before owners
        // moved into the journal): id -> path.
        let mut ownerless: HashMap<String, String> = HashMap::new();
        replay(inner, |event| match event {
            Replayed::Add(r) => {
                idx.remove(&r.id);
                if !ownerless.is_empty() {
                    ownerless.remove(&r.id);
                }
                let Some((_, sidecar)) = files.get(&r.rec.path) else {
                    return;
                };
                if r.rec.blake3 != sidecar.blake3 {
                    return;
                }
                match &r.owner {
                    Some(o) => idx.add(&r.rec.path, sidecar.size_bytes, &r.id, &r.rec.mime_type, o),
                    None => {
                        ownerless.insert(r.id, r.rec.path);
                    }
                }
            }
            Replayed::Remove(id) => {
                idx.remove(&id);
                if !ownerless.is_empty() {
                    ownerless.remove(&id);
                }
            }
        })?;
        let mut by_path: HashMap<String, Vec<String>> = HashMap::new();
        for (id, path) in ownerless {
            by_path.entry(path).or_default().push(id);
        }
        for (path, ids) in by_path {
            let (rel, sidecar) = &files[&path];
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            let owners = legacy_owners(&sidecar_path(&inner.base.join(rel)), sidecar, &ids);
            for (id, owner) in owners {
                // The MIME type of the record is the one this reference
                // declared; the sidecar's is the file's first.
                let mime = inner
                    .journal
                    .peek(|j| j.get(&id))
                    .map_or_else(|| sidecar.mime_type.clone(), |r| r.mime_type);
                idx.add(&path, sidecar.size_bytes, &id, &mime, &owner);
            }
        }
        idx.files.shrink_to_fit();
        idx.refs.shrink_to_fit();
        idx.generation = Some(generation);
        Ok(idx)
    }

    /// Every indexed reference.
    pub(crate) fn references(&self) -> impl Iterator<Item = RefView<'_>> {
        self.refs.iter().map(|(id, r)| RefView {
            id,
            policy: r.policy,
            created_at: r.created,
            conversation_id: self.text(r.conversation),
        })
    }

    /// Statistics over the indexed files.
    pub(crate) fn stats(&self) -> StorageStats {
        let mut s = StorageStats::default();
        fn add(map: &mut std::collections::BTreeMap<String, TypeStats>, key: &str, size: u64) {
            let e = map.entry(key.to_owned()).or_default();
            e.references += 1;
            e.logical_bytes += size;
        }
        for f in self.files.values() {
            s.objects += 1;
            s.physical_bytes += f.size;
        }
        for r in self.refs.values() {
            s.references += 1;
            s.logical_bytes += r.size;
            add(&mut s.by_mime, self.strings.get(r.mime), r.size);
            add(
                &mut s.by_conversation,
                self.text(r.conversation).unwrap_or("-"),
                r.size,
            );
            add(
                &mut s.by_session,
                self.text(r.session).unwrap_or("-"),
                r.size,
            );
        }
        s
    }
}

/// Every sidecar under `base/media` whose media file exists, with the media
/// path relative to `base`. An unreadable sidecar is skipped here; `gc` and
/// `verify` report it.
pub(crate) fn scan(base: &Path) -> Result<Vec<(PathBuf, MediaSidecar)>> {
    let mut out = Vec::new();
    for meta in walk_files(&base.join(MEDIA_DIR))? {
        let Some(name) = meta.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(media_name) = name.strip_suffix(META_SUFFIX) else {
            continue;
        };
        if name.starts_with(TEMP_PREFIX) {
            continue;
        }
        let media = meta.with_file_name(media_name);
        if !media.is_file() {
            continue;
        }
        let Ok(Some(sidecar)) = read_json::<MediaSidecar>(&meta) else {
            continue;
        };
        if let Ok(rel) = media.strip_prefix(base) {
            out.push((rel.to_path_buf(), sidecar));
        }
    }
    Ok(out)
}

/// Every regular file under `dir`, recursively; symlinks (to files or
/// directories) are neither followed nor listed, since the store never
/// creates any. An absent `dir` is empty.
pub(crate) fn walk_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(&d, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&d, e))?;
            let ty = entry.file_type().map_err(|e| Error::io(entry.path(), e))?;
            if ty.is_dir() {
                stack.push(entry.path());
            } else if ty.is_file() {
                out.push(entry.path());
            }
        }
    }
    Ok(out)
}
