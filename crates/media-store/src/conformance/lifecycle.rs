//! Conformance of the lifecycle model every backend shares: ids, `head`,
//! `list`, reports, retention, cancellation, and stores of the same bytes
//! through separately opened handles (as two processes would).

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::support::{fresh_metadata, put, random_bytes};
use crate::{
    Error, GcOptions, MediaContent, MediaLifecycle, MediaLifecycleExt, MediaMetadata,
    MediaStoreExt, RetentionPolicy, StorageReference,
};

/// Ids people use (an e-mail address as session, a UUID as conversation,
/// `+` and `=` in a run id) are accepted on every backend; ids that could
/// leave a folder are refused with [`Error::InvalidInput`] naming the field.
pub async fn ids_people_use(store: &dyn MediaLifecycle) {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let meta = MediaMetadata::new()
        .with_session(format!("alice+{}@example.com", &tag[..8]))
        .with_conversation(uuid::Uuid::new_v4().to_string())
        .with_run(format!("run={}", &tag[..8]))
        .with_user("bob@example.org");
    let data = random_bytes(b"ids:", 64);
    let r = put(store, "text/plain", &data, &meta).await;
    assert_eq!(
        store.retrieve_bytes(&r).await.expect("ids: retrieve"),
        data,
        "ids: e-mail and UUID ids must round-trip"
    );
    let head = store.head(&r).await.expect("ids: head");
    assert_eq!(
        head.metadata.session_id, meta.session_id,
        "ids: session kept"
    );
    store.delete(&r).await.expect("ids: delete");
    for (field, bad) in [
        ("session_id", "../escape"),
        ("session_id", "a/b"),
        ("conversation_id", ".."),
        ("conversation_id", ".hidden"),
        ("run_id", "x\0y"),
        ("user_id", "a\\b"),
    ] {
        let mut m = fresh_metadata("ids-bad");
        match field {
            "session_id" => m.session_id = Some(bad.into()),
            "conversation_id" => m.conversation_id = Some(bad.into()),
            "run_id" => m.run_id = Some(bad.into()),
            _ => m.user_id = Some(bad.into()),
        }
        match store.store_bytes("text/plain", data.clone(), &m).await {
            Err(Error::InvalidInput { field: f, .. }) => {
                assert_eq!(f, field, "ids: {bad:?} refused under the wrong field")
            }
            other => panic!("ids: {field}={bad:?} must be InvalidInput, got {other:?}"),
        }
    }
}

