//! Stores written before owners moved into the journal (version 1 sidecars
//! listing every reference, version 1 journal records without owners) open
//! and work: every reference keeps its owner and retention through list,
//! stats, retention, dedup hits and deletes, and `gc` moves the owners into
//! the journal and rewrites the sidecars as version 2.

#[path = "support/store.rs"]
mod store;
#[path = "support/v1.rs"]
mod v1;

use std::path::{Path, PathBuf};

use bytes::Bytes;
use promptkit_media_store::conformance::random_bytes;
use promptkit_media_store::local::GcOptions;
use promptkit_media_store::{
    FileStore, MediaContent, MediaMetadata, MediaStore, RetentionPolicy, StorageReference,
};
use store::open;
use time::{Duration, OffsetDateTime};

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()
}

fn meta(conv: &str, policy: RetentionPolicy) -> MediaMetadata {
    MediaMetadata::new()
        .with_session("s1")
        .with_conversation(conv)
        .with_user(format!("user-{conv}"))
        .with_policy(policy)
}

async fn put(
    store: &FileStore,
    data: &Bytes,
    conv: &str,
    policy: RetentionPolicy,
    at: OffsetDateTime,
) -> StorageReference {
    let content = MediaContent::from_bytes("image/png", data.clone());
    store
        .store_at(&content, &meta(conv, policy), at)
        .await
        .unwrap()
}

fn id(r: &StorageReference) -> String {
    r.as_str().strip_prefix("file:").unwrap().to_owned()
}

/// (id, conversation, policy, created) of each live reference to `path`.
async fn owners_of(
    store: &FileStore,
    path: &Path,
) -> Vec<(String, Option<String>, RetentionPolicy, OffsetDateTime)> {
    let listed = store.list().await.unwrap();
    let Some(o) = listed.iter().find(|o| o.path == path) else {
        return Vec::new();
    };
    assert_eq!(o.ref_count(), o.live_references.len() as u64);
    o.live_references
        .iter()
        .map(|r| {
            (
                r.id.clone(),
                r.owner.conversation_id.clone(),
                r.owner.retention_policy,
                r.owner.created_at,
            )
        })
        .collect()
}

fn sidecar(media: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(format!("{}.meta", media.display())).unwrap()).unwrap()
}

