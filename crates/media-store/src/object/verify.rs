//! `verify`: re-hash every stored object and check the records around it.

use std::collections::{BTreeSet, HashMap};

use futures::StreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;

use super::ObjectStoreMediaStore;
use super::inventory::{READS_IN_FLIGHT, content_of_sidecar, key_path};
use crate::reports::VerifyReport;
use crate::sidecar::MediaSidecar;
use crate::{Error, Result};

/// Media objects read and re-hashed at once.
const HASHES_IN_FLIGHT: usize = 4;

impl ObjectStoreMediaStore {
    /// Re-hashes every stored object against the BLAKE3 hash in its key (and
    /// the size in its sidecar) and reports corrupt objects, objects that a
    /// sidecar or a live reference expects but that are missing, and
    /// sidecars or reference markers that cannot be parsed. Reads every
    /// object; changes nothing. Keys in the report are object keys.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> promptkit_media_store::Result<()> {
    /// use object_store::{ObjectStoreExt, path::Path};
    /// use promptkit_media_store::{MediaLifecycleExt, MediaMetadata, MediaStoreExt,
    ///     ObjectStoreConfig, ObjectStoreMediaStore};
    ///
    /// let store = ObjectStoreMediaStore::in_memory(ObjectStoreConfig::default())?;
    /// let meta = MediaMetadata::new().with_session("s").with_conversation("c");
    /// store.store_bytes("text/plain", "intact".into(), &meta).await?;
    /// let report = store.verify().await?;
    /// assert_eq!(report.checked, 1);
    /// assert!(report.is_ok());
    ///
    /// // Someone overwrites the bytes behind the store's back.
    /// let key = Path::from(format!("media/s/c/{}.txt", blake3::hash(b"intact").to_hex()));
    /// store.object_store().put(&key, "tampered".into()).await.unwrap();
    /// let report = store.verify().await?;
    /// assert_eq!(report.corrupt, vec![std::path::PathBuf::from("media/s/c")
    ///     .join(key.filename().unwrap())]);
    /// # Ok(()) }
    /// ```
    /// Verify, calling `progress(done, total)` with
    /// `done == 0` before the first object is read, after each object
    /// (objects are read a few at a time), and once at the end with
    /// `done == total` (for progress bars on long walks).
    pub(crate) async fn verify_with_progress(
        &self,
        progress: impl Fn(u64, u64) + Send + 'static,
    ) -> Result<VerifyReport> {
        let inv = self.inventory().await?;
        let mut report = VerifyReport::default();
        let mut missing: BTreeSet<Path> = BTreeSet::new();
        let mut unreadable: BTreeSet<Path> = BTreeSet::new();

        // Sidecars: readable, and their bytes present.
        let listed: BTreeSet<&Path> = inv
            .hashes
            .values()
            .flat_map(|e| e.content.iter().map(|m| &m.location))
            .collect();
        let sidecar_keys: Vec<Path> = inv
            .hashes
            .values()
            .flat_map(|e| e.sidecars.iter().map(|m| m.location.clone()))
            .collect();
        let sidecars: Vec<(Path, Option<Result<MediaSidecar>>)> =
            futures::stream::iter(sidecar_keys)
                .map(|key| async move {
                    let rec = self.read_sidecar(&key).await?;
                    Ok::<_, Error>((key, rec))
                })
                .buffer_unordered(READS_IN_FLIGHT)
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<_>>()?;
        let mut sizes: HashMap<Path, u64> = HashMap::new();
        for (key, rec) in sidecars {
            let Some(content) = content_of_sidecar(&key) else {
                continue;
            };
            match rec {
                None => continue, // deleted since the listing
                Some(Ok(rec)) => {
                    sizes.insert(content.clone(), rec.size_bytes);
                }
                Some(Err(_)) => {
                    unreadable.insert(key);
                }
            }
            if !listed.contains(&content) {
                missing.insert(content);
            }
        }

        // Markers: readable; live references whose bytes are nowhere.
        let markers = inv
            .hashes
            .values()
            .flat_map(|e| e.markers.iter().map(|(r, _)| r.clone()))
            .collect();
        let (_, bad_markers) = self.read_markers(markers).await?;
        unreadable.extend(bad_markers);
        for (hash, e) in &inv.hashes {
            if e.markers.is_empty() || !e.content.is_empty() || !e.trash.is_empty() {
                continue;
            }
            match self.location(hash).await {
                Ok(Some(key)) => missing.insert(key),
                Ok(None) => missing.insert(self.layout.location_key(hash)),
                Err(Error::Corrupt { .. }) => unreadable.insert(self.layout.location_key(hash)),
                Err(e) => return Err(e),
            };
        }

        // The bytes.
        let objects: Vec<(String, Path)> = inv
            .hashes
            .iter()
            .flat_map(|(h, e)| e.content.iter().map(|m| (h.clone(), m.location.clone())))
            .collect();
        let total = objects.len() as u64;
        progress(0, total);
        let mut checks = futures::stream::iter(objects)
            .map(|(hash, key)| async move {
                let Some((actual, len)) = self.hash_object(&key).await? else {
                    return Ok::<_, Error>(None); // deleted since the listing
                };
                Ok(Some((key, len, actual == hash)))
            })
            .buffer_unordered(HASHES_IN_FLIGHT);
        let mut done = 0;
        let mut corrupt = BTreeSet::new();
        while let Some(res) = checks.next().await {
            done += 1;
            if let Some((key, len, ok)) = res? {
                report.checked += 1;
                if !ok || sizes.get(&key).is_some_and(|s| *s != len) {
                    corrupt.insert(key);
                }
            }
            if done < total {
                progress(done, total);
            }
        }
        progress(total, total);

        report.corrupt = corrupt.iter().map(key_path).collect();
        report.missing = missing.iter().map(key_path).collect();
        report.unreadable_sidecars = unreadable.iter().map(key_path).collect();
        Ok(report)
    }

    /// BLAKE3 (hex) and length of an object, streamed (large media is never
    /// held in memory whole); `None` when it does not exist.
    pub(super) async fn hash_object(&self, key: &Path) -> Result<Option<(String, u64)>> {
        let mut stream = match self.store.get(key).await {
            Ok(r) => r.into_stream(),
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.err("get", key, e)),
        };
        let mut hasher = blake3::Hasher::new();
        let mut len = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.err("get", key, e))?;
            len += chunk.len() as u64;
            hasher.update(&chunk);
        }
        Ok(Some((hasher.finalize().to_hex().to_string(), len)))
    }
}
