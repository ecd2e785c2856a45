//! `FileStore` from every kind of tokio context: a multi-thread runtime, a
//! current-thread runtime, a `LocalSet` on either, and a blocking thread
//! that enters the runtime with `Handle::block_on`; and from outside any
//! runtime. None of them may panic.
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

/// Polled by another executor, outside any Tokio runtime, a `FileStore` has
/// no blocking pool to go to: every operation is a configuration error that
/// says so, not a panic.
#[test]
fn outside_a_tokio_runtime_operations_fail_without_a_panic() {
    use promptkit_media_store::{Error, MediaStore, StorageReference};
    let (_dir, store) = store();
    let data = Bytes::from_static(b"\x89PNG\r\n\x1a\n outside");
    let meta = MediaMetadata::new()
        .with_session("s")
        .with_conversation("c");
    let stored = futures::executor::block_on(store.store_bytes("image/png", data, &meta));
    match stored {
        Err(Error::Config(message)) => assert!(message.contains("Tokio runtime"), "{message}"),
        other => panic!("expected a configuration error, got {other:?}"),
    }
    let reference = StorageReference::new("file:0123456789abcdef0123456789abcdef").unwrap();
    let read = futures::executor::block_on(store.retrieve(&reference));
    assert!(matches!(read, Err(Error::Config(_))), "{read:?}");
    let stats = futures::executor::block_on(store.stats());
    assert!(matches!(stats, Err(Error::Config(_))), "{stats:?}");
    // Nothing was left behind, and the store works inside a runtime.
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(round_trip(&store, 30));
}
