//! Helpers of the object-store lifecycle tests: stores on `InMemory` and
//! `LocalFileSystem`, raw access to the bucket behind the store's back, and
//! the planting of every kind of orphan gc must find.

use std::collections::BTreeSet;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use promptkit_media_store::conformance::{fresh_metadata, random_bytes};
use promptkit_media_store::{
    MediaStoreExt, ObjectStoreConfig, ObjectStoreMediaStore, RetentionPolicy, StorageReference,
};

pub(crate) const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The stores every scenario runs on (the temp dir lives as long as the store).
pub(crate) fn stores(
    config: ObjectStoreConfig,
) -> Vec<(ObjectStoreMediaStore, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let fs = ObjectStoreMediaStore::local_filesystem(dir.path(), config.clone()).unwrap();
    vec![
        (ObjectStoreMediaStore::in_memory(config).unwrap(), None),
        (fs, Some(dir)),
    ]
}

pub(crate) fn config() -> ObjectStoreConfig {
    ObjectStoreConfig::default().with_prefix("app")
}

pub(crate) fn hash(data: &[u8]) -> String {
    blake3::hash(data).to_hex().to_string()
}

/// Every key in the bucket.
pub(crate) async fn keys(store: &ObjectStoreMediaStore) -> BTreeSet<String> {
    store
        .object_store()
        .list(None)
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap()
}

/// The key of the bytes of `hash` (the one object under `media/` named after it).
pub(crate) async fn content_key(store: &ObjectStoreMediaStore, hash: &str) -> Path {
    let found: Vec<String> = keys(store)
        .await
        .into_iter()
        .filter(|k| k.contains("/media/") && k.contains(hash) && !k.ends_with(".meta"))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    Path::from(found[0].as_str())
}

pub(crate) async fn put(store: &ObjectStoreMediaStore, key: &str, data: Bytes) {
    store
        .object_store()
        .put(&Path::from(key), data.into())
        .await
        .unwrap();
}

pub(crate) async fn remove(store: &ObjectStoreMediaStore, key: &Path) {
    store.object_store().delete(key).await.unwrap();
}

/// The marker key of an `obj:<hash>/<id>` reference.
pub(crate) fn marker_key(reference: &StorageReference) -> Path {
    let (h, id) = reference
        .as_str()
        .strip_prefix("obj:")
        .and_then(|r| r.split_once('/'))
        .unwrap();
    Path::from(format!("app/index/{h}/refs/{id}"))
}

pub(crate) async fn store_png(
    store: &ObjectStoreMediaStore,
    data: &Bytes,
    policy: RetentionPolicy,
    conversation: &str,
) -> StorageReference {
    let meta = fresh_metadata("life")
        .with_conversation(conversation)
        .with_policy(policy);
    store
        .store_bytes("image/png", data.clone(), &meta)
        .await
        .unwrap()
}

pub(crate) fn sorted(mut v: Vec<StorageReference>) -> Vec<StorageReference> {
    v.sort();
    v
}

/// Plants every kind of orphan next to healthy media; returns the live
/// references and what gc must report.
pub(crate) struct Planted {
    pub(crate) live: Vec<(StorageReference, Bytes)>,
    pub(crate) orphan_media: BTreeSet<String>,
    pub(crate) orphan_sidecars: BTreeSet<String>,
    pub(crate) dangling: Vec<StorageReference>,
    pub(crate) repaired: Vec<StorageReference>,
    pub(crate) trash: BTreeSet<String>,
    pub(crate) locations: BTreeSet<String>,
    pub(crate) freed: u64,
    pub(crate) foreign: Vec<String>,
}

