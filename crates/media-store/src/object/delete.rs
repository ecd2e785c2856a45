//! `delete`: drop one marker; the last one takes the bytes, with a re-check.

use futures::StreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;

use super::ObjectStoreMediaStore;
use super::layout::{RefKey, sidecar_key};
use crate::sidecar::SIDECAR_LIMIT;
use crate::{Error, Result, StorageReference};

impl ObjectStoreMediaStore {
    pub(super) async fn delete_reference(&self, reference: &StorageReference) -> Result<()> {
        let r = RefKey::parse(reference)?;
        self.drop_reference(&r).await.map(|_| ())
    }

    /// Drops the reference `r` (the path of `delete`); returns whether its
    /// bytes went with it (it was the last reference).
    pub(super) async fn drop_reference(&self, r: &RefKey) -> Result<bool> {
        let marker = self.layout.marker_key(r);
        // Object stores delete missing keys silently: look first.
        if !self.exists(&marker).await? {
            return Err(Error::NotFound {
                reference: r.to_reference()?.to_string(),
            });
        }
        self.delete_key(&marker).await?;
        if self.has_references(&r.hash).await? {
            return Ok(false);
        }
        self.remove_unreferenced(&r.hash).await
    }

    /// Whether any reference marker of `hash` exists.
    pub(super) async fn has_references(&self, hash: &str) -> Result<bool> {
        let dir = self.layout.refs_dir(hash);
        match self.store.list(Some(&dir)).next().await {
            None => Ok(false),
            Some(Ok(_)) => Ok(true),
            Some(Err(e)) => Err(self.err("list", &dir, e)),
        }
    }

    /// Deletes the bytes and sidecar of `hash`, putting them back if a
    /// concurrent store added a reference meanwhile (see the module docs).
    /// Returns whether the bytes are gone for good (not put back, and not
    /// already removed by someone else).
    pub(super) async fn remove_unreferenced(&self, hash: &str) -> Result<bool> {
        let Some(key) = self.location(hash).await? else {
            return Ok(false);
        };
        let trash = self
            .layout
            .trash_dir(hash)
            .join(uuid::Uuid::new_v4().simple().to_string());
        match self.store.copy(&key, &trash).await {
            Ok(()) => {}
            // Already removed by a concurrent delete of another last reference.
            Err(object_store::Error::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(self.err("copy", &key, e)),
        }
        let sidecar = sidecar_key(&key);
        // A sidecar too large to be one is not kept (nor read).
        let sidecar_bytes = match self.get_opt(&sidecar, SIDECAR_LIMIT).await {
            Err(Error::Corrupt { .. }) => None,
            read => read?,
        };
        self.delete_key(&sidecar).await?;
        self.delete_key(&key).await?;
        let restored = self.has_references(hash).await?;
        if restored {
            self.restore(&key, &sidecar, sidecar_bytes, &trash).await?;
        }
        self.delete_key(&trash).await?;
        Ok(!restored)
    }

    /// Puts bytes and sidecar back after a delete lost the race with a store.
    async fn restore(
        &self,
        key: &Path,
        sidecar: &Path,
        sidecar_bytes: Option<bytes::Bytes>,
        trash: &Path,
    ) -> Result<()> {
        tracing::debug!(%key, "a reference appeared during delete; restoring the media");
        if let Some(b) = sidecar_bytes {
            let opts = object_store::PutOptions {
                mode: object_store::PutMode::Create,
                ..Default::default()
            };
            match self.store.put_opts(sidecar, b.into(), opts).await {
                Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => {}
                Err(e) => return Err(self.err("put", sidecar, e)),
            }
        }
        // Overwriting is safe: any concurrent writer writes the same bytes.
        self.store
            .copy(trash, key)
            .await
            .map_err(|e| self.err("copy", trash, e))
    }
}
