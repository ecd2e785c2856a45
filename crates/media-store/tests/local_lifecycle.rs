//! Retention (with a controllable clock), garbage collection with shared
//! deduplicated files, and corruption detection on the local store.

use std::path::Path;

use bytes::Bytes;
use promptkit_media_store::GcOptions;
use promptkit_media_store::conformance::random_bytes;
use promptkit_media_store::{
    Error, FileStore, MediaContent, MediaLifecycle, MediaLifecycleExt, MediaMetadata, MediaStore,
    MediaStoreExt, Organization, RetentionPolicy, StorageReference,
};
use time::{Duration, OffsetDateTime};

#[path = "support/store.rs"]
mod store;

fn open(dir: &Path) -> FileStore {
    store::open_organized(dir, Organization::ByConversation)
}

fn t0() -> OffsetDateTime {
    time::macros::datetime!(2026-01-01 12:00 UTC)
}

async fn put(
    store: &FileStore,
    data: &Bytes,
    conv: &str,
    policy: RetentionPolicy,
    at: OffsetDateTime,
) -> StorageReference {
    let m = MediaMetadata::new()
        .with_conversation(conv)
        .with_policy(policy);
    let content = MediaContent::from_bytes("image/png", data.clone());
    store.store_at(&content, &m, at).await.unwrap()
}

fn png(len: usize) -> Bytes {
    random_bytes(b"\x89PNG\r\n\x1a\n", len)
}

#[tokio::test]
async fn retention_expires_references_and_keeps_shared_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let shared = png(4000);
    let single = png(1000);
    let hourly = put(&store, &shared, "a", RetentionPolicy::RetainHours(1), t0()).await;
    let forever = put(&store, &shared, "b", RetentionPolicy::Retain, t0()).await;
    let brief = put(
        &store,
        &single,
        "a",
        RetentionPolicy::DeleteAfterMinutes(10),
        t0(),
    )
    .await;
    let later = put(
        &store,
        &single,
        "c",
        RetentionPolicy::RetainDays(1),
        t0() + Duration::hours(1),
    )
    .await;

    let r = store
        .enforce_retention(t0() + Duration::minutes(9))
        .await
        .unwrap();
    assert!(r.expired_references.is_empty(), "{r:?}");

    let r = store
        .enforce_retention(t0() + Duration::minutes(61))
        .await
        .unwrap();
    let mut expired = r.expired_references.clone();
    expired.sort();
    let mut want = vec![hourly.clone(), brief.clone()];
    want.sort();
    assert_eq!(expired, want);
    assert_eq!(
        (r.removed_objects, r.freed_bytes),
        (0, 0),
        "both files still referenced"
    );
    for gone in [&hourly, &brief] {
        assert!(matches!(
            store.retrieve(gone).await,
            Err(Error::NotFound { .. })
        ));
    }
    assert_eq!(store.retrieve_bytes(&forever).await.unwrap(), shared);
    assert_eq!(store.retrieve_bytes(&later).await.unwrap(), single);

    let r = store
        .enforce_retention(t0() + Duration::hours(26))
        .await
        .unwrap();
    assert_eq!(r.expired_references, vec![later]);
    assert_eq!((r.removed_objects, r.freed_bytes), (1, 1000));
    let s = store.stats().await.unwrap();
    assert_eq!((s.objects, s.references), (1, 1));
    assert!(
        store
            .enforce_retention(t0() + Duration::days(3650))
            .await
            .unwrap()
            .expired_references
            .is_empty()
    );
}

#[tokio::test]
async fn conversation_deletion_takes_only_delete_with_conversation_media() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (x, y) = (png(500), png(600));
    let tied = put(
        &store,
        &x,
        "gone",
        RetentionPolicy::DeleteWithConversation,
        t0(),
    )
    .await;
    let kept = put(&store, &y, "gone", RetentionPolicy::Retain, t0()).await;
    let other = put(
        &store,
        &x,
        "alive",
        RetentionPolicy::DeleteWithConversation,
        t0(),
    )
    .await;
    let r = store.conversation_deleted("gone").await.unwrap();
    assert_eq!(r.expired_references, vec![tied]);
    assert_eq!(r.removed_objects, 0, "x is still referenced by `alive`");
    assert!(store.retrieve(&kept).await.is_ok());
    assert!(store.retrieve(&other).await.is_ok());
    let r = store.conversation_deleted("alive").await.unwrap();
    assert_eq!((r.removed_objects, r.freed_bytes), (1, 500));
}

