//! `retrieve` and `url`.

use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;

use super::layout::RefKey;
use super::write::hash_hex;
use super::{ObjectStoreMediaStore, UrlSource};
use crate::sidecar::MediaSidecar;
use crate::{Error, MediaContent, Result, StorageReference};

impl ObjectStoreMediaStore {
    /// The marker of `reference` and the key of its bytes (read together);
    /// [`Error::NotFound`] when either is missing.
    pub(super) async fn resolve(
        &self,
        reference: &StorageReference,
    ) -> Result<(RefKey, MediaSidecar, Path)> {
        let r = RefKey::parse(reference)?;
        let marker_key = self.layout.marker_key(&r);
        let (marker, location) =
            futures::try_join!(self.read_sidecar(&marker_key), self.location(&r.hash))?;
        let not_found = || Error::NotFound {
            reference: reference.to_string(),
        };
        let record = marker.ok_or_else(not_found)??;
        Ok((r, record, location.ok_or_else(not_found)?))
    }

    pub(super) async fn retrieve_media(
        &self,
        reference: &StorageReference,
    ) -> Result<MediaContent> {
        let (r, record, key) = self.resolve(reference).await?;
        let not_found = || Error::NotFound {
            reference: reference.to_string(),
        };
        // Never more than its marker says it holds.
        let size = record.size_bytes;
        let data = match self.get_opt(&key, size).await? {
            Some(d) => d,
            // A delete may be re-checking right now (or was interrupted): its
            // trash copy holds the bytes.
            None => self
                .read_trash(&r.hash, size)
                .await?
                .ok_or_else(not_found)?,
        };
        if hash_hex(&data).await? != r.hash {
            return Err(Error::Corrupt {
                reference: reference.to_string(),
                message: format!("the bytes at {key} do not match their BLAKE3 hash"),
            });
        }
        let mut media = MediaContent::from_bytes(record.mime_type, data);
        media.storage_reference = Some(reference.clone());
        Ok(media)
    }

    /// The bytes of `hash` (`size` of them) from a trash copy left by a
    /// delete, if any.
    async fn read_trash(&self, hash: &str, size: u64) -> Result<Option<Bytes>> {
        let dir = self.layout.trash_dir(hash);
        let copies: Vec<_> = self
            .store
            .list(Some(&dir))
            .try_collect()
            .await
            .map_err(|e| self.err("list", &dir, e))?;
        for copy in copies {
            if let Some(b) = self.get_opt(&copy.location, size).await? {
                return Ok(Some(b));
            }
        }
        Ok(None)
    }

    pub(super) async fn media_url(
        &self,
        reference: &StorageReference,
        expiry: Duration,
    ) -> Result<String> {
        let r = RefKey::parse(reference)?;
        let not_found = || Error::NotFound {
            reference: reference.to_string(),
        };
        if !self.exists(&self.layout.marker_key(&r)).await? {
            return Err(not_found());
        }
        let key: Path = self.location(&r.hash).await?.ok_or_else(not_found)?;
        match &self.urls {
            UrlSource::None => Err(Error::NotSupported {
                operation: "url".into(),
                backend: self.backend.clone(),
            }),
            #[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
            UrlSource::Signer(signer) => signer
                .signed_url(object_store::signer::Method::GET, &key, expiry)
                .await
                .map(|u| u.to_string())
                .map_err(|e| self.err("sign url", &key, e)),
            UrlSource::Local(fs) => {
                let _ = expiry; // file URLs do not expire
                let path = fs
                    .path_to_filesystem(&key)
                    .map_err(|e| self.err("resolve path", &key, e))?;
                ::url::Url::from_file_path(&path)
                    .map(|u| u.to_string())
                    .map_err(|()| {
                        Error::Config(format!("{} is not an absolute path", path.display()))
                    })
            }
        }
    }
}
