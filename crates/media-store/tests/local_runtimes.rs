//! `FileStore` from every kind of tokio context: a multi-thread runtime (where
//! its blocking work runs in place), a current-thread runtime, a `LocalSet`
//! on either, and a blocking thread that enters the runtime with
//! `Handle::block_on`. None of them may panic.
#![cfg(feature = "local")]

use bytes::Bytes;
use promptkit_media_store::{FileStore, MediaMetadata, MediaStoreExt};

fn store() -> (tempfile::TempDir, FileStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::builder()
        .with_base_dir(dir.path())
        .build()
        .unwrap();
    (dir, store)
}

async fn round_trip(store: &FileStore, n: u8) {
    let data = Bytes::from(vec![
        0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n', n, n,
    ]);
    let r = store
        .store_bytes(
            "image/png",
            data.clone(),
            &MediaMetadata::new()
                .with_session("s")
                .with_conversation("c"),
        )
        .await
        .unwrap();
    assert_eq!(store.retrieve_bytes(&r).await.unwrap(), data);
}

#[test]
fn every_runtime_context_works() {
    let (_dir, store) = store();
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    multi.block_on(round_trip(&store, 1));
    current.block_on(round_trip(&store, 2));
    // A spawned task on a worker thread.
    let s = store.clone();
    multi
        .block_on(multi.spawn(async move { round_trip(&s, 3).await }))
        .unwrap();
    // LocalSets, run from block_on and with spawn_local.
    for (i, rt) in [&multi, &current].into_iter().enumerate() {
        let local = tokio::task::LocalSet::new();
        let s = store.clone();
        local.block_on(rt, async move {
            round_trip(&s, 4 + i as u8).await;
            let s2 = s.clone();
            tokio::task::spawn_local(async move { round_trip(&s2, 10 + i as u8).await })
                .await
                .unwrap();
        });
    }
    // A blocking-pool thread entering the runtime again.
    let s = store.clone();
    let handle = multi.handle().clone();
    multi
        .block_on(multi.spawn_blocking(move || handle.block_on(round_trip(&s, 20))))
        .unwrap();
}
