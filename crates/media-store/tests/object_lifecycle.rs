//! Lifecycle of the object-store media store: listing, retention with a
//! controllable clock (shared deduplicated bytes, conversations), garbage
//! collection of planted orphans (dry run and real run), and verification of
//! bytes changed behind the store's back. Each scenario runs on object_store's
//! `InMemory` and `LocalFileSystem`; one test runs them on S3 (moto).
#![cfg(feature = "object-store")]

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use object_store::path::Path;
use promptkit_media_store::conformance::{fresh_metadata, random_bytes};
use promptkit_media_store::{
    Error, GcOptions, MediaLifecycle, MediaLifecycleExt, MediaStore, MediaStoreExt,
    ObjectStoreMediaStore, RetentionPolicy, StorageReference,
};
use time::{Duration, OffsetDateTime};

mod lifecycle_support;
use lifecycle_support::*;

async fn retention_scenario(store: &ObjectStoreMediaStore) {
    let now = OffsetDateTime::now_utc();
    let shared = random_bytes(PNG, 3000);
    let single = random_bytes(PNG, 1000);
    let forever = random_bytes(PNG, 500);
    let conv_bytes = random_bytes(PNG, 700);

    // Two references to the same bytes; the first expires after one hour.
    let hourly = store_png(store, &shared, RetentionPolicy::RetainHours(1), "c1").await;
    let daily = store_png(store, &shared, RetentionPolicy::RetainDays(1), "c1").await;
    let minutes = store_png(
        store,
        &single,
        RetentionPolicy::DeleteAfterMinutes(10),
        "c1",
    )
    .await;
    let kept = store_png(store, &forever, RetentionPolicy::Retain, "c1").await;
    let with_conv = store_png(
        store,
        &conv_bytes,
        RetentionPolicy::DeleteWithConversation,
        "c9",
    )
    .await;
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.objects, stats.references), (4, 5));

    let listed = store.list().await.unwrap();
    assert_eq!(listed.len(), 5);
    let l = listed.iter().find(|l| l.reference == hourly).unwrap();
    assert_eq!(l.policy, RetentionPolicy::RetainHours(1));
    assert_eq!(l.mime_type, "image/png");
    assert_eq!(l.size_bytes, 3000);
    assert_eq!(l.blake3, hash(&shared));
    assert_eq!(l.metadata.conversation_id.as_deref(), Some("c1"));
    assert!(l.metadata.session_id.is_some() && l.metadata.run_id.is_some());
    assert!(l.created >= now - Duration::seconds(1) && l.created <= OffsetDateTime::now_utc());

    // Nothing is due yet.
    let r = store.enforce_retention(now).await.unwrap();
    assert!(r.expired_references.is_empty(), "{r:?}");

    // Two hours later: the hourly reference goes, its bytes stay for the daily one.
    let r = store
        .enforce_retention(now + Duration::hours(2))
        .await
        .unwrap();
    assert_eq!(
        r.expired_references,
        sorted(vec![hourly.clone(), minutes.clone()])
    );
    assert_eq!((r.removed_objects, r.freed_bytes), (1, 1000));
    assert!(matches!(
        store.retrieve(&hourly).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(store.retrieve_bytes(&daily).await.unwrap(), shared);
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.objects, stats.references), (3, 3));

    // Two days later the last reference of the shared bytes goes, and the bytes.
    let r = store
        .enforce_retention(now + Duration::days(2))
        .await
        .unwrap();
    assert_eq!(r.expired_references, vec![daily.clone()]);
    assert_eq!((r.removed_objects, r.freed_bytes), (1, 3000));
    assert!(
        !keys(store)
            .await
            .iter()
            .any(|k| k.contains("/media/") && k.contains(&hash(&shared))),
        "shared bytes and sidecar are gone"
    );

    // Conversations: only the deleted one, only `delete-with-conversation`.
    assert!(
        store
            .conversation_deleted("c1")
            .await
            .unwrap()
            .expired_references
            .is_empty()
    );
    let r = store.conversation_deleted("c9").await.unwrap();
    assert_eq!(r.expired_references, vec![with_conv]);
    assert_eq!((r.removed_objects, r.freed_bytes), (1, 700));

    let left: Vec<_> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.reference)
        .collect();
    assert_eq!(left, vec![kept.clone()]);
    assert!(
        store
            .enforce_retention(now + Duration::days(10_000))
            .await
            .unwrap()
            .expired_references
            .is_empty()
    );
    store.delete(&kept).await.unwrap();
    assert_eq!(store.stats().await.unwrap().objects, 0);
}

