//! Lifecycle of stored media: listing, retention enforcement, verification.
//! Garbage collection is in [`gc`](super::gc).

use std::path::PathBuf;
use std::time::Duration;

use time::OffsetDateTime;

use super::FileStore;
use super::index::{RefView, scan, walk_files};
use super::ops::rel_string;
use super::owners;
use super::paths::{self, MEDIA_DIR, META_SUFFIX, TEMP_PREFIX};
use super::records::{LiveReference, MediaSidecar, read_json, sidecar_path};
use crate::lifecycle::{RetentionReport, VerifyReport};
use crate::{Result, RetentionPolicy, StorageReference};

/// One stored media file, its sidecar and its live references, as returned
/// by [`FileStore::list`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use promptkit_media_store::{FileStore, MediaMetadata, MediaStoreExt};
/// let dir = tempfile::tempdir().unwrap();
/// let store = FileStore::builder().with_base_dir(dir.path()).build().unwrap();
/// let meta = MediaMetadata::new().with_session("s1").with_conversation("c1");
/// let a = store.store_bytes("text/plain", "twice".into(), &meta).await.unwrap();
/// let b = store.store_bytes("text/plain", "twice".into(), &meta).await.unwrap();
/// let listed = store.list().await.unwrap();
/// assert_eq!(listed.len(), 1, "identical bytes are one file");
/// let file = &listed[0];
/// assert_eq!((file.sidecar.mime_type.as_str(), file.sidecar.size_bytes), ("text/plain", 5));
/// assert_eq!(file.ref_count(), 2);
/// assert!(file.references().contains(&a) && file.references().contains(&b));
/// assert!(file.path.is_file());
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StoredObject {
    /// Absolute path of the media file.
    pub path: PathBuf,
    /// Its sidecar (hash, MIME type, size, the owner of the store that
    /// created the file).
    pub sidecar: MediaSidecar,
    /// The live references to this file with their owners, sorted by id
    /// (from the journal).
    pub live_references: Vec<LiveReference>,
}

impl StoredObject {
    /// The live references to this file.
    pub fn references(&self) -> Vec<StorageReference> {
        self.live_references
            .iter()
            .filter_map(|r| paths::reference_for(&r.id).ok())
            .collect()
    }

    /// The number of live references to this file.
    pub fn ref_count(&self) -> u64 {
        self.live_references.len() as u64
    }
}

impl FileStore {
    /// Every stored media file with its sidecar and live references, sorted
    /// by path: the files whose media and sidecar exist and that live
    /// references point at (what a crash leaves unreferenced is garbage for
    /// [`gc`](Self::gc)). The sidecars and the journal are read; no media is.
    pub async fn list(&self) -> Result<Vec<StoredObject>> {
        let mut v = self
            .blocking(|inner| {
                let mut refs = owners::by_path(inner)?;
                let mut out = Vec::new();
                for (rel, sidecar) in scan(&inner.base)? {
                    let Ok(key) = rel_string(&rel) else {
                        continue;
                    };
                    let mine = refs.remove(&key).unwrap_or_default();
                    let path = inner.base.join(rel);
                    let live_references = owners::resolve(&sidecar_path(&path), &sidecar, mine);
                    if live_references.is_empty() {
                        continue;
                    }
                    out.push(StoredObject {
                        path,
                        sidecar,
                        live_references,
                    });
                }
                Ok(out)
            })
            .await?;
        v.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(v)
    }

    /// Drops every reference whose time-based retention policy has run out at
    /// `now` (`delete-after-<N>min`, `retain-<N>hours`, `retain-<N>days`,
    /// counted from the reference's creation). A file shared by deduplication
    /// goes only with its last reference.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use promptkit_media_store::{FileStore, MediaMetadata, MediaStoreExt, RetentionPolicy};
    /// use time::{Duration, OffsetDateTime};
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = FileStore::builder().with_base_dir(dir.path())
    ///     .with_default_policy(RetentionPolicy::RetainHours(1)).build().unwrap();
    /// let meta = MediaMetadata::new().with_session("s").with_conversation("c");
    /// let r = store.store_bytes("text/plain", "hi".into(), &meta).await.unwrap();
    /// let now = OffsetDateTime::now_utc();
    /// assert!(store.enforce_retention(now).await.unwrap().expired_references.is_empty());
    /// let later = store.enforce_retention(now + Duration::hours(2)).await.unwrap();
    /// assert_eq!(later.expired_references, vec![r]);
    /// # }
    /// ```
    pub async fn enforce_retention(&self, now: OffsetDateTime) -> Result<RetentionReport> {
        self.drop_references(move |r| r.is_expired(now)).await
    }

