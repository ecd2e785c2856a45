//! The conformance suite every [`MediaStore`] backend runs in its tests
//! (feature `conformance`).
//!
//! Each function exercises one behaviour of the trait through `&dyn MediaStore`
//! and panics with a message naming the violated rule, like object_store's
//! `integration.rs`. Every test uses fresh random bytes and fresh conversation,
//! session and run ids, so the tests can run one after another on one store.
//! Statistics are checked as differences before/after, so the store may hold
//! other media; it must not be written by anything else while a test runs.
//!
//! Every test passes session, conversation and run ids, so any
//! [`Organization`](crate::Organization) works.
//!
//! ```no_run
//! # async fn demo(store: std::sync::Arc<dyn promptkit_media_store::MediaLifecycle>) {
//! use promptkit_media_store::conformance;
//! conformance::run_all(store).await;
//! # }
//! ```

mod input;
mod lifecycle;
mod support;

use std::sync::Arc;
use std::time::Duration;

pub use input::{bad_input_rejected, url_is_returned};
pub use lifecycle::{
    dropped_stores_leave_nothing, ids_people_use, lifecycle_reports, same_bytes_from_two_handles,
};
pub use support::{fresh_metadata, random_bytes};

use support::{assert_bytes, assert_not_found, get, opaque_bytes, put, stats};

use crate::{
    Error, MediaLifecycle, MediaMetadata, MediaStore, MediaStoreExt, StorageReference, StorageStats,
};

/// What a backend under test is expected to do.
///
/// ```
/// use promptkit_media_store::conformance::Expectations;
/// assert_eq!(Expectations::default().concurrency, 64);
/// // For a store built with deduplication off, and fewer concurrent tasks:
/// let e = Expectations::without_dedup().with_concurrency(8);
/// assert!(!e.deduplicates);
/// assert_eq!(e.concurrency, 8);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Expectations {
    /// Whether identical bytes are stored once (`true` for most stores).
    pub deduplicates: bool,
    /// Number of tasks of the concurrent-store test.
    pub concurrency: usize,
}

impl Default for Expectations {
    fn default() -> Self {
        Expectations {
            deduplicates: true,
            concurrency: 64,
        }
    }
}

impl Expectations {
    /// Expectations for a store with deduplication switched off.
    pub fn without_dedup() -> Self {
        Expectations {
            deduplicates: false,
            ..Self::default()
        }
    }

    /// Sets the number of concurrent tasks.
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }
}

/// Runs every test for a deduplicating store (64 concurrent tasks).
///
/// ```
/// # #[cfg(feature = "local")] {
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::sync::Arc;
/// use promptkit_media_store::{FileStore, MediaLifecycleExt, conformance};
/// # let dir = tempfile::tempdir().unwrap();
/// let store = FileStore::builder().with_base_dir(dir.path()).with_fsync(false).build().unwrap();
/// conformance::run_all(Arc::new(store.clone())).await; // panics on a violated rule
/// assert!(store.verify().await.unwrap().is_ok());
/// # });
/// # }
/// ```
pub async fn run_all(store: Arc<dyn MediaLifecycle>) {
    run_all_with(store, Expectations::default()).await;
}

/// Runs every test with explicit [`Expectations`].
pub async fn run_all_with(store: Arc<dyn MediaLifecycle>, expect: Expectations) {
    round_trip_all_types(store.as_ref()).await;
    ids_people_use(store.as_ref()).await;
    lifecycle_reports(store.as_ref()).await;
    dropped_stores_leave_nothing(Arc::clone(&store), 40).await;
    stats_are_computed(store.as_ref()).await;
    if expect.deduplicates {
        dedup_identical_content(store.as_ref()).await;
    } else {
        identical_content_stored_separately(store.as_ref()).await;
    }
    refcount_delete(store.as_ref()).await;
    delete_unknown_is_not_found(store.as_ref()).await;
    bad_input_rejected(store.as_ref()).await;
    url_is_returned(store.as_ref()).await;
    let dyn_store: Arc<dyn MediaStore> = store;
    concurrent_identical_stores_with(dyn_store, expect.concurrency, expect.deduplicates).await;
}

