//! Externalization (history → store) and rehydration (store → provider request).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use promptkit_core::{ContentPart, Message};
use promptkit_media_store::{MediaMetadata, MediaStore, StorageReference};

use crate::config::RehydrationPolicy;
use crate::{Result, StoredMedia};

/// Moves every inline media part of `messages` whose size is at least
/// `threshold` bytes to `store`, replacing its bytes by a reference.
///
/// `first_index` is the history index of `messages[0]`. A part whose store
/// fails keeps its bytes (nothing is lost) and the failure is returned as a
/// warning. The bytes of each stored part go into `loaded` under its reference.
pub(crate) async fn externalize(
    store: &Arc<dyn MediaStore>,
    messages: &mut [Message],
    first_index: usize,
    threshold: u64,
    base: &MediaMetadata,
    loaded: &mut Loaded,
) -> (Vec<StoredMedia>, Vec<String>) {
    let mut stored = Vec::new();
    let mut warnings = Vec::new();
    for (offset, msg) in messages.iter_mut().enumerate() {
        let message_index = first_index + offset;
        for (part_index, part) in msg.parts.iter_mut().enumerate() {
            let Some(media) = part.as_media_mut() else {
                continue;
            };
            let Some(data) = media.data.as_ref() else {
                continue;
            };
            if (data.len() as u64) < threshold {
                continue;
            }
            let meta = base.clone().with_position(
                u32::try_from(message_index).unwrap_or(u32::MAX),
                u32::try_from(part_index).unwrap_or(u32::MAX),
            );
            let size = data.len() as u64;
            match store.store(media, &meta).await {
                Ok(reference) => {
                    tracing::debug!(%reference, size, "media externalized");
                    if let Some(data) = media.data.take() {
                        loaded.insert(reference.clone(), data);
                    }
                    media.size_bytes = size;
                    media.storage_reference = Some(reference.clone());
                    stored.push(StoredMedia {
                        reference,
                        mime_type: media.mime_type.to_string(),
                        size_bytes: size,
                        message_index,
                        part_index,
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, size, "media store failed; media kept inline");
                    warnings.push(format!(
                        "media of message {message_index} part {part_index} kept inline: {e}"
                    ));
                }
            }
        }
    }
    (stored, warnings)
}

fn reference_only(m: &promptkit_core::MediaContent) -> bool {
    m.data.is_none() && m.url.is_none() && m.storage_reference.is_some()
}

/// Media loaded for earlier requests of the same turn: a tool round sends the
/// same history again, and its images are not read (and hashed) twice.
pub(crate) type Loaded = HashMap<StorageReference, Bytes>;

/// How many stored items a request reads at once (a remote store's round
/// trips overlap; on local disk, the reads and hash checks of several
/// threads).
const PARALLEL_LOADS: usize = 8;

/// Reads into `loaded` the references it lacks, [`PARALLEL_LOADS`] at a
/// time; the first failure is returned (the other reads are dropped).
async fn load(
    store: Option<&Arc<dyn MediaStore>>,
    references: Vec<&StorageReference>,
    loaded: &mut Loaded,
) -> Result<()> {
    let mut seen = HashSet::new();
    let missing: Vec<&StorageReference> = references
        .into_iter()
        .filter(|r| !loaded.contains_key(*r) && seen.insert(*r))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut missing = missing.into_iter();
    let store = store.ok_or_else(|| {
        crate::Error::Config("history holds stored media but the manager has no media store".into())
    })?;
    let mut reads = FuturesUnordered::new();
    loop {
        while reads.len() < PARALLEL_LOADS {
            match missing.next() {
                Some(reference) => reads.push(read(store, reference)),
                None => break,
            }
        }
        let Some(read) = reads.next().await else {
            return Ok(());
        };
        let (reference, data) = read?;
        loaded.insert(reference, data);
    }
}

/// Reads one stored item's bytes.
async fn read(
    store: &Arc<dyn MediaStore>,
    reference: &StorageReference,
) -> Result<(StorageReference, Bytes)> {
    let Some(data) = store.retrieve(reference).await?.data else {
        return Err(crate::Error::Config(format!(
            "the media store returned no bytes for {reference}"
        )));
    };
    Ok((reference.clone(), data))
}

/// Returns copies of `messages` (each cloned once) in which stored media is
/// loaded back as the policy says. The last `turn_len` messages belong to
/// the current turn. `loaded` keeps what this turn already read; pass the
/// same map for every request of a turn and drop it with the turn.
pub(crate) async fn rehydrate(
    store: Option<&Arc<dyn MediaStore>>,
    messages: &[&Message],
    turn_len: usize,
    policy: RehydrationPolicy,
    loaded: &mut Loaded,
) -> Result<Vec<Message>> {
    // How many of the most recent stored items (before this turn) to load.
    let budget = match policy {
        RehydrationPolicy::All => usize::MAX,
        RehydrationPolicy::Recent(n) => n,
        RehydrationPolicy::CurrentTurn => 0,
    };
    let mut loaded_before_turn = 0usize;
    let mut out = Vec::with_capacity(messages.len());
    // The parts that get their bytes back: (index in `out`, part, reference).
    let mut fills = Vec::new();
    for (from_end, &msg) in messages.iter().rev().enumerate() {
        let in_turn = from_end < turn_len;
        if !msg.media().any(reference_only) {
            out.push(msg.clone());
            continue;
        }
        let mut msg = msg.clone();
        for (part_index, part) in msg.parts.iter_mut().enumerate().rev() {
            let Some(media) = part.as_media() else {
                continue;
            };
            if !reference_only(media) {
                continue;
            }
            let Some(reference) = media.storage_reference.clone() else {
                continue;
            };
            if in_turn || loaded_before_turn < budget {
                if !in_turn {
                    loaded_before_turn += 1;
                }
                fills.push((out.len(), part_index, reference));
            } else {
                *part = ContentPart::text(format!(
                    "[{}, {} bytes, stored as {reference}; from an earlier turn, not attached]",
                    media.mime_type, media.size_bytes
                ));
            }
        }
        out.push(msg);
    }
    let wanted: Vec<&StorageReference> = fills.iter().map(|(_, _, r)| r).collect();
    load(store, wanted, loaded).await?;
    for (message, part_index, reference) in fills {
        let media = out[message].parts[part_index].as_media_mut();
        if let (Some(media), Some(data)) = (media, loaded.get(&reference)) {
            media.data = Some(data.clone());
        }
    }
    out.reverse();
    Ok(out)
}
