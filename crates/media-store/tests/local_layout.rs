//! Where the local store puts files, for every organization, and what the
//! sidecars say.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use promptkit_media_store::conformance::random_bytes;
use promptkit_media_store::{
    Error, FileStore, MediaLifecycle, MediaMetadata, MediaStore, MediaStoreExt, Organization,
    RetentionPolicy,
};

#[path = "support/files.rs"]
mod files;

use files::files_under;

/// Every file under `dir`, relative to it, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .map(|p| p.strip_prefix(dir).unwrap().to_path_buf())
        .collect()
}

fn open(dir: &Path, org: Organization, dedup: bool) -> FileStore {
    FileStore::builder()
        .with_base_dir(dir)
        .with_organization(org)
        .with_deduplication(dedup)
        .with_fsync(false)
        .build()
        .unwrap()
}

fn meta() -> MediaMetadata {
    MediaMetadata::new()
        .with_session("sess-1")
        .with_conversation("conv-1")
        .with_run("run-1")
        .with_position(3, 1)
        .with_provider("mock")
}

#[tokio::test]
async fn every_organization_lays_files_out_as_documented() {
    let cases = [
        (Organization::Flat, "media"),
        (Organization::BySession, "media/sess-1/conv-1"),
        (Organization::ByConversation, "media/conv-1"),
        (Organization::ByRun, "media/run-1"),
    ];
    for (org, want_dir) in cases {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), org, true);
        let png = random_bytes(b"\x89PNG\r\n\x1a\n", 5000);
        let r = store
            .store_bytes("image/png", png.clone(), &meta())
            .await
            .unwrap();
        let hash = blake3::hash(&png).to_hex();
        let path = store.path_of(&r).await.unwrap();
        let want = store
            .base_dir()
            .join(want_dir)
            .join(format!("{}.png", &hash[..32]));
        assert_eq!(path, want, "{org}");
        assert_eq!(std::fs::read(&path).unwrap(), png, "{org}");
        let media: Vec<_> = files(&dir.path().join("media"));
        let name = format!("{}.png", &hash[..32]);
        let rel = Path::new(want_dir).strip_prefix("media").unwrap();
        assert_eq!(
            media,
            vec![rel.join(&name), rel.join(format!("{name}.meta"))],
            "{org}: only the media file and its sidecar"
        );
        let url = store
            .url(&r, std::time::Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(url, format!("file://{}", path.display()), "{org}");
    }
}

#[tokio::test]
async fn sidecar_records_owner_hash_size_and_policy() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), Organization::BySession, true);
    let data = random_bytes(b"OggS", 1234);
    let m = meta().with_policy(RetentionPolicy::RetainDays(7));
    let r = store
        .store_bytes("audio/ogg", data.clone(), &m)
        .await
        .unwrap();
    let path = store.path_of(&r).await.unwrap();
    assert_eq!(path.extension().unwrap(), "ogg");
    let meta_path = PathBuf::from(format!("{}.meta", path.display()));
    let j: serde_json::Value = serde_json::from_slice(&std::fs::read(meta_path).unwrap()).unwrap();
    assert_eq!(j["conversation_id"], "conv-1");
    assert_eq!(j["session_id"], "sess-1");
    assert_eq!(j["run_id"], "run-1");
    assert_eq!(j["message_index"], 3);
    assert_eq!(j["part_index"], 1);
    assert_eq!(j["provider_id"], "mock");
    assert_eq!(j["mime_type"], "audio/ogg");
    assert_eq!(j["size_bytes"], 1234);
    assert_eq!(j["blake3"], blake3::hash(&data).to_hex().as_str());
    assert_eq!(j["policy"], "retain-7days");
    assert_eq!(j["version"], 4);
    // The sidecar lists no references: the index holds them, with owners.
    assert!(j.get("ref_count").is_none() && j.get("references").is_none());
    let created = j["created"].as_str().unwrap();
    time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339)
        .expect("created is RFC 3339");
    let id = r.as_str().strip_prefix("file:").unwrap();
    let listed = store.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    let live = &listed[0];
    assert_eq!(live.reference.as_str().strip_prefix("file:"), Some(id));
    assert_eq!(live.metadata.run_id.as_deref(), Some("run-1"));
    assert_eq!(live.metadata.message_index, Some(3));
    assert_eq!(live.metadata.provider_id.as_deref(), Some("mock"));
    assert_eq!(live.policy, RetentionPolicy::RetainDays(7));
    let created =
        time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339)
            .unwrap();
    assert_eq!(live.created.unix_timestamp(), created.unix_timestamp());
}