/// Removes the index row of `r` (as a hand edit of the database would).
fn drop_record(dir: &Path, r: &StorageReference) {
    let id = r.as_str().strip_prefix("file:").unwrap();
    let db = rusqlite::Connection::open(dir.join(".promptkit/index.sqlite3")).unwrap();
    let n = db.execute("DELETE FROM refs WHERE id = ?1", [id]).unwrap();
    assert_eq!(n, 1, "no record of {r}");
}

/// `path` relative to the store's base folder.
fn rel(store: &FileStore, path: &Path) -> std::path::PathBuf {
    path.strip_prefix(store.base_dir()).unwrap().to_path_buf()
}

#[tokio::test]
async fn gc_repairs_leftovers_around_shared_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let shared = png(3000);
    let a = put(&store, &shared, "a", RetentionPolicy::Retain, t0()).await;
    let b = put(&store, &shared, "b", RetentionPolicy::Retain, t0()).await;
    let lone = put(&store, &png(700), "c", RetentionPolicy::Retain, t0()).await;
    let shared_path = store.path_of(&a).await.unwrap();
    let lone_path = store.path_of(&lone).await.unwrap();

    // A reference record lost (the shared file keeps its other reference),
    // a media file whose sidecar and bytes vanished (dangling reference),
    // a stray media file, a stray media file with its sidecar, a sidecar
    // without media, and a stale temp file.
    drop_record(dir.path(), &a);
    std::fs::remove_file(&lone_path).unwrap();
    std::fs::remove_file(format!("{}.meta", lone_path.display())).unwrap();
    let stray = dir.path().join("media/a/stray.png");
    std::fs::write(&stray, b"stray").unwrap();
    let described = dir.path().join("media/a/described.png");
    std::fs::write(&described, b"described").unwrap();
    let described_meta = dir.path().join("media/a/described.png.meta");
    std::fs::write(&described_meta, b"{}").unwrap();
    let lost_meta = dir.path().join("media/a/lost.png.meta");
    std::fs::write(&lost_meta, b"{}").unwrap();
    let temp = dir.path().join("media/a/.pk-tmp-0123");
    std::fs::write(&temp, b"partial").unwrap();

    let in_two_hours = OffsetDateTime::now_utc() + Duration::hours(2);
    let dry = store
        .gc(GcOptions::new(true).with_now(in_two_hours))
        .await
        .unwrap();
    assert!(dry.dry_run);
    assert!(
        stray.exists() && lost_meta.exists() && temp.exists() && described_meta.exists(),
        "dry run changed files"
    );
    let wet = store
        .gc(GcOptions::new(false).with_now(in_two_hours))
        .await
        .unwrap();
    assert!(!wet.dry_run);
    for report in [&dry, &wet] {
        assert_eq!(report.stale_temp_files.len(), 1, "{report:?}");
        assert!(report.stale_temp_files[0].ends_with(".pk-tmp-0123"));
        let names = |paths: &[std::path::PathBuf]| -> Vec<String> {
            let names = paths
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy());
            names.map(String::from).collect()
        };
        assert_eq!(names(&report.orphan_media), ["described.png", "stray.png"]);
        assert_eq!(
            names(&report.orphan_sidecars),
            ["described.png.meta", "lost.png.meta"],
            "a dry run reports the sidecar of orphan media too"
        );
        assert_eq!(report.dangling_references, vec![lone.to_string()]);
        assert_eq!(report.freed_bytes, 5 + 9);
    }
    assert!(!stray.exists() && !lost_meta.exists() && !temp.exists());
    assert!(!described.exists() && !described_meta.exists());
    assert!(
        shared_path.exists(),
        "the shared file keeps its live reference"
    );
    assert_eq!(store.retrieve_bytes(&b).await.unwrap(), shared);
    let s = store.stats().await.unwrap();
    assert_eq!((s.objects, s.references), (1, 1));
    assert!(store.gc(GcOptions::new(false)).await.unwrap().is_clean());
    // The last reference still removes the shared file.
    store.delete(&b).await.unwrap();
    assert!(!shared_path.exists());
}

