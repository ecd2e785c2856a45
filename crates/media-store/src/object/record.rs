//! The JSON written to `.meta` sidecars and reference markers.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Error, MediaMetadata, Result};

/// What is known about one stored item (sidecar) or one reference (marker):
/// hash, MIME type, real size, creation time and the caller's metadata
/// (conversation, session, run, message/part index, provider, retention policy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct MediaRecord {
    /// BLAKE3 of the bytes, lowercase hex.
    pub(crate) blake3: String,
    /// MIME type as given by the caller.
    pub(crate) mime_type: String,
    /// Real size of the bytes.
    pub(crate) size_bytes: u64,
    /// When this record was written (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) created: OffsetDateTime,
    /// Owner and provenance, with the retention policy resolved.
    #[serde(flatten)]
    pub(crate) metadata: MediaMetadata,
}

impl MediaRecord {
    /// Serializes to JSON bytes.
    pub(crate) fn to_bytes(&self) -> Result<Bytes> {
        serde_json::to_vec(self)
            .map(Bytes::from)
            .map_err(|e| Error::invalid("metadata", format!("cannot serialize metadata: {e}")))
    }

    /// Parses a stored record; garbage is [`Error::Corrupt`].
    pub(crate) fn from_bytes(key: &str, data: &[u8]) -> Result<MediaRecord> {
        serde_json::from_slice(data).map_err(|e| Error::Corrupt {
            reference: key.to_owned(),
            message: format!("unreadable media record: {e}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RetentionPolicy;

    #[test]
    fn record_round_trips_with_flat_metadata() {
        let r = MediaRecord {
            blake3: "ab".repeat(32),
            mime_type: "image/png".into(),
            size_bytes: 42,
            created: OffsetDateTime::UNIX_EPOCH,
            metadata: MediaMetadata::new()
                .with_conversation("c1")
                .with_position(3, 1)
                .with_policy(RetentionPolicy::RetainDays(7)),
        };
        let bytes = r.to_bytes().unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["conversation_id"], "c1");
        assert_eq!(json["policy"], "retain-7days");
        assert_eq!(json["created"], "1970-01-01T00:00:00Z");
        assert_eq!(MediaRecord::from_bytes("k", &bytes).unwrap(), r);
        assert!(matches!(
            MediaRecord::from_bytes("k", b"{not json"),
            Err(Error::Corrupt { .. })
        ));
    }
}
