//! The part of a store that runs before the lock: hashing the bytes,
//! writing them to a temp file in their directory, and creating the
//! sidecar's temp file.
//!
//! The bytes are hashed on one blocking-pool thread while another writes them.
//! When the journal may already hold the bytes (same
//! [probe](super::journal::probe)), the hash comes first and a dedup hit
//! writes no media.

use std::path::Path;
use std::sync::Arc;

use super::FileStore;
use super::ops::{Inner, NewMedia, Prepared};
use super::paths::check_relative;
use super::records::TempFile;
use crate::Result;

fn hash(data: &[u8]) -> String {
    blake3::hash(data).to_hex().to_string()
}

/// Whether the journal (as last replayed) may already hold the bytes.
fn maybe_dup(inner: &Inner, new: &NewMedia) -> bool {
    inner.config.enable_deduplication
        && inner
            .journal
            .peek(|j| j.may_hold(new.probe, new.data.len() as u64))
}

/// A dedup hit: no media, the sidecar temp file next to the existing file
/// (when its directory is inside the store; the commit checks the rest).
fn hit(inner: &Inner, hash: String, path: &str) -> Prepared {
    let sidecar = check_relative(path)
        .ok()
        .and_then(|rel| rel.parent().map(Path::to_path_buf))
        .and_then(|dir| inner.checked_dir(&dir, path).ok())
        .and_then(|dir| TempFile::create(&dir).ok());
    Prepared {
        hash,
        media: None,
        sidecar,
    }
}

/// Writes the media temp file and creates the sidecar's.
fn write(inner: &Inner, new: &NewMedia, hash: String) -> Result<Prepared> {
    let dir = inner.prepare_dir(&new.rel_dir)?;
    let media = TempFile::write(&dir, &new.data, inner.config.fsync)?;
    let sidecar = TempFile::create(&dir)?;
    Ok(Prepared {
        hash,
        media: Some(media),
        sidecar: Some(sidecar),
    })
}

/// Hash first, then write unless it is a dedup hit.
fn serial(inner: &Inner, new: &NewMedia) -> Result<Prepared> {
    let hash = hash(&new.data);
    if inner.config.enable_deduplication {
        if let Some(path) = inner.dedup_hint(&hash)? {
            return Ok(hit(inner, hash, &path));
        }
    }
    write(inner, new, hash)
}

impl FileStore {
    /// Prepares on the blocking pool: the hash and the write on two threads
    /// at once (unless the journal says the bytes may be a dedup hit: then
    /// the hash first, and no write on a hit).
    pub(super) async fn prepare(&self, new: &Arc<NewMedia>) -> Result<Prepared> {
        let n = Arc::clone(new);
        if maybe_dup(&self.inner, new) {
            return self.blocking(move |inner| serial(inner, &n)).await;
        }
        let m = Arc::clone(new);
        let (hashed, written) = tokio::join!(
            self.blocking(move |_| Ok(hash(&n.data))),
            self.blocking(move |inner| write(inner, &m, String::new()))
        );
        let mut prepared = written?;
        prepared.hash = hashed?;
        Ok(prepared)
    }
}
