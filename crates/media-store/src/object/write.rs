//! `store`: marker first, then claim the location and make sure the bytes exist.

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload, WriteMultipart};
use time::OffsetDateTime;

use super::ObjectStoreMediaStore;
use super::config::PART_SIZE;
use super::layout::{RefKey, sidecar_key};
use crate::layout::content_hash;
use crate::sidecar::MediaSidecar;
use crate::{
    Error, MediaContent, MediaMetadata, Result, StorageReference, extension_for_mime,
    validate_media,
};

/// How often a conditional create is retried when the backend reports a
/// conflict that a following `head` does not confirm.
const ATTEMPTS: usize = 4;
/// Parts of one multipart upload in flight at once.
const PARTS_IN_FLIGHT: usize = 4;
/// Media from this size on is hashed off the async threads.
const HASH_OFFLOAD: usize = 4 * 1024 * 1024;

/// The reference of a store in progress, dropped again unless disarmed.
struct Abandoned<'a> {
    store: &'a ObjectStoreMediaStore,
    reference: StorageReference,
    armed: bool,
}

impl Abandoned<'_> {
    fn disarm(mut self) -> StorageReference {
        self.armed = false;
        self.reference.clone()
    }
}

impl Drop for Abandoned<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.store.drop_abandoned(self.reference.clone());
        }
    }
}

/// Outcome of a conditional create.
enum Created {
    Yes,
    AlreadyThere,
}

impl ObjectStoreMediaStore {
    pub(super) async fn store_media(
        &self,
        content: &MediaContent,
        metadata: &MediaMetadata,
    ) -> Result<StorageReference> {
        let data = validate_media(content, self.config.max_file_size)?;
        let ext = extension_for_mime(&content.mime_type);
        let hash = hash_hex(&data).await?;
        let own_key = self
            .layout
            .content_key(self.config.organization, metadata, &hash, ext)?;
        let mut metadata = metadata.clone();
        metadata.policy = Some(metadata.policy.unwrap_or(self.config.default_policy));
        let record = Bytes::from(
            MediaSidecar::new(
                &hash,
                &content.mime_type,
                data.len() as u64,
                OffsetDateTime::now_utc(),
                metadata,
            )
            .to_json()?,
        );

        let reference = self.put_marker(&hash, record.clone()).await?;
        let marker = self.layout.marker_key(&reference);
        // Dropped before the bytes are in place (the task cancelled, e.g. by
        // a runtime shutting down): the marker is removed all the same.
        let pending = Abandoned {
            store: self,
            reference: reference.to_reference()?,
            armed: true,
        };
        let written = self.ensure_content(&hash, &own_key, &data, record).await;
        let reference = pending.disarm();
        match written {
            Ok(()) => Ok(reference),
            Err(e) => {
                // No reference for bytes that were not written. If this fails
                // too (backend down), the stray marker only keeps bytes alive.
                if let Err(cleanup) = self.delete_key(&marker).await {
                    tracing::warn!(%marker, error = %cleanup, "could not remove the marker of a failed store");
                }
                Err(e)
            }
        }
    }

    /// Writes a new reference marker with a fresh id.
    async fn put_marker(&self, hash: &str, record: Bytes) -> Result<RefKey> {
        for _ in 0..ATTEMPTS {
            let r = RefKey::fresh(hash);
            let key = self.layout.marker_key(&r);
            if let Created::Yes = self.create(&key, record.clone()).await? {
                return Ok(r);
            }
            // An id collision (or a conflict that wrote nothing): pick another id.
        }
        Err(self.unconfirmed("create reference marker", &hash))
    }

