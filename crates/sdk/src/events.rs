//! Observability for media operations: a [`MediaStore`] wrapper that emits
//! `tracing` spans and calls back with a [`MediaEvent`] for every store,
//! retrieve and delete, with sizes and durations.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use promptkit_media_store::{
    MediaContent, MediaMetadata, MediaStore, Result, StorageReference, StorageStats,
};
use tracing::Instrument;

/// What happened to media.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use promptkit_core::MediaContent;
/// use promptkit_sdk::{ConversationConfig, ConversationManager, ManagerConfig, MediaEventKind, MockProvider};
/// # use promptkit_media_store::FileStore;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let dir = tempfile::tempdir().unwrap();
/// let kinds = Arc::new(Mutex::new(Vec::new()));
/// let log = kinds.clone();
/// let manager = ConversationManager::builder()
///     .provider(MockProvider::new())
///     .media_store(FileStore::builder().with_base_dir(dir.path()).build().unwrap())
///     .config(ManagerConfig { media_size_threshold_kb: 0, ..Default::default() })
///     .on_media_event(move |e| log.lock().unwrap().push(e.kind))
///     .build()
///     .unwrap();
/// # let pack = manager.register_pack(promptkit_pack::Pack::from_json_str(r#"{
/// #   "id": "hello", "name": "Hello", "version": "1.0.0",
/// #   "template_engine": {"version": "v1", "syntax": "{{variable}}"},
/// #   "prompts": {"chat": {"id": "chat", "name": "chat", "version": "1.0.0",
/// #     "system_template": "You are helpful."}}
/// # }"#).unwrap());
/// let mut conv = manager.new_conversation(&pack, ConversationConfig::new("u1", "s1")).unwrap();
/// let image = MediaContent::from_bytes("image/png", b"\x89PNG\r\n\x1a\n....".to_vec());
/// conv.send_with_media("Look", vec![image]).await.unwrap();
/// manager.delete_conversation(conv.id()).await.unwrap();
/// assert_eq!(*kinds.lock().unwrap(), [MediaEventKind::Stored, MediaEventKind::Deleted]);
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaEventKind {
    /// Media was stored (externalized).
    Stored,
    /// Media was loaded (rehydrated).
    Retrieved,
    /// A reference was deleted.
    Deleted,
}

/// One media operation, reported after it finished.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use promptkit_core::MediaContent;
/// use promptkit_sdk::{MediaEvent, MediaEventKind};
/// # use promptkit_media_store::FileStore;
/// # use promptkit_sdk::{ConversationConfig, ConversationManager, ManagerConfig, MockProvider};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let dir = tempfile::tempdir().unwrap();
/// let events: Arc<Mutex<Vec<MediaEvent>>> = Arc::default();
/// let log = events.clone();
/// let manager = ConversationManager::builder()
/// #   .provider(MockProvider::new())
/// #   .media_store(FileStore::builder().with_base_dir(dir.path()).build().unwrap())
/// #   .config(ManagerConfig { media_size_threshold_kb: 0, ..Default::default() })
///     // ...
///     .on_media_event(move |e| log.lock().unwrap().push(e.clone()))
///     .build()
///     .unwrap();
/// # let pack = manager.register_pack(promptkit_pack::Pack::from_json_str(r#"{
/// #   "id": "hello", "name": "Hello", "version": "1.0.0",
/// #   "template_engine": {"version": "v1", "syntax": "{{variable}}"},
/// #   "prompts": {"chat": {"id": "chat", "name": "chat", "version": "1.0.0",
/// #     "system_template": "You are helpful."}}
/// # }"#).unwrap());
/// # let mut conv = manager.new_conversation(&pack, ConversationConfig::new("u1", "s1")).unwrap();
/// let image = MediaContent::from_bytes("image/png", b"\x89PNG\r\n\x1a\n....".to_vec());
/// let resp = conv.send_with_media("Look", vec![image]).await.unwrap();
/// let events = events.lock().unwrap();
/// let e = &events[0];
/// assert_eq!((e.kind, e.bytes, e.mime_type.as_deref()), (MediaEventKind::Stored, 12, Some("image/png")));
/// assert_eq!(e.reference.as_ref(), Some(&resp.stored_media[0].reference));
/// assert!(e.error.is_none());
/// # });
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MediaEvent {
    /// The operation.
    pub kind: MediaEventKind,
    /// The reference (the new one for [`MediaEventKind::Stored`]); `None` when a store failed.
    pub reference: Option<StorageReference>,
    /// MIME type, when known.
    pub mime_type: Option<String>,
    /// Bytes stored or retrieved (0 for deletes).
    pub bytes: u64,
    /// How long the operation took.
    pub duration: Duration,
    /// The error, when the operation failed.
    pub error: Option<String>,
}

