//! The memory target of the benchmarks, kept as a regression test: with
//! externalization (a `FileStore`, the SDK's defaults), an image turn (user
//! message, tool call, tool result with a stored image, answer) grows the
//! process's live heap by less than 1 KiB, the store's in-memory state
//! included. Heap is counted in bytes by a counting allocator, so the check
//! does not depend on timing; `cargo xtask bench --only memory` reports the
//! same measurement for 10, 100 and 1000 images of 1 MiB.

use promptkit_bench::fixtures::{IMAGE_TOOL, ImageChat, image_pack, pool_image_tool};
use promptkit_bench::images::ImagePool;
use promptkit_bench::mem::settled_heap;
use promptkit_media_store::FileStore;
use promptkit_sdk::{ConversationConfig, ConversationManager};

#[global_allocator]
static ALLOC: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// Image turns measured.
const IMAGES: usize = 200;
/// Above the default externalization threshold (100 KiB).
const IMAGE_SIZE: usize = 160 * 1024;
/// Bytes of heap per image turn.
const BOUND: f64 = 1024.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_externalized_image_turn_costs_under_1_kib_of_heap() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::builder()
        .with_base_dir(dir.path())
        .with_fsync(false)
        .build()
        .unwrap();
    let manager = ConversationManager::builder()
        .provider(ImageChat)
        .tool(IMAGE_TOOL, pool_image_tool(ImagePool::new(IMAGE_SIZE, 7)))
        .media_store(store)
        .build()
        .unwrap();
    let pack = manager.register_pack(image_pack());
    let mut conv = manager
        .new_conversation(&pack, ConversationConfig::new("heap", "per-image"))
        .unwrap();
    for i in 0..2 {
        conv.send(format!("draw warm-up picture {i}"))
            .await
            .unwrap();
    }
    let before = settled_heap(|| ALLOC.allocated()).await;
    let mut stored = 0;
    for i in 0..IMAGES {
        let r = conv.send(format!("draw picture {i}")).await.unwrap();
        stored += r.stored_media.len();
    }
    let after = settled_heap(|| ALLOC.allocated()).await;
    assert_eq!(stored, IMAGES, "every image is externalized");
    assert_eq!(conv.memory_stats().inline_media_bytes, 0);
    let per_image = (after as f64 - before as f64) / IMAGES as f64;
    println!("heap per image turn: {per_image:.0} B");
    assert!(
        per_image < BOUND,
        "{per_image:.0} B of heap per image turn (bound {BOUND} B)"
    );
}
