//! The shared conformance suite on the local file store, for every
//! organization mode, with deduplication on and off.

use std::sync::Arc;

use promptkit_media_store::conformance::{self, Expectations};
use promptkit_media_store::{FileStore, MediaLifecycle, Organization};

fn store(dir: &std::path::Path, org: Organization, dedup: bool) -> Arc<dyn MediaLifecycle> {
    let store = FileStore::builder()
        .with_base_dir(dir)
        .with_organization(org)
        .with_deduplication(dedup)
        // fsync makes no difference to what these tests observe; skip it for speed.
        .with_fsync(false)
        .build()
        .expect("open store");
    Arc::new(store)
}

async fn run(org: Organization, dedup: bool) {
    let dir = tempfile::tempdir().unwrap();
    let expect = if dedup {
        Expectations::default()
    } else {
        Expectations::without_dedup()
    };
    conformance::run_all_with(store(dir.path(), org, dedup), expect).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn flat_dedup() {
    run(Organization::Flat, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn flat_no_dedup() {
    run(Organization::Flat, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn by_session_dedup() {
    run(Organization::BySession, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn by_session_no_dedup() {
    run(Organization::BySession, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn by_conversation_dedup() {
    run(Organization::ByConversation, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn by_conversation_no_dedup() {
    run(Organization::ByConversation, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn by_run_dedup() {
    run(Organization::ByRun, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn by_run_no_dedup() {
    run(Organization::ByRun, false).await;
}

/// The suite with fsync on, once, so the durable path is exercised too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn by_session_dedup_fsync() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::builder()
        .with_base_dir(dir.path())
        .build()
        .expect("open store");
    assert!(store.config().fsync);
    conformance::run_all_with(
        Arc::new(store),
        Expectations::default().with_concurrency(16),
    )
    .await;
}

/// Two handles on one folder (as two processes would open it) store the
/// same bytes at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_handles_on_one_folder() {
    let dir = tempfile::tempdir().unwrap();
    let a = store(dir.path(), Organization::BySession, true);
    let b = store(dir.path(), Organization::BySession, true);
    conformance::same_bytes_from_two_handles(a, b, 16).await;
}