/// Stores one item of every common media type and reads each back unchanged,
/// with its MIME type and real size; every reference is short (< 100 bytes)
/// and survives a round trip through its string form.
pub async fn round_trip_all_types(store: &dyn MediaStore) {
    let cases: [(&str, &[u8]); 14] = [
        ("image/png", b"\x89PNG\r\n\x1a\n"),
        ("image/jpeg", b"\xFF\xD8\xFF\xE0"),
        ("image/gif", b"GIF89a"),
        ("image/webp", b"RIFF\x10\0\0\0WEBP"),
        (
            "image/svg+xml",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\">",
        ),
        ("audio/mpeg", b"ID3\x03\0"),
        ("audio/wav", b"RIFF\x10\0\0\0WAVE"),
        ("audio/ogg", b"OggS"),
        ("video/mp4", b"\0\0\0\x18ftypisom"),
        ("video/webm", b"\x1A\x45\xDF\xA3"),
        ("application/pdf", b"%PDF-1.7\n"),
        ("text/plain", b"hello, media store "),
        ("application/json", b"{\"k\":\""),
        ("application/octet-stream", b"PKTEST\0"),
    ];
    let meta = fresh_metadata("types");
    for (i, (mime, magic)) in cases.iter().enumerate() {
        let data = random_bytes(magic, 1024 + i * 37);
        let r = put(store, mime, &data, &meta).await;
        assert!(
            r.as_str().len() < 100,
            "reference `{r}` is {} bytes; references must stay under 100",
            r.as_str().len()
        );
        let reparsed: StorageReference = r
            .as_str()
            .parse()
            .unwrap_or_else(|e| panic!("reference `{r}` does not parse back: {e}"));
        let m = get(store, &reparsed, &format!("round trip of {mime}")).await;
        assert_bytes(&m, &data, &format!("round trip of {mime}"));
        assert_eq!(
            &*m.mime_type, *mime,
            "round trip of {mime}: MIME type changed"
        );
    }
}

/// Identical bytes stored from two conversations: two distinct references,
/// both retrievable, one object in the statistics, two references, each
/// counted under its own conversation (also after the other is deleted).
pub async fn dedup_identical_content(store: &dyn MediaStore) {
    let before = stats(store, "dedup").await;
    let data = random_bytes(b"\x89PNG\r\n\x1a\n", 4096);
    let (m1, m2) = (fresh_metadata("dedup-a"), fresh_metadata("dedup-b"));
    let r1 = put(store, "image/png", &data, &m1).await;
    let r2 = put(store, "image/png", &data, &m2).await;
    assert_ne!(r1, r2, "dedup: each store must return a new reference");
    assert_bytes(&get(store, &r1, "dedup r1").await, &data, "dedup r1");
    assert_bytes(&get(store, &r2, "dedup r2").await, &data, "dedup r2");
    let after = stats(store, "dedup").await;
    let len = data.len() as u64;
    assert_eq!(
        after.objects,
        before.objects + 1,
        "dedup: identical bytes must be one object"
    );
    assert_eq!(
        after.references,
        before.references + 2,
        "dedup: two references expected"
    );
    assert_eq!(
        after.logical_bytes,
        before.logical_bytes + 2 * len,
        "dedup: logical bytes"
    );
    assert_eq!(
        after.physical_bytes,
        before.physical_bytes + len,
        "dedup: physical bytes"
    );
    for m in [&m1, &m2] {
        let conv = m.conversation_id.as_deref().unwrap_or("-");
        let c = after.by_conversation.get(conv).copied().unwrap_or_default();
        assert_eq!(
            c.references, 1,
            "dedup: conversation {conv} must count its own reference"
        );
        assert_eq!(
            c.logical_bytes, len,
            "dedup: conversation {conv} logical bytes"
        );
    }
    // Each reference keeps its own owner: deleting one takes only its
    // conversation's count with it, and the shared object stays.
    store
        .delete(&r1)
        .await
        .unwrap_or_else(|e| panic!("dedup: delete r1: {e}"));
    let end = stats(store, "dedup").await;
    let count = |m: &MediaMetadata| {
        let conv = m.conversation_id.as_deref().unwrap_or("-");
        end.by_conversation.get(conv).map_or(0, |c| c.references)
    };
    assert_eq!(count(&m1), 0, "dedup: the deleted reference's conversation");
    assert_eq!(count(&m2), 1, "dedup: the other reference's conversation");
    assert_eq!(end.objects, after.objects, "dedup: the object stays");
    assert_bytes(
        &get(store, &r2, "dedup r2 after delete").await,
        &data,
        "dedup r2",
    );
}

