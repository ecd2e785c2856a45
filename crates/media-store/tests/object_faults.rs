//! Fault injection around an in-memory object store: conflicts that wrote
//! nothing, failing writes, multipart uploads, and the store/delete race at
//! the exact interleavings the delete protocol guards against.
#![cfg(feature = "object-store")]

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use promptkit_media_store::conformance::{fresh_metadata, random_bytes};
use promptkit_media_store::{
    Error, MediaStore, MediaStoreExt, ObjectStoreConfig, ObjectStoreMediaStore, Organization,
};
use tokio::sync::Notify;

type Pred = Box<dyn Fn(&Path) -> bool + Send + Sync>;

/// A pause point: `reached` is signalled, then the operation waits for `release`.
#[derive(Clone, Default)]
struct Pause {
    reached: Arc<Notify>,
    release: Arc<Notify>,
}

impl Pause {
    async fn wait(&self) {
        self.reached.notify_one();
        self.release.notified().await;
    }
}

#[derive(Default)]
struct Faults {
    /// `PutMode::Create` on a matching key reports `AlreadyExists` without writing (once).
    phantom_conflict: Option<Pred>,
    /// Puts on matching keys fail like a dropped connection.
    fail_put: Option<Pred>,
    /// Deletes of matching keys pause before and/or after deleting (once).
    delete_gate: Option<(Pred, Option<Pause>, Option<Pause>)>,
}

/// InMemory with injectable faults.
#[derive(Default)]
struct FaultStore {
    inner: InMemory,
    faults: Arc<Mutex<Faults>>,
    multipart_uploads: AtomicUsize,
    /// `get_opts` calls on reference markers (`.../refs/...`).
    marker_gets: AtomicUsize,
}

impl fmt::Debug for FaultStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FaultStore")
    }
}

impl fmt::Display for FaultStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FaultStore")
    }
}

fn generic(msg: &str) -> object_store::Error {
    object_store::Error::Generic {
        store: "FaultStore",
        source: msg.to_owned().into(),
    }
}

