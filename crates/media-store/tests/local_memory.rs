//! Heap held by a [`FileStore`] per live reference: the replayed journal's
//! in-memory maps must stay small (a long-running server with a million
//! stored images must not hold a gigabyte of index).
//!
//! This binary holds this one test and counts every allocation with its own
//! global allocator, so nothing else allocates while it measures.

use bytes::Bytes;
use promptkit_media_store::{FileStore, MediaMetadata, MediaStore, MediaStoreExt, Organization};

#[global_allocator]
static ALLOC: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// Bytes per live reference allowed (measured: 256 at N = 2000, where the
/// hash maps have just doubled; 1052 before the journal state was packed).
const BOUND: usize = 220;
const N: usize = 2000;

fn item(i: usize) -> Bytes {
    Bytes::from(format!("\u{89}PNG-memory-item-{i:08}").into_bytes())
}

#[test]
fn heap_per_live_reference_is_small() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::builder()
        .with_base_dir(dir.path())
        .with_organization(Organization::BySession)
        .build()
        .unwrap();
    let meta = MediaMetadata::new()
        .with_session("session-0001")
        .with_conversation("conversation-0001");
    rt.block_on(async {
        // Warm up: lazily created state (directories, interned MIME type).
        let first = store
            .store_bytes("image/png", item(usize::MAX), &meta)
            .await
            .unwrap();
        let before = ALLOC.allocated();
        let mut refs = Vec::with_capacity(N);
        for i in 0..N {
            refs.push(
                store
                    .store_bytes("image/png", item(i), &meta)
                    .await
                    .unwrap(),
            );
        }
        let grown = ALLOC.allocated().saturating_sub(before);
        // The references themselves are the caller's, not the store's.
        let held_by_caller: usize = refs.iter().map(|r| r.as_str().len()).sum::<usize>()
            + refs.capacity() * std::mem::size_of_val(&first);
        let per_ref = grown.saturating_sub(held_by_caller) / N;
        println!("heap per live reference: {per_ref} bytes ({grown} grown over {N} stores)");
        assert!(
            per_ref <= BOUND,
            "{per_ref} bytes of heap per live reference (bound {BOUND})"
        );
        // Still a working store.
        assert_eq!(
            store.retrieve_bytes(&refs[N / 2]).await.unwrap(),
            item(N / 2)
        );
        store.delete(&first).await.unwrap();
    });
}
