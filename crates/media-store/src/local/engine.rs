//! The local store's operations on one thread: store, read, delete. Files
//! reach their final names inside the index's write transaction, so what the
//! index says and what the folder holds change together for every process.

use bytes::Bytes;
use rusqlite::Transaction;
use time::OffsetDateTime;

use super::config::FileStoreConfig;
use super::files::Files;
use super::index::{self, Index, MediaRow, NewRef};
use super::naming;
use crate::layout::content_hash;
use crate::sidecar::sidecar_location;
use crate::{
    Error, MediaMetadata, Result, RetentionPolicy, StorageReference, StoredReference,
    extension_for_mime,
};

/// Name of the index database in the state folder.
pub(crate) const INDEX_FILE: &str = ".promptkit/index.sqlite3";

/// The files and the index of one store.
#[derive(Debug)]
pub(crate) struct Engine {
    pub(crate) files: Files,
    pub(crate) index: Index,
    pub(crate) config: FileStoreConfig,
}

/// One store call, validated.
pub(crate) struct Request {
    pub(crate) data: Bytes,
    pub(crate) mime_type: String,
    pub(crate) metadata: MediaMetadata,
    /// `media/<org dirs>`
    pub(crate) dir: String,
    pub(crate) now: OffsetDateTime,
}

fn new_ref<'a>(
    id: &'a str,
    req: &'a Request,
    policy: RetentionPolicy,
    location: &'a str,
) -> NewRef<'a> {
    NewRef {
        id,
        location,
        mime_type: &req.mime_type,
        size: req.data.len() as u64,
        metadata: &req.metadata,
        policy,
        created: req.now,
    }
}

impl Engine {
    pub(crate) fn open(config: FileStoreConfig) -> Result<Engine> {
        let files = Files::open(&config.base_dir, config.read_only, config.fsync)?;
        let index = Index::open(&files.abs(INDEX_FILE), config.read_only, config.fsync)?;
        Ok(Engine {
            files,
            index,
            config,
        })
    }

    /// Refuses a mutation on a read-only store.
    pub(crate) fn writable(&self, operation: &str) -> Result<()> {
        if self.config.read_only {
            return Err(Error::NotSupported {
                operation: operation.to_owned(),
                backend: format!("the read-only local store {}", self.files.base().display()),
            });
        }
        Ok(())
    }

    /// Stores `req`; returns the new reference.
    ///
    /// The hash is known before anything is written: a dedup hit writes no
    /// media at all. New content is written to a temp file outside the
    /// database's write lock; inside one write transaction the dedup record
    /// is checked again, the file renamed to its final name, its sidecar
    /// written and the rows inserted.
    pub(crate) fn store(&self, req: &Request) -> Result<StorageReference> {
        self.writable("store")?;
        let id = naming::new_ref_id();
        let dedup = self.config.enable_deduplication;
        let policy = req.metadata.policy.unwrap_or(self.config.default_policy);
        let size = req.data.len() as u64;
        let hash = content_hash(&req.data);
        // A dedup hit is one statement, which records the reference only if
        // the content's row is still there (a delete may have removed it).
        if dedup
            && let Some(row) = self.index.run(|c| index::content(c, size, &hash))?
            && self.files.is_file(&row.location)?
            && self
                .index
                .run(|c| index::insert_ref(c, &new_ref(&id, req, policy, &row.location)))?
        {
            return naming::reference_for(&id);
        }
        // New, gone meanwhile, or its file lost: written below.
        let folder = self.files.folder(&req.dir)?;
        let temp = folder.write_temp(&req.data)?;
        let stem = if dedup { &hash[..32] } else { id.as_str() };
        let name = format!("{stem}.{}", extension_for_mime(&req.mime_type));
        let media = MediaRow {
            location: format!("{}/{name}", folder.rel),
            blake3: hash,
            size,
            mime_type: req.mime_type.clone(),
            dedup,
        };
        let sidecar = media.sidecar(&req.metadata, policy, req.now)?;
        self.index.write(|tx| {
            let existing = match dedup {
                true => self.db(index::content(tx, size, &media.blake3))?,
                false => None,
            };
            // Stored by someone else meanwhile: a dedup hit after all
            // (putting the bytes back if its file was lost).
            let location = match existing {
                Some(row) => {
                    if !self.files.is_file(&row.location)? {
                        let (target, name) = self.files.folder_of(&row.location)?;
                        target.rename(temp, name)?;
                        target.sync()?;
                    }
                    row.location
                }
                None => {
                    folder.rename(temp, &name)?;
                    folder.write(&sidecar_location(&name), &sidecar)?;
                    folder.sync()?;
                    self.db(index::insert_media(tx, &media))?;
                    media.location.clone()
                }
            };
            // The media row is there: found or inserted in this transaction.
            self.db(index::insert_ref(tx, &new_ref(&id, req, policy, &location)))
        })?;
        naming::reference_for(&id)
    }

