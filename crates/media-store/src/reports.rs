//! Report and option types of the lifecycle operations
//! ([`MediaLifecycle`](crate::MediaLifecycle)): every backend returns the same types.
//!
//! Locations in these reports are `PathBuf`s: absolute file paths for the
//! local store, object keys (relative to the bucket or store root, `/`
//! separated) for object stores.

use std::path::PathBuf;
use std::time::Duration;

use time::OffsetDateTime;

use crate::{MediaMetadata, RetentionPolicy, StorageReference};

/// What retention enforcement (`enforce_retention`, `conversation_deleted`,
/// `retain_conversations`) removed.
///
/// ```
/// # #[cfg(feature = "local")] {
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use promptkit_media_store::{FileStore, MediaLifecycle, MediaMetadata, MediaStoreExt,
///     RetentionPolicy};
/// # let dir = tempfile::tempdir().unwrap();
/// let store = FileStore::builder().with_base_dir(dir.path()).build().unwrap();
/// let meta = MediaMetadata::new().with_session("s").with_conversation("c1")
///     .with_policy(RetentionPolicy::DeleteWithConversation);
/// let r = store.store_bytes("text/plain", "bye".into(), &meta).await.unwrap();
/// let report = store.conversation_deleted("c1").await.unwrap();
/// assert_eq!(report.expired_references, vec![r]);
/// assert_eq!((report.removed_objects, report.freed_bytes), (1, 3));
/// # });
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetentionReport {
    /// References dropped.
    pub expired_references: Vec<StorageReference>,
    /// Media files or objects removed (their last reference was dropped).
    pub removed_objects: u64,
    /// Bytes of the removed media.
    pub freed_bytes: u64,
}

/// What `verify` found. Locations are relative to the store root (local
/// store) or key prefix (object stores).
///
/// ```
/// # #[cfg(feature = "local")] {
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use promptkit_media_store::{FileStore, MediaLifecycle, MediaLifecycleExt, MediaMetadata,
///     MediaStoreExt};
/// # let dir = tempfile::tempdir().unwrap();
/// let store = FileStore::builder().with_base_dir(dir.path()).build().unwrap();
/// let meta = MediaMetadata::new().with_session("s").with_conversation("c");
/// let r = store.store_bytes("text/plain", "original".into(), &meta).await.unwrap();
/// assert!(store.verify().await.unwrap().is_ok());
/// let location = store.head(&r).await.unwrap().location;
/// std::fs::write(store.base_dir().join(&location), "tampered").unwrap();
/// let report = store.verify().await.unwrap();
/// assert!(!report.is_ok());
/// assert_eq!((report.checked, report.corrupt), (1, vec![location]));
/// # });
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Media files or objects re-hashed.
    pub checked: u64,
    /// Media whose bytes no longer match their hash (or recorded size).
    pub corrupt: Vec<PathBuf>,
    /// Media that a sidecar (or, on object stores, a live reference) expects
    /// but that is missing.
    pub missing: Vec<PathBuf>,
    /// Sidecars (and, on object stores, reference markers) that cannot be parsed.
    pub unreadable_sidecars: Vec<PathBuf>,
    /// Media whose `.meta` sidecar is missing. The store's index still knows
    /// the media and its references (nothing is hidden or lost); `gc`
    /// rewrites the sidecar.
    pub missing_sidecars: Vec<PathBuf>,
}

impl VerifyReport {
    /// Whether nothing is wrong.
    ///
    /// ```
    /// use promptkit_media_store::VerifyReport;
    /// assert!(VerifyReport::default().is_ok());
    /// ```
    pub fn is_ok(&self) -> bool {
        self.corrupt.is_empty()
            && self.missing.is_empty()
            && self.unreadable_sidecars.is_empty()
            && self.missing_sidecars.is_empty()
    }
}

/// Options of `gc`.
///
/// ```
/// use std::time::Duration;
/// use promptkit_media_store::GcOptions;
/// let o = GcOptions::new(true).with_temp_grace(Duration::ZERO);
/// assert!(o.dry_run);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct GcOptions {
    /// Report only; change nothing.
    pub dry_run: bool,
    /// Grace period for work in progress: temporary files (local store), and
    /// objects (object stores) younger than this may belong to a store or
    /// delete in progress, possibly in another process, and are kept.
    /// Default: one hour. On object stores it must be longer than any store
    /// in flight takes: a shorter one lets `gc` collect the reference marker
    /// of a store whose bytes have not landed yet (the local store decides
    /// inside its index's transactions and needs no grace for that).
    pub temp_grace: Duration,
    /// The current time (for the grace period).
    pub now: OffsetDateTime,
}

