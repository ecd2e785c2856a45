//! End-to-end conversation tests with the offline provider and a real file store.

mod common;

use std::sync::Arc;

use common::*;
use promptkit_core::{ContentPart, MediaContent, Role};
use promptkit_media_store::MediaStoreExt;
use promptkit_sdk::{
    ConversationConfig, Error, FnTool, ManagerConfig, MockProvider, MockReply, RehydrationPolicy,
    ToolOutput,
};

#[tokio::test]
async fn tutorial_pack_loads() {
    let dir = tempfile::tempdir().unwrap();
    let m = manager(
        Arc::new(MockProvider::new()),
        file_store(dir.path()),
        ManagerConfig::default(),
    );
    let pack = m.load_pack(TUTORIAL_PACK).unwrap();
    assert_eq!(pack.id, "image-generator");
    let conv = m
        .new_conversation(&pack, ConversationConfig::new("u", "s"))
        .unwrap();
    assert!(
        conv.system_prompt()
            .starts_with("You are an expert AI image generator")
    );
}

#[tokio::test]
async fn ten_generated_images_keep_history_small() {
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(dir.path());
    let provider = Arc::new(MockProvider::new());
    let m = manager(provider.clone(), store.clone(), ManagerConfig::default());
    let pack = m.load_pack(TUTORIAL_PACK).unwrap();
    let mut conv = m
        .new_conversation(&pack, ConversationConfig::new("user-1", "session-1"))
        .unwrap();
    let mut refs = Vec::new();
    let mut sizes = Vec::new();
    let mut represented = 0u64;
    for i in 0..10 {
        let resp = conv
            .send(format!("Generate an image of scene number {i}"))
            .await
            .unwrap();
        assert_eq!(
            resp.tool_calls.len(),
            1,
            "turn {i} should call the image tool"
        );
        assert_eq!(resp.stored_media.len(), 1, "turn {i}: {:?}", resp.warnings);
        let m = &resp.stored_media[0];
        assert!(
            m.size_bytes > 700_000,
            "image of turn {i} is only {} bytes",
            m.size_bytes
        );
        represented += m.size_bytes;
        sizes.push(m.size_bytes);
        assert_eq!(resp.inline_media_bytes(), 0);
        assert!(resp.cost.total() > 0.0);
        refs.push(m.reference.clone());
    }
    let mem = conv.memory_stats();
    assert_eq!(mem.media_parts, 10);
    assert_eq!(mem.externalized_parts, 10);
    assert!(
        mem.inline_media_bytes < 64 * 1024,
        "inline media bytes: {}",
        mem.inline_media_bytes
    );
    assert!(
        mem.reference_bytes < 10 * 100,
        "references hold {} bytes",
        mem.reference_bytes
    );
    assert_eq!(mem.represented_media_bytes, represented);
    for r in &refs {
        assert!(r.heap_size() < 100);
        let bytes = store.retrieve_bytes(r).await.unwrap();
        assert!(bytes.starts_with(b"\x89PNG"));
    }
    // History went back to the provider with only the current turn's image
    // loaded (the default, `CurrentTurn`): earlier ones are notes.
    let reqs = provider.requests();
    assert!(reqs.iter().all(|r| r.reference_only_parts == 0));
    assert_eq!(reqs.last().unwrap().inline_media_bytes as u64, sizes[9]);
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.objects, 10);
    assert_eq!(stats.references, 10);
}

#[tokio::test]
async fn rehydration_policies_bound_what_is_loaded() {
    for (policy, expected_images) in [
        (RehydrationPolicy::All, 4),
        (RehydrationPolicy::Recent(2), 2),
        (RehydrationPolicy::CurrentTurn, 0),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let provider = Arc::new(MockProvider::new().with_image_size(64));
        let cfg = ManagerConfig {
            media_size_threshold_kb: 0,
            rehydration: policy,
            ..Default::default()
        };
        let m = manager(provider.clone(), file_store(dir.path()), cfg);
        let pack = m.load_pack(TUTORIAL_PACK).unwrap();
        let mut conv = m
            .new_conversation(&pack, ConversationConfig::new("u", "s"))
            .unwrap();
        let mut sizes = Vec::new();
        for i in 0..4 {
            let r = conv.send(format!("Draw picture {i}")).await.unwrap();
            sizes.push(r.stored_media[0].size_bytes as usize);
        }
        conv.send("hello").await.unwrap();
        let last = provider.requests().pop().unwrap();
        let want: usize = sizes[4 - expected_images..].iter().sum();
        assert_eq!(last.inline_media_bytes, want, "{policy:?}");
        assert_eq!(last.reference_only_parts, 0, "{policy:?}");
    }
}

