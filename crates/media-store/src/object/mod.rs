//! [`ObjectStoreMediaStore`]: the media store over any `object_store` backend
//! (S3, GCS, Azure, local filesystem, in memory).
//!
//! # Layout
//!
//! Under the configured key prefix:
//!
//! ```text
//! media/<org dirs>/<blake3>.<ext>        the bytes, stored once
//! media/<org dirs>/<blake3>.<ext>.meta   JSON sidecar (hash, MIME type, size, created,
//!                                        ids, message/part index, provider, policy)
//! index/<blake3>/location                key of the bytes (write-once)
//! index/<blake3>/refs/<ref-id>           one JSON marker per live reference
//! index/<blake3>/trash/<id>              short-lived copy during a last delete
//! ```
//!
//! `<org dirs>` follow the [`Organization`](crate::Organization) of the store
//! that stored the bytes first (`<session>/<conversation>`, `<conversation>`,
//! `<run>`, or nothing for `Flat`); identical bytes stored later from any
//! conversation, session or process reuse that key. A reference is
//! `obj:<blake3>/<ref-id>` (85 bytes) and stays valid for every store opened
//! on the same bucket and prefix, whatever its organization.
//!
//! # Consistency across processes
//!
//! Several processes may share one bucket. Every reference is its own small
//! marker object (`index/<hash>/refs/<ref-id>`), so the reference count of some
//! bytes is a listing and no object is ever read-modified-written. The bytes
//! and their sidecar are created with `PutMode::Create`; the key they live at
//! is claimed once, also with `PutMode::Create`, in `index/<hash>/location`.
//!
//! The race between a store of some bytes and the delete of their last other
//! reference is closed by ordering:
//!
//! - **store** writes its marker *first*, then makes sure the bytes exist
//!   (a `head`, or a create that is only trusted after a `head` confirms it),
//!   and writes them again if they are missing;
//! - **delete** removes its marker, lists the markers, and when none remain it
//!   copies the bytes to `index/<hash>/trash/<id>`, deletes sidecar and bytes,
//!   then lists the markers *again*: if a store added one meanwhile, that store
//!   may have seen the bytes before they were deleted, so the delete puts them
//!   back from its trash copy before removing the copy.
//!
//! A store whose check ran after the delete rewrote the bytes itself; a store
//! whose check ran before it is seen by the second listing. Either way a
//! reference handed out always resolves. A delete interrupted between the two
//! listings (crash, backend down) leaves the trash copy, and `retrieve` falls
//! back to it, so no live reference loses its bytes.
//!
//! The location record is write-once and outlives the bytes (one small object
//! per distinct content ever stored): a store that read it can never find the
//! bytes moved elsewhere, and re-storing deleted bytes puts them back at the
//! same key.
//!
//! This relies on the backend listing what was written before (strong
//! read-after-write and list-after-write consistency, as S3, GCS, Azure and
//! the local filesystem provide) and on `PutMode::Create` being atomic.
//!
//! `stats()` lists `media/` and `index/` and reads the reference markers it
//! has not read before (16 reads in flight): markers never change, so a store
//! remembers what it parsed (checked against each listing's size, e-tag and
//! last-modified; up to 250,000 markers). The first call on a store costs one
//! read per live reference, later calls one per new reference, plus the listings.
//!
//! # Lifecycle
//!
//! The same operations as the local store, through the same trait
//! ([`MediaLifecycle`]) and with the same report types
//! ([`RetentionReport`], [`GcReport`], [`VerifyReport`]):
//!
//! - [`list`](crate::MediaLifecycle::list): every live reference with MIME
//!   type, size, owners, creation time and policy ([`StoredReference`]);
//! - [`enforce_retention`](crate::MediaLifecycle::enforce_retention) (at a
//!   `now` you pass, so tests control the clock) and
//!   [`spawn_retention_task`](crate::spawn_retention_task)
//!   drop references whose time-based policy ran out;
//!   [`conversation_deleted`](crate::MediaLifecycle::conversation_deleted) and
//!   [`retain_conversations`](crate::MediaLifecycle::retain_conversations)
//!   apply `delete-with-conversation`. Each reference is dropped exactly like
//!   `delete` does it, so shared bytes go with their last reference and a
//!   concurrent store in another process keeps them;
//! - [`gc`](crate::MediaLifecycle::gc) removes bytes without references, stray
//!   copies, sidecars without bytes, markers whose bytes are gone, leftover
//!   trash copies and location records of content that is gone, puts back
//!   bytes an interrupted delete left only in its trash (or found at another
//!   key) where their references look for them, and leaves objects
//!   younger than a grace period alone (work in progress elsewhere); a dry
//!   run only reports. Removing a location record follows the same
//!   check/delete/re-check order as a last delete;
//! - [`verify`](crate::MediaLifecycleExt::verify) re-hashes every object.
//!
//! All of them list the bucket and read the small marker objects; `verify`
//! also reads every media object. Objects of other shapes under the prefix
//! (foreign files) are never touched.
//!
//! Failures never hand out a reference: if the bytes cannot be written the
//! marker is removed again. That removal is best effort: a marker left behind
//! by a backend outage is not counted by `stats()` while its bytes are absent,
//! and at worst keeps identical bytes stored later from being deleted (a leak,
//! never a loss).

