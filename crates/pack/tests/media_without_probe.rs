//! Built without the `media-probe` feature (`cargo test -p promptkit-pack
//! --no-default-features`, run by `cargo xtask test-all`), nothing can be
//! measured: limits on durations and pages refuse the media (fail closed),
//! and everything else works as with the feature.

#![cfg(not(feature = "media-probe"))]

mod support;

use promptkit_core::MediaContent;
use promptkit_pack::{
    Error, MeasureFailure, MediaConfig, MediaRejection, media_duration, pdf_page_count,
};
use serde_json::json;
use support::{pdf, wav};

fn cfg(v: serde_json::Value) -> MediaConfig {
    serde_json::from_value(v).unwrap()
}

#[test]
fn measurements_report_the_missing_feature() {
    assert_eq!(
        media_duration("audio/wav", &wav(1_000, 8000)),
        Err(MeasureFailure::ProbeNotBuilt)
    );
    assert_eq!(pdf_page_count(&pdf(2)), Err(MeasureFailure::ProbeNotBuilt));
    assert!(
        MeasureFailure::ProbeNotBuilt
            .to_string()
            .contains("media-probe"),
    );
}

#[test]
fn limits_refuse_what_they_cannot_measure() {
    let audio = MediaContent::from_bytes("audio/wav", wav(1_000, 8000));
    let limited = cfg(json!({"enabled": true, "audio": {"max_duration_sec": 5}}));
    match limited.check_message("listen", std::slice::from_ref(&audio)) {
        Err(Error::MediaRejected {
            index: 0,
            reason: MediaRejection::DurationUnknown { cause, .. },
        }) => assert_eq!(cause, MeasureFailure::ProbeNotBuilt),
        other => panic!("expected DurationUnknown, got {other:?}"),
    }
    let doc = MediaContent::from_bytes("application/pdf", pdf(1));
    let paged = cfg(json!({"enabled": true, "document": {"max_pages": 3}}));
    match paged.check_message("read", std::slice::from_ref(&doc)) {
        Err(Error::MediaRejected {
            reason: MediaRejection::PageCountUnknown { cause, .. },
            ..
        }) => assert_eq!(cause, MeasureFailure::ProbeNotBuilt),
        other => panic!("expected PageCountUnknown, got {other:?}"),
    }
    // Without a limit to enforce, nothing is measured and the media passes.
    let open = cfg(json!({"enabled": true, "audio": {}, "document": {}}));
    assert!(open.check_message("both", &[audio, doc]).is_ok());
}
