//! `stats`: computed from listings and the reference markers.

use std::collections::HashSet;

use futures::{StreamExt, TryStreamExt};

use super::ObjectStoreMediaStore;
use super::layout::MediaKey;
use super::record::MediaRecord;
use crate::{Result, StorageStats, TypeStats};

/// Marker reads in flight at once.
const READS_IN_FLIGHT: usize = 16;

impl ObjectStoreMediaStore {
    pub(super) async fn compute_stats(&self) -> Result<StorageStats> {
        let media_root = self.layout.media_root();
        let index_root = self.layout.index_root();
        let (media, index) = futures::try_join!(
            async {
                self.store
                    .list(Some(&media_root))
                    .try_collect::<Vec<_>>()
                    .await
                    .map_err(|e| self.err("list", &media_root, e))
            },
            async {
                self.store
                    .list(Some(&index_root))
                    .try_collect::<Vec<_>>()
                    .await
                    .map_err(|e| self.err("list", &index_root, e))
            },
        )?;

        let mut stats = StorageStats::default();
        let mut stored: HashSet<String> = HashSet::new();
        for meta in &media {
            if let Some(MediaKey::Content { hash }) = self.layout.classify(&meta.location) {
                stats.objects += 1;
                stats.physical_bytes += meta.size;
                stored.insert(hash);
            }
        }
        // Markers whose bytes are gone (a store that failed while the backend
        // was down) are not live references.
        let markers: Vec<_> = index
            .iter()
            .filter(|m| {
                self.layout
                    .parse_marker(&m.location)
                    .is_some_and(|r| stored.contains(&r.hash))
            })
            .map(|m| m.location.clone())
            .collect();
        let records: Vec<Option<MediaRecord>> = futures::stream::iter(markers)
            .map(|key| async move {
                match self.get_opt(&key).await? {
                    Some(b) => MediaRecord::from_bytes(key.as_ref(), &b).map(Some),
                    None => Ok(None), // deleted since the listing
                }
            })
            .buffer_unordered(READS_IN_FLIGHT)
            .try_collect()
            .await?;

        for rec in records.iter().flatten() {
            stats.references += 1;
            stats.logical_bytes += rec.size_bytes;
            let add = |m: &mut std::collections::BTreeMap<String, TypeStats>, k: &str| {
                let t = m.entry(k.to_owned()).or_default();
                t.references += 1;
                t.logical_bytes += rec.size_bytes;
            };
            add(&mut stats.by_mime, &rec.mime_type);
            add(
                &mut stats.by_conversation,
                rec.metadata.conversation_id.as_deref().unwrap_or("-"),
            );
            add(
                &mut stats.by_session,
                rec.metadata.session_id.as_deref().unwrap_or("-"),
            );
        }
        Ok(stats)
    }
}
