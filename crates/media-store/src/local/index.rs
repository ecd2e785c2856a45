//! The in-memory index the statistics and lifecycle operations read instead
//! of every file.
//!
//! Every mutation (in any process) appends to the journal while holding the
//! store lock, and compaction replaces it: the journal's identity and length
//! are the index's generation. A store applies its own mutations to the
//! index incrementally; when it finds the journal moved by someone else, it
//! rebuilds the index from the sidecars (small JSON files; the media itself
//! is never read).

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::compact::{HexId, Strings, id_text, parse_id};
use super::journal::Generation;
use super::paths::{MEDIA_DIR, META_SUFFIX, TEMP_PREFIX};
use super::records::{MediaSidecar, read_json};
use crate::{Error, Result, RetentionPolicy, StorageStats, TypeStats};

/// What the index keeps of every media file: the parts of its sidecar that
/// statistics and retention read, with repeated strings (MIME types,
/// conversation and session ids) interned. About 60 bytes per reference
/// and 100 per file, where a copy of the sidecar took several hundred.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// Generation this index reflects; `None` when it must be rebuilt.
    pub(crate) generation: Option<Generation>,
    /// By media path relative to the base dir.
    files: HashMap<PathBuf, FileEntry>,
    /// MIME types, conversation ids and session ids.
    strings: Strings,
}

#[derive(Debug)]
struct FileEntry {
    size: u64,
    refs: Box<[RefEntry]>,
}

/// A reference id: 32 lowercase hex digits as 16 bytes, or its text.
#[derive(Debug)]
enum RefId {
    Hex(HexId),
    Text(Box<str>),
}

/// No interned string (a reference without conversation or session).
const NONE: u32 = u32::MAX;

#[derive(Debug)]
struct RefEntry {
    id: RefId,
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

    /// Adds (or replaces) the entry of `rel` from its sidecar.
    fn insert(&mut self, rel: PathBuf, sidecar: &MediaSidecar) {
        self.remove(&rel);
        let refs = sidecar
            .references
            .iter()
            .map(|r| RefEntry {
                id: parse_id(&r.id).map_or_else(|| RefId::Text(r.id.as_str().into()), RefId::Hex),
                created: r.owner.created_at,
                mime: self.strings.intern(&r.mime_type),
                conversation: self.intern(r.owner.conversation_id.as_deref()),
                session: self.intern(r.owner.session_id.as_deref()),
                policy: r.owner.retention_policy,
            })
            .collect();
        self.files.insert(
            rel,
            FileEntry {
                size: sidecar.size_bytes,
                refs,
            },
        );
    }

    fn remove(&mut self, rel: &Path) {
        if let Some(old) = self.files.remove(rel) {
            for r in old.refs.iter() {
                self.release(r.mime);
                self.release(r.conversation);
                self.release(r.session);
            }
        }
    }

    /// Records the sidecar of `rel` after a mutation made under the lock
    /// that moved the journal from `seen` to `next`.
    pub(crate) fn apply(
        &mut self,
        seen: Generation,
        next: Generation,
        rel: &Path,
        sidecar: Option<&MediaSidecar>,
    ) {
        if self.generation != Some(seen) {
            self.generation = None;
            return;
        }
        match sidecar {
            Some(s) => self.insert(rel.to_path_buf(), s),
            None => self.remove(rel),
        }
        self.generation = Some(next);
    }

    /// Reads every sidecar under `base/media` whose media file exists.
    pub(crate) fn rebuild(base: &Path, generation: Generation) -> Result<Index> {
        let mut idx = Index::default();
        for (rel, sidecar) in scan(base)? {
            idx.insert(rel, &sidecar);
        }
        idx.files.shrink_to_fit();
        idx.generation = Some(generation);
        Ok(idx)
    }

    /// The references of every indexed file.
    pub(crate) fn references(&self) -> impl Iterator<Item = RefView<'_>> {
        self.files
            .values()
            .flat_map(|f| f.refs.iter())
            .map(|r| RefView {
                id: match &r.id {
                    RefId::Hex(h) => id_text(*h),
                    RefId::Text(t) => t.to_string(),
                },
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
            for r in f.refs.iter() {
                s.references += 1;
                s.logical_bytes += f.size;
                add(&mut s.by_mime, self.strings.get(r.mime), f.size);
                add(
                    &mut s.by_conversation,
                    self.text(r.conversation).unwrap_or("-"),
                    f.size,
                );
                add(
                    &mut s.by_session,
                    self.text(r.session).unwrap_or("-"),
                    f.size,
                );
            }
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
