//! Statistics of the local store come from its index: correct totals and
//! breakdowns, kept up to date incrementally, rebuilt when another store
//! changed the directory.

use std::collections::BTreeMap;

use promptkit_media_store::conformance::random_bytes;
use promptkit_media_store::{MediaMetadata, MediaStore, MediaStoreExt, TypeStats};

#[path = "support/store.rs"]
mod store;

use store::open;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_and_breakdowns_match_what_was_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let kinds: [(&str, &[u8]); 3] = [
        ("image/png", b"\x89PNG\r\n\x1a\n"),
        ("audio/wav", b"RIFF\0\0\0\0WAVE"),
        ("application/pdf", b"%PDF-"),
    ];
    let mut by_mime: BTreeMap<String, TypeStats> = BTreeMap::new();
    let mut by_conv: BTreeMap<String, TypeStats> = BTreeMap::new();
    let mut by_session: BTreeMap<String, TypeStats> = BTreeMap::new();
    let (mut logical, mut physical, mut refs) = (0u64, 0u64, Vec::new());
    let mut shared: Vec<bytes::Bytes> = Vec::new();
    for i in 0..120usize {
        let (mime, magic) = kinds[i % 3];
        let (session, conv) = (format!("s{}", i % 4), format!("c{}", i % 7));
        // Every fifth item repeats the bytes of an earlier one (dedup).
        let data = if i % 5 == 4 {
            shared[(i / 5) % shared.len()].clone()
        } else {
            let d = random_bytes(magic, 100 + i);
            shared.push(d.clone());
            physical += d.len() as u64;
            d
        };
        let meta = MediaMetadata::new()
            .with_session(&session)
            .with_conversation(&conv);
        // Stored under the MIME of its bytes.
        let mime = promptkit_core::sniff_mime(&data).unwrap_or(mime);
        refs.push(store.store_bytes(mime, data.clone(), &meta).await.unwrap());
        let n = data.len() as u64;
        logical += n;
        for (map, key) in [
            (&mut by_mime, mime.to_string()),
            (&mut by_conv, conv),
            (&mut by_session, session),
        ] {
            let e = map.entry(key).or_default();
            e.references += 1;
            e.logical_bytes += n;
        }
    }
    let s = store.stats().await.unwrap();
    assert_eq!(s.objects, shared.len() as u64);
    assert_eq!(s.references, 120);
    assert_eq!((s.logical_bytes, s.physical_bytes), (logical, physical));
    assert_eq!(s.dedup_savings(), logical - physical);
    assert_eq!(s.by_mime, by_mime);
    assert_eq!(s.by_conversation, by_conv);
    assert_eq!(s.by_session, by_session);
    // A fresh store rebuilds the same statistics from the sidecars.
    assert_eq!(open(dir.path()).stats().await.unwrap(), s);
    for r in &refs {
        store.delete(r).await.unwrap();
    }
    let s = store.stats().await.unwrap();
    assert_eq!((s.objects, s.references, s.physical_bytes), (0, 0, 0));
    assert!(s.by_mime.is_empty() && s.by_conversation.is_empty());
}

#[tokio::test]
async fn stats_come_from_the_index_shared_by_every_handle() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let meta = MediaMetadata::new()
        .with_session("s")
        .with_conversation("c");
    let r = store
        .store_bytes("image/gif", random_bytes(b"GIF89a", 500), &meta)
        .await
        .unwrap();
    assert_eq!(store.stats().await.unwrap().objects, 1);
    // A lost sidecar hides nothing: the index is the source of truth.
    let media = store.path_of(&r).await.unwrap();
    std::fs::remove_file(format!("{}.meta", media.display())).unwrap();
    assert_eq!(store.stats().await.unwrap().objects, 1);
    // Another handle (another process, say) sees the same index, and its
    // changes are seen at once.
    let other = open(dir.path());
    assert_eq!(other.stats().await.unwrap().objects, 1);
    other
        .store_bytes("image/gif", random_bytes(b"GIF89a", 300), &meta)
        .await
        .unwrap();
    let s = store.stats().await.unwrap();
    assert_eq!((s.objects, s.physical_bytes), (2, 800));
}

/// The totals the index keeps up to date agree with a count of what `list`
/// shows, after stores, dedup hits, deletes and retention.
#[tokio::test]
async fn kept_totals_agree_with_a_recount() {
    use promptkit_media_store::{MediaLifecycle, RetentionPolicy, StorageStats};
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut refs = Vec::new();
    for i in 0..60u64 {
        let meta = MediaMetadata::new()
            .with_session(format!("s{}", i % 3))
            .with_conversation(format!("c{}", i % 7))
            .with_policy(if i % 5 == 0 {
                RetentionPolicy::DeleteWithConversation
            } else {
                RetentionPolicy::Retain
            });
        let (mime, data) = if i % 4 == 0 {
            ("image/gif", random_bytes(b"GIF89a", 100 + (i % 3) as usize))
        } else {
            (
                "text/plain",
                bytes::Bytes::from(format!("same text {}", i % 2)),
            )
        };
        refs.push(store.store_bytes(mime, data, &meta).await.unwrap());
    }
    for r in refs.iter().step_by(4) {
        store.delete(r).await.unwrap();
    }
    store.conversation_deleted("c0").await.unwrap();
    let listed = store.list().await.unwrap();
    let mut want = StorageStats::default();
    let mut locations = BTreeMap::new();
    for s in &listed {
        locations.insert(s.location.clone(), s.size_bytes);
        let add = |m: &mut BTreeMap<String, TypeStats>, k: &str| {
            let t = m.entry(k.to_owned()).or_default();
            t.references += 1;
            t.logical_bytes += s.size_bytes;
        };
        add(&mut want.by_mime, &s.mime_type);
        add(
            &mut want.by_conversation,
            s.metadata.conversation_id.as_deref().unwrap_or("-"),
        );
        add(
            &mut want.by_session,
            s.metadata.session_id.as_deref().unwrap_or("-"),
        );
        want.references += 1;
        want.logical_bytes += s.size_bytes;
    }
    want.objects = locations.len() as u64;
    want.physical_bytes = locations.values().sum();
    assert_eq!(store.stats().await.unwrap(), want);
}