/// For stores without deduplication: identical bytes are two objects, and each
/// reference still resolves to the right bytes.
pub async fn identical_content_stored_separately(store: &dyn MediaStore) {
    let before = stats(store, "no-dedup").await;
    let data = random_bytes(b"GIF89a", 2048);
    let r1 = put(store, "image/gif", &data, &fresh_metadata("nodedup-a")).await;
    let r2 = put(store, "image/gif", &data, &fresh_metadata("nodedup-b")).await;
    assert_ne!(r1, r2, "no-dedup: each store must return a new reference");
    assert_bytes(&get(store, &r1, "no-dedup r1").await, &data, "no-dedup r1");
    assert_bytes(&get(store, &r2, "no-dedup r2").await, &data, "no-dedup r2");
    let after = stats(store, "no-dedup").await;
    assert_eq!(
        after.objects,
        before.objects + 2,
        "no-dedup: two objects expected"
    );
    assert_eq!(
        after.references,
        before.references + 2,
        "no-dedup: two references expected"
    );
    let len = data.len() as u64;
    assert_eq!(
        after.physical_bytes,
        before.physical_bytes + 2 * len,
        "no-dedup: physical bytes"
    );
}

/// Deleting one of two references to the same bytes keeps the other working
/// and makes the deleted one `NotFound`; deleting the last removes the media,
/// and the statistics return to where they were.
pub async fn refcount_delete(store: &dyn MediaStore) {
    let before = stats(store, "refcount").await;
    let data = random_bytes(b"%PDF-1.4\n", 3000);
    let r1 = put(store, "application/pdf", &data, &fresh_metadata("rc-a")).await;
    let r2 = put(store, "application/pdf", &data, &fresh_metadata("rc-b")).await;
    store
        .delete(&r1)
        .await
        .unwrap_or_else(|e| panic!("refcount: delete of the first reference failed: {e}"));
    assert_not_found(store, &r1, "refcount: a deleted reference").await;
    assert_bytes(
        &get(store, &r2, "refcount: the surviving reference").await,
        &data,
        "refcount r2",
    );
    let mid = stats(store, "refcount").await;
    assert_eq!(
        mid.references,
        before.references + 1,
        "refcount: one reference must remain"
    );
    assert!(
        mid.objects > before.objects,
        "refcount: the shared media must remain"
    );
    store
        .delete(&r2)
        .await
        .unwrap_or_else(|e| panic!("refcount: delete of the last reference failed: {e}"));
    assert_not_found(store, &r2, "refcount: after the last delete").await;
    let after = stats(store, "refcount").await;
    assert_eq!(
        after.objects, before.objects,
        "refcount: the media must go with the last reference"
    );
    assert_eq!(
        after.references, before.references,
        "refcount: references after deleting all"
    );
    assert_eq!(
        after.physical_bytes, before.physical_bytes,
        "refcount: physical bytes after deleting all"
    );
    match store.delete(&r2).await {
        Err(Error::NotFound { .. }) => {}
        other => panic!("refcount: deleting a reference twice must be NotFound, got {other:?}"),
    }
}

