//! Lifecycle of stored media on object stores: listing references and
//! enforcing retention policies. Garbage collection is in `gc`,
//! verification in `verify`.

use std::collections::{BTreeMap, HashSet};

use futures::{StreamExt, TryStreamExt};
use time::OffsetDateTime;

use super::ObjectStoreMediaStore;
use super::layout::RefKey;
use crate::reports::{RetentionReport, StoredReference, is_expired};
use crate::sidecar::MediaSidecar;
use crate::{Error, Result, RetentionPolicy, StorageReference};

/// Hashes whose references are dropped at the same time.
const DELETES_IN_FLIGHT: usize = 8;

impl ObjectStoreMediaStore {
    /// Every live reference (one whose bytes are stored), with MIME type,
    /// size, owners, creation time and retention policy, sorted by creation
    /// time. Reads every reference marker (16 reads in flight), no media.
    /// Markers that cannot be parsed are skipped with a warning (`verify`
    /// reports them).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> promptkit_media_store::Result<()> {
    /// use bytes::Bytes;
    /// use promptkit_media_store::{MediaLifecycle, MediaMetadata, MediaStoreExt, ObjectStoreConfig,
    ///     ObjectStoreMediaStore, RetentionPolicy};
    ///
    /// let store = ObjectStoreMediaStore::in_memory(ObjectStoreConfig::default())?;
    /// let meta = MediaMetadata::new().with_session("s1").with_conversation("c1");
    /// let png = Bytes::from_static(b"\x89PNG\r\n\x1a\n...");
    /// let r = store.store_bytes("image/png", png, &meta).await?;
    /// let listed = store.list().await?;
    /// assert_eq!(listed.len(), 1);
    /// assert_eq!(listed[0].reference, r);
    /// assert_eq!(listed[0].metadata.conversation_id.as_deref(), Some("c1"));
    /// assert_eq!(listed[0].policy, RetentionPolicy::Retain);
    /// # Ok(()) }
    /// ```
    pub(crate) async fn list(&self) -> Result<Vec<StoredReference>> {
        let inv = self.inventory().await?;
        let mut locations = BTreeMap::new();
        let mut markers = Vec::new();
        for (hash, e) in inv.hashes {
            if let Some(content) = e.content.first() {
                locations.insert(hash, content.location.clone());
                markers.extend(e.markers.into_iter().map(|(r, _)| r));
            }
        }
        let (records, _unreadable) = self.read_markers(markers).await?;
        let mut out = records
            .into_iter()
            .map(|(r, rec)| {
                let key = locations.get(&r.hash).cloned().unwrap_or_default();
                self.stored_reference(&r, rec, &key)
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| {
            (&a.location, a.reference.as_str()).cmp(&(&b.location, b.reference.as_str()))
        });
        Ok(out)
    }

    /// What the marker of `reference` records, and where its bytes are
    /// (a `head` of the bytes, no read).
    pub(crate) async fn head_reference(
        &self,
        reference: &StorageReference,
    ) -> Result<StoredReference> {
        let (r, record, key) = self.resolve(reference).await?;
        if !self.exists(&key).await? {
            return Err(Error::NotFound {
                reference: reference.to_string(),
            });
        }
        self.stored_reference(&r, record, &key)
    }

    fn stored_reference(
        &self,
        r: &RefKey,
        rec: MediaSidecar,
        key: &object_store::path::Path,
    ) -> Result<StoredReference> {
        Ok(StoredReference {
            reference: r.to_reference()?,
            location: super::inventory::key_path(key),
            blake3: rec.blake3,
            mime_type: rec.mime_type,
            size_bytes: rec.size_bytes,
            created: rec.created,
            policy: rec.metadata.policy.unwrap_or(self.config.default_policy),
            metadata: rec.metadata,
        })
    }

    /// Drops every reference whose time-based retention policy
    /// (`delete-after-<N>min`, `retain-<N>hours`, `retain-<N>days`, counted
    /// from the reference's creation) has run out at `now`, through the same
    /// race-safe path as [`delete`](crate::MediaStore::delete): bytes shared
    /// by deduplication go only with their last reference, and a reference
    /// stored concurrently by another process keeps them. Several processes
    /// may enforce retention at once; the result is the same, but object
    /// stores cannot tell a delete which of two simultaneous deleters removed
    /// an object, so a reference (or object) that two of them drop at the
    /// same moment may appear in both reports.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> promptkit_media_store::Result<()> {
    /// use bytes::Bytes;
    /// use promptkit_media_store::{MediaLifecycle, MediaMetadata, MediaStore, MediaStoreExt,
    ///     ObjectStoreConfig,
    ///     ObjectStoreMediaStore, RetentionPolicy};
    /// use time::{Duration, OffsetDateTime};
    ///
    /// let store = ObjectStoreMediaStore::in_memory(ObjectStoreConfig::default())?;
    /// let meta = MediaMetadata::new().with_session("s").with_conversation("c");
    /// let png = Bytes::from_static(b"\x89PNG\r\n\x1a\n...");
    /// let short = store
    ///     .store_bytes("image/png", png.clone(), &meta.clone().with_policy(RetentionPolicy::RetainHours(1)))
    ///     .await?;
    /// let kept = store.store_bytes("image/png", png.clone(), &meta).await?; // `retain`
    ///
    /// let later = OffsetDateTime::now_utc() + Duration::hours(2);
    /// let report = store.enforce_retention(later).await?;
    /// assert_eq!(report.expired_references, vec![short]);
    /// assert_eq!(report.removed_objects, 0, "the shared bytes are still referenced");
    /// assert_eq!(store.retrieve_bytes(&kept).await?, png);
    /// # Ok(()) }
    /// ```
    pub(crate) async fn enforce_retention(&self, now: OffsetDateTime) -> Result<RetentionReport> {
        let default = self.config.default_policy;
        self.drop_references(move |rec| {
            is_expired(rec.metadata.policy.unwrap_or(default), rec.created, now)
        })
        .await
    }

    /// Drops the references of a deleted conversation whose policy is
    /// [`RetentionPolicy::DeleteWithConversation`]; its other references stay.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> promptkit_media_store::Result<()> {
    /// use promptkit_media_store::{MediaLifecycle, MediaMetadata, MediaStoreExt, ObjectStoreConfig,
    ///     ObjectStoreMediaStore, RetentionPolicy};
    ///
    /// let store = ObjectStoreMediaStore::in_memory(ObjectStoreConfig::default())?;
    /// let meta = MediaMetadata::new().with_session("s").with_conversation("c1")
    ///     .with_policy(RetentionPolicy::DeleteWithConversation);
    /// let r = store.store_bytes("text/plain", "bye".into(), &meta).await?;
    /// let report = store.conversation_deleted("c1").await?;
    /// assert_eq!((report.expired_references, report.removed_objects), (vec![r], 1));
    /// # Ok(()) }
    /// ```
    pub(crate) async fn conversation_deleted(
        &self,
        conversation_id: &str,
    ) -> Result<RetentionReport> {
        let conv = conversation_id.to_owned();
        let default = self.config.default_policy;
        self.drop_references(move |rec| {
            rec.metadata.policy.unwrap_or(default) == RetentionPolicy::DeleteWithConversation
                && rec.metadata.conversation_id.as_deref() == Some(conv.as_str())
        })
        .await
    }

    /// Drops the [`RetentionPolicy::DeleteWithConversation`] references of
    /// every conversation *not* in `live` (for example the conversations a
    /// state store still holds). References without a conversation id stay.
    pub(crate) async fn retain_conversations(
        &self,
        live: HashSet<String>,
    ) -> Result<RetentionReport> {
        let default = self.config.default_policy;
        self.drop_references(move |rec| {
            rec.metadata.policy.unwrap_or(default) == RetentionPolicy::DeleteWithConversation
                && rec
                    .metadata
                    .conversation_id
                    .as_ref()
                    .is_some_and(|c| !live.contains(c))
        })
        .await
    }

    /// Drops every reference whose marker `pick`s, hash by hash (the
    /// references of one hash in turn, so the last one is counted once).
    async fn drop_references(
        &self,
        pick: impl Fn(&MediaSidecar) -> bool + Send + Sync,
    ) -> Result<RetentionReport> {
        let inv = self.inventory().await?;
        let markers = inv
            .hashes
            .into_values()
            .flat_map(|e| e.markers.into_iter().map(|(r, _)| r))
            .collect();
        let (records, _unreadable) = self.read_markers(markers).await?;
        let mut by_hash: BTreeMap<String, Vec<(RefKey, u64)>> = BTreeMap::new();
        for (r, rec) in records {
            if pick(&rec) {
                by_hash
                    .entry(r.hash.clone())
                    .or_default()
                    .push((r, rec.size_bytes));
            }
        }
        let parts: Vec<RetentionReport> = futures::stream::iter(by_hash.into_values())
            .map(|refs| async move {
                let mut report = RetentionReport::default();
                for (r, size) in refs {
                    match self.drop_reference(&r).await {
                        Ok(removed) => {
                            if removed {
                                report.removed_objects += 1;
                                report.freed_bytes += size;
                            }
                            report.expired_references.push(r.to_reference()?);
                        }
                        // Deleted meanwhile (by a user or another process).
                        Err(Error::NotFound { .. }) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(report)
            })
            .buffer_unordered(DELETES_IN_FLIGHT)
            .try_collect()
            .await?;
        let mut report = RetentionReport::default();
        for p in parts {
            report.expired_references.extend(p.expired_references);
            report.removed_objects += p.removed_objects;
            report.freed_bytes += p.freed_bytes;
        }
        report.expired_references.sort();
        Ok(report)
    }
}
