//! The text a journal compaction writes: the live `add` records, read back
//! from the journal file with their owners (the in-memory state has none)
//! and streamed to the new file.
//!
//! Two passes over the file: the first replays it to find the offset of the
//! `add` line of each live reference (its last one: an id added again
//! replaces its record), the second writes those lines, in journal order, as
//! records of the current version. Memory: one small map entry per live
//! reference, not the records themselves. Records without an owner (written
//! before owners moved into the journal) are held back and written last,
//! after `fold` gave them the owner their sidecar names.

use std::collections::HashSet;
use std::fs::File;
use std::path::Path;

use super::compact::IdMap;
use super::journal::{JOURNAL_VERSION, Record, RecordOwner, RefRecord, line};
use super::lines::for_each_record;
use super::records::TempFile;
use crate::{Error, Result};

/// Bytes gathered before a write to the new file.
const FLUSH_AT: usize = 1 << 20;

/// Writes to `out` the live records of the first `upto` bytes of the
/// journal `file`, minus `drop`; `fold` may give owners to records without
/// one. `expected` is the number of live references the replayed state has
/// (minus the dropped ones): a different count read back is an error, and
/// nothing is written then. Returns the number of records written.
pub(crate) fn write_live(
    (file, path, upto): (&File, &Path, u64),
    drop: &HashSet<&str>,
    expected: usize,
    fold: impl FnOnce(&mut [(String, RefRecord, RecordOwner)]),
    out: &mut TempFile,
) -> Result<usize> {
    // Offsets of the live `add` lines, by reference id.
    let mut last: IdMap<u64> = IdMap::default();
    for_each_record(file, path, upto, |at, rec| {
        match rec {
            Record::Add { id, .. } if !drop.contains(id.as_str()) => last.insert(&id, at),
            Record::Add { id, .. } | Record::Remove { id, .. } => {
                last.remove(&id);
            }
        }
        Ok(())
    })?;
    if last.len() != expected {
        return Err(Error::Corrupt {
            reference: path.display().to_string(),
            message: format!(
                "compaction read {} live records back, the replay has {expected}",
                last.len()
            ),
        });
    }
    let mut buf = Vec::new();
    let mut held_back = Vec::new();
    let mut written = 0;
    for_each_record(file, path, upto, |at, rec| {
        let Record::Add { id, rec, owner, .. } = rec else {
            return Ok(());
        };
        if last.get(&id) != Some(&at) {
            return Ok(());
        }
        if !owner.has_owner() {
            held_back.push((id, rec, owner));
            return Ok(());
        }
        push_add(&mut buf, id, rec, owner)?;
        written += 1;
        if buf.len() >= FLUSH_AT {
            out.append(&buf)?;
            buf.clear();
        }
        Ok(())
    })?;
    fold(&mut held_back);
    for (id, rec, owner) in held_back {
        push_add(&mut buf, id, rec, owner)?;
        written += 1;
    }
    out.append(&buf)?;
    Ok(written)
}

/// Appends the line of an `add` record in the current journal version.
fn push_add(buf: &mut Vec<u8>, id: String, rec: RefRecord, owner: RecordOwner) -> Result<()> {
    buf.extend(line(&Record::Add {
        v: JOURNAL_VERSION,
        id,
        rec,
        owner,
    })?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::records::Owner;
    use crate::{MediaMetadata, RetentionPolicy};
    use time::OffsetDateTime;

    fn add(id: &str, path: &str, conv: Option<&str>) -> Record {
        let owner = conv.map_or_else(RecordOwner::default, |c| {
            RecordOwner::of(&Owner::new(
                &MediaMetadata::new().with_conversation(c),
                RetentionPolicy::Retain,
                OffsetDateTime::UNIX_EPOCH,
            ))
        });
        Record::Add {
            v: 1,
            id: id.into(),
            rec: RefRecord {
                path: path.into(),
                blake3: "ab".repeat(32),
                mime_type: "image/png".into(),
                size_bytes: 3,
                dedup: true,
                probe: None,
            },
            owner,
        }
    }

    fn remove(id: &str) -> Record {
        Record::Remove {
            v: 1,
            id: id.into(),
        }
    }

    #[test]
    fn the_last_add_of_each_live_id_is_written_with_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let recs = [
            add("a", "media/1.png", Some("first")),
            add("b", "media/1.png", None),
            remove("a"),
            add("c", "media/2.png", Some("c")),
            add("a", "media/2.png", Some("second")),
            add("d", "media/2.png", Some("d")),
            remove("d"),
            add("e", "media/3.png", Some("dropped")),
        ];
        let text: Vec<u8> = recs.iter().flat_map(|r| line(r).unwrap()).collect();
        std::fs::write(&path, &text).unwrap();
        let file = File::open(&path).unwrap();
        let mut out = TempFile::create(dir.path()).unwrap();
        let drop = HashSet::from(["e"]);
        let fold = |held: &mut [(String, RefRecord, RecordOwner)]| {
            assert_eq!(held.len(), 1);
            assert_eq!(held[0].0, "b");
            held[0].2 = RecordOwner::of(&Owner::new(
                &MediaMetadata::new().with_conversation("from-sidecar"),
                RetentionPolicy::RetainDays(1),
                OffsetDateTime::UNIX_EPOCH,
            ));
        };
        let n = write_live((&file, &path, text.len() as u64), &drop, 3, fold, &mut out).unwrap();
        assert_eq!(n, 3);
        out.fill(&[], false).unwrap();
        let got = std::fs::read_to_string(out.path()).unwrap();
        let got: Vec<serde_json::Value> = got
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let summary: Vec<(&str, &str, &str)> = got
            .iter()
            .map(|v| {
                (
                    v["id"].as_str().unwrap(),
                    v["path"].as_str().unwrap(),
                    v["conversation_id"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("c", "media/2.png", "c"),
                ("a", "media/2.png", "second"),
                ("b", "media/1.png", "from-sidecar"),
            ]
        );
        assert!(got.iter().all(|v| v["v"] == JOURNAL_VERSION));
        // A count that differs from the replayed state writes nothing.
        let mut other = TempFile::create(dir.path()).unwrap();
        let err = write_live(
            (&file, &path, text.len() as u64),
            &drop,
            4,
            |_| {},
            &mut other,
        )
        .unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
    }
}
