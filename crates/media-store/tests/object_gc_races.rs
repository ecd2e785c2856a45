//! gc racing a store of the same bytes, at the exact interleavings its
//! protocol guards against: gc is paused right before it deletes, a store
//! completes meanwhile, and the store's reference must still resolve after gc
//! resumes (a gc without the re-check after deleting fails these tests).
#![cfg(feature = "object-store")]

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use promptkit_media_store::conformance::{fresh_metadata, random_bytes};
use promptkit_media_store::{
    GcOptions, MediaLifecycle, MediaStore, MediaStoreExt, ObjectStoreConfig, ObjectStoreMediaStore,
    StorageReference,
};
use time::{Duration, OffsetDateTime};
use tokio::sync::Notify;

type Pred = Box<dyn Fn(&Path) -> bool + Send + Sync>;

/// InMemory whose next delete of a matching key signals `reached` and waits
/// for `release` before deleting.
#[derive(Default)]
struct GatedStore {
    inner: Arc<InMemory>,
    gate: Arc<Mutex<Option<Pred>>>,
    reached: Arc<Notify>,
    release: Arc<Notify>,
}

impl fmt::Debug for GatedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GatedStore")
    }
}

impl fmt::Display for GatedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GatedStore")
    }
}

#[async_trait]
impl ObjectStore for GatedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let inner = Arc::clone(&self.inner);
        let gate = Arc::clone(&self.gate);
        let (reached, release) = (Arc::clone(&self.reached), Arc::clone(&self.release));
        locations
            .then(move |loc| {
                let (inner, gate) = (Arc::clone(&inner), Arc::clone(&gate));
                let (reached, release) = (Arc::clone(&reached), Arc::clone(&release));
                async move {
                    let loc = loc?;
                    let hit = {
                        let mut g = gate.lock().unwrap();
                        let hit = g.as_ref().is_some_and(|p| p(&loc));
                        if hit {
                            *g = None;
                        }
                        hit
                    };
                    if hit {
                        reached.notify_one();
                        release.notified().await;
                    }
                    inner.delete(&loc).await.map(|()| loc)
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

fn setup() -> (Arc<GatedStore>, Arc<ObjectStoreMediaStore>) {
    let gated = Arc::new(GatedStore::default());
    let store =
        ObjectStoreMediaStore::new(gated.clone(), ObjectStoreConfig::default().with_prefix("t"))
            .unwrap();
    (gated, Arc::new(store))
}

fn marker_key(reference: &StorageReference) -> Path {
    let (h, id) = reference
        .as_str()
        .strip_prefix("obj:")
        .and_then(|r| r.split_once('/'))
        .unwrap();
    Path::from(format!("t/index/{h}/refs/{id}"))
}

/// Runs gc until it pauses at the gated delete, stores `data` to completion,
/// lets gc finish, and returns the new reference and gc's report.
async fn store_while_gc_is_paused(
    gated: &GatedStore,
    store: &Arc<ObjectStoreMediaStore>,
    data: bytes::Bytes,
) -> (StorageReference, promptkit_media_store::GcReport) {
    let later = OffsetDateTime::now_utc() + Duration::hours(2);
    let s = store.clone();
    let reached = gated.reached.notified();
    let gc = tokio::spawn(async move { s.gc(GcOptions::new(false).with_now(later)).await });
    reached.await;
    let fresh = store
        .store_bytes("image/png", data, &fresh_metadata("race"))
        .await
        .unwrap();
    gated.release.notify_one();
    (fresh, gc.await.unwrap().unwrap())
}

#[tokio::test]
async fn store_during_gc_of_unreferenced_bytes() {
    let (gated, store) = setup();
    let data = random_bytes(b"\x89PNG\r\n\x1a\n", 2000);
    let old = store
        .store_bytes("image/png", data.clone(), &fresh_metadata("old"))
        .await
        .unwrap();
    // The marker vanished: the bytes are unreferenced and gc removes them.
    gated.inner.delete(&marker_key(&old)).await.unwrap();
    *gated.gate.lock().unwrap() = Some(Box::new(|p: &Path| {
        p.as_ref().contains("/media/") && p.as_ref().ends_with(".png")
    }));

    // The store sees the bytes before gc deletes them.
    let (fresh, report) = store_while_gc_is_paused(&gated, &store, data.clone()).await;
    assert!(report.orphan_media.is_empty(), "{report:?}");
    assert_eq!(store.retrieve_bytes(&fresh).await.unwrap(), data);
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.objects, stats.references), (1, 1));
    let again = store
        .gc(GcOptions::new(false).with_now(OffsetDateTime::now_utc() + Duration::hours(2)))
        .await
        .unwrap();
    assert!(again.is_clean(), "{again:?}");
}

#[tokio::test]
async fn store_during_gc_of_a_location_record() {
    let (gated, store) = setup();
    let data = random_bytes(b"\x89PNG\r\n\x1a\n", 2000);
    let old = store
        .store_bytes("image/png", data.clone(), &fresh_metadata("old"))
        .await
        .unwrap();
    // Deleted: only the location record is left, and gc removes it.
    store.delete(&old).await.unwrap();
    *gated.gate.lock().unwrap() = Some(Box::new(|p: &Path| p.as_ref().ends_with("/location")));

    // The store reads the record before gc deletes it, and writes the bytes
    // where it says.
    let (fresh, report) = store_while_gc_is_paused(&gated, &store, data.clone()).await;
    assert!(report.stale_object_records.is_empty(), "{report:?}");
    assert_eq!(store.retrieve_bytes(&fresh).await.unwrap(), data);
    store.delete(&fresh).await.unwrap();
    assert_eq!(store.stats().await.unwrap().objects, 0);
}