#[tokio::test]
async fn a_version_1_store_keeps_its_owners_and_retention() {
    let dir = tempfile::tempdir().unwrap();
    let shared = random_bytes(b"\x89PNG\r\n\x1a\n", 5000);
    let lone = random_bytes(b"\x89PNG\r\n\x1a\n", 700);
    let (a1, a2, a3, b1);
    let (shared_path, lone_path): (PathBuf, PathBuf);
    {
        // Written by this code, then turned into what version 1 wrote.
        let store = open(dir.path());
        a1 = put(&store, &shared, "c1", RetentionPolicy::RetainHours(1), t0()).await;
        a2 = put(
            &store,
            &shared,
            "c2",
            RetentionPolicy::DeleteWithConversation,
            t0(),
        )
        .await;
        let later = t0() + Duration::minutes(10);
        a3 = put(&store, &shared, "c3", RetentionPolicy::Retain, later).await;
        b1 = put(
            &store,
            &lone,
            "c2",
            RetentionPolicy::DeleteWithConversation,
            t0(),
        )
        .await;
        shared_path = store.path_of(&a1).await.unwrap();
        lone_path = store.path_of(&b1).await.unwrap();
        v1::downgrade_sidecars(&store.list().await.unwrap());
    }
    v1::downgrade_journal(dir.path());
    assert!(!v1::journal_has_owners(dir.path()));
    let listed = sidecar(&shared_path)["references"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(sidecar(&shared_path)["ref_count"], 3);
    assert!(listed.iter().any(|r| r["id"] == id(&a3).as_str()));

    let store = open(dir.path());
    // list: every reference with the owner its sidecar listed.
    let mut expected = vec![
        (
            id(&a1),
            Some("c1".to_owned()),
            RetentionPolicy::RetainHours(1),
            t0(),
        ),
        (
            id(&a2),
            Some("c2".to_owned()),
            RetentionPolicy::DeleteWithConversation,
            t0(),
        ),
        (
            id(&a3),
            Some("c3".to_owned()),
            RetentionPolicy::Retain,
            t0() + Duration::minutes(10),
        ),
    ];
    expected.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(owners_of(&store, &shared_path).await, expected);
    let s = store.stats().await.unwrap();
    assert_eq!((s.objects, s.references), (2, 4));
    assert_eq!(s.by_conversation["c2"].references, 2);
    assert_eq!(s.by_session["s1"].references, 4);

    // A dedup hit on a version 1 file leaves its sidecar untouched.
    let before = std::fs::read(format!("{}.meta", shared_path.display())).unwrap();
    let a4 = put(&store, &shared, "c4", RetentionPolicy::Retain, t0()).await;
    assert_eq!(store.path_of(&a4).await.unwrap(), shared_path);
    let after = std::fs::read(format!("{}.meta", shared_path.display())).unwrap();
    assert_eq!(before, after, "a dedup hit rewrote the sidecar");
    let owners = owners_of(&store, &shared_path).await;
    assert_eq!(owners.len(), 4);
    assert!(owners.contains(&(
        id(&a4),
        Some("c4".to_owned()),
        RetentionPolicy::Retain,
        t0()
    )));

    // Retention reads the old references' owners from the sidecar.
    let gone = store.conversation_deleted("c2").await.unwrap();
    let mut expired = gone.expired_references.clone();
    expired.sort_by(|x, y| x.as_str().cmp(y.as_str()));
    let mut want = vec![a2.clone(), b1.clone()];
    want.sort_by(|x, y| x.as_str().cmp(y.as_str()));
    assert_eq!(expired, want);
    assert_eq!((gone.removed_objects, gone.freed_bytes), (1, 700));
    assert!(!lone_path.exists() && shared_path.exists());
    // A delete leaves the (version 1) sidecar alone too.
    store.delete(&a3).await.unwrap();
    assert_eq!(
        std::fs::read(format!("{}.meta", shared_path.display())).unwrap(),
        before
    );
    let s = store.stats().await.unwrap();
    assert_eq!((s.objects, s.references), (1, 2));

    // Reopened (the index rebuilt from sidecars and journal): the same.
    drop(store);
    let store = open(dir.path());
    let mut left = vec![
        (
            id(&a1),
            Some("c1".to_owned()),
            RetentionPolicy::RetainHours(1),
            t0(),
        ),
        (
            id(&a4),
            Some("c4".to_owned()),
            RetentionPolicy::Retain,
            t0(),
        ),
    ];
    left.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(owners_of(&store, &shared_path).await, left);
    assert_eq!(store.stats().await.unwrap().references, 2);

    // gc moves the owners into the journal and upgrades the sidecar; the
    // entries of deleted references are pruned with the list.
    let dry = store.gc(GcOptions::new(true)).await.unwrap();
    let mut pruned = vec![id(&a2), id(&a3)];
    pruned.sort();
    assert_eq!(dry.pruned_references, pruned, "{dry:?}");
    assert!(dry.repaired_references.is_empty(), "{dry:?}");
    assert_eq!(sidecar(&shared_path)["version"], 1, "dry run");
    let wet = store.gc(GcOptions::new(false)).await.unwrap();
    assert_eq!(wet.pruned_references, pruned);
    assert!(wet.orphan_media.is_empty() && wet.dangling_references.is_empty());
    assert!(v1::journal_has_owners(dir.path()));
    let j = sidecar(&shared_path);
    assert_eq!(j["version"], 2);
    assert!(j.get("references").is_none() && j.get("ref_count").is_none());
    assert_eq!(
        j["conversation_id"], "c1",
        "the creating call's owner stays"
    );
    assert!(store.gc(GcOptions::new(true)).await.unwrap().is_clean());
    assert_eq!(owners_of(&store, &shared_path).await, left);
    drop(store);
    let store = open(dir.path());
    assert_eq!(owners_of(&store, &shared_path).await, left);

    // Time-based retention on an owner that came from the old sidecar.
    let late = store
        .enforce_retention(t0() + Duration::hours(2))
        .await
        .unwrap();
    assert_eq!(late.expired_references, vec![a1.clone()]);
    assert!(shared_path.exists());
    store.delete(&a4).await.unwrap();
    assert!(!shared_path.exists());
    assert!(
        !Path::new(&format!("{}.meta", shared_path.display())).exists(),
        "the sidecar goes with the last reference"
    );
    let s = store.stats().await.unwrap();
    assert_eq!((s.objects, s.references), (0, 0));
    assert!(store.verify().await.unwrap().is_ok());
}

/// A reference whose version 1 record its sidecar did not list (a store
/// interrupted between its journal line and its sidecar update, which the
/// old `gc` re-added with the sidecar's owner) gets the sidecar's owner.
#[tokio::test]
async fn an_unlisted_version_1_reference_gets_the_sidecar_owner() {
    let dir = tempfile::tempdir().unwrap();
    let data = random_bytes(b"\x89PNG\r\n\x1a\n", 900);
    let (first, second, path);
    {
        let store = open(dir.path());
        first = put(&store, &data, "c1", RetentionPolicy::RetainDays(3), t0()).await;
        let listed = store.list().await.unwrap();
        v1::downgrade_sidecars(&listed);
        second = put(&store, &data, "c2", RetentionPolicy::Retain, t0()).await;
        path = store.path_of(&first).await.unwrap();
    }
    v1::downgrade_journal(dir.path());
    let store = open(dir.path());
    let owners = owners_of(&store, &path).await;
    let conv_of = |r: &StorageReference| {
        owners
            .iter()
            .find(|o| o.0 == id(r))
            .map(|o| (o.1.clone(), o.2))
    };
    assert_eq!(
        conv_of(&first),
        Some((Some("c1".to_owned()), RetentionPolicy::RetainDays(3)))
    );
    assert_eq!(
        conv_of(&second),
        Some((Some("c1".to_owned()), RetentionPolicy::RetainDays(3)))
    );
    let report = store.gc(GcOptions::new(false)).await.unwrap();
    assert_eq!(report.repaired_references, vec![id(&second)]);
    assert!(v1::journal_has_owners(dir.path()));
    assert_eq!(owners_of(&store, &path).await.len(), 2);
}
