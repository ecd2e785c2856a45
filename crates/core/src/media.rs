use base64::Engine as _;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::{Error, StorageReference};

/// Broad kind of a media item, derived from its MIME type.
///
/// ```
/// use promptkit_core::{MediaContent, MediaKind};
/// assert_eq!(MediaKind::from_mime("audio/wav"), MediaKind::Audio);
/// assert_eq!(MediaKind::from_mime("application/pdf"), MediaKind::Document);
/// let photo = MediaContent::from_url("image/jpeg", "https://example.com/cat.jpg");
/// assert_eq!(photo.kind(), MediaKind::Image);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum MediaKind {
    /// `image/*`
    Image,
    /// `audio/*`
    Audio,
    /// `video/*`
    Video,
    /// Anything else (PDF, text, ...).
    Document,
}

impl MediaKind {
    /// The kind of a MIME type (`image/png` → [`MediaKind::Image`]).
    pub fn from_mime(mime: &str) -> Self {
        let top = mime
            .split('/')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match top.as_str() {
            "image" => MediaKind::Image,
            "audio" => MediaKind::Audio,
            "video" => MediaKind::Video,
            _ => MediaKind::Document,
        }
    }
}

/// One media item in a message: inline bytes, a reference to a media store, or a URL.
///
/// Bytes are [`Bytes`], so cloning a message never copies megabytes. Base64 exists
/// only at the wire ([`MediaContent::from_base64`], [`MediaContent::to_base64`]).
/// After externalization `data` is `None` and `storage_reference` is set;
/// `size_bytes` always keeps the real size. Text fields are boxed strings
/// (history keeps every item for the life of a conversation): 104 bytes.
///
/// ```
/// use promptkit_core::MediaContent;
/// let m = MediaContent::from_base64("image/png", "iVBORw0KGgo=").unwrap();
/// assert_eq!(m.size_bytes, 8);
/// assert!(m.is_inline());
/// assert!(MediaContent::from_base64("image/png", "not base64!").is_err());
/// assert!(std::mem::size_of::<MediaContent>() <= 104);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MediaContent {
    /// MIME type, e.g. `image/png`.
    pub mime_type: Box<str>,
    /// Inline bytes, when held in memory.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "b64_opt")]
    pub data: Option<Bytes>,
    /// Reference into a media store, when externalized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_reference: Option<StorageReference>,
    /// A remote URL the provider can fetch itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Box<str>>,
    /// Real size of the media in bytes (kept after the bytes are dropped).
    pub size_bytes: u64,
    /// Optional provider hint for images (`low`, `high`, `auto`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Box<str>>,
}

impl MediaContent {
    /// Inline media from raw bytes.
    pub fn from_bytes(mime_type: impl Into<Box<str>>, data: impl Into<Bytes>) -> Self {
        let data = data.into();
        MediaContent {
            mime_type: mime_type.into(),
            size_bytes: data.len() as u64,
            data: Some(data),
            storage_reference: None,
            url: None,
            detail: None,
        }
    }

    /// Inline media from base64 (standard alphabet, padding optional; a `data:` URL
    /// prefix is accepted). Invalid base64 is an [`Error::InvalidInput`].
    pub fn from_base64(mime_type: impl Into<Box<str>>, b64: &str) -> Result<Self, Error> {
        Ok(Self::from_bytes(mime_type, decode_base64(b64)?))
    }

    /// Media held by a store.
    pub fn from_reference(
        mime_type: impl Into<Box<str>>,
        reference: StorageReference,
        size_bytes: u64,
    ) -> Self {
        MediaContent {
            mime_type: mime_type.into(),
            data: None,
            storage_reference: Some(reference),
            url: None,
            size_bytes,
            detail: None,
        }
    }

    /// Media at a remote URL.
    pub fn from_url(mime_type: impl Into<Box<str>>, url: impl Into<Box<str>>) -> Self {
        MediaContent {
            mime_type: mime_type.into(),
            data: None,
            storage_reference: None,
            url: Some(url.into()),
            size_bytes: 0,
            detail: None,
        }
    }