    /// Drops the references of a deleted conversation whose policy is
    /// [`RetentionPolicy::DeleteWithConversation`]; its other references stay.
    pub async fn conversation_deleted(&self, conversation_id: &str) -> Result<RetentionReport> {
        let conv = conversation_id.to_owned();
        self.drop_references(move |r| {
            r.policy == RetentionPolicy::DeleteWithConversation
                && r.conversation_id == Some(conv.as_str())
        })
        .await
    }

    /// Drops the [`RetentionPolicy::DeleteWithConversation`] references of
    /// every conversation *not* in `live` (for example the conversations a
    /// state store still holds): the garbage collection of references whose
    /// conversation is gone. References without a conversation id stay.
    pub async fn retain_conversations(
        &self,
        live: std::collections::HashSet<String>,
    ) -> Result<RetentionReport> {
        self.drop_references(move |r| {
            r.policy == RetentionPolicy::DeleteWithConversation
                && r.conversation_id.is_some_and(|c| !live.contains(c))
        })
        .await
    }

    async fn drop_references(
        &self,
        pick: impl Fn(&RefView<'_>) -> bool + Send + Sync + 'static,
    ) -> Result<RetentionReport> {
        self.mutate(move |inner| {
            let generation = inner.generation()?;
            let mut idx = inner.index_guard();
            if idx.generation != Some(generation) {
                *idx = super::index::Index::rebuild(inner, generation)?;
            }
            let picked: Vec<String> = idx.references().filter(|r| pick(r)).map(|r| r.id).collect();
            drop(idx);
            let mut report = RetentionReport::default();
            for id in picked {
                let reference = paths::reference_for(&id)?;
                match inner.delete_locked(&reference) {
                    Ok(freed) => {
                        if let Some(bytes) = freed {
                            report.removed_objects += 1;
                            report.freed_bytes += bytes;
                        }
                        report.expired_references.push(reference);
                    }
                    // Listed in a sidecar but without a record: left for gc.
                    Err(crate::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            inner.maybe_compact();
            Ok(report)
        })
        .await
    }

    /// Runs [`enforce_retention`](Self::enforce_retention) every `every` in
    /// a background task (first run after one period) until the handle is
    /// aborted; failures are logged with `tracing` and retried next period.
    pub fn spawn_retention_task(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        crate::lifecycle::spawn_retention_loop(every, move |now| {
            let store = store.clone();
            async move { store.enforce_retention(now).await }
        })
    }

    /// Re-hashes every media file against its sidecar and reports corruption,
    /// missing files and unreadable sidecars. Reads every media file; changes
    /// nothing.
    pub async fn verify(&self) -> Result<VerifyReport> {
        self.verify_with_progress(|_, _| {}).await
    }

    /// [`verify`](Self::verify), calling `progress(done, total)` before each
    /// file and once at the end with `done == total` (for progress bars on
    /// long walks).
    pub async fn verify_with_progress(
        &self,
        progress: impl Fn(u64, u64) + Send + 'static,
    ) -> Result<VerifyReport> {
        self.blocking(move |inner| {
            let mut report = VerifyReport::default();
            let sidecars: Vec<(PathBuf, String)> = walk_files(&inner.base.join(MEDIA_DIR))?
                .into_iter()
                .filter_map(|file| {
                    let name = file.file_name()?.to_str()?;
                    if name.starts_with(TEMP_PREFIX) {
                        return None;
                    }
                    let media_name = name.strip_suffix(META_SUFFIX)?.to_owned();
                    Some((file, media_name))
                })
                .collect();
            let total = sidecars.len() as u64;
            for (done, (file, media_name)) in (0u64..).zip(sidecars) {
                progress(done, total);
                let media = file.with_file_name(&media_name);
                let sidecar = match read_json::<MediaSidecar>(&file) {
                    Ok(Some(s)) => s,
                    Ok(None) => continue,
                    Err(_) => {
                        report.unreadable_sidecars.push(file);
                        continue;
                    }
                };
                let data = match std::fs::read(&media) {
                    Ok(d) => d,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        report.missing.push(media);
                        continue;
                    }
                    Err(e) => return Err(crate::Error::io(&media, e)),
                };
                report.checked += 1;
                let hash = blake3::hash(&data).to_hex();
                if hash.as_str() != sidecar.blake3 || data.len() as u64 != sidecar.size_bytes {
                    report.corrupt.push(media);
                }
            }
            progress(total, total);
            for v in [
                &mut report.corrupt,
                &mut report.missing,
                &mut report.unreadable_sidecars,
            ] {
                v.sort();
            }
            Ok(report)
        })
        .await
    }
}
