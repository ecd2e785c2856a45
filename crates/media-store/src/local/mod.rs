//! The local file store (feature `local`, on by default).
//!
//! ```text
//! <base_dir>/
//!   media/<org dirs>/<name>.<ext>        media files (the crate's one layout)
//!   media/<org dirs>/<name>.<ext>.meta   JSON sidecar (see MediaSidecar)
//!   .promptkit/index.sqlite3             the index: every file and reference (SQLite, WAL)
//! ```
//!
//! The index is the one source of truth (statistics, listings and retention
//! are queries; nothing per reference is held in memory); sidecars describe
//! files for people and tools. SQLite's transactions keep processes sharing
//! the folder consistent: files reach their final names inside the
//! transaction that commits their reference, a delete commits first and
//! unlinks after checking the index again, and a crash leaves only what
//! `gc` removes. Every file operation goes through a capability handle on
//! the base folder ([`cap_std`]), so nothing follows a symlink out of it. A
//! store whose future is dropped leaves no reference. Operations run on
//! Tokio's blocking pool (outside a runtime they return
//! [`Error::Config`]). The full description:
//! `docs/storage-reference.md`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use promptkit_media_store::{FileStore, MediaLifecycle, MediaMetadata, MediaStore,
//!     MediaStoreExt};
//! let dir = tempfile::tempdir().unwrap();
//! let store = FileStore::builder().with_base_dir(dir.path()).build().unwrap();
//! let meta = MediaMetadata::new().with_session("alice@example.com").with_conversation("c1");
//! let png = bytes::Bytes::from_static(b"\x89PNG\r\n\x1a\n-image-");
//! let r = store.store_bytes("image/png", png.clone(), &meta).await.unwrap();
//! assert!(r.as_str().starts_with("file:"));
//! assert_eq!(store.retrieve_bytes(&r).await.unwrap(), png);
//! assert!(store.head(&r).await.unwrap().location.starts_with("media/alice@example.com/c1"));
//! assert_eq!(store.stats().await.unwrap().objects, 1);
//! # }
//! ```

mod config;
mod engine;
mod files;
mod index;
mod maintain;
mod naming;

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

pub use config::{FileStoreBuilder, FileStoreConfig};

use self::engine::{Engine, Request};
use crate::lifecycle::{MediaLifecycle, Progress};
use crate::{
    Error, GcOptions, GcReport, MediaContent, MediaMetadata, MediaStore, Result, RetentionReport,
    StorageReference, StorageStats, StoredReference, VerifyReport, delivery, layout,
    validate_media,
};

/// Media store on the local filesystem; see the [module docs](self).
///
/// Cheap to clone: clones share one state.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use promptkit_media_store::{FileStore, MediaMetadata, MediaStoreExt};
/// let dir = tempfile::tempdir().unwrap();
/// let store = FileStore::builder().with_base_dir(dir.path()).build().unwrap();
/// let handle = store.clone(); // e.g. for another task
/// let meta = MediaMetadata::new().with_session("s1").with_conversation("c1");
/// let r = handle.store_bytes("text/plain", "shared".into(), &meta).await.unwrap();
/// assert_eq!(store.retrieve_bytes(&r).await.unwrap(), "shared");
/// let path = store.path_of(&r).await.unwrap();
/// assert!(path.starts_with(store.base_dir().join("media/s1/c1")));
/// # }
/// ```
#[derive(Clone)]
pub struct FileStore {
    engine: Arc<Engine>,
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.engine.config;
        f.debug_struct("FileStore")
            .field("base_dir", &self.engine.files.base())
            .field("organization", &c.organization)
            .field("deduplication", &c.enable_deduplication)
            .field("read_only", &c.read_only)
            .finish_non_exhaustive()
    }
}

impl FileStore {
    /// Opens (creating the base directory and index unless read-only) a store.
    pub fn new(config: FileStoreConfig) -> Result<FileStore> {
        Ok(FileStore {
            engine: Arc::new(Engine::open(config)?),
        })
    }

    /// A [`FileStoreBuilder`].
    pub fn builder() -> FileStoreBuilder {
        FileStoreBuilder::new()
    }

    /// The configuration.
    pub fn config(&self) -> &FileStoreConfig {
        &self.engine.config
    }

    /// The canonical base directory.
    pub fn base_dir(&self) -> &Path {
        self.engine.files.base()
    }

    /// The index database (`<base_dir>/.promptkit/index.sqlite3`).
    pub fn index_path(&self) -> &Path {
        self.engine.index.path()
    }

    /// The absolute path of the media file behind a reference.
    pub async fn path_of(&self, reference: &StorageReference) -> Result<PathBuf> {
        let r = reference.clone();
        self.blocking(move |e| e.files.checked_abs(e.head(&r)?.location))
            .await
    }

