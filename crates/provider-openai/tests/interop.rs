//! Interoperability with OpenAI-compatible servers nobody here wrote, started
//! from the test venv on 127.0.0.1: `llmock` (chat, tool calls, streaming,
//! injected 429s) and `mock-ai-api` (b64_json images, scenario models).

use std::time::Duration;

use futures::StreamExt;
use promptkit_core::{
    ChatRequest, ContentPart, Error, ImageRequest, Message, Provider, StreamEvent, ToolDefinition,
};
use promptkit_provider_openai::{OpenAiProvider, RetryPolicy};
use promptkit_testkit::{ServerProcess, free_port, require_venv};
use serde_json::{Value, json};

fn provider(base_url: &str, retry: RetryPolicy) -> OpenAiProvider {
    OpenAiProvider::builder()
        .with_api_key("sk-interop-test")
        .with_base_url(format!("{base_url}/v1"))
        .with_model("gpt-4o")
        .with_timeout(Duration::from_secs(30))
        .with_retry_policy(retry)
        .build()
        .unwrap()
}

fn retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
        retry_timeouts: false,
    }
}

fn image_tool() -> ToolDefinition {
    ToolDefinition {
        name: "generate_image".into(),
        description: "Generates an image from a text prompt".into(),
        parameters: json!({"type": "object", "properties": {"prompt": {"type": "string"}}, "required": ["prompt"]}),
    }
}

/// Starts llmock on a free port, answering with the given `--error-rate`.
fn llmock(venv: &std::path::Path, error_rate: &str) -> ServerProcess {
    let port = free_port();
    let p = port.to_string();
    ServerProcess::spawn(
        venv,
        "llmock",
        &[
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            &p,
            "--error-rate",
            error_rate,
            "--log-level",
            "warning",
        ],
        port,
    )
}

/// mock-ai-api starts its two uvicorn servers in sessions of their own, out of
/// reach of the process-group kill: end them by PID, found by their (unique) ports.
struct UvicornChildren(Vec<u16>);

impl Drop for UvicornChildren {
    fn drop(&mut self) {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return;
        };
        for e in entries.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
                continue;
            };
            let args: Vec<String> = cmd
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            let ours = args.iter().any(|a| a == "uvicorn")
                && args
                    .windows(2)
                    .any(|w| w[0] == "--port" && self.0.iter().any(|p| w[1] == p.to_string()));
            if ours {
                let _ = std::process::Command::new("kill")
                    .arg("-KILL")
                    .arg(pid.to_string())
                    .status();
            }
        }
    }
}

async fn stream_to_end(
    p: &OpenAiProvider,
    req: &ChatRequest,
) -> (String, promptkit_core::ChatResponse) {
    let mut s = p.chat_stream(req).await.unwrap();
    let mut text = String::new();
    while let Some(ev) = s.next().await {
        match ev.unwrap() {
            StreamEvent::TextDelta(t) => text.push_str(&t),
            StreamEvent::Done(resp) => return (text, resp),
            _ => {}
        }
    }
    panic!("stream ended without Done");
}