impl GcOptions {
    /// Options for a real run (`dry_run = false`) or a dry run, at the
    /// current time, with a one-hour grace period.
    pub fn new(dry_run: bool) -> Self {
        GcOptions {
            dry_run,
            temp_grace: Duration::from_secs(3600),
            now: OffsetDateTime::now_utc(),
        }
    }

    /// Sets the grace period.
    pub fn with_temp_grace(mut self, grace: Duration) -> Self {
        self.temp_grace = grace;
        self
    }

    /// Sets the current time.
    pub fn with_now(mut self, now: OffsetDateTime) -> Self {
        self.now = now;
        self
    }

    /// Whether something last modified at `modified` is past the grace period.
    #[cfg_attr(
        not(any(feature = "local", feature = "object-store")),
        allow(dead_code)
    )]
    pub(crate) fn is_stale(&self, modified: OffsetDateTime) -> bool {
        // A grace period beyond the representable dates keeps everything.
        time::Duration::try_from(self.temp_grace)
            .ok()
            .and_then(|grace| modified.checked_add(grace))
            .is_some_and(|stale_at| stale_at <= self.now)
    }
}

/// What `gc` removed or repaired (or, in a dry run, would).
///
/// Locations are relative to the store root (local store) or the key prefix
/// (object stores), `/`-separated: `media/s1/c1/<hash>.png`.
///
/// ```
/// # #[cfg(feature = "local")] {
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use promptkit_media_store::{FileStore, GcOptions, MediaLifecycle};
/// # let dir = tempfile::tempdir().unwrap();
/// let store = FileStore::builder().with_base_dir(dir.path()).build().unwrap();
/// std::fs::write(store.base_dir().join("media/stray.bin"), "12345").unwrap();
/// let report = store.gc(GcOptions::new(false)).await.unwrap();
/// assert!(!report.dry_run && !report.is_clean());
/// assert_eq!(report.orphan_media, vec![std::path::PathBuf::from("media/stray.bin")]);
/// assert_eq!(report.freed_bytes, 5);
/// assert!(store.gc(GcOptions::new(false)).await.unwrap().is_clean());
/// # });
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GcReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Temporary files (object stores: trash copies of interrupted deletes)
    /// older than the grace period.
    pub stale_temp_files: Vec<PathBuf>,
    /// Media no reference points to (left by a crash, or put there by hand).
    pub orphan_media: Vec<PathBuf>,
    /// Sidecars without media, and those of `orphan_media` (removed with
    /// them).
    pub orphan_sidecars: Vec<PathBuf>,
    /// References whose media is gone (removed from the index).
    pub dangling_references: Vec<String>,
    /// Sidecars that were missing or unreadable, rewritten from the index.
    pub rewritten_sidecars: Vec<PathBuf>,
    /// References repaired (object stores: bytes or their location put back).
    pub repaired_references: Vec<String>,
    /// Object stores: location records of content that is gone.
    pub stale_object_records: Vec<PathBuf>,
    /// Sidecars (object stores: records) that cannot be parsed and were left
    /// alone (see `verify`).
    pub unreadable_sidecars: Vec<PathBuf>,
    /// Bytes of media removed.
    pub freed_bytes: u64,
}

