//! Opening a [`FileStore`] replays its journal a chunk at a time: the heap
//! a replay needs on top of the state it builds must not grow with the
//! journal (a store with a million references has a journal of hundreds of
//! megabytes).
//!
//! This binary holds this one test and counts every allocation with its own
//! global allocator, so nothing else allocates while it measures.

use std::io::Write;

use bytes::Bytes;
use promptkit_media_store::{FileStore, MediaMetadata, MediaStoreExt, StorageReference};

#[global_allocator]
static ALLOC: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// References in the journal (about 400 bytes of journal each).
const N: usize = 20_000;
/// Heap a replay may use beyond the state it leaves (its read buffers:
/// two 1 MiB chunks, and the maps' growth).
const BOUND: usize = 3 << 20;

#[test]
fn replaying_a_long_journal_reads_it_a_chunk_at_a_time() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let meta = MediaMetadata::new()
        .with_session("session-0001")
        .with_conversation("conversation-0001");
    let data = Bytes::from_static(b"\x89PNG one image, many references");
    let first = rt.block_on(async {
        let store = FileStore::builder()
            .with_base_dir(dir.path())
            .build()
            .unwrap();
        store
            .store_bytes("image/png", data.clone(), &meta)
            .await
            .unwrap()
    });

    // N more references to the same content: the first record again under
    // other ids, appended to the journal without holding them in memory.
    let journal = dir.path().join(".promptkit/journal");
    let text = std::fs::read_to_string(&journal).unwrap();
    let line = text.lines().next().unwrap().to_owned();
    let id = first.as_str().strip_prefix("file:").unwrap();
    assert!(line.contains(id), "{line}");
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    let mut out = std::io::BufWriter::new(file);
    for i in 0..N {
        writeln!(out, "{}", line.replace(id, &format!("{i:032x}"))).unwrap();
    }
    out.into_inner().unwrap().sync_all().unwrap();
    let len = std::fs::metadata(&journal).unwrap().len() as usize;
    assert!(
        len > 2 * BOUND,
        "a journal of {len} bytes is too short to tell"
    );

    rt.block_on(async {
        let store = FileStore::builder()
            .with_base_dir(dir.path())
            .build()
            .unwrap();
        let last = StorageReference::new(format!("file:{:032x}", N - 1)).unwrap();
        // The first operation replays the whole journal.
        assert_eq!(store.retrieve_bytes(&last).await.unwrap(), data);
        let (after, peak) = (ALLOC.allocated(), ALLOC.max_allocated());
        let transient = peak.saturating_sub(after);
        println!("journal {len} bytes: replay peaked {transient} bytes above what it left");
        assert!(
            transient <= BOUND,
            "replaying a {len}-byte journal took {transient} bytes of heap beyond its state \
             (bound {BOUND})"
        );
        assert_eq!(store.retrieve_bytes(&first).await.unwrap(), data);
    });
}
