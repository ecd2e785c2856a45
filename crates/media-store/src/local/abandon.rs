//! Stores whose caller goes away: a dropped store future must not leave a
//! reference nobody holds.
//!
//! A store runs on a blocking-pool thread, which goes on when the future
//! awaiting it is dropped. The future holds a [`Waiting`] guard that marks
//! the store abandoned when dropped; the blocking thread checks the mark
//! before it commits (and then only removes its temp files) and right after
//! (and then removes the reference it just created, under the same lock).
//! A reference committed after both checks travels back in a [`Delivered`],
//! which removes it when dropped before the caller took it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::ops::Inner;
use crate::{Error, Result, StorageReference};

/// The blocking side's view of the caller.
#[derive(Clone)]
pub(crate) struct Caller(Arc<AtomicBool>);

/// Held by the store future: marks the store abandoned when dropped before
/// [`Waiting::received`].
pub(crate) struct Waiting(Option<Arc<AtomicBool>>);

/// A new caller and the guard its future holds.
pub(crate) fn caller() -> (Caller, Waiting) {
    let flag = Arc::new(AtomicBool::new(false));
    (Caller(Arc::clone(&flag)), Waiting(Some(flag)))
}

impl Caller {
    /// Whether the caller dropped the store.
    pub(crate) fn gone(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// The error an abandoned store ends with (nobody sees it).
    pub(crate) fn gone_error() -> Error {
        Error::Backend {
            backend: "local".into(),
            operation: "store".into(),
            message: "the caller dropped the store".into(),
            transient: true,
        }
    }
}

impl Waiting {
    /// Takes the reference the store delivered; the store is no longer
    /// abandoned by dropping anything.
    pub(crate) fn received(mut self, mut delivered: Delivered) -> StorageReference {
        self.0 = None;
        delivered
            .reference
            .take()
            .unwrap_or_else(|| unreachable!("a delivered store holds its reference"))
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(flag) = self.0.take() {
            flag.store(true, Ordering::SeqCst);
        }
    }
}

/// A committed reference on its way to the caller: removed from the store
/// when dropped before the caller took it.
pub(crate) struct Delivered {
    inner: Arc<Inner>,
    reference: Option<StorageReference>,
}

impl Delivered {
    pub(crate) fn new(inner: Arc<Inner>, reference: StorageReference) -> Delivered {
        Delivered {
            inner,
            reference: Some(reference),
        }
    }
}

impl Drop for Delivered {
    fn drop(&mut self) {
        let Some(reference) = self.reference.take() else {
            return;
        };
        // Dropped with the task's output, maybe on an async thread: the
        // removal blocks, so it goes to the blocking pool when there is one.
        // The reference is parked first: a runtime shutting down may drop
        // that task unrun, and then the next mutation of the store, or
        // dropping its last handle, removes it.
        self.inner.park_orphan(reference);
        let inner = Arc::clone(&self.inner);
        let undo = move || inner.remove_orphans();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(undo)),
            Err(_) => undo(),
        }
    }
}

/// Removes the reference of an abandoned store (lock held).
pub(crate) fn undo_locked(inner: &Inner, reference: &StorageReference) -> Result<()> {
    match inner.delete_locked(reference) {
        Ok(_) => {
            inner.maybe_compact();
            tracing::debug!(%reference, "store abandoned by its caller: reference removed");
            Ok(())
        }
        Err(e) => {
            tracing::warn!(%reference, error = %e, "could not remove the reference of an abandoned store");
            Err(e)
        }
    }
}