    /// Runs blocking work on the blocking pool, off the async threads.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Engine) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let engine = Arc::clone(&self.engine);
        join(tokio_runtime()?.spawn_blocking(move || f(&engine)).await)
    }

    /// Stores with an explicit creation time (the clock used by retention).
    pub async fn store_at(
        &self,
        content: &MediaContent,
        metadata: &MediaMetadata,
        now: OffsetDateTime,
    ) -> Result<StorageReference> {
        self.engine.writable("store")?;
        let data = validate_media(content, self.engine.config.max_file_size)?;
        let dirs = layout::media_dirs(self.engine.config.organization, metadata)?;
        let request = Request {
            dir: layout::media_folder(&dirs),
            data,
            mime_type: content.mime_type.to_string(),
            metadata: metadata.clone(),
            now,
        };
        let runtime = tokio_runtime()?;
        let undo_engine = Arc::clone(&self.engine);
        let (delivery, pending) = delivery::channel(move |reference| {
            // The caller is gone with the result in hand (inside a `Drop`).
            delivery::undo_on_own_thread(move || undo(&undo_engine, &reference));
        });
        let engine = Arc::clone(&self.engine);
        runtime.spawn_blocking(move || {
            if delivery.caller_gone() {
                return;
            }
            let result = engine.store(&request);
            if let Some(reference) = delivery.deliver(result) {
                undo(&engine, &reference);
            }
        });
        let reference = pending.wait().await?;
        tracing::debug!(%reference, "stored media");
        Ok(reference)
    }
}

fn undo(engine: &Engine, reference: &StorageReference) {
    delivery::report_undo(reference, engine.delete(reference));
}

/// The Tokio runtime whose blocking pool runs the file operations: outside
/// one, an error (where `tokio::task::spawn_blocking` would panic).
fn tokio_runtime() -> Result<tokio::runtime::Handle> {
    tokio::runtime::Handle::try_current().map_err(|_| {
        Error::Config(
            "the local file store runs its file operations on Tokio's blocking pool: \
             call it from within a Tokio runtime"
                .into(),
        )
    })
}

fn join<T>(r: std::result::Result<Result<T>, tokio::task::JoinError>) -> Result<T> {
    match r {
        Ok(r) => r,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(Error::backend("local", "blocking file operation", true, e)),
    }
}

#[async_trait]
impl MediaStore for FileStore {
    #[tracing::instrument(
        name = "media_store.store",
        skip_all,
        fields(backend = "local", mime_type = %content.mime_type, size_bytes = content.inline_len())
    )]
    async fn store(
        &self,
        content: &MediaContent,
        metadata: &MediaMetadata,
    ) -> Result<StorageReference> {
        self.store_at(content, metadata, OffsetDateTime::now_utc())
            .await
    }

    #[tracing::instrument(name = "media_store.retrieve", skip_all, fields(backend = "local", %reference))]
    async fn retrieve(&self, reference: &StorageReference) -> Result<MediaContent> {
        let r = reference.clone();
        let (mime_type, data) = self.blocking(move |e| e.read(&r)).await?;
        let mut m = MediaContent::from_bytes(mime_type, data);
        m.storage_reference = Some(reference.clone());
        Ok(m)
    }

    #[tracing::instrument(name = "media_store.delete", skip_all, fields(backend = "local", %reference))]
    async fn delete(&self, reference: &StorageReference) -> Result<()> {
        let r = reference.clone();
        let freed = self.blocking(move |e| e.delete(&r)).await?;
        tracing::debug!(%reference, freed_bytes = freed.unwrap_or(0), "deleted media reference");
        Ok(())
    }

    /// A `file://` URL of the media file; `expiry` does not apply locally.
    async fn url(&self, reference: &StorageReference, _expiry: Duration) -> Result<String> {
        let path = self.path_of(reference).await?;
        url::Url::from_file_path(&path)
            .map(String::from)
            .map_err(|()| {
                Error::invalid("reference", format!("{} is not absolute", path.display()))
            })
    }

    async fn stats(&self) -> Result<StorageStats> {
        self.blocking(|e| e.index.run(index::stats)).await
    }
}

#[async_trait]
impl MediaLifecycle for FileStore {
    async fn head(&self, reference: &StorageReference) -> Result<StoredReference> {
        let r = reference.clone();
        self.blocking(move |e| e.head(&r)).await
    }

    async fn list(&self) -> Result<Vec<StoredReference>> {
        self.blocking(|e| e.index.run(index::all_references)).await
    }

    async fn gc(&self, options: GcOptions) -> Result<GcReport> {
        self.blocking(move |e| e.gc(options)).await
    }

    async fn verify_with_progress(&self, progress: Progress) -> Result<VerifyReport> {
        self.blocking(move |e| e.verify(&progress)).await
    }

    async fn enforce_retention(&self, now: OffsetDateTime) -> Result<RetentionReport> {
        self.blocking(move |e| e.drop_references(e.expired(now)?))
            .await
    }

    async fn conversation_deleted(&self, conversation_id: &str) -> Result<RetentionReport> {
        let id = conversation_id.to_owned();
        self.blocking(move |e| {
            let ids = e.index.run(|c| index::of_conversation(c, &id))?;
            e.drop_references(ids)
        })
        .await
    }

    async fn retain_conversations(&self, live: HashSet<String>) -> Result<RetentionReport> {
        self.blocking(move |e| {
            let ids = e
                .index
                .run(index::with_conversation)?
                .into_iter()
                .filter(|(_, conv)| conv.as_ref().is_some_and(|c| !live.contains(c)))
                .map(|(id, _)| id)
                .collect();
            e.drop_references(ids)
        })
        .await
    }
}
