//! The `.meta` sidecar written next to every media file: what the file
//! holds, for people and tools that look at the folder. The index database
//! is the source of truth; a missing or garbled sidecar hides nothing and
//! `gc` rewrites it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::index::MediaRow;
use crate::layout::META_SUFFIX;
use crate::{MediaMetadata, Result, RetentionPolicy};

/// Version of the sidecar format written.
pub(crate) const FORMAT_VERSION: u32 = 3;

/// The `.meta` JSON sidecar of one media file.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use promptkit_media_store::{FileStore, MediaLifecycle, MediaMetadata, MediaStoreExt};
/// use promptkit_media_store::local::MediaSidecar;
/// let dir = tempfile::tempdir().unwrap();
/// let store = FileStore::builder().with_base_dir(dir.path()).build().unwrap();
/// let meta = MediaMetadata::new().with_session("s1").with_conversation("c1");
/// let r = store.store_bytes("text/plain", "hello".into(), &meta).await.unwrap();
/// let location = store.head(&r).await.unwrap().location;
/// let text = std::fs::read(store.base_dir().join(format!("{}.meta", location.display()))).unwrap();
/// let sidecar: MediaSidecar = serde_json::from_slice(&text).unwrap();
/// assert_eq!((sidecar.mime_type.as_str(), sidecar.size_bytes), ("text/plain", 5));
/// assert_eq!(sidecar.session_id.as_deref(), Some("s1"));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MediaSidecar {
    /// Format version.
    pub version: u32,
    /// File name of the media (in the sidecar's folder).
    pub file: String,
    /// MIME type of the media.
    pub mime_type: String,
    /// Size of the media in bytes.
    pub size_bytes: u64,
    /// BLAKE3 hash of the bytes (hex).
    pub blake3: String,
    /// Whether identical content shares this file (deduplication on).
    pub deduplicated: bool,
    /// Conversation of the store that created the file.
    pub conversation_id: Option<String>,
    /// Session of the store that created the file.
    pub session_id: Option<String>,
    /// Run of the store that created the file.
    pub run_id: Option<String>,
    /// User of the store that created the file.
    pub user_id: Option<String>,
    /// Message of the store that created the file.
    pub message_index: Option<u32>,
    /// Part of that message.
    pub part_index: Option<u32>,
    /// Provider that produced the media.
    pub provider_id: Option<String>,
    /// Retention policy of the store that created the file (each reference
    /// has its own, in the index).
    pub retention_policy: RetentionPolicy,
    /// When the file was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl MediaSidecar {
    /// The sidecar of `media`, first stored with metadata `m` under `policy`
    /// at `created`.
    pub(crate) fn new(
        media: &MediaRow,
        m: &MediaMetadata,
        policy: RetentionPolicy,
        created: OffsetDateTime,
    ) -> MediaSidecar {
        MediaSidecar {
            version: FORMAT_VERSION,
            file: media
                .location
                .rsplit_once('/')
                .map_or(media.location.as_str(), |(_, f)| f)
                .to_owned(),
            mime_type: media.mime_type.clone(),
            size_bytes: media.size,
            blake3: media.blake3.clone(),
            deduplicated: media.dedup,
            conversation_id: m.conversation_id.clone(),
            session_id: m.session_id.clone(),
            run_id: m.run_id.clone(),
            user_id: m.user_id.clone(),
            message_index: m.message_index,
            part_index: m.part_index,
            provider_id: m.provider_id.clone(),
            retention_policy: policy,
            created_at: created,
        }
    }

    /// Whether this sidecar describes `media` (hash, size, name).
    pub(crate) fn describes(&self, media: &MediaRow) -> bool {
        self.blake3 == media.blake3
            && self.size_bytes == media.size
            && media.location.ends_with(&format!("/{}", self.file))
    }

    pub(crate) fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(self).map_err(|e| crate::Error::invalid("sidecar", e.to_string()))
    }
}

/// `<location>.meta`
pub(crate) fn sidecar_location(location: &str) -> String {
    format!("{location}{META_SUFFIX}")
}
