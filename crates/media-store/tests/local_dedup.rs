//! Deduplication, reference counts, restart persistence and concurrency of
//! the local store, checked on disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use promptkit_media_store::conformance::{self, random_bytes};
use promptkit_media_store::{Error, MediaMetadata, MediaStore, MediaStoreExt};

#[path = "support/files.rs"]
mod files;
#[path = "support/index.rs"]
mod index;
#[path = "support/store.rs"]
mod store;

use files::files_under;
use index::{live_refs, refs_to};
use store::open;

fn conv(session: &str, conversation: &str) -> MediaMetadata {
    MediaMetadata::new()
        .with_session(session)
        .with_conversation(conversation)
}

/// Files under `dir/media` other than sidecars (temp files included, so a
/// leftover one shows).
fn media_files(dir: &Path) -> Vec<PathBuf> {
    files_under(&dir.join("media"))
        .into_iter()
        .filter(|p| !p.to_string_lossy().ends_with(".meta"))
        .collect()
}

/// Live journal references to `media` (its sidecar, format 2, lists none).
fn ref_count(media: &Path) -> u64 {
    refs_to(media).len() as u64
}

#[tokio::test]
async fn identical_bytes_across_conversations_are_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let png = random_bytes(b"\x89PNG\r\n\x1a\n", 100_000);
    let r1 = store
        .store_bytes("image/png", png.clone(), &conv("s1", "c1"))
        .await
        .unwrap();
    let r2 = store
        .store_bytes("image/png", png.clone(), &conv("s2", "c2"))
        .await
        .unwrap();
    assert_ne!(r1, r2);
    let files = media_files(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    // The file stays where the first store put it; both references resolve to it.
    assert!(files[0].starts_with(dir.path().join("media/s1/c1")));
    assert_eq!(
        store.path_of(&r2).await.unwrap(),
        store.path_of(&r1).await.unwrap()
    );
    assert_eq!(ref_count(&files[0]), 2);
    let s = store.stats().await.unwrap();
    assert_eq!((s.objects, s.references), (1, 2));
    assert_eq!(s.dedup_savings(), 100_000);
    assert_eq!(s.by_session["s2"].references, 1);
}

#[tokio::test]
async fn delete_removes_the_file_only_with_the_last_reference() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let data = random_bytes(b"%PDF-1.4", 10_000);
    let refs = [
        store
            .store_bytes("application/pdf", data.clone(), &conv("s", "a"))
            .await
            .unwrap(),
        store
            .store_bytes("application/pdf", data.clone(), &conv("s", "b"))
            .await
            .unwrap(),
        store
            .store_bytes("application/pdf", data.clone(), &conv("s", "c"))
            .await
            .unwrap(),
    ];
    let file = media_files(dir.path()).pop().unwrap();
    store.delete(&refs[0]).await.unwrap();
    assert_eq!(ref_count(&file), 2);
    store.delete(&refs[2]).await.unwrap();
    assert_eq!(ref_count(&file), 1);
    assert_eq!(store.retrieve_bytes(&refs[1]).await.unwrap(), data);
    store.delete(&refs[1]).await.unwrap();
    assert!(media_files(dir.path()).is_empty());
    assert!(!Path::new(&format!("{}.meta", file.display())).exists());
    assert!(
        live_refs(dir.path()).is_empty(),
        "no live journal record (so no dedup entry) is left"
    );
    // Storing the same bytes again after that starts a new file.
    let r = store
        .store_bytes("application/pdf", data.clone(), &conv("s", "d"))
        .await
        .unwrap();
    assert_eq!(store.retrieve_bytes(&r).await.unwrap(), data);
    assert_eq!(media_files(dir.path()).len(), 1);
}

#[tokio::test]
async fn references_and_counts_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = random_bytes(b"GIF89a", 20_000);
    let other = random_bytes(b"OggS", 5_000);
    let (r1, r2, r3) = {
        let store = open(dir.path());
        let r1 = store
            .store_bytes("image/gif", data.clone(), &conv("s", "a"))
            .await
            .unwrap();
        let r2 = store
            .store_bytes("image/gif", data.clone(), &conv("s", "b"))
            .await
            .unwrap();
        let r3 = store
            .store_bytes("audio/ogg", other.clone(), &conv("s", "b"))
            .await
            .unwrap();
        (r1.to_string(), r2.to_string(), r3.to_string())
    };
    // A new store on the same directory, with references parsed from strings.
    let store = open(dir.path());
    let (r1, r2, r3) = (
        r1.parse().unwrap(),
        r2.parse().unwrap(),
        r3.parse().unwrap(),
    );
    assert_eq!(store.retrieve_bytes(&r1).await.unwrap(), data);
    assert_eq!(store.retrieve_bytes(&r3).await.unwrap(), other);
    let s = store.stats().await.unwrap();
    assert_eq!((s.objects, s.references), (2, 3));
    assert_eq!(s.logical_bytes, 45_000);
    assert_eq!(s.physical_bytes, 25_000);
    store.delete(&r1).await.unwrap();
    assert_eq!(
        store.retrieve_bytes(&r2).await.unwrap(),
        data,
        "count survived"
    );
    store.delete(&r2).await.unwrap();
    assert!(matches!(
        store.retrieve(&r2).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(media_files(dir.path()).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_identical_stores_leave_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let data = random_bytes(b"\x89PNG\r\n\x1a\n", 256 * 1024);
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let (store, data) = (store.clone(), data.clone());
            tokio::spawn(async move {
                let m = conv("s", &format!("c{i}"));
                store.store_bytes("image/png", data, &m).await
            })
        })
        .collect();
    let mut refs = Vec::new();
    for t in tasks {
        refs.push(t.await.unwrap().unwrap());
    }
    let files = media_files(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(ref_count(&files[0]), 64);
    for r in &refs {
        assert_eq!(store.retrieve_bytes(r).await.unwrap(), data);
    }
    assert_eq!(live_refs(dir.path()).len(), 64);
    let s = store.stats().await.unwrap();
    assert_eq!(
        (s.objects, s.references, s.by_conversation.len()),
        (1, 64, 64)
    );
}

/// Two stores opened separately on one directory (each with its own lock
/// descriptor, as two processes would have) race on identical bytes and see
/// each other's writes in their statistics.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_store_instances_share_one_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (open(dir.path()), open(dir.path()));
    let data = random_bytes(b"\xFF\xD8\xFF\xE0", 64 * 1024);
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let data = data.clone();
            tokio::spawn(async move {
                store
                    .store_bytes("image/jpeg", data, &conv("s", &format!("c{i}")))
                    .await
            })
        })
        .collect();
    let mut refs = Vec::new();
    for t in tasks {
        refs.push(t.await.unwrap().unwrap());
    }
    assert_eq!(media_files(dir.path()).len(), 1);
    for store in [&a, &b] {
        let s = store.stats().await.unwrap();
        assert_eq!((s.objects, s.references), (1, 32));
    }
    for (i, r) in refs.iter().enumerate() {
        let store = if i % 3 == 0 { &a } else { &b };
        store.delete(r).await.unwrap();
    }
    assert!(media_files(dir.path()).is_empty());
    assert_eq!(a.stats().await.unwrap().references, 0);
    assert_eq!(b.stats().await.unwrap().objects, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_delete_race_on_one_directory() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn MediaStore> = Arc::new(open(dir.path()));
    conformance::store_delete_race(store, 8, 6).await;
    assert!(media_files(dir.path()).is_empty());
}
