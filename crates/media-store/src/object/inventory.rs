//! A listing of everything a store holds, grouped by content hash, and the
//! reading of reference markers (for `list`, retention, `gc` and `verify`).

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use object_store::ObjectMeta;
use object_store::path::Path;
use time::OffsetDateTime;

use super::ObjectStoreMediaStore;
use super::layout::{MediaKey, RefKey, is_hash};
use crate::sidecar::MediaSidecar;
use crate::{Error, Result};

/// Small reads (markers) in flight at once.
pub(super) const READS_IN_FLIGHT: usize = 16;

/// Everything stored for one content hash.
#[derive(Debug, Default)]
pub(super) struct HashEntry {
    /// Objects holding the bytes (normally one, at the recorded location).
    pub(super) content: Vec<ObjectMeta>,
    /// `.meta` sidecars named after this hash.
    pub(super) sidecars: Vec<ObjectMeta>,
    /// Reference markers.
    pub(super) markers: Vec<(RefKey, ObjectMeta)>,
    /// Copies left in `trash/` by deletes.
    pub(super) trash: Vec<ObjectMeta>,
    /// The location record, if listed.
    pub(super) location: Option<ObjectMeta>,
}

/// A listing of `media/` and `index/`, grouped by hash. Keys of any other
/// shape (foreign objects) are not included, so nothing acts on them.
#[derive(Debug, Default)]
pub(super) struct Inventory {
    pub(super) hashes: BTreeMap<String, HashEntry>,
}

/// The last-modified time of a listed object.
pub(super) fn modified(meta: &ObjectMeta) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(meta.last_modified.timestamp()).ok()
}

/// The key of the bytes a sidecar `<key>.meta` describes.
pub(super) fn content_of_sidecar(sidecar: &Path) -> Option<Path> {
    let s: &str = sidecar.as_ref();
    Path::parse(s.strip_suffix(crate::layout::META_SUFFIX)?).ok()
}

/// Converts a key for a report.
pub(super) fn key_path(key: &Path) -> std::path::PathBuf {
    std::path::PathBuf::from(key.as_ref())
}

impl ObjectStoreMediaStore {
    /// Lists everything under `prefix`.
    pub(super) async fn list_all(&self, prefix: &Path) -> Result<Vec<ObjectMeta>> {
        self.store
            .list(Some(prefix))
            .try_collect()
            .await
            .map_err(|e| self.err("list", prefix, e))
    }

    /// Lists `media/` and `index/` and groups what it finds by hash.
    pub(super) async fn inventory(&self) -> Result<Inventory> {
        let media_root = self.layout.media_root();
        let index_root = self.layout.index_root();
        let (media, index) =
            futures::try_join!(self.list_all(&media_root), self.list_all(&index_root))?;
        let mut inv = Inventory::default();
        for meta in media {
            match self.layout.classify(&meta.location) {
                Some(MediaKey::Content { hash }) => {
                    inv.hashes.entry(hash).or_default().content.push(meta);
                }
                Some(MediaKey::Sidecar) => {
                    let hash = meta
                        .location
                        .filename()
                        .and_then(|f| f.split_once('.'))
                        .map(|(h, _)| h.to_owned());
                    if let Some(hash) = hash {
                        inv.hashes.entry(hash).or_default().sidecars.push(meta);
                    }
                }
                None => {}
            }
        }
        for meta in index {
            if let Some(r) = self.layout.parse_marker(&meta.location) {
                inv.hashes
                    .entry(r.hash.clone())
                    .or_default()
                    .markers
                    .push((r, meta));
                continue;
            }
            let Some(parts) = meta.location.prefix_match(&index_root) else {
                continue;
            };
            let parts: Vec<String> = parts.map(|p| p.as_ref().to_owned()).collect();
            match parts.as_slice() {
                [hash, what] if is_hash(hash) && what == "location" => {
                    inv.hashes.entry(hash.clone()).or_default().location = Some(meta);
                }
                [hash, trash, _] if is_hash(hash) && trash == "trash" => {
                    inv.hashes.entry(hash.clone()).or_default().trash.push(meta);
                }
                _ => {}
            }
        }
        Ok(inv)
    }

    /// Reads the given markers (16 at a time). Returns the readable ones and
    /// the keys of those that cannot be parsed; markers deleted since the
    /// listing are left out.
    pub(super) async fn read_markers(
        &self,
        markers: Vec<RefKey>,
    ) -> Result<(Vec<(RefKey, MediaSidecar)>, Vec<Path>)> {
        let results: Vec<_> = futures::stream::iter(markers)
            .map(|r| async move {
                let key = self.layout.marker_key(&r);
                Ok::<_, Error>(match self.read_sidecar(&key).await? {
                    None => None,
                    Some(Ok(rec)) => Some(Ok((r, rec))),
                    Some(Err(_)) => Some(Err(key)),
                })
            })
            .buffer_unordered(READS_IN_FLIGHT)
            .try_collect()
            .await?;
        let mut ok = Vec::new();
        let mut unreadable = Vec::new();
        for res in results.into_iter().flatten() {
            match res {
                Ok(v) => ok.push(v),
                Err(key) => {
                    tracing::warn!(%key, "unreadable reference marker skipped");
                    unreadable.push(key);
                }
            }
        }
        Ok((ok, unreadable))
    }
}