/// Deleting, retrieving or asking a URL for a reference that no longer exists
/// is `NotFound`.
pub async fn delete_unknown_is_not_found(store: &dyn MediaStore) {
    let data = opaque_bytes(512);
    let r = put(
        store,
        "application/octet-stream",
        &data,
        &fresh_metadata("unknown"),
    )
    .await;
    store
        .delete(&r)
        .await
        .unwrap_or_else(|e| panic!("unknown: delete failed: {e}"));
    match store.delete(&r).await {
        Err(Error::NotFound { .. }) => {}
        other => panic!("unknown: delete of a deleted reference must be NotFound, got {other:?}"),
    }
    assert_not_found(store, &r, "unknown").await;
    match store.url(&r, Duration::from_secs(60)).await {
        Err(Error::NotFound { .. }) => {}
        other => panic!("unknown: url of a deleted reference must be NotFound, got {other:?}"),
    }
}

/// `n` tasks store identical bytes at once: `n` distinct valid references and
/// exactly one object (deduplicating store).
pub async fn concurrent_identical_stores(store: Arc<dyn MediaStore>, n: usize) {
    concurrent_identical_stores_with(store, n, true).await;
}

/// Like [`concurrent_identical_stores`], expecting `n` objects when
/// `deduplicates` is false.
pub async fn concurrent_identical_stores_with(
    store: Arc<dyn MediaStore>,
    n: usize,
    deduplicates: bool,
) {
    let before = stats(store.as_ref(), "concurrent").await;
    let data = random_bytes(b"\x89PNG\r\n\x1a\n", 64 * 1024);
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (store, data) = (Arc::clone(&store), data.clone());
            let meta =
                fresh_metadata("conc").with_position(u32::try_from(i).unwrap_or(u32::MAX), 0);
            tokio::spawn(async move { store.store_bytes("image/png", data, &meta).await })
        })
        .collect();
    let mut refs = Vec::with_capacity(n);
    for t in futures::future::join_all(tasks).await {
        match t {
            Ok(Ok(r)) => refs.push(r),
            Ok(Err(e)) => panic!("concurrent: a store failed: {e}"),
            Err(e) => panic!("concurrent: a store task panicked: {e}"),
        }
    }
    let distinct: std::collections::HashSet<_> = refs.iter().collect();
    assert_eq!(
        distinct.len(),
        n,
        "concurrent: every store must return a distinct reference"
    );
    for r in &refs {
        assert_bytes(
            &get(store.as_ref(), r, "concurrent").await,
            &data,
            "concurrent",
        );
    }
    let after = stats(store.as_ref(), "concurrent").await;
    let want_objects = if deduplicates { 1 } else { n as u64 };
    assert_eq!(
        after.objects,
        before.objects + want_objects,
        "concurrent: objects after {n} identical stores"
    );
    assert_eq!(
        after.references,
        before.references + n as u64,
        "concurrent: references after {n} stores"
    );
    for r in &refs {
        store
            .delete(r)
            .await
            .unwrap_or_else(|e| panic!("concurrent: delete({r}) failed: {e}"));
    }
    let end = stats(store.as_ref(), "concurrent").await;
    assert_eq!(
        end.objects, before.objects,
        "concurrent: objects after deleting every reference"
    );
    assert_eq!(
        end.references, before.references,
        "concurrent: references after deleting every reference"
    );
}

