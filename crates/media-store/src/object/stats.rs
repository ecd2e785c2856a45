//! `stats`: computed from listings and the reference markers.
//!
//! Listing the store is unavoidable (it is the only source of truth), but
//! reading every reference marker is not: markers are written once and never
//! changed, so what a `stats` call parsed is remembered, keyed by marker key
//! and checked against the listing (size, e-tag, last-modified). A later call
//! reads only the markers it has not seen. The memory is bounded
//! ([`MAX_CACHED_MARKERS`]); beyond it, markers are read every time.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use futures::{StreamExt, TryStreamExt};
use object_store::ObjectMeta;

use super::ObjectStoreMediaStore;
use super::layout::MediaKey;
use crate::sidecar::MediaSidecar;
use crate::{Result, StorageStats, TypeStats};

/// Marker reads in flight at once.
const READS_IN_FLIGHT: usize = 16;
/// Most markers remembered between `stats` calls (about 200 bytes each).
pub(crate) const MAX_CACHED_MARKERS: usize = 250_000;

/// What `stats` needs from one reference marker.
#[derive(Debug)]
struct MarkerSummary {
    size_bytes: u64,
    mime_type: String,
    conversation_id: Option<String>,
    session_id: Option<String>,
}

impl From<MediaSidecar> for MarkerSummary {
    fn from(r: MediaSidecar) -> Self {
        MarkerSummary {
            size_bytes: r.size_bytes,
            mime_type: r.mime_type,
            conversation_id: r.metadata.conversation_id,
            session_id: r.metadata.session_id,
        }
    }
}

/// A remembered marker and the listing entry it was read under.
#[derive(Debug)]
struct Cached {
    listing: (u64, Option<String>, i64),
    summary: Arc<MarkerSummary>,
}

fn listing_key(meta: &ObjectMeta) -> (u64, Option<String>, i64) {
    (
        meta.size,
        meta.e_tag.clone(),
        meta.last_modified.timestamp_nanos_opt().unwrap_or_default(),
    )
}

/// Markers parsed by earlier `stats` calls (shared by clones of a store).
#[derive(Debug, Default)]
pub(crate) struct MarkerCache {
    entries: Mutex<HashMap<String, Cached>>,
}

impl MarkerCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        // A panic while holding it leaves at worst stale entries; start over.
        self.entries.lock().unwrap_or_else(|poisoned| {
            let mut g = poisoned.into_inner();
            g.clear();
            g
        })
    }
}

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
        let markers: Vec<&ObjectMeta> = index
            .iter()
            .filter(|m| {
                self.layout
                    .parse_marker(&m.location)
                    .is_some_and(|r| stored.contains(&r.hash))
            })
            .collect();

        let mut summaries: Vec<Arc<MarkerSummary>> = Vec::with_capacity(markers.len());
        let mut unknown: Vec<ObjectMeta> = Vec::new();
        {
            let cache = self.markers.lock();
            for m in &markers {
                match cache.get(m.location.as_ref()) {
                    Some(c) if c.listing == listing_key(m) => summaries.push(c.summary.clone()),
                    _ => unknown.push((*m).clone()),
                }
            }
        }
        let read: Vec<Option<(ObjectMeta, MarkerSummary)>> = futures::stream::iter(unknown)
            .map(|meta| async move {
                match self.read_sidecar(&meta.location).await? {
                    Some(rec) => rec.map(|r| Some((meta, MarkerSummary::from(r)))),
                    None => Ok(None), // deleted since the listing
                }
            })
            .buffer_unordered(READS_IN_FLIGHT)
            .try_collect()
            .await?;
        {
            let mut cache = self.markers.lock();
            // Forget markers that are gone, then remember the new ones.
            let live: HashSet<&str> = markers.iter().map(|m| m.location.as_ref()).collect();
            cache.retain(|k, _| live.contains(k.as_str()));
            for (meta, summary) in read.into_iter().flatten() {
                let summary = Arc::new(summary);
                if cache.len() < MAX_CACHED_MARKERS {
                    cache.insert(
                        meta.location.to_string(),
                        Cached {
                            listing: listing_key(&meta),
                            summary: summary.clone(),
                        },
                    );
                }
                summaries.push(summary);
            }
        }

        for rec in &summaries {
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
                rec.conversation_id.as_deref().unwrap_or("-"),
            );
            add(
                &mut stats.by_session,
                rec.session_id.as_deref().unwrap_or("-"),
            );
        }
        Ok(stats)
    }
}