    /// Makes sure the bytes of `hash` exist at their (claimed) location.
    async fn ensure_content(
        &self,
        hash: &str,
        own_key: &Path,
        data: &Bytes,
        sidecar: Bytes,
    ) -> Result<()> {
        let (key, claimed) = self.claim_location(hash, own_key).await?;
        // Right after claiming, the bytes are almost surely absent: skip the head.
        let mut check_first = !claimed;
        for _ in 0..ATTEMPTS {
            if check_first && self.exists(&key).await? {
                return Ok(());
            }
            check_first = true;
            // The sidecar first: bytes are never visible without it.
            self.create(&sidecar_key(&key), sidecar.clone()).await?;
            // object_store runs the parts of a multipart upload as Tokio
            // tasks: outside a runtime (a store that needs none, such as the
            // in-memory one, polled by another executor) the bytes go in one
            // put.
            let multipart = data.len() >= self.config.multipart_threshold
                && tokio::runtime::Handle::try_current().is_ok();
            if multipart {
                // Multipart uploads cannot be conditional; identical bytes under
                // a content address make a concurrent overwrite harmless, and
                // completion is atomic on every backend.
                return self.upload_multipart(&key, data.clone()).await;
            }
            if let Created::Yes = self.create(&key, data.clone()).await? {
                return Ok(());
            }
            // `AlreadyExists` only counts once `head` confirms it (next turn).
        }
        if self.exists(&key).await? {
            Ok(())
        } else {
            Err(self.unconfirmed("create media object", &key))
        }
    }

    /// The key the bytes of `hash` live at: the recorded one, or `own_key`
    /// after claiming it. Returns whether this call made the claim.
    async fn claim_location(&self, hash: &str, own_key: &Path) -> Result<(Path, bool)> {
        let loc = self.layout.location_key(hash);
        for _ in 0..ATTEMPTS {
            if let Some(key) = self.location(hash).await? {
                return Ok((key, false));
            }
            if let Created::Yes = self.create(&loc, Bytes::from(own_key.to_string())).await? {
                return Ok((own_key.clone(), true));
            }
        }
        Err(self.unconfirmed("claim content location", &loc))
    }

    /// `PutMode::Create`; `AlreadyExists` is reported, not an error.
    async fn create(&self, key: &Path, data: Bytes) -> Result<Created> {
        let opts = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self.store.put_opts(key, PutPayload::from(data), opts).await {
            Ok(_) => Ok(Created::Yes),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(Created::AlreadyThere),
            Err(e) => Err(self.err("put", key, e)),
        }
    }

    /// Streams `data` to `key` in parts, aborting the upload on failure.
    async fn upload_multipart(&self, key: &Path, data: Bytes) -> Result<()> {
        let upload = self
            .store
            .put_multipart(key)
            .await
            .map_err(|e| self.err("start multipart upload", key, e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut offset = 0;
        while offset < data.len() {
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                let _ = writer.abort().await;
                return Err(self.err("upload part", key, e));
            }
            let end = (offset + PART_SIZE).min(data.len());
            writer.put(data.slice(offset..end));
            offset = end;
        }
        writer
            .finish()
            .await
            .map(|_| ())
            .map_err(|e| self.err("complete multipart upload", key, e))
    }

    fn unconfirmed(&self, operation: &str, key: &dyn std::fmt::Display) -> Error {
        Error::Backend {
            backend: self.backend.clone(),
            operation: format!("{operation} {key}"),
            message: format!(
                "the backend kept reporting a conflict that `head` did not confirm ({ATTEMPTS} attempts)"
            ),
            transient: true,
            source: None,
        }
    }
}

/// BLAKE3 of `data` as lowercase hex; large media is hashed on a blocking thread.
pub(super) async fn hash_hex(data: &Bytes) -> Result<String> {
    let runtime = match tokio::runtime::Handle::try_current() {
        Ok(rt) if data.len() >= HASH_OFFLOAD => rt,
        // Small media, or no Tokio runtime to hand the work to (an object
        // store that needs none, such as the in-memory one, polled by
        // another executor).
        _ => return Ok(content_hash(data)),
    };
    let d = data.clone();
    runtime
        .spawn_blocking(move || content_hash(&d))
        .await
        .map_err(|e| Error::backend("blake3", "hash media", false, e))
}
