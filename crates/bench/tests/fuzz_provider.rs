//! Truncated and garbled provider responses, through the real
//! `OpenAiProvider` and a real HTTP server (the in-repo mock, answering with
//! raw bodies): every answer gives a response or a typed error, never a
//! panic or a hang.
//!
//! `cargo xtask fuzz SECS` runs these (by their `fuzz_` prefix) for SECS
//! seconds each; by default a small number of cases runs with `cargo test`.

mod common;

use std::time::Duration;

use common::fuzz;
use futures::StreamExt;
use promptkit_core::{ChatRequest, Error, Message, Provider};
use promptkit_mock_openai::{MockOpenAi, Reply, Script};
use promptkit_provider_openai::{OpenAiProvider, RetryPolicy};
use proptest::prelude::*;
use serde_json::{Value, json};

const COMPLETION: &str = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there","refusal":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"image-maker","arguments":"{\"prompt\":\"a fox\"}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":2}}}"#;

const CHUNK: &str = r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"image-maker","arguments":"{\"pro"}}]},"finish_reason":null}]}"#;

/// Places in a completion where a value of the wrong shape is put.
const POINTERS: &[&str] = &[
    "/choices",
    "/choices/0",
    "/choices/0/message",
    "/choices/0/message/content",
    "/choices/0/message/role",
    "/choices/0/message/tool_calls",
    "/choices/0/message/tool_calls/0",
    "/choices/0/message/tool_calls/0/function",
    "/choices/0/message/tool_calls/0/function/arguments",
    "/choices/0/message/tool_calls/0/id",
    "/choices/0/finish_reason",
    "/usage",
    "/usage/prompt_tokens",
    "/usage/prompt_tokens_details",
    "/model",
    "/error",
];

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(json!(u64::MAX)),
        Just(json!(-1)),
        any::<String>().prop_map(Value::String),
        Just(Value::String("x".repeat(100_000))),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn set_pointer(doc: &mut Value, pointer: &str, v: Value) {
    if let Some(slot) = doc.pointer_mut(pointer) {
        *slot = v;
    } else if let Some((parent, key)) = pointer.rsplit_once('/')
        && let Some(Value::Object(m)) = doc.pointer_mut(parent)
    {
        m.insert(key.to_owned(), v);
    }
}

