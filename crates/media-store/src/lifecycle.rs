//! Report and option types shared by the lifecycle operations of every
//! backend (retention, garbage collection, verification): the local
//! `FileStore` and the object-store backend
//! (`ObjectStoreMediaStore`, feature `object-store`) return the same types.
//!
//! Locations in these reports are `PathBuf`s: absolute file paths for the
//! local store, object keys (relative to the bucket or store root, `/`
//! separated) for object stores.

use std::path::PathBuf;
use std::time::Duration;

use time::OffsetDateTime;

use crate::{RetentionPolicy, StorageReference};

/// What retention enforcement (`enforce_retention`, `conversation_deleted`,
/// `retain_conversations`) removed.
///
/// ```
/// # #[cfg(feature = "local")] {
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use promptkit_media_store::{FileStore, MediaMetadata, MediaStoreExt, RetentionPolicy};
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

/// What `verify` found.
///
/// ```
/// # #[cfg(feature = "local")] {
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use promptkit_media_store::{FileStore, MediaMetadata, MediaStoreExt};
/// # let dir = tempfile::tempdir().unwrap();
/// let store = FileStore::builder().with_base_dir(dir.path()).build().unwrap();
/// let meta = MediaMetadata::new().with_session("s").with_conversation("c");
/// let r = store.store_bytes("text/plain", "original".into(), &meta).await.unwrap();
/// assert!(store.verify().await.unwrap().is_ok());
/// let path = store.path_of(&r).await.unwrap();
/// std::fs::write(&path, "tampered").unwrap();
/// let report = store.verify().await.unwrap();
/// assert!(!report.is_ok());
/// assert_eq!((report.checked, report.corrupt), (1, vec![path]));
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
}

impl VerifyReport {
    /// Whether nothing is wrong.
    ///
    /// ```
    /// use promptkit_media_store::VerifyReport;
    /// assert!(VerifyReport::default().is_ok());
    /// ```
    pub fn is_ok(&self) -> bool {
        self.corrupt.is_empty() && self.missing.is_empty() && self.unreadable_sidecars.is_empty()
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
    /// Default: one hour.
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

/// What `gc` removed (or, in a dry run, would remove).
///
/// Object stores fill the fields as follows: `stale_temp_files` are trash
/// copies left by interrupted deletes, `stale_object_records` are location
/// records of content that is gone, `dangling_references` and
/// `repaired_references` are reference strings (`obj:<hash>/<id>`), and
/// `pruned_references` stays empty (object stores keep no reference lists).
///
/// ```
/// # #[cfg(feature = "local")] {
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use promptkit_media_store::{FileStore, GcOptions};
/// # let dir = tempfile::tempdir().unwrap();
/// let store = FileStore::builder().with_base_dir(dir.path()).build().unwrap();
/// let stray = store.base_dir().join("media/stray.bin");
/// std::fs::write(&stray, "12345").unwrap(); // media without a sidecar
/// let report = store.gc(GcOptions::new(false)).await.unwrap();
/// assert!(!report.dry_run && !report.is_clean());
/// assert_eq!((report.orphan_media, report.freed_bytes), (vec![stray], 5));
/// assert!(store.gc(GcOptions::new(false)).await.unwrap().is_clean());
/// # });
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GcReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Temporary files (object stores: trash copies) older than the grace period.
    pub stale_temp_files: Vec<PathBuf>,
    /// Media without a sidecar, or whose references are all gone.
    pub orphan_media: Vec<PathBuf>,
    /// Sidecars without media.
    pub orphan_sidecars: Vec<PathBuf>,
    /// Ids listed in a sidecar without a reference record (pruned). Only
    /// version 1 sidecars of the local store listed references; their list
    /// is dropped when `gc` rewrites them as version 2.
    pub pruned_references: Vec<String>,
    /// Reference records whose media is gone (removed).
    pub dangling_references: Vec<String>,
    /// References repaired: live references a version 1 sidecar did not
    /// list, whose journal record gets the sidecar's owner (local store), or
    /// whose bytes or location were put back (object stores).
    pub repaired_references: Vec<String>,
    /// Dedup (object stores: location) records pointing nowhere.
    pub stale_object_records: Vec<PathBuf>,
    /// Sidecars (object stores: records) that cannot be parsed (left alone;
    /// see `verify`).
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
            && self.pruned_references.is_empty()
            && self.dangling_references.is_empty()
            && self.repaired_references.is_empty()
            && self.stale_object_records.is_empty()
    }
}

/// Whether a reference created at `created` under `policy` has expired at
/// `now`. Only time-based policies expire; an expiry beyond the representable
/// dates (e.g. `retain-4294967295days`) never comes.
#[cfg_attr(
    not(any(feature = "local", feature = "object-store")),
    allow(dead_code)
)]
pub(crate) fn is_expired(
    policy: RetentionPolicy,
    created: OffsetDateTime,
    now: OffsetDateTime,
) -> bool {
    policy
        .max_age()
        .and_then(|age| time::Duration::try_from(age).ok())
        .and_then(|age| created.checked_add(age))
        .is_some_and(|expiry| expiry <= now)
}

/// Runs `enforce(now)` every `every` in a background task (first run after
/// one period) until the handle is aborted; failures are logged with `tracing`
/// and retried next period. Shared by both backends' `spawn_retention_task`.
#[cfg(any(feature = "local", feature = "object-store"))]
pub(crate) fn spawn_retention_loop<F, Fut>(
    every: Duration,
    enforce: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(OffsetDateTime) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = crate::Result<RetentionReport>> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            match enforce(OffsetDateTime::now_utc()).await {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_and_grace() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let hour = time::Duration::hours(1);
        assert!(!is_expired(RetentionPolicy::RetainHours(1), t0, t0));
        assert!(is_expired(RetentionPolicy::RetainHours(1), t0, t0 + hour));
        assert!(!is_expired(RetentionPolicy::Retain, t0, t0 + hour * 10_000));
        assert!(!is_expired(
            RetentionPolicy::DeleteWithConversation,
            t0,
            t0 + hour * 10_000
        ));
        assert!(!is_expired(
            RetentionPolicy::RetainDays(u32::MAX),
            OffsetDateTime::now_utc(),
            OffsetDateTime::now_utc()
        ));
        let o = GcOptions::new(false).with_now(t0 + hour);
        assert!(o.is_stale(t0));
        assert!(!o.is_stale(t0 + time::Duration::minutes(1)));
        assert!(!o.with_temp_grace(Duration::MAX).is_stale(t0));
    }
}
