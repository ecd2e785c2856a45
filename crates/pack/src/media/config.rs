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
    #[serde(default)]
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
///
/// ```
/// let cfg: promptkit_pack::MediaConfig = serde_json::from_str(r#"{"enabled": true,
///     "image": {"allowed_formats": ["jpg"], "default_detail": "low", "max_images_per_msg": 2}}"#).unwrap();
/// let image = cfg.image.as_ref().unwrap();
/// assert_eq!(image.default_detail.as_deref(), Some("low"));
/// assert!(!image.require_caption);
/// let jpeg = promptkit_core::MediaContent::from_bytes("image/jpeg", vec![0u8; 4]);
/// assert!(cfg.check(&[jpeg]).is_ok()); // `jpg` also allows image/jpeg
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// Maximum size of one image in MB (MiB).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::opt_u64"
    )]
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
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::opt_u64"
    )]
    pub max_images_per_msg: Option<u64>,
}

/// `media.audio` and `media.video`.
///
/// ```
/// use promptkit_core::MediaContent;
/// use promptkit_pack::{Error, MediaConfig, MediaRejection};
/// let cfg: MediaConfig = serde_json::from_str(r#"{"enabled": true,
///     "audio": {"max_size_mb": 1, "allowed_formats": ["mp3", "wav"]}}"#).unwrap();
/// assert_eq!(cfg.audio.as_ref().unwrap().max_duration_sec, None);
/// let big = MediaContent::from_bytes("audio/mpeg", vec![0u8; 2 * 1024 * 1024]);
/// assert!(matches!(cfg.check(&[big]),
///     Err(Error::MediaRejected { reason: MediaRejection::TooLarge { max_size_mb: 1, .. }, .. })));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimedMediaConfig {
    /// Maximum size in MB (MiB).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::opt_u64"
    )]
    pub max_size_mb: Option<u64>,
    /// Allowed formats (`mp3`, `wav`, `mp4`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_formats: Vec<String>,
    /// Maximum duration in seconds, measured from the inline bytes; see
    /// [`MediaConfig::check_message`] for what happens when it cannot be.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::opt_u64"
    )]
    pub max_duration_sec: Option<u64>,
    /// Whether title/description metadata is required.
    #[serde(default)]
    pub require_metadata: bool,
}

/// `media.document`.
///
/// ```
/// use promptkit_core::MediaContent;
/// let cfg: promptkit_pack::MediaConfig = serde_json::from_str(r#"{"enabled": true,
///     "document": {"allowed_formats": ["pdf", "txt"], "max_pages": 10}}"#).unwrap();
/// assert_eq!(cfg.document.as_ref().unwrap().max_pages, Some(10));
/// // Plain text has no pages, so the page limit does not apply to it.
/// assert!(cfg.check(&[MediaContent::from_bytes("text/plain", b"notes".to_vec())]).is_ok());
/// // A PDF given by URL cannot be counted, so it is refused.
/// let url = MediaContent::from_url("application/pdf", "https://example.com/a.pdf");
/// assert!(cfg.check(&[url]).is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentConfig {
    /// Maximum size in MB (MiB).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::opt_u64"
    )]
    pub max_size_mb: Option<u64>,
    /// Allowed formats (`pdf`, `docx`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_formats: Vec<String>,
    /// Maximum pages, counted for PDFs; see [`MediaConfig::check_message`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::opt_u64"
    )]
    pub max_pages: Option<u64>,
    /// Whether metadata is required.
    #[serde(default)]
    pub require_metadata: bool,
    /// `text`, `structured` or `raw`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extraction_mode: Option<String>,
}

/// Configuration of a custom media type.
///
/// ```
/// let cfg: promptkit_pack::MediaConfig = serde_json::from_str(r#"{"enabled": true,
///     "model3d": {"max_size_mb": 50, "allowed_formats": ["gltf", "glb"],
///                 "validation_params": {"max_polygons": 100000}}}"#).unwrap();
/// let model3d = &cfg.custom["model3d"];
/// assert_eq!(model3d.max_size_mb, Some(50));
/// assert_eq!(model3d.validation_params.as_ref().unwrap()["max_polygons"], 100000);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GenericMediaTypeConfig {
    /// Maximum size in MB (MiB).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::opt_u64"
    )]
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
///
/// ```
/// let cfg: promptkit_pack::MediaConfig = serde_json::from_str(r#"{"enabled": true,
///     "examples": [{"name": "photo-question", "role": "user", "parts": [
///         {"type": "text", "text": "What is in this picture?"},
///         {"type": "image", "media": {"file_path": "images/cat.jpg", "mime_type": "image/jpeg"}}]}]}"#).unwrap();
/// let example = &cfg.examples[0];
/// assert_eq!((example.name.as_str(), example.role.as_str()), ("photo-question", "user"));
/// assert_eq!(example.parts.len(), 2);
/// assert_eq!(example.parts[1].media.as_ref().unwrap().mime_type, "image/jpeg");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultimodalExample {
    /// Example name.
    #[serde(default)]
    pub name: String,
    /// What it shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `user`, `assistant` or `system`.
    #[serde(default)]
    pub role: String,
    /// Content parts.
    #[serde(default)]
    pub parts: Vec<ExamplePart>,
}

/// A content part of an example message.
///
/// ```
/// let part: promptkit_pack::ExamplePart =
///     serde_json::from_str(r#"{"type": "text", "text": "Describe the image."}"#).unwrap();
/// assert_eq!(part.part_type, "text");
/// assert_eq!(part.text.as_deref(), Some("Describe the image."));
/// assert!(part.media.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExamplePart {
    /// `text`, `image`, `audio`, ...
    #[serde(rename = "type", default)]
    pub part_type: String,
    /// Text content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Media reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaReference>,
}

/// A media file referenced by an example.
///
/// ```
/// let media: promptkit_pack::MediaReference = serde_json::from_str(r#"{
///     "url": "https://example.com/cat.jpg", "mime_type": "image/jpeg", "detail": "high"}"#).unwrap();
/// assert_eq!(media.url.as_deref(), Some("https://example.com/cat.jpg"));
/// assert_eq!(media.detail.as_deref(), Some("high"));
/// assert!(media.file_path.is_none() && media.base64.is_none());
/// ```
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
    #[serde(default)]
    pub mime_type: String,
    /// `low`, `high` or `auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Caption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}
