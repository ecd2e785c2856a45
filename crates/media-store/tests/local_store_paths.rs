//! The ways a `FileStore` store can go: large new bytes (hashed by the
//! caller while its blocking thread writes them, the sidecar written before
//! the lock), races of identical bytes, a stale sidecar left at the final
//! name, a blocking pool of one thread, a caller that stops polling, and a
//! caller that goes away mid-store.
#![cfg(feature = "local")]

use std::path::{Path, PathBuf};
use std::time::Duration;

use promptkit_media_store::conformance::random_bytes;
use promptkit_media_store::{MediaMetadata, MediaStore, MediaStoreExt, Organization};

#[path = "support/files.rs"]
mod files;
#[path = "support/index.rs"]
mod index;
#[path = "support/store.rs"]
mod store;

use files::files_under;
use index::{live_refs, refs_to};
use store::open_organized as open;

/// Large enough to take the parallel path.
const LARGE: usize = 1024 * 1024;

fn meta(conversation: &str) -> MediaMetadata {
    MediaMetadata::new()
        .with_session("s")
        .with_conversation(conversation)
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

fn temp_files(dir: &Path) -> Vec<PathBuf> {
    files_under(&dir.join("media"))
        .into_iter()
        .filter(|p| name(p).starts_with(".pk-tmp-"))
        .collect()
}

fn media_files(dir: &Path) -> Vec<PathBuf> {
    files_under(&dir.join("media"))
        .into_iter()
        .filter(|p| !name(p).starts_with(".pk-tmp-") && !name(p).ends_with(".meta"))
        .collect()
}

fn sidecar(media: &Path) -> serde_json::Value {
    let text = std::fs::read(format!("{}.meta", media.display())).unwrap();
    serde_json::from_slice(&text).unwrap()
}

fn id_of(r: &promptkit_media_store::StorageReference) -> String {
    r.as_str().strip_prefix("file:").unwrap().to_owned()
}

/// Live references in `.promptkit/journal` (a replay).
fn journal_ids(dir: &Path) -> std::collections::BTreeSet<String> {
    live_refs(dir).into_keys().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_new_bytes_get_their_prepared_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), Organization::Flat);
    let data = random_bytes(b"\x89PNG\r\n\x1a\n", LARGE);
    let r = store
        .store_bytes("image/png", data.clone(), &meta("c"))
        .await
        .unwrap();
    let media = media_files(dir.path());
    assert_eq!(media.len(), 1, "{media:?}");
    let hash = blake3::hash(&data).to_hex().to_string();
    assert_eq!(name(&media[0]), format!("{}.png", &hash[..32]));
    let j = sidecar(&media[0]);
    assert_eq!(j["blake3"].as_str().unwrap(), hash);
    assert_eq!(j["size_bytes"].as_u64().unwrap(), LARGE as u64);
    assert_eq!(j["conversation_id"].as_str().unwrap(), "c");
    assert_eq!(refs_to(&media[0]), vec![id_of(&r)]);
    assert!(temp_files(dir.path()).is_empty());
    assert_eq!(store.retrieve_bytes(&r).await.unwrap(), data);
    // A second store of the bytes is a dedup hit on the same file.
    let r2 = store
        .store_bytes("image/png", data.clone(), &meta("d"))
        .await
        .unwrap();
    assert_eq!(media_files(dir.path()), media);
    let mut both = vec![id_of(&r), id_of(&r2)];
    both.sort();
    assert_eq!(refs_to(&media[0]), both);
    assert!(temp_files(dir.path()).is_empty());
}

/// Identical large bytes stored at once, into one directory and into
/// several: every store prepared new content (and its sidecar), all but the
/// first commit find the bytes stored and attach to them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_identical_large_stores_share_one_file() {
    for organization in [Organization::Flat, Organization::BySession] {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), organization);
        let data = random_bytes(b"\x89PNG\r\n\x1a\n", LARGE);
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let (store, data) = (store.clone(), data.clone());
                tokio::spawn(async move {
                    store
                        .store_bytes("image/png", data, &meta(&format!("c{i}")))
                        .await
                })
            })
            .collect();
        let mut ids = Vec::new();
        for t in tasks {
            ids.push(id_of(&t.await.unwrap().unwrap()));
        }
        let media = media_files(dir.path());
        assert_eq!(media.len(), 1, "{organization:?}: {media:?}");
        let mut listed = refs_to(&media[0]);
        listed.sort();
        ids.sort();
        assert_eq!(listed, ids, "{organization:?}");
        assert_eq!(journal_ids(dir.path()), ids.iter().cloned().collect());
        assert!(temp_files(dir.path()).is_empty(), "{organization:?}");
        let s = store.stats().await.unwrap();
        assert_eq!((s.objects, s.references), (1, 16), "{organization:?}");
    }
}

