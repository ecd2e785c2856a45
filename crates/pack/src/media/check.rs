//! Enforcement of a [`MediaConfig`] on the media of one message.

use std::time::Duration;

use promptkit_core::{MediaContent, MediaKind};

use super::{MeasureFailure, MediaConfig, MediaRejection, media_duration, pdf_page_count};
use crate::error::Error;

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

    /// Checks the media of one message against every rule of this
    /// configuration, with `text` as the message's text:
    ///
    /// - media enabled, and each item's type in `supported_types`;
    /// - size within `max_size_mb` (1 MB = 1 MiB; items of unknown size,
    ///   such as bare URLs, are not size-checked);
    /// - format in `allowed_formats` (matched on the MIME subtype, with
    ///   common aliases such as `jpg`/`jpeg`, `mp3`/`mpeg`);
    /// - the image count within `image.max_images_per_msg`;
    /// - `image.require_caption`: the message text is the caption of its
    ///   images, so a message with an image and an empty or whitespace-only
    ///   text is rejected with [`MediaRejection::MissingCaption`];
    /// - `audio.max_duration_sec` / `video.max_duration_sec`, measured from
    ///   the inline bytes with [`media_duration`];
    /// - `document.max_pages`, counted from the inline bytes of a PDF with
    ///   [`pdf_page_count`]. Text formats (`text/*`, JSON, XML, YAML) have no
    ///   pages and are not subject to the limit.
    ///
    /// **Unmeasurable items are refused (fail-closed).** When a duration or
    /// page limit is set and the item cannot be measured (a URL or storage
    /// reference without inline bytes, a container that cannot be read such
    /// as WebM video or DOCX, corrupt or hostile bytes), the item is rejected
    /// with [`MediaRejection::DurationUnknown`] or
    /// [`MediaRejection::PageCountUnknown`]. A limit that could be bypassed
    /// by sending a URL instead of bytes would not be a limit. Items are
    /// measured only when a limit applies to them, after the cheap checks.
    /// An empty `media` slice always passes.
    ///
    /// ```
    /// use promptkit_core::MediaContent;
    /// use promptkit_pack::{Error, MediaConfig, MediaRejection};
    /// let cfg: MediaConfig = serde_json::from_value(serde_json::json!({
    ///     "enabled": true,
    ///     "image": {"require_caption": true},
    ///     "audio": {"max_duration_sec": 60}
    /// })).unwrap();
    /// let png = MediaContent::from_bytes("image/png", vec![0u8; 10]);
    /// assert!(cfg.check_message("A cat on a mat", &[png.clone()]).is_ok());
    /// assert!(matches!(
    ///     cfg.check_message("  ", &[png]),
    ///     Err(Error::MediaRejected { index: 0, reason: MediaRejection::MissingCaption })
    /// ));
    /// // A URL cannot be measured, so the duration limit refuses it.
    /// let remote = MediaContent::from_url("audio/mpeg", "https://example.com/a.mp3");
    /// assert!(matches!(
    ///     cfg.check_message("listen", &[remote]),
    ///     Err(Error::MediaRejected { reason: MediaRejection::DurationUnknown { .. }, .. })
    /// ));
    /// ```
    pub fn check_message(&self, text: &str, media: &[MediaContent]) -> Result<(), Error> {
        self.check_inner(Some(text), media)
    }

    /// Checks the media of one message like [`MediaConfig::check_message`],
    /// except `image.require_caption`: without the message text there is no
    /// caption to look at, so that rule is skipped. Use `check_message`
    /// when the text is at hand (the SDK does).
    pub fn check(&self, media: &[MediaContent]) -> Result<(), Error> {
        self.check_inner(None, media)
    }

    fn check_inner(&self, text: Option<&str>, media: &[MediaContent]) -> Result<(), Error> {
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
                        mime_type: item.mime_type.to_string(),
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
                let caption_required = self.image.as_ref().is_some_and(|c| c.require_caption);
                if caption_required && text.is_some_and(|t| t.trim().is_empty()) {
                    return reject(index, MediaRejection::MissingCaption);
                }
            }
            if let Err(reason) = self.check_measured(media_type, item) {
                return reject(index, reason);
            }
        }
        Ok(())
    }

    /// `max_duration_sec` and `max_pages`, the limits that need the bytes.
    fn check_measured(&self, media_type: &str, item: &MediaContent) -> Result<(), MediaRejection> {
        let timed = match media_type {
            "audio" => self.audio.as_ref(),
            "video" => self.video.as_ref(),
            _ => None,
        };
        if let Some(max_duration_sec) = timed.and_then(|c| c.max_duration_sec) {
            let measured = match item.data.as_deref() {
                Some(data) => media_duration(&item.mime_type, data),
                None => Err(MeasureFailure::NotInline),
            };
            let duration = measured.map_err(|cause| MediaRejection::DurationUnknown {
                media_type: media_type.to_owned(),
                max_duration_sec,
                cause,
            })?;
            if duration > Duration::from_secs(max_duration_sec) {
                return Err(MediaRejection::TooLong {
                    media_type: media_type.to_owned(),
                    duration,
                    max_duration_sec,
                });
            }
        }
        let max_pages = (media_type == "document")
            .then(|| self.document.as_ref().and_then(|c| c.max_pages))
            .flatten();
        if let Some(max_pages) = max_pages {
            if !is_paginated(&item.mime_type) {
                return Ok(());
            }
            let counted = match (item.data.as_deref(), is_pdf(&item.mime_type)) {
                (Some(data), true) => pdf_page_count(data),
                (None, _) => Err(MeasureFailure::NotInline),
                (Some(_), false) => Err(MeasureFailure::UnsupportedFormat {
                    mime_type: item.mime_type.to_string(),
                }),
            };
            let pages =
                counted.map_err(|cause| MediaRejection::PageCountUnknown { max_pages, cause })?;
            if pages > max_pages {
                return Err(MediaRejection::TooManyPages { pages, max_pages });
            }
        }
        Ok(())
    }
}

fn mime_essence(mime: &str) -> String {
    mime.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn is_pdf(mime: &str) -> bool {
    matches!(
        mime_essence(mime).as_str(),
        "application/pdf" | "application/x-pdf"
    )
}

/// Whether a document format has pages. Plain text and structured text
/// (JSON, XML, YAML, CSV, Markdown, HTML) have none; anything else (PDF,
/// office formats, unknown types) is treated as paginated.
fn is_paginated(mime: &str) -> bool {
    let essence = mime_essence(mime);
    let textual = essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || matches!(
            essence.as_str(),
            "application/json" | "application/xml" | "application/yaml" | "application/x-yaml"
        );
    !textual
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(v: serde_json::Value) -> MediaConfig {
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
