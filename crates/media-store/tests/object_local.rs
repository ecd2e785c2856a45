//! object_store's `LocalFileSystem` under the media store: the files on disk,
//! reopening, and two store instances (as two processes would) sharing a directory.
#![cfg(feature = "object-store")]

use std::collections::HashSet;
use std::sync::Arc;

use promptkit_media_store::conformance::{fresh_metadata, random_bytes};
use promptkit_media_store::{
    MediaStore, MediaStoreExt, ObjectStoreConfig, ObjectStoreMediaStore, Organization,
};

fn open(dir: &std::path::Path, org: Organization) -> ObjectStoreMediaStore {
    ObjectStoreMediaStore::local_filesystem(
        dir,
        ObjectStoreConfig::default().with_organization(org),
    )
    .unwrap()
}

#[tokio::test]
async fn files_on_disk_follow_the_organization_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let meta = fresh_metadata("disk");
    let data = random_bytes(b"\x89PNG\r\n\x1a\n", 3000);
    let hash = blake3::hash(&data).to_hex().to_string();
    let r = {
        let store = open(dir.path(), Organization::BySession);
        store
            .store_bytes("image/png", data.clone(), &meta)
            .await
            .unwrap()
    };
    let media_dir = dir
        .path()
        .join("media")
        .join(meta.session_id.as_deref().unwrap())
        .join(meta.conversation_id.as_deref().unwrap());
    let file = media_dir.join(format!("{hash}.png"));
    assert_eq!(std::fs::read(&file).unwrap(), data);
    let sidecar: serde_json::Value =
        serde_json::from_slice(&std::fs::read(media_dir.join(format!("{hash}.png.meta"))).unwrap())
            .unwrap();
    assert_eq!(sidecar["blake3"], hash.as_str());
    let refs = dir.path().join("index").join(&hash).join("refs");
    assert_eq!(std::fs::read_dir(&refs).unwrap().count(), 1);

    // A new instance (a restarted process) with another organization resolves
    // the old reference, and identical bytes stay where they first landed.
    let store = open(dir.path(), Organization::Flat);
    assert_eq!(store.retrieve_bytes(&r).await.unwrap(), data);
    let r2 = store
        .store_bytes("image/png", data.clone(), &fresh_metadata("disk2"))
        .await
        .unwrap();
    assert!(
        !dir.path()
            .join("media")
            .join(format!("{hash}.png"))
            .exists()
    );
    assert_eq!(std::fs::read_dir(&refs).unwrap().count(), 2);
    store.delete(&r).await.unwrap();
    store.delete(&r2).await.unwrap();
    assert!(!file.exists(), "the file goes with the last reference");
    let leftover: Vec<_> = walk(dir.path());
    assert!(
        leftover.iter().all(|p| p.ends_with("location")),
        "{leftover:?}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_directory_store_identical_bytes_once() {
    let dir = tempfile::tempdir().unwrap();
    let a: Arc<dyn MediaStore> = Arc::new(open(dir.path(), Organization::ByConversation));
    let b: Arc<dyn MediaStore> = Arc::new(open(dir.path(), Organization::ByConversation));
    let data = random_bytes(b"OggS", 32 * 1024);
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let data = data.clone();
            tokio::spawn(async move {
                store
                    .store_bytes("audio/ogg", data, &fresh_metadata("two"))
                    .await
            })
        })
        .collect();
    let mut refs = Vec::new();
    for t in tasks {
        refs.push(t.await.unwrap().unwrap());
    }
    assert_eq!(refs.iter().collect::<HashSet<_>>().len(), 32);
    for (i, r) in refs.iter().enumerate() {
        let other = if i % 2 == 0 { &b } else { &a };
        assert_eq!(other.retrieve_bytes(r).await.unwrap(), data);
    }
    let stats = a.stats().await.unwrap();
    assert_eq!((stats.objects, stats.references), (1, 32));
    assert_eq!(stats.physical_bytes, data.len() as u64);
    assert_eq!(stats.dedup_savings(), 31 * data.len() as u64);
    // Deletes from both instances.
    for (i, r) in refs.iter().enumerate() {
        let store = if i % 2 == 0 { &a } else { &b };
        store.delete(r).await.unwrap();
    }
    let stats = b.stats().await.unwrap();
    assert_eq!((stats.objects, stats.references), (0, 0));
}

/// A huge object planted where a store's bytes or a reference marker go is
/// never downloaded into memory (a sparse terabyte would abort the process):
/// `retrieve` says `Corrupt`, `verify` reports an unreadable marker, and
/// listings and statistics carry on.
#[tokio::test]
async fn a_huge_planted_object_is_never_read_whole() {
    use promptkit_media_store::{Error, MediaLifecycle, MediaLifecycleExt};
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), Organization::Flat);
    let data = random_bytes(b"\x89PNG\r\n\x1a\n", 3000);
    let r = store
        .store_bytes("image/png", data.clone(), &fresh_metadata("huge"))
        .await
        .unwrap();
    let other = store
        .store_bytes("image/png", data.clone(), &fresh_metadata("other"))
        .await
        .unwrap();
    let hash = blake3::hash(&data).to_hex().to_string();
    let grow = |path: std::path::PathBuf| {
        let file = std::fs::File::options().write(true).open(&path);
        file.and_then(|f| f.set_len(1 << 40)).unwrap();
    };

    grow(dir.path().join("media").join(format!("{hash}.png")));
    let got = store.retrieve(&r).await;
    assert!(
        matches!(&got, Err(Error::Corrupt { message, .. }) if message.contains("more than 3000")),
        "{got:?}"
    );
    std::fs::write(dir.path().join("media").join(format!("{hash}.png")), &data).unwrap();
    assert_eq!(store.retrieve_bytes(&r).await.unwrap(), data);

    // `obj:<hash>/<ref-id>` has its marker at `index/<hash>/refs/<ref-id>`.
    let ref_id = r.as_str().rsplit('/').next().unwrap();
    grow(
        dir.path()
            .join("index")
            .join(&hash)
            .join("refs")
            .join(ref_id),
    );
    let got = store.retrieve(&r).await;
    assert!(matches!(got, Err(Error::Corrupt { .. })), "{got:?}");
    assert_eq!(store.retrieve_bytes(&other).await.unwrap(), data);
    let report = store.verify().await.unwrap();
    assert_eq!(report.unreadable_sidecars.len(), 1, "{report:?}");
    assert_eq!(
        store.list().await.unwrap().len(),
        1,
        "the readable reference is listed"
    );
}