mod config;
mod delete;
mod errors;
mod gc;
mod inventory;
mod layout;
mod lifecycle;
mod read;
#[cfg(feature = "s3")]
mod s3;
mod stats;
mod verify;
mod write;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

pub use crate::reports::{GcOptions, GcReport, RetentionReport, StoredReference, VerifyReport};
pub use config::{DEFAULT_MULTIPART_THRESHOLD, ObjectStoreConfig};
#[cfg(feature = "s3")]
pub use s3::{S3MediaStore, S3MediaStoreBuilder};

use crate::lifecycle::{MediaLifecycle, Progress};
use crate::sidecar::{MediaSidecar, SIDECAR_LIMIT};
use crate::{
    Error, MediaContent, MediaMetadata, MediaStore, Result, StorageReference, StorageStats,
    delivery,
};
use layout::Layout;

/// Where `url()` gets its URLs from.
#[derive(Clone)]
enum UrlSource {
    /// The backend cannot hand out URLs.
    None,
    /// Presigned URLs (S3, GCS, Azure).
    #[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
    Signer(Arc<dyn object_store::signer::Signer>),
    /// `file://` URLs of a local filesystem store.
    Local(Arc<LocalFileSystem>),
}

/// A [`MediaStore`] over any [`ObjectStore`]: content addressed with BLAKE3,
/// deduplicated across conversations and processes, with `.meta` JSON
/// sidecars and per-reference marker objects (see the
/// [module docs](crate::object#consistency-across-processes) for the layout and
/// how concurrent stores and deletes stay consistent).
///
/// `retrieve` checks the bytes against their hash ([`Error::Corrupt`] on a
/// mismatch). Retention policies are recorded in each reference's marker and
/// enforced by [`enforce_retention`](crate::MediaLifecycle::enforce_retention) and
/// [`conversation_deleted`](crate::MediaLifecycle::conversation_deleted); see the
/// [module docs](crate::object#lifecycle) for garbage collection and
/// verification.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> promptkit_media_store::Result<()> {
/// use bytes::Bytes;
/// use promptkit_media_store::{
///     MediaMetadata, MediaStore, MediaStoreExt, ObjectStoreConfig, ObjectStoreMediaStore,
/// };
///
/// let store = ObjectStoreMediaStore::in_memory(ObjectStoreConfig::default())?;
/// let png = Bytes::from_static(b"\x89PNG\r\n\x1a\n...pixels...");
/// let meta = MediaMetadata::new().with_session("s1").with_conversation("c1");
///
/// let r1 = store.store_bytes("image/png", png.clone(), &meta).await?;
/// let r2 = store.store_bytes("image/png", png.clone(), &meta).await?;
/// assert_ne!(r1, r2);
/// assert_eq!(store.retrieve_bytes(&r2).await?, png);
///
/// let stats = store.stats().await?;
/// assert_eq!((stats.objects, stats.references), (1, 2));
///
/// store.delete(&r1).await?;
/// store.delete(&r2).await?;
/// assert_eq!(store.stats().await?.objects, 0);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ObjectStoreMediaStore {
    store: Arc<dyn ObjectStore>,
    backend: String,
    layout: Layout,
    config: ObjectStoreConfig,
    urls: UrlSource,
    /// Reference markers parsed by earlier `stats` calls.
    markers: Arc<stats::MarkerCache>,
}