#[tokio::test]
async fn fresh_temp_files_survive_gc() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let temp = dir.path().join("media/.pk-tmp-inflight");
    std::fs::write(&temp, b"in progress elsewhere").unwrap();
    let report = store.gc(GcOptions::new(false)).await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert!(temp.exists());
    let forever = GcOptions::new(false).with_temp_grace(std::time::Duration::MAX);
    assert!(store.gc(forever).await.unwrap().is_clean());
    assert!(temp.exists());
}

#[tokio::test]
async fn verify_and_retrieve_detect_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let good = put(&store, &png(2000), "a", RetentionPolicy::Retain, t0()).await;
    let bad = put(&store, &png(2000), "a", RetentionPolicy::Retain, t0()).await;
    let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = calls.clone();
    let report = store
        .verify_with_progress(std::sync::Arc::new(move |done, total| {
            seen.lock().unwrap().push((done, total))
        }))
        .await
        .unwrap();
    assert!(report.is_ok() && report.checked == 2, "{report:?}");
    assert_eq!(*calls.lock().unwrap(), vec![(0, 2), (1, 2), (2, 2)]);
    let bad_path = store.path_of(&bad).await.unwrap();
    let mut bytes = std::fs::read(&bad_path).unwrap();
    bytes[1000] ^= 0xFF;
    std::fs::write(&bad_path, &bytes).unwrap();
    let report = store.verify().await.unwrap();
    assert_eq!(report.checked, 2);
    assert_eq!(report.corrupt, vec![rel(&store, &bad_path)]);
    assert!(matches!(
        store.retrieve(&bad).await,
        Err(Error::Corrupt { .. })
    ));
    assert!(store.retrieve(&good).await.is_ok());
    std::fs::remove_file(&bad_path).unwrap();
    let report = store.verify().await.unwrap();
    assert_eq!(report.missing, vec![rel(&store, &bad_path)]);
    assert!(report.corrupt.is_empty());
}

#[tokio::test]
async fn list_shows_files_with_their_references() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let data = png(100);
    let r1 = put(&store, &data, "a", RetentionPolicy::Retain, t0()).await;
    let r2 = put(&store, &data, "b", RetentionPolicy::RetainDays(2), t0()).await;
    let list = store.list().await.unwrap();
    assert_eq!(list.len(), 2);
    let mut refs: Vec<_> = list.iter().map(|s| s.reference.clone()).collect();
    refs.sort();
    let mut want = vec![r1.clone(), r2];
    want.sort();
    assert_eq!(refs, want);
    assert_eq!(list[0].location, list[1].location, "one file");
    assert!(list.iter().all(|s| s.size_bytes == 100));
    let first = list.iter().find(|s| s.reference == r1).unwrap();
    assert_eq!(first.metadata.conversation_id.as_deref(), Some("a"));
    assert_eq!(first.created, t0());
    assert_eq!(store.head(&r1).await.unwrap(), *first);
}

#[tokio::test]
async fn references_of_vanished_conversations_are_collected() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let data = png(800);
    let live = put(
        &store,
        &data,
        "live",
        RetentionPolicy::DeleteWithConversation,
        t0(),
    )
    .await;
    let gone = put(
        &store,
        &data,
        "gone",
        RetentionPolicy::DeleteWithConversation,
        t0(),
    )
    .await;
    let kept = put(&store, &png(90), "gone", RetentionPolicy::Retain, t0()).await;
    let report = store
        .retain_conversations(["live".to_string()].into_iter().collect())
        .await
        .unwrap();
    assert_eq!(report.expired_references, vec![gone]);
    assert_eq!(
        report.removed_objects, 0,
        "the bytes are shared with `live`"
    );
    assert!(store.retrieve(&live).await.is_ok());
    assert!(store.retrieve(&kept).await.is_ok());
    let report = store
        .retain_conversations(Default::default())
        .await
        .unwrap();
    assert_eq!(report.expired_references, vec![live]);
    assert_eq!((report.removed_objects, report.freed_bytes), (1, 800));
}

#[tokio::test]
async fn huge_retention_periods_never_expire_and_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let policy: RetentionPolicy = "retain-4294967295days".parse().unwrap();
    let r = put(&store, &png(10), "a", policy, t0()).await;
    let far = OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT);
    let report = store.enforce_retention(far).await.unwrap();
    assert!(report.expired_references.is_empty());
    assert!(store.retrieve(&r).await.is_ok());
}
