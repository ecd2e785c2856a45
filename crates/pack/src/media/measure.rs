//! Measuring media for `max_duration_sec` and `max_pages`: the duration of
//! audio and video, the page count of PDFs.
//!
//! The container parsing is done by maintained crates: `symphonia` for audio
//! containers (WAV, MP3, Ogg, FLAC), Mozilla's `mp4parse` for ISO base media
//! files (MP4, M4A, MOV), `lopdf` for PDF. Every measurement runs inside
//! [`std::panic::catch_unwind`], so a parser that panics on hostile bytes
//! gives a [`MeasureFailure::Malformed`], never a panic in the caller. The
//! work is linear in the input: nothing is decoded, and the PDF page tree is
//! walked here with a visited set, so shared or cyclic page-tree nodes cannot
//! make the walk exponential.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use super::probe;

/// Why a duration or page count could not be measured.
///
/// ```
/// use promptkit_pack::{MeasureFailure, media_duration};
/// // WebM video is not a container that can be measured.
/// let err = media_duration("video/webm", b"\x1a\x45\xdf\xa3").unwrap_err();
/// assert_eq!(err, MeasureFailure::UnsupportedFormat { mime_type: "video/webm".into() });
/// assert_eq!(err.to_string(), "video/webm cannot be measured");
/// assert_eq!(MeasureFailure::NotInline.to_string(), "no inline bytes to measure");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MeasureFailure {
    /// The item has no inline bytes (a URL or a storage reference).
    NotInline,
    /// The container or document format is not one that can be measured.
    UnsupportedFormat {
        /// The item's MIME type.
        mime_type: String,
    },
    /// No supported parser could read the bytes: an audio container that is
    /// not supported (raw AAC, AIFF, ...), or truncated, corrupt, hostile or
    /// encrypted data.
    Malformed {
        /// What the parser reported.
        detail: String,
    },
    /// This build has no parsers: `promptkit-pack` was built without its
    /// `media-probe` feature (on by default), so durations and page counts
    /// cannot be measured and limits on them refuse the media.
    ProbeNotBuilt,
}

impl fmt::Display for MeasureFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MeasureFailure::NotInline => f.write_str("no inline bytes to measure"),
            MeasureFailure::UnsupportedFormat { mime_type } => {
                write!(f, "{mime_type} cannot be measured")
            }
            MeasureFailure::Malformed { detail } => write!(f, "unreadable media: {detail}"),
            MeasureFailure::ProbeNotBuilt => f.write_str(
                "this build cannot measure media (promptkit-pack without its `media-probe` feature)",
            ),
        }
    }
}

pub(super) fn malformed(detail: impl fmt::Display) -> MeasureFailure {
    MeasureFailure::Malformed {
        detail: detail.to_string(),
    }
}

/// Runs a parser, turning a panic into [`MeasureFailure::Malformed`].
fn guarded<T>(parse: impl FnOnce() -> Result<T, MeasureFailure>) -> Result<T, MeasureFailure> {
    // The closures only read a borrowed byte slice: nothing they touch is
    // left half-updated by an unwind.
    catch_unwind(AssertUnwindSafe(parse))
        .unwrap_or_else(|_| Err(malformed("the parser panicked on these bytes")))
}

/// Whether the bytes look like an ISO base media file (MP4, M4A, MOV): a
/// first box of a type such files start with.
fn is_isobmff(data: &[u8]) -> bool {
    data.get(4..8).is_some_and(|t| {
        matches!(
            t,
            b"ftyp" | b"moov" | b"mdat" | b"free" | b"skip" | b"wide" | b"pnot"
        )
    })
}

