//! `.promptkit/journal`: the append-only log of reference records, the
//! source of truth for which references exist and where their media lives.
//!
//! Each line is one JSON record, `{"op":"add",...}` or `{"op":"remove",...}`,
//! ending in `\n`. Since version 2, an `add` record also carries the owner of
//! its reference (conversation, session, run, user, position, provider,
//! retention policy, creation time; absent ids are left out): the in-memory
//! maps do not keep them, they are read back from the file on demand (see
//! [`owners`](super::owners)). Appends are one `write_all` on a handle opened with
//! `O_APPEND`, under the store lock. Replaying the lines gives the
//! [`Journal`]'s [live state](super::live): reference → record, media path →
//! reference count, and the dedup map (hash → path of live deduplicated
//! content), kept compact in memory.
//!
//! A last line without its `\n` is being written (or was torn by a crash):
//! readers ignore it, and the next writer (holding the lock) cuts it off
//! before appending. A complete line that is not a record is an
//! [`Error::Corrupt`] naming the journal and the line number, for every
//! operation that needs the maps: skipping it could resurrect a deleted
//! reference or let `gc` delete media that is still referenced.
//!
//! Compaction rewrites the journal with the live records only (temp file +
//! rename, under the lock). Every [`Journal`] keeps the file it replayed
//! open, so its inode cannot be reused while it is cached; a different inode
//! at the journal path means "replay from scratch".

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::lines::{for_each_line, read_full_at};
use super::live::Live;
use super::records::{Owner, TempFile};
use crate::{Error, Result, RetentionPolicy};

/// Version written in every record's `v` field. Version 1 records (written
/// before owners moved into the journal) are still read; an older reader
/// refuses version 2 records rather than lose their owners.
pub(crate) const JOURNAL_VERSION: u32 = 2;

/// Identity and replayed length of the journal: changes with every append
/// (by anyone) and every compaction. The index uses it as its generation.
pub(crate) type Generation = (u64, u64, u64);

/// One journal line (parsed one at a time: the size of `Add` does not
/// matter).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub(crate) enum Record {
    /// A new reference.
    Add {
        v: u32,
        id: String,
        #[serde(flatten)]
        rec: RefRecord,
        #[serde(flatten)]
        owner: RecordOwner,
    },
    /// A reference dropped.
    Remove { v: u32, id: String },
}

/// Where a reference points (the payload of an `add` record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RefRecord {
    /// Media path relative to the base dir (`media/...`, `/`-separated).
    pub(crate) path: String,
    pub(crate) blake3: String,
    pub(crate) mime_type: String,
    pub(crate) size_bytes: u64,
    /// Whether the media is shared by identical content (named by its hash).
    #[serde(default)]
    pub(crate) dedup: bool,
    /// [`probe`] of the bytes, when known: lets a store decide without the
    /// full hash that its bytes cannot be a dedup hit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) probe: Option<u64>,
}

/// The owner fields of an `add` record, each left out when absent. All are
/// absent in records written before version 2 (and in records imported from
/// the legacy format): their owners are in the sidecars of that time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct RecordOwner {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    conversation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    run_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message_index: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    part_index: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provider_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retention_policy: Option<RetentionPolicy>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    created_at: Option<OffsetDateTime>,
}

impl RecordOwner {
    /// The fields of `owner`.
    pub(crate) fn of(owner: &Owner) -> RecordOwner {
        RecordOwner {
            conversation_id: owner.conversation_id.clone(),
            session_id: owner.session_id.clone(),
            run_id: owner.run_id.clone(),
            user_id: owner.user_id.clone(),
            message_index: owner.message_index,
            part_index: owner.part_index,
            provider_id: owner.provider_id.clone(),
            retention_policy: Some(owner.retention_policy),
            created_at: Some(owner.created_at),
        }
    }

    /// Whether the record has an owner (policy and creation time set).
    pub(crate) fn has_owner(&self) -> bool {
        self.retention_policy.is_some() && self.created_at.is_some()
    }

    /// The owner, when the record has one.
    pub(crate) fn owner(self) -> Option<Owner> {
        Some(Owner {
            conversation_id: self.conversation_id,
            session_id: self.session_id,
            run_id: self.run_id,
            user_id: self.user_id,
            message_index: self.message_index,
            part_index: self.part_index,
            provider_id: self.provider_id,
            retention_policy: self.retention_policy?,
            created_at: self.created_at?,
        })
    }
}