impl fmt::Debug for ObjectStoreMediaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The inner store's Display names backend and bucket, never credentials.
        f.debug_struct("ObjectStoreMediaStore")
            .field("backend", &self.backend)
            .field("store", &format_args!("{}", self.store))
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ObjectStoreMediaStore {
    /// A media store over `store` (GCS, Azure, a wrapped or custom store...).
    ///
    /// `url()` is [`Error::NotSupported`] unless a signer is added with
    /// `with_signer` (features `s3`/`gcs`/`azure`). A key prefix that is not a
    /// valid object path is [`Error::Config`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use object_store::memory::InMemory;
    /// use promptkit_media_store::{ObjectStoreConfig, ObjectStoreMediaStore};
    ///
    /// let store = ObjectStoreMediaStore::new(
    ///     Arc::new(InMemory::new()),
    ///     ObjectStoreConfig::default().with_prefix("media-store"),
    /// )
    /// .unwrap();
    /// assert_eq!(store.config().prefix.as_deref(), Some("media-store"));
    /// assert!(ObjectStoreMediaStore::new(
    ///     Arc::new(InMemory::new()),
    ///     ObjectStoreConfig::default().with_prefix("a/../b"),
    /// )
    /// .is_err());
    /// ```
    pub fn new(store: Arc<dyn ObjectStore>, config: ObjectStoreConfig) -> Result<Self> {
        let layout = Layout::new(config.prefix.as_deref())?;
        Ok(ObjectStoreMediaStore {
            backend: store.to_string(),
            store,
            layout,
            config,
            urls: UrlSource::None,
            markers: Default::default(),
        })
    }

    /// A store in memory (object_store's `InMemory`): for tests and demos.
    pub fn in_memory(config: ObjectStoreConfig) -> Result<Self> {
        let mut s = Self::new(Arc::new(InMemory::new()), config)?;
        s.backend = "memory".into();
        Ok(s)
    }

    /// A store in a local directory through object_store's `LocalFileSystem`
    /// (created if missing); `url()` returns `file://` URLs.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> promptkit_media_store::Result<()> {
    /// use std::time::Duration;
    /// use promptkit_media_store::{MediaMetadata, MediaStore, MediaStoreExt, ObjectStoreConfig,
    ///     ObjectStoreMediaStore, Organization};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let config = ObjectStoreConfig::default().with_organization(Organization::ByRun);
    /// let store = ObjectStoreMediaStore::local_filesystem(dir.path(), config)?;
    /// let r = store
    ///     .store_bytes("text/plain", "hello".into(), &MediaMetadata::new().with_run("r1"))
    ///     .await?;
    /// let url = store.url(&r, Duration::from_secs(60)).await?;
    /// assert!(url.starts_with("file://") && url.ends_with(".txt"));
    /// assert!(url.contains("/media/r1/"));
    /// # Ok(()) }
    /// ```
    pub fn local_filesystem(
        root: impl AsRef<std::path::Path>,
        config: ObjectStoreConfig,
    ) -> Result<Self> {
        let root = root.as_ref();
        std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
        let fs = LocalFileSystem::new_with_prefix(root)
            .map_err(|e| Error::Config(format!("local store at {}: {e}", root.display())))?
            .with_automatic_cleanup(true);
        let fs = Arc::new(fs);
        let mut s = Self::new(Arc::clone(&fs) as Arc<dyn ObjectStore>, config)?;
        s.backend = "local-fs".into();
        s.urls = UrlSource::Local(fs);
        Ok(s)
    }

    /// Uses `signer` (e.g. an `AmazonS3`, `GoogleCloudStorage` or `MicrosoftAzure`)
    /// for presigned `url()`s.
    #[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
    pub fn with_signer(mut self, signer: Arc<dyn object_store::signer::Signer>) -> Self {
        self.urls = UrlSource::Signer(signer);
        self
    }

    /// Names the backend in errors (`s3`, `gcs`, ...); defaults to the store's
    /// display name.
    pub fn with_backend_name(mut self, name: impl Into<String>) -> Self {
        self.backend = name.into();
        self
    }

    /// The settings.
    pub fn config(&self) -> &ObjectStoreConfig {
        &self.config
    }

    /// The underlying object store.
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    fn err(&self, operation: &str, key: &dyn fmt::Display, e: object_store::Error) -> Error {
        errors::map_err(&self.backend, operation, key, e)
    }

    /// Reads a whole object of at most `limit` bytes; `None` when it does
    /// not exist. A larger one is [`Error::Corrupt`] and is not downloaded
    /// (something planted there is never read into memory).
    async fn get_opt(&self, key: &Path, limit: u64) -> Result<Option<Bytes>> {
        let res = match self.store.get(key).await {
            Ok(r) if r.meta.size > limit => {
                return Err(Error::Corrupt {
                    reference: key.to_string(),
                    message: format!("{key} holds {} bytes, more than {limit}", r.meta.size),
                });
            }
            Ok(r) => r.bytes().await,
            Err(e) => Err(e),
        };
        match res {
            Ok(b) => Ok(Some(b)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err("get", key, e)),
        }
    }

    /// The sidecar-format object at `key` (a sidecar or a reference
    /// marker): `None` when it does not exist, `Some(Err(Corrupt))` when it
    /// cannot be read as one.
    async fn read_sidecar(&self, key: &Path) -> Result<Option<Result<MediaSidecar>>> {
        match self.get_opt(key, SIDECAR_LIMIT).await {
            Ok(Some(b)) => Ok(Some(MediaSidecar::parse(key.as_ref(), &b))),
            Ok(None) => Ok(None),
            Err(e @ Error::Corrupt { .. }) => Ok(Some(Err(e))),
            Err(e) => Err(e),
        }
    }

    /// Whether an object exists.
    async fn exists(&self, key: &Path) -> Result<bool> {
        match self.store.head(key).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.err("head", key, e)),
        }
    }

    /// Deletes an object; a missing one is fine.
    async fn delete_key(&self, key: &Path) -> Result<()> {
        match self.store.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err("delete", key, e)),
        }
    }

    /// The key of the bytes of `hash`, from its location record.
    async fn location(&self, hash: &str) -> Result<Option<Path>> {
        let key = self.layout.location_key(hash);
        match self.get_opt(&key, SIDECAR_LIMIT).await? {
            None => Ok(None),
            Some(b) => {
                let text = std::str::from_utf8(&b).map_err(|_| Error::Corrupt {
                    reference: hash.to_owned(),
                    message: format!("location record {key} is not UTF-8"),
                })?;
                self.layout.parse_location(hash, text).map(Some)
            }
        }
    }
}