    /// Maps an error of the index database.
    pub(crate) fn db<T>(&self, r: rusqlite::Result<T>) -> Result<T> {
        r.map_err(|e| self.index.err(e))
    }

    /// What the index records about `reference`.
    pub(crate) fn head(&self, reference: &StorageReference) -> Result<StoredReference> {
        let id = naming::parse_reference(reference)?;
        self.index
            .run(|c| index::reference(c, id))?
            .ok_or_else(|| Error::NotFound {
                reference: reference.to_string(),
            })
    }

    /// The media behind `reference` and its MIME type.
    pub(crate) fn read(&self, reference: &StorageReference) -> Result<(String, Bytes)> {
        let head = self.head(reference)?;
        match self.files.read(&head.location, head.size_bytes)? {
            Some(data) if content_hash(&data) == head.blake3 => {
                Ok((head.mime_type, Bytes::from(data)))
            }
            Some(_) => Err(Error::Corrupt {
                reference: reference.to_string(),
                message: format!(
                    "the bytes of {} do not match their BLAKE3 hash",
                    self.files.abs(&head.location).display()
                ),
            }),
            None => Err(Error::NotFound {
                reference: format!(
                    "{reference} (its file {} is missing)",
                    self.files.abs(&head.location).display()
                ),
            }),
        }
    }

    /// Drops one reference; with the last one, the file and its sidecar go.
    /// Returns the bytes freed, if any.
    ///
    /// The rows go first, in one transaction; the files then go in a second
    /// one that checks the index again, so a store of the same bytes that
    /// committed in between (in any process) keeps its file, and a crash in
    /// between leaves only a file the index does not know (gc's to remove),
    /// never a reference without its media.
    pub(crate) fn delete(&self, reference: &StorageReference) -> Result<Option<u64>> {
        self.writable("delete")?;
        let id = naming::parse_reference(reference)?;
        let freed = self.index.write(|tx| self.delete_in(tx, id, reference))?;
        if let Some(media) = &freed {
            self.unlink_unreferenced(std::slice::from_ref(media))?;
        }
        Ok(freed.map(|m| m.size))
    }

    /// Removes reference `id` in `tx`; returns the media row removed with
    /// its last reference (its files still to unlink).
    pub(crate) fn delete_in(
        &self,
        tx: &Transaction<'_>,
        id: &str,
        reference: &StorageReference,
    ) -> Result<Option<MediaRow>> {
        match self.db(index::remove_ref(tx, id))? {
            None => Err(Error::NotFound {
                reference: reference.to_string(),
            }),
            Some(freed) => Ok(freed),
        }
    }

    /// Unlinks the files of `rows` that the index (checked again, under
    /// its write lock) still does not know.
    pub(crate) fn unlink_unreferenced(&self, rows: &[MediaRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.index.write(|tx| {
            for m in rows {
                if self.db(index::media_at(tx, &m.location))?.is_none() {
                    self.files.remove(&m.location)?;
                    self.files.remove(sidecar_location(&m.location))?;
                }
            }
            Ok(())
        })
    }
}