#[tokio::test]
async fn current_turn_rehydration_sends_notes_for_old_media() {
    let dir = tempfile::tempdir().unwrap();
    let provider = Arc::new(MockProvider::new().with_image_size(64));
    let cfg = ManagerConfig {
        media_size_threshold_kb: 0,
        rehydration: RehydrationPolicy::CurrentTurn,
        ..Default::default()
    };
    let m = manager(provider.clone(), file_store(dir.path()), cfg);
    let pack = m.load_pack(TUTORIAL_PACK).unwrap();
    let mut conv = m
        .new_conversation(&pack, ConversationConfig::new("u", "s"))
        .unwrap();
    conv.send("Draw a cat").await.unwrap();
    conv.send("hello").await.unwrap();
    let last = provider.requests().pop().unwrap();
    assert_eq!(last.inline_media_bytes, 0);
    assert_eq!(last.reference_only_parts, 0);
}

#[tokio::test]
async fn same_image_in_two_conversations_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(dir.path());
    let m = manager(
        Arc::new(MockProvider::new().with_image_size(200)),
        store.clone(),
        ManagerConfig {
            media_size_threshold_kb: 1,
            ..Default::default()
        },
    );
    let pack = m.load_pack(TUTORIAL_PACK).unwrap();
    let mut a = m
        .new_conversation(&pack, ConversationConfig::new("u1", "s1"))
        .unwrap();
    let mut b = m
        .new_conversation(&pack, ConversationConfig::new("u2", "s2"))
        .unwrap();
    let ra = a.send("Draw a lighthouse").await.unwrap();
    let rb = b.send("Draw a lighthouse").await.unwrap();
    let (x, y) = (&ra.stored_media[0].reference, &rb.stored_media[0].reference);
    assert_ne!(x, y);
    assert_eq!(
        store.retrieve_bytes(x).await.unwrap(),
        store.retrieve_bytes(y).await.unwrap()
    );
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.objects, stats.references), (1, 2));
    assert!(stats.dedup_savings() > 0);
}

