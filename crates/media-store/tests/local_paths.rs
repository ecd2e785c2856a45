//! Path traversal attempts against the local store: hostile ids, hand-crafted
//! references and records, symlinks leading out of the base directory.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use promptkit_media_store::GcOptions;
use promptkit_media_store::conformance::random_bytes;
use promptkit_media_store::{
    Error, FileStore, MediaLifecycle, MediaMetadata, MediaStore, MediaStoreExt, Organization,
    StorageReference,
};

fn open(dir: &Path, org: Organization) -> FileStore {
    FileStore::builder()
        .with_base_dir(dir)
        .with_organization(org)
        .with_fsync(false)
        .build()
        .unwrap()
}

/// Every file under `dir`, recursively (symlinks not followed).
fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn hostile_ids_are_rejected_and_nothing_is_written() {
    let hostile = [
        "..",
        "../escape",
        "../../../../tmp/x",
        "/etc",
        "/abs/path",
        "a/b",
        "a\\b",
        "nul\0byte",
        ".",
        ".hidden",
        "",
        "C:",
        "new\nline",
    ];
    let outside = tempfile::tempdir().unwrap();
    for org in [
        Organization::BySession,
        Organization::ByConversation,
        Organization::ByRun,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), org);
        for id in hostile {
            let metas = [
                (
                    "session_id",
                    MediaMetadata::new()
                        .with_session(id)
                        .with_conversation("c")
                        .with_run("r"),
                ),
                (
                    "conversation_id",
                    MediaMetadata::new()
                        .with_session("s")
                        .with_conversation(id)
                        .with_run("r"),
                ),
                (
                    "run_id",
                    MediaMetadata::new()
                        .with_session("s")
                        .with_conversation("c")
                        .with_run(id),
                ),
            ];
            for (field, m) in metas {
                match store
                    .store_bytes("text/plain", Bytes::from_static(b"x"), &m)
                    .await
                {
                    Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field, "{id:?}"),
                    other => {
                        panic!("{org}: id {id:?} in {field}: expected InvalidInput, got {other:?}")
                    }
                }
            }
        }
        assert!(
            all_files(&dir.path().join("media")).is_empty(),
            "{org}: media written"
        );
        assert!(
            std::fs::read(dir.path().join(".promptkit/journal"))
                .unwrap_or_default()
                .is_empty(),
            "{org}: journal written"
        );
    }
    assert!(all_files(outside.path()).is_empty());
}

#[tokio::test]
async fn garbage_references_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), Organization::Flat);
    for s in [
        "file:../../etc/passwd",
        "file:/etc/passwd",
        "file:0123456789ABCDEF0123456789ABCDEF",
        "file:",
        "s3:bucket/key",
        "0123456789abcdef0123456789abcdef",
    ] {
        let r: StorageReference = s.parse().unwrap();
        for result in [
            store.retrieve(&r).await.map(drop),
            store
                .url(&r, std::time::Duration::from_secs(1))
                .await
                .map(drop),
            // The rows go; the path named is refused, never unlinked.
            store.delete(&r).await,
        ] {
            assert!(
                matches!(result, Err(Error::InvalidInput { .. })),
                "{s}: {result:?}"
            );
        }
    }
    let unknown: StorageReference = "file:0123456789abcdef0123456789abcdef".parse().unwrap();
    assert!(matches!(
        store.retrieve(&unknown).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        store.delete(&unknown).await,
        Err(Error::NotFound { .. })
    ));
}

