//! The `.meta` JSON every backend writes beside the stored bytes (the
//! object stores also write it as each reference's marker): one format.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[cfg(feature = "local")]
use crate::layout::META_SUFFIX;
use crate::{Error, MediaMetadata, Result};

/// Version of the format written.
const FORMAT_VERSION: u32 = 4;

/// Bytes of a sidecar (or an object store's record) read at most: a longer
/// one is unreadable, and is never read whole into memory.
pub(crate) const SIDECAR_LIMIT: u64 = 1 << 20;

/// The `.meta` JSON sidecar of stored bytes: what they are and the store
/// call that wrote them. Every backend writes the same format; a backend's
/// index (the local SQLite database, the object stores' markers) holds each
/// reference with its own owners.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use promptkit_media_store::{FileStore, MediaLifecycle, MediaMetadata, MediaSidecar,
///     MediaStoreExt, RetentionPolicy};
/// let dir = tempfile::tempdir().unwrap();
/// let store = FileStore::builder().with_base_dir(dir.path()).build().unwrap();
/// let meta = MediaMetadata::new().with_session("s1").with_conversation("c1");
/// let r = store.store_bytes("text/plain", "hello".into(), &meta).await.unwrap();
/// let location = store.head(&r).await.unwrap().location;
/// let text = std::fs::read(store.base_dir().join(format!("{}.meta", location.display()))).unwrap();
/// let sidecar: MediaSidecar = serde_json::from_slice(&text).unwrap();
/// assert_eq!((sidecar.mime_type.as_str(), sidecar.size_bytes), ("text/plain", 5));
/// assert_eq!(sidecar.metadata.session_id.as_deref(), Some("s1"));
/// assert_eq!(sidecar.metadata.policy, Some(RetentionPolicy::Retain)); // resolved
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MediaSidecar {
    /// Format version (4).
    pub version: u32,
    /// BLAKE3 hash of the bytes (lowercase hex).
    pub blake3: String,
    /// MIME type of the bytes.
    pub mime_type: String,
    /// Size of the bytes.
    pub size_bytes: u64,
    /// When the bytes were stored (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// Owners and provenance of the store call, its retention policy
    /// resolved (the store's default when the call gave none).
    #[serde(flatten)]
    pub metadata: MediaMetadata,
}

impl MediaSidecar {
    /// The sidecar of bytes stored at `created` by a call with `metadata`
    /// (whose policy is resolved by the caller).
    pub(crate) fn new(
        blake3: &str,
        mime_type: &str,
        size_bytes: u64,
        created: OffsetDateTime,
        metadata: MediaMetadata,
    ) -> MediaSidecar {
        MediaSidecar {
            version: FORMAT_VERSION,
            blake3: blake3.to_owned(),
            mime_type: mime_type.to_owned(),
            size_bytes,
            created,
            metadata,
        }
    }

    /// The JSON text (indented: people read these files).
    pub(crate) fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(self)
            .map_err(|e| Error::invalid("metadata", format!("cannot serialize a sidecar: {e}")))
    }

    /// Parses the sidecar stored at `key`; garbage is [`Error::Corrupt`].
    pub(crate) fn parse(key: &str, data: &[u8]) -> Result<MediaSidecar> {
        serde_json::from_slice(data).map_err(|e| Error::Corrupt {
            reference: key.to_owned(),
            message: format!("unreadable sidecar: {e}"),
        })
    }
}

/// `<location>.meta` (or `<name>.meta` for a file name alone)
#[cfg(feature = "local")]
pub(crate) fn sidecar_location(location: &str) -> String {
    format!("{location}{META_SUFFIX}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RetentionPolicy;

    #[test]
    fn round_trips_with_flat_metadata() {
        let metadata = MediaMetadata::new()
            .with_conversation("c1")
            .with_position(3, 1)
            .with_policy(RetentionPolicy::RetainDays(7));
        let s = MediaSidecar::new(
            &"ab".repeat(32),
            "image/png",
            42,
            OffsetDateTime::UNIX_EPOCH,
            metadata,
        );
        let bytes = s.to_json().unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["version"], 4);
        assert_eq!(json["conversation_id"], "c1");
        assert_eq!(json["policy"], "retain-7days");
        assert_eq!(json["created"], "1970-01-01T00:00:00Z");
        assert_eq!(MediaSidecar::parse("k", &bytes).unwrap(), s);
        assert!(matches!(
            MediaSidecar::parse("k", b"{not json"),
            Err(Error::Corrupt { .. })
        ));
    }
}
