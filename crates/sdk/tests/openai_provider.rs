//! The SDK over the real OpenAI provider, talking HTTP to the in-repo
//! OpenAI-compatible server: tool loop, image tool, externalization, streaming.

mod common;

use common::*;
use futures::StreamExt;
use promptkit_media_store::MediaStoreExt;
use promptkit_mock_openai::{MockOpenAi, Reply, Script};
use promptkit_provider_openai::{OpenAiProvider, RetryPolicy};
use promptkit_sdk::{ConversationConfig, ConversationEvent, ConversationManager, ManagerConfig};

fn provider(mock: &MockOpenAi) -> OpenAiProvider {
    OpenAiProvider::builder()
        .with_base_url(mock.base_url())
        .with_api_key("sk-test-not-a-real-key")
        .with_model("gpt-4o")
        .with_image_model("gpt-image-1")
        .with_retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

fn manager_for(mock: &MockOpenAi, dir: &std::path::Path) -> ConversationManager {
    ConversationManager::builder()
        .provider(provider(mock))
        .media_store_arc(file_store(dir))
        .image_tool("dalle-image-generator")
        .config(ManagerConfig {
            media_size_threshold_kb: 0,
            ..Default::default()
        })
        .build()
        .unwrap()
}

fn script() -> Script {
    Script::new()
        .then(
            Reply::tool_call(
                "call_1",
                "dalle-image-generator",
                r#"{"prompt":"a red fox in snow","size":"1024x1024"}"#,
            )
            .with_usage(120, 20, 0),
        )
        .then(Reply::generated_images())
        .then(Reply::text("Here is a red fox in the snow.").with_usage(400, 12, 100))
}

#[tokio::test]
async fn image_tool_over_openai_externalizes_and_rehydrates() {
    let dir = tempfile::tempdir().unwrap();
    let mock = MockOpenAi::start(script()).await.unwrap();
    let m = manager_for(&mock, dir.path());
    let pack = m.load_pack(TUTORIAL_PACK).unwrap();
    let mut conv = m
        .new_conversation(&pack, ConversationConfig::new("u", "s"))
        .unwrap();
    let resp = conv.send("Draw a red fox in snow").await.unwrap();
    assert_eq!(resp.content, "Here is a red fox in the snow.");
    assert_eq!(resp.stored_media.len(), 1, "{:?}", resp.warnings);
    assert_eq!(resp.stored_media[0].mime_type, "image/png");
    // Chat usage (120 + 400) plus whatever the image model reported.
    assert!(resp.usage.prompt_tokens >= 520, "{:?}", resp.usage);
    assert_eq!(resp.usage.cached_tokens, 100);
    assert!(resp.cost.total() > 0.0, "gpt-4o and gpt-image-1 are priced");
    assert_eq!(conv.memory_stats().inline_media_bytes, 0);
    let png = m
        .media_store()
        .unwrap()
        .retrieve_bytes(&resp.stored_media[0].reference)
        .await
        .unwrap();
    assert!(png.starts_with(b"\x89PNG"));

    let reqs = mock.requests();
    let chats: Vec<_> = reqs
        .iter()
        .filter(|r| r.path.ends_with("/chat/completions"))
        .collect();
    let images: Vec<_> = reqs
        .iter()
        .filter(|r| r.path.ends_with("/images/generations"))
        .collect();
    assert_eq!((chats.len(), images.len()), (2, 1));
    // The pack's tool and parameters went to the model.
    assert_eq!(
        chats[0].body["tools"][0]["function"]["name"],
        "dalle-image-generator"
    );
    assert_eq!(chats[0].body["temperature"], 0.7);
    assert_eq!(images[0].body["prompt"], "a red fox in snow");
    // The generated image is described to the model in the tool message
    // (type, size, dimensions, reference), not sent back: the request ends
    // with the tool message.
    let second = chats[1].body["messages"].as_array().unwrap();
    let last = second.last().unwrap();
    assert_eq!(last["role"], "tool");
    let described = last["content"].as_str().unwrap();
    let reference = resp.stored_media[0].reference.to_string();
    assert!(
        described.contains(&format!("stored as {reference}")),
        "{described}"
    );
    assert!(
        described.contains("image/png") && described.contains("px"),
        "{described}"
    );
    assert!(!chats[1].body.to_string().contains("data:image/png;base64,"));
}

#[tokio::test]
async fn streaming_over_openai_yields_events_and_commits() {
    let dir = tempfile::tempdir().unwrap();
    let mock = MockOpenAi::start(script()).await.unwrap();
    let m = manager_for(&mock, dir.path());
    let pack = m.load_pack(TUTORIAL_PACK).unwrap();
    let mut conv = m
        .new_conversation(&pack, ConversationConfig::new("u", "s"))
        .unwrap();
    let events: Vec<_> = conv.stream("Draw a red fox in snow").collect().await;
    let events: Vec<_> = events.into_iter().map(Result::unwrap).collect();
    assert!(events.iter().any(
        |e| matches!(e, ConversationEvent::ToolCall(c) if &*c.name == "dalle-image-generator")
    ));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ConversationEvent::ToolResult { error: None, .. }))
    );
    let text: String = events
        .iter()
        .filter_map(|e| match e {
            ConversationEvent::TextDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "Here is a red fox in the snow.");
    let Some(ConversationEvent::Done(resp)) = events.last() else {
        panic!("no Done")
    };
    assert_eq!(resp.stored_media.len(), 1);
    assert_eq!(conv.history().len(), 4);
    assert!(mock.requests().iter().any(|r| r.body["stream"] == true));
}

#[tokio::test]
async fn provider_errors_surface_typed_and_keep_history() {
    let dir = tempfile::tempdir().unwrap();
    let mock = MockOpenAi::start(
        Script::new()
            .then(Reply::error(401, "Incorrect API key provided"))
            .then(Reply::truncated_json()),
    )
    .await
    .unwrap();
    let m = manager_for(&mock, dir.path());
    let pack = m.load_pack(TUTORIAL_PACK).unwrap();
    let mut conv = m
        .new_conversation(&pack, ConversationConfig::new("u", "s"))
        .unwrap();
    match conv.send("hi").await.unwrap_err() {
        promptkit_sdk::Error::Provider(promptkit_core::Error::Provider {
            status: 401,
            message,
            ..
        }) => {
            assert!(message.contains("Incorrect API key"), "{message}")
        }
        e => panic!("unexpected {e}"),
    }
    assert!(matches!(
        conv.send("hi").await.unwrap_err(),
        promptkit_sdk::Error::Provider(promptkit_core::Error::Decode { .. })
    ));
    assert!(conv.history().is_empty());
}