#[tokio::test]
async fn llmock_chat_tools_streaming_with_injected_429s() {
    let venv = require_venv!();
    let server = llmock(&venv, "429=0.2");
    // 0.2 failure rate: ten attempts fail together with probability 1e-7.
    let client = provider(&server.base_url(), retry(10));
    for _round in 0..3 {
        let plain = client
            .chat(&ChatRequest::new(vec![Message::user("Say hello")]))
            .await
            .unwrap();
        assert!(!plain.message.text().is_empty());
        assert!(plain.usage.completion_tokens > 0);

        let mut req = ChatRequest::new(vec![
            Message::system("Draw when asked."),
            Message::user("Draw a cat"),
        ]);
        req.tools = vec![image_tool()];
        let first = client.chat(&req).await.unwrap();
        assert_eq!(first.finish_reason.as_deref(), Some("tool_calls"));
        let call = first
            .message
            .tool_calls
            .first()
            .expect("llmock calls an offered tool")
            .clone();
        assert_eq!(&*call.name, "generate_image");
        let args: Value = serde_json::from_str(&call.arguments).expect("arguments are JSON");
        assert!(args["prompt"].is_string(), "{args}");
        req.messages.push(first.message);
        req.messages.push(Message::tool_result(
            &call.id,
            &call.name,
            vec![ContentPart::text("image generated")],
        ));
        let answer = client.chat(&req).await.unwrap();
        assert!(answer.message.tool_calls.is_empty() && !answer.message.text().is_empty());

        let (deltas, done) =
            stream_to_end(&client, &ChatRequest::new(vec![Message::user("Stream")])).await;
        assert!(!deltas.is_empty());
        assert_eq!(done.message.text(), deltas);

        let mut req = ChatRequest::new(vec![Message::user("Draw a dog")]);
        req.tools = vec![image_tool()];
        let (_, done) = stream_to_end(&client, &req).await;
        let call = done.message.tool_calls.first().expect("streamed tool call");
        let args: Value =
            serde_json::from_str(&call.arguments).expect("accumulated arguments are JSON");
        assert!(args["prompt"].is_string(), "{args}");
    }

    // llmock draws SVGs: as a `data:` URL for GPT image models, as b64_json for dall-e.
    for model in ["gpt-image-1", "dall-e-3"] {
        let mut req = ImageRequest::new("a lighthouse");
        req.model = Some(model.into());
        let resp = client.generate_image(&req).await.unwrap();
        let img = &resp.images[0];
        assert_eq!(&*img.mime_type, "image/svg+xml", "{model}");
        let svg = String::from_utf8(img.data.as_ref().unwrap().to_vec()).unwrap();
        assert!(svg.contains("a lighthouse"), "{model}: {svg}");
        assert_eq!(resp.revised_prompt.as_deref(), Some("a lighthouse"));
    }
}

#[tokio::test]
async fn llmock_rate_limits_end_as_transient_with_retry_after() {
    let venv = require_venv!();
    let server = llmock(&venv, "429=1.0");
    let client = provider(&server.base_url(), retry(2));
    let started = std::time::Instant::now();
    match client
        .chat(&ChatRequest::new(vec![Message::user("hi")]))
        .await
        .unwrap_err()
    {
        Error::Transient {
            status: Some(429),
            retry_after: Some(d),
            message,
            ..
        } => {
            assert!(d > Duration::ZERO);
            assert!(message.contains("2 attempts"), "{message}");
            // The one retry waited as long as the server asked (a lower bound only).
            assert!(started.elapsed() >= d);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn mock_ai_api_images_and_scenarios() {
    let venv = require_venv!();
    let (port, anthropic) = (free_port(), free_port());
    let _children = UvicornChildren(vec![port, anthropic]);
    let (p, a) = (port.to_string(), anthropic.to_string());
    let server = ServerProcess::spawn(
        &venv,
        "mock-ai-api",
        &["--openai-port", &p, "--anthropic-port", &a],
        port,
    );
    let client = provider(&server.base_url(), retry(2));

    for model in ["gpt-image-1", "dall-e-3"] {
        let mut req = ImageRequest::new("a red fox");
        req.model = Some(model.into());
        let resp = client.generate_image(&req).await.unwrap();
        let img = &resp.images[0];
        assert_eq!(&*img.mime_type, "image/png", "{model}");
        let bytes = img.data.as_ref().expect("inline bytes");
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{model}: a real PNG"
        );
        assert_eq!(img.size_bytes, bytes.len() as u64);
        assert!(resp.cost.is_some(), "{model} is priced");
    }

    let mut req = ChatRequest::new(vec![Message::user("write a file")]);
    req.model = Some("gpt-4o:mock-tool-call".into());
    let resp = client.chat(&req).await.unwrap();
    let call = resp
        .message
        .tool_calls
        .first()
        .expect("scenario returns a tool call");
    assert!(serde_json::from_str::<Value>(&call.arguments).is_ok());

    req.model = Some("gpt-4o:mock-429".into());
    match client.chat(&req).await.unwrap_err() {
        Error::Transient {
            status: Some(429),
            message,
            ..
        } => {
            assert!(message.contains("mock-429"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}
