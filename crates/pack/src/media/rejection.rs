//! Why a media item was rejected.

use std::fmt;
use std::time::Duration;

use super::MeasureFailure;

/// Why [`MediaConfig::check_message`] (or [`MediaConfig::check`]) rejected a
/// media item.
///
/// [`MediaConfig::check_message`]: super::MediaConfig::check_message
/// [`MediaConfig::check`]: super::MediaConfig::check
///
/// ```
/// use promptkit_core::MediaContent;
/// use promptkit_pack::{Error, MediaConfig, MediaRejection};
/// let cfg: MediaConfig = serde_json::from_str(r#"{"enabled": true,
///     "image": {"max_images_per_msg": 1}}"#).unwrap();
/// let png = MediaContent::from_bytes("image/png", vec![0u8; 4]);
/// let Err(Error::MediaRejected { index, reason }) = cfg.check(&[png.clone(), png]) else {
///     panic!("two images are one too many");
/// };
/// assert_eq!(index, 1);
/// assert_eq!(reason, MediaRejection::TooManyImages { count: 2, max: 1 });
/// assert_eq!(reason.to_string(), "2 images in one message, max_images_per_msg = 1");
/// ```
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
    /// `image.require_caption` is true and the message text, which is the
    /// images' caption, is empty or whitespace.
    MissingCaption,
    /// Audio or video plays longer than `max_duration_sec`.
    TooLong {
        /// `audio` or `video`.
        media_type: String,
        /// The measured duration.
        duration: Duration,
        /// The limit in seconds.
        max_duration_sec: u64,
    },
    /// `max_duration_sec` is set and the item's duration could not be
    /// measured (no inline bytes, unsupported container, unreadable bytes):
    /// such items are refused, not let through.
    DurationUnknown {
        /// `audio` or `video`.
        media_type: String,
        /// The limit in seconds.
        max_duration_sec: u64,
        /// Why it could not be measured.
        cause: MeasureFailure,
    },
    /// A document has more pages than `document.max_pages`.
    TooManyPages {
        /// The counted pages.
        pages: u64,
        /// The limit.
        max_pages: u64,
    },
    /// `document.max_pages` is set and the document's pages could not be
    /// counted (no inline bytes, a paginated format other than PDF, an
    /// unreadable PDF): such documents are refused, not let through.
    PageCountUnknown {
        /// The limit.
        max_pages: u64,
        /// Why the pages could not be counted.
        cause: MeasureFailure,
    },
}

/// Seconds with up to millisecond precision, rounded up so that a rejected
/// duration never prints as equal to its limit: `12.5`, `10.001`, `3`.
fn seconds(d: Duration) -> String {
    let millis = d.as_nanos().div_ceil(1_000_000);
    let (whole, frac) = (millis / 1000, millis % 1000);
    if frac == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{frac:03}")
            .trim_end_matches('0')
            .to_owned()
    }
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
            MediaRejection::MissingCaption => f.write_str(
                "image.require_caption is true but the message has no text to caption the image",
            ),
            MediaRejection::TooLong {
                media_type,
                duration,
                max_duration_sec,
            } => write!(
                f,
                "{media_type} of {} s exceeds max_duration_sec = {max_duration_sec}",
                seconds(*duration)
            ),
            MediaRejection::DurationUnknown {
                media_type,
                max_duration_sec,
                cause,
            } => write!(
                f,
                "{media_type} duration cannot be checked against max_duration_sec = \
                 {max_duration_sec}: {cause}"
            ),
            MediaRejection::TooManyPages { pages, max_pages } => {
                write!(
                    f,
                    "document of {pages} pages exceeds max_pages = {max_pages}"
                )
            }
            MediaRejection::PageCountUnknown { max_pages, cause } => write!(
                f,
                "document pages cannot be checked against max_pages = {max_pages}: {cause}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_rounded_up_to_the_millisecond() {
        assert_eq!(seconds(Duration::from_millis(12_500)), "12.5");
        assert_eq!(seconds(Duration::from_secs(3)), "3");
        assert_eq!(seconds(Duration::from_nanos(10_000_000_001)), "10.001");
        assert_eq!(seconds(Duration::from_millis(1_050)), "1.05");
    }

    #[test]
    fn messages_name_limit_and_value() {
        let long = MediaRejection::TooLong {
            media_type: "audio".into(),
            duration: Duration::from_millis(12_500),
            max_duration_sec: 10,
        };
        assert_eq!(
            long.to_string(),
            "audio of 12.5 s exceeds max_duration_sec = 10"
        );
        let pages = MediaRejection::TooManyPages {
            pages: 3,
            max_pages: 2,
        };
        assert_eq!(
            pages.to_string(),
            "document of 3 pages exceeds max_pages = 2"
        );
        let unknown = MediaRejection::DurationUnknown {
            media_type: "video".into(),
            max_duration_sec: 5,
            cause: MeasureFailure::NotInline,
        };
        assert_eq!(
            unknown.to_string(),
            "video duration cannot be checked against max_duration_sec = 5: no inline bytes to measure"
        );
    }
}
