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
//!     <id>.<ext>.meta              sidecar (JSON, see MediaSidecar): what the file holds,
//!                                  written with the file; stores and deletes never rewrite it
//!   .promptkit/
//!     journal                      append-only log of reference records with their
//!                                  owners (JSON lines)
//!     lock                         flock'ed around every mutation
//! ```
//!
//! A reference is `file:<ref-id>` (37 bytes, 128 random bits); it stays valid
//! across restarts because its record is in the journal.
//!
//! # The journal
//!
//! `.promptkit/journal` is the source of truth for which references exist,
//! where their media lives and who owns them. Each line is one versioned
//! JSON record:
//!
//! ```text
//! {"op":"add","v":2,"id":"<ref-id>","path":"media/...","blake3":"<hex>","mime_type":"...","size_bytes":N,"dedup":true,"probe":N,
//!  "conversation_id":"...","session_id":"...","retention_policy":"retain","created_at":"<RFC 3339>"}
//! {"op":"remove","v":2,"id":"<ref-id>"}
//! ```
//!
//! (`probe` is a fingerprint of the bytes' length and ends, used to skip
//! the dedup lookup for bytes that cannot be stored yet. The owner fields,
//! one line in practice, are `conversation_id`, `session_id`, `run_id`,
//! `user_id`, `message_index`, `part_index`, `provider_id` (each left out
//! when absent), `retention_policy` and `created_at`.) Each store keeps
//! the replayed maps in memory (reference → media and MIME type, media path
//! → reference count, hash → path of live deduplicated content; no owners:
//! `list`, the statistics index and retention read those back from the
//! journal file when they need them) with the length and
//! inode replayed so far, and before using them checks the journal's size
//! (one `stat`): lines appended by another store or process are replayed,
//! and a new inode (compaction) or a rewritten tail means a replay from
//! scratch. An incomplete last line (no `\n`: being written, or torn by a
//! crash) is ignored by readers and cut off by the next writer, which holds
//! the lock. A complete line that is not a record makes every operation
//! needing the journal (`gc` and `stats` included) fail with
//! [`Error::Corrupt`] naming the journal and the line number, rather than
//! skip it: a skipped `add` would let `gc` delete referenced media, a
//! skipped `remove` would bring a deleted reference back. The journal is
//! compacted (rewritten with the live records, temp file + rename, under the
//! lock) by every `gc` and when dead records dominate (more than 1024 lines,
//! more `remove`s than live references).
//!
//! Stores written in the first format (`.promptkit/refs/<id>.json`,
//! `.promptkit/objects/<hash>.json`, `.promptkit/generation`) are imported
//! into the journal when opened, under the lock, and those files removed.
//! Processes running the old code must not share a directory with new ones.
//!
//! # Deduplication
//!
//! Content is addressed by the BLAKE3 hash of its bytes. With deduplication on,
//! the first store of some bytes puts them where its organization says, named
//! `<first 32 hex digits of the hash>.<ext>`; later stores of identical bytes
//! (from any session or conversation) find the file through the journal's
//! dedup map and only append their reference (with its owner) to the
//! journal. With it off, every store writes its own file named
//! `<ref-id>.<ext>`.
//!
//! # Reference counts, costs and concurrency
//!
//! The journal holds every live reference; the sidecar only describes the
//! file (hash, MIME type, size, the owner of the store that created it) and
//! is written once, when the file is created. A dedup hit appends one
//! journal line and a delete one `remove` line: neither reads nor rewrites
//! the sidecar, so both cost the same whether the content has one
//! reference or ten thousand (sidecar format 1 listed every reference and
//! was rewritten by both: O(references) bytes per call). The file goes with
//! its last reference (as counted by the journal), and its sidecar with it.
//! Every mutation holds an exclusive `flock` on `.promptkit/lock` (after an
//! in-process mutex; both are taken on the blocking-pool thread running the
//! mutation and never held across an `.await`), so stores and deletes are
//! serialized across tasks *and* across processes sharing the directory (on
//! a local filesystem; network filesystems may not honour `flock`). A store
//! makes one hop to the blocking pool. The calling task hashes the bytes
//! (yielding to the runtime every 256 KiB) while its blocking thread wakes
//! up and writes them to a temporary file; that thread then writes the
//! sidecar new content will have to another, so the critical section only
//! renames the two files and appends one journal line. The blocking thread
//! never waits for its caller: if the caller's hash is not ready when it is
//! needed, the thread hashes the bytes itself. When
//! the journal already holds the bytes (a dedup hit), nothing is written
//! before the lock, and the critical section checks that the file and its
//! sidecar are there (two `stat`s) and appends the journal line.
//! Reads take no lock. Media directories, once created and checked to be
//! inside the store, are remembered until the next `gc` (stores and reads go
//! through them; deletes check every path again).
//!
//! # Runtime
//!
//! The file operations run on Tokio's blocking pool, from any Tokio
//! context (multi-thread or current-thread runtime, `LocalSet`, a blocking
//! thread in `Handle::block_on`). Polled outside a Tokio runtime, every
//! operation returns [`Error::Config`] saying so.
//!
//! # Crash safety
//!
//! Media and sidecars are written to a temporary file named
//! `.pk-tmp-<random>` in the destination directory, fsynced when
//! [`FileStoreConfig::fsync`] is on, and renamed into place: a crash never
//! leaves a partial file under a final name. A store goes media → rename →
//! sidecar → journal append (fsynced with `fsync` on): the append is its
//! acknowledgment. A dedup hit is only its append. A delete appends its
//! `remove` first, then, with the last reference, removes the media and its
//! sidecar. A crash between steps leaves at worst an unreferenced file with
//! its sidecar, a sidecar without media or a leftover temp file, which
//! [`FileStore::gc`] removes.
//!
//! # Stores written by earlier versions
//!
//! Sidecar format 1 also listed every reference with its owner
//! (`ref_count`, `references`), and its journal records (version 1) had no
//! owner fields. Such stores open and work as they are: the owner of a
//! reference whose record has none is read from the `references` list of
//! its file's sidecar (or is the sidecar's own owner, for a reference the
//! list missed); new references get records with owners, and dedup hits
//! and deletes leave the old sidecars alone. Every journal compaction writes
//! those owners into the records it rewrites, and [`FileStore::gc`] (which
//! compacts) then rewrites each version 1 sidecar as version 2.
//!
//! A store whose future is dropped stores nothing. Its blocking thread runs
//! on but checks for its caller before preparing, once it has the lock and
//! right after its commit: it then only removes its temp files, or removes
//! the reference it has just created, under the same lock. A result dropped
//! on its way back parks its reference and has the blocking pool remove it;
//! if a runtime shutting down never runs that removal, the store's next
//! mutation, or dropping its last handle, does.
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
//! lists files with their sidecars and live references (owners read from
//! the journal), and `stats` is served from an in-memory index (rebuilt from
//! the sidecars and the journal only when another store or process changed
//! the journal, and followed one reference at a time otherwise), never by
//! reading media.
//!
//! # Safety of paths
//!
//! Session, conversation and run ids are checked, not rewritten (ASCII
//! letters, digits and `-_.@+=~`, no leading dot, at most 128 bytes); anything
//! else is an [`Error::InvalidInput`] naming the field. Paths read back from
//! the journal are checked to be relative and under `media/`, and every path is
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