#[tokio::test]
async fn default_policy_applies_when_metadata_has_none() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::builder()
        .with_base_dir(dir.path())
        .with_organization(Organization::Flat)
        .with_default_policy(RetentionPolicy::DeleteAfterMinutes(5))
        .build()
        .unwrap();
    let r = store
        .store_bytes(
            "text/plain",
            Bytes::from_static(b"note"),
            &MediaMetadata::new(),
        )
        .await
        .unwrap();
    let objects = store.list().await.unwrap();
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].reference, r);
    assert_eq!(objects[0].policy, RetentionPolicy::DeleteAfterMinutes(5));
    assert_eq!(
        objects[0].metadata.policy, None,
        "the metadata carried none"
    );
    assert_eq!(objects[0].location.extension().unwrap(), "txt");
}

#[tokio::test]
async fn without_dedup_each_store_gets_its_own_file_named_by_reference() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), Organization::ByConversation, false);
    let data = random_bytes(b"\xFF\xD8\xFF\xE0", 900);
    let r1 = store
        .store_bytes("image/jpeg", data.clone(), &meta())
        .await
        .unwrap();
    let r2 = store
        .store_bytes("image/jpeg", data.clone(), &meta())
        .await
        .unwrap();
    let (p1, p2) = (
        store.path_of(&r1).await.unwrap(),
        store.path_of(&r2).await.unwrap(),
    );
    assert_ne!(p1, p2);
    for (r, p) in [(&r1, &p1), (&r2, &p2)] {
        let id = r.as_str().strip_prefix("file:").unwrap();
        assert_eq!(
            p.file_name().unwrap().to_str().unwrap(),
            format!("{id}.jpg")
        );
    }
    store.delete(&r1).await.unwrap();
    assert!(!p1.exists() && p2.exists());
}

#[tokio::test]
async fn extension_table_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), Organization::Flat, true);
    let cases: [(&str, &[u8], &str); 6] = [
        ("image/jpeg", b"\xFF\xD8\xFF\xE0", "jpg"),
        ("audio/mpeg", b"ID3\x04", "mp3"),
        ("video/webm", b"\x1A\x45\xDF\xA3", "webm"),
        ("application/pdf", b"%PDF-1.5", "pdf"),
        ("application/json", b"{\"a\":", "json"),
        ("application/x-whatever", b"PKTEST", "bin"),
    ];
    for (mime, magic, ext) in cases {
        let r = store
            .store_bytes(mime, random_bytes(magic, 300), &MediaMetadata::new())
            .await
            .unwrap();
        let p = store.path_of(&r).await.unwrap();
        assert_eq!(p.extension().unwrap(), ext, "{mime}");
    }
}

#[tokio::test]
async fn missing_ids_name_the_field_and_write_nothing() {
    let cases = [
        (
            Organization::BySession,
            MediaMetadata::new().with_conversation("c"),
            "session_id",
        ),
        (
            Organization::BySession,
            MediaMetadata::new().with_session("s"),
            "conversation_id",
        ),
        (
            Organization::ByConversation,
            MediaMetadata::new().with_session("s"),
            "conversation_id",
        ),
        (
            Organization::ByRun,
            MediaMetadata::new().with_conversation("c"),
            "run_id",
        ),
    ];
    for (org, m, field) in cases {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), org, true);
        let err = store
            .store_bytes("text/plain", Bytes::from_static(b"x"), &m)
            .await
            .unwrap_err();
        match err {
            Error::InvalidInput { field: f, message } => {
                assert_eq!(f, field, "{org}");
                assert!(message.contains(&org.to_string()), "{message}");
            }
            other => panic!("{org}: expected InvalidInput, got {other}"),
        }
        assert!(
            files(&dir.path().join("media")).is_empty(),
            "{org}: something was written"
        );
    }
}
