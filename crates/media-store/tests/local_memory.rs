//! Large media never held whole in memory by the local store's upkeep:
//! `verify` re-hashes a file in pieces. Its own test binary, because it caps
//! the process's heap (a global allocator).
#![cfg(feature = "local")]

use promptkit_media_store::conformance::random_bytes;
use promptkit_media_store::{FileStore, MediaLifecycleExt, MediaMetadata, MediaStoreExt};

#[global_allocator]
static ALLOC: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn verify_hashes_a_large_file_in_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::builder()
        .with_base_dir(dir.path())
        .with_fsync(false)
        .build()
        .unwrap();
    let meta = MediaMetadata::new()
        .with_session("s")
        .with_conversation("c");
    let video = random_bytes(b"\x1aE\xdf\xa3", 48 * MIB);
    store.store_bytes("video/webm", video, &meta).await.unwrap();
    assert!(store.verify().await.unwrap().is_ok(), "warm-up");

    // Far less than the file: reading it whole would fail to allocate (and
    // abort this test binary).
    ALLOC.set_limit(ALLOC.allocated() + 8 * MIB).unwrap();
    let report = store.verify().await;
    ALLOC.set_limit(usize::MAX).unwrap();
    let report = report.unwrap();
    assert_eq!(report.checked, 1);
    assert!(report.is_ok(), "{report:?}");
}
