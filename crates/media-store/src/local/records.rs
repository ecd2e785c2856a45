//! What the local store writes next to the media: the `.meta` sidecar, and
//! the atomic-write helpers used for it, the media and the journal
//! compaction.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::paths::TEMP_PREFIX;
use crate::{Error, MediaMetadata, Result, RetentionPolicy};

/// Version of the sidecar format written. Version 1 sidecars (which also
/// listed every live reference, rewritten on every store and delete of the
/// content) are still read: see [`MediaSidecar`].
pub(crate) const FORMAT_VERSION: u32 = 2;

/// Who a reference belongs to and how long it is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Owner {
    /// Owning conversation.
    pub conversation_id: Option<String>,
    /// Owning session.
    pub session_id: Option<String>,
    /// Owning run.
    pub run_id: Option<String>,
    /// End user.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Index of the message in the conversation.
    pub message_index: Option<u32>,
    /// Index of the part in the message.
    pub part_index: Option<u32>,
    /// Provider that produced the media.
    pub provider_id: Option<String>,
    /// Retention policy (the store default when the metadata had none).
    pub retention_policy: RetentionPolicy,
    /// When the reference was created (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Owner {
    pub(crate) fn new(meta: &MediaMetadata, default: RetentionPolicy, now: OffsetDateTime) -> Self {
        Owner {
            conversation_id: meta.conversation_id.clone(),
            session_id: meta.session_id.clone(),
            run_id: meta.run_id.clone(),
            user_id: meta.user_id.clone(),
            message_index: meta.message_index,
            part_index: meta.part_index,
            provider_id: meta.provider_id.clone(),
            retention_policy: meta.policy.unwrap_or(default),
            created_at: now,
        }
    }

    /// Whether the reference's retention period is over at `now`.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        crate::lifecycle::is_expired(self.retention_policy, self.created_at, now)
    }
}

/// One live reference to a media file: its id, the MIME type declared when
/// it was stored, and its owner and retention.
///
/// Read from the journal (`.promptkit/journal`), whose `add` record of the
/// reference carries the owner fields; for references stored by a version
/// that kept owners in the sidecar (sidecar format 1, or the legacy format),
/// from the sidecar's former `references` list until `gc` moves them into
/// the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LiveReference {
    /// The reference id (the reference's string form is `file:<id>`).
    pub id: String,
    /// MIME type declared when this reference was stored.
    pub mime_type: String,
    /// Owner and retention of this reference.
    #[serde(flatten)]
    pub owner: Owner,
}

/// The `.meta` JSON sidecar written next to every media file: what the file
/// holds and who stored it first.
///
/// It is written once, when the file is created, and removed with the file;
/// storing identical bytes again (a dedup hit) or deleting a reference never
/// touches it, so both cost the same however many references the content
/// has. The references themselves (with their owners) are in the journal:
/// see [`StoredObject::live_references`](super::StoredObject).
///
/// Version 1 sidecars also had `ref_count` and a `references` list; they
/// are still read (those fields are ignored here, and consulted only for the
/// owners of references whose journal record predates owner fields), and
/// `gc` rewrites them as version 2 once the journal holds those owners.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MediaSidecar {
    /// Record format version.
    pub version: u32,
    /// File name of the media (in the sidecar's directory).
    pub file: String,
    /// MIME type of the media.
    pub mime_type: String,
    /// Real size of the media in bytes.
    pub size_bytes: u64,
    /// BLAKE3 hash of the bytes (hex).
    pub blake3: String,
    /// Whether the file is shared by identical content (dedup on).
    pub deduplicated: bool,
    /// Owner of the store call that created the file.
    #[serde(flatten)]
    pub owner: Owner,
}

/// The reference list of a version 1 sidecar (read only for the owners of
/// references whose journal record has none).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LegacyReferences {
    #[serde(default)]
    pub(crate) references: Vec<LiveReference>,
}

/// The sidecar path of a media path.
pub(crate) fn sidecar_path(media: &Path) -> PathBuf {
    let mut s = media.as_os_str().to_owned();
    s.push(super::paths::META_SUFFIX);
    PathBuf::from(s)
}

/// A fresh temporary file name: a random per-process prefix and a counter
/// (no random draw, hence no system call, per file).
fn temp_name() -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEED: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let seed = SEED.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{TEMP_PREFIX}{seed:016x}{n:016x}")
}

