//! The blocking operations behind [`FileStore`](super::FileStore): store,
//! retrieve, delete. Mutations run with the store lock held (see
//! [`Inner::locked`]); reads take no lock and rely on every file being
//! replaced atomically and on the journal being append-only.

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use time::OffsetDateTime;

use super::FileStoreConfig;
use super::index::{Change, Index};
use super::journal::{Generation, JOURNAL_VERSION, Record, RefRecord, SharedJournal};
use super::paths::{self, JOURNAL_FILE, MEDIA_DIR, STATE_DIR, check_relative, resolve_inside};
use super::records::{MediaSidecar, TempFile, read_json, remove_if_exists, sidecar_path};
use crate::{Error, MediaMetadata, Result, StorageReference};

/// Shared state of a [`FileStore`](super::FileStore).
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) config: FileStoreConfig,
    /// Canonical base directory.
    pub(crate) base: PathBuf,
    /// `.promptkit/lock`, locked exclusively (flock) around every mutation.
    lock_file: File,
    /// Serializes this process's mutations before they take the file lock
    /// (a `flock` does not exclude other threads using the same open file).
    /// Only ever taken on blocking threads, never held across an `.await`.
    write_lock: Mutex<()>,
    pub(crate) index: Mutex<Index>,
    /// The replayed journal (reference records, ref counts, dedup map).
    pub(crate) journal: SharedJournal,
    /// Media directories already created and checked: relative → canonical.
    dirs: Mutex<HashMap<PathBuf, PathBuf>>,
    /// References committed for callers that went away, not removed yet
    /// (see [`abandon`](super::abandon)): the next mutation, or dropping
    /// the store, removes them.
    orphans: Mutex<Vec<StorageReference>>,
}

/// Holds the cross-process file lock; released on drop.
struct FileLockGuard<'a>(&'a File);

impl Drop for FileLockGuard<'_> {
    fn drop(&mut self) {
        let _ = fs4::FileExt::unlock(self.0);
    }
}

/// A store request, validated.
pub(crate) struct NewMedia {
    pub(crate) data: Bytes,
    pub(crate) mime_type: String,
    pub(crate) metadata: MediaMetadata,
    pub(crate) rel_dir: PathBuf,
    /// The new reference id (chosen early).
    pub(crate) id: String,
    /// [`probe`](super::journal::probe) of the bytes.
    pub(crate) probe: u64,
    /// The creation time recorded for the reference.
    pub(crate) now: OffsetDateTime,
}

/// What a store prepares before taking the lock.
#[derive(Default)]
pub(crate) struct Prepared {
    /// BLAKE3 of the bytes (hex).
    pub(crate) hash: String,
    /// The bytes in a temp file in the media directory (`None` when a dedup
    /// hit was expected, or not written yet).
    pub(crate) media: Option<TempFile>,
    /// A temp file in the directory of the sidecar of new content: empty,
    /// or already holding `fresh` (`None` when a dedup hit was expected).
    pub(crate) sidecar: Option<TempFile>,
    /// The sidecar of new content (written to `sidecar` before the lock);
    /// the commit renames it into place when it is still the right one.
    pub(crate) fresh: Option<MediaSidecar>,
}