impl GcReport {
    /// Whether nothing was (or would be) changed.
    ///
    /// ```
    /// use promptkit_media_store::GcReport;
    /// assert!(GcReport::default().is_clean());
    /// ```
    pub fn is_clean(&self) -> bool {
        self.stale_temp_files.is_empty()
            && self.orphan_media.is_empty()
            && self.orphan_sidecars.is_empty()
            && self.dangling_references.is_empty()
            && self.rewritten_sidecars.is_empty()
            && self.repaired_references.is_empty()
            && self.stale_object_records.is_empty()
    }
}

/// One live reference, as [`MediaLifecycle::list`](crate::MediaLifecycle::list)
/// and [`MediaLifecycle::head`](crate::MediaLifecycle::head) return it on
/// every backend: what the store's index records, without reading the media.
///
/// ```
/// # #[cfg(feature = "local")] {
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use promptkit_media_store::{FileStore, MediaLifecycle, MediaMetadata, MediaStoreExt,
///     RetentionPolicy};
/// # let dir = tempfile::tempdir().unwrap();
/// let store = FileStore::builder().with_base_dir(dir.path()).build().unwrap();
/// let meta = MediaMetadata::new().with_session("s").with_conversation("c1");
/// store.store_bytes("text/plain", "same".into(), &meta).await.unwrap();
/// let week = meta.clone().with_policy(RetentionPolicy::RetainDays(7));
/// let r = store.store_bytes("text/plain", "same".into(), &week).await.unwrap();
/// let listed = store.list().await.unwrap();
/// assert_eq!(listed.len(), 2);
/// assert_eq!(listed[0].location, listed[1].location, "identical bytes, one stored file");
/// let entry = store.head(&r).await.unwrap();
/// assert_eq!((entry.mime_type.as_str(), entry.size_bytes), ("text/plain", 4));
/// assert_eq!(entry.policy, RetentionPolicy::RetainDays(7));
/// assert_eq!(entry.metadata.conversation_id.as_deref(), Some("c1"));
/// assert!(!entry.is_expired(entry.created));
/// # });
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StoredReference {
    /// The reference.
    pub reference: StorageReference,
    /// Where the media is, relative to the store root or key prefix
    /// (`media/<org dirs>/<name>`); references to identical bytes share it
    /// when deduplication is on.
    pub location: PathBuf,
    /// BLAKE3 hash of the bytes (lowercase hex).
    pub blake3: String,
    /// MIME type declared when this reference was stored.
    pub mime_type: String,
    /// Size of the bytes.
    pub size_bytes: u64,
    /// When the reference was created.
    pub created: OffsetDateTime,
    /// Its retention policy (the store default when the metadata had none).
    pub policy: RetentionPolicy,
    /// Owners (conversation, session, run, user) and provenance as stored;
    /// `metadata.policy` is the policy the metadata carried, if any.
    pub metadata: MediaMetadata,
}

impl StoredReference {
    /// Whether its time-based retention period is over at `now`.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        is_expired(self.policy, self.created, now)
    }
}

/// Whether a reference created at `created` under `policy` has expired at
/// `now`. Only time-based policies expire; an expiry beyond the representable
/// dates (e.g. `retain-4294967295days`) never comes.
pub(crate) fn is_expired(
    policy: RetentionPolicy,
    created: OffsetDateTime,
    now: OffsetDateTime,
) -> bool {
    expiry(policy, created).is_some_and(|expiry| expiry <= now)
}

/// When a reference created at `created` under `policy` expires (`None`:
/// never, or beyond the representable dates).
pub(crate) fn expiry(policy: RetentionPolicy, created: OffsetDateTime) -> Option<OffsetDateTime> {
    policy
        .max_age()
        .and_then(|age| time::Duration::try_from(age).ok())
        .and_then(|age| created.checked_add(age))
}
