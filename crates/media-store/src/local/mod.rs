//! The local file store (feature `local`, on by default).
//!
//! # Layout
//!
//! ```text
//! <base_dir>/
//!   media/                                  media files and their `.meta` sidecars
//!     <name>.<ext>                          Flat
//!     <session>/<conversation>/<name>.<ext> BySession
//!     <conversation>/<name>.<ext>           ByConversation
//!     <run>/<name>.<ext>                    ByRun
//!     <name>.<ext>.meta                     sidecar (JSON, see MediaSidecar)
//!   .promptkit/
//!     index.sqlite3                         the index (SQLite, WAL)
//! ```
//!
//! The folders come from the crate's one layout, shared with the
//! object-store backend (ids: ASCII letters, digits and `-_.@+=~`, not
//! starting with a dot, at most 128 bytes, so e-mail addresses and UUIDs
//! work; anything else is [`Error::InvalidInput`](crate::Error::InvalidInput)
//! naming the field). `<name>` is the first 32 hex digits of the content's
//! BLAKE3 hash with deduplication on (identical bytes are one file, wherever
//! they were first stored), the reference id with it off.
//!
//! # The index
//!
//! `.promptkit/index.sqlite3` is the one source of truth: every media file
//! (location, hash, size, MIME type) and every reference with its owners
//! (user, session, conversation, run, message and part, provider), MIME
//! type, size, retention policy, creation and expiry time. Statistics,
//! listings and retention are queries; nothing per reference is held in
//! memory. Sidecars describe files for people and tools: a missing or
//! garbled sidecar hides nothing, [`verify`](crate::MediaLifecycle::verify_with_progress)
//! reports it and [`gc`](crate::MediaLifecycle::gc) rewrites it from the index.
//!
//! A reference is `file:<32 hex>` (37 bytes) and stays valid across
//! restarts and processes.
//!
//! # Concurrency and crash safety
//!
//! Processes sharing the folder are kept consistent by SQLite's
//! transactions (a busy timeout waits for another process's write). A store
//! hashes the bytes first: if the index already holds them (a dedup hit), it
//! only inserts a reference, and writes nothing else. New content is written
//! to temp files (`.pk-tmp-<random>`, fsynced with
//! [`FileStoreConfig::fsync`]) outside any lock; then one write transaction
//! checks the index again, renames media and sidecar to their final names
//! and inserts the rows: files reach their final names before the reference
//! commits. A delete removes the reference (with the last one, the media
//! row) and commits; a second transaction then unlinks the file and its
//! sidecar if the index still does not know them (a store of the same bytes
//! may have put them back meanwhile). A crash leaves at worst temp files or
//! a file the index does not know, which `gc` removes; never a reference
//! without its media.
//!
//! A store whose future is dropped (at any point) leaves no reference: the
//! store runs to completion on Tokio's blocking pool and its reference is
//! deleted again when nobody is left to receive it.
//!
//! # Nothing outside the store
//!
//! Every file operation goes through a capability handle on the base folder
//! ([`cap_std`]): a symlink or `..` that leads outside is refused by the
//! kernel walk ([`Error::PathEscape`](crate::Error::PathEscape)), and `gc`
//! and `verify` never follow a symlink. A `media/` or `.promptkit/` folder
//! that is a symlink is refused when the store opens.
//!
//! # Read-only stores
//!
//! [`FileStoreBuilder::with_read_only`] opens a store without writing
//! anything (statistics, listings, `verify`, a dry-run `gc`), also on a
//! read-only mount; mutations return
//! [`Error::NotSupported`](crate::Error::NotSupported).
//!
//! # Runtime
//!
//! File and database work runs on Tokio's blocking pool, from any Tokio
//! context. Polled outside a Tokio runtime, every operation returns
//! [`Error::Config`](crate::Error::Config) saying so.
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
mod sidecar;

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

pub use config::{FileStoreBuilder, FileStoreConfig};
pub use sidecar::MediaSidecar;

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
            dir: layout::media_location(&dirs, "")
                .trim_end_matches('/')
                .to_owned(),
            data,
            mime_type: content.mime_type.to_string(),
            metadata: metadata.clone(),
            now,
        };
        let runtime = tokio_runtime()?;
        let undo_engine = Arc::clone(&self.engine);
        let (delivery, pending) = delivery::channel(move |reference| {
            // The caller is gone with the result in hand: drop it again, on
            // a thread of its own (a runtime shutting down runs no more
            // blocking tasks, and this runs inside a `Drop`).
            let _ = std::thread::Builder::new()
                .name("promptkit-media-undo".into())
                .spawn(move || undo(&undo_engine, &reference));
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
    if let Err(e) = engine.delete(reference) {
        tracing::warn!(%reference, error = %e, "could not drop the reference of an abandoned store");
    }
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
        self.blocking(|e| e.index.read(index::stats)).await
    }
}

#[async_trait]
impl MediaLifecycle for FileStore {
    async fn head(&self, reference: &StorageReference) -> Result<StoredReference> {
        let r = reference.clone();
        self.blocking(move |e| e.head(&r)).await
    }

    async fn list(&self) -> Result<Vec<StoredReference>> {
        self.blocking(|e| e.index.read(index::all_references)).await
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
            let ids = e.index.read(|c| index::of_conversation(c, &id))?;
            e.drop_references(ids)
        })
        .await
    }

    async fn retain_conversations(&self, live: HashSet<String>) -> Result<RetentionReport> {
        self.blocking(move |e| {
            let ids = e
                .index
                .read(index::with_conversation)?
                .into_iter()
                .filter(|(_, conv)| conv.as_ref().is_some_and(|c| !live.contains(c)))
                .map(|(id, _)| id)
                .collect();
            e.drop_references(ids)
        })
        .await
    }
}
