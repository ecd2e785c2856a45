//! A prompt's multimodal configuration (`prompts.<key>.media`) and its
//! enforcement on outgoing media.

use std::collections::BTreeMap;
use std::fmt;

use promptkit_core::{MediaContent, MediaKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;

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
    /// Whether captions are required.
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
    /// Maximum duration in seconds (not checked: durations are not known here).
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
    /// Maximum pages.
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

/// Why [`MediaConfig::check`] rejected a media item.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaRejection {
    /// The prompt's `media.enabled` is false.
    Disabled,
    /// The media type is not in `supported_types`.
    UnsupportedType {
        /// The item's type (`image`, `audio`, `video`, `document`).
        media_type: String,
        /// The prompt's `supported_types`.
        supported: Vec<String>,
    },
    /// The item exceeds `max_size_mb`.
    TooLarge {
        /// The item's type.
        media_type: String,
        /// Its size.
        size_bytes: u64,
        /// The limit in MB (MiB).
        max_size_mb: u64,
    },
    /// The item's format is not in `allowed_formats`.
    FormatNotAllowed {
        /// The item's type.
        media_type: String,
        /// Its MIME type.
        mime_type: String,
        /// The allowed formats.
        allowed: Vec<String>,
    },
    /// More images than `image.max_images_per_msg`.
    TooManyImages {
        /// Images in the message.
        count: u64,
        /// The limit.
        max: u64,
    },
}

impl fmt::Display for MediaRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MediaRejection::Disabled => {
                f.write_str("this prompt does not accept media (media.enabled is false or unset)")
            }
            MediaRejection::UnsupportedType {
                media_type,
                supported,
            } => write!(
                f,
                "{media_type} is not a supported media type (supported: {})",
                supported.join(", ")
            ),
            MediaRejection::TooLarge {
                media_type,
                size_bytes,
                max_size_mb,
            } => write!(
                f,
                "{media_type} of {size_bytes} bytes exceeds max_size_mb = {max_size_mb}"
            ),
            MediaRejection::FormatNotAllowed {
                media_type,
                mime_type,
                allowed,
            } => write!(
                f,
                "{media_type} format {mime_type} is not allowed (allowed: {})",
                allowed.join(", ")
            ),
            MediaRejection::TooManyImages { count, max } => {
                write!(
                    f,
                    "{count} images in one message, max_images_per_msg = {max}"
                )
            }
        }
    }
}

fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Image => "image",
        MediaKind::Audio => "audio",
        MediaKind::Video => "video",
        _ => "document",
    }
}

/// Format names a MIME type may be listed as in `allowed_formats`.
fn format_names(mime: &str) -> Vec<String> {
    let essence = mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let sub = essence.split('/').nth(1).unwrap_or("").to_owned();
    let bare = sub.strip_prefix("x-").unwrap_or(&sub).to_owned();
    let mut names = vec![sub.clone(), bare.clone()];
    let aliases: &[&str] = match bare.as_str() {
        "jpeg" | "jpg" | "pjpeg" => &["jpeg", "jpg"],
        "mpeg" if essence.starts_with("audio/") => &["mp3", "mpeg"],
        "mp3" => &["mp3", "mpeg"],
        "wav" | "wave" => &["wav", "wave"],
        "svg+xml" => &["svg"],
        "quicktime" => &["mov"],
        "matroska" => &["mkv"],
        "mp4" | "m4a" => &["mp4", "m4a"],
        "tiff" => &["tiff", "tif"],
        "plain" => &["txt", "text"],
        "vnd.openxmlformats-officedocument.wordprocessingml.document" => &["docx"],
        "vnd.openxmlformats-officedocument.spreadsheetml.sheet" => &["xlsx"],
        "msword" => &["doc"],
        _ => &[],
    };
    names.extend(aliases.iter().map(|s| (*s).to_owned()));
    names
}

fn format_allowed(mime: &str, allowed: &[String]) -> bool {
    let names = format_names(mime);
    allowed.iter().any(|a| {
        let a = a.trim().trim_start_matches('.').to_ascii_lowercase();
        names.contains(&a) || a == mime.trim().to_ascii_lowercase()
    })
}

impl MediaConfig {
    /// Size limit and allowed formats for a media type name.
    fn limits(&self, media_type: &str) -> (Option<u64>, &[String]) {
        match media_type {
            "image" => self
                .image
                .as_ref()
                .map_or((None, &[][..]), |c| (c.max_size_mb, &c.allowed_formats[..])),
            "audio" => self
                .audio
                .as_ref()
                .map_or((None, &[][..]), |c| (c.max_size_mb, &c.allowed_formats[..])),
            "video" => self
                .video
                .as_ref()
                .map_or((None, &[][..]), |c| (c.max_size_mb, &c.allowed_formats[..])),
            "document" => self
                .document
                .as_ref()
                .map_or((None, &[][..]), |c| (c.max_size_mb, &c.allowed_formats[..])),
            other => self
                .custom
                .get(other)
                .map_or((None, &[][..]), |c| (c.max_size_mb, &c.allowed_formats[..])),
        }
    }