/// A sidecar at the final name that the journal knows nothing about (left by
/// an interrupted store) is replaced, for small and large bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_sidecar_at_the_final_name_is_replaced() {
    for len in [4096, LARGE] {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), Organization::Flat);
        let data = random_bytes(b"\x89PNG\r\n\x1a\n", len);
        let hash = blake3::hash(&data).to_hex().to_string();
        let media = dir.path().join(format!("media/{}.png", &hash[..32]));
        let stale = serde_json::json!({
            "version": 1, "file": name(&media), "mime_type": "image/png",
            "size_bytes": len, "blake3": hash, "deduplicated": true,
            "conversation_id": "ghost", "session_id": null, "run_id": null,
            "message_index": null, "part_index": null, "provider_id": null,
            "retention_policy": "retain", "created_at": "2020-01-01T00:00:00Z",
            "ref_count": 1,
            "references": [{"id": "0".repeat(32), "mime_type": "image/png",
                "conversation_id": "ghost", "session_id": null, "run_id": null,
                "message_index": null, "part_index": null, "provider_id": null,
                "retention_policy": "retain", "created_at": "2020-01-01T00:00:00Z"}]
        });
        std::fs::write(
            format!("{}.meta", media.display()),
            serde_json::to_vec(&stale).unwrap(),
        )
        .unwrap();
        let r = store
            .store_bytes("image/png", data.clone(), &meta("c"))
            .await
            .unwrap();
        assert_eq!(media_files(dir.path()), vec![media.clone()], "{len}");
        assert_eq!(refs_to(&media), vec![id_of(&r)], "{len}");
        assert_eq!(sidecar(&media)["conversation_id"].as_str(), Some("c"));
        assert!(temp_files(dir.path()).is_empty());
        assert_eq!(store.retrieve_bytes(&r).await.unwrap(), data);
    }
}

/// With one blocking thread, concurrent stores of large bytes all finish
/// (each needs that thread only, never a second one).
#[test]
fn a_one_thread_blocking_pool_still_stores_large_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), Organization::Flat);
    for rt in [
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(1)
            .enable_all()
            .build()
            .unwrap(),
        tokio::runtime::Builder::new_current_thread()
            .max_blocking_threads(1)
            .enable_all()
            .build()
            .unwrap(),
    ] {
        let store = store.clone();
        rt.block_on(async move {
            let tasks: Vec<_> = (0..6)
                .map(|i| {
                    let store = store.clone();
                    tokio::spawn(async move {
                        let data = random_bytes(b"\x89PNG\r\n\x1a\n", LARGE);
                        let r = store
                            .store_bytes("image/png", data.clone(), &meta(&format!("c{i}")))
                            .await
                            .unwrap();
                        assert_eq!(store.retrieve_bytes(&r).await.unwrap(), data);
                    })
                })
                .collect();
            let all = futures::future::join_all(tasks);
            tokio::time::timeout(Duration::from_secs(60), all)
                .await
                .expect("stores finish")
                .into_iter()
                .for_each(|t| t.unwrap());
        });
    }
    assert_eq!(media_files(dir.path()).len(), 12);
    assert!(temp_files(dir.path()).is_empty());
}

/// The blocking thread never waits for the hash its caller computes: a
/// store whose future is polled once and then left alone still commits (its
/// blocking thread hashes the bytes itself), even with a blocking pool of
/// one thread that another store needs meanwhile; the caller gets the
/// reference when it polls again.
#[test]
fn a_store_left_unpolled_does_not_hold_up_the_blocking_pool() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), Organization::Flat);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // Several hashing chunks: the first poll hashes one and yields.
        let big = random_bytes(b"\x89PNG\r\n\x1a\n", 4 * LARGE);
        let meta_a = meta("a");
        let mut first = std::pin::pin!(store.store_bytes("image/png", big.clone(), &meta_a));
        assert!(futures::poll!(first.as_mut()).is_pending());
        // The only blocking thread is (or was) the first store's; this
        // store needs it too.
        let small = random_bytes(b"\x89PNG\r\n\x1a\n", 4096);
        let second = tokio::time::timeout(
            Duration::from_secs(60),
            store.store_bytes("image/png", small.clone(), &meta("b")),
        )
        .await
        .expect("the first store's blocking thread did not wait for its caller")
        .unwrap();
        // Both are committed before the first caller comes back.
        assert_eq!(journal_ids(dir.path()).len(), 2);
        let first = first.await.unwrap();
        assert_eq!(
            journal_ids(dir.path()),
            [id_of(&first), id_of(&second)].into_iter().collect()
        );
        assert_eq!(store.retrieve_bytes(&first).await.unwrap(), big);
        assert_eq!(store.retrieve_bytes(&second).await.unwrap(), small);
    });
    assert!(temp_files(dir.path()).is_empty());
}

/// The references of the media files (the journal's, each file with a
/// readable sidecar); `None` while a file changes under the scan, or when
/// some media file has no reference.
fn listed_ids(dir: &Path) -> Option<std::collections::BTreeSet<String>> {
    let mut listed = std::collections::BTreeSet::new();
    for m in media_files(dir) {
        let text = std::fs::read(format!("{}.meta", m.display())).ok()?;
        let _: serde_json::Value = serde_json::from_slice(&text).ok()?;
        let refs = refs_to(&m);
        if refs.is_empty() {
            return None;
        }
        listed.extend(refs);
    }
    Some(listed)
}

