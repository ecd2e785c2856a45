//! MIME helpers shared by every backend: input validation against the bytes'
//! magic number, and the MIME → file extension table.

use bytes::Bytes;

use crate::{Error, MediaContent, Result};

/// File extension (without the dot) for a MIME type; `bin` when unknown.
///
/// Parameters (`; charset=...`) and case are ignored.
///
/// ```
/// use promptkit_media_store::extension_for_mime;
/// assert_eq!(extension_for_mime("image/png"), "png");
/// assert_eq!(extension_for_mime("IMAGE/JPEG"), "jpg");
/// assert_eq!(extension_for_mime("text/plain; charset=utf-8"), "txt");
/// assert_eq!(extension_for_mime("application/x-unknown"), "bin");
/// ```
pub fn extension_for_mime(mime: &str) -> &'static str {
    match essence(mime).as_str() {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" | "image/pjpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/svg+xml" => "svg",
        "image/bmp" => "bmp",
        "image/tiff" => "tiff",
        "image/heic" => "heic",
        "image/avif" => "avif",
        "audio/mpeg" | "audio/mp3" | "audio/mpeg3" | "audio/x-mp3" => "mp3",
        "audio/wav" | "audio/x-wav" | "audio/wave" | "audio/vnd.wave" => "wav",
        "audio/ogg" | "audio/opus" | "application/ogg" => "ogg",
        "audio/flac" | "audio/x-flac" => "flac",
        "audio/mp4" | "audio/m4a" | "audio/x-m4a" | "audio/aac" => "m4a",
        "audio/webm" | "video/webm" => "webm",
        "video/mp4" => "mp4",
        "video/ogg" => "ogv",
        "video/quicktime" => "mov",
        "video/x-matroska" => "mkv",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        "text/markdown" => "md",
        "text/csv" => "csv",
        "text/html" => "html",
        "application/json" => "json",
        _ => "bin",
    }
}

/// Checks inline media before it is stored and returns its bytes.
///
/// Rejects, with [`Error::InvalidInput`] or [`Error::TooLarge`]:
/// - media without inline bytes (`data` is `None`) or with zero bytes;
/// - a malformed MIME type (it must look like `type/subtype`);
/// - media over `max_size` bytes, when a limit is given;
/// - a declared MIME type that contradicts the magic number of the bytes
///   (see [`check_declared_mime`]).
///
/// ```
/// use promptkit_media_store::{validate_media, MediaContent, Error};
/// let png = MediaContent::from_bytes("image/png", &b"\x89PNG\r\n\x1a\nrest"[..]);
/// assert!(validate_media(&png, None).is_ok());
/// let lying = MediaContent::from_bytes("image/png", &b"\xFF\xD8\xFFjpeg"[..]);
/// assert!(matches!(validate_media(&lying, None), Err(Error::InvalidInput { .. })));
/// assert!(matches!(validate_media(&png, Some(4)), Err(Error::TooLarge { .. })));
/// ```
pub fn validate_media(content: &MediaContent, max_size: Option<u64>) -> Result<Bytes> {
    let data = content
        .data
        .as_ref()
        .ok_or_else(|| Error::invalid("data", "media has no inline bytes to store"))?;
    if data.is_empty() {
        return Err(Error::invalid("data", "media is empty (0 bytes)"));
    }
    let size = data.len() as u64;
    match max_size {
        Some(max) if size > max => return Err(Error::TooLarge { size, max }),
        _ => {}
    }
    check_declared_mime(&content.mime_type, data)?;
    Ok(data.clone())
}