#[async_trait]
impl MediaStore for ObjectStoreMediaStore {
    /// Runs as its own task where a Tokio runtime is at hand, so a caller
    /// that goes away (its future dropped) leaves no reference behind.
    async fn store(
        &self,
        content: &MediaContent,
        metadata: &MediaMetadata,
    ) -> Result<StorageReference> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to run a task on (an in-memory store polled by
            // another executor): stored in place.
            return self.store_media(content, metadata).await;
        };
        let (this, undoer) = (self.clone(), self.clone());
        let (delivery, pending) = delivery::channel(move |reference| {
            undoer.drop_abandoned(reference);
        });
        let (content, metadata) = (content.clone(), metadata.clone());
        runtime.spawn(async move {
            if delivery.caller_gone() {
                return;
            }
            let result = this.store_media(&content, &metadata).await;
            if let Some(reference) = delivery.deliver(result) {
                this.drop_abandoned(reference);
            }
        });
        pending.wait().await
    }

    async fn retrieve(&self, reference: &StorageReference) -> Result<MediaContent> {
        self.retrieve_media(reference).await
    }

    async fn delete(&self, reference: &StorageReference) -> Result<()> {
        self.delete_reference(reference).await
    }

    async fn url(&self, reference: &StorageReference, expiry: Duration) -> Result<String> {
        self.media_url(reference, expiry).await
    }

    async fn stats(&self) -> Result<StorageStats> {
        self.compute_stats().await
    }
}

impl ObjectStoreMediaStore {
    /// Drops the reference of a store nobody will receive: as a task of the
    /// runtime at hand, or, where none runs it (a runtime shutting down drops
    /// its tasks), on a thread and runtime of its own.
    pub(super) fn drop_abandoned(&self, reference: StorageReference) {
        let undo = Undo {
            store: self.clone(),
            reference,
            done: false,
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(undo.run());
        }
    }
}

/// A reference to drop; dropped unrun, it runs on a thread of its own. (Not
/// there first: a runtime made for it, once gone, would leave dead
/// connections in the store's HTTP pool for the application's runtime.)
struct Undo {
    store: ObjectStoreMediaStore,
    reference: StorageReference,
    done: bool,
}

impl Undo {
    async fn run(mut self) {
        let deleted = self.store.delete_reference(&self.reference).await;
        self.done = true;
        delivery::report_undo(&self.reference, deleted);
    }
}

impl Drop for Undo {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        let (store, reference) = (self.store.clone(), self.reference.clone());
        delivery::undo_on_own_thread(move || {
            let deleted = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::backend("object store", "undo a store", true, e))
                .and_then(|rt| rt.block_on(store.delete_reference(&reference)));
            delivery::report_undo(&reference, deleted);
        });
    }
}

#[async_trait]
impl MediaLifecycle for ObjectStoreMediaStore {
    async fn head(&self, reference: &StorageReference) -> Result<StoredReference> {
        self.head_reference(reference).await
    }

    async fn list(&self) -> Result<Vec<StoredReference>> {
        ObjectStoreMediaStore::list(self).await
    }

    async fn gc(&self, options: GcOptions) -> Result<GcReport> {
        ObjectStoreMediaStore::gc(self, options).await
    }

    async fn verify_with_progress(&self, progress: Progress) -> Result<VerifyReport> {
        ObjectStoreMediaStore::verify_with_progress(self, move |done, total| progress(done, total))
            .await
    }

    async fn enforce_retention(&self, now: time::OffsetDateTime) -> Result<RetentionReport> {
        ObjectStoreMediaStore::enforce_retention(self, now).await
    }

    async fn conversation_deleted(&self, conversation_id: &str) -> Result<RetentionReport> {
        ObjectStoreMediaStore::conversation_deleted(self, conversation_id).await
    }

    async fn retain_conversations(
        &self,
        live: std::collections::HashSet<String>,
    ) -> Result<RetentionReport> {
        ObjectStoreMediaStore::retain_conversations(self, live).await
    }
}
