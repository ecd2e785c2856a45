//! Chat Completions against the in-repo mock: request mapping, parsing, tools.

mod support;

use bytes::Bytes;
use promptkit_core::{
    ChatRequest, ContentPart, Error, MediaContent, Message, Parameters, Provider, StorageReference,
    ToolCall, ToolChoice, ToolDefinition,
};
use promptkit_mock_openai::{MockOpenAi, MockToolCall, Reply, Script};
use promptkit_provider_openai::ToolResultMedia;
use serde_json::json;
use support::{KEY, builder, mock_and_provider};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n-fake-png-body";

fn image_tool() -> ToolDefinition {
    ToolDefinition {
        name: "generate_image".into(),
        description: "Draws a picture".into(),
        parameters: json!({"type": "object", "properties": {"prompt": {"type": "string"}}, "required": ["prompt"]}),
    }
}

#[tokio::test]
async fn text_chat_sends_headers_and_parses_usage_and_cost() {
    let (mock, _) = mock_and_provider(Script::new()).await;
    mock.push(Reply::text("Hello!").with_usage(1000, 200, 400));
    let provider = builder(&mock.base_url())
        .with_organization("org-1")
        .with_project("proj-1")
        .build()
        .unwrap();
    let req = ChatRequest::new(vec![Message::system("Be brief."), Message::user("Hi")]);
    let resp = provider.chat(&req).await.unwrap();
    assert_eq!(resp.message.text(), "Hello!");
    assert_eq!(resp.finish_reason.as_deref(), Some("stop"));
    assert_eq!(resp.usage.prompt_tokens, 1000);
    assert_eq!(resp.usage.cached_tokens, 400);
    let cost = resp.cost.expect("gpt-4o is priced");
    assert!((cost.input - 600.0 * 2.5 / 1e6).abs() < 1e-12);
    assert!((cost.cached_input - 400.0 * 1.25 / 1e6).abs() < 1e-12);
    assert!((cost.output - 200.0 * 10.0 / 1e6).abs() < 1e-12);

    let sent = &mock.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(sent.header("openai-organization"), Some("org-1"));
    assert_eq!(sent.header("openai-project"), Some("proj-1"));
    assert_eq!(
        sent.body,
        json!({"model": "gpt-4o", "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"}
        ]})
    );
}