#[tokio::test]
async fn retention_respects_shared_bytes_and_policies() {
    for (store, _dir) in stores(config()) {
        retention_scenario(&store).await;
    }
}

#[tokio::test]
async fn default_policy_and_live_conversations() {
    let config = config().with_default_policy(RetentionPolicy::DeleteWithConversation);
    for (store, _dir) in stores(config) {
        let meta = |c: &str| fresh_metadata("conv").with_conversation(c);
        let gone = store
            .store_bytes("text/plain", "a".into(), &meta("gone"))
            .await
            .unwrap();
        let live = store
            .store_bytes("text/plain", "b".into(), &meta("live"))
            .await
            .unwrap();
        let pinned = store
            .store_bytes(
                "text/plain",
                "c".into(),
                &meta("gone").with_policy(RetentionPolicy::Retain),
            )
            .await
            .unwrap();
        let listed = store.list().await.unwrap();
        let policy =
            |r: &StorageReference| listed.iter().find(|l| &l.reference == r).unwrap().policy;
        assert_eq!(policy(&gone), RetentionPolicy::DeleteWithConversation);
        assert_eq!(policy(&pinned), RetentionPolicy::Retain);

        let r = store
            .retain_conversations(HashSet::from(["live".to_owned()]))
            .await
            .unwrap();
        assert_eq!(r.expired_references, vec![gone]);
        assert_eq!(store.retrieve_bytes(&live).await.unwrap(), "b");
        assert_eq!(store.retrieve_bytes(&pinned).await.unwrap(), "c");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_racing_a_store_of_the_same_bytes_keeps_the_new_reference() {
    let store = Arc::new(ObjectStoreMediaStore::in_memory(config()).unwrap());
    let later = OffsetDateTime::now_utc() + Duration::minutes(5);
    for _ in 0..20 {
        let data = random_bytes(PNG, 2000);
        let old = store_png(&store, &data, RetentionPolicy::DeleteAfterMinutes(1), "c").await;
        let (s1, s2, d) = (store.clone(), store.clone(), data.clone());
        let retention = tokio::spawn(async move { s1.enforce_retention(later).await });
        let fresh = tokio::spawn(async move {
            let meta = fresh_metadata("race").with_policy(RetentionPolicy::Retain);
            s2.store_bytes("image/png", d, &meta).await
        });
        let report = retention.await.unwrap().unwrap();
        let fresh = fresh.await.unwrap().unwrap();
        assert_eq!(report.expired_references, vec![old]);
        assert_eq!(store.retrieve_bytes(&fresh).await.unwrap(), data);
        store.delete(&fresh).await.unwrap();
    }
    assert_eq!(store.stats().await.unwrap().objects, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_enforcing_retention_drop_every_expired_reference() {
    let dir = tempfile::tempdir().unwrap();
    let open = || ObjectStoreMediaStore::local_filesystem(dir.path(), config()).unwrap();
    let (one, two) = (open(), open());
    let shared = random_bytes(PNG, 1000);
    let mut all = Vec::new();
    for i in 0..12 {
        let data = if i % 2 == 0 {
            shared.clone()
        } else {
            random_bytes(PNG, 300)
        };
        all.push(store_png(&one, &data, RetentionPolicy::RetainHours(1), "c").await);
    }
    let later = OffsetDateTime::now_utc() + Duration::hours(2);
    let (a, b) = tokio::join!(one.enforce_retention(later), two.enforce_retention(later));
    let (a, b) = (a.unwrap(), b.unwrap());
    // A reference both drop at the same moment may be in both reports.
    let dropped: BTreeSet<_> = a
        .expired_references
        .iter()
        .chain(&b.expired_references)
        .cloned()
        .collect();
    assert_eq!(dropped, all.into_iter().collect::<BTreeSet<_>>());
    assert!(a.removed_objects + b.removed_objects >= 7, "{a:?} {b:?}");
    let stats = two.stats().await.unwrap();
    assert_eq!((stats.objects, stats.references), (0, 0));
    assert!(keys(&one).await.iter().all(|k| k.ends_with("/location")));
}

async fn gc_scenario(store: &ObjectStoreMediaStore) {
    let p = plant(store).await;
    let later = OffsetDateTime::now_utc() + Duration::hours(2);

    // Within the grace period everything is kept: it may be work in progress.
    let young = store.gc(GcOptions::new(false)).await.unwrap();
    assert!(young.is_clean(), "{young:?}");

    let verify = store.verify().await.unwrap();
    assert!(!verify.is_ok());

    let before = keys(store).await;
    let dry = store
        .gc(GcOptions::new(true).with_now(later))
        .await
        .unwrap();
    assert_eq!(keys(store).await, before, "a dry run changes nothing");
    assert!(dry.dry_run);
    assert_eq!(strings(&dry.orphan_media), p.orphan_media);
    assert_eq!(strings(&dry.orphan_sidecars), p.orphan_sidecars);
    assert_eq!(strings(&dry.stale_temp_files), p.trash);
    assert_eq!(strings(&dry.stale_object_records), p.locations);
    let as_strings = |v: &[StorageReference]| -> Vec<String> {
        sorted(v.to_vec()).iter().map(|r| r.to_string()).collect()
    };
    assert_eq!(dry.dangling_references, as_strings(&p.dangling));
    assert_eq!(dry.repaired_references, as_strings(&p.repaired));
    assert!(dry.rewritten_sidecars.is_empty() && dry.unreadable_sidecars.is_empty());
    assert_eq!(dry.freed_bytes, p.freed);

    let real = store
        .gc(GcOptions::new(false).with_now(later))
        .await
        .unwrap();
    assert!(!real.dry_run);
    assert_eq!(
        GcReport2::from(&real),
        GcReport2::from(&dry),
        "the dry run reported what the real run did"
    );
    let after = keys(store).await;
    for k in p
        .orphan_media
        .iter()
        .chain(&p.orphan_sidecars)
        .chain(&p.trash)
    {
        assert!(!after.contains(k), "{k} survived");
    }
    for k in &p.foreign {
        assert!(after.contains(k), "foreign {k} was removed");
    }

    let again = store
        .gc(GcOptions::new(false).with_now(later))
        .await
        .unwrap();
    assert!(again.is_clean(), "{again:?}");
    for (r, data) in &p.live {
        assert_eq!(&store.retrieve_bytes(r).await.unwrap(), data);
    }
    assert!(matches!(
        store.retrieve(&p.dangling[0]).await,
        Err(Error::NotFound { .. })
    ));
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.objects, stats.references), (4, 5));
    assert_eq!(stats.physical_bytes, 3000 + 1500 + 400 + 350);
    assert_eq!(stats.logical_bytes, 2 * 3000 + 1500 + 400 + 350);
    assert_eq!(store.list().await.unwrap().len(), 5);
    let verify = store.verify().await.unwrap();
    assert!(verify.is_ok(), "{verify:?}");
    assert_eq!(verify.checked, 4);

    for (r, _) in &p.live {
        store.delete(r).await.unwrap();
    }
    let left: BTreeSet<String> = keys(store)
        .await
        .into_iter()
        .filter(|k| !k.contains("/location"))
        .collect();
    assert_eq!(left, p.foreign.iter().cloned().collect());
}

/// The parts of a gc report that a dry run predicts.
#[derive(Debug, PartialEq)]
struct GcReport2(Vec<BTreeSet<String>>, u64);

impl From<&promptkit_media_store::GcReport> for GcReport2 {
    fn from(r: &promptkit_media_store::GcReport) -> Self {
        let refs = |v: &[String]| v.iter().cloned().collect::<BTreeSet<_>>();
        GcReport2(
            vec![
                strings(&r.orphan_media),
                strings(&r.orphan_sidecars),
                strings(&r.stale_temp_files),
                strings(&r.stale_object_records),
                refs(&r.dangling_references),
                refs(&r.repaired_references),
            ],
            r.freed_bytes,
        )
    }
}

#[tokio::test]
async fn gc_collects_planted_orphans_and_repairs_interrupted_deletes() {
    for (store, _dir) in stores(config()) {
        gc_scenario(&store).await;
    }
}

/// gc collecting unreferenced bytes, or the location record of deleted
/// bytes, while stores of the same bytes run: the new references resolve.
///
/// gc's clock is set so that everything written before the race is past
/// the grace period and everything the racing stores write is not: in use,
/// the grace period (an hour) is what keeps a store in progress from gc.
/// Object stores date objects to the second, so the race starts more than a
/// second after the old state is in place, and eight races share each gc.
/// (With gc's clock hours ahead, a marker written just before gc lists it,
/// whose bytes come just after gc's last look, is rightly collected.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_racing_a_store_of_the_same_bytes_keeps_the_new_reference() {
    let store = Arc::new(ObjectStoreMediaStore::in_memory(config()).unwrap());
    let grace = std::time::Duration::from_secs(3600);
    for round in 0..8 {
        let mut contents = Vec::new();
        for i in 0..8 {
            let data = random_bytes(PNG, 2000);
            let old = store_png(&store, &data, RetentionPolicy::Retain, "c").await;
            if i % 2 == 0 {
                // Bytes whose marker vanished (gc removes the bytes).
                remove(&store, &marker_key(&old)).await;
            } else {
                // Deleted bytes; only the location record is left (gc removes it).
                store.delete(&old).await.unwrap();
            }
            contents.push(data);
        }
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let later = OffsetDateTime::now_utc() + grace - Duration::seconds(1);
        let options = GcOptions::new(false).with_temp_grace(grace).with_now(later);
        let s1 = store.clone();
        let gc = tokio::spawn(async move { s1.gc(options).await });
        let fresh: Vec<_> = contents
            .iter()
            .map(|d| {
                let (s2, d) = (store.clone(), d.clone());
                tokio::spawn(async move {
                    s2.store_bytes("image/png", d, &fresh_metadata("gc-race"))
                        .await
                })
            })
            .collect();
        gc.await.unwrap().unwrap();
        for (data, fresh) in contents.iter().zip(fresh) {
            let fresh = fresh.await.unwrap().unwrap();
            assert_eq!(
                &store.retrieve_bytes(&fresh).await.unwrap(),
                data,
                "round {round}"
            );
            store.delete(&fresh).await.unwrap();
        }
    }
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.objects, stats.references), (0, 0));
}