/// A garbled answer: (HTTP status, body).
fn garbled_answer() -> impl Strategy<Value = (u16, String)> {
    let status = prop_oneof![
        8 => Just(200u16),
        1 => Just(400u16),
        1 => Just(401u16),
        1 => Just(404u16),
        1 => Just(422u16),
        1 => Just(500u16),
        1 => Just(503u16),
    ];
    let body = prop_oneof![
        (0..COMPLETION.len()).prop_map(|n| COMPLETION[..n].to_owned()),
        (proptest::sample::select(POINTERS), arb_json()).prop_map(|(p, v)| {
            let mut doc: Value = serde_json::from_str(COMPLETION).unwrap_or(Value::Null);
            set_pointer(&mut doc, p, v);
            doc.to_string()
        }),
        arb_json().prop_map(|v| v.to_string()),
        any::<String>(),
        Just(String::new()),
        Just(r#"{"error":{"message":null,"type":5}}"#.to_owned()),
        Just(r#"{"error":"#.to_owned()),
        Just("<html>502 Bad Gateway</html>".to_owned()),
    ];
    (status, body)
}

fn provider(base_url: &str) -> OpenAiProvider {
    OpenAiProvider::builder()
        .with_base_url(base_url)
        .with_no_api_key()
        .with_model("gpt-4o")
        .with_timeout(Duration::from_secs(10))
        .with_retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

fn request() -> ChatRequest {
    ChatRequest::new(vec![Message::system("s"), Message::user("hello")])
}

#[test]
fn fuzz_garbled_chat_responses_are_typed_errors() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mock = rt.block_on(MockOpenAi::start(Script::new())).unwrap();
    let provider = provider(&mock.base_url());
    // The unmodified answer is understood (so the cases below really reach
    // the parser).
    mock.push(Reply::raw(200, COMPLETION));
    let ok = rt.block_on(provider.chat(&request())).unwrap();
    assert_eq!(ok.message.text(), "Hello there");
    assert_eq!(ok.message.tool_calls.len(), 1);
    fuzz(96, garbled_answer(), |(status, body)| {
        mock.push(Reply::raw(status, body.clone()));
        let result = rt.block_on(provider.chat(&request()));
        match (status, &result) {
            (200, Ok(resp)) => {
                // Whatever was accepted is usable.
                let _ = resp.message.text();
            }
            (200, Err(Error::Decode { .. } | Error::InvalidInput { .. })) => {}
            // A 200 whose body is an OpenAI error object.
            (200, Err(Error::Provider { status: 200, .. })) => {}
            (500 | 503, Err(Error::Transient { .. })) => {}
            (400..=499, Err(Error::Provider { status: s, .. })) => prop_assert_eq!(*s, status),
            _ => prop_assert!(false, "HTTP {status} {body:.200?} gave {result:?}"),
        }
        // Truncated JSON of a success is never taken for an answer.
        if status == 200 && body.len() < COMPLETION.len() && COMPLETION.starts_with(body.as_str()) {
            prop_assert!(result.is_err(), "a truncated body was accepted");
        }
        prop_assert_eq!(mock.remaining(), 0);
        Ok(())
    });
}

fn garbled_stream() -> impl Strategy<Value = String> {
    let event = prop_oneof![
        (0..CHUNK.len()).prop_map(|n| format!("data: {}\n\n", &CHUNK[..n])),
        Just(format!("data: {CHUNK}\n\n")),
        Just("data: [DONE]\n\n".to_owned()),
        arb_json().prop_map(|v| format!("data: {v}\n\n")),
        any::<String>().prop_map(|s| format!("data: {s}\n\n")),
        any::<String>(),
        Just(": keep-alive\n\n".to_owned()),
        Just("event: error\ndata: {\"error\":{\"message\":\"boom\"}}\n\n".to_owned()),
        Just("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":18446744073709551615}]}}]}\n\n".to_owned()),
    ];
    proptest::collection::vec(event, 0..8).prop_map(|v| v.concat())
}

#[test]
fn fuzz_garbled_streams_are_typed_errors() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mock = rt.block_on(MockOpenAi::start(Script::new())).unwrap();
    let provider = provider(&mock.base_url());
    mock.push(Reply::raw_with_type(
        200,
        "text/event-stream",
        format!("data: {CHUNK}\n\ndata: [DONE]\n\n"),
    ));
    let text = rt.block_on(async {
        let mut s = provider.chat_stream(&request()).await.unwrap();
        let mut done = None;
        while let Some(ev) = s.next().await {
            if let promptkit_core::StreamEvent::Done(r) = ev.unwrap() {
                done = Some(r.message.text());
            }
        }
        done
    });
    assert_eq!(text.as_deref(), Some("Hel"));
    fuzz(96, garbled_stream(), |body| {
        mock.push(Reply::raw_with_type(200, "text/event-stream", body.clone()));
        let outcome = rt.block_on(async {
            let mut stream = provider.chat_stream(&request()).await?;
            let mut done = false;
            while let Some(ev) = stream.next().await {
                if matches!(ev?, promptkit_core::StreamEvent::Done(_)) {
                    done = true;
                }
            }
            Ok::<_, Error>(done)
        });
        match outcome {
            Ok(true) => {}
            Ok(false) => prop_assert!(false, "stream ended without Done or error: {body:.300?}"),
            Err(
                Error::Decode { .. }
                | Error::Provider { .. }
                | Error::Transient { .. }
                | Error::InvalidInput { .. },
            ) => {}
            Err(e) => prop_assert!(false, "{e:?} for {body:.300?}"),
        }
        prop_assert_eq!(mock.remaining(), 0);
        Ok(())
    });
}