/// Statistics follow what is stored: objects, references, logical and
/// physical bytes, and the per-MIME, per-conversation and per-session breakdowns.
pub async fn stats_are_computed(store: &dyn MediaStore) {
    let before = stats(store, "stats").await;
    let meta = fresh_metadata("stats");
    let png = random_bytes(b"\x89PNG\r\n\x1a\n", 1500);
    let ogg = random_bytes(b"OggS", 700);
    let r1 = put(store, "image/png", &png, &meta).await;
    let r2 = put(store, "audio/ogg", &ogg, &meta).await;
    let after = stats(store, "stats").await;
    let total = (png.len() + ogg.len()) as u64;
    assert_eq!(after.objects, before.objects + 2, "stats: objects");
    assert_eq!(after.references, before.references + 2, "stats: references");
    assert_eq!(
        after.logical_bytes,
        before.logical_bytes + total,
        "stats: logical bytes"
    );
    assert_eq!(
        after.physical_bytes,
        before.physical_bytes + total,
        "stats: physical bytes"
    );
    let mime = |s: &StorageStats, m: &str| s.by_mime.get(m).copied().unwrap_or_default();
    assert_eq!(
        mime(&after, "image/png").logical_bytes,
        mime(&before, "image/png").logical_bytes + png.len() as u64,
        "stats: per-MIME bytes of image/png"
    );
    assert_eq!(
        mime(&after, "audio/ogg").references,
        mime(&before, "audio/ogg").references + 1,
        "stats: per-MIME references of audio/ogg"
    );
    let conv = meta.conversation_id.as_deref().unwrap_or("-");
    let sess = meta.session_id.as_deref().unwrap_or("-");
    let c = after.by_conversation.get(conv).copied().unwrap_or_default();
    assert_eq!(
        (c.references, c.logical_bytes),
        (2, total),
        "stats: per-conversation counts"
    );
    let s = after.by_session.get(sess).copied().unwrap_or_default();
    assert_eq!(
        (s.references, s.logical_bytes),
        (2, total),
        "stats: per-session counts"
    );
    for r in [r1, r2] {
        store
            .delete(&r)
            .await
            .unwrap_or_else(|e| panic!("stats: delete failed: {e}"));
    }
    let end = stats(store, "stats").await;
    assert_eq!(end.objects, before.objects, "stats: objects after delete");
    assert_eq!(
        end.logical_bytes, before.logical_bytes,
        "stats: logical bytes after delete"
    );
    assert!(
        !end.by_conversation.contains_key(conv),
        "stats: an empty conversation must leave the breakdown"
    );
}

/// Stores and deletes of the same bytes race: `tasks` tasks each run `rounds`
/// rounds of store, store, delete-one (so references are created and dropped
/// while others are alive, and the last reference of a round may be deleted
/// while another task is storing). At the end every kept reference still
/// resolves to the bytes; after deleting them all, the statistics are back
/// where they started.
pub async fn store_delete_race(store: Arc<dyn MediaStore>, tasks: usize, rounds: usize) {
    let before = stats(store.as_ref(), "race").await;
    let data = random_bytes(b"GIF89a", 8 * 1024);
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (store, data) = (Arc::clone(&store), data.clone());
            tokio::spawn(async move {
                let meta = fresh_metadata("race");
                let mut kept = Vec::new();
                for _ in 0..rounds {
                    let a = store.store_bytes("image/gif", data.clone(), &meta).await?;
                    let b = store.store_bytes("image/gif", data.clone(), &meta).await?;
                    store.delete(&a).await?;
                    // `b` may now be the only reference while others delete theirs.
                    let got = store.retrieve_bytes(&b).await?;
                    if got != data {
                        return Err(Error::Corrupt {
                            reference: b.to_string(),
                            message: "wrong bytes during the race".into(),
                        });
                    }
                    kept.push(b);
                    if kept.len() > 1 {
                        let old = kept.remove(0);
                        store.delete(&old).await?;
                    }
                }
                Ok::<_, Error>(kept)
            })
        })
        .collect();
    let mut kept = Vec::new();
    for h in futures::future::join_all(handles).await {
        match h {
            Ok(Ok(k)) => kept.extend(k),
            Ok(Err(e)) => panic!("race: an operation failed: {e}"),
            Err(e) => panic!("race: a task panicked: {e}"),
        }
    }
    for r in &kept {
        assert_bytes(
            &get(store.as_ref(), r, "race: kept reference").await,
            &data,
            "race",
        );
    }
    let mid = stats(store.as_ref(), "race").await;
    assert_eq!(
        mid.objects - before.objects,
        1,
        "race: the shared bytes must be one object"
    );
    assert_eq!(
        mid.references - before.references,
        kept.len() as u64,
        "race: references"
    );
    for r in &kept {
        store
            .delete(r)
            .await
            .unwrap_or_else(|e| panic!("race: delete({r}) failed: {e}"));
    }
    let end = stats(store.as_ref(), "race").await;
    assert_eq!(end.objects, before.objects, "race: objects at the end");
    assert_eq!(
        end.references, before.references,
        "race: references at the end"
    );
}
