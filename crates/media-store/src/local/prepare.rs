//! The part of a store that runs before the lock: hashing the bytes,
//! writing them to a temp file in their directory, and writing the sidecar
//! new content will have to its own temp file.
//!
//! Large new bytes are hashed by a second blocking-pool thread while the
//! calling thread writes them; the second thread then writes the sidecar.
//! When the journal may already hold the bytes (same
//! [probe](super::journal::probe)), and for small bytes, the hash comes
//! first and a dedup hit writes nothing (the commit only appends its
//! journal line).

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::commit::fresh_sidecar;
use super::ops::{Inner, NewMedia, Prepared};
use super::records::{MediaSidecar, TempFile};
use crate::{Error, Result};

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

/// A dedup hit: nothing to write before the lock.
fn hit(hash: String) -> Prepared {
    Prepared {
        hash,
        media: None,
        sidecar: None,
        fresh: None,
    }
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

/// Hash first, then write unless it is a dedup hit.
fn serial(inner: &Inner, new: &NewMedia) -> Result<Prepared> {
    let hash = hash(&new.data);
    if inner.config.enable_deduplication {
        // The view as last replayed (no system call): a stale one only
        // costs a media write the commit then drops, or one it makes.
        if inner.journal.peek(|j| j.dedup_path(&hash)).is_some() {
            return Ok(hit(hash));
        }
    }
    let media = media(inner, new)?;
    let (sidecar, fresh) = sidecar(inner, new, &hash)?;
    Ok(Prepared {
        hash,
        media: Some(media),
        sidecar: Some(sidecar),
        fresh: Some(fresh),
    })
}

/// Bytes from this size on are hashed by another blocking-pool thread
/// while this one writes them (below it, handing the hash over saved nothing
/// measurable: tried at 64 KiB).
const PARALLEL_FROM: usize = 512 * 1024;

/// What the helper computes: the hash, and the sidecar written with it.
type Side = (String, Result<(TempFile, MediaSidecar)>);

/// The hash-and-sidecar job of a large store, done by whichever thread
/// takes it first: another blocking-pool thread, or the preparing thread
/// once its write is done. So a busy (or exhausted, or shut down) pool only
/// makes the store serial, never stuck.
#[derive(Default)]
struct Job {
    state: Mutex<State>,
    done: Condvar,
}

#[derive(Default)]
enum State {
    #[default]
    Waiting,
    Taken,
    Done(Box<std::thread::Result<Side>>),
}

impl Job {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the job if nobody has.
    fn take(&self) -> bool {
        let mut s = self.state();
        let free = matches!(*s, State::Waiting);
        if free {
            *s = State::Taken;
        }
        free
    }

    /// Runs the job (taken by this thread) and publishes its outcome, a
    /// panic included.
    fn run(&self, inner: &Inner, new: &NewMedia) {
        let out = std::panic::catch_unwind(AssertUnwindSafe(|| side(inner, new)));
        *self.state() = State::Done(Box::new(out));
        self.done.notify_all();
    }

    /// The outcome, once the thread that took the job is done with it.
    fn wait(&self) -> Side {
        let mut s = self.state();
        loop {
            // Taken for good once consumed: a helper starting late must
            // not run the job again.
            match std::mem::replace(&mut *s, State::Taken) {
                State::Done(out) => return out.unwrap_or_else(|p| std::panic::resume_unwind(p)),
                other => {
                    *s = other;
                    s = self.done.wait(s).unwrap_or_else(|p| p.into_inner());
                }
            }
        }
    }
}

fn side(inner: &Inner, new: &NewMedia) -> Side {
    let hash = hash(&new.data);
    let sidecar = sidecar(inner, new, &hash);
    (hash, sidecar)
}

/// Prepares a store (on a blocking-pool thread).
pub(crate) fn prepare(inner: &Arc<Inner>, new: &Arc<NewMedia>) -> Result<Prepared> {
    if new.data.len() < PARALLEL_FROM || maybe_dup(inner, new) {
        return serial(inner, new);
    }
    // New bytes, and large: another pool thread hashes them (then writes the
    // sidecar) while this one writes them. The hash cannot make this a dedup
    // hit (no live content has the same probe; the commit checks again).
    let job = Arc::new(Job::default());
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        let (job, inner, new) = (Arc::clone(&job), Arc::clone(inner), Arc::clone(new));
        // Detached: the job outlives neither its taker nor this store.
        drop(rt.spawn_blocking(move || {
            if job.take() {
                job.run(&inner, &new);
            }
        }));
    }
    let written = media(inner, new);
    if job.take() {
        job.run(inner, new);
    }
    let (hash, sidecar) = job.wait();
    let (sidecar, fresh) = sidecar?;
    Ok(Prepared {
        hash,
        media: Some(written?),
        sidecar: Some(sidecar),
        fresh: Some(fresh),
    })
}