pub(crate) async fn plant(store: &ObjectStoreMediaStore) -> Planted {
    let a = random_bytes(PNG, 3000);
    let (ha, a1, a2) = (
        hash(&a),
        store_png(store, &a, RetentionPolicy::Retain, "c1").await,
        store_png(store, &a, RetentionPolicy::Retain, "c2").await,
    );
    // A trash copy left next to healthy bytes, and a stray copy elsewhere.
    put(store, &format!("app/index/{ha}/trash/t1"), a.clone()).await;
    let stray = format!("app/media/elsewhere/{ha}.png");
    put(store, &stray, a.clone()).await;

    // Bytes whose only reference marker vanished.
    let b = random_bytes(PNG, 1100);
    let hb = hash(&b);
    let rb = store_png(store, &b, RetentionPolicy::Retain, "c1").await;
    let kb = content_key(store, &hb).await;
    remove(store, &marker_key(&rb)).await;

    // A reference whose bytes and sidecar were deleted behind the store's back.
    let c = random_bytes(PNG, 900);
    let rc = store_png(store, &c, RetentionPolicy::Retain, "c1").await;
    let kc = content_key(store, &hash(&c)).await;
    remove(store, &kc).await;
    remove(store, &Path::from(format!("{kc}.meta"))).await;

    // A sidecar without bytes, and a location record without anything.
    let hd = hash(b"d");
    let sidecar = format!("app/media/{hd}.txt.meta");
    put(store, &sidecar, Bytes::from_static(b"{}")).await;
    let he = hash(b"e");
    put(
        store,
        &format!("app/index/{he}/location"),
        Bytes::from(format!("app/media/{he}.bin")),
    )
    .await;

    // An interrupted last delete that lost the race with a store: the bytes
    // are only in the trash, while a reference still needs them.
    let f = random_bytes(PNG, 1500);
    let hf = hash(&f);
    let rf = store_png(store, &f, RetentionPolicy::Retain, "c3").await;
    let kf = content_key(store, &hf).await;
    put(store, &format!("app/index/{hf}/trash/t2"), f.clone()).await;
    remove(store, &kf).await;
    remove(store, &Path::from(format!("{kf}.meta"))).await;

    // Bytes with neither references nor a location record (a foreign copy).
    let g = random_bytes(PNG, 600);
    let unrecorded = format!("app/media/{}.png", hash(&g));
    put(store, &unrecorded, g).await;

    // A live reference whose location record was lost: gc records it again.
    let h = random_bytes(PNG, 400);
    let rh = store_png(store, &h, RetentionPolicy::Retain, "c4").await;
    remove(
        store,
        &Path::from(format!("app/index/{}/location", hash(&h))),
    )
    .await;

    // A live reference whose bytes were moved to another key.
    let m = random_bytes(PNG, 350);
    let rm = store_png(store, &m, RetentionPolicy::Retain, "c5").await;
    let km = content_key(store, &hash(&m)).await;
    let moved = format!("app/media/moved/{}.png", hash(&m));
    put(store, &moved, m.clone()).await;
    remove(store, &km).await;

    // Objects the store does not own.
    let foreign = vec!["app/media/README.txt".to_owned(), "other/x.bin".to_owned()];
    for k in &foreign {
        put(store, k, Bytes::from_static(b"not media")).await;
    }

    Planted {
        live: vec![
            (a1, a.clone()),
            (a2, a.clone()),
            (rf.clone(), f),
            (rh.clone(), h),
            (rm.clone(), m),
        ],
        orphan_media: BTreeSet::from([stray, kb.to_string(), unrecorded, moved]),
        // The sidecar of bytes without references goes with them.
        orphan_sidecars: BTreeSet::from([sidecar, format!("{kb}.meta")]),
        dangling: vec![rc],
        repaired: vec![rf, rh, rm],
        trash: BTreeSet::from([
            format!("app/index/{ha}/trash/t1"),
            format!("app/index/{hf}/trash/t2"),
        ]),
        locations: BTreeSet::from([
            format!("app/index/{hb}/location"),
            format!("app/index/{}/location", hash(&c)),
            format!("app/index/{he}/location"),
        ]),
        freed: 3000 + 1100 + 600 + 350,
        foreign,
    }
}

pub(crate) fn strings(v: &[std::path::PathBuf]) -> BTreeSet<String> {
    v.iter().map(|p| p.to_string_lossy().into_owned()).collect()
}
