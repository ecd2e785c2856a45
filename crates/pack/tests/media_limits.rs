//! `require_caption`, `max_duration_sec` and `max_pages` on real media:
//! accepted at or below the limit, rejected above it, refused when the
//! value cannot be measured.

#![cfg(feature = "media-probe")]

mod support;

use std::time::Duration;

use promptkit_core::{MediaContent, StorageReference};
use promptkit_pack::{
    Error, MeasureFailure, MediaConfig, MediaRejection, media_duration, pdf_page_count,
};
use serde_json::json;
use support::{fixture, pdf, pdf_declaring, pdf_from_objects, wav};

fn cfg(v: serde_json::Value) -> MediaConfig {
    serde_json::from_value(v).unwrap()
}

fn audio_limit(secs: u64) -> MediaConfig {
    cfg(json!({"enabled": true, "audio": {"max_duration_sec": secs}}))
}

fn video_limit(secs: u64) -> MediaConfig {
    cfg(json!({"enabled": true, "video": {"max_duration_sec": secs}}))
}

fn pages_limit(pages: u64) -> MediaConfig {
    cfg(json!({"enabled": true, "document": {"max_pages": pages}}))
}

fn rejection(result: Result<(), Error>) -> MediaRejection {
    match result {
        Err(Error::MediaRejected { reason, .. }) => reason,
        other => panic!("expected a media rejection, got {other:?}"),
    }
}

#[test]
fn caption_is_the_message_text() {
    let c = cfg(json!({"enabled": true, "image": {"require_caption": true}}));
    let png = MediaContent::from_bytes("image/png", vec![1u8; 8]);
    let wav = MediaContent::from_bytes("audio/wav", wav(100, 8000));
    assert!(
        c.check_message("a red square", std::slice::from_ref(&png))
            .is_ok()
    );
    for empty in ["", "  \n\t "] {
        let err = c
            .check_message(empty, &[wav.clone(), png.clone()])
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::MediaRejected {
                    index: 1,
                    reason: MediaRejection::MissingCaption
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("require_caption"), "{err}");
    }
    // Only images need a caption.
    assert!(c.check_message("", &[wav]).is_ok());
    // Without the rule, an uncaptioned image passes.
    let lax = cfg(json!({"enabled": true, "image": {}}));
    assert!(lax.check_message("", std::slice::from_ref(&png)).is_ok());
    // `check` has no text and cannot apply the rule.
    assert!(c.check(&[png]).is_ok());
}

#[test]
fn wav_duration_at_and_over_the_limit() {
    let ten = MediaContent::from_bytes("audio/wav", wav(10_000, 8000));
    let long = MediaContent::from_bytes("audio/wav", wav(12_500, 8000));
    assert!(
        audio_limit(10)
            .check_message("x", std::slice::from_ref(&ten))
            .is_ok()
    );
    let reason = rejection(audio_limit(10).check_message("x", &[ten, long]));
    assert_eq!(
        reason,
        MediaRejection::TooLong {
            media_type: "audio".into(),
            duration: Duration::from_millis(12_500),
            max_duration_sec: 10
        }
    );
    assert_eq!(
        reason.to_string(),
        "audio of 12.5 s exceeds max_duration_sec = 10"
    );
    // Just over the limit is over it.
    let over = MediaContent::from_bytes("audio/wav", wav(10_001, 8000));
    assert!(matches!(
        rejection(audio_limit(10).check(&[over])),
        MediaRejection::TooLong { .. }
    ));
}

#[test]
fn audio_containers_are_measured() {
    for (name, mime) in [
        ("tone-3s.mp3", "audio/mpeg"),
        ("tone-3s-noxing.mp3", "audio/mpeg"),
        ("tone-3s.ogg", "audio/ogg"),
        ("tone-3s.flac", "audio/flac"),
        ("tone-3s.m4a", "audio/mp4"),
    ] {
        let bytes = fixture(name);
        let d = media_duration(mime, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            d >= Duration::from_millis(2_900) && d <= Duration::from_millis(3_300),
            "{name}: {d:?}"
        );
        let item = MediaContent::from_bytes(mime, bytes);
        assert!(
            audio_limit(4).check(std::slice::from_ref(&item)).is_ok(),
            "{name}"
        );
        assert!(
            matches!(
                rejection(audio_limit(2).check(&[item])),
                MediaRejection::TooLong {
                    max_duration_sec: 2,
                    ..
                }
            ),
            "{name}"
        );
    }
}

#[test]
fn video_duration_of_mp4_and_mov() {
    for (name, mime) in [
        ("clip-3s.mp4", "video/mp4"),
        ("clip-3s.mov", "video/quicktime"),
    ] {
        let bytes = fixture(name);
        let d = media_duration(mime, &bytes).unwrap();
        assert!(
            d >= Duration::from_millis(2_900) && d <= Duration::from_millis(3_100),
            "{name}: {d:?}"
        );
        let item = MediaContent::from_bytes(mime, bytes);
        assert!(
            video_limit(3).check(std::slice::from_ref(&item)).is_ok(),
            "{name}"
        );
        let reason = rejection(video_limit(2).check(&[item]));
        assert!(
            reason
                .to_string()
                .starts_with("video of 3 s exceeds max_duration_sec = 2"),
            "{name}: {reason}"
        );
    }
    // The audio limit does not apply to video, nor the video limit to audio.
    let clip = MediaContent::from_bytes("video/mp4", fixture("clip-3s.mp4"));
    assert!(audio_limit(1).check(&[clip]).is_ok());
    let tone = MediaContent::from_bytes("audio/wav", wav(3_000, 8000));
    assert!(video_limit(1).check(&[tone]).is_ok());
}

