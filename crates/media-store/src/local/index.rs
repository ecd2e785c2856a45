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

use super::journal::Generation;
use super::paths::{MEDIA_DIR, META_SUFFIX, TEMP_PREFIX};
use super::records::{MediaSidecar, read_json};
use crate::{Error, Result, StorageStats, TypeStats};

/// The sidecars of every media file, by media path relative to the base dir.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// Generation this index reflects; `None` when it must be rebuilt.
    pub(crate) generation: Option<Generation>,
    pub(crate) objects: HashMap<PathBuf, MediaSidecar>,
}

impl Index {
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
            Some(s) => {
                self.objects.insert(rel.to_path_buf(), s.clone());
            }
            None => {
                self.objects.remove(rel);
            }
        }
        self.generation = Some(next);
    }

    /// Reads every sidecar under `base/media` whose media file exists.
    pub(crate) fn rebuild(base: &Path, generation: Generation) -> Result<Index> {
        let mut objects = HashMap::new();
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
            // An unreadable sidecar is skipped here; `gc` and `verify` report it.
            let Ok(Some(sidecar)) = read_json::<MediaSidecar>(&meta) else {
                continue;
            };
            if let Ok(rel) = media.strip_prefix(base) {
                objects.insert(rel.to_path_buf(), sidecar);
            }
        }
        Ok(Index {
            generation: Some(generation),
            objects,
        })
    }

    /// Statistics over the indexed sidecars.
    pub(crate) fn stats(&self) -> StorageStats {
        let mut s = StorageStats::default();
        fn add(map: &mut std::collections::BTreeMap<String, TypeStats>, key: &str, size: u64) {
            let e = map.entry(key.to_owned()).or_default();
            e.references += 1;
            e.logical_bytes += size;
        }
        for sc in self.objects.values() {
            s.objects += 1;
            s.physical_bytes += sc.size_bytes;
            for r in &sc.references {
                s.references += 1;
                s.logical_bytes += sc.size_bytes;
                add(&mut s.by_mime, &r.mime_type, sc.size_bytes);
                let conv = r.owner.conversation_id.as_deref().unwrap_or("-");
                add(&mut s.by_conversation, conv, sc.size_bytes);
                let sess = r.owner.session_id.as_deref().unwrap_or("-");
                add(&mut s.by_session, sess, sc.size_bytes);
            }
        }
        s
    }
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
