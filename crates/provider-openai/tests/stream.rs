//! Streaming (SSE) against the in-repo mock.

mod support;

use std::time::{Duration, Instant};

use futures::StreamExt;
use promptkit_core::{
    ChatRequest, ChatResponse, Error, Message, Provider, StreamEvent, ToolDefinition,
};
use promptkit_mock_openai::{MockToolCall, Reply, Script};
use serde_json::json;
use support::mock_and_provider;

fn req() -> ChatRequest {
    ChatRequest::new(vec![Message::user("stream please")])
}

async fn collect(
    provider: &impl Provider,
    req: &ChatRequest,
) -> (Vec<StreamEvent>, Result<ChatResponse, Error>) {
    let mut stream = provider.chat_stream(req).await.expect("stream starts");
    let mut events = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(StreamEvent::Done(resp)) => {
                assert!(stream.next().await.is_none(), "nothing after Done");
                return (events, Ok(resp));
            }
            Ok(ev) => events.push(ev),
            Err(e) => {
                assert!(stream.next().await.is_none(), "nothing after an error");
                return (events, Err(e));
            }
        }
    }
    panic!("stream ended without Done or an error");
}

#[tokio::test]
async fn text_deltas_accumulate_with_usage_and_cost() {
    let text = "The quick brown fox jumps over the lazy dog";
    let (mock, provider) =
        mock_and_provider(Script::new().then(Reply::text(text).with_usage(50, 10, 20))).await;
    let (events, done) = collect(&provider, &req()).await;
    let resp = done.unwrap();
    let deltas: String = events
        .iter()
        .map(|e| match e {
            StreamEvent::TextDelta(t) => t.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert!(events.len() > 5, "text arrived in pieces");
    assert_eq!(deltas, text);
    assert_eq!(resp.message.text(), text);
    assert_eq!(
        (resp.usage.prompt_tokens, resp.usage.cached_tokens),
        (50, 20)
    );
    assert!(resp.cost.is_some());
    assert_eq!(resp.finish_reason.as_deref(), Some("stop"));
    let body = &mock.requests()[0].body;
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
}

#[tokio::test]
async fn tool_call_deltas_accumulate() {
    let calls = vec![
        MockToolCall {
            id: "call_1".into(),
            name: "lookup".into(),
            arguments: r#"{"city":"Paris","days":3}"#.into(),
        },
        MockToolCall {
            id: "call_2".into(),
            name: "lookup".into(),
            arguments: r#"{"city":"Rome"}"#.into(),
        },
    ];
    let (_mock, provider) =
        mock_and_provider(Script::new().then(Reply::text_and_tool_calls("Checking.", calls))).await;
    let mut r = req();
    r.tools = vec![ToolDefinition {
        name: "lookup".into(),
        description: String::new(),
        parameters: json!({"type": "object"}),
    }];
    let (events, done) = collect(&provider, &r).await;
    let resp = done.unwrap();
    let frags = events
        .iter()
        .filter(|e| matches!(e, StreamEvent::ToolCallDelta { .. }))
        .count();
    assert!(frags > 4, "arguments arrived in fragments ({frags})");
    assert_eq!(resp.message.text(), "Checking.");
    assert_eq!(resp.finish_reason.as_deref(), Some("tool_calls"));
    let calls = &resp.message.tool_calls;
    assert_eq!(calls.len(), 2);
    assert_eq!((&*calls[0].id, &*calls[0].name), ("call_1", "lookup"));
    assert_eq!(&*calls[0].arguments, r#"{"city":"Paris","days":3}"#);
    assert_eq!(&*calls[1].arguments, r#"{"city":"Rome"}"#);
}

#[tokio::test]
async fn cut_off_stream_is_a_decode_error() {
    let (_mock, provider) = mock_and_provider(
        Script::new().then(Reply::text("this will be cut short").with_stream_cut_after(3)),
    )
    .await;
    let (events, done) = collect(&provider, &req()).await;
    assert_eq!(events.len(), 2, "the deltas before the cut still arrive");
    assert!(matches!(done, Err(Error::Decode { .. })), "{done:?}");
}

#[tokio::test]
async fn errors_before_the_stream_are_typed_and_retried() {
    let (mock, provider) = mock_and_provider(
        Script::new()
            .then(Reply::error(429, "slow down").with_retry_after("0"))
            .then(Reply::text("ok"))
            .then(Reply::error(401, "bad key")),
    )
    .await;
    let (_, done) = collect(&provider, &req()).await;
    assert_eq!(done.unwrap().message.text(), "ok");
    assert_eq!(mock.requests().len(), 2);
    let err = provider
        .chat_stream(&req())
        .await
        .err()
        .expect("401 fails before streaming");
    assert!(
        matches!(err, Error::Provider { status: 401, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn dropping_the_stream_cancels_the_request() {
    let (mock, provider) = mock_and_provider(Script::new().then(
        Reply::text("a b c d e f g h i j k l m n o p").with_chunk_delay(Duration::from_millis(200)),
    ))
    .await;
    let mut stream = provider.chat_stream(&req()).await.unwrap();
    let first = stream.next().await.expect("one event").unwrap();
    assert!(matches!(first, StreamEvent::TextDelta(_)));
    drop(stream);
    // The server notices the closed connection when it next writes.
    let deadline = Instant::now() + Duration::from_secs(20);
    while mock.cancelled_streams() == 0 {
        assert!(
            Instant::now() < deadline,
            "the server never saw the stream cancelled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(mock.cancelled_streams(), 1);
}

#[tokio::test]
async fn stalled_stream_times_out_between_chunks() {
    let (mock, _) = mock_and_provider(Script::new()).await;
    mock.push(Reply::text("slow stream").with_chunk_delay(Duration::from_secs(10)));
    let provider = support::builder(&mock.base_url())
        .with_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let (_, done) = collect(&provider, &req()).await;
    assert!(matches!(done, Err(Error::Timeout { .. })), "{done:?}");
}

#[tokio::test]
async fn a_server_that_ignores_stream_true_still_works() {
    let body = json!({"id": "x", "object": "chat.completion", "created": 1, "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
                     "message": {"role": "assistant", "content": "whole answer", "refusal": null}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}});
    let (_mock, provider) =
        mock_and_provider(Script::new().then(Reply::raw(200, body.to_string()))).await;
    let (events, done) = collect(&provider, &req()).await;
    assert_eq!(events, vec![StreamEvent::TextDelta("whole answer".into())]);
    let resp = done.unwrap();
    assert_eq!(resp.message.text(), "whole answer");
    assert!(resp.cost.is_some());
}
