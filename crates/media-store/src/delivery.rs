//! The promise every backend keeps for `store`: a caller that goes away
//! (its future dropped at any point: a web handler whose client
//! disconnected) leaves no reference behind.
//!
//! A backend runs the store as its own task, which finishes whatever
//! happens to the caller, and hands the reference over through a
//! [`Delivery`]. Whichever side finds the other gone undoes the reference:
//! the task when the caller left before the hand-over, the caller's
//! [`Pending`] when it is dropped holding a reference it never returned.

use tokio::sync::oneshot;

use crate::{Error, Result, StorageReference};

type Undo = Box<dyn FnOnce(StorageReference) + Send>;

/// The task's end of a store.
#[derive(Debug)]
pub(crate) struct Delivery {
    tx: oneshot::Sender<Result<StorageReference>>,
}

/// The caller's end of a store.
pub(crate) struct Pending {
    rx: Option<oneshot::Receiver<Result<StorageReference>>>,
    undo: Option<Undo>,
}

/// A store's two ends; `undo` drops a reference the caller never received.
pub(crate) fn channel(undo: impl FnOnce(StorageReference) + Send + 'static) -> (Delivery, Pending) {
    let (tx, rx) = oneshot::channel();
    (
        Delivery { tx },
        Pending {
            rx: Some(rx),
            undo: Some(Box::new(undo)),
        },
    )
}

impl Delivery {
    /// Whether the caller has gone away (no point starting or going on).
    pub(crate) fn caller_gone(&self) -> bool {
        self.tx.is_closed()
    }

    /// Hands the result over. Returns the reference to undo when the caller
    /// is gone.
    #[must_use]
    pub(crate) fn deliver(self, result: Result<StorageReference>) -> Option<StorageReference> {
        match self.tx.send(result) {
            Ok(()) => None,
            Err(Ok(reference)) => Some(reference),
            Err(Err(_)) => None,
        }
    }
}

impl Pending {
    /// Waits for the task's result.
    pub(crate) async fn wait(mut self) -> Result<StorageReference> {
        let rx = self.rx.as_mut().expect("waited once");
        let result = rx.await;
        self.rx = None;
        result.unwrap_or_else(|_| {
            Err(Error::Backend {
                backend: "media store".into(),
                operation: "store".into(),
                message: "the store task ended without a result (runtime shutting down?)".into(),
                transient: true,
                source: None,
            })
        })
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(mut rx) = self.rx.take() {
            // From here on the task's hand-over fails and the task undoes;
            // a reference handed over before this is undone here.
            rx.close();
            if let Ok(Ok(reference)) = rx.try_recv()
                && let Some(undo) = self.undo.take()
            {
                undo(reference);
            }
        }
    }
}

/// Logs an undo that failed (its reference then only keeps bytes alive, for
/// `gc` to report).
pub(crate) fn report_undo(reference: &StorageReference, undone: Result<impl Sized>) {
    if let Err(e) = undone {
        tracing::warn!(%reference, error = %e, "could not drop the reference of an abandoned store");
    }
}

/// Runs `undo` on a thread of its own: it runs even when the caller's
/// runtime is shutting down (which runs no more tasks) or the caller is a
/// `Drop`. Abandoned stores are rare, so a thread each costs nothing.
pub(crate) fn undo_on_own_thread(undo: impl FnOnce() + Send + 'static) {
    let spawned = std::thread::Builder::new()
        .name("promptkit-media-undo".into())
        .spawn(undo);
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "could not start a thread to drop an abandoned store's reference");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    fn undone() -> (
        Arc<Mutex<Vec<String>>>,
        impl FnOnce(StorageReference) + Send + 'static,
    ) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = Arc::clone(&log);
        (log, move |r: StorageReference| {
            l.lock().unwrap().push(r.to_string())
        })
    }

    fn r(s: &str) -> StorageReference {
        StorageReference::new(s).unwrap()
    }

    #[tokio::test]
    async fn delivered_reference_is_kept() {
        let (log, undo) = undone();
        let (d, p) = channel(undo);
        assert!(d.deliver(Ok(r("file:a"))).is_none());
        assert_eq!(p.wait().await.unwrap(), r("file:a"));
        assert!(log.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn caller_gone_before_hand_over_makes_the_task_undo() {
        let (log, undo) = undone();
        let (d, p) = channel(undo);
        drop(p);
        assert!(d.caller_gone());
        assert_eq!(d.deliver(Ok(r("file:a"))), Some(r("file:a")));
        assert!(
            log.lock().unwrap().is_empty(),
            "the task undoes, not the caller"
        );
    }

    #[tokio::test]
    async fn caller_gone_after_hand_over_undoes_once() {
        let (log, undo) = undone();
        let (d, p) = channel(undo);
        assert!(d.deliver(Ok(r("file:a"))).is_none());
        drop(p);
        assert_eq!(*log.lock().unwrap(), ["file:a"]);
    }
}