async fn verify_scenario(store: &ObjectStoreMediaStore, overwrite: impl AsyncOverwrite) {
    let good = random_bytes(PNG, 2000);
    let bad = random_bytes(PNG, 2000);
    let lost = random_bytes(PNG, 800);
    let rg = store_png(store, &good, RetentionPolicy::Retain, "c").await;
    let rb = store_png(store, &bad, RetentionPolicy::Retain, "c").await;
    store_png(store, &lost, RetentionPolicy::Retain, "c").await;
    let kb = content_key(store, &hash(&bad)).await;
    let kl = content_key(store, &hash(&lost)).await;

    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    let report = store
        .verify_with_progress(Arc::new(move |done, total| {
            seen.lock().unwrap().push((done, total))
        }))
        .await
        .unwrap();
    assert!(report.is_ok() && report.checked == 3, "{report:?}");
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.first(), Some(&(0, 3)));
    assert_eq!(calls.last(), Some(&(3, 3)));

    // Same length, other bytes, written behind the store's back.
    overwrite
        .overwrite(store, &kb, random_bytes(PNG, 2000))
        .await;
    remove(store, &kl).await;
    let report = store.verify().await.unwrap();
    assert_eq!(report.checked, 2);
    assert_eq!(strings(&report.corrupt), BTreeSet::from([kb.to_string()]));
    assert_eq!(strings(&report.missing), BTreeSet::from([kl.to_string()]));
    assert!(report.unreadable_sidecars.is_empty());
    assert!(matches!(
        store.retrieve(&rb).await,
        Err(Error::Corrupt { .. })
    ));
    assert_eq!(store.retrieve_bytes(&rg).await.unwrap(), good);

    put(store, &format!("{kb}.meta"), Bytes::from_static(b"{broken")).await;
    let report = store.verify().await.unwrap();
    assert_eq!(
        strings(&report.unreadable_sidecars),
        BTreeSet::from([format!("{kb}.meta")])
    );
}