/// Large inline media is encoded while the body streams; the server still
/// gets a `Content-Length` body (no chunked encoding) whose base64 decodes
/// to the exact bytes, also on a retry.
#[tokio::test]
async fn large_media_streams_with_a_content_length() {
    let (mock, provider) = mock_and_provider(
        Script::new()
            .then(Reply::error(500, "try again"))
            .then(Reply::text("seen")),
    )
    .await;
    let mut png = PNG.to_vec();
    png.extend((0..3 * 1024 * 1024 + 7).map(|i| (i % 253) as u8));
    let msg = Message::user_with_parts(vec![
        ContentPart::text("big"),
        ContentPart::media(MediaContent::from_bytes("image/png", png.clone())),
        ContentPart::text("after"),
    ]);
    provider.chat(&ChatRequest::new(vec![msg])).await.unwrap();
    let requests = mock.requests();
    assert_eq!(requests.len(), 2, "the 500 was retried");
    let data_url = format!(
        "data:image/png;base64,{}",
        promptkit_core::encode_base64(&png)
    );
    for r in &requests {
        let content = &r.body["messages"][0]["content"];
        assert_eq!(content[1]["image_url"]["url"], data_url.as_str());
        assert_eq!(content[2]["text"], "after");
        let header = |name: &str| {
            r.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let sent = serde_json::to_vec(&r.body).unwrap().len() as u64;
        let length: u64 = header("content-length")
            .expect("no Content-Length header")
            .parse()
            .unwrap();
        assert!(length >= sent, "Content-Length {length} < body {sent}");
        assert_eq!(header("transfer-encoding"), None);
    }
}

#[tokio::test]
async fn multimodal_user_parts() {
    let (mock, provider) = mock_and_provider(Script::new().then(Reply::text("seen"))).await;
    let wav = MediaContent::from_bytes("audio/wav", Bytes::from_static(b"RIFF....WAVEfmt "));
    let pdf = MediaContent::from_bytes("application/pdf", Bytes::from_static(b"%PDF-1.4"));
    let msg = Message::user_with_parts(vec![
        ContentPart::text("What is this?"),
        ContentPart::media(
            MediaContent::from_bytes("image/png", Bytes::from_static(PNG)).with_detail("high"),
        ),
        ContentPart::media(MediaContent::from_url(
            "image/jpeg",
            "https://example.invalid/cat.jpg",
        )),
        ContentPart::media(wav),
        ContentPart::media(pdf),
    ]);
    provider.chat(&ChatRequest::new(vec![msg])).await.unwrap();
    let content = &mock.requests()[0].body["messages"][0]["content"];
    let data_url = format!(
        "data:image/png;base64,{}",
        promptkit_core::encode_base64(PNG)
    );
    assert_eq!(content[0], json!({"type": "text", "text": "What is this?"}));
    assert_eq!(
        content[1],
        json!({"type": "image_url", "image_url": {"url": data_url, "detail": "high"}})
    );
    assert_eq!(
        content[2],
        json!({"type": "image_url", "image_url": {"url": "https://example.invalid/cat.jpg"}})
    );
    assert_eq!(content[3]["type"], "input_audio");
    assert_eq!(content[3]["input_audio"]["format"], "wav");
    assert_eq!(content[4]["type"], "file");
    assert!(
        content[4]["file"]["file_data"]
            .as_str()
            .unwrap()
            .starts_with("data:application/pdf;base64,")
    );
}

#[tokio::test]
async fn unsendable_media_is_invalid_input_and_sends_nothing() {
    let (mock, provider) = mock_and_provider(Script::new()).await;
    let reference = StorageReference::new("local:abc/ref-1").unwrap();
    let cases = [
        MediaContent::from_reference("image/png", reference, 1234),
        MediaContent::from_bytes("video/mp4", Bytes::from_static(b"....ftypmp42")),
        MediaContent::from_bytes("audio/ogg", Bytes::from_static(b"OggS")),
        MediaContent::from_bytes("image/png", Bytes::from_static(PNG)).with_detail("ultra"),
    ];
    for media in cases {
        let msg = Message::user_with_parts(vec![ContentPart::text("x"), ContentPart::media(media)]);
        let err = provider
            .chat(&ChatRequest::new(vec![msg]))
            .await
            .unwrap_err();
        match err {
            Error::InvalidInput { field, .. } => {
                assert_eq!(field.as_deref(), Some("/messages/0/parts/1"))
            }
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }
    let err = provider.chat(&ChatRequest::new(vec![])).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }));
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn tools_parameters_and_tool_results_with_images() {
    let calls = vec![
        MockToolCall {
            id: "call_a".into(),
            name: "generate_image".into(),
            arguments: r#"{"prompt":"a cat"}"#.into(),
        },
        MockToolCall {
            id: "call_b".into(),
            name: "generate_image".into(),
            arguments: r#"{"prompt":"a dog"}"#.into(),
        },
    ];
    let mock = MockOpenAi::start(
        Script::new()
            .then(Reply::tool_calls(calls))
            .then(Reply::text("Here they are")),
    )
    .await
    .unwrap();
    // The app asks for the pixels of tool results (the default describes them).
    let provider = builder(&mock.base_url())
        .with_tool_result_media(ToolResultMedia::FollowUpUserMessage)
        .build()
        .unwrap();
    let mut req = ChatRequest::new(vec![Message::user("Draw a cat and a dog")]);
    req.tools = vec![image_tool()];
    req.tool_choice = Some(ToolChoice::Named("generate_image".into()));
    let mut params = Parameters::default();
    params.temperature = Some(0.5);
    params.max_tokens = Some(300);
    params.top_p = Some(0.9);
    params.frequency_penalty = Some(0.1);
    params.presence_penalty = Some(0.2);
    params.stop = vec!["END".into()];
    params.seed = Some(7);
    req.parameters = params;

    let first = provider.chat(&req).await.unwrap();
    assert_eq!(first.finish_reason.as_deref(), Some("tool_calls"));
    let got: Vec<&ToolCall> = first.message.tool_calls.iter().collect();
    assert_eq!(got.len(), 2, "parallel tool calls");
    assert_eq!(
        (&*got[0].id, &*got[1].arguments),
        ("call_a", r#"{"prompt":"a dog"}"#)
    );

    let body = &mock.requests()[0].body;
    assert_eq!(
        body["tools"],
        json!([{"type": "function", "function": {
            "name": "generate_image", "description": "Draws a picture",
            "parameters": image_tool().parameters}}])
    );
    assert_eq!(
        body["tool_choice"],
        json!({"type": "function", "function": {"name": "generate_image"}})
    );
    assert_eq!(body["max_tokens"], 300);
    assert!(body.get("max_completion_tokens").is_none());
    assert_eq!(
        (body["temperature"].clone(), body["top_p"].clone()),
        (json!(0.5), json!(0.9))
    );
    assert_eq!(
        (
            body["frequency_penalty"].clone(),
            body["presence_penalty"].clone()
        ),
        (json!(0.1), json!(0.2))
    );
    assert_eq!(
        (body["stop"].clone(), body["seed"].clone()),
        (json!(["END"]), json!(7))
    );

    // Second round: the tool results carry images.
    let img = |b: &'static [u8]| {
        ContentPart::media(MediaContent::from_bytes("image/png", Bytes::from_static(b)))
    };
    req.messages.push(first.message.clone());
    req.messages.push(Message::tool_result(
        "call_a",
        "generate_image",
        vec![ContentPart::text("cat done"), img(PNG)],
    ));
    req.messages.push(Message::tool_result(
        "call_b",
        "generate_image",
        vec![img(b"\x89PNG\r\n\x1a\ndog")],
    ));
    let second = provider.chat(&req).await.unwrap();
    assert_eq!(second.message.text(), "Here they are");

    let msgs = mock.requests()[1].body["messages"]
        .as_array()
        .unwrap()
        .clone();
    let roles: Vec<&str> = msgs.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "assistant", "tool", "tool", "user"]);
    assert_eq!(msgs[1]["content"], json!(null));
    assert_eq!(
        msgs[1]["tool_calls"][1]["function"]["arguments"],
        r#"{"prompt":"a dog"}"#
    );
    assert_eq!(msgs[2]["tool_call_id"], "call_a");
    let t = msgs[2]["content"].as_str().unwrap();
    assert!(
        t.starts_with("cat done") && t.contains("next user message"),
        "{t}"
    );
    assert!(
        msgs[3]["content"]
            .as_str()
            .unwrap()
            .contains("1 media item")
    );
    let follow = msgs[4]["content"].as_array().unwrap();
    let types: Vec<&str> = follow.iter().map(|p| p["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["text", "image_url", "text", "image_url"]);
    assert!(follow[0]["text"].as_str().unwrap().contains("call_a"));
    assert!(
        follow[3]["image_url"]["url"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,")
    );
}

#[tokio::test]
async fn reasoning_models_get_max_completion_tokens_and_no_sampling() {
    let (mock, provider) = mock_and_provider(Script::new().then(Reply::text("ok"))).await;
    let mut req = ChatRequest::new(vec![Message::user("think")]);
    req.model = Some("o3-mini".into());
    let mut params = Parameters::default();
    params.max_tokens = Some(1000);
    params.temperature = Some(0.2);
    params.seed = Some(1);
    req.parameters = params;
    let resp = provider.chat(&req).await.unwrap();
    assert_eq!(resp.model, "o3-mini");
    let body = &mock.requests()[0].body;
    assert_eq!(body["model"], "o3-mini");
    assert_eq!(body["max_completion_tokens"], 1000);
    assert!(body.get("max_tokens").is_none() && body.get("temperature").is_none());
    assert_eq!(body["seed"], 1);
}

#[tokio::test]
async fn tool_choice_must_name_an_offered_tool() {
    let (mock, provider) = mock_and_provider(Script::new()).await;
    let mut req = ChatRequest::new(vec![Message::user("x")]);
    req.tools = vec![image_tool()];
    req.tool_choice = Some(ToolChoice::Named("nope".into()));
    let err = provider.chat(&req).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput { field: Some(ref f), .. } if f == "/tool_choice"),
        "{err:?}"
    );
    // Without tools, tool_choice is not sent (the API rejects it).
    req.tools.clear();
    mock.push(Reply::text("ok"));
    provider.chat(&req).await.unwrap();
    assert!(mock.requests()[0].body.get("tool_choice").is_none());
}