/// Waits (up to 20 s) until `done` holds.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A store dropped while it waits for the lock (held here, as another
/// process would) ends without a reference, media or temp file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_dropped_before_its_commit_leaves_nothing() {
    for len in [4096, LARGE] {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), Organization::Flat);
        let kept = store
            .store_bytes("image/png", random_bytes(b"\x89PNG", 100), &meta("c"))
            .await
            .unwrap();
        // Another process's write transaction holds the index's write lock.
        let lock = rusqlite::Connection::open(dir.path().join(".promptkit/index.sqlite3")).unwrap();
        lock.execute_batch("BEGIN IMMEDIATE").unwrap();
        let task = {
            let store = store.clone();
            tokio::spawn(async move {
                let data = random_bytes(b"\x89PNG\r\n\x1a\n", len);
                store.store_bytes("image/png", data, &meta("c")).await
            })
        };
        // Prepared (its temp files are there), now waiting for the lock.
        eventually("the store's temp files", || {
            !temp_files(dir.path()).is_empty()
        })
        .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        lock.execute_batch("COMMIT").unwrap();
        eventually("the temp files to go", || temp_files(dir.path()).is_empty()).await;
        assert_eq!(media_files(dir.path()).len(), 1, "{len}");
        assert_eq!(
            journal_ids(dir.path()),
            [id_of(&kept)].into_iter().collect(),
            "{len}"
        );
        assert_eq!(store.stats().await.unwrap().references, 1, "{len}");
    }
}

/// Stores dropped at every moment (queued, preparing, waiting for the lock,
/// committing, delivering): the store ends holding exactly the references
/// some caller received.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_dropped_at_any_moment_leave_no_orphan() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), Organization::Flat);
    let shared = random_bytes(b"\x89PNG\r\n\x1a\n", 64 * 1024);
    let mut received = Vec::new();
    for i in 0..60u32 {
        let data = match i % 3 {
            0 => shared.clone(),
            1 => random_bytes(b"\x89PNG\r\n\x1a\n", 8 * 1024),
            _ => random_bytes(b"\x89PNG\r\n\x1a\n", LARGE),
        };
        let tasks: Vec<_> = (0..3)
            .map(|j| {
                let (store, data) = (store.clone(), data.clone());
                tokio::spawn(async move {
                    store
                        .store_bytes("image/png", data, &meta(&format!("c{j}")))
                        .await
                        .unwrap()
                })
            })
            .collect();
        // Let them get somewhere (a different place each round), then drop
        // two of the three.
        for _ in 0..(i % 7) {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_micros(u64::from(i % 5) * 300)).await;
        for t in &tasks[1..] {
            t.abort();
        }
        for t in tasks {
            if let Ok(r) = t.await {
                received.push(r);
            }
        }
    }
    let expected: std::collections::BTreeSet<String> = received.iter().map(id_of).collect();
    // Every media file is referenced, and the journal holds exactly the
    // received references. (Undoing an abandoned store is a delete: its
    // journal line comes before the removal of the file, so wait for both.)
    eventually(
        "only received references in the journal and sidecars",
        || {
            journal_ids(dir.path()) == expected
                && temp_files(dir.path()).is_empty()
                && listed_ids(dir.path()).as_ref() == Some(&expected)
        },
    )
    .await;
    assert_eq!(
        store.stats().await.unwrap().references,
        expected.len() as u64
    );
    for r in &received {
        store.retrieve_bytes(r).await.unwrap();
    }
}

/// A runtime shut down while stores are in flight: each store either
/// reached its caller or left nothing, even when it committed on a
/// blocking thread after the runtime had dropped its caller (the removal
/// can then no longer be handed to the blocking pool).
#[test]
fn a_runtime_shut_down_mid_store_leaves_no_orphan() {
    let dir = tempfile::tempdir().unwrap();
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    for round in 0..20u64 {
        let store = open(dir.path(), Organization::BySession);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        for i in 0..24u64 {
            let (store, received) = (store.clone(), std::sync::Arc::clone(&received));
            rt.spawn(async move {
                let bytes =
                    random_bytes(b"\x89PNG\r\n\x1a\n", 64 * 1024 + (round * 24 + i) as usize);
                // A store whose blocking task the shutdown cancelled fails
                // (a transient error): it must have stored nothing.
                if let Ok(r) = store.store_bytes("image/png", bytes, &meta("c")).await {
                    received.lock().unwrap().push(id_of(&r));
                }
            });
        }
        // Let some stores start, then shut down with others in flight.
        std::thread::sleep(Duration::from_micros(300 * (round % 7)));
        drop(rt);
        drop(store);
    }
    let got: std::collections::BTreeSet<String> =
        received.lock().unwrap().iter().cloned().collect();
    // Stores that committed after their caller was dropped are undone on a
    // thread of their own: wait for those to finish.
    for _ in 0..1000 {
        if journal_ids(dir.path()) == got {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(journal_ids(dir.path()), got);
}