#[tokio::test]
async fn tool_loop_runs_handlers_and_reports_errors_to_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let provider = Arc::new(MockProvider::scripted(vec![
        MockReply::ToolCalls(vec![
            ("add".into(), r#"{"a": 2, "b": 40}"#.into()),
            ("missing-tool".into(), "{}".into()),
            ("add".into(), "{not json".into()),
        ]),
        MockReply::ToolCalls(vec![("add".into(), r#"{"a": 1, "b": "x"}"#.into())]),
        MockReply::Text("The answer is 42.".into()),
    ]));
    let m = promptkit_sdk::ConversationManager::builder()
        .provider_arc(provider.clone())
        .media_store_arc(file_store(dir.path()))
        .tool(
            "add",
            FnTool::new(|args: serde_json::Value| async move {
                let a = args["a"].as_i64().ok_or("a must be an integer")?;
                let b = args["b"].as_i64().ok_or("b must be an integer")?;
                Ok(ToolOutput::text((a + b).to_string()))
            }),
        )
        .build()
        .unwrap();
    let pack = m.register_pack(tools_pack());
    let mut conv = m
        .new_conversation(&pack, ConversationConfig::new("u", "s"))
        .unwrap();
    let resp = conv.send("what is 2 + 40?").await.unwrap();
    assert_eq!(resp.content, "The answer is 42.");
    assert_eq!(resp.tool_calls.len(), 4);
    let tool_texts: Vec<String> = resp
        .messages
        .iter()
        .filter(|m| m.role == Role::Tool)
        .map(|m| m.text())
        .collect();
    assert_eq!(tool_texts[0], "42");
    assert!(tool_texts[1].contains("not available"), "{}", tool_texts[1]);
    assert!(
        tool_texts[2].contains("invalid arguments JSON"),
        "{}",
        tool_texts[2]
    );
    assert!(
        tool_texts[3].contains("b must be an integer"),
        "{}",
        tool_texts[3]
    );
    // user, assistant(3 calls), 3 tool results, assistant(1 call), 1 result, final assistant
    assert_eq!(resp.messages.len(), 1 + 1 + 3 + 1 + 1 + 1);
    assert_eq!(conv.history().len(), resp.messages.len());
    assert_eq!(provider.requests().len(), 3);
}

#[tokio::test]
async fn too_many_tool_rounds_fails_and_leaves_history_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let script = (0..5)
        .map(|_| MockReply::ToolCalls(vec![("add".into(), r#"{"a":1,"b":1}"#.into())]))
        .collect();
    let provider = Arc::new(MockProvider::scripted(script));
    let m = promptkit_sdk::ConversationManager::builder()
        .provider_arc(provider)
        .media_store_arc(file_store(dir.path()))
        .tool("add", FnTool::new(|_| async { Ok(ToolOutput::text("2")) }))
        .config(ManagerConfig {
            max_tool_rounds: 2,
            ..Default::default()
        })
        .build()
        .unwrap();
    let pack = m.register_pack(tools_pack());
    let mut conv = m
        .new_conversation(&pack, ConversationConfig::new("u", "s"))
        .unwrap();
    let err = conv.send("loop forever").await.unwrap_err();
    assert!(
        matches!(err, Error::ToolRoundsExceeded { max_rounds: 2, .. }),
        "{err}"
    );
    assert!(conv.history().is_empty());
}

#[tokio::test]
async fn provider_failure_leaves_history_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let provider = Arc::new(MockProvider::scripted(vec![
        MockReply::Fail(503),
        MockReply::Fail(401),
    ]));
    let m = manager(provider, file_store(dir.path()), ManagerConfig::default());
    let pack = m.load_pack(TUTORIAL_PACK).unwrap();
    let mut conv = m
        .new_conversation(&pack, ConversationConfig::new("u", "s"))
        .unwrap();
    match conv.send("hi").await.unwrap_err() {
        Error::Provider(e) => assert!(e.is_transient()),
        e => panic!("unexpected {e}"),
    }
    match conv.send("hi").await.unwrap_err() {
        Error::Provider(promptkit_core::Error::Provider { status: 401, .. }) => {}
        e => panic!("unexpected {e}"),
    }
    assert!(conv.history().is_empty());
    let ok = conv.send("hi").await.unwrap();
    assert!(ok.content.contains("hi"));
}

#[tokio::test]
async fn uploads_at_or_above_threshold_are_externalized() {
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(dir.path());
    let m = manager(
        Arc::new(MockProvider::new()),
        store.clone(),
        ManagerConfig {
            media_size_threshold_kb: 4,
            ..Default::default()
        },
    );
    let pack = m.load_pack(TUTORIAL_PACK).unwrap();
    let mut conv = m
        .new_conversation(&pack, ConversationConfig::new("u", "s"))
        .unwrap();
    let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
    big.resize(4096, 7); // exactly the threshold
    let mut small = b"\x89PNG\r\n\x1a\n".to_vec();
    small.resize(4095, 9);
    let resp = conv
        .send_with_media(
            "what is in these?",
            vec![
                MediaContent::from_bytes("image/png", big.clone()),
                MediaContent::from_bytes("image/png", small),
            ],
        )
        .await
        .unwrap();
    assert_eq!(resp.stored_media.len(), 1);
    assert_eq!(resp.stored_media[0].size_bytes, 4096);
    let user = &conv.history()[0];
    let media: Vec<_> = user.media().collect();
    assert!(media[0].storage_reference.is_some() && media[0].data.is_none());
    assert!(media[1].data.is_some() && media[1].storage_reference.is_none());
    assert_eq!(
        store
            .retrieve_bytes(&resp.stored_media[0].reference)
            .await
            .unwrap(),
        big
    );
}

#[tokio::test]
async fn bad_media_is_rejected_before_the_turn() {
    let (_dir, _m, mut conv) = tutorial_conversation(MockProvider::new(), 100);
    let empty = MediaContent::from_bytes("image/png", Vec::new());
    assert!(matches!(
        conv.send_with_media("x", vec![empty]).await,
        Err(Error::InvalidInput { .. })
    ));
    let nomime = MediaContent::from_bytes("png", b"\x89PNG\r\n\x1a\n".to_vec());
    assert!(matches!(
        conv.send_with_media("x", vec![nomime]).await,
        Err(Error::InvalidInput { .. })
    ));
    assert!(conv.history().is_empty());
}

#[tokio::test]
async fn empty_messages_are_rejected() {
    let (_dir, _m, mut conv) = tutorial_conversation(MockProvider::new(), 100);
    assert!(matches!(
        conv.send("").await,
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        conv.send_with_media("", vec![]).await,
        Err(Error::InvalidInput { .. })
    ));
    assert!(conv.history().is_empty());
}

#[tokio::test]
async fn hostile_ids_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let m = manager(
        Arc::new(MockProvider::new()),
        file_store(dir.path()),
        ManagerConfig::default(),
    );
    let pack = m.load_pack(TUTORIAL_PACK).unwrap();
    for bad in ["../etc", "a/b", "", ".hidden", "a\0b"] {
        let r = m.new_conversation(&pack, ConversationConfig::new("u", bad));
        assert!(
            matches!(r, Err(Error::InvalidInput { .. })),
            "session id {bad:?} accepted"
        );
        let r = m.new_conversation(
            &pack,
            ConversationConfig::new("u", "s").with_conversation_id(bad),
        );
        assert!(
            matches!(r, Err(Error::InvalidInput { .. })),
            "conversation id {bad:?} accepted"
        );
    }
}

#[tokio::test]
async fn builder_refuses_externalization_without_store() {
    let err = promptkit_sdk::ConversationManager::builder()
        .provider(MockProvider::new())
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    let err = promptkit_sdk::ConversationManager::builder()
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("provider"), "{err}");
    let ok = promptkit_sdk::ConversationManager::builder()
        .provider(MockProvider::new())
        .config(ManagerConfig {
            externalize: false,
            ..Default::default()
        })
        .build();
    assert!(ok.is_ok());
}

#[tokio::test]
async fn prompt_selection_errors_name_the_choices() {
    let dir = tempfile::tempdir().unwrap();
    let m = manager(
        Arc::new(MockProvider::new()),
        file_store(dir.path()),
        ManagerConfig::default(),
    );
    let pack = m.load_pack(TUTORIAL_PACK).unwrap();
    let err = m
        .new_conversation(&pack, ConversationConfig::new("u", "s").with_prompt("nope"))
        .unwrap_err();
    assert!(err.to_string().contains("image-generator"), "{err}");
}

#[tokio::test]
async fn tool_results_with_images_keep_text_part() {
    let (_dir, _m, mut conv) = tutorial_conversation(MockProvider::new().with_image_size(300), 1);
    let resp = conv.send("Paint a forest").await.unwrap();
    let tool_msg = resp.messages.iter().find(|m| m.role == Role::Tool).unwrap();
    assert!(
        matches!(&tool_msg.parts[0], ContentPart::Text { text } if text.contains("Paint a forest"))
    );
    assert!(resp.content.contains("a forest"), "{}", resp.content);
}

#[tokio::test]
async fn saved_state_shares_the_history_list() {
    let dir = tempfile::tempdir().unwrap();
    let provider = Arc::new(MockProvider::new());
    let m = manager(provider, file_store(dir.path()), ManagerConfig::default());
    let pack = m.load_pack(TUTORIAL_PACK).unwrap();
    let mut conv = m
        .new_conversation(&pack, ConversationConfig::new("u", "shared"))
        .unwrap();
    conv.send("hello").await.unwrap();
    conv.send("again").await.unwrap();
    let state = conv.state();
    // The state (and so the in-memory state store) holds the same list as
    // the conversation, not a copy of it.
    assert!(std::ptr::eq(
        state.history.as_ptr(),
        conv.history().as_ptr()
    ));
    assert_eq!(state.history.len(), 4);
    assert_eq!(state.history[2].text(), conv.history()[2].text());
}
