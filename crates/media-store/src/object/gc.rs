//! `gc`: collect what crashes, outages and outside hands leave in a bucket.
//!
//! Every decision is taken per content hash, from one listing of `media/`
//! and `index/`; objects younger than the grace period are left alone (they
//! may belong to a store or delete in progress in another process). Removing
//! bytes goes through the race-safe path of `delete`, and removing a location
//! record re-checks the reference markers afterwards (see
//! [`remove_location`](ObjectStoreMediaStore::remove_location)).

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStoreExt, PutMode, PutOptions};

use super::ObjectStoreMediaStore;
use super::inventory::{HashEntry, content_of_sidecar, key_path, modified};
use super::layout::{RefKey, sidecar_key};
use crate::reports::{GcOptions, GcReport};
use crate::sidecar::SIDECAR_LIMIT;
use crate::{Error, Result};

/// Hashes collected at once.
const HASHES_IN_FLIGHT: usize = 8;

impl ObjectStoreMediaStore {
    /// Removes what interrupted stores and deletes, backend outages or
    /// outside hands left behind, and repairs what can be repaired:
    ///
    /// - bytes without any reference marker (removed race-safely, like the
    ///   last `delete`), and copies of bytes away from their recorded
    ///   location (`orphan_media`);
    /// - sidecars without bytes (`orphan_sidecars`);
    /// - reference markers whose bytes are gone (`dangling_references`);
    /// - trash copies left by interrupted deletes (`stale_temp_files`);
    /// - repairs (`repaired_references`): when live references find no bytes
    ///   at their location, a trash copy or a copy at another key (checked
    ///   against the hash) is put back there; a lost location record of bytes
    ///   that are still stored is written again;
    /// - location records of content that is gone (`stale_object_records`).
    ///
    /// Objects younger than [`GcOptions::temp_grace`] (default one hour) are
    /// kept. With [`GcOptions::dry_run`] it only reports. Keys in the report
    /// are object keys; references are `obj:` strings.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> promptkit_media_store::Result<()> {
    /// use std::time::Duration;
    /// use object_store::{ObjectStoreExt, path::Path};
    /// use promptkit_media_store::{GcOptions, MediaLifecycle, ObjectStoreConfig,
    ///     ObjectStoreMediaStore};
    ///
    /// let store = ObjectStoreMediaStore::in_memory(ObjectStoreConfig::default())?;
    /// // Bytes without any reference (as a crashed delete leaves them).
    /// let hash = blake3::hash(b"stray").to_hex();
    /// let key = Path::from(format!("media/{hash}.txt"));
    /// store.object_store().put(&key, "stray".into()).await.unwrap();
    ///
    /// let now = GcOptions::new(true).with_temp_grace(Duration::ZERO);
    /// let report = store.gc(now).await?;
    /// assert_eq!(report.orphan_media.len(), 1);
    /// assert!(store.object_store().head(&key).await.is_ok(), "a dry run changes nothing");
    ///
    /// let report = store.gc(GcOptions::new(false).with_temp_grace(Duration::ZERO)).await?;
    /// assert_eq!(report.freed_bytes, 5);
    /// assert!(store.object_store().head(&key).await.is_err());
    /// # Ok(()) }
    /// ```
    pub(crate) async fn gc(&self, options: GcOptions) -> Result<GcReport> {
        let inv = self.inventory().await?;
        let parts: Vec<GcReport> = futures::stream::iter(inv.hashes)
            .map(|(hash, entry)| async move { self.collect_hash(&hash, entry, &options).await })
            .buffer_unordered(HASHES_IN_FLIGHT)
            .try_collect()
            .await?;
        let mut report = GcReport {
            dry_run: options.dry_run,
            ..GcReport::default()
        };
        for p in parts {
            report.stale_temp_files.extend(p.stale_temp_files);
            report.orphan_media.extend(p.orphan_media);
            report.orphan_sidecars.extend(p.orphan_sidecars);
            report.dangling_references.extend(p.dangling_references);
            report.repaired_references.extend(p.repaired_references);
            report.stale_object_records.extend(p.stale_object_records);
            report.unreadable_sidecars.extend(p.unreadable_sidecars);
            report.freed_bytes += p.freed_bytes;
        }
        for v in [
            &mut report.stale_temp_files,
            &mut report.orphan_media,
            &mut report.orphan_sidecars,
            &mut report.stale_object_records,
            &mut report.unreadable_sidecars,
        ] {
            v.sort();
        }
        report.dangling_references.sort();
        report.repaired_references.sort();
        Ok(report)
    }

