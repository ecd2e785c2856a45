//! The conformance suite against object_store's `InMemory` and `LocalFileSystem`,
//! in every organization mode.
#![cfg(feature = "object-store")]

use std::sync::Arc;
use std::time::Duration;

use promptkit_media_store::conformance::{self, Expectations};
use promptkit_media_store::{
    Error, MediaLifecycle, MediaStore, MediaStoreExt, ObjectStoreConfig, ObjectStoreMediaStore,
    Organization,
};

const ORGS: [Organization; 4] = [
    Organization::Flat,
    Organization::BySession,
    Organization::ByConversation,
    Organization::ByRun,
];

/// Every conformance test but `url_is_returned` (InMemory cannot hand out URLs).
async fn run_without_urls(store: Arc<dyn MediaLifecycle>, concurrency: usize) {
    conformance::ids_people_use(store.as_ref()).await;
    conformance::lifecycle_reports(store.as_ref()).await;
    conformance::dropped_stores_leave_nothing(Arc::clone(&store), 40).await;
    let store: Arc<dyn MediaStore> = store;
    let s = store.as_ref();
    conformance::round_trip_all_types(s).await;
    conformance::stats_are_computed(s).await;
    conformance::dedup_identical_content(s).await;
    conformance::refcount_delete(s).await;
    conformance::delete_unknown_is_not_found(s).await;
    conformance::bad_input_rejected(s).await;
    conformance::concurrent_identical_stores(store.clone(), concurrency).await;
    conformance::store_delete_race(store, 8, 6).await;
}

#[tokio::test]
async fn in_memory_every_organization() {
    for org in ORGS {
        let store =
            ObjectStoreMediaStore::in_memory(ObjectStoreConfig::default().with_organization(org))
                .unwrap();
        run_without_urls(Arc::new(store), 32).await;
    }
}

#[tokio::test]
async fn in_memory_url_is_not_supported() {
    let store = ObjectStoreMediaStore::in_memory(ObjectStoreConfig::default()).unwrap();
    let meta = conformance::fresh_metadata("url");
    let r = store
        .store_bytes("text/plain", "x".into(), &meta)
        .await
        .unwrap();
    match store.url(&r, Duration::from_secs(60)).await {
        Err(Error::NotSupported { operation, .. }) => assert_eq!(operation, "url"),
        other => panic!("expected NotSupported, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_filesystem_every_organization() {
    for org in ORGS {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStoreMediaStore::local_filesystem(
            dir.path(),
            ObjectStoreConfig::default()
                .with_organization(org)
                .with_prefix("app"),
        )
        .unwrap();
        conformance::run_all_with(
            Arc::new(store),
            Expectations::default().with_concurrency(32),
        )
        .await;
    }
}

/// The in-memory backend needs no Tokio runtime: polled by another executor,
/// it stores (large media hashed in place, with no blocking pool to go to)
/// and reads back without a panic.
#[test]
fn in_memory_works_outside_a_tokio_runtime() {
    let store = ObjectStoreMediaStore::in_memory(ObjectStoreConfig::default()).unwrap();
    let meta = conformance::fresh_metadata("outside");
    for len in [16, 5 * 1024 * 1024] {
        let data = conformance::random_bytes(b"\x89PNG\r\n\x1a\n", len);
        let r = futures::executor::block_on(store.store_bytes("image/png", data.clone(), &meta))
            .unwrap();
        let back = futures::executor::block_on(store.retrieve_bytes(&r)).unwrap();
        assert_eq!(back, data, "{len}");
    }
}

/// Two handles on one bucket (as two processes would open it) store the
/// same bytes at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_on_one_bucket() {
    let bucket: Arc<dyn object_store::ObjectStore> =
        Arc::new(object_store::memory::InMemory::new());
    let open = || -> Arc<dyn MediaLifecycle> {
        Arc::new(
            ObjectStoreMediaStore::new(Arc::clone(&bucket), ObjectStoreConfig::default()).unwrap(),
        )
    };
    conformance::same_bytes_from_two_handles(open(), open(), 16).await;
}
