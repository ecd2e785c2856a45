//! Import of stores written in the first on-disk format (one JSON file per
//! reference in `.promptkit/refs/`, one per hash in `.promptkit/objects/`,
//! a counter in `.promptkit/generation`) into the journal.
//!
//! On open, under the store lock, every readable reference record missing
//! from the journal is appended to it (in one write), then the old files are
//! removed. A crash in between imports again on the next open, skipping the
//! references already in the journal. Unreadable record files are skipped
//! with a warning: their entries in the (version 1) sidecars are then
//! pruned by `gc`, as the old format's `gc` did for them. The imported
//! records have no owner fields: the owners stay in the sidecars' reference
//! lists, read from there until `gc` moves them into the journal (see
//! [`owners`](super::owners)).

use std::fs;
use std::io;
use std::path::Path;

use serde::Deserialize;

use super::index::walk_files;
use super::journal::{JOURNAL_VERSION, Record, RecordOwner, RefRecord};
use super::ops::Inner;
use super::paths::{GENERATION_FILE, OBJECTS_DIR, REFS_DIR, TEMP_PREFIX};
use super::records::{read_json, remove_if_exists};
use crate::{Error, Result};

/// `.promptkit/refs/<id>.json` of the old format.
#[derive(Debug, Deserialize)]
struct OldRefRecord {
    path: String,
    blake3: String,
    mime_type: String,
    size_bytes: u64,
}

/// `.promptkit/objects/<blake3>.json` of the old format.
#[derive(Debug, Deserialize)]
struct OldObjectRecord {
    path: String,
}

/// Whether the store holds files of the old format.
pub(crate) fn present(inner: &Inner) -> bool {
    let state = inner.state_dir();
    [REFS_DIR, OBJECTS_DIR, GENERATION_FILE]
        .iter()
        .any(|n| fs::symlink_metadata(state.join(n)).is_ok())
}

/// Imports the old records into the journal and removes them (lock held).
pub(crate) fn import(inner: &Inner) -> Result<()> {
    let state = inner.state_dir();
    let objects = state.join(OBJECTS_DIR);
    let mut files = Vec::new();
    for file in walk_files(&state.join(REFS_DIR))? {
        let Some(name) = file.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(id) = name.strip_suffix(".json") else {
            continue;
        };
        if !name.starts_with(TEMP_PREFIX) {
            files.push((id.to_owned(), file.clone()));
        }
    }
    {
        let known = inner.journal.view()?;
        files.retain(|(id, _)| !known.contains(id));
    }
    let mut recs = Vec::new();
    for (id, file) in files {
        let rec = match read_json::<OldRefRecord>(&file) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(record = %file.display(), error = %e, "skipping an unreadable legacy reference record");
                continue;
            }
        };
        let dedup = read_json::<OldObjectRecord>(&objects.join(format!("{}.json", rec.blake3)))
            .ok()
            .flatten()
            .is_some_and(|o| o.path == rec.path);
        recs.push(Record::Add {
            v: JOURNAL_VERSION,
            id,
            rec: RefRecord {
                path: rec.path,
                blake3: rec.blake3,
                mime_type: rec.mime_type,
                size_bytes: rec.size_bytes,
                dedup,
                probe: None,
            },
            // The owners are in the sidecars (see `owners`).
            owner: RecordOwner::default(),
        });
    }
    recs.sort_by(|a, b| match (a, b) {
        (Record::Add { id: x, .. }, Record::Add { id: y, .. }) => x.cmp(y),
        _ => std::cmp::Ordering::Equal,
    });
    if !recs.is_empty() {
        inner.append(&recs)?;
        tracing::info!(
            store = %inner.base.display(),
            references = recs.len(),
            "imported legacy reference records into the journal"
        );
    }
    for dir in [REFS_DIR, OBJECTS_DIR] {
        remove_dir_all(&state.join(dir))?;
    }
    remove_if_exists(&state.join(GENERATION_FILE))?;
    inner.invalidate();
    Ok(())
}

fn remove_dir_all(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(dir, e)),
    }
}
