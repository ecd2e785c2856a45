//! The blocking operations behind [`FileStore`](super::FileStore): store,
//! retrieve, delete. Mutations run with the store lock held (see
//! [`Inner::locked`]); reads take no lock and rely on every file being
//! replaced atomically.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use time::OffsetDateTime;

use super::FileStoreConfig;
use super::index::Index;
use super::paths::{
    self, MEDIA_DIR, OBJECTS_DIR, REFS_DIR, STATE_DIR, check_relative, resolve_inside,
};
use super::records::{
    FORMAT_VERSION, MediaSidecar, ObjectRecord, Owner, RefRecord, SidecarReference, TempFile,
    read_json, remove_if_exists, sidecar_path, write_json,
};
use crate::{Error, MediaMetadata, Result, StorageReference, extension_for_mime};

/// Shared state of a [`FileStore`](super::FileStore).
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) config: FileStoreConfig,
    /// Canonical base directory.
    pub(crate) base: PathBuf,
    /// `.promptkit/lock`, locked exclusively (flock) around every mutation.
    lock_file: File,
    /// Serializes this process's mutations before they take the file lock.
    pub(crate) write_lock: std::sync::Arc<tokio::sync::Mutex<()>>,
    pub(crate) index: Mutex<Index>,
}

/// Holds the cross-process file lock; released on drop.
struct FileLockGuard<'a>(&'a File);

impl Drop for FileLockGuard<'_> {
    fn drop(&mut self) {
        let _ = fs4::FileExt::unlock(self.0);
    }
}

/// A store request, validated and hashed.
pub(crate) struct NewMedia {
    pub(crate) data: Bytes,
    pub(crate) mime_type: String,
    pub(crate) metadata: MediaMetadata,
    pub(crate) rel_dir: PathBuf,
}