#[async_trait]
impl ObjectStore for FaultStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        {
            let mut f = self.faults.lock().unwrap();
            if f.fail_put.as_ref().is_some_and(|p| p(location)) {
                return Err(generic("connection reset (injected)"));
            }
            if opts.mode == PutMode::Create
                && f.phantom_conflict.as_ref().is_some_and(|p| p(location))
            {
                f.phantom_conflict = None;
                return Err(object_store::Error::AlreadyExists {
                    path: location.to_string(),
                    source: "409 Conflict that wrote nothing (injected)".into(),
                });
            }
        }
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.multipart_uploads.fetch_add(1, Ordering::SeqCst);
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        if location.as_ref().contains("/refs/") {
            self.marker_gets.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let (inner, faults) = (self.inner.clone(), Arc::clone(&self.faults));
        locations
            .then(move |loc| {
                let (inner, faults) = (inner.clone(), Arc::clone(&faults));
                async move {
                    let loc = loc?;
                    let gate = {
                        let mut f = faults.lock().unwrap();
                        if f.delete_gate.as_ref().is_some_and(|(p, _, _)| p(&loc)) {
                            f.delete_gate
                                .take()
                                .map(|(_, before, after)| (before, after))
                        } else {
                            None
                        }
                    };
                    let (before, after) = gate.unwrap_or_default();
                    if let Some(before) = before {
                        before.wait().await;
                    }
                    let res = inner
                        .delete_stream(futures::stream::iter([Ok(loc)]).boxed())
                        .next()
                        .await
                        .unwrap_or_else(|| Err(generic("no delete result")));
                    if let Some(after) = after {
                        after.wait().await;
                    }
                    res
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

fn is_content(p: &Path) -> bool {
    p.as_ref().contains("/media/") && !p.as_ref().ends_with(".meta")
}

fn setup(threshold: usize) -> (Arc<FaultStore>, Arc<ObjectStoreMediaStore>) {
    let faults = Arc::new(FaultStore::default());
    let store = ObjectStoreMediaStore::new(
        faults.clone(),
        ObjectStoreConfig::default()
            .with_prefix("t")
            .with_organization(Organization::BySession)
            .with_multipart_threshold(threshold),
    )
    .unwrap();
    (faults, Arc::new(store))
}

async fn keys(faults: &FaultStore) -> Vec<String> {
    let mut k: Vec<String> = faults
        .inner
        .list(None)
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    k.sort();
    k
}

#[tokio::test]
async fn conflict_that_wrote_nothing_is_not_a_dedup_hit() {
    let (faults, store) = setup(usize::MAX);
    faults.faults.lock().unwrap().phantom_conflict = Some(Box::new(is_content));
    let data = random_bytes(b"\x89PNG\r\n\x1a\n", 2048);
    let r = store
        .store_bytes("image/png", data.clone(), &fresh_metadata("409"))
        .await
        .unwrap();
    assert!(
        faults.faults.lock().unwrap().phantom_conflict.is_none(),
        "fault not hit"
    );
    assert_eq!(store.retrieve_bytes(&r).await.unwrap(), data);
    assert_eq!(store.stats().await.unwrap().objects, 1);
}

#[tokio::test]
async fn failed_content_write_hands_out_no_reference_and_leaves_no_marker() {
    let (faults, store) = setup(usize::MAX);
    faults.faults.lock().unwrap().fail_put = Some(Box::new(is_content));
    let meta = fresh_metadata("fail");
    match store
        .store_bytes("image/png", random_bytes(b"\x89PNG\r\n\x1a\n", 512), &meta)
        .await
    {
        Err(Error::Backend {
            transient,
            operation,
            ..
        }) => {
            assert!(transient);
            assert!(operation.starts_with("put t/media/"), "{operation}");
        }
        other => panic!("expected a backend error, got {other:?}"),
    }
    let left = keys(&faults).await;
    assert!(
        !left.iter().any(|k| k.contains("/refs/")),
        "a marker survived the failed store: {left:?}"
    );
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.objects, stats.references), (0, 0));
}

#[tokio::test]
async fn large_media_is_uploaded_in_parts() {
    let (faults, store) = setup(64 * 1024);
    let meta = fresh_metadata("mp");
    let small = random_bytes(b"OggS", 1024);
    store.store_bytes("audio/ogg", small, &meta).await.unwrap();
    assert_eq!(faults.multipart_uploads.load(Ordering::SeqCst), 0);
    let big = random_bytes(b"OggS", 6 * 1024 * 1024 + 3);
    let r = store
        .store_bytes("audio/ogg", big.clone(), &meta)
        .await
        .unwrap();
    assert_eq!(faults.multipart_uploads.load(Ordering::SeqCst), 1);
    assert_eq!(store.retrieve_bytes(&r).await.unwrap(), big);
    // A dedup hit uploads nothing.
    store.store_bytes("audio/ogg", big, &meta).await.unwrap();
    assert_eq!(faults.multipart_uploads.load(Ordering::SeqCst), 1);
}

/// The last delete has copied the bytes to trash and is about to delete them
/// when an identical store completes (it sees the bytes). The delete's re-check
/// must put the bytes back; while they are gone, `retrieve` reads the trash copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_that_saw_the_bytes_before_the_last_delete_keeps_them() {
    let (faults, store) = setup(usize::MAX);
    let data = random_bytes(b"GIF89a", 4096);
    let meta = fresh_metadata("race");
    let r1 = store
        .store_bytes("image/gif", data.clone(), &meta)
        .await
        .unwrap();
    let (before, after) = (Pause::default(), Pause::default());
    faults.faults.lock().unwrap().delete_gate = Some((
        Box::new(is_content),
        Some(before.clone()),
        Some(after.clone()),
    ));
    let deleting = tokio::spawn({
        let store = store.clone();
        async move { store.delete(&r1).await }
    });

    before.reached.notified().await;
    // The bytes are still there: this store is a dedup hit and returns at once.
    let r2 = store
        .store_bytes("image/gif", data.clone(), &meta)
        .await
        .unwrap();
    before.release.notify_one();

    after.reached.notified().await;
    // The bytes are deleted and not yet restored: served from the trash copy.
    assert_eq!(store.retrieve_bytes(&r2).await.unwrap(), data);
    after.release.notify_one();

    deleting.await.unwrap().unwrap();
    assert_eq!(store.retrieve_bytes(&r2).await.unwrap(), data);
    let left = keys(&faults).await;
    assert!(
        left.iter().any(|k| k.ends_with(".gif.meta")),
        "sidecar not restored: {left:?}"
    );
    assert!(
        !left.iter().any(|k| k.contains("/trash/")),
        "trash left: {left:?}"
    );
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.objects, stats.references), (1, 1));
    store.delete(&r2).await.unwrap();
    assert_eq!(
        keys(&faults)
            .await
            .iter()
            .filter(|k| k.contains("/media/"))
            .count(),
        0
    );
}

/// An identical store that runs after the last delete removed the bytes (but
/// before its re-check) writes them again itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_after_the_bytes_are_deleted_rewrites_them() {
    let (faults, store) = setup(usize::MAX);
    let data = random_bytes(b"%PDF-1.5\n", 4096);
    let meta = fresh_metadata("race2");
    let r1 = store
        .store_bytes("application/pdf", data.clone(), &meta)
        .await
        .unwrap();
    let after = Pause::default();
    faults.faults.lock().unwrap().delete_gate =
        Some((Box::new(is_content), None, Some(after.clone())));
    let deleting = tokio::spawn({
        let store = store.clone();
        async move { store.delete(&r1).await }
    });
    after.reached.notified().await;
    let r2 = store
        .store_bytes("application/pdf", data.clone(), &meta)
        .await
        .unwrap();
    after.release.notify_one();
    deleting.await.unwrap().unwrap();
    assert_eq!(store.retrieve_bytes(&r2).await.unwrap(), data);
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.objects, stats.references), (1, 1));
}