/// A cheap fingerprint of some bytes: their length and BLAKE3 of at most
/// 4 KiB from each end. Equal bytes have equal probes.
pub(crate) fn probe(data: &[u8]) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(&(data.len() as u64).to_le_bytes());
    let n = data.len().min(4096);
    h.update(&data[..n]);
    h.update(&data[data.len() - n..]);
    let mut out = [0u8; 8];
    out.copy_from_slice(&h.finalize().as_bytes()[..8]);
    u64::from_le_bytes(out)
}

/// The replayed journal: its open file, how far it was read, and the maps.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    file: Option<Arc<File>>,
    /// (device, inode) of `file`.
    id: (u64, u64),
    /// Bytes replayed: the end of the last complete line.
    offset: u64,
    /// Length of the file when last looked at (beyond `offset`: an
    /// incomplete line).
    file_len: u64,
    /// That line (with its `\n`), checked again before reading on: a
    /// journal rewritten in place (by hand) is replayed from scratch.
    last: Vec<u8>,
    /// Whether the directory entry of `file` is known durable (synced once
    /// per opened file before its first fsynced append).
    dir_synced: bool,
    /// Complete lines replayed, and how many of them were `remove`s.
    lines: u64,
    removes: u64,
    /// Live references, media paths, dedup map.
    live: Live,
}

fn file_id(meta: &fs::Metadata) -> (u64, u64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (meta.dev(), meta.ino())
    }
    #[cfg(not(unix))]
    {
        let created = meta
            .created()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        (created, 0)
    }
}

impl Journal {
    /// An empty view of the journal at `path` (nothing read yet).
    pub(crate) fn new(path: PathBuf) -> Journal {
        Journal {
            path,
            file: None,
            id: (0, 0),
            offset: 0,
            file_len: 0,
            last: Vec::new(),
            dir_synced: false,
            lines: 0,
            removes: 0,
            live: Live::default(),
        }
    }

    /// The generation of what was replayed.
    pub(crate) fn generation(&self) -> Generation {
        (self.id.0, self.id.1, self.offset)
    }

    /// Brings the maps up to date with the file: replays new complete lines,
    /// or everything when the journal was replaced (compaction). Takes no
    /// lock; an incomplete last line is left for later.
    pub(crate) fn refresh(&mut self) -> Result<()> {
        let meta = match fs::metadata(&self.path) {
            Ok(m) => m,
            // Not created yet: empty. Removed by hand: start a new one.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return if self.file.is_none() {
                    Ok(())
                } else {
                    self.reopen()
                };
            }
            Err(e) => return Err(Error::io(&self.path, e)),
        };
        if self.file.is_some() && file_id(&meta) == self.id {
            self.file_len = meta.len();
            if meta.len() == self.offset {
                return Ok(());
            }
            if meta.len() > self.offset {
                return self.read_new();
            }
        }
        self.reopen()
    }

    /// Opens the file at the journal path (creating it) and replays it all.
    fn reopen(&mut self) -> Result<()> {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&self.path)
            .map_err(|e| Error::io(&self.path, e))?;
        let meta = file.metadata().map_err(|e| Error::io(&self.path, e))?;
        *self = Journal::new(std::mem::take(&mut self.path));
        self.id = file_id(&meta);
        self.file_len = meta.len();
        self.file = Some(Arc::new(file));
        self.read_new()?;
        self.live.shrink();
        Ok(())
    }

    /// Replays the complete lines after `offset` in the open file, up to
    /// `file_len` (its length when last looked at), a chunk at a time.
    fn read_new(&mut self) -> Result<()> {
        let Some(file) = self.file.clone() else {
            return Ok(());
        };
        if !self.last.is_empty() {
            // The line replayed last must still be there: else the file was
            // rewritten in place, and is replayed from scratch.
            let start = self.offset.saturating_sub(self.last.len() as u64);
            let mut seen = vec![0; self.last.len()];
            let there =
                read_full_at(&file, &mut seen, start).map_err(|e| Error::io(&self.path, e))?;
            if !there || seen != self.last {
                return self.reopen();
            }
        }
        let path = self.path.clone();
        let (from, upto) = (self.offset, self.file_len.max(self.offset));
        let end = for_each_line(&file, &path, from, upto, |_, line| {
            let rec = self.parse(line)?;
            self.apply(&rec);
            self.offset += line.len() as u64 + 1;
            self.lines += 1;
            self.last.clear();
            self.last.extend_from_slice(line);
            self.last.push(b'\n');
            Ok(())
        })?;
        self.file_len = end;
        Ok(())
    }

    fn parse(&self, line: &[u8]) -> Result<Record> {
        parse_line(&self.path, self.lines + 1, line)
    }

    /// The file replayed, its path and the length replayed: what a reader
    /// of the records' owners reads (the records after it are not applied
    /// to this view yet).
    pub(crate) fn replayed(&self) -> Option<(Arc<File>, PathBuf, u64)> {
        self.file
            .as_ref()
            .map(|f| (Arc::clone(f), self.path.clone(), self.offset))
    }

    /// Applies one record to the maps.
    fn apply(&mut self, rec: &Record) {
        match rec {
            Record::Add { id, rec, .. } => self.live.add(id, rec),
            Record::Remove { id, .. } => {
                self.removes += 1;
                self.live.remove(id);
            }
        }
    }

    /// The record of a live reference.
    pub(crate) fn get(&self, id: &str) -> Option<RefRecord> {
        self.live.get(id)
    }

    /// Whether a reference is live.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.live.contains(id)
    }

    /// Whether bytes of this length and probe may already be stored
    /// deduplicated (false means they certainly are not, as far as this
    /// view knows).
    pub(crate) fn may_hold(&self, probe: u64, size: u64) -> bool {
        self.live.may_hold(probe, size)
    }

    /// The path of live deduplicated content with this hash.
    pub(crate) fn dedup_path(&self, hash: &str) -> Option<String> {
        self.live.dedup_path(hash)
    }

    /// Live references to a media path.
    pub(crate) fn refs_of(&self, path: &str) -> u64 {
        self.live.refs_of(path)
    }

    /// Prepares an append on a just refreshed view (the store lock must be
    /// held): opens the file, and cuts off a torn last line left by a
    /// crashed writer.
    fn prepare_append(&mut self) -> Result<Arc<File>> {
        if self.file.is_none() {
            self.reopen()?;
        }
        let file = self.file.clone().unwrap_or_else(|| unreachable!());
        let len = self.file_len;
        if len > self.offset {
            tracing::warn!(
                journal = %self.path.display(),
                bytes = len - self.offset,
                "cutting off a torn journal line"
            );
            file.set_len(self.offset)
                .map_err(|e| Error::io(&self.path, e))?;
            self.file_len = self.offset;
        }
        Ok(file)
    }

    /// Whether dead records dominate (worth a compaction).
    pub(crate) fn wants_compaction(&self) -> bool {
        self.lines > 1024 && self.removes > self.live.len() as u64
    }
}

