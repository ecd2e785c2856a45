//! A dedup hit and a reference delete cost the same however many references
//! the content already has, shown by what they write (nothing is timed):
//! each hit appends one journal line of the same length and leaves the
//! sidecar untouched (same inode, same bytes as after the first store); each
//! delete of a non-last reference appends one `remove` line and nothing else.

#![cfg(unix)]

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use promptkit_media_store::conformance::random_bytes;
use promptkit_media_store::{
    FileStore, MediaContent, MediaMetadata, MediaStore, Organization, StorageReference,
};
use time::OffsetDateTime;

#[path = "support/files.rs"]
mod files;
use files::files_under;

const HITS: usize = 2000;

fn meta(i: usize) -> MediaMetadata {
    // Same-length ids, so every record has the same length.
    MediaMetadata::new()
        .with_session("session-1")
        .with_conversation(format!("conversation-{i:05}"))
        .with_user(format!("user-{i:05}"))
        .with_position(7, 1)
        .with_provider("openai")
}

fn len(p: &Path) -> u64 {
    std::fs::metadata(p).unwrap().len()
}

/// (inode, modification time, bytes) of a file.
fn state(p: &Path) -> (u64, std::time::SystemTime, Vec<u8>) {
    let m = std::fs::metadata(p).unwrap();
    (m.ino(), m.modified().unwrap(), std::fs::read(p).unwrap())
}

#[tokio::test]
async fn dedup_hits_and_deletes_write_a_constant_amount() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::builder()
        .with_base_dir(dir.path())
        .with_organization(Organization::BySession)
        .with_fsync(false)
        .build()
        .unwrap();
    let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let logo: Bytes = random_bytes(b"\x89PNG\r\n\x1a\n", 20_000);
    let content = MediaContent::from_bytes("image/png", logo.clone());
    let first = store.store_at(&content, &meta(0), now).await.unwrap();
    let media = store.path_of(&first).await.unwrap();
    let sidecar = PathBuf::from(format!("{}.meta", media.display()));
    let journal = dir.path().join(".promptkit/journal");
    let after_first = state(&sidecar);
    let files = files_under(&dir.path().join("media"));
    assert_eq!(files, vec![media.clone(), sidecar.clone()]);
    // The statistics index is built now and then followed per reference.
    assert_eq!(store.stats().await.unwrap().references, 1);

    let mut refs: Vec<StorageReference> = vec![first];
    let mut line = None;
    for i in 1..=HITS {
        let before = len(&journal);
        let r = store.store_at(&content, &meta(i), now).await.unwrap();
        let grew = len(&journal) - before;
        // One line per hit, the same length whatever the count so far.
        assert_eq!(*line.get_or_insert(grew), grew, "hit {i}");
        refs.push(r);
    }
    let line = line.unwrap();
    assert!(line < 600, "a dedup hit appended {line} bytes");
    assert_eq!(
        state(&sidecar),
        after_first,
        "the sidecar was rewritten by a dedup hit"
    );
    assert_eq!(files_under(&dir.path().join("media")), files);
    let s = store.stats().await.unwrap();
    assert_eq!((s.objects, s.references), (1, HITS as u64 + 1));
    assert_eq!(s.by_conversation.len(), HITS + 1);

    // Deleting references but the last: one `remove` line each.
    let mut remove = None;
    for (i, r) in refs.drain(..HITS / 2).enumerate() {
        let before = len(&journal);
        store.delete(&r).await.unwrap();
        let grew = len(&journal) - before;
        assert_eq!(*remove.get_or_insert(grew), grew, "delete {i}");
    }
    assert!(remove.unwrap() < 100);
    assert_eq!(
        state(&sidecar),
        after_first,
        "the sidecar was rewritten by a delete"
    );
    let listed = store.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].ref_count(), refs.len() as u64);
    assert_eq!(
        listed[0].live_references[0].owner.provider_id.as_deref(),
        Some("openai")
    );
    let s = store.stats().await.unwrap();
    assert_eq!(s.references, refs.len() as u64);
    // And the last reference still takes the file with it.
    for r in refs {
        store.delete(&r).await.unwrap();
    }
    assert!(files_under(&dir.path().join("media")).is_empty());
}