#[test]
fn unmeasurable_durations_are_refused() {
    let url = MediaContent::from_url("audio/mpeg", "https://example.com/a.mp3");
    let stored = MediaContent::from_reference(
        "video/mp4",
        StorageReference::new("local:abc").unwrap(),
        1000,
    );
    let webm = MediaContent::from_bytes("video/webm", fixture("clip-3s.webm"));
    let garbage = MediaContent::from_bytes("audio/wav", b"RIFF\xff\xff\xff\xffWAVEjunk".to_vec());
    let cases = [
        (url, audio_limit(60), "no inline bytes"),
        (stored, video_limit(60), "no inline bytes"),
        (webm, video_limit(60), "video/webm cannot be measured"),
        (garbage, audio_limit(60), "unreadable media"),
    ];
    for (item, limit, message) in cases {
        let reason = rejection(limit.check_message("text", std::slice::from_ref(&item)));
        assert!(
            matches!(
                reason,
                MediaRejection::DurationUnknown {
                    max_duration_sec: 60,
                    ..
                }
            ),
            "{reason:?}"
        );
        assert!(reason.to_string().contains(message), "{reason}");
        // Without a duration limit the same item is not measured at all.
        let unlimited = cfg(json!({"enabled": true}));
        assert!(unlimited.check_message("text", &[item]).is_ok());
    }
    let stored = rejection(video_limit(1).check(&[MediaContent::from_url("video/mp4", "u")]));
    assert!(matches!(
        stored,
        MediaRejection::DurationUnknown {
            cause: MeasureFailure::NotInline,
            ..
        }
    ));
}

#[test]
fn pdf_pages_at_and_over_the_limit() {
    for n in [1, 2, 5] {
        assert_eq!(pdf_page_count(&pdf(n)).unwrap(), n as u64);
    }
    let three = MediaContent::from_bytes("application/pdf", pdf(3));
    assert!(pages_limit(3).check(std::slice::from_ref(&three)).is_ok());
    let reason = rejection(pages_limit(2).check(&[three]));
    assert_eq!(
        reason,
        MediaRejection::TooManyPages {
            pages: 3,
            max_pages: 2
        }
    );
    assert_eq!(
        reason.to_string(),
        "document of 3 pages exceeds max_pages = 2"
    );
    // A lying /Count does not hide pages.
    let liar = MediaContent::from_bytes("application/pdf", pdf_declaring(4, 1));
    assert!(matches!(
        rejection(pages_limit(2).check(&[liar])),
        MediaRejection::TooManyPages { pages: 4, .. }
    ));
}

#[test]
fn nested_page_trees_count_leaves() {
    let objects: Vec<String> = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        "<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 3 >>".into(),
        "<< /Type /Pages /Parent 2 0 R /Kids [5 0 R 6 0 R] /Count 2 >>".into(),
        "<< /Type /Page /Parent 2 0 R >>".into(),
        "<< /Type /Page /Parent 3 0 R >>".into(),
        "<< /Type /Page /Parent 3 0 R >>".into(),
    ];
    assert_eq!(pdf_page_count(&pdf_from_objects(&objects)).unwrap(), 3);
}

#[test]
fn unmeasurable_documents_are_refused_text_is_exempt() {
    let limit = pages_limit(10);
    let url = MediaContent::from_url("application/pdf", "https://example.com/a.pdf");
    let docx = MediaContent::from_bytes(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        b"PK\x03\x04 not really a docx".to_vec(),
    );
    let broken = MediaContent::from_bytes("application/pdf", b"%PDF-1.7\n%%EOF".to_vec());
    for (item, cause) in [
        (url, "no inline bytes"),
        (docx, "cannot be measured"),
        (broken, "unreadable media"),
    ] {
        let reason = rejection(limit.check(&[item]));
        assert!(
            matches!(
                reason,
                MediaRejection::PageCountUnknown { max_pages: 10, .. }
            ),
            "{reason:?}"
        );
        assert!(reason.to_string().contains(cause), "{reason}");
    }
    for mime in [
        "text/plain",
        "text/markdown",
        "application/json",
        "text/csv",
    ] {
        let text = MediaContent::from_bytes(mime, b"no pages here".to_vec());
        assert!(limit.check(&[text]).is_ok(), "{mime}");
    }
}

#[test]
fn hostile_pdf_page_trees_are_rejected_quickly() {
    // A page tree node that lists itself: a cycle.
    let cycle = pdf_from_objects(&[
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        "<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 1 >>".into(),
        "<< /Type /Page /Parent 2 0 R >>".into(),
    ]);
    // 40 levels, each listing the next level twice: 2^40 paths to one page.
    let depth = 40;
    let mut shared = vec!["<< /Type /Catalog /Pages 2 0 R >>".to_owned()];
    for level in 0..depth {
        let next = level + 3;
        shared.push(format!(
            "<< /Type /Pages /Kids [{next} 0 R {next} 0 R] /Count 2 >>"
        ));
    }
    shared.push("<< /Type /Page >>".into());
    let shared = pdf_from_objects(&shared);
    let started = std::time::Instant::now();
    for doc in [cycle, shared] {
        assert!(matches!(
            pdf_page_count(&doc),
            Err(MeasureFailure::Malformed { .. })
        ));
        let item = MediaContent::from_bytes("application/pdf", doc);
        assert!(matches!(
            rejection(pages_limit(1000).check(&[item])),
            MediaRejection::PageCountUnknown { .. }
        ));
    }
    assert!(started.elapsed() < Duration::from_secs(5));
}