/// Parses journal line number `n` (without its `\n`): a record of a
/// supported version, or [`Error::Corrupt`] naming the journal and the line.
pub(crate) fn parse_line(path: &Path, n: u64, line: &[u8]) -> Result<Record> {
    let corrupt = |message: String| Error::Corrupt {
        reference: path.display().to_string(),
        message: format!("journal line {n}: {message}"),
    };
    let rec: Record =
        serde_json::from_slice(line).map_err(|e| corrupt(format!("not a record: {e}")))?;
    let v = match &rec {
        Record::Add { v, .. } | Record::Remove { v, .. } => *v,
    };
    if v == 0 || v > JOURNAL_VERSION {
        return Err(corrupt(format!("unsupported record version {v}")));
    }
    Ok(rec)
}

/// A record as one journal line (with its `\n`).
pub(crate) fn line(rec: &Record) -> Result<Vec<u8>> {
    let mut v = serde_json::to_vec(rec).map_err(|e| Error::Backend {
        backend: "local".into(),
        operation: "encode journal record".into(),
        message: e.to_string(),
        transient: false,
    })?;
    v.push(b'\n');
    Ok(v)
}

/// The in-process handle on the journal: its replayed view behind a mutex.
#[derive(Debug)]
pub(crate) struct SharedJournal(std::sync::Mutex<Journal>);

impl SharedJournal {
    pub(crate) fn new(path: PathBuf) -> Self {
        SharedJournal(std::sync::Mutex::new(Journal::new(path)))
    }