/// Checks that `declared` is a well-formed MIME type that does not contradict
/// the magic number of `data` (as recognised by [`promptkit_core::sniff_mime`]).
///
/// Only a recognised, *different* type is an error: bytes without a known
/// magic number are accepted under any declared type, and
/// `application/octet-stream` accepts any bytes. Aliases and container
/// families are tolerated (`image/jpg` for JPEG, `audio/mp4` or
/// `video/quicktime` for an ISO-BMFF `ftyp` file, `audio/webm` for WebM, ...).
///
/// ```
/// use promptkit_media_store::check_declared_mime;
/// assert!(check_declared_mime("image/jpg", b"\xFF\xD8\xFF\xE0").is_ok());
/// assert!(check_declared_mime("text/plain", b"hello").is_ok());
/// assert!(check_declared_mime("image/gif", b"%PDF-1.7").is_err());
/// assert!(check_declared_mime("not a mime", b"hello").is_err());
/// assert!(check_declared_mime("image/png\r\nX-Evil: 1", b"x").is_err());
/// assert!(check_declared_mime(&format!("text/{}", "x".repeat(300)), b"x").is_err());
/// ```
pub fn check_declared_mime(declared: &str, data: &[u8]) -> Result<()> {
    // RFC 6838 limits type and subtype names to 127 characters each.
    if declared.len() > 255 {
        return Err(Error::invalid(
            "mime_type",
            format!("MIME type is {} bytes long (at most 255)", declared.len()),
        ));
    }
    let declared_essence = essence(declared);
    let well_formed = declared_essence
        .split_once('/')
        .is_some_and(|(t, s)| is_token(t) && is_token(s));
    if !well_formed {
        return Err(Error::invalid(
            "mime_type",
            format!("`{declared}` is not a MIME type of the form type/subtype"),
        ));
    }
    if declared_essence == "application/octet-stream" {
        return Ok(());
    }
    let Some(sniffed) = promptkit_core::sniff_mime(data) else {
        return Ok(());
    };
    if family(&declared_essence) == family(sniffed) {
        Ok(())
    } else {
        Err(Error::invalid(
            "mime_type",
            format!("declared `{declared}` but the bytes are {sniffed}"),
        ))
    }
}

/// Lower-cased MIME type without parameters.
fn essence(mime: &str) -> String {
    mime.split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
}

/// A canonical name for types that share one magic number.
fn family(essence: &str) -> &str {
    match essence {
        "image/jpg" | "image/pjpeg" => "image/jpeg",
        "audio/mp3" | "audio/mpeg3" | "audio/x-mp3" => "audio/mpeg",
        "audio/x-wav" | "audio/wave" | "audio/vnd.wave" => "audio/wav",
        "video/ogg" | "application/ogg" | "audio/opus" => "audio/ogg",
        "video/quicktime" | "audio/mp4" | "audio/m4a" | "audio/x-m4a" | "image/heic"
        | "image/heif" | "image/avif" | "video/3gpp" => "video/mp4",
        "audio/webm" | "video/x-matroska" | "audio/x-matroska" => "video/webm",
        "application/x-pdf" => "application/pdf",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_accept_aliases_and_reject_contradictions() {
        assert!(check_declared_mime("audio/mp3", b"ID3\x03").is_ok());
        assert!(check_declared_mime("video/quicktime", b"\0\0\0\x14ftypqt  ").is_ok());
        assert!(check_declared_mime("image/png; x=y", b"\x89PNG\r\n\x1a\n").is_ok());
        assert!(check_declared_mime("application/octet-stream", b"%PDF-").is_ok());
        assert!(check_declared_mime("image/png", b"\xFF\xD8\xFF\xE0").is_err());
        assert!(check_declared_mime("", b"x").is_err());
        assert!(check_declared_mime("image/", b"x").is_err());
        assert!(check_declared_mime("image/p ng", b"x").is_err());
    }

    #[test]
    fn validate_rejects_missing_and_empty() {
        let mut m = MediaContent::from_bytes("image/png", Bytes::new());
        assert!(matches!(
            validate_media(&m, None),
            Err(Error::InvalidInput { field, .. }) if field == "data"
        ));
        m.data = None;
        assert!(validate_media(&m, None).is_err());
    }
}