#[tokio::test]
async fn sidecar_and_marker_record_the_metadata() {
    let (faults, store) = setup(usize::MAX);
    let meta = fresh_metadata("meta").with_position(4, 2);
    let data = Bytes::from_static(b"RIFF\x10\0\0\0WAVEfmt ");
    store
        .store_bytes("audio/wav", data.clone(), &meta)
        .await
        .unwrap();
    let keys = keys(&faults).await;
    let sidecar = keys
        .iter()
        .find(|k| k.ends_with(".wav.meta"))
        .expect("sidecar");
    let session = meta.session_id.as_deref().unwrap();
    let conversation = meta.conversation_id.as_deref().unwrap();
    assert!(
        sidecar.starts_with(&format!("t/media/{session}/{conversation}/")),
        "{sidecar}"
    );
    let json: serde_json::Value = serde_json::from_slice(
        &object_store::ObjectStoreExt::get(&faults.inner, &Path::from(sidecar.as_str()))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["blake3"], blake3::hash(&data).to_hex().as_str());
    assert_eq!(json["mime_type"], "audio/wav");
    assert_eq!(json["size_bytes"], data.len());
    assert_eq!(json["conversation_id"], conversation);
    assert_eq!(json["message_index"], 4);
    assert_eq!(json["part_index"], 2);
    assert_eq!(json["provider_id"], "conformance");
    assert_eq!(json["policy"], "retain");
    assert!(json["created"].as_str().is_some_and(|c| c.ends_with('Z')));
    assert_eq!(keys.iter().filter(|k| k.contains("/refs/")).count(), 1);
}

#[tokio::test]
async fn bytes_changed_behind_the_store_are_corrupt() {
    let (faults, store) = setup(usize::MAX);
    let data = random_bytes(b"\x89PNG\r\n\x1a\n", 1024);
    let r = store
        .store_bytes("image/png", data, &fresh_metadata("corrupt"))
        .await
        .unwrap();
    let content = keys(&faults)
        .await
        .into_iter()
        .find(|k| k.ends_with(".png"))
        .unwrap();
    object_store::ObjectStoreExt::put(
        &faults.inner,
        &Path::from(content.as_str()),
        PutPayload::from_static(b"\x89PNG\r\n\x1a\ntampered"),
    )
    .await
    .unwrap();
    match store.retrieve(&r).await {
        Err(Error::Corrupt { reference, .. }) => assert_eq!(reference, r.to_string()),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[tokio::test]
async fn stats_reads_each_reference_marker_once_and_notices_changes() {
    use promptkit_media_store::MediaMetadata;
    let (faults, store) = setup(usize::MAX);
    let gets = || faults.marker_gets.load(Ordering::SeqCst);
    let meta = MediaMetadata::new()
        .with_session("s")
        .with_conversation("c");
    let (a, b) = (
        random_bytes(b"\x89PNG\r\n\x1a\n", 300),
        random_bytes(b"\x89PNG\r\n\x1a\n", 500),
    );
    let mut refs = Vec::new();
    for data in [&a, &a, &b, &b, &b] {
        refs.push(
            store
                .store_bytes("image/png", data.clone(), &meta)
                .await
                .unwrap(),
        );
    }
    // A store that never ran stats computes from scratch: the reference of truth.
    let fresh = || {
        ObjectStoreMediaStore::new(
            faults.clone(),
            ObjectStoreConfig::default()
                .with_prefix("t")
                .with_organization(Organization::BySession),
        )
        .unwrap()
    };

    let before = gets();
    let first = store.stats().await.unwrap();
    assert_eq!((first.objects, first.references), (2, 5));
    assert_eq!(first.logical_bytes, 2 * 300 + 3 * 500);
    assert_eq!(gets() - before, 5, "the first call reads every marker");

    let before = gets();
    assert_eq!(store.stats().await.unwrap(), first);
    assert_eq!(gets() - before, 0, "unchanged markers are not read again");

    // One new reference, one deleted: only the new marker is read.
    let c = random_bytes(b"\x89PNG\r\n\x1a\n", 700);
    store
        .store_bytes("image/png", c, &meta.clone().with_conversation("d"))
        .await
        .unwrap();
    store.delete(&refs[0]).await.unwrap();
    let before = gets();
    let now = store.stats().await.unwrap();
    assert_eq!(gets() - before, 1);
    assert_eq!((now.objects, now.references), (3, 5));
    assert_eq!(now, fresh().stats().await.unwrap());

    // A marker rewritten behind the store's back (another tool, a restore)
    // is read again because its listing entry changed.
    let marker = keys(&faults)
        .await
        .into_iter()
        .find(|k| k.contains("/refs/"))
        .unwrap();
    let raw = faults
        .inner
        .get(&Path::from(marker.as_str()))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let changed = String::from_utf8(raw.to_vec())
        .unwrap()
        .replace("image/png", "image/x-rewritten");
    faults
        .inner
        .put(&Path::from(marker.as_str()), PutPayload::from(changed))
        .await
        .unwrap();
    let before = gets();
    let after = store.stats().await.unwrap();
    assert_eq!(gets() - before, 1);
    assert_eq!(after.by_mime["image/x-rewritten"].references, 1);
    assert_eq!(after, fresh().stats().await.unwrap());
}
