//! The tool loop with servers that call tools until the last message is a tool
//! result (llmock's default mode, agent-loop servers, small local models):
//! tool media is described, not re-sent; a repeated call is not run twice; an
//! abandoned turn reports what it cost.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{TUTORIAL_PACK, file_store, tools_pack};
use promptkit_core::Role;
use promptkit_mock_openai::{MockOpenAi, Reply, Script};
use promptkit_provider_openai::{OpenAiProvider, ToolResultMedia};
use promptkit_sdk::{
    ConversationConfig, ConversationManager, Error, FnTool, ManagerConfig, MockProvider, MockReply,
    ToolOutput,
};

/// A manager with a counting `add` tool over `provider`.
fn counting_manager(
    provider: MockProvider,
    config: ManagerConfig,
) -> (ConversationManager, Arc<AtomicUsize>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let add = FnTool::new(move |args: serde_json::Value| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            let sum = args["a"].as_i64().unwrap_or(0) + args["b"].as_i64().unwrap_or(0);
            Ok(ToolOutput::text(sum.to_string()))
        }
    });
    let m = ConversationManager::builder()
        .provider(provider)
        .media_store_arc(file_store(dir.path()))
        .tool("add", add)
        .config(config)
        .build()
        .unwrap();
    (m, runs, dir)
}