/// The playing time of audio or video bytes.
///
/// MP4, M4A and MOV files (recognised by their first box, whatever the MIME
/// type says) report the longest track's header duration. Other audio is
/// probed by container (WAV, MP3, Ogg Vorbis/Opus, FLAC; the MIME type is a
/// hint). Video in any other container (WebM, Matroska, AVI, ...) is
/// [`MeasureFailure::UnsupportedFormat`]. Nothing is decoded; the work is
/// linear in the size of `data`, and garbage gives an error, never a panic.
///
/// ```
/// # #[cfg(feature = "media-probe")] {
/// use promptkit_pack::{MeasureFailure, media_duration};
/// // A WAV header for 16-bit mono at 8000 Hz followed by 1.5 s of silence.
/// let samples = 12_000u32;
/// let mut wav = Vec::new();
/// wav.extend_from_slice(b"RIFF");
/// wav.extend_from_slice(&(36 + samples * 2).to_le_bytes());
/// wav.extend_from_slice(b"WAVEfmt ");
/// wav.extend_from_slice(&16u32.to_le_bytes());
/// wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
/// wav.extend_from_slice(&1u16.to_le_bytes()); // mono
/// wav.extend_from_slice(&8000u32.to_le_bytes());
/// wav.extend_from_slice(&16_000u32.to_le_bytes()); // bytes per second
/// wav.extend_from_slice(&2u16.to_le_bytes()); // block align
/// wav.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
/// wav.extend_from_slice(b"data");
/// wav.extend_from_slice(&(samples * 2).to_le_bytes());
/// wav.resize(wav.len() + samples as usize * 2, 0);
/// assert_eq!(media_duration("audio/wav", &wav).unwrap().as_millis(), 1500);
/// assert!(matches!(
///     media_duration("audio/wav", b"not audio at all"),
///     Err(MeasureFailure::Malformed { .. })
/// ));
/// # }
/// ```
pub fn media_duration(mime_type: &str, data: &[u8]) -> Result<Duration, MeasureFailure> {
    if is_isobmff(data) {
        return guarded(|| probe::isobmff_duration(data));
    }
    if mime_type
        .trim()
        .get(..6)
        .is_some_and(|t| t.eq_ignore_ascii_case("video/"))
    {
        return Err(MeasureFailure::UnsupportedFormat {
            mime_type: mime_type.to_owned(),
        });
    }
    guarded(|| probe::audio_duration(mime_type, data))
}

/// The number of pages of a PDF.
///
/// The document is parsed with `lopdf` and its page tree walked from the
/// catalog; every page leaf counts (a lying `/Count` does not). A page tree
/// that visits an object twice (a cycle or a shared node), an encrypted PDF
/// that cannot be opened, or any other parse failure is
/// [`MeasureFailure::Malformed`]; garbage never panics. Memory and time are
/// bounded by the document's size and its compressed streams.
///
/// ```
/// # #[cfg(feature = "media-probe")] {
/// use promptkit_pack::pdf_page_count;
/// // A two-page PDF with its cross-reference table.
/// let objects = [
///     "<< /Type /Catalog /Pages 2 0 R >>",
///     "<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
///     "<< /Type /Page /Parent 2 0 R >>",
///     "<< /Type /Page /Parent 2 0 R >>",
/// ];
/// let mut pdf = String::from("%PDF-1.4\n");
/// let mut xref = format!("xref\n0 5\n0000000000 65535 f \n");
/// for (i, body) in objects.iter().enumerate() {
///     xref += &format!("{:010} 00000 n \n", pdf.len());
///     pdf += &format!("{} 0 obj\n{body}\nendobj\n", i + 1);
/// }
/// let start = pdf.len();
/// pdf += &format!("{xref}trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n{start}\n%%EOF\n");
/// assert_eq!(pdf_page_count(pdf.as_bytes()).unwrap(), 2);
/// assert!(pdf_page_count(b"%PDF-1.4 garbage").is_err());
/// # }
/// ```
pub fn pdf_page_count(data: &[u8]) -> Result<u64, MeasureFailure> {
    guarded(|| probe::pdf_pages(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_parser_is_a_malformed_result() {
        let r: Result<u64, _> = guarded(|| panic!("parser bug"));
        assert!(matches!(r, Err(MeasureFailure::Malformed { .. })));
        assert_eq!(guarded(|| Ok(7)), Ok(7));
    }

    #[cfg(feature = "media-probe")]
    #[test]
    fn not_media() {
        assert!(matches!(
            media_duration("video/webm", b"\x1a\x45\xdf\xa3 webm"),
            Err(MeasureFailure::UnsupportedFormat { .. })
        ));
        assert!(matches!(
            media_duration("video/mp4", b"\0\0\0\x10ftypisom\0\0\0\0"),
            Err(MeasureFailure::Malformed { .. })
        ));
        assert!(media_duration("audio/wav", b"").is_err());
        assert!(pdf_page_count(b"").is_err());
    }
}