/// A temporary file in `dir`, removed on drop unless persisted.
#[derive(Debug)]
pub(crate) struct TempFile {
    path: Option<PathBuf>,
    file: Option<File>,
}

impl TempFile {
    /// Creates a new empty temp file in `dir` (created if needed), to be
    /// [filled](Self::fill) later.
    pub(crate) fn create(dir: &Path) -> Result<TempFile> {
        let mut path = dir.join(temp_name());
        let mut tries = 0;
        let file = loop {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(f) => break f,
                // Names are unique per process; another process drew the
                // same seed (or a file was planted): draw again.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 3 => {
                    tries += 1;
                    path = dir.join(format!("{TEMP_PREFIX}{}", uuid::Uuid::new_v4().simple()));
                }
                // The directory may be missing, or removed by a concurrent GC
                // between our create_dir_all and the open: create and retry.
                Err(e) if e.kind() == io::ErrorKind::NotFound && tries < 3 => {
                    tries += 1;
                    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                }
                Err(e) => return Err(Error::io(&path, e)),
            }
        };
        Ok(TempFile {
            path: Some(path),
            file: Some(file),
        })
    }

    /// Writes `data` to a new temp file in `dir` (created if needed), fsynced
    /// when `fsync` is set.
    pub(crate) fn write(dir: &Path, data: &[u8], fsync: bool) -> Result<TempFile> {
        let mut temp = TempFile::create(dir)?;
        temp.fill(data, fsync)?;
        Ok(temp)
    }

    /// Writes the whole content of a [created](Self::create) temp file and
    /// closes it.
    pub(crate) fn fill(&mut self, data: &[u8], fsync: bool) -> Result<()> {
        let mut file = self.file.take().ok_or_else(|| {
            Error::io(
                self.path(),
                io::Error::other("temporary file already filled"),
            )
        })?;
        let p = self.path();
        file.write_all(data).map_err(|e| Error::io(p, e))?;
        if fsync {
            file.sync_all().map_err(|e| Error::io(p, e))?;
        }
        Ok(())
    }

    /// Writes `data` at the end of a [created](Self::create) temp file
    /// written in pieces (then [filled](Self::fill) with the last piece).
    pub(crate) fn append(&mut self, data: &[u8]) -> Result<()> {
        let p = self.path.as_deref().unwrap_or(Path::new(""));
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| Error::io(p, io::Error::other("temporary file already filled")))?;
        file.write_all(data).map_err(|e| Error::io(p, e))
    }

    pub(crate) fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    /// Renames the temp file to `target` (same directory), replacing it.
    pub(crate) fn persist(mut self, target: &Path, fsync: bool) -> Result<()> {
        self.file = None;
        let from = self.path.take().unwrap_or_default();
        if let Err(e) = fs::rename(&from, target) {
            let _ = fs::remove_file(&from);
            return Err(Error::io(target, e));
        }
        if fsync {
            sync_dir(target)?;
        }
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        self.file = None;
        if let Some(p) = self.path.take() {
            let _ = fs::remove_file(p);
        }
    }
}

/// Fsyncs the directory holding `path`, so a rename into it is durable.
pub(crate) fn sync_dir(path: &Path) -> Result<()> {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Writes `value` as JSON to `path` atomically (temp file + rename).
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T, fsync: bool) -> Result<()> {
    write_json_with(None, path, value, fsync)
}

/// [`write_json`] through `temp`, an empty temp file created beforehand,
/// when it is in `path`'s directory (else through a new one).
pub(crate) fn write_json_with<T: Serialize>(
    temp: Option<TempFile>,
    path: &Path,
    value: &T,
    fsync: bool,
) -> Result<()> {
    let json =
        serde_json::to_vec_pretty(value).map_err(|e| Error::io(path, io::Error::other(e)))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = match temp {
        Some(t) if t.file.is_some() && t.path().parent() == Some(dir) => t,
        _ => TempFile::create(dir)?,
    };
    temp.fill(&json, fsync)?;
    temp.persist(path, fsync)
}

/// Reads JSON from `path`; `None` when the file does not exist. A file that
/// does not parse is an [`Error::Corrupt`].
pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::Corrupt {
            reference: path.display().to_string(),
            message: format!("unreadable record: {e}"),
        })
}

/// Removes a file; a missing file is fine.
pub(crate) fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}