#[tokio::test]
async fn a_repeated_tool_call_is_not_run_again() {
    let provider = MockProvider::scripted(vec![
        MockReply::ToolCalls(vec![("add".into(), r#"{"a":1,"b":2}"#.into())]),
        // Same call, keys in another order and other spacing; and a new one.
        MockReply::ToolCalls(vec![
            ("add".into(), r#"{ "b": 2, "a": 1 }"#.into()),
            ("add".into(), r#"{"a":5,"b":5}"#.into()),
        ]),
        MockReply::Text("3 and 10".into()),
    ]);
    let (m, runs, _dir) = counting_manager(provider, ManagerConfig::default());
    let pack = m.register_pack(tools_pack());
    let mut conv = m
        .new_conversation(&pack, ConversationConfig::new("u", "s"))
        .unwrap();
    let resp = conv.send("add things").await.unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 2, "1+2 ran once, 5+5 once");
    let results: Vec<String> = resp
        .messages
        .iter()
        .filter(|m| m.role == Role::Tool)
        .map(|m| m.text())
        .collect();
    assert_eq!(results[0], "3");
    assert!(
        results[1].starts_with("not run again: `add` was already called with these arguments")
            && results[1].ends_with("Its result: 3"),
        "{}",
        results[1]
    );
    assert_eq!(results[2], "10");
    assert_eq!(resp.tool_calls.len(), 3);
}

#[tokio::test]
async fn the_same_call_twice_in_one_round_runs_once() {
    let call = ("add".to_string(), r#"{"a":1,"b":1}"#.to_string());
    let provider = MockProvider::scripted(vec![
        MockReply::ToolCalls(vec![call.clone(), call]),
        MockReply::Text("2".into()),
    ]);
    let (m, runs, _dir) = counting_manager(provider, ManagerConfig::default());
    let pack = m.register_pack(tools_pack());
    let mut conv = m
        .new_conversation(&pack, ConversationConfig::new("u", "s"))
        .unwrap();
    let resp = conv.send("add").await.unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let second = resp.messages.iter().filter(|m| m.role == Role::Tool).nth(1);
    assert!(second.unwrap().text().contains("Its result: 2"));
}

#[tokio::test]
async fn the_app_can_allow_repeated_calls() {
    let call = ("add".to_string(), r#"{"a":1,"b":1}"#.to_string());
    let provider = MockProvider::scripted(vec![
        MockReply::ToolCalls(vec![call.clone()]),
        MockReply::ToolCalls(vec![call]),
        MockReply::Text("2".into()),
    ]);
    let config = ManagerConfig {
        rerun_repeated_tool_calls: true,
        ..ManagerConfig::default()
    };
    let (m, runs, _dir) = counting_manager(provider, config);
    let pack = m.register_pack(tools_pack());
    let mut conv = m
        .new_conversation(&pack, ConversationConfig::new("u", "s"))
        .unwrap();
    conv.send("add twice").await.unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_abandoned_turn_reports_its_cost_and_the_media_it_stored() {
    // The model draws, then keeps calling `add` with new arguments each round.
    let mut script = vec![MockReply::ToolCalls(vec![(
        "dalle-image-generator".into(),
        r#"{"prompt":"a cat"}"#.into(),
    )])];
    script.extend(
        (0..4).map(|i| MockReply::ToolCalls(vec![("add".into(), format!(r#"{{"a":{i},"b":1}}"#))])),
    );
    let provider = MockProvider::scripted(script).with_image_size(64);
    let config = ManagerConfig {
        max_tool_rounds: 3,
        media_size_threshold_kb: 0,
        ..ManagerConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(dir.path());
    let m = ConversationManager::builder()
        .provider(provider)
        .media_store_arc(store.clone())
        .image_tool("dalle-image-generator")
        .tool(
            "add",
            FnTool::new(|_| async { Ok(ToolOutput::text("sum")) }),
        )
        .config(config)
        .build()
        .unwrap();
    let pack = m.register_pack(tools_pack());
    let mut conv = m
        .new_conversation(&pack, ConversationConfig::new("u", "s"))
        .unwrap();
    let err = conv.send("draw, then add forever").await.unwrap_err();
    let Error::ToolRoundsExceeded {
        max_rounds,
        tool_calls,
        usage,
        cost,
        stored_media,
    } = &err
    else {
        panic!("expected ToolRoundsExceeded, got {err:?}");
    };
    assert_eq!((*max_rounds, *tool_calls), (3, 3));
    assert!(usage.prompt_tokens > 0 && usage.completion_tokens > 0);
    // Four chat calls and one image: all priced by the mock.
    assert!(cost.total() > 0.0 && cost.other > 0.0, "{cost:?}");
    assert_eq!(stored_media.len(), 1, "the generated image was stored");
    assert!(store.retrieve(&stored_media[0].reference).await.is_ok());
    let shown = err.to_string();
    assert!(
        shown.contains("the turn was abandoned after 3 tool call(s)")
            && shown.contains(&format!("cost ${:.4}", cost.total())),
        "{shown}"
    );
    // Nothing in history, but the money counts in the conversation's totals.
    assert!(conv.history().is_empty());
    assert_eq!(conv.total_cost().total(), cost.total());
    // ... and in its saved state.
    let resumed = m.resume(conv.id()).await.unwrap();
    assert_eq!(resumed.total_cost().total(), cost.total());
    assert!(resumed.history().is_empty());
}

/// The tutorial's manager over an OpenAI provider with default settings.
fn openai_tutorial(
    base_url: &str,
    media: Option<ToolResultMedia>,
    dir: &std::path::Path,
) -> ConversationManager {
    let mut builder = OpenAiProvider::builder()
        .with_api_key("sk-test")
        .with_base_url(base_url)
        .with_model("gpt-4o");
    if let Some(mode) = media {
        builder = builder.with_tool_result_media(mode);
    }
    ConversationManager::builder()
        .provider(builder.build().unwrap())
        .media_store_arc(file_store(dir))
        .image_tool("dalle-image-generator")
        .config(ManagerConfig {
            media_size_threshold_kb: 0, // the mock's PNGs are small
            ..ManagerConfig::default()
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_tutorial_ends_its_turns_on_an_agent_loop_server_with_default_settings() {
    let mock = MockOpenAi::start(Script::new().fallback(Reply::agent_loop()))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let m = openai_tutorial(&mock.base_url(), None, dir.path());
    let pack = m.load_pack(TUTORIAL_PACK).unwrap();
    let mut conv = m
        .new_conversation(&pack, ConversationConfig::new("u", "s"))
        .unwrap();
    for prompt in ["Draw a lighthouse", "Draw a robot", "Draw a city"] {
        let resp = conv.send(prompt).await.unwrap();
        assert_eq!(resp.tool_calls.len(), 1, "{prompt}: one image per turn");
        assert_eq!(resp.stored_media.len(), 1);
        assert!(resp.content.starts_with("echo: "), "{}", resp.content);
    }
    let requests = mock.requests();
    let images = requests
        .iter()
        .filter(|r| r.path.ends_with("/images/generations"))
        .count();
    assert_eq!(images, 3);
    let chats: Vec<_> = requests
        .iter()
        .filter(|r| r.path.ends_with("/chat/completions"))
        .collect();
    assert_eq!(chats.len(), 6, "two chat calls per turn");
    // The second call of the last turn: it ends with the tool message, which
    // describes the image by reference; no image is attached anywhere.
    let last = &chats[5].body["messages"];
    let msgs = last.as_array().unwrap();
    assert_eq!(msgs.last().unwrap()["role"], "tool");
    let described = msgs.last().unwrap()["content"].as_str().unwrap();
    let stored = &conv.history().last().unwrap();
    assert!(
        described.contains("image/png") && described.contains(" px"),
        "{described}"
    );
    assert!(described.contains("stored as "), "{described}");
    assert!(!stored.text().is_empty());
    assert!(!last.to_string().contains("image_url"), "no pixels re-sent");
}

#[tokio::test]
async fn asking_for_the_pixels_still_ends_the_turn_without_a_second_image() {
    // With the pixels in a user message after the tool result, such a server
    // calls the tool again; the SDK does not run the same call twice.
    let mock = MockOpenAi::start(Script::new().fallback(Reply::agent_loop()))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let m = openai_tutorial(
        &mock.base_url(),
        Some(ToolResultMedia::FollowUpUserMessage),
        dir.path(),
    );
    let pack = m.load_pack(TUTORIAL_PACK).unwrap();
    let mut conv = m
        .new_conversation(&pack, ConversationConfig::new("u", "s"))
        .unwrap();
    let resp = conv.send("Draw a lighthouse").await.unwrap();
    assert_eq!(resp.tool_calls.len(), 2, "the server asked twice");
    assert_eq!(resp.stored_media.len(), 1, "one image made and stored");
    let images = mock
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/images/generations"))
        .count();
    assert_eq!(images, 1);
}

#[tokio::test]
async fn the_tutorial_ends_its_turns_on_llmock_in_its_default_mode() {
    use futures::StreamExt;
    use promptkit_sdk::ConversationEvent;
    let venv = promptkit_testkit::require_venv!();
    let port = promptkit_testkit::free_port();
    let p = port.to_string();
    // No --tool-mode: llmock's default `auto` calls a tool until the last
    // message is a tool result.
    let server = promptkit_testkit::ServerProcess::spawn(
        &venv,
        "llmock",
        &[
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            &p,
            "--log-level",
            "warning",
        ],
        port,
    );
    let dir = tempfile::tempdir().unwrap();
    let m = openai_tutorial(&format!("{}/v1", server.base_url()), None, dir.path());
    let pack = m.load_pack(TUTORIAL_PACK).unwrap();
    let mut conv = m
        .new_conversation(&pack, ConversationConfig::new("u", "s"))
        .unwrap();
    for prompt in ["Generate an image of a lighthouse", "Draw a robot"] {
        let resp = conv.send(prompt).await.unwrap();
        assert_eq!(resp.tool_calls.len(), 1, "{prompt}: {resp:?}");
        assert_eq!(resp.stored_media.len(), 1);
        assert!(!resp.content.is_empty());
    }
    // Streaming, the same way.
    let events: Vec<_> = conv.stream("Draw a city").collect().await;
    let done = events
        .into_iter()
        .map(Result::unwrap)
        .find_map(|e| match e {
            ConversationEvent::Done(resp) => Some(resp),
            _ => None,
        })
        .expect("the stream ends with the response");
    assert_eq!(done.tool_calls.len(), 1);
    assert_eq!(conv.history().len(), 12);
}
