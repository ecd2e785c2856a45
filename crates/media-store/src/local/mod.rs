//! The local file store (feature `local`, on by default).
//!
//! # Layout
//!
//! ```text
//! <base_dir>/
//!   media/                         media files and their `.meta` sidecars
//!     <id>.<ext>                   Flat
//!     <session>/<conversation>/<id>.<ext>   BySession
//!     <conversation>/<id>.<ext>    ByConversation
//!     <run>/<id>.<ext>             ByRun
//!     <id>.<ext>.meta              sidecar (JSON, see MediaSidecar)
//!   .promptkit/
//!     refs/<ref-id>.json           one record per reference: media path, hash, MIME, size
//!     objects/<blake3>.json        dedup record: where the content with this hash lives
//!     generation                   mutation counter (keeps in-memory indexes fresh)
//!     lock                         flock'ed around every mutation
//! ```
//!
//! A reference is `file:<ref-id>` (37 bytes, 128 random bits); it stays valid
//! across restarts because its record is on disk.
//!
//! # Deduplication
//!
//! Content is addressed by the BLAKE3 hash of its bytes. With deduplication on,
//! the first store of some bytes puts them where its organization says, named
//! `<first 32 hex digits of the hash>.<ext>`, and records the location in
//! `objects/<hash>.json`; later stores of identical bytes (from any session or
//! conversation) only add a reference to that file's sidecar. With it off,
//! every store writes its own file named `<ref-id>.<ext>`.
//!
//! # Reference counts and concurrency
//!
//! The sidecar lists every live reference (`references`, `ref_count`); delete
//! removes one, and the file goes with the last. Every mutation holds an
//! exclusive `flock` on `.promptkit/lock` (after an in-process async mutex), so
//! stores and deletes are serialized across tasks *and* across processes
//! sharing the directory (on a local filesystem; network filesystems may not
//! honour `flock`). Media bytes are hashed and written to a temporary file
//! before the lock is taken, so the critical section only renames and writes
//! small records. Reads take no lock.
//!
//! # Crash safety
//!
//! Every file (media, sidecar, records) is written to a temporary file named
//! `.pk-tmp-<random>` in the destination directory, fsynced when
//! [`FileStoreConfig::fsync`] is on, and renamed into place: a crash never
//! leaves a partial file under a final name. A crash between steps leaves at
//! worst an unreferenced file, a leftover temp file or a sidecar entry without
//! a record, which [`FileStore::gc`] removes.
//!
//! A store whose future is dropped before the locked step leaves nothing
//! behind (its temp file is removed); once the locked step has started, it
//! runs to completion on a blocking thread.
//!
//! # Lifecycle
//!
//! [`FileStore::enforce_retention`] drops references whose time-based policy
//! ran out (at a `now` you pass, so tests control the clock) and
//! [`FileStore::spawn_retention_task`] does it periodically;
//! [`FileStore::conversation_deleted`] and [`FileStore::retain_conversations`]
//! apply `delete-with-conversation`. A file shared by deduplication goes only
//! with its last reference. [`FileStore::gc`] (with a dry run) cleans up after
//! crashes, [`FileStore::verify`] re-hashes everything, [`FileStore::list`]
//! lists files with their sidecars, and `stats` is served from an in-memory
//! index of the sidecars (rebuilt only when another store or process changed
//! the directory), never by reading media.
//!
//! # Safety of paths
//!
//! Session, conversation and run ids are checked, not rewritten (ASCII
//! letters, digits and `-_.@+=~`, no leading dot, at most 128 bytes); anything
//! else is an [`Error::InvalidInput`] naming the field. Paths read back from
//! records are checked to be relative and under `media/`, and every path is
//! canonicalized and must stay under the base dir, so a symlink leading out is
//! refused with [`Error::PathEscape`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use promptkit_media_store::{FileStore, MediaMetadata, MediaStore, MediaStoreExt};
//! let dir = tempfile::tempdir().unwrap();
//! let store = FileStore::builder().with_base_dir(dir.path()).build().unwrap();
//! let meta = MediaMetadata::new().with_session("s1").with_conversation("c1");
//! let png = bytes::Bytes::from_static(b"\x89PNG\r\n\x1a\n-image-");
//! let r = store.store_bytes("image/png", png.clone(), &meta).await.unwrap();
//! assert!(r.as_str().starts_with("file:"));
//! assert_eq!(store.retrieve_bytes(&r).await.unwrap(), png);
//! assert_eq!(store.stats().await.unwrap().objects, 1);
//! # }
//! ```

mod config;
mod gc;
mod index;
mod lifecycle;
mod ops;
mod paths;
mod records;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

pub use crate::lifecycle::{GcOptions, GcReport, RetentionReport, VerifyReport};
pub use config::{FileStoreBuilder, FileStoreConfig};
pub use lifecycle::StoredObject;
pub use records::{MediaSidecar, Owner, SidecarReference};

use self::index::Index;
use self::ops::{Inner, NewMedia};
use crate::{
    Error, MediaContent, MediaMetadata, MediaStore, Result, StorageReference, StorageStats,
    validate_media,
};