    /// The view, refreshed from the file. A panic while holding it leaves at
    /// worst a stale view, which the next refresh replays from scratch.
    pub(crate) fn view(&self) -> Result<std::sync::MutexGuard<'_, Journal>> {
        let mut g = self.guard();
        g.refresh()?;
        Ok(g)
    }

    /// The view as last replayed.
    fn guard(&self) -> std::sync::MutexGuard<'_, Journal> {
        self.0.lock().unwrap_or_else(|p| {
            let mut g = p.into_inner();
            g.file = None;
            g
        })
    }

    /// Runs `f` on the view as last replayed (no file access).
    pub(crate) fn peek<T>(&self, f: impl FnOnce(&Journal) -> T) -> T {
        f(&self.guard())
    }

    /// Appends records (store lock held, view refreshed since it was taken:
    /// nobody else can have appended) and applies them to the view.
    /// The view mutex is not held during the write and fsync, so readers
    /// are not blocked by it. Returns the generations before and after.
    pub(crate) fn append(&self, recs: &[Record], fsync: bool) -> Result<(Generation, Generation)> {
        let (file, before, path) = {
            let mut v = self.guard();
            let file = v.prepare_append()?;
            if fsync && !v.dir_synced {
                // The journal may just have been created.
                super::records::sync_dir(&v.path)?;
                v.dir_synced = true;
            }
            (file, v.generation(), v.path.clone())
        };
        let lines = recs.iter().map(line).collect::<Result<Vec<_>>>()?;
        let bytes = lines.concat();
        (&*file)
            .write_all(&bytes)
            .map_err(|e| Error::io(&path, e))?;
        if fsync {
            file.sync_data().map_err(|e| Error::io(&path, e))?;
        }
        let mut v = self.guard();
        if v.generation() == before {
            // No reader replayed our lines meanwhile: apply them here.
            for (r, l) in recs.iter().zip(lines) {
                v.apply(r);
                v.lines += 1;
                v.offset += l.len() as u64;
                v.last = l;
            }
            v.file_len = v.offset;
        }
        Ok((before, v.generation()))
    }

    /// Rewrites the journal with the live records, minus `drop` (store lock
    /// held), read back from the file with their owners (see
    /// [`rewrite`](super::rewrite)); `fold` may give owners to records that
    /// have none. Other views notice the new inode and replay from scratch.
    pub(crate) fn compact(
        &self,
        drop: &[String],
        fold: impl FnOnce(&mut [(String, RefRecord, RecordOwner)]),
        fsync: bool,
    ) -> Result<()> {
        let mut v = self.view()?;
        v.prepare_append()?;
        let drop: std::collections::HashSet<&str> = drop.iter().map(String::as_str).collect();
        let expected = v.live.len() - drop.iter().filter(|id| v.live.contains(id)).count();
        let dir = v.path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut temp = TempFile::create(&dir)?;
        if let Some((file, path, upto)) = v.replayed() {
            super::rewrite::write_live((&file, &path, upto), &drop, expected, fold, &mut temp)?;
        }
        temp.fill(&[], fsync)?;
        temp.persist(&v.path, fsync)?;
        v.reopen()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(id: &str, path: &str, hash: &str) -> Record {
        Record::Add {
            v: JOURNAL_VERSION,
            id: id.into(),
            rec: RefRecord {
                path: path.into(),
                blake3: hash.into(),
                mime_type: "image/png".into(),
                size_bytes: 3,
                dedup: true,
                probe: Some(7),
            },
            owner: RecordOwner::default(),
        }
    }

    #[test]
    fn records_round_trip_and_maps_follow() {
        let h = blake3::hash(b"x").to_hex().to_string();
        let rec = add("a", "media/x.png", &h);
        let text = String::from_utf8(line(&rec).unwrap()).unwrap();
        assert!(text.starts_with(r#"{"op":"add","v":2,"id":"a","path":"media/x.png""#));
        assert_eq!(serde_json::from_str::<Record>(&text).unwrap(), rec);
        let mut j = Journal::new(PathBuf::from("j"));
        j.apply(&rec);
        j.apply(&add("b", "media/x.png", &h));
        assert_eq!(j.refs_of("media/x.png"), 2);
        assert_eq!(j.dedup_path(&h).as_deref(), Some("media/x.png"));
        assert!(j.may_hold(7, 0) && !j.may_hold(8, 3));
        for id in ["a", "b"] {
            j.apply(&Record::Remove {
                v: 1,
                id: id.into(),
            });
        }
        assert_eq!(j.refs_of("media/x.png"), 0);
        assert_eq!(j.dedup_path(&h), None);
        assert!(!j.may_hold(7, 0));
    }

    #[test]
    fn unknown_fields_and_versions_are_refused() {
        let j = Journal::new(PathBuf::from("/s/.promptkit/journal"));
        for bad in [
            &br#"{"op":"remove","v":3,"id":"a"}"#[..],
            br#"{"op":"rename","v":1,"id":"a"}"#,
            br#"{"op":"remove","v":1}"#,
            b"",
        ] {
            let err = j.parse(bad).unwrap_err();
            assert!(
                matches!(&err, Error::Corrupt { reference, message }
                    if reference.ends_with("journal") && message.contains("line 1")),
                "{err:?}"
            );
        }
    }
}