/// How the test changes stored bytes behind the store's back.
trait AsyncOverwrite {
    async fn overwrite(&self, store: &ObjectStoreMediaStore, key: &Path, data: Bytes);
}

/// Through the object store API.
struct ViaApi;
impl AsyncOverwrite for ViaApi {
    async fn overwrite(&self, store: &ObjectStoreMediaStore, key: &Path, data: Bytes) {
        put(store, key.as_ref(), data).await;
    }
}

/// Directly on disk.
struct OnDisk(std::path::PathBuf);
impl AsyncOverwrite for OnDisk {
    async fn overwrite(&self, _: &ObjectStoreMediaStore, key: &Path, data: Bytes) {
        std::fs::write(self.0.join(key.as_ref()), data).unwrap();
    }
}

#[tokio::test]
async fn verify_finds_overwritten_missing_and_unreadable() {
    let store = ObjectStoreMediaStore::in_memory(config()).unwrap();
    verify_scenario(&store, ViaApi).await;
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectStoreMediaStore::local_filesystem(dir.path(), config()).unwrap();
    verify_scenario(&store, OnDisk(dir.path().to_path_buf())).await;
}

#[cfg(feature = "s3")]
mod s3 {
    use std::time::Duration as StdDuration;

    use promptkit_testkit::{ServerProcess, free_port, python, require_venv};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn retention_gc_and_verify_on_moto() {
        let venv = require_venv!();
        let port = free_port();
        let server = ServerProcess::spawn(
            &venv,
            "moto_server",
            &["-H", "127.0.0.1", "-p", &port.to_string()],
            port,
        );
        let bucket = format!("life-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        python(
            &venv,
            "import sys, boto3\n\
             boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1',\n\
                 aws_access_key_id='test', aws_secret_access_key='test').create_bucket(Bucket=sys.argv[2])",
            &[&server.base_url(), &bucket],
        );
        let store = promptkit_media_store::S3MediaStore::builder()
            .with_bucket(&bucket)
            .with_endpoint(server.base_url())
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_access_key_id("test")
            .with_secret_access_key("test")
            .with_prefix("app")
            .with_retry(1, StdDuration::from_secs(5))
            .build()
            .expect("valid S3 settings");
        // gc first: it expects a bucket without leftovers of earlier scenarios.
        gc_scenario(&store).await;
        retention_scenario(&store).await;
        verify_scenario(&store, ViaApi).await;
    }
}
