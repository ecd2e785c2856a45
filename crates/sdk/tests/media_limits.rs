//! The prompt's measured media limits on `send_with_media`: a too-long WAV
//! and an uncaptioned image are refused before the turn, with the pack's
//! typed rejection, and history is left unchanged.

#![cfg(feature = "media-probe")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use promptkit_core::MediaContent;
use promptkit_pack::{MediaRejection, Pack};
use promptkit_sdk::{ConversationConfig, ConversationManager, Error, ManagerConfig, MockProvider};

fn pack(media: &str) -> Pack {
    Pack::from_json_str(&format!(
        r#"{{
  "id": "ml", "name": "Media limits", "version": "1.0.0",
  "template_engine": {{"version": "v1", "syntax": "{{{{variable}}}}"}},
  "prompts": {{"chat": {{"id": "chat", "name": "chat", "version": "1.0.0",
    "system_template": "You help.", "media": {media}}}}}
}}"#
    ))
    .expect("media limits pack")
}

fn limits_manager(provider: Arc<MockProvider>, dir: &std::path::Path) -> ConversationManager {
    ConversationManager::builder()
        .provider_arc(provider)
        .media_store_arc(file_store(dir))
        .config(ManagerConfig::default())
        .build()
        .unwrap()
}

/// The pack's rejection inside an SDK error.
fn rejection(err: &Error) -> &MediaRejection {
    match err {
        Error::Pack(promptkit_pack::Error::MediaRejected { reason, .. }) => reason,
        other => panic!("expected a media rejection, got {other:?}"),
    }
}

/// A conversation whose prompt limits audio to 2 seconds.
fn audio_limited(dir: &std::path::Path) -> (Arc<MockProvider>, promptkit_sdk::Conversation) {
    let provider = Arc::new(MockProvider::new());
    let m = limits_manager(provider.clone(), dir);
    let p = m.register_pack(pack(
        r#"{"enabled": true, "audio": {"max_duration_sec": 2}}"#,
    ));
    let conv = m
        .new_conversation(&p, ConversationConfig::new("u", "s"))
        .unwrap();
    (provider, conv)
}

/// A PCM WAV of `millis` ms of silence, mono, 16-bit, 8000 Hz.
fn wav(millis: u32) -> MediaContent {
    let data_len = 8000 * millis / 1000 * 2;
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&8000u32.to_le_bytes());
    out.extend_from_slice(&16_000u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    out.resize(out.len() + data_len as usize, 0);
    MediaContent::from_bytes("audio/wav", out)
}

fn png() -> MediaContent {
    MediaContent::from_bytes("image/png", b"\x89PNG\r\n\x1a\nxxxx".to_vec())
}

#[tokio::test]
async fn too_long_audio_is_refused_before_the_turn() {
    let dir = tempfile::tempdir().unwrap();
    let (provider, mut conv) = audio_limited(dir.path());
    let err = conv
        .send_with_media("transcribe this", vec![wav(2_500)])
        .await
        .unwrap_err();
    match &err {
        Error::Pack(promptkit_pack::Error::MediaRejected { index: 0, reason }) => assert_eq!(
            reason,
            &MediaRejection::TooLong {
                media_type: "audio".into(),
                duration: Duration::from_millis(2_500),
                max_duration_sec: 2
            }
        ),
        other => panic!("expected a TooLong rejection, got {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("audio of 2.5 s exceeds max_duration_sec = 2"),
        "{err}"
    );
    assert!(conv.history().is_empty());
    assert!(provider.requests().is_empty(), "the model was called");

    // Within the limit the same conversation goes on.
    conv.send_with_media("transcribe this", vec![wav(2_000)])
        .await
        .unwrap();
    assert_eq!(conv.history().len(), 2);
    assert_eq!(provider.requests().len(), 1);
}

#[tokio::test]
async fn require_caption_refuses_an_image_without_text() {
    let dir = tempfile::tempdir().unwrap();
    let provider = Arc::new(MockProvider::new());
    let m = limits_manager(provider.clone(), dir.path());
    let p = m.register_pack(pack(
        r#"{"enabled": true, "image": {"require_caption": true}}"#,
    ));
    let mut conv = m
        .new_conversation(&p, ConversationConfig::new("u", "s"))
        .unwrap();
    for text in ["", "   "] {
        let err = conv.send_with_media(text, vec![png()]).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Pack(promptkit_pack::Error::MediaRejected {
                    index: 0,
                    reason: MediaRejection::MissingCaption
                })
            ),
            "{err:?}"
        );
    }
    assert!(conv.history().is_empty());
    assert!(provider.requests().is_empty());
    conv.send_with_media("a red square", vec![png()])
        .await
        .unwrap();
    assert_eq!(conv.history().len(), 2);
}

#[tokio::test]
async fn a_url_cannot_bypass_a_duration_limit() {
    let dir = tempfile::tempdir().unwrap();
    let provider = Arc::new(MockProvider::new());
    let m = limits_manager(provider.clone(), dir.path());
    let p = m.register_pack(pack(
        r#"{"enabled": true, "video": {"max_duration_sec": 60}}"#,
    ));
    let mut conv = m
        .new_conversation(&p, ConversationConfig::new("u", "s"))
        .unwrap();
    let remote = MediaContent::from_url("video/mp4", "https://example.com/movie.mp4");
    let err = conv
        .send_with_media("watch", vec![remote])
        .await
        .unwrap_err();
    assert!(
        matches!(rejection(&err), MediaRejection::DurationUnknown { .. }),
        "{err:?}"
    );
    assert!(conv.history().is_empty());
    assert!(provider.requests().is_empty());
}

/// Measuring runs on the blocking pool; it works from a current-thread
/// runtime inside a `LocalSet` as well.
#[test]
fn measuring_works_in_a_local_set() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let dir = tempfile::tempdir().unwrap();
        let (_provider, mut conv) = audio_limited(dir.path());
        let err = conv
            .send_with_media("transcribe this", vec![wav(2_500)])
            .await
            .unwrap_err();
        assert!(
            matches!(rejection(&err), MediaRejection::TooLong { .. }),
            "{err:?}"
        );
        conv.send_with_media("transcribe this", vec![wav(1_000)])
            .await
            .unwrap();
        assert_eq!(conv.history().len(), 2);
    });
}