/// Callback type for [`MediaEvent`]s.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use promptkit_media_store::{FileStore, MediaMetadata, MediaStoreExt};
/// use promptkit_sdk::{MediaEvent, MediaEventCallback, MediaEventKind, ObservedStore};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let dir = tempfile::tempdir().unwrap();
/// /// Counts the bytes written to the store.
/// fn bytes_written(total: Arc<AtomicU64>) -> MediaEventCallback {
///     Arc::new(move |e: &MediaEvent| {
///         if e.kind == MediaEventKind::Stored && e.error.is_none() {
///             total.fetch_add(e.bytes, Ordering::Relaxed);
///         }
///     })
/// }
/// let total = Arc::new(AtomicU64::new(0));
/// let files = FileStore::builder().with_base_dir(dir.path()).build().unwrap();
/// let store = ObservedStore::new(Arc::new(files), bytes_written(total.clone()));
/// let meta = MediaMetadata::new().with_session("s").with_conversation("c");
/// store.store_bytes("text/plain", "hello".into(), &meta).await.unwrap();
/// store.store_bytes("text/plain", "world!".into(), &meta).await.unwrap();
/// assert_eq!(total.load(Ordering::Relaxed), 11);
/// # });
/// ```
pub type MediaEventCallback = Arc<dyn Fn(&MediaEvent) + Send + Sync>;

/// Wraps a store: every operation runs in a `tracing` span (`media_store`, with
/// `op` and `bytes`) and is reported to a callback.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use promptkit_media_store::{FileStore, MediaMetadata, MediaStore, MediaStoreExt};
/// use promptkit_sdk::{MediaEventKind, ObservedStore};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = seen.clone();
/// let store = ObservedStore::new(
///     Arc::new(FileStore::builder().with_base_dir(dir.path()).build().unwrap()),
///     Arc::new(move |e: &promptkit_sdk::MediaEvent| log.lock().unwrap().push((e.kind, e.bytes))),
/// );
/// let meta = MediaMetadata::new().with_session("s").with_conversation("c");
/// let r = store.store_bytes("text/plain", "hello".into(), &meta).await.unwrap();
/// store.retrieve(&r).await.unwrap();
/// assert_eq!(*seen.lock().unwrap(), vec![(MediaEventKind::Stored, 5), (MediaEventKind::Retrieved, 5)]);
/// # });
/// ```
#[derive(Clone)]
pub struct ObservedStore {
    inner: Arc<dyn MediaStore>,
    callback: MediaEventCallback,
}

impl std::fmt::Debug for ObservedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObservedStore")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl ObservedStore {
    /// Wraps `inner`, reporting to `callback`.
    pub fn new(inner: Arc<dyn MediaStore>, callback: MediaEventCallback) -> Self {
        ObservedStore { inner, callback }
    }

    fn report(
        &self,
        kind: MediaEventKind,
        reference: Option<StorageReference>,
        mime_type: Option<String>,
        bytes: u64,
        started: Instant,
        error: Option<String>,
    ) {
        let event = MediaEvent {
            kind,
            reference,
            mime_type,
            bytes,
            duration: started.elapsed(),
            error,
        };
        tracing::debug!(kind = ?event.kind, bytes, duration_us = event.duration.as_micros() as u64, ok = event.error.is_none(), "media event");
        (self.callback)(&event);
    }
}

#[async_trait]
impl MediaStore for ObservedStore {
    async fn store(
        &self,
        content: &MediaContent,
        metadata: &MediaMetadata,
    ) -> Result<StorageReference> {
        let started = Instant::now();
        let bytes = content.inline_len() as u64;
        let span =
            tracing::info_span!("media_store", op = "store", bytes, mime = %content.mime_type);
        let r = self.inner.store(content, metadata).instrument(span).await;
        self.report(
            MediaEventKind::Stored,
            r.as_ref().ok().cloned(),
            Some(content.mime_type.to_string()),
            bytes,
            started,
            r.as_ref().err().map(ToString::to_string),
        );
        r
    }

    async fn retrieve(&self, reference: &StorageReference) -> Result<MediaContent> {
        let started = Instant::now();
        let span = tracing::info_span!("media_store", op = "retrieve", reference = %reference);
        let r = self.inner.retrieve(reference).instrument(span).await;
        let (mime, bytes) = match &r {
            Ok(m) => (Some(m.mime_type.to_string()), m.inline_len() as u64),
            Err(_) => (None, 0),
        };
        self.report(
            MediaEventKind::Retrieved,
            Some(reference.clone()),
            mime,
            bytes,
            started,
            r.as_ref().err().map(ToString::to_string),
        );
        r
    }

    async fn delete(&self, reference: &StorageReference) -> Result<()> {
        let started = Instant::now();
        let span = tracing::info_span!("media_store", op = "delete", reference = %reference);
        let r = self.inner.delete(reference).instrument(span).await;
        self.report(
            MediaEventKind::Deleted,
            Some(reference.clone()),
            None,
            0,
            started,
            r.as_ref().err().map(ToString::to_string),
        );
        r
    }

    async fn url(&self, reference: &StorageReference, expiry: Duration) -> Result<String> {
        self.inner.url(reference, expiry).await
    }

    async fn stats(&self) -> Result<StorageStats> {
        self.inner.stats().await
    }
}
