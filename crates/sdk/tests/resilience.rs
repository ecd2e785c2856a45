//! Failure paths: a failing media store, streaming, cancellation, resume.

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use futures::StreamExt;
use promptkit_media_store::{
    MediaContent, MediaMetadata, MediaStore, StorageReference, StorageStats,
};
use promptkit_sdk::{
    ConversationConfig, ConversationEvent, ConversationManager, FileStateStore, ManagerConfig,
    MockProvider,
};

/// A store whose backend is down.
#[derive(Debug)]
struct DownStore;

fn down() -> promptkit_media_store::Error {
    promptkit_media_store::Error::backend(
        "test",
        "put",
        true,
        std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused"),
    )
}

#[async_trait]
impl MediaStore for DownStore {
    async fn store(
        &self,
        _: &MediaContent,
        _: &MediaMetadata,
    ) -> promptkit_media_store::Result<StorageReference> {
        Err(down())
    }
    async fn retrieve(&self, _: &StorageReference) -> promptkit_media_store::Result<MediaContent> {
        Err(down())
    }
    async fn delete(&self, _: &StorageReference) -> promptkit_media_store::Result<()> {
        Err(down())
    }
    async fn url(
        &self,
        _: &StorageReference,
        _: Duration,
    ) -> promptkit_media_store::Result<String> {
        Err(down())
    }
    async fn stats(&self) -> promptkit_media_store::Result<StorageStats> {
        Err(down())
    }
}

#[tokio::test]
async fn failing_store_keeps_media_inline() {
    let m = manager(
        Arc::new(MockProvider::new().with_image_size(64)),
        Arc::new(DownStore),
        ManagerConfig {
            media_size_threshold_kb: 0,
            ..Default::default()
        },
    );
    let pack = m.load_pack(TUTORIAL_PACK).unwrap();
    let mut conv = m
        .new_conversation(&pack, ConversationConfig::new("u", "s"))
        .unwrap();
    let resp = conv.send("Draw a boat").await.unwrap();
    assert!(resp.stored_media.is_empty());
    assert_eq!(resp.warnings.len(), 1, "{:?}", resp.warnings);
    assert!(resp.warnings[0].contains("kept inline"));
    let mem = conv.memory_stats();
    assert_eq!(mem.media_parts, 1);
    assert!(mem.inline_media_bytes > 0, "the image must not be lost");
}

#[tokio::test]
async fn stream_yields_events_and_commits_the_turn() {
    let (_dir, _m, mut conv) = tutorial_conversation(MockProvider::new().with_image_size(64), 0);
    let events: Vec<_> = conv.stream("Sketch a bridge").collect().await;
    let events: Vec<_> = events.into_iter().map(Result::unwrap).collect();
    assert!(events.iter().any(
        |e| matches!(e, ConversationEvent::ToolCall(c) if &*c.name == "dalle-image-generator")
    ));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ConversationEvent::ToolResult { error: None, .. }))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ConversationEvent::TextDelta(t) if t.contains("bridge")))
    );
    let Some(ConversationEvent::Done(resp)) = events.last() else {
        panic!("last event must be Done")
    };
    assert_eq!(resp.stored_media.len(), 1);
    assert_eq!(conv.history().len(), 4);
}

#[tokio::test]
async fn dropping_a_stream_leaves_history_unchanged() {
    let (_dir, _m, mut conv) = tutorial_conversation(MockProvider::new().with_image_size(64), 100);
    {
        let mut s = Box::pin(conv.stream("Sketch a bridge"));
        let first = s.next().await.unwrap().unwrap();
        assert!(matches!(first, ConversationEvent::ToolCall(_)), "{first:?}");
    }
    assert!(conv.history().is_empty());
    conv.send("hello").await.unwrap();
    assert_eq!(conv.history().len(), 2);
}

#[tokio::test]
async fn resume_from_file_state_store_in_a_new_manager() {
    let media = tempfile::tempdir().unwrap();
    let states = tempfile::tempdir().unwrap();
    let build = || {
        ConversationManager::builder()
            .provider(MockProvider::new().with_image_size(128))
            .media_store_arc(file_store(media.path()))
            .state_store(FileStateStore::new(states.path()).unwrap())
            .image_tool("dalle-image-generator")
            .config(ManagerConfig {
                media_size_threshold_kb: 1,
                ..Default::default()
            })
            .build()
            .unwrap()
    };
    let id;
    {
        let m = build();
        let pack = m.load_pack(TUTORIAL_PACK).unwrap();
        let mut conv = m
            .new_conversation(&pack, ConversationConfig::new("u", "s"))
            .unwrap();
        for i in 0..3 {
            conv.send(format!("Draw picture {i}")).await.unwrap();
        }
        id = conv.id().to_owned();
    }
    let saved = std::fs::metadata(states.path().join(format!("{id}.json")))
        .unwrap()
        .len();
    assert!(saved < 16 * 1024, "saved state is {saved} bytes");
    let m = build();
    assert!(
        matches!(m.resume(&id).await, Err(promptkit_sdk::Error::Config(_))),
        "pack not loaded yet"
    );
    m.load_pack(TUTORIAL_PACK).unwrap();
    let mut conv = m.resume(&id).await.unwrap();
    assert_eq!(conv.history().len(), 12);
    assert_eq!(conv.memory_stats().externalized_parts, 3);
    conv.send("Draw picture 4").await.unwrap();
    assert_eq!(conv.history().len(), 16);
    assert!(matches!(
        m.resume("unknown").await,
        Err(promptkit_sdk::Error::ConversationNotFound { .. })
    ));
}

#[tokio::test]
async fn tool_result_events_report_failures_not_text_that_looks_like_one() {
    use promptkit_sdk::{FnTool, MockReply, ToolOutput};
    let dir = tempfile::tempdir().unwrap();
    let provider = MockProvider::scripted(vec![
        MockReply::ToolCalls(vec![
            ("add".into(), "{}".into()),
            ("add".into(), "{broken".into()),
        ]),
        MockReply::Text("done".into()),
    ]);
    let m = ConversationManager::builder()
        .provider(provider)
        .media_store_arc(file_store(dir.path()))
        .tool(
            "add",
            FnTool::new(|_| async {
                Ok(ToolOutput::text("error: this is the tool's real output"))
            }),
        )
        .build()
        .unwrap();
    let pack = m.register_pack(tools_pack());
    let mut conv = m
        .new_conversation(&pack, ConversationConfig::new("u", "s"))
        .unwrap();
    let events: Vec<_> = conv.stream("go").collect().await;
    let errors: Vec<_> = events
        .into_iter()
        .filter_map(|e| match e.unwrap() {
            ConversationEvent::ToolResult { error, .. } => Some(error),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0], None, "a successful tool is not a failure");
    assert!(
        errors[1]
            .as_deref()
            .is_some_and(|e| e.contains("invalid arguments JSON")),
        "{errors:?}"
    );
}