#[tokio::test]
async fn invalid_tool_arguments_are_passed_through_raw() {
    let (_mock, provider) = mock_and_provider(Script::new().then(Reply::tool_call(
        "c1",
        "generate_image",
        "{\"prompt\": oops",
    )))
    .await;
    let mut req = ChatRequest::new(vec![Message::user("x")]);
    req.tools = vec![image_tool()];
    let resp = provider.chat(&req).await.unwrap();
    assert_eq!(&*resp.message.tool_calls[0].arguments, "{\"prompt\": oops");
}

#[tokio::test]
async fn lenient_parsing_and_decode_errors() {
    let (mock, provider) = mock_and_provider(Script::new()).await;
    mock.push(Reply::raw(
        200,
        r#"{"choices":[{"message":{"content":"bare"}}]}"#,
    ));
    mock.push(Reply::truncated_json());
    mock.push(Reply::raw(200, "not json at all"));
    mock.push(Reply::raw(200, r#"{"choices":[]}"#));
    let req = ChatRequest::new(vec![Message::user("x")]);
    let ok = provider.chat(&req).await.unwrap();
    assert_eq!(
        (ok.message.text().as_str(), ok.model.as_str()),
        ("bare", "gpt-4o")
    );
    assert_eq!(ok.usage.total_tokens(), 0);
    for _ in 0..3 {
        let e = provider.chat(&req).await.unwrap_err();
        assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    }
    assert_eq!(mock.requests().len(), 4, "decode errors are not retried");
}

#[tokio::test]
async fn unknown_models_have_no_cost_and_prices_can_be_overridden() {
    let mock = promptkit_mock_openai::MockOpenAi::start(Script::new())
        .await
        .unwrap();
    mock.push(
        Reply::text("a")
            .with_usage(1_000_000, 0, 0)
            .with_model("my-local-model"),
    );
    mock.push(
        Reply::text("b")
            .with_usage(1_000_000, 0, 0)
            .with_model("my-local-model"),
    );
    let req = ChatRequest::new(vec![Message::user("x")]);
    let plain = builder(&mock.base_url()).build().unwrap();
    assert_eq!(plain.chat(&req).await.unwrap().cost, None);
    let priced = builder(&mock.base_url())
        .with_price(
            "my-local-model",
            promptkit_provider_openai::ModelPrice::per_million(3.0, None, 0.0),
        )
        .build()
        .unwrap();
    let cost = priced.chat(&req).await.unwrap().cost.unwrap();
    assert!((cost.total() - 3.0).abs() < 1e-9);
}