/// Rewrites the index rows of `r` so they point at `path` (a hand edit of
/// the database).
fn tamper(dir: &Path, r: &StorageReference, path: &str) {
    let id = r.as_str().strip_prefix("file:").unwrap();
    let db = rusqlite::Connection::open(dir.join(".promptkit/index.sqlite3")).unwrap();
    db.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    let old: String = db
        .query_row("SELECT location FROM refs WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap();
    db.execute(
        "UPDATE media SET location = ?1 WHERE location = ?2",
        [path, &old],
    )
    .unwrap();
    db.execute("UPDATE refs SET location = ?1 WHERE id = ?2", [path, id])
        .unwrap();
}

#[tokio::test]
async fn hand_crafted_records_pointing_outside_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.txt");
    std::fs::write(&victim, b"do not touch").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), Organization::Flat);
    let depth = dir.path().components().count() + 2;
    let up = "../".repeat(depth);
    let victim_rel = victim.strip_prefix("/").unwrap().display().to_string();
    for path in [
        format!("media/{up}{victim_rel}"),
        victim.display().to_string(),
        format!("{up}{victim_rel}"),
        ".promptkit/index.sqlite3".to_owned(),
        "media/../.promptkit/index.sqlite3".to_owned(),
    ] {
        let r = store
            .store_bytes("text/plain", random_bytes(b"t", 10), &MediaMetadata::new())
            .await
            .unwrap();
        tamper(dir.path(), &r, &path);
        for result in [
            store.retrieve(&r).await.map(drop),
            store
                .url(&r, std::time::Duration::from_secs(1))
                .await
                .map(drop),
            // The rows go; the path named is refused, never unlinked.
            store.delete(&r).await,
        ] {
            assert!(
                matches!(result, Err(Error::PathEscape { .. })),
                "{path}: {result:?}"
            );
        }
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"do not touch");
    assert!(dir.path().join(".promptkit/index.sqlite3").is_file());
}

#[cfg(unix)]
#[tokio::test]
async fn symlinked_media_leading_out_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("secret.png");
    std::fs::write(&victim, b"\x89PNG\r\n\x1a\nsecret").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), Organization::Flat);
    let r = store
        .store_bytes(
            "image/png",
            random_bytes(b"\x89PNG\r\n\x1a\n", 64),
            &MediaMetadata::new(),
        )
        .await
        .unwrap();
    let media = store.path_of(&r).await.unwrap();
    std::fs::remove_file(&media).unwrap();
    std::os::unix::fs::symlink(&victim, &media).unwrap();
    assert!(matches!(
        store.retrieve(&r).await,
        Err(Error::PathEscape { .. })
    ));
    assert!(matches!(
        store.url(&r, std::time::Duration::from_secs(1)).await,
        Err(Error::PathEscape { .. })
    ));
    // Deleting the reference removes the link inside the store, never what
    // it points to.
    store.delete(&r).await.unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"\x89PNG\r\n\x1a\nsecret");
    assert!(
        std::fs::symlink_metadata(&media).is_err(),
        "the link went with its reference"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn symlinked_directory_leading_out_is_refused_on_store() {
    let outside = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), Organization::ByConversation);
    std::os::unix::fs::symlink(outside.path(), dir.path().join("media/evil")).unwrap();
    let m = MediaMetadata::new().with_conversation("evil");
    let err = store
        .store_bytes("text/plain", Bytes::from_static(b"payload"), &m)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PathEscape { .. }), "{err}");
    assert!(
        all_files(outside.path()).is_empty(),
        "wrote outside the store"
    );
    assert_eq!(store.stats().await.unwrap().objects, 0);
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_inside_the_store_are_followed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), Organization::ByConversation);
    std::fs::create_dir_all(dir.path().join("media/real")).unwrap();
    // A relative link (an absolute one is refused: the kernel walk stays
    // beneath the base folder and cannot follow an absolute target).
    std::os::unix::fs::symlink("real", dir.path().join("media/alias")).unwrap();
    let m = MediaMetadata::new().with_conversation("alias");
    let data = random_bytes(b"%PDF-", 100);
    let r = store
        .store_bytes("application/pdf", data.clone(), &m)
        .await
        .unwrap();
    assert_eq!(store.retrieve_bytes(&r).await.unwrap(), data);
    // Records hold the real path, so gc (which does not follow symlinks)
    // sees the file as referenced, and a new store's index counts it.
    let real = store.base_dir().join("media/real");
    assert!(store.path_of(&r).await.unwrap().starts_with(real));
    let report = store.gc(GcOptions::new(false)).await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert!(std::fs::symlink_metadata(dir.path().join("media/alias")).is_ok());
    let reopened = open(dir.path(), Organization::ByConversation);
    assert_eq!(reopened.stats().await.unwrap().objects, 1);
    assert_eq!(store.retrieve_bytes(&r).await.unwrap(), data);
    store.delete(&r).await.unwrap();
}
