//! Helpers shared by the conformance tests.

use bytes::Bytes;

use crate::{
    Error, MediaContent, MediaMetadata, MediaStore, MediaStoreExt, StorageReference, StorageStats,
};

/// Fresh random bytes (BLAKE3 XOF over a random seed) after `prefix`.
pub fn random_bytes(prefix: &[u8], len: usize) -> Bytes {
    let mut out = prefix.to_vec();
    let mut rest = vec![0u8; len.saturating_sub(prefix.len())];
    let seed = uuid::Uuid::new_v4();
    blake3::Hasher::new()
        .update(seed.as_bytes())
        .finalize_xof()
        .fill(&mut rest);
    out.extend_from_slice(&rest);
    Bytes::from(out)
}

/// Random bytes without any recognised magic number, for `application/octet-stream`.
pub(super) fn opaque_bytes(len: usize) -> Bytes {
    random_bytes(b"PKTEST\0", len)
}

/// Metadata with fresh session, conversation and run ids.
pub fn fresh_metadata(tag: &str) -> MediaMetadata {
    let id = uuid::Uuid::new_v4().simple().to_string();
    MediaMetadata::new()
        .with_session(format!("sess-{tag}-{}", &id[..8]))
        .with_conversation(format!("conv-{tag}-{}", &id[8..16]))
        .with_run(format!("run-{tag}-{}", &id[16..24]))
        .with_position(1, 0)
        .with_provider("conformance")
}

pub(super) async fn stats(store: &dyn MediaStore, ctx: &str) -> StorageStats {
    match store.stats().await {
        Ok(s) => s,
        Err(e) => panic!("{ctx}: stats() failed: {e}"),
    }
}

pub(super) async fn put(
    store: &dyn MediaStore,
    mime: &str,
    data: &Bytes,
    meta: &MediaMetadata,
) -> StorageReference {
    match store.store_bytes(mime, data.clone(), meta).await {
        Ok(r) => r,
        Err(e) => panic!("store of {} bytes of {mime} failed: {e}", data.len()),
    }
}

pub(super) async fn get(
    store: &dyn MediaStore,
    reference: &StorageReference,
    ctx: &str,
) -> MediaContent {
    match store.retrieve(reference).await {
        Ok(m) => m,
        Err(e) => panic!("{ctx}: retrieve({reference}) failed: {e}"),
    }
}

pub(super) fn assert_bytes(m: &MediaContent, want: &Bytes, ctx: &str) {
    let got = m
        .data
        .as_ref()
        .unwrap_or_else(|| panic!("{ctx}: retrieve returned no inline bytes"));
    assert!(
        got == want,
        "{ctx}: retrieved {} bytes differ from the {} stored",
        got.len(),
        want.len()
    );
    assert_eq!(
        m.size_bytes,
        want.len() as u64,
        "{ctx}: size_bytes is not the real size"
    );
}

pub(super) async fn assert_not_found(
    store: &dyn MediaStore,
    reference: &StorageReference,
    ctx: &str,
) {
    match store.retrieve(reference).await {
        Err(Error::NotFound { .. }) => {}
        Err(e) => panic!("{ctx}: retrieve({reference}) must be NotFound, got error {e}"),
        Ok(_) => panic!("{ctx}: retrieve({reference}) must be NotFound, but it resolved"),
    }
}
