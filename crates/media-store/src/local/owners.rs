//! The owners of live references, read back from the journal on demand.
//!
//! The in-memory [live state](super::live) keeps no owner (conversation,
//! session, run, user ids, position, provider, policy, creation time): at
//! ~250 bytes per reference it could not. Each reference's owner is in its
//! journal `add` record, and the operations that need owners (`list`, the
//! statistics index, retention, compaction) replay the journal file up to
//! what the view has replayed, with [`replay`].
//!
//! Records written before owners moved into the journal (journal version 1,
//! legacy imports) have none: their owner is in the version 1 sidecar of
//! their media, whose `references` list named every reference of its time
//! ([`legacy_owners`]); a reference missing from it gets the sidecar's own
//! owner, as `gc` used to give it when it re-added it there. Compaction
//! (every `gc`) writes those owners into the journal.

use std::collections::HashMap;
use std::path::Path;

use super::journal::{Record, RecordOwner, RefRecord};
use super::lines::for_each_record;
use super::ops::Inner;
use super::records::{LegacyReferences, LiveReference, MediaSidecar, Owner, read_json};
use crate::Result;

/// A live reference as the journal has it: where it points and, when its
/// record has one, its owner.
#[derive(Debug)]
pub(crate) struct JournalRef {
    pub(crate) id: String,
    pub(crate) rec: RefRecord,
    pub(crate) owner: Option<Owner>,
}

/// A replayed record (handed over one at a time: the size of `Add` does
/// not matter).
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Replayed {
    /// An `add`, with its owner if the record has one.
    Add(JournalRef),
    /// A `remove` of this id.
    Remove(String),
}

/// Replays the journal as `inner`'s view has replayed it (refreshed first),
/// calling `f` with each record in order. Takes no lock; the view is not
/// held while the file is read.
pub(crate) fn replay(inner: &Inner, mut f: impl FnMut(Replayed)) -> Result<()> {
    let Some((file, path, upto)) = inner.journal.view()?.replayed() else {
        return Ok(());
    };
    for_each_record(&file, &path, upto, |_, rec| {
        f(match rec {
            Record::Add { id, rec, owner, .. } => Replayed::Add(JournalRef {
                id,
                rec,
                owner: owner.owner(),
            }),
            Record::Remove { id, .. } => Replayed::Remove(id),
        });
        Ok(())
    })
}

/// Every live reference, grouped by media path.
pub(crate) fn by_path(inner: &Inner) -> Result<HashMap<String, Vec<JournalRef>>> {
    let mut live: HashMap<String, JournalRef> = HashMap::new();
    replay(inner, |r| match r {
        Replayed::Add(r) => {
            live.insert(r.id.clone(), r);
        }
        Replayed::Remove(id) => {
            live.remove(&id);
        }
    })?;
    let mut out: HashMap<String, Vec<JournalRef>> = HashMap::new();
    for (_, r) in live {
        out.entry(r.rec.path.clone()).or_default().push(r);
    }
    for refs in out.values_mut() {
        refs.sort_by(|a, b| a.id.cmp(&b.id));
    }
    Ok(out)
}

/// The owners of references whose journal record has none, from the
/// version 1 sidecar at `sidecar_file` (its `references` list; the sidecar's
/// own owner for a reference it does not list, or when it cannot be read).
/// Reads the sidecar only when `ids` is not empty.
pub(crate) fn legacy_owners(
    sidecar_file: &Path,
    sidecar: &MediaSidecar,
    ids: &[&str],
) -> HashMap<String, Owner> {
    let mut out = HashMap::new();
    if ids.is_empty() {
        return out;
    }
    let listed = read_json::<LegacyReferences>(sidecar_file)
        .ok()
        .flatten()
        .unwrap_or_default();
    let mut by_id: HashMap<String, Owner> = listed
        .references
        .into_iter()
        .map(|r| (r.id, r.owner))
        .collect();
    for id in ids {
        let owner = by_id.remove(*id).unwrap_or_else(|| sidecar.owner.clone());
        out.insert((*id).to_owned(), owner);
    }
    out
}

/// The live references of one media file with their owners: the journal's
/// references to it (`refs`, those with the sidecar's hash), the owners of
/// records without one taken from the sidecar.
pub(crate) fn resolve(
    sidecar_file: &Path,
    sidecar: &MediaSidecar,
    refs: Vec<JournalRef>,
) -> Vec<LiveReference> {
    let refs: Vec<JournalRef> = refs
        .into_iter()
        .filter(|r| r.rec.blake3 == sidecar.blake3)
        .collect();
    let missing: Vec<&str> = refs
        .iter()
        .filter(|r| r.owner.is_none())
        .map(|r| r.id.as_str())
        .collect();
    let mut legacy = legacy_owners(sidecar_file, sidecar, &missing);
    refs.into_iter()
        .map(|r| {
            let owner = r
                .owner
                .or_else(|| legacy.remove(&r.id))
                .unwrap_or_else(|| sidecar.owner.clone());
            LiveReference {
                id: r.id,
                mime_type: r.rec.mime_type,
                owner,
            }
        })
        .collect()
}

/// Writes into the records without an owner (`recs`, as compaction is about
/// to write them) the owner their media's sidecar names: the migration of
/// owners from version 1 sidecars into the journal. Records whose sidecar
/// cannot be read keep none (and `list`, stats and retention skip their
/// file, as they skip any file without a readable sidecar).
pub(crate) fn fold_legacy(inner: &Inner, recs: &mut [(String, RefRecord, RecordOwner)]) {
    let mut by_path: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, (_, rec, owner)) in recs.iter().enumerate() {
        if !owner.has_owner() {
            by_path.entry(rec.path.clone()).or_default().push(i);
        }
    }
    for (path, at) in by_path {
        let Ok(rel) = super::paths::check_relative(&path) else {
            continue;
        };
        let file = super::records::sidecar_path(&inner.abs(&rel));
        let Ok(Some(sidecar)) = read_json::<MediaSidecar>(&file) else {
            continue;
        };
        let ids: Vec<&str> = at.iter().map(|&i| recs[i].0.as_str()).collect();
        let owners = legacy_owners(&file, &sidecar, &ids);
        for i in at {
            if let Some(o) = owners.get(&recs[i].0) {
                recs[i].2 = RecordOwner::of(o);
            }
        }
    }
}