impl Inner {
    pub(crate) fn open(config: FileStoreConfig) -> Result<Inner> {
        if config.base_dir.as_os_str().is_empty() {
            return Err(Error::Config("the file store needs a base_dir".into()));
        }
        let state = config.base_dir.join(STATE_DIR);
        for d in [
            config.base_dir.join(MEDIA_DIR),
            state.join(REFS_DIR),
            state.join(OBJECTS_DIR),
        ] {
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
        Ok(Inner {
            config,
            base,
            lock_file,
            write_lock: Default::default(),
            index: Mutex::new(Index::default()),
        })
    }

    /// Runs `f` with the cross-process lock held; the caller must hold
    /// `write_lock` (the in-process lock).
    pub(crate) fn locked<T>(&self, f: impl FnOnce(&Inner) -> Result<T>) -> Result<T> {
        fs4::FileExt::lock(&self.lock_file)
            .map_err(|e| Error::io(self.state_dir().join("lock"), e))?;
        let _guard = FileLockGuard(&self.lock_file);
        f(self)
    }

    pub(crate) fn state_dir(&self) -> PathBuf {
        self.base.join(STATE_DIR)
    }

    pub(crate) fn ref_path(&self, id: &str) -> PathBuf {
        self.state_dir().join(REFS_DIR).join(format!("{id}.json"))
    }

    pub(crate) fn object_path(&self, hash: &str) -> PathBuf {
        self.state_dir()
            .join(OBJECTS_DIR)
            .join(format!("{hash}.json"))
    }

    fn generation_path(&self) -> PathBuf {
        self.state_dir().join("generation")
    }

    /// The mutation counter (0 when never written or unreadable).
    pub(crate) fn generation(&self) -> u64 {
        fs::read_to_string(self.generation_path())
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Bumps the counter and records `rel`'s new sidecar in the index. Call
    /// with the lock held, once per mutated media file.
    pub(crate) fn commit(
        &self,
        seen: u64,
        rel: &Path,
        sidecar: Option<&MediaSidecar>,
    ) -> Result<u64> {
        let next = seen + 1;
        write_json(&self.generation_path(), &next, false)?;
        self.index_guard().apply(seen, rel, sidecar);
        Ok(next)
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
    /// symlinked directory planted inside the base dir).
    pub(crate) fn prepare_dir(&self, rel_dir: &Path) -> Result<PathBuf> {
        let dir = self.abs(rel_dir);
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        resolve_inside(&self.base, &dir, &dir.display().to_string())
    }

    /// Where a hash's deduplicated media lives, if it is intact.
    fn dedup_target(&self, hash: &str) -> Result<Option<(PathBuf, MediaSidecar)>> {
        let Some(rec) = read_json::<ObjectRecord>(&self.object_path(hash))
            .ok()
            .flatten()
        else {
            return Ok(None);
        };
        let Ok(rel) = check_relative(&rec.path) else {
            return Ok(None);
        };
        let media = self.abs(&rel);
        let media = match resolve_inside(&self.base, &media, hash) {
            Ok(m) => m,
            Err(Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        match read_json::<MediaSidecar>(&sidecar_path(&media)) {
            Ok(Some(s)) if s.blake3 == hash && media.is_file() => Ok(Some((rel, s))),
            _ => Ok(None),
        }
    }

    /// Whether deduplicated content with this hash is already stored (an
    /// unlocked hint: the locked commit checks again).
    pub(crate) fn has_object(&self, hash: &str) -> bool {
        self.object_path(hash).is_file()
    }

    /// Commits a store: with the lock held, adds a reference to existing
    /// identical content, or moves `temp` (written beforehand, or now) to its
    /// final name and writes its sidecar. Returns the new reference.
    pub(crate) fn commit_store(
        &self,
        new: &NewMedia,
        hash: &str,
        temp: Option<TempFile>,
        now: OffsetDateTime,
    ) -> Result<StorageReference> {
        let fsync = self.config.fsync;
        let seen = self.generation();
        let id = paths::new_ref_id();
        let reference = paths::reference_for(&id)?;
        let owner = Owner::new(&new.metadata, self.config.default_policy, now);
        let entry = SidecarReference {
            id: id.clone(),
            mime_type: new.mime_type.clone(),
            owner: owner.clone(),
        };
        let dedup = self.config.enable_deduplication;
        let existing = if dedup {
            self.dedup_target(hash)?
        } else {
            None
        };
        let (rel, sidecar) = match existing {
            Some((rel, mut sidecar)) => {
                drop(temp);
                sidecar.push(entry);
                write_json(&sidecar_path(&self.abs(&rel)), &sidecar, fsync)?;
                (rel, sidecar)
            }
            None => {
                let dir = self.prepare_dir(&new.rel_dir)?;
                let temp = match temp {
                    Some(t) => t,
                    None => TempFile::write(&dir, &new.data, fsync)?,
                };
                let stem = if dedup { &hash[..32] } else { id.as_str() };
                let name = format!("{stem}.{}", extension_for_mime(&new.mime_type));
                // Records hold the canonical path (symlinked directories inside
                // the store resolved), the one `gc` and the index walk.
                let rel = dir
                    .strip_prefix(&self.base)
                    .map_err(|_| Error::PathEscape { path: dir.clone() })?
                    .join(&name);
                let media = dir.join(&name);
                temp.persist(&media, fsync)?;
                // A sidecar left at this name by an interrupted earlier store of
                // the same bytes keeps its references.
                let mut sidecar = match read_json::<MediaSidecar>(&sidecar_path(&media)) {
                    Ok(Some(s)) if dedup && s.blake3 == hash => s,
                    _ => MediaSidecar {
                        version: FORMAT_VERSION,
                        file: name,
                        mime_type: new.mime_type.clone(),
                        size_bytes: new.data.len() as u64,
                        blake3: hash.to_owned(),
                        deduplicated: dedup,
                        owner,
                        ref_count: 0,
                        references: Vec::new(),
                    },
                };
                sidecar.push(entry);
                write_json(&sidecar_path(&media), &sidecar, fsync)?;
                if dedup {
                    let rec = ObjectRecord {
                        version: FORMAT_VERSION,
                        path: rel_string(&rel)?,
                    };
                    write_json(&self.object_path(hash), &rec, fsync)?;
                }
                (rel, sidecar)
            }
        };
        let record = RefRecord {
            version: FORMAT_VERSION,
            path: rel_string(&rel)?,
            blake3: hash.to_owned(),
            mime_type: new.mime_type.clone(),
            size_bytes: new.data.len() as u64,
        };
        write_json(&self.ref_path(&id), &record, fsync)?;
        self.commit(seen, &rel, Some(&sidecar))?;
        Ok(reference)
    }

    /// Reads a reference record; `NotFound` when the reference is unknown.
    pub(crate) fn ref_record(&self, reference: &StorageReference) -> Result<(String, RefRecord)> {
        let id = paths::parse_reference(reference)?;
        match read_json::<RefRecord>(&self.ref_path(id))? {
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

    /// Drops one reference with the lock held; removes the media, its sidecar
    /// and its dedup record with the last reference. Refuses (changing
    /// nothing) when the media path leads out of the store. Returns the bytes
    /// freed when the media file went with this reference.
    pub(crate) fn delete_locked(&self, reference: &StorageReference) -> Result<Option<u64>> {
        let fsync = self.config.fsync;
        let seen = self.generation();
        let (id, rec) = self.ref_record(reference)?;
        let rel = check_relative(&rec.path)?;
        let media = match self.media_path(reference, &rec) {
            Ok(p) => Some(p),
            Err(Error::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        let sidecar_file = sidecar_path(media.as_deref().unwrap_or(&self.abs(&rel)));
        if sidecar_file.exists() {
            resolve_inside(&self.base, &sidecar_file, reference.as_str())?;
        }
        remove_if_exists(&self.ref_path(&id))?;
        let Some(mut sidecar) = read_json::<MediaSidecar>(&sidecar_file).ok().flatten() else {
            // No readable sidecar: the reference is gone, the file (if any) is
            // left for `gc` rather than guessed about.
            self.commit(seen, &rel, None)?;
            return Ok(None);
        };
        sidecar.remove(&id);
        if !sidecar.references.is_empty() {
            write_json(&sidecar_file, &sidecar, fsync)?;
            self.commit(seen, &rel, Some(&sidecar))?;
            return Ok(None);
        }
        // Last reference: forget the dedup record first (no new store can
        // attach to the file), then the media, then its sidecar.
        if let Ok(Some(obj)) = read_json::<ObjectRecord>(&self.object_path(&rec.blake3)) {
            if obj.path == rec.path {
                remove_if_exists(&self.object_path(&rec.blake3))?;
            }
        }
        if let Some(m) = &media {
            remove_if_exists(m)?;
        }
        remove_if_exists(&sidecar_file)?;
        self.commit(seen, &rel, None)?;
        Ok(media.map(|_| sidecar.size_bytes))
    }

    /// Bumps the generation after changes the index cannot follow
    /// incrementally; the next read rebuilds it.
    pub(crate) fn invalidate(&self) -> Result<()> {
        let next = self.generation() + 1;
        write_json(&self.generation_path(), &next, false)?;
        self.index_guard().generation = None;
        Ok(())
    }
}

/// A relative path as the `/`-separated string stored in records.
pub(crate) fn rel_string(rel: &Path) -> Result<String> {
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    parts
        .map(|p| p.join("/"))
        .ok_or_else(|| Error::invalid("path", format!("{} is not UTF-8", rel.display())))
}
