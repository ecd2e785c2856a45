//! The lifecycle of stored media, one trait for every backend:
//! [`MediaLifecycle`] (listing, `head`, statistics through [`MediaStore`],
//! garbage collection, verification, retention, a conversation's deletion)
//! with the same report types everywhere, and [`spawn_retention_task`] over it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::reports::{GcOptions, GcReport, RetentionReport, StoredReference, VerifyReport};
use crate::{Error, MediaStore, Result, StorageReference};

/// Progress of a long walk: `(done, total)`.
pub type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// Lifecycle operations every backend implements with the same report types,
/// so tools (the `promptkit` CLI, a cron job, a retention task) need no
/// per-backend code.
///
/// ```
/// # #[cfg(feature = "local")] {
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::sync::Arc;
/// use promptkit_media_store::{FileStore, GcOptions, MediaLifecycle, MediaLifecycleExt,
///     MediaMetadata, MediaStoreExt, RetentionPolicy};
///
/// async fn nightly(store: &dyn MediaLifecycle) -> promptkit_media_store::Result<u64> {
///     let retention = store.enforce_retention(time::OffsetDateTime::now_utc()).await?;
///     let gc = store.gc(GcOptions::new(false)).await?;
///     Ok(retention.freed_bytes + gc.freed_bytes)
/// }
///
/// # let dir = tempfile::tempdir().unwrap();
/// let store: Arc<dyn MediaLifecycle> =
///     Arc::new(FileStore::builder().with_base_dir(dir.path()).build().unwrap());
/// let meta = MediaMetadata::new().with_session("s").with_conversation("c")
///     .with_policy(RetentionPolicy::DeleteWithConversation);
/// let r = store.store_bytes("text/plain", "hello".into(), &meta).await.unwrap();
/// assert!(store.exists(&r).await.unwrap());
/// assert_eq!(nightly(store.as_ref()).await.unwrap(), 0);
/// store.conversation_deleted("c").await.unwrap();
/// assert!(!store.exists(&r).await.unwrap());
/// # });
/// # }
/// ```
#[async_trait]
pub trait MediaLifecycle: MediaStore {
    /// What the index records about one reference (location, hash, MIME
    /// type, size, owners, policy, creation time), without reading the media.
    /// [`Error::NotFound`] when the reference does not resolve.
    async fn head(&self, reference: &StorageReference) -> Result<StoredReference>;

    /// Every live reference, sorted by location, then reference. Reads the
    /// index, no media.
    async fn list(&self) -> Result<Vec<StoredReference>>;

    /// Cleans up what crashes and outside hands leave: temp files past the
    /// grace period, media no reference points to, sidecars without media,
    /// references whose media is gone; rewrites missing sidecars. A dry run
    /// only reports. Never touches anything outside the store.
    async fn gc(&self, options: GcOptions) -> Result<GcReport>;

    /// Re-hashes every stored media and checks sidecars, calling
    /// `progress(done, total)` as it goes (`done == 0` first, `done == total`
    /// last). Media deleted while `verify` runs are not reported missing.
    async fn verify_with_progress(&self, progress: Progress) -> Result<VerifyReport>;

    /// Drops every reference whose time-based policy ran out at `now`
    /// (counted from its creation). Shared media goes with its last reference.
    async fn enforce_retention(&self, now: OffsetDateTime) -> Result<RetentionReport>;

    /// Drops the `delete-with-conversation` references of a conversation.
    async fn conversation_deleted(&self, conversation_id: &str) -> Result<RetentionReport>;

    /// Drops the `delete-with-conversation` references of every conversation
    /// not in `live` (e.g. the conversations a state store still holds).
    async fn retain_conversations(&self, live: HashSet<String>) -> Result<RetentionReport>;
}

/// Conveniences over any [`MediaLifecycle`].
///
/// ```
/// # #[cfg(feature = "local")] {
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use promptkit_media_store::{FileStore, MediaLifecycleExt, MediaMetadata, MediaStore,
///     MediaStoreExt};
/// # let dir = tempfile::tempdir().unwrap();
/// let store = FileStore::builder().with_base_dir(dir.path()).build().unwrap();
/// let meta = MediaMetadata::new().with_session("s").with_conversation("c");
/// let r = store.store_bytes("text/plain", "x".into(), &meta).await.unwrap();
/// assert!(store.exists(&r).await.unwrap());
/// assert!(store.verify().await.unwrap().is_ok());
/// store.delete(&r).await.unwrap();
/// assert!(!store.exists(&r).await.unwrap());
/// # });
/// # }
/// ```
#[async_trait]
pub trait MediaLifecycleExt: MediaLifecycle {
    /// Whether a reference resolves (without reading the media).
    async fn exists(&self, reference: &StorageReference) -> Result<bool> {
        match self.head(reference).await {
            Ok(_) => Ok(true),
            Err(Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// [`verify_with_progress`](MediaLifecycle::verify_with_progress) without progress.
    async fn verify(&self) -> Result<VerifyReport> {
        self.verify_with_progress(Arc::new(|_, _| {})).await
    }
}

impl<S: MediaLifecycle + ?Sized> MediaLifecycleExt for S {}

macro_rules! forward_lifecycle {
    ($ty:ty) => {
        #[async_trait]
        impl<S: MediaLifecycle + ?Sized> MediaLifecycle for $ty {
            async fn head(&self, reference: &StorageReference) -> Result<StoredReference> {
                (**self).head(reference).await
            }
            async fn list(&self) -> Result<Vec<StoredReference>> {
                (**self).list().await
            }
            async fn gc(&self, options: GcOptions) -> Result<GcReport> {
                (**self).gc(options).await
            }
            async fn verify_with_progress(&self, progress: Progress) -> Result<VerifyReport> {
                (**self).verify_with_progress(progress).await
            }
            async fn enforce_retention(&self, now: OffsetDateTime) -> Result<RetentionReport> {
                (**self).enforce_retention(now).await
            }
            async fn conversation_deleted(&self, id: &str) -> Result<RetentionReport> {
                (**self).conversation_deleted(id).await
            }
            async fn retain_conversations(&self, live: HashSet<String>) -> Result<RetentionReport> {
                (**self).retain_conversations(live).await
            }
        }
    };
}

forward_lifecycle!(Arc<S>);
forward_lifecycle!(Box<S>);

/// Runs [`MediaLifecycle::enforce_retention`] every `every` in a background
/// task (first run after one period) until the handle is aborted; failures
/// are logged with `tracing` and retried next period. Works on every backend.
///
/// ```
/// # #[cfg(feature = "local")] {
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::{sync::Arc, time::Duration};
/// use promptkit_media_store::{FileStore, spawn_retention_task};
/// # let dir = tempfile::tempdir().unwrap();
/// let store = Arc::new(FileStore::builder().with_base_dir(dir.path()).build().unwrap());
/// let task = spawn_retention_task(store, Duration::from_secs(3600));
/// task.abort();
/// # });
/// # }
/// ```
pub fn spawn_retention_task(
    store: Arc<dyn MediaLifecycle>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            match store.enforce_retention(OffsetDateTime::now_utc()).await {
                Ok(r) if !r.expired_references.is_empty() => tracing::info!(
                    references = r.expired_references.len(),
                    objects = r.removed_objects,
                    freed_bytes = r.freed_bytes,
                    "retention removed expired media"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "retention enforcement failed"),
            }
        }
    })
}