    /// Collects the objects of one hash.
    async fn collect_hash(&self, hash: &str, e: HashEntry, o: &GcOptions) -> Result<GcReport> {
        let apply = !o.dry_run;
        let stale = |m: &ObjectMeta| modified(m).is_some_and(|t| o.is_stale(t));
        let mut report = GcReport::default();
        let loc_key = self.layout.location_key(hash);

        let mut location = match &e.location {
            None => None,
            Some(_) => match self.location(hash).await {
                Ok(l) => l,
                Err(Error::Corrupt { .. }) => {
                    report.unreadable_sidecars.push(key_path(&loc_key));
                    return Ok(report); // left alone; verify reports it
                }
                Err(err) => return Err(err),
            },
        };
        let refs = || -> Result<Vec<String>> {
            e.markers
                .iter()
                .map(|(r, _)| r.to_reference().map(|s| s.to_string()))
                .collect()
        };

        // Bytes without a location record. With references, the record was
        // lost: put it back. Without, record it anyway, so that a store of
        // the same bytes racing this gc sees them at that key and the removal
        // below takes the race-safe path of the last delete.
        let mut claimed = false;
        if location.is_none()
            && let Some(content) = e.content.iter().find(|m| stale(m))
        {
            let text = Bytes::from(content.location.to_string());
            location = Some(if apply && !self.create_if_absent(&loc_key, text).await? {
                match self.location(hash).await? {
                    Some(l) => l,
                    None => return Ok(report), // changing under us: next run
                }
            } else {
                if !e.markers.is_empty() {
                    report.repaired_references.extend(refs()?);
                }
                claimed = true;
                content.location.clone()
            });
        }
        let at_location = location
            .as_ref()
            .and_then(|l| e.content.iter().find(|m| &m.location == l));

        let mut gone_sidecars = Vec::new();
        let young_trash = e.trash.iter().any(|m| !stale(m));
        let mut content_present = at_location.is_some();
        let mut markers_left = e.markers.len();
        if !e.markers.is_empty() && !young_trash {
            if let (None, Some(loc)) = (at_location, &location) {
                // Bytes an interrupted delete left only in its trash, or that
                // sit at another key: put a copy back where references look.
                let copies = e.trash.iter().chain(e.content.iter().filter(|m| stale(m)));
                if self
                    .restore_copy(hash, copies, &e.markers, loc, apply)
                    .await?
                {
                    report.repaired_references.extend(refs()?);
                    content_present = true;
                }
            }
            // Re-check: the bytes may have been written since the listing.
            if !content_present
                && apply
                && let Some(loc) = &location
            {
                content_present = self.exists(loc).await?;
            }
            if !content_present {
                for (r, _) in e.markers.iter().filter(|(_, m)| stale(m)) {
                    if apply {
                        self.delete_key(&self.layout.marker_key(r)).await?;
                    }
                    report
                        .dangling_references
                        .push(r.to_reference()?.to_string());
                    markers_left -= 1;
                }
            }
        } else if let Some(m) =
            at_location.filter(|m| e.markers.is_empty() && !young_trash && stale(m))
        {
            // Bytes nobody references: the race-safe path of the last delete.
            let removed = if apply {
                !self.has_references(hash).await? && self.remove_unreferenced(hash).await?
            } else {
                true
            };
            if removed {
                gone_sidecars.push(sidecar_key(&m.location));
                report.orphan_media.push(key_path(&m.location));
                report.freed_bytes += m.size;
                content_present = false;
            }
        }

        // Bytes away from the recorded location: no reference resolves to them.
        for m in &e.content {
            if Some(&m.location) != location.as_ref() && stale(m) {
                let sidecar = sidecar_key(&m.location);
                if apply {
                    self.delete_key(&sidecar).await?;
                    self.delete_key(&m.location).await?;
                }
                gone_sidecars.push(sidecar);
                report.orphan_media.push(key_path(&m.location));
                report.freed_bytes += m.size;
            }
        }

        if !young_trash {
            for m in &e.trash {
                if apply {
                    self.delete_key(&m.location).await?;
                }
                report.stale_temp_files.push(key_path(&m.location));
            }
        }

        // Sidecars without bytes.
        for m in &e.sidecars {
            let Some(content) = content_of_sidecar(&m.location) else {
                continue;
            };
            if gone_sidecars.contains(&m.location) {
                // Removed with its media.
                report.orphan_sidecars.push(key_path(&m.location));
                continue;
            }
            let has_bytes = e.content.iter().any(|c| c.location == content)
                || (content_present && location.as_ref() == Some(&content));
            if has_bytes || !stale(m) {
                continue;
            }
            if apply {
                if self.exists(&content).await? {
                    continue; // written since the listing
                }
                self.delete_key(&m.location).await?;
            }
            report.orphan_sidecars.push(key_path(&m.location));
        }

        // The location record of content that is gone.
        let record_stale = claimed || e.location.as_ref().is_some_and(&stale);
        if record_stale
            && !content_present
            && markers_left == 0
            && !young_trash
            && let Some(loc) = &location
        {
            let removed = !apply || self.remove_location(hash, loc).await?;
            // A record this run wrote itself is not reported.
            if removed && e.location.is_some() {
                report.stale_object_records.push(key_path(&loc_key));
            }
        }
        Ok(report)
    }

