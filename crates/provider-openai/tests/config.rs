//! Builder validation, environment, and secrecy of the key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use promptkit_core::{ChatRequest, Error, Message, Provider};
use promptkit_mock_openai::{MockOpenAi, Reply, Script};
use promptkit_provider_openai::{
    DEFAULT_BASE_URL, OpenAiProvider, OpenAiProviderBuilder, RetryPolicy,
};

const KEY: &str = "sk-proj-VERY-SECRET-abcdef0123456789";

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

fn setting_of(e: Error) -> String {
    match e {
        Error::Config { setting, .. } => setting,
        other => panic!("expected Config error, got {other:?}"),
    }
}

#[test]
fn from_env_fills_only_unset_values() {
    let vars = env(&[
        ("OPENAI_API_KEY", KEY),
        ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/"),
        ("OPENAI_ORG_ID", "org-env"),
        ("OPENAI_PROJECT_ID", "proj-env"),
        ("OPENAI_MODEL", "gpt-4.1-mini"),
    ]);
    let p = OpenAiProviderBuilder::new()
        .from_env_with(&vars)
        .build()
        .unwrap();
    assert_eq!(
        (p.base_url(), p.model()),
        ("http://127.0.0.1:9/v1", "gpt-4.1-mini")
    );
    let dbg = format!("{p:?}");
    assert!(dbg.contains("org-env") && dbg.contains("proj-env"), "{dbg}");
    // Explicit settings win even when from_env comes later.
    let p = OpenAiProvider::builder()
        .with_model("gpt-4o")
        .from_env_with(&vars)
        .build()
        .unwrap();
    assert_eq!(p.model(), "gpt-4o");
    // Empty variables count as unset.
    let e = OpenAiProviderBuilder::new()
        .from_env_with(env(&[("OPENAI_API_KEY", " ")]))
        .build()
        .unwrap_err();
    assert_eq!(setting_of(e), "OPENAI_API_KEY");
    let p = OpenAiProviderBuilder::new()
        .from_env_with(env(&[("OPENAI_API_KEY", "k")]))
        .build()
        .unwrap();
    assert_eq!(p.base_url(), DEFAULT_BASE_URL);
}

#[test]
fn invalid_settings_are_config_errors() {
    let b = || OpenAiProvider::builder().with_api_key(KEY);
    assert_eq!(
        setting_of(OpenAiProvider::builder().build().unwrap_err()),
        "OPENAI_API_KEY"
    );
    assert_eq!(
        setting_of(
            OpenAiProvider::builder()
                .with_api_key("")
                .build()
                .unwrap_err()
        ),
        "OPENAI_API_KEY"
    );
    let e = OpenAiProvider::builder()
        .with_api_key("sk-bad\nkey-SECRET")
        .build()
        .unwrap_err();
    assert!(!e.to_string().contains("SECRET"));
    assert_eq!(setting_of(e), "OPENAI_API_KEY");
    for url in ["ftp://host/v1", "not a url", "http://"] {
        assert_eq!(
            setting_of(b().with_base_url(url).build().unwrap_err()),
            "base_url",
            "{url}"
        );
    }
    assert_eq!(
        setting_of(b().with_model(" ").build().unwrap_err()),
        "model"
    );
    assert_eq!(
        setting_of(b().with_timeout(Duration::ZERO).build().unwrap_err()),
        "timeout"
    );
    let zero = RetryPolicy {
        max_attempts: 0,
        ..RetryPolicy::default()
    };
    assert_eq!(
        setting_of(b().with_retry_policy(zero).build().unwrap_err()),
        "retry_policy"
    );
    assert_eq!(
        setting_of(b().with_organization("a\nb").build().unwrap_err()),
        "organization"
    );
}

#[test]
fn debug_never_shows_the_key() {
    let builder = OpenAiProvider::builder()
        .with_api_key(KEY)
        .with_azure("2024-10-21");
    assert!(!format!("{builder:?}").contains(KEY));
    let p = builder.build().unwrap();
    let dbg = format!("{p:?} {p:#?}");
    assert!(!dbg.contains(KEY), "{dbg}");
    assert!(dbg.contains("[redacted]"));
}

/// A tracing subscriber that keeps every formatted event field.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>);

struct Visitor<'a>(&'a mut String);

impl tracing::field::Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut s = self.0.lock().unwrap();
        span.record(&mut Visitor(&mut s));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut Visitor(&mut self.0.lock().unwrap()));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut s = self.0.lock().unwrap();
        s.push_str(event.metadata().target());
        s.push(' ');
        event.record(&mut Visitor(&mut s));
        s.push('\n');
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn logs_never_show_the_key() {
    let capture = Capture::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = tracing::subscriber::set_default(capture.clone());
    rt.block_on(async {
        let mock = MockOpenAi::start(
            Script::new()
                .then(
                    Reply::error(429, format!("rate limited for key {KEY}")).with_retry_after("0"),
                )
                .then(Reply::text("ok")),
        )
        .await
        .unwrap();
        let p = OpenAiProvider::builder()
            .with_api_key(KEY)
            .with_base_url(mock.base_url())
            .build()
            .unwrap();
        p.chat(&ChatRequest::new(vec![Message::user("hi")]))
            .await
            .unwrap();
    });
    let logs = capture.0.lock().unwrap().clone();
    assert!(logs.contains("retrying"), "the retry was logged: {logs}");
    assert!(logs.contains("[redacted]"), "{logs}");
    assert!(!logs.contains(KEY), "{logs}");
}

#[tokio::test]
async fn tool_media_mode_from_the_environment() {
    use bytes::Bytes;
    use promptkit_core::{ContentPart, MediaContent, ToolCall};
    let mock = MockOpenAi::start(Script::new().fallback(Reply::text("ok")))
        .await
        .unwrap();
    let call = ToolCall {
        id: "c1".into(),
        name: "draw".into(),
        arguments: "{}".into(),
    };
    let image = MediaContent::from_bytes("image/png", Bytes::from_static(b"\x89PNG\r\n\x1a\n"));
    let req = ChatRequest::new(vec![
        Message::user("draw"),
        Message::assistant_tool_calls(None, vec![call]),
        Message::tool_result("c1", "draw", vec![ContentPart::media(image)]),
    ]);
    // Unset and unknown values keep the default, `describe`: no extra message.
    for (value, expected_messages) in [
        ("omit", 3),
        ("user-message", 4),
        ("describe", 3),
        ("bogus", 3),
        ("", 3),
    ] {
        let p = OpenAiProviderBuilder::new()
            .from_env_with(env(&[
                ("OPENAI_API_KEY", KEY),
                ("OPENAI_BASE_URL", &mock.base_url()),
                ("PROMPTKIT_OPENAI_TOOL_MEDIA", value),
            ]))
            .build()
            .unwrap();
        p.chat(&req).await.unwrap();
        let sent = mock.requests().pop().unwrap();
        let n = sent.body["messages"].as_array().unwrap().len();
        assert_eq!(n, expected_messages, "PROMPTKIT_OPENAI_TOOL_MEDIA={value}");
    }
}
