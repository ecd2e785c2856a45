//! The part of a store that runs before the lock: hashing the bytes,
//! writing them to a temp file in their directory, and writing the sidecar
//! new content will have to its own temp file.
//!
//! The caller hashes the bytes on its own task ([`SharedHash::compute`],
//! yielding between chunks) while its blocking-pool thread wakes up and
//! writes them: so neither the wake-up of that thread nor the write waits
//! for the hash, and no second thread is needed. The blocking thread takes
//! the caller's hash when it needs it, or computes it itself when the
//! caller has not finished (a busy runtime, or a caller not polled), so it
//! never waits on its caller. When the journal may already hold the bytes
//! (same [probe](super::journal::probe)) the hash comes first, and a dedup
//! hit writes nothing (the commit only appends its journal line).

use std::sync::{Mutex, MutexGuard};

use super::commit::fresh_sidecar;
use super::ops::{Inner, NewMedia, Prepared};
use super::records::{MediaSidecar, TempFile};
use crate::{Error, Result};

/// How much the caller hashes between two yields (about 60 µs of work).
const CHUNK: usize = 256 * 1024;

/// The BLAKE3 hash of a store's bytes, computed once: by the store's caller,
/// or by its blocking thread when that needs it first.
#[derive(Debug, Default)]
pub(crate) struct SharedHash {
    state: Mutex<HashState>,
}

#[derive(Debug, Default)]
enum HashState {
    /// Nobody has published the hash yet.
    #[default]
    Open,
    /// The blocking thread hashes the bytes itself: the caller stops.
    Taken,
    /// The caller's hash.
    Done(blake3::Hash),
}

impl SharedHash {
    fn state(&self) -> MutexGuard<'_, HashState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The caller's side: hashes `data` in chunks, yielding to the runtime
    /// between them, and publishes the hash; stops as soon as the blocking
    /// thread has taken the job over.
    pub(crate) async fn compute(&self, data: &[u8]) {
        let mut hasher = blake3::Hasher::new();
        for (i, chunk) in data.chunks(CHUNK).enumerate() {
            if i > 0 {
                tokio::task::yield_now().await;
            }
            if matches!(*self.state(), HashState::Taken) {
                return;
            }
            hasher.update(chunk);
        }
        let mut state = self.state();
        if matches!(*state, HashState::Open) {
            *state = HashState::Done(hasher.finalize());
        }
    }

    /// The blocking side: the caller's hash when it is published, else the
    /// hash of `data` computed here (hex).
    pub(crate) fn get(&self, data: &[u8]) -> String {
        let published = {
            let mut state = self.state();
            match *state {
                HashState::Done(h) => Some(h),
                _ => {
                    *state = HashState::Taken;
                    None
                }
            }
        };
        published
            .unwrap_or_else(|| blake3::hash(data))
            .to_hex()
            .to_string()
    }
}

/// Whether the journal (as last replayed) may already hold the bytes.
fn maybe_dup(inner: &Inner, new: &NewMedia) -> bool {
    inner.config.enable_deduplication
        && inner
            .journal
            .peek(|j| j.may_hold(new.probe, new.data.len() as u64))
}

/// Writes the sidecar new content gets to a temp file in its directory.
fn sidecar(inner: &Inner, new: &NewMedia, hash: &str) -> Result<(TempFile, MediaSidecar)> {
    let dir = inner.prepare_dir(&new.rel_dir)?;
    let fresh = fresh_sidecar(inner, new, hash);
    let json =
        serde_json::to_vec_pretty(&fresh).map_err(|e| Error::io(&dir, std::io::Error::other(e)))?;
    let mut temp = TempFile::create(&dir)?;
    temp.fill(&json, inner.config.fsync)?;
    Ok((temp, fresh))
}

/// Writes the media temp file.
fn media(inner: &Inner, new: &NewMedia) -> Result<TempFile> {
    let dir = inner.prepare_dir(&new.rel_dir)?;
    TempFile::write(&dir, &new.data, inner.config.fsync)
}

/// Prepares a store (on a blocking-pool thread): the hash, and for new
/// content the media and sidecar temp files.
pub(crate) fn prepare(inner: &Inner, new: &NewMedia, hash: &SharedHash) -> Result<Prepared> {
    let (hash, media) = if maybe_dup(inner, new) {
        let hash = hash.get(&new.data);
        // The view as last replayed (no system call): a stale one only
        // costs a media write the commit then drops, or one it makes.
        if inner.journal.peek(|j| j.dedup_path(&hash)).is_some() {
            return Ok(Prepared {
                hash,
                ..Prepared::default()
            });
        }
        let media = media(inner, new)?;
        (hash, media)
    } else {
        // No live content has the same probe, so the hash cannot make this
        // a dedup hit (the commit checks again): write while the caller
        // hashes.
        let media = media(inner, new)?;
        (hash.get(&new.data), media)
    };
    let (sidecar, fresh) = sidecar(inner, new, &hash)?;
    Ok(Prepared {
        hash,
        media: Some(media),
        sidecar: Some(sidecar),
        fresh: Some(fresh),
    })
}