mod abandon;
mod chunked;
mod commit;
mod compact;
mod config;
mod gc;
mod index;
mod journal;
mod legacy;
mod lifecycle;
mod lines;
mod live;
mod ops;
mod owners;
mod paths;
mod prepare;
mod records;
mod rewrite;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

pub use crate::lifecycle::{GcOptions, GcReport, RetentionReport, VerifyReport};
pub use config::{FileStoreBuilder, FileStoreConfig};
pub use lifecycle::StoredObject;
pub use records::{LiveReference, MediaSidecar, Owner};

use self::abandon::{Caller, Delivered};
use self::index::Index;
use self::ops::{Inner, NewMedia};
use self::prepare::SharedHash;
use crate::{
    Error, MediaContent, MediaMetadata, MediaStore, Result, StorageReference, StorageStats,
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

    /// Runs blocking filesystem work on the blocking pool, off the async
    /// threads. (Not `block_in_place`: tokio refuses it, with a panic, inside a
    /// `LocalSet` even on a multi-thread runtime, and nothing tells a library
    /// that it is in one.)
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = Arc::clone(&self.inner);
        join(tokio_runtime()?.spawn_blocking(move || f(&inner)).await)
    }

    /// Runs a mutation with the in-process and the cross-process lock held,
    /// both taken on the blocking thread that runs it (so neither is ever
    /// held across an `.await`).
    async fn mutate<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.blocking(move |inner| inner.mutating(f)).await
    }

    /// Runs `f` over an up-to-date index, rebuilding it from the sidecars and
    /// the journal (under the lock) when another store or process changed
    /// the directory.
    async fn with_index<T: Send + 'static>(
        &self,
        f: impl Fn(&Index) -> T + Send + Sync + 'static,
    ) -> Result<T> {
        let f = Arc::new(f);
        let g = Arc::clone(&f);
        let fresh = self
            .blocking(move |inner| {
                let generation = inner.generation()?;
                let idx = inner.index_guard();
                Ok((idx.generation == Some(generation)).then(|| g(&idx)))
            })
            .await?;
        if let Some(v) = fresh {
            return Ok(v);
        }
        self.mutate(move |inner| {
            let generation = inner.generation()?;
            let mut idx = inner.index_guard();
            if idx.generation != Some(generation) {
                *idx = Index::rebuild(inner, generation)?;
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
        let probe = journal::probe(&data);
        let new = Arc::new(NewMedia {
            data,
            mime_type: content.mime_type.to_string(),
            metadata: metadata.clone(),
            rel_dir,
            id: paths::new_ref_id(),
            probe,
            now,
        });
        // One hop to the blocking pool: prepare (temp files), then take the
        // locks and commit; this task hashes the bytes meanwhile (see
        // `prepare`). A caller that goes away meanwhile gets nothing stored
        // (see `abandon`).
        let (caller, waiting) = abandon::caller();
        let hash = Arc::new(SharedHash::default());
        let (shared, job, theirs) = (Arc::clone(&self.inner), Arc::clone(&new), Arc::clone(&hash));
        let task = tokio_runtime()?.spawn_blocking(move || {
            let (inner, new) = (&*shared, &*job);
            if caller.gone() {
                return Err(Caller::gone_error());
            }
            let prepared = prepare::prepare(inner, new, &theirs)?;
            let reference = inner.mutating(|inner| {
                if caller.gone() {
                    // The temp files go with `prepared`.
                    return Err(Caller::gone_error());
                }
                let reference = inner.commit_store(new, prepared)?;
                if caller.gone() {
                    abandon::undo_locked(inner, &reference)?;
                    return Err(Caller::gone_error());
                }
                Ok(reference)
            })?;
            Ok(Delivered::new(Arc::clone(&shared), reference))
        });
        hash.compute(&new.data).await;
        let delivered = join(task.await)?;
        let reference = waiting.received(delivered);
        tracing::debug!(%reference, "stored media");
        Ok(reference)
    }
}

/// The Tokio runtime whose blocking pool runs the file operations: outside
/// one, an error (where `tokio::task::spawn_blocking` would panic).
pub(crate) fn tokio_runtime() -> Result<tokio::runtime::Handle> {
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
        let freed = self
            .mutate(move |inner| {
                let freed = inner.delete_locked(&r)?;
                inner.maybe_compact();
                Ok(freed)
            })
            .await?;
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