    /// Puts the bytes of `hash` back at `loc` from the first of `copies`
    /// that matches the hash (a trash copy, or the bytes at another key),
    /// with a sidecar made from a reference marker; whether one was usable.
    async fn restore_copy(
        &self,
        hash: &str,
        copies: impl Iterator<Item = &ObjectMeta>,
        markers: &[(RefKey, ObjectMeta)],
        loc: &Path,
        apply: bool,
    ) -> Result<bool> {
        for copy in copies {
            // Hashed as a stream and copied by the backend: a copy is never
            // held whole in memory.
            match self.hash_object(&copy.location).await? {
                Some((h, _)) if h == hash => {}
                Some(_) => {
                    tracing::warn!(key = %copy.location, "copy does not match its hash");
                    continue;
                }
                None => continue,
            }
            if !apply {
                return Ok(true);
            }
            // Sidecar first: bytes are never visible without it.
            if let Some(record) = self.first_marker_record(markers).await? {
                self.create_if_absent(&sidecar_key(loc), record).await?;
            }
            match self.store.copy(&copy.location, loc).await {
                Ok(()) => {}
                Err(object_store::Error::NotFound { .. }) => continue, // gone meanwhile
                Err(err) => return Err(self.err("copy", loc, err)),
            }
            tracing::info!(%loc, from = %copy.location, "gc put media back where its references look");
            return Ok(true);
        }
        Ok(false)
    }

    /// The bytes of the first readable reference marker (the sidecar format).
    async fn first_marker_record(&self, markers: &[(RefKey, ObjectMeta)]) -> Result<Option<Bytes>> {
        for (r, _) in markers {
            match self
                .get_opt(&self.layout.marker_key(r), SIDECAR_LIMIT)
                .await
            {
                Ok(Some(b)) => return Ok(Some(b)),
                Ok(None) | Err(Error::Corrupt { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// Deletes the location record of `hash` (which pointed at `loc`) when no
    /// reference exists; returns whether it stays deleted.
    ///
    /// A store writes its marker before it reads the location record, so a
    /// store that read the record before it was deleted is seen by the
    /// listing after the delete, which puts the record back. (If, in that
    /// short window, a second store of the same bytes claimed a new location,
    /// the new one stays and the first store's bytes live at another key;
    /// they are found through the second store's bytes, or, should that
    /// store fail, put back at the new location by the next gc.)
    async fn remove_location(&self, hash: &str, loc: &Path) -> Result<bool> {
        if self.has_references(hash).await? {
            return Ok(false);
        }
        let key = self.layout.location_key(hash);
        self.delete_key(&key).await?;
        if self.has_references(hash).await? {
            tracing::debug!(%key, "a reference appeared during gc; restoring the location record");
            self.create_if_absent(&key, Bytes::from(loc.to_string()))
                .await?;
            return Ok(false);
        }
        Ok(true)
    }

    /// Creates `key` unless it exists; whether this call created it.
    async fn create_if_absent(&self, key: &Path, data: Bytes) -> Result<bool> {
        let opts = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self.store.put_opts(key, data.into(), opts).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(err) => Err(self.err("put", key, err)),
        }
    }
}
