//! The part of a store that runs before the lock: hashing the bytes,
//! writing them to a temp file in their directory, and creating the
//! sidecar's temp file.
//!
//! Large new bytes are hashed on a second thread while the blocking-pool
//! thread writes them. When the journal may already hold the bytes (same
//! [probe](super::journal::probe)), and for small bytes, the hash comes
//! first and a dedup hit writes no media.

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

/// Bytes from this size on are hashed on a second thread while this one
/// writes them (below it, starting a thread costs more than the hash).
const PARALLEL_FROM: usize = 512 * 1024;

/// Prepares on the calling (blocking) thread.
fn here(inner: &Inner, new: &NewMedia) -> Result<Prepared> {
    if new.data.len() < PARALLEL_FROM || maybe_dup(inner, new) {
        return serial(inner, new);
    }
    // New bytes, and large: hash them alongside the write. The hash cannot
    // make this a dedup hit (no live content has the same probe).
    std::thread::scope(|scope| {
        let hasher = scope.spawn(|| hash(&new.data));
        let written = write(inner, new, String::new());
        let hashed = hasher
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        let mut prepared = written?;
        prepared.hash = hashed;
        Ok(prepared)
    })
}

impl FileStore {
    /// Prepares on the blocking pool, in one hop.
    pub(super) async fn prepare(&self, new: &Arc<NewMedia>) -> Result<Prepared> {
        let n = Arc::clone(new);
        self.blocking(move |inner| here(inner, &n)).await
    }
}
