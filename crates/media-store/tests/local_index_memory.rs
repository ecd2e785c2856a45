//! Heap held by a [`FileStore`]'s statistics index: `stats()` and the
//! retention operations build it from the sidecars and the journal (the
//! owners) and keep it, so it must stay small per file (it used to hold a
//! copy of every sidecar).
//!
//! This binary holds this one test and counts every allocation with its own
//! global allocator, so nothing else allocates while it measures.

use bytes::Bytes;
use promptkit_media_store::{FileStore, MediaMetadata, MediaStore, MediaStoreExt, Organization};

#[global_allocator]
static ALLOC: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// Bytes per indexed file (one reference each) allowed. Measured: 260 at
/// N = 2000 (the maps have just doubled; one entry per file, one per
/// reference); a copy of every sidecar, as the index kept before, took 1770.
const BOUND: usize = 300;
const N: usize = 2000;

#[test]
fn index_heap_per_file_is_small() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::builder()
        .with_base_dir(dir.path())
        .with_organization(Organization::BySession)
        .build()
        .unwrap();
    rt.block_on(async {
        let mut refs = Vec::with_capacity(N);
        for i in 0..N {
            let meta = MediaMetadata::new()
                .with_session(format!("session-{:04}", i % 50))
                .with_conversation(format!("conversation-{:05}", i % 400))
                .with_user("user-0001")
                .with_provider("openai");
            let data = Bytes::from(format!("\u{89}PNG-index-item-{i:08}").into_bytes());
            refs.push(store.store_bytes("image/png", data, &meta).await.unwrap());
        }
        drop(store);
        // The whole index, built from every sidecar and the journal by a store that never
        // built it (as after a restart, or after another process wrote).
        let fresh = FileStore::builder()
            .with_base_dir(dir.path())
            .with_organization(Organization::BySession)
            .build()
            .unwrap();
        // Replays the journal (the store's own state, measured elsewhere).
        assert_eq!(fresh.retrieve_bytes(&refs[0]).await.unwrap().len(), 25);
        let base = ALLOC.allocated();
        let stats = fresh.stats().await.unwrap();
        assert_eq!(stats.references, N as u64);
        assert_eq!(stats.by_conversation.len(), 400);
        assert_eq!(stats.by_session.len(), 50);
        drop(stats);
        let index = ALLOC.allocated().saturating_sub(base);
        let per_file = index / N;
        println!("index heap per file: {per_file} bytes ({index} for {N} files)");
        assert!(
            per_file <= BOUND,
            "{per_file} bytes of index heap per file (bound {BOUND})"
        );
        // Still right after the rebuild: retention reads the same index.
        let report = fresh
            .conversation_deleted("conversation-00007")
            .await
            .unwrap();
        assert!(report.expired_references.is_empty(), "policy is Retain");
        assert_eq!(fresh.retrieve_bytes(&refs[N / 2]).await.unwrap().len(), 25);
    });
}