    /// Checks the media of one message against this configuration: media
    /// enabled, type supported, size within `max_size_mb` (1 MB = 1 MiB; items
    /// of unknown size, such as bare URLs, are not size-checked), format in
    /// `allowed_formats` (matched on the MIME subtype, with common aliases
    /// such as `jpg`/`jpeg`, `mp3`/`mpeg`), and the image count within
    /// `max_images_per_msg`. An empty slice always passes.
    pub fn check(&self, media: &[MediaContent]) -> Result<(), Error> {
        if media.is_empty() {
            return Ok(());
        }
        let reject =
            |index: usize, reason: MediaRejection| Err(Error::MediaRejected { index, reason });
        if !self.enabled {
            return reject(0, MediaRejection::Disabled);
        }
        let mut images = 0u64;
        for (index, item) in media.iter().enumerate() {
            let media_type = kind_name(item.kind());
            if !self.supported_types.is_empty()
                && !self.supported_types.iter().any(|t| t == media_type)
            {
                return reject(
                    index,
                    MediaRejection::UnsupportedType {
                        media_type: media_type.to_owned(),
                        supported: self.supported_types.clone(),
                    },
                );
            }
            let (max_mb, allowed) = self.limits(media_type);
            if let Some(max_size_mb) = max_mb {
                let limit = max_size_mb.saturating_mul(1024 * 1024);
                if item.size_bytes > limit {
                    return reject(
                        index,
                        MediaRejection::TooLarge {
                            media_type: media_type.to_owned(),
                            size_bytes: item.size_bytes,
                            max_size_mb,
                        },
                    );
                }
            }
            if !allowed.is_empty() && !format_allowed(&item.mime_type, allowed) {
                return reject(
                    index,
                    MediaRejection::FormatNotAllowed {
                        media_type: media_type.to_owned(),
                        mime_type: item.mime_type.clone(),
                        allowed: allowed.to_vec(),
                    },
                );
            }
            if media_type == "image" {
                images += 1;
                if let Some(max) = self
                    .image
                    .as_ref()
                    .and_then(|c| c.max_images_per_msg)
                    .filter(|&max| images > max)
                {
                    return reject(
                        index,
                        MediaRejection::TooManyImages {
                            count: media
                                .iter()
                                .filter(|m| m.kind() == MediaKind::Image)
                                .count() as u64,
                            max,
                        },
                    );
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(v: Value) -> MediaConfig {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn disabled_and_unsupported() {
        let png = MediaContent::from_bytes("image/png", vec![1u8; 3]);
        let off = cfg(serde_json::json!({"enabled": false}));
        assert!(off.check(&[]).is_ok());
        assert!(matches!(
            off.check(std::slice::from_ref(&png)),
            Err(Error::MediaRejected {
                index: 0,
                reason: MediaRejection::Disabled
            })
        ));
        let audio_only = cfg(serde_json::json!({"enabled": true, "supported_types": ["audio"]}));
        let err = audio_only.check(&[png]).unwrap_err();
        assert!(
            err.to_string()
                .contains("image is not a supported media type"),
            "{err}"
        );
    }

    #[test]
    fn size_and_format() {
        let c = cfg(serde_json::json!({"enabled": true,
            "image": {"max_size_mb": 1, "allowed_formats": ["jpg"]},
            "audio": {"allowed_formats": ["mp3"]},
            "model3d": {"max_size_mb": 1, "allowed_formats": ["gltf"]}}));
        let jpeg = MediaContent::from_bytes("image/jpeg", vec![0u8; 1024 * 1024]);
        assert!(c.check(&[jpeg]).is_ok());
        let big = MediaContent::from_bytes("image/jpeg", vec![0u8; 1024 * 1024 + 1]);
        assert!(matches!(
            c.check(&[big]),
            Err(Error::MediaRejected {
                reason: MediaRejection::TooLarge {
                    size_bytes: 1_048_577,
                    ..
                },
                ..
            })
        ));
        let mp3 = MediaContent::from_bytes("audio/mpeg", vec![0u8; 4]);
        assert!(c.check(&[mp3]).is_ok());
        let wav = MediaContent::from_bytes("audio/wav", vec![0u8; 4]);
        assert!(c.check(&[wav]).is_err());
        assert!(c.custom.contains_key("model3d"));
    }
}
