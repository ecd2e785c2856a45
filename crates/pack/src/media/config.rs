//! The typed `media` section of a prompt.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Multimodal configuration of a prompt.
///
/// ```
/// use promptkit_core::MediaContent;
/// use promptkit_pack::{Error, MediaConfig, MediaRejection};
/// let cfg: MediaConfig = serde_json::from_value(serde_json::json!({
///     "enabled": true, "supported_types": ["image"],
///     "image": {"max_size_mb": 1, "allowed_formats": ["png", "jpeg"], "max_images_per_msg": 1}
/// })).unwrap();
/// let png = MediaContent::from_bytes("image/png", vec![0u8; 10]);
/// assert!(cfg.check(&[png.clone()]).is_ok());
/// let err = cfg.check(&[png.clone(), png]).unwrap_err();
/// assert!(matches!(err, Error::MediaRejected { index: 1, reason: MediaRejection::TooManyImages { max: 1, .. } }));
/// let gif = MediaContent::from_bytes("image/gif", vec![0u8; 10]);
/// assert!(cfg.check(&[gif]).is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MediaConfig {
    /// Whether media may be sent with this prompt at all.
    pub enabled: bool,
    /// Allowed media types (`image`, `audio`, `video`, `document`, custom).
    /// Empty means any type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supported_types: Vec<String>,
    /// Image constraints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageConfig>,
    /// Audio constraints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<TimedMediaConfig>,
    /// Video constraints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<TimedMediaConfig>,
    /// Document constraints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<DocumentConfig>,
    /// Example multimodal messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<MultimodalExample>,
    /// Configurations of custom media types, keyed by type name.
    #[serde(flatten)]
    pub custom: BTreeMap<String, GenericMediaTypeConfig>,
}

/// `media.image`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// Maximum size of one image in MB (MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size_mb: Option<u64>,
    /// Allowed formats (`png`, `jpeg`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_formats: Vec<String>,
    /// `low`, `high` or `auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_detail: Option<String>,
    /// Whether captions are required: the message text is the caption, so a
    /// message with an image and no text is refused by
    /// [`MediaConfig::check_message`].
    #[serde(default)]
    pub require_caption: bool,
    /// Maximum images in one message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_images_per_msg: Option<u64>,
}

/// `media.audio` and `media.video`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimedMediaConfig {
    /// Maximum size in MB (MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size_mb: Option<u64>,
    /// Allowed formats (`mp3`, `wav`, `mp4`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_formats: Vec<String>,
    /// Maximum duration in seconds, measured from the inline bytes; see
    /// [`MediaConfig::check_message`] for what happens when it cannot be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration_sec: Option<u64>,
    /// Whether title/description metadata is required.
    #[serde(default)]
    pub require_metadata: bool,
}

/// `media.document`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentConfig {
    /// Maximum size in MB (MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size_mb: Option<u64>,
    /// Allowed formats (`pdf`, `docx`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_formats: Vec<String>,
    /// Maximum pages, counted for PDFs; see [`MediaConfig::check_message`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pages: Option<u64>,
    /// Whether metadata is required.
    #[serde(default)]
    pub require_metadata: bool,
    /// `text`, `structured` or `raw`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extraction_mode: Option<String>,
}

/// Configuration of a custom media type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GenericMediaTypeConfig {
    /// Maximum size in MB (MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size_mb: Option<u64>,
    /// Allowed formats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_formats: Vec<String>,
    /// Whether metadata is required.
    #[serde(default)]
    pub require_metadata: bool,
    /// Type-specific validation parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_params: Option<serde_json::Map<String, Value>>,
    /// Any other keys.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// An example multimodal message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultimodalExample {
    /// Example name.
    pub name: String,
    /// What it shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `user`, `assistant` or `system`.
    pub role: String,
    /// Content parts.
    pub parts: Vec<ExamplePart>,
}

/// A content part of an example message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExamplePart {
    /// `text`, `image`, `audio`, ...
    #[serde(rename = "type")]
    pub part_type: String,
    /// Text content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Media reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaReference>,
}

/// A media file referenced by an example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaReference {
    /// Path relative to the pack, or absolute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_path: Option<String>,
    /// URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Inline base64 data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base64: Option<String>,
    /// MIME type.
    pub mime_type: String,
    /// `low`, `high` or `auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Caption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}
