//! Conformance tests of input handling: bad media, garbage references, URLs.

use std::time::Duration;

use bytes::Bytes;

use super::support::{fresh_metadata, put, random_bytes, stats};
use crate::{Error, MediaContent, MediaStore, StorageReference};

/// Bad input gets a typed error and writes nothing: no inline bytes, empty
/// bytes, a MIME type contradicting the magic number, a malformed MIME type,
/// a `provider_id` over 1,024 bytes; garbage references are
/// `NotFound`/`InvalidInput`/`PathEscape`, never a panic.
pub async fn bad_input_rejected(store: &dyn MediaStore) {
    let before = stats(store, "bad input").await;
    let meta = fresh_metadata("bad");
    let jpeg = random_bytes(b"\xFF\xD8\xFF\xE0", 800);
    let mut no_data = MediaContent::from_bytes("image/png", Bytes::new());
    no_data.data = None;
    let cases = [
        ("data = None", no_data),
        (
            "empty data",
            MediaContent::from_bytes("image/png", Bytes::new()),
        ),
        (
            "JPEG bytes declared image/png",
            MediaContent::from_bytes("image/png", jpeg.clone()),
        ),
        (
            "PDF bytes declared audio/wav",
            MediaContent::from_bytes("audio/wav", random_bytes(b"%PDF-", 64)),
        ),
        (
            "malformed MIME type",
            MediaContent::from_bytes("png", jpeg.clone()),
        ),
        ("empty MIME type", MediaContent::from_bytes("", jpeg)),
    ];
    for (what, content) in &cases {
        match store.store(content, &meta).await {
            Err(Error::InvalidInput { .. }) => {}
            Err(e) => panic!("bad input ({what}): expected InvalidInput, got {e}"),
            Ok(r) => panic!("bad input ({what}): was stored as {r}"),
        }
    }
    let long = crate::MediaMetadata {
        provider_id: Some("p".repeat(1025)),
        ..meta.clone()
    };
    let png = MediaContent::from_bytes("image/png", random_bytes(b"\x89PNG\r\n\x1a\n", 64));
    match store.store(&png, &long).await {
        Err(Error::InvalidInput { ref field, .. }) if field == "provider_id" => {}
        other => panic!("a provider_id of 1,025 bytes: expected InvalidInput, got {other:?}"),
    }
    for garbage in [
        "garbage",
        "file:../../etc/passwd",
        "file:/etc/passwd",
        "s3:../../../etc",
        "x:00000000000000000000000000000000",
        "file:00000000000000000000000000000000",
        "mem:ffffffffffffffffffffffffffffffff",
    ] {
        let Ok(r) = StorageReference::new(garbage) else {
            continue;
        };
        match store.retrieve(&r).await {
            Err(Error::NotFound { .. } | Error::InvalidInput { .. } | Error::PathEscape { .. }) => {
            }
            Err(e) => panic!("bad reference `{garbage}`: retrieve gave an unexpected error {e}"),
            Ok(_) => panic!("bad reference `{garbage}`: retrieve resolved"),
        }
        match store.delete(&r).await {
            Err(Error::NotFound { .. } | Error::InvalidInput { .. } | Error::PathEscape { .. }) => {
            }
            Err(e) => panic!("bad reference `{garbage}`: delete gave an unexpected error {e}"),
            Ok(()) => panic!("bad reference `{garbage}`: delete succeeded"),
        }
    }
    let after = stats(store, "bad input").await;
    assert_eq!(
        after, before,
        "bad input: statistics changed, so something was written"
    );
}

/// `url` returns an absolute URL (`scheme://...`) for a live reference.
pub async fn url_is_returned(store: &dyn MediaStore) {
    let data = random_bytes(b"\x89PNG\r\n\x1a\n", 256);
    let r = put(store, "image/png", &data, &fresh_metadata("url")).await;
    let url = store
        .url(&r, Duration::from_secs(3600))
        .await
        .unwrap_or_else(|e| panic!("url: url({r}) failed: {e}"));
    let scheme_ok = url.split_once("://").is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
            && !rest.is_empty()
    });
    assert!(scheme_ok, "url: `{url}` is not an absolute URL");
    assert!(
        !url.chars().any(char::is_whitespace),
        "url: `{url}` contains whitespace"
    );
    store
        .delete(&r)
        .await
        .unwrap_or_else(|e| panic!("url: delete failed: {e}"));
}