/// Media store on the local filesystem; see the [module docs](self).
///
/// Cheap to clone: clones share one state.
#[derive(Clone)]
pub struct FileStore {
    inner: Arc<Inner>,
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore")
            .field("base_dir", &self.inner.base)
            .field("organization", &self.inner.config.organization)
            .field("deduplication", &self.inner.config.enable_deduplication)
            .finish_non_exhaustive()
    }
}

impl FileStore {
    /// Opens (creating the base directory if needed) a store.
    pub fn new(config: FileStoreConfig) -> Result<FileStore> {
        Ok(FileStore {
            inner: Arc::new(Inner::open(config)?),
        })
    }

    /// A [`FileStoreBuilder`].
    pub fn builder() -> FileStoreBuilder {
        FileStoreBuilder::new()
    }

    /// The configuration.
    pub fn config(&self) -> &FileStoreConfig {
        &self.inner.config
    }

    /// The canonical base directory.
    pub fn base_dir(&self) -> &std::path::Path {
        &self.inner.base
    }

    /// The absolute path of the media file behind a reference (checked to be
    /// inside the store).
    pub async fn path_of(&self, reference: &StorageReference) -> Result<std::path::PathBuf> {
        let r = reference.clone();
        self.blocking(move |inner| {
            let (_, rec) = inner.ref_record(&r)?;
            inner.media_path(&r, &rec)
        })
        .await
    }

    /// Runs blocking filesystem work off the async threads.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = Arc::clone(&self.inner);
        join(tokio::task::spawn_blocking(move || f(&inner)).await)
    }

    /// Runs a mutation with the in-process and the cross-process lock held.
    async fn mutate<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let guard = Arc::clone(&self.inner.write_lock).lock_owned().await;
        self.blocking(move |inner| {
            let _guard = guard;
            inner.locked(f)
        })
        .await
    }

    /// Runs `f` over an up-to-date index, rebuilding it from the sidecars
    /// (under the lock) when another store or process changed the directory.
    async fn with_index<T: Send + 'static>(
        &self,
        f: impl Fn(&Index) -> T + Send + Sync + 'static,
    ) -> Result<T> {
        let f = Arc::new(f);
        let g = Arc::clone(&f);
        let fresh = self
            .blocking(move |inner| {
                let generation = inner.generation();
                let idx = inner.index_guard();
                Ok((idx.generation == Some(generation)).then(|| g(&idx)))
            })
            .await?;
        if let Some(v) = fresh {
            return Ok(v);
        }
        self.mutate(move |inner| {
            let generation = inner.generation();
            let mut idx = inner.index_guard();
            if idx.generation != Some(generation) {
                *idx = Index::rebuild(&inner.base, generation)?;
            }
            Ok(f(&idx))
        })
        .await
    }

    /// Stores with an explicit creation time (the clock used by retention).
    pub async fn store_at(
        &self,
        content: &MediaContent,
        metadata: &MediaMetadata,
        now: OffsetDateTime,
    ) -> Result<StorageReference> {
        let data = validate_media(content, self.inner.config.max_file_size)?;
        let rel_dir = paths::layout_dir(self.inner.config.organization, metadata)?;
        let new = NewMedia {
            data,
            mime_type: content.mime_type.clone(),
            metadata: metadata.clone(),
            rel_dir,
        };
        // Hash and write the bytes before taking the lock (unless identical
        // content is already stored).
        let (new, hash, temp) = self
            .blocking(move |inner| {
                let hash = blake3::hash(&new.data).to_hex().to_string();
                let temp = if inner.config.enable_deduplication && inner.has_object(&hash) {
                    None
                } else {
                    let dir = inner.prepare_dir(&new.rel_dir)?;
                    Some(records::TempFile::write(
                        &dir,
                        &new.data,
                        inner.config.fsync,
                    )?)
                };
                Ok((new, hash, temp))
            })
            .await?;
        let reference = self
            .mutate(move |inner| inner.commit_store(&new, &hash, temp, now))
            .await?;
        tracing::debug!(%reference, "stored media");
        Ok(reference)
    }
}

fn join<T>(r: std::result::Result<Result<T>, tokio::task::JoinError>) -> Result<T> {
    match r {
        Ok(r) => r,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(Error::Backend {
            backend: "local".into(),
            operation: "blocking file operation".into(),
            message: e.to_string(),
            transient: true,
        }),
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
        let (rec, data) = self.blocking(move |inner| inner.read(&r)).await?;
        let mut m = MediaContent::from_bytes(rec.mime_type, data);
        m.storage_reference = Some(reference.clone());
        Ok(m)
    }

    #[tracing::instrument(name = "media_store.delete", skip_all, fields(backend = "local", %reference))]
    async fn delete(&self, reference: &StorageReference) -> Result<()> {
        let r = reference.clone();
        let freed = self.mutate(move |inner| inner.delete_locked(&r)).await?;
        tracing::debug!(%reference, freed_bytes = freed.unwrap_or(0), "deleted media reference");
        Ok(())
    }

    /// A `file://` URL of the media file; `expiry` does not apply locally.
    async fn url(&self, reference: &StorageReference, _expiry: Duration) -> Result<String> {
        Ok(paths::file_url(&self.path_of(reference).await?))
    }

    async fn stats(&self) -> Result<StorageStats> {
        self.with_index(Index::stats).await
    }
}
