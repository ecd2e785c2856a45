//! Hostile bytes for the media measurements: random data, truncated and
//! bit-flipped real files, and a lying WAV header. Nothing may panic, and a
//! configured limit never lets an unmeasurable item through.
//!
//! `cargo xtask fuzz [SECS]` selects the `fuzz_` properties and sets
//! `PROMPTKIT_FUZZ_SECS`, which scales the number of cases.

#![cfg(feature = "media-probe")]

mod support;

use std::time::{Duration, Instant};

use promptkit_core::MediaContent;
use promptkit_pack::{Error, MediaConfig, MediaRejection, media_duration, pdf_page_count};
use proptest::prelude::*;
use serde_json::json;
use support::{fixture, pdf, wav};

fn cases() -> u32 {
    std::env::var("PROMPTKIT_FUZZ_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .map_or(64, |secs| secs.saturating_mul(100).max(64))
}

fn limits() -> MediaConfig {
    serde_json::from_value(json!({"enabled": true,
        "audio": {"max_duration_sec": 3600},
        "video": {"max_duration_sec": 3600},
        "document": {"max_pages": 1000}}))
    .unwrap()
}

/// Real files of every measured format.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("audio/wav", wav(500, 8000)),
        ("audio/mpeg", fixture("tone-3s.mp3")),
        ("audio/mpeg", fixture("tone-3s-noxing.mp3")),
        ("audio/ogg", fixture("tone-3s.ogg")),
        ("audio/flac", fixture("tone-3s.flac")),
        ("audio/mp4", fixture("tone-3s.m4a")),
        ("video/mp4", fixture("clip-3s.mp4")),
        ("video/quicktime", fixture("clip-3s.mov")),
        ("application/pdf", pdf(2)),
    ]
}

/// Measures and checks; the result must be a value or a typed rejection.
fn measure_all(mime: &str, bytes: &[u8]) {
    let _ = media_duration(mime, bytes);
    let _ = pdf_page_count(bytes);
    let item = MediaContent::from_bytes(mime, bytes.to_vec());
    match limits().check(&[item]) {
        Ok(()) | Err(Error::MediaRejected { .. }) => {}
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn fuzz_random_bytes_never_panic(
        mime in prop::sample::select(vec![
            "audio/wav", "audio/mpeg", "audio/ogg", "audio/flac", "audio/mp4",
            "video/mp4", "video/quicktime", "application/pdf",
        ]),
        prefix in prop::sample::select(vec![
            &b""[..], b"RIFF", b"ID3\x04", b"OggS", b"fLaC", b"\0\0\0\x18ftyp", b"%PDF-1.7\n",
            b"\xff\xfb",
        ]),
        tail in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut bytes = prefix.to_vec();
        bytes.extend_from_slice(&tail);
        measure_all(mime, &bytes);
    }

    #[test]
    fn fuzz_mutated_real_files_never_panic(
        seed in 0usize..9,
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let (mime, mut bytes) = seeds().swap_remove(seed);
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        measure_all(mime, &bytes);
    }
}

#[test]
fn every_truncation_of_real_files_is_handled() {
    let started = Instant::now();
    for (mime, bytes) in seeds() {
        // Every prefix of the header region, then coarser steps.
        let mut lengths: Vec<usize> = (0..bytes.len().min(256)).collect();
        lengths.extend((256..bytes.len()).step_by(97));
        for len in lengths {
            let item = MediaContent::from_bytes(mime, bytes[..len].to_vec());
            match limits().check(&[item]) {
                Ok(()) | Err(Error::MediaRejected { .. }) => {}
                Err(other) => panic!("{mime} cut at {len}: {other:?}"),
            }
        }
    }
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn wav_header_claiming_hours_is_not_trusted_blindly() {
    // A WAV header whose data chunk claims 4 GiB while the file holds 1 s of
    // samples: the check must not panic and must not let it through a 2 s
    // limit (it is either measured as long or refused as unreadable).
    let mut bytes = wav(1_000, 8000);
    bytes[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    let cfg: MediaConfig =
        serde_json::from_value(json!({"enabled": true, "audio": {"max_duration_sec": 2}})).unwrap();
    let item = MediaContent::from_bytes("audio/wav", bytes);
    match cfg.check(&[item]) {
        Err(Error::MediaRejected { reason, .. }) => assert!(
            matches!(
                reason,
                MediaRejection::TooLong { .. } | MediaRejection::DurationUnknown { .. }
            ),
            "{reason:?}"
        ),
        other => panic!("a lying 4 GiB WAV header passed a 2 s limit: {other:?}"),
    }
}

#[test]
fn large_garbage_is_measured_in_bounded_time() {
    // 8 MiB of pseudo-random bytes behind each magic: linear work only.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let noise: Vec<u8> = (0..8 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let started = Instant::now();
    for (mime, magic) in [
        ("audio/mpeg", &b"\xff\xfb\x90\x00"[..]),
        ("audio/wav", b"RIFF\0\0\0\0WAVE"),
        ("audio/ogg", b"OggS"),
        ("video/mp4", b"\0\0\0\x18ftypisom"),
        ("application/pdf", b"%PDF-1.7\n"),
    ] {
        let mut bytes = magic.to_vec();
        bytes.extend_from_slice(&noise);
        measure_all(mime, &bytes);
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

/// Sets the big-endian `u32` that follows `tag` + `skip` bytes, at every
/// occurrence of `tag`.
fn patch_after(bytes: &mut [u8], tag: &[u8; 4], skip: usize, value: u32) -> usize {
    let mut patched = 0;
    let mut i = 0;
    while let Some(pos) = bytes[i..].windows(4).position(|w| w == tag) {
        let at = i + pos + 4 + skip;
        if let Some(field) = bytes.get_mut(at..at + 4) {
            field.copy_from_slice(&value.to_be_bytes());
            patched += 1;
        }
        i += pos + 4;
    }
    patched
}

#[test]
fn declared_counts_far_beyond_the_data_do_not_exhaust_memory() {
    // Sample tables whose entry counts claim 4 billion entries: a parser that
    // allocated them up front would abort the process.
    let started = Instant::now();
    for name in ["clip-3s.mp4", "clip-3s.mov", "tone-3s.m4a"] {
        for (tag, skip) in [(b"stsz", 8), (b"stco", 4), (b"stts", 4), (b"stsc", 4)] {
            let mut bytes = fixture(name);
            assert!(patch_after(&mut bytes, tag, skip, u32::MAX) > 0, "{name}");
            measure_all("video/mp4", &bytes);
        }
    }
    // A WAV with a 4 GiB LIST chunk before its data.
    let mut bytes = b"RIFF\xff\xff\xff\x7fWAVELIST\xf0\xff\xff\xffINFOISFT".to_vec();
    bytes.extend_from_slice(&wav(100, 8000)[12..]);
    measure_all("audio/wav", &bytes);
    // An ID3v2 tag claiming 256 MiB in front of an MP3.
    let mut mp3 = b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f".to_vec();
    mp3.extend_from_slice(&fixture("tone-3s.mp3"));
    measure_all("audio/mpeg", &mp3);
    assert!(started.elapsed() < Duration::from_secs(30));
}