    /// Sets the image `detail` hint.
    pub fn with_detail(mut self, detail: impl Into<Box<str>>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The kind derived from the MIME type.
    pub fn kind(&self) -> MediaKind {
        MediaKind::from_mime(&self.mime_type)
    }

    /// Whether the bytes are held in memory.
    pub fn is_inline(&self) -> bool {
        self.data.is_some()
    }

    /// Inline bytes held in memory (0 when externalized).
    pub fn inline_len(&self) -> usize {
        self.data.as_ref().map_or(0, Bytes::len)
    }

    /// Base64 of the inline bytes, if any.
    pub fn to_base64(&self) -> Option<String> {
        self.data.as_ref().map(|d| encode_base64(d))
    }

    /// A `data:` URL of the inline bytes, if any.
    pub fn to_data_url(&self) -> Option<String> {
        self.to_base64()
            .map(|b| format!("data:{};base64,{b}", self.mime_type))
    }
}

/// Standard base64 encoding.
///
/// ```
/// use promptkit_core::{decode_base64, encode_base64};
/// assert_eq!(encode_base64(b"hi"), "aGk=");
/// let b64 = encode_base64(&[0xfb, 0xff]);
/// assert_eq!(b64, "+/8=");
/// assert_eq!(&decode_base64(&b64).unwrap()[..], [0xfb, 0xff]);
/// ```
pub fn encode_base64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Decodes base64 (standard or URL-safe alphabet, padding optional, surrounding
/// whitespace ignored, an optional `data:<mime>;base64,` prefix stripped).
///
/// ```
/// use promptkit_core::{decode_base64, Error};
/// assert_eq!(&decode_base64("aGk=").unwrap()[..], b"hi");
/// assert_eq!(&decode_base64(" data:text/plain;base64,aGk ").unwrap()[..], b"hi");
/// assert_eq!(decode_base64("-_8").unwrap(), decode_base64("+/8=").unwrap());
/// assert!(matches!(decode_base64("not base64!"), Err(Error::InvalidInput { .. })));
/// ```
pub fn decode_base64(s: &str) -> Result<Bytes, Error> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const CFG: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, CFG);
    const URL: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, CFG);
    let s = s.trim();
    let s = match s.strip_prefix("data:") {
        Some(rest) => match rest.split_once(";base64,") {
            Some((_, b)) => b,
            None => {
                return Err(Error::invalid_input(
                    Some("data".into()),
                    "data: URL is not base64-encoded (missing ';base64,')",
                ));
            }
        },
        None => s,
    };
    STD.decode(s)
        .or_else(|_| URL.decode(s))
        .map(Bytes::from)
        .map_err(|e| Error::invalid_input(Some("data".into()), format!("invalid base64: {e}")))
}

/// MIME type recognised from the first bytes (magic number), if known.
///
/// ```
/// assert_eq!(promptkit_core::sniff_mime(b"\x89PNG\r\n\x1a\n"), Some("image/png"));
/// assert_eq!(promptkit_core::sniff_mime(b"hello"), None);
/// ```
pub fn sniff_mime(data: &[u8]) -> Option<&'static str> {
    let starts = |p: &[u8]| data.starts_with(p);
    if starts(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if starts(b"\xFF\xD8\xFF") {
        Some("image/jpeg")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if data.len() >= 12 && &data[0..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        Some("image/webp")
    } else if data.len() >= 12 && &data[0..4] == b"RIFF" && &data[8..12] == b"WAVE" {
        Some("audio/wav")
    } else if starts(b"OggS") {
        Some("audio/ogg")
    } else if starts(b"ID3") || (data.len() >= 2 && data[0] == 0xFF && data[1] & 0xE0 == 0xE0) {
        Some("audio/mpeg")
    } else if starts(b"%PDF-") {
        Some("application/pdf")
    } else if data.len() >= 12 && &data[4..8] == b"ftyp" {
        Some("video/mp4")
    } else if starts(b"\x1A\x45\xDF\xA3") {
        Some("video/webm")
    } else {
        None
    }
}

mod b64_opt {
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &Option<Bytes>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_str(&super::encode_base64(b)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Bytes>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| super::decode_base64(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_variants() {
        assert_eq!(&decode_base64("aGk=").unwrap()[..], b"hi");
        assert_eq!(&decode_base64("aGk").unwrap()[..], b"hi");
        assert_eq!(
            &decode_base64(" data:text/plain;base64,aGk= ").unwrap()[..],
            b"hi"
        );
        assert!(decode_base64("data:text/plain,hi").is_err());
        assert!(decode_base64("@@@").is_err());
    }

    #[test]
    fn serde_keeps_bytes_as_base64() {
        let m = MediaContent::from_bytes("image/png", Bytes::from_static(b"abc"));
        let j = serde_json::to_value(&m).unwrap();
        assert_eq!(j["data"], "YWJj");
        let back: MediaContent = serde_json::from_value(j).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn kinds() {
        assert_eq!(MediaKind::from_mime("image/png"), MediaKind::Image);
        assert_eq!(MediaKind::from_mime("AUDIO/wav"), MediaKind::Audio);
        assert_eq!(MediaKind::from_mime("video/mp4"), MediaKind::Video);
        assert_eq!(MediaKind::from_mime("application/pdf"), MediaKind::Document);
    }
}
