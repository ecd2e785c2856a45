//! The part of a store that runs before the lock: hashing the bytes,
//! writing them to a temp file in their directory, and creating the
//! sidecar's temp file.
//!
//! Large bytes are hashed on a second thread while this one writes them.
//! When the journal may already hold the bytes (same
//! [probe](super::journal::probe)), the hash comes first and a dedup hit
//! writes no media.

use std::path::Path;
use std::sync::Arc;

use tokio::runtime::{Handle, RuntimeFlavor};

use super::FileStore;
use super::ops::{Inner, NewMedia, Prepared};
use super::paths::check_relative;
use super::records::TempFile;
use crate::Result;

/// Whether blocking work may run in place on this runtime
/// ([`tokio::task::block_in_place`] needs the multi-thread runtime).
pub(crate) fn can_block_in_place() -> bool {
    Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread)
}

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

/// Prepares on the calling thread (inside `block_in_place`): it writes the
/// media while a blocking-pool thread hashes the bytes and creates the
/// sidecar's temp file (file creation is the slow part on many
/// filesystems).
pub(crate) fn inline(inner: &Inner, new: &Arc<NewMedia>) -> Result<Prepared> {
    if maybe_dup(inner, new) {
        return serial(inner, new);
    }
    let dir = inner.prepare_dir(&new.rel_dir)?;
    let n = Arc::clone(new);
    let d = dir.clone();
    let helper = tokio::task::spawn_blocking(move || (hash(&n.data), TempFile::create(&d)));
    let media = TempFile::write(&dir, &new.data, inner.config.fsync);
    let (hash, sidecar) = super::join(futures::executor::block_on(helper).map(Ok))?;
    Ok(Prepared {
        hash,
        media: Some(media?),
        sidecar: Some(sidecar?),
    })
}

impl FileStore {
    /// Prepares on the blocking pool (current-thread runtimes): the hash and
    /// the write on two threads at once.
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