/// `head`, `exists` and `list` describe a reference without reading it;
/// `verify` and a dry-run `gc` of a healthy store report nothing; retention
/// and a conversation's deletion drop exactly the references they own.
pub async fn lifecycle_reports(store: &dyn MediaLifecycle) {
    let meta = fresh_metadata("lifecycle").with_policy(RetentionPolicy::DeleteWithConversation);
    let kept_meta = meta.clone().with_policy(RetentionPolicy::Retain);
    let hour_meta = meta.clone().with_policy(RetentionPolicy::RetainHours(1));
    let png = random_bytes(b"\x89PNG\r\n\x1a\n", 900);
    let with_conv = put(store, "image/png", &png, &meta).await;
    let kept = put(store, "image/png", &png, &kept_meta).await;
    let hourly = put(store, "text/plain", &random_bytes(b"h:", 40), &hour_meta).await;

    let head = store.head(&with_conv).await.expect("lifecycle: head");
    assert_eq!(
        head.reference, with_conv,
        "lifecycle: head names its reference"
    );
    assert_eq!(
        (head.mime_type.as_str(), head.size_bytes),
        ("image/png", png.len() as u64),
        "lifecycle: head MIME type and size"
    );
    assert_eq!(
        head.blake3,
        blake3::hash(&png).to_hex().as_str(),
        "lifecycle: head hash"
    );
    assert_eq!(
        head.policy,
        RetentionPolicy::DeleteWithConversation,
        "lifecycle: policy"
    );
    assert_eq!(
        head.metadata.conversation_id, meta.conversation_id,
        "lifecycle: owner"
    );
    assert!(store.exists(&kept).await.expect("lifecycle: exists"));

    let conv = meta.conversation_id.clone();
    let listed: Vec<_> = store
        .list()
        .await
        .expect("lifecycle: list")
        .into_iter()
        .filter(|s| s.metadata.conversation_id == conv)
        .collect();
    assert_eq!(
        listed.len(),
        3,
        "lifecycle: list shows every live reference"
    );
    assert!(listed.contains(&head), "lifecycle: list and head agree");

    let verify = store.verify().await.expect("lifecycle: verify");
    assert!(
        verify.is_ok(),
        "lifecycle: verify of a healthy store: {verify:?}"
    );
    let gc = store.gc(GcOptions::new(true)).await.expect("lifecycle: gc");
    assert!(
        gc.is_clean(),
        "lifecycle: dry-run gc of a healthy store: {gc:?}"
    );

    let later = OffsetDateTime::now_utc() + time::Duration::hours(2);
    let expired = store
        .enforce_retention(later)
        .await
        .expect("lifecycle: retention");
    assert!(
        expired.expired_references.contains(&hourly)
            && !expired.expired_references.contains(&kept)
            && !expired.expired_references.contains(&with_conv),
        "lifecycle: retention drops only expired references: {expired:?}"
    );
    let id = conv.as_deref().unwrap_or_default();
    let report = store
        .conversation_deleted(id)
        .await
        .expect("lifecycle: conversation");
    assert_eq!(
        report.expired_references,
        vec![with_conv.clone()],
        "lifecycle: a conversation's deletion drops its delete-with-conversation references"
    );
    assert!(
        report.removed_objects <= 1,
        "lifecycle: one object at most: {report:?}"
    );
    assert!(
        !store
            .exists(&with_conv)
            .await
            .expect("lifecycle: exists after")
    );
    assert!(matches!(
        store.head(&with_conv).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        store.retrieve_bytes(&kept).await.expect("lifecycle: kept"),
        png
    );
    store.delete(&kept).await.expect("lifecycle: delete kept");
}

/// A `store` future dropped at any point (before it starts, while it
/// writes, after it committed) leaves no reference: after the background
/// work settles, the conversation holds nothing and `gc` finds nothing to
/// repair but temp files.
pub async fn dropped_stores_leave_nothing(store: Arc<dyn MediaLifecycle>, attempts: usize) {
    let before = store.stats().await.expect("dropped: stats");
    let meta = fresh_metadata("dropped");
    let conv = meta.conversation_id.clone();
    let mut kept = Vec::new();
    for i in 0..attempts {
        // Same bytes every other attempt (dedup hits), fresh bytes otherwise.
        let data = if i % 2 == 0 {
            random_bytes(b"drop:", 2048 + i)
        } else {
            random_bytes(b"same:", 64)
        };
        let content = MediaContent::from_bytes("application/octet-stream", data);
        let s = Arc::clone(&store);
        let m = meta.clone();
        let fut = async move { s.store(&content, &m).await };
        // Dropped after 0..n polls, spread over a few hundred microseconds.
        let budget = Duration::from_micros((i as u64 * 37) % 800);
        if let Ok(Ok(r)) = tokio::time::timeout(budget, fut).await {
            kept.push(r);
        }
    }
    for r in &kept {
        store
            .delete(r)
            .await
            .expect("dropped: delete a completed store");
    }
    // The abandoned stores finish in the background; wait for them to settle:
    // no reference of the conversation listed, and the store's objects and
    // references back where they were.
    // Settled = the condition held for a second on end (a store already
    // running on the backend when its caller left finishes, then is undone).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut settled = 0;
    loop {
        let left: Vec<StorageReference> = store
            .list()
            .await
            .expect("dropped: list")
            .into_iter()
            .filter(|s| s.metadata.conversation_id == conv)
            .map(|s| s.reference)
            .collect();
        let now = store.stats().await.expect("dropped: stats");
        if left.is_empty() && (now.objects, now.references) == (before.objects, before.references) {
            settled += 1;
            if settled == 20 {
                break;
            }
        } else {
            settled = 0;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "dropped: abandoned stores left references behind: {left:?} \
             (objects {} -> {}, references {} -> {})",
            before.objects,
            now.objects,
            before.references,
            now.references
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Two handles opened separately on the same place (as two processes
/// would) store the same bytes at once: every reference resolves, the
/// bytes are stored once where the backend deduplicates, and deleting every
/// reference leaves nothing.
pub async fn same_bytes_from_two_handles(
    a: Arc<dyn MediaLifecycle>,
    b: Arc<dyn MediaLifecycle>,
    per_handle: usize,
) {
    let meta = fresh_metadata("two-handles");
    let data = random_bytes(b"two:", 4096);
    let mut tasks = Vec::new();
    for i in 0..per_handle * 2 {
        let s = if i % 2 == 0 {
            Arc::clone(&a)
        } else {
            Arc::clone(&b)
        };
        let (m, d) = (meta.clone(), data.clone());
        tasks.push(tokio::spawn(async move {
            s.store_bytes("application/octet-stream", d, &m).await
        }));
    }
    let mut refs = Vec::new();
    for t in tasks {
        refs.push(
            t.await
                .expect("two handles: task")
                .expect("two handles: store"),
        );
    }
    for (i, r) in refs.iter().enumerate() {
        let reader = if i % 2 == 0 { &b } else { &a };
        assert_eq!(
            reader
                .retrieve_bytes(r)
                .await
                .expect("two handles: retrieve"),
            data,
            "two handles: a reference from one handle resolves through the other"
        );
    }
    let locations: std::collections::BTreeSet<_> = a
        .list()
        .await
        .expect("two handles: list")
        .into_iter()
        .filter(|s| s.metadata.conversation_id == meta.conversation_id)
        .map(|s| s.location)
        .collect();
    assert!(!locations.is_empty(), "two handles: references listed");
    for (i, r) in refs.iter().enumerate() {
        let s = if i % 2 == 0 { &a } else { &b };
        s.delete(r).await.expect("two handles: delete");
    }
    assert!(
        !a.exists(&refs[0]).await.expect("two handles: exists"),
        "two handles: deleted"
    );
}
