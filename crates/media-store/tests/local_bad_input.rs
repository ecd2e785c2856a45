//! Bad input to the local store: typed errors, and nothing on disk.

use std::path::Path;

use bytes::Bytes;
use promptkit_media_store::conformance::random_bytes;
use promptkit_media_store::{
    Error, FileStore, MediaContent, MediaMetadata, MediaStore, MediaStoreExt, Organization,
};

/// Files under `media/` (the index database is not media).
fn count_files(dir: &Path) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.join("media")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                n += 1;
            }
        }
    }
    n
}

#[tokio::test]
async fn bad_media_gets_typed_errors_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::builder()
        .with_base_dir(dir.path())
        .with_organization(Organization::Flat)
        .with_max_file_size(1000)
        .build()
        .unwrap();
    let meta = MediaMetadata::new().with_conversation("c");
    let mut none = MediaContent::from_bytes("image/png", Bytes::new());
    none.data = None;
    let jpeg = random_bytes(b"\xFF\xD8\xFF\xE0", 500);
    let cases: Vec<(&str, MediaContent, &str)> = vec![
        ("no bytes", none, "data"),
        (
            "empty",
            MediaContent::from_bytes("image/png", Bytes::new()),
            "data",
        ),
        (
            "jpeg as png",
            MediaContent::from_bytes("image/png", jpeg.clone()),
            "mime_type",
        ),
        (
            "pdf as gif",
            MediaContent::from_bytes("image/gif", random_bytes(b"%PDF-", 50)),
            "mime_type",
        ),
        (
            "png as mp3",
            MediaContent::from_bytes("audio/mpeg", random_bytes(b"\x89PNG\r\n\x1a\n", 50)),
            "mime_type",
        ),
        (
            "bad mime",
            MediaContent::from_bytes("image png", jpeg),
            "mime_type",
        ),
    ];
    for (what, content, field) in cases {
        match store.store(&content, &meta).await {
            Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field, "{what}"),
            other => panic!("{what}: expected InvalidInput, got {other:?}"),
        }
    }
    let big = random_bytes(b"PKTEST", 1001);
    match store
        .store_bytes("application/octet-stream", big, &meta)
        .await
    {
        Err(Error::TooLarge { size, max }) => assert_eq!((size, max), (1001, 1000)),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(count_files(dir.path()), 0, "bad input left files behind");
    let exact = random_bytes(b"PKTEST", 1000);
    store
        .store_bytes("application/octet-stream", exact, &meta)
        .await
        .expect("exactly max_file_size is accepted");
}

#[tokio::test]
async fn aliases_and_unknown_bytes_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::builder()
        .with_base_dir(dir.path())
        .with_organization(Organization::Flat)
        .build()
        .unwrap();
    let meta = MediaMetadata::new();
    for (mime, magic) in [
        ("image/jpg", &b"\xFF\xD8\xFF\xE0"[..]),
        ("audio/mp3", b"ID3\x03"),
        ("audio/x-wav", b"RIFF\0\0\0\0WAVE"),
        ("video/quicktime", b"\0\0\0\x14ftypqt  "),
        ("application/octet-stream", b"%PDF-"),
        ("text/plain; charset=utf-8", b"plain words"),
    ] {
        let r = store
            .store_bytes(mime, random_bytes(magic, 64), &meta)
            .await;
        assert!(r.is_ok(), "{mime}: {r:?}");
    }
}

#[tokio::test]
async fn building_without_a_base_dir_is_a_config_error() {
    let err = FileStore::builder().build().unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    let file = tempfile::NamedTempFile::new().unwrap();
    let err = FileStore::builder()
        .with_base_dir(file.path())
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
}