/// Locks a mutex, ignoring poisoning (the data guarded here stays valid).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Inner {
    pub(crate) fn open(config: FileStoreConfig) -> Result<Inner> {
        if config.base_dir.as_os_str().is_empty() {
            return Err(Error::Config("the file store needs a base_dir".into()));
        }
        let state = config.base_dir.join(STATE_DIR);
        for d in [config.base_dir.join(MEDIA_DIR), state.clone()] {
            fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
        }
        let base =
            fs::canonicalize(&config.base_dir).map_err(|e| Error::io(&config.base_dir, e))?;
        let lock_path = state.join("lock");
        let lock_file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(&lock_path, e))?;
        let journal_path = base.join(STATE_DIR).join(JOURNAL_FILE);
        let inner = Inner {
            config,
            base,
            lock_file,
            write_lock: Default::default(),
            index: Mutex::new(Index::default()),
            journal: SharedJournal::new(journal_path),
            dirs: Mutex::new(HashMap::new()),
            orphans: Mutex::new(Vec::new()),
        };
        if super::legacy::present(&inner) {
            inner.locked(super::legacy::import)?;
        }
        Ok(inner)
    }

    /// Runs `f` with the in-process and the cross-process lock held. Blocks:
    /// call it on a blocking thread.
    pub(crate) fn mutating<T>(&self, f: impl FnOnce(&Inner) -> Result<T>) -> Result<T> {
        let _guard = lock(&self.write_lock);
        self.locked(|inner| {
            inner.undo_orphans();
            f(inner)
        })
    }

    /// Parks the reference of a store whose caller went away, for removal
    /// by [`Inner::remove_orphans`] or the next mutation, whichever comes
    /// first (a runtime shutting down may never run the removal it was
    /// handed).
    pub(crate) fn park_orphan(&self, reference: StorageReference) {
        lock(&self.orphans).push(reference);
    }

    /// Removes the parked references of abandoned stores. Blocks.
    pub(crate) fn remove_orphans(&self) {
        if !lock(&self.orphans).is_empty() {
            let _ = self.mutating(|_| Ok(()));
        }
    }

    /// Removes the parked references (both locks held). One that cannot be
    /// removed is logged and left to retention or `gc`.
    fn undo_orphans(&self) {
        let orphans = std::mem::take(&mut *lock(&self.orphans));
        for reference in orphans {
            let _ = super::abandon::undo_locked(self, &reference);
        }
    }

    /// Runs `f` with the cross-process lock held; the caller must hold
    /// `write_lock` (the in-process lock), or be the only user of `self`.
    fn locked<T>(&self, f: impl FnOnce(&Inner) -> Result<T>) -> Result<T> {
        fs4::FileExt::lock(&self.lock_file)
            .map_err(|e| Error::io(self.state_dir().join("lock"), e))?;
        let _guard = FileLockGuard(&self.lock_file);
        f(self)
    }

    pub(crate) fn state_dir(&self) -> PathBuf {
        self.base.join(STATE_DIR)
    }

    /// The generation of the journal (refreshed): what the index follows.
    pub(crate) fn generation(&self) -> Result<Generation> {
        Ok(self.journal.view()?.generation())
    }

    /// Appends records to the journal (lock held), the acknowledgment point
    /// of a mutation; returns the generations before and after.
    pub(crate) fn append(&self, recs: &[Record]) -> Result<(Generation, Generation)> {
        self.journal.append(recs, self.config.fsync)
    }

    /// Records a reference added or dropped in the index after the
    /// mutation that moved the journal from `before` to `after`.
    pub(crate) fn commit(&self, (before, after): (Generation, Generation), change: Change<'_>) {
        self.index_guard().apply(before, after, change);
    }

    pub(crate) fn index_guard(&self) -> MutexGuard<'_, Index> {
        // A panic while holding the index lock leaves at worst a stale index:
        // mark it for rebuild instead of propagating the poison.
        self.index.lock().unwrap_or_else(|poisoned| {
            let mut g = poisoned.into_inner();
            g.generation = None;
            g
        })
    }

    /// Absolute media path for a checked relative path.
    pub(crate) fn abs(&self, rel: &Path) -> PathBuf {
        self.base.join(rel)
    }

    /// Creates `rel_dir` and checks it did not lead out of the store (a
    /// symlinked directory planted inside the base dir). Directories already
    /// checked are remembered (until the next `gc`); one removed since (by
    /// another process's `gc`) is created again when a file is written to it.
    pub(crate) fn prepare_dir(&self, rel_dir: &Path) -> Result<PathBuf> {
        if let Some(d) = lock(&self.dirs).get(rel_dir) {
            return Ok(d.clone());
        }
        let dir = self.abs(rel_dir);
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        self.checked_dir(rel_dir, &dir.display().to_string())
    }

    /// The canonical path of an existing directory, checked to be inside the
    /// store (remembered). `NotFound` when it does not exist.
    pub(crate) fn checked_dir(&self, rel_dir: &Path, what: &str) -> Result<PathBuf> {
        if let Some(d) = lock(&self.dirs).get(rel_dir) {
            return Ok(d.clone());
        }
        let canonical = resolve_inside(&self.base, &self.abs(rel_dir), what)?;
        lock(&self.dirs).insert(rel_dir.to_path_buf(), canonical.clone());
        Ok(canonical)
    }

    /// Forgets the checked directories (after `gc` removed empty ones).
    pub(crate) fn forget_dirs(&self) {
        lock(&self.dirs).clear();
    }

    /// The live deduplicated media holding `hash`, as the journal says
    /// (refreshed first; exact with the lock held, and the commit still
    /// checks the files).
    pub(crate) fn dedup_hint(&self, hash: &str) -> Result<Option<String>> {
        Ok(self.journal.view()?.dedup_path(hash))
    }

    /// The journal record of a reference; `NotFound` when it is unknown.
    pub(crate) fn ref_record(&self, reference: &StorageReference) -> Result<(String, RefRecord)> {
        let id = paths::parse_reference(reference)?;
        match self.journal.view()?.get(id) {
            Some(r) => Ok((id.to_owned(), r)),
            None => Err(Error::NotFound {
                reference: reference.to_string(),
            }),
        }
    }

    /// The canonical media path of a reference, checked to be inside the store.
    pub(crate) fn media_path(
        &self,
        reference: &StorageReference,
        rec: &RefRecord,
    ) -> Result<PathBuf> {
        let rel = check_relative(&rec.path)?;
        // Fast path: a regular file in a directory already checked.
        if let (Some(parent), Some(name)) = (rel.parent(), rel.file_name())
            && let Ok(dir) = self.checked_dir(parent, reference.as_str())
        {
            let path = dir.join(name);
            if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file()) {
                return Ok(path);
            }
        }
        resolve_inside(&self.base, &self.abs(&rel), reference.as_str())
    }

    /// Reads and verifies the bytes of a reference.
    pub(crate) fn read(&self, reference: &StorageReference) -> Result<(RefRecord, Bytes)> {
        let (_, rec) = self.ref_record(reference)?;
        let path = self.media_path(reference, &rec)?;
        let data = match fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound {
                    reference: reference.to_string(),
                });
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        let actual = blake3::hash(&data).to_hex();
        if actual.as_str() != rec.blake3 || data.len() as u64 != rec.size_bytes {
            return Err(Error::Corrupt {
                reference: reference.to_string(),
                message: format!(
                    "{} has {} bytes hashing to {actual}, expected {} bytes hashing to {}",
                    path.display(),
                    data.len(),
                    rec.size_bytes,
                    rec.blake3
                ),
            });
        }
        Ok((rec, Bytes::from(data)))
    }

    /// Drops one reference with the lock held: appends its `remove` record
    /// (the acknowledgment point) and, with the last reference, removes the
    /// media and its sidecar. Other references to the file cost nothing
    /// more: the sidecar does not list them. Refuses (changing nothing) when
    /// the media path leads out of the store. Returns the bytes freed when
    /// the media file went with this reference.
    pub(crate) fn delete_locked(&self, reference: &StorageReference) -> Result<Option<u64>> {
        let (id, rec) = self.ref_record(reference)?;
        let rel = check_relative(&rec.path)?;
        // Checked from scratch (no remembered directory): this removes files.
        let media = match resolve_inside(&self.base, &self.abs(&rel), reference.as_str()) {
            Ok(p) => Some(p),
            Err(Error::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        let sidecar_file = sidecar_path(media.as_deref().unwrap_or(&self.abs(&rel)));
        if sidecar_file.exists() {
            resolve_inside(&self.base, &sidecar_file, reference.as_str())?;
        }
        let gens = self.append(&[Record::Remove {
            v: JOURNAL_VERSION,
            id: id.clone(),
        }])?;
        self.commit(gens, Change::Remove { id: &id });
        if self.journal.view()?.refs_of(&rec.path) > 0 {
            return Ok(None);
        }
        // Last reference (the journal no longer maps the hash to this file,
        // so no new store attaches to it): the media, then its sidecar. A
        // sidecar that is unreadable or describes other content leaves the
        // file (if any) to `gc` rather than guess about it.
        let ours = read_json::<MediaSidecar>(&sidecar_file)
            .ok()
            .flatten()
            .is_some_and(|s| s.blake3 == rec.blake3);
        if !ours {
            return Ok(None);
        }
        if let Some(m) = &media {
            remove_if_exists(m)?;
        }
        remove_if_exists(&sidecar_file)?;
        Ok(media.map(|_| rec.size_bytes))
    }

    /// Compacts the journal when dead records dominate (lock held). A
    /// failure is logged, not returned: the mutation before it is done, and
    /// the next one tries again.
    pub(crate) fn maybe_compact(&self) {
        let due = self.journal.view().is_ok_and(|v| v.wants_compaction());
        if due && let Err(e) = self.compact(&[]) {
            tracing::warn!(store = %self.base.display(), error = %e, "journal compaction failed");
        }
    }

    /// Rewrites the journal with the live records minus `drop` (lock held),
    /// writing into records without an owner (from before owners moved
    /// into the journal) the owner their sidecar names. The index follows:
    /// compaction changes the generation but no reference, so an up-to-date
    /// index stays valid.
    pub(crate) fn compact(&self, drop: &[String]) -> Result<()> {
        let before = self.generation()?;
        let fold = |recs: &mut [_]| super::owners::fold_legacy(self, recs);
        self.journal.compact(drop, fold, self.config.fsync)?;
        let after = self.generation()?;
        let mut idx = self.index_guard();
        if idx.generation == Some(before) {
            idx.generation = Some(after);
        }
        Ok(())
    }

    /// Marks the index for a rebuild after changes it cannot follow
    /// incrementally.
    pub(crate) fn invalidate(&self) {
        self.index_guard().generation = None;
    }
}

/// A relative path as the `/`-separated string stored in records.
pub(crate) fn rel_string(rel: &Path) -> Result<String> {
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    parts
        .map(|p| p.join("/"))
        .ok_or_else(|| Error::invalid("path", format!("{} is not UTF-8", rel.display())))
}

impl Drop for Inner {
    /// The last handle to the store is gone: references parked for
    /// removal are removed now (their removal may have been handed to a
    /// runtime that shut down without running it).
    fn drop(&mut self) {
        self.remove_orphans();
    }
}
