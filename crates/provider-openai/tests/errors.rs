//! HTTP errors, retries, Retry-After, timeouts, connection resets, secrecy.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use promptkit_core::{ChatRequest, Error, Message, Provider};
use promptkit_mock_openai::{MockOpenAi, Reply, Script};
use promptkit_provider_openai::RetryPolicy;
use support::{KEY, builder, fast_retry, mock_and_provider};

fn req() -> ChatRequest {
    ChatRequest::new(vec![Message::user("hi")])
}

#[tokio::test]
async fn permanent_errors_carry_the_api_message_and_are_not_retried() {
    for status in [400u16, 401, 403, 404, 422] {
        let msg = format!("Incorrect API key provided: {KEY}. Find your key at the dashboard.");
        let (mock, provider) = mock_and_provider(
            Script::new().then(Reply::error(status, msg).with_error_code("invalid_api_key")),
        )
        .await;
        let err = provider.chat(&req()).await.unwrap_err();
        match &err {
            Error::Provider {
                provider,
                status: s,
                message,
                code,
            } => {
                assert_eq!((provider.as_str(), *s), ("openai", status));
                assert!(
                    message.starts_with("Incorrect API key provided: [redacted]."),
                    "{message}"
                );
                assert_eq!(code.as_deref(), Some("invalid_api_key"));
            }
            other => panic!("expected Provider error, got {other:?}"),
        }
        assert!(!err.to_string().contains(KEY) && !format!("{err:?}").contains(KEY));
        assert_eq!(
            mock.requests().len(),
            1,
            "HTTP {status} must not be retried"
        );
    }
}

#[tokio::test]
async fn transient_errors_are_retried_until_success() {
    let (mock, provider) = mock_and_provider(
        Script::new()
            .then(Reply::error(429, "Rate limit reached").with_retry_after("0"))
            .then(Reply::error(503, "overloaded"))
            .then(Reply::text("finally")),
    )
    .await;
    let resp = provider.chat(&req()).await.unwrap();
    assert_eq!(resp.message.text(), "finally");
    assert_eq!(mock.requests().len(), 3);
    // Every attempt sent the same body.
    let bodies: Vec<_> = mock.requests().into_iter().map(|r| r.body).collect();
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
}

#[tokio::test]
async fn retries_give_up_with_a_transient_error() {
    let (mock, _) = mock_and_provider(Script::new().fallback(Reply::error(500, "boom"))).await;
    let provider = builder(&mock.base_url())
        .with_retry_policy(fast_retry(4))
        .build()
        .unwrap();
    let err = provider.chat(&req()).await.unwrap_err();
    match &err {
        Error::Transient {
            status, message, ..
        } => {
            assert_eq!(*status, Some(500));
            assert!(
                message.contains("boom") && message.contains("4 attempts"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_transient());
    assert_eq!(mock.requests().len(), 4);

    let none = builder(&mock.base_url())
        .with_retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    assert!(none.chat(&req()).await.unwrap_err().is_transient());
    assert_eq!(mock.requests().len(), 5);
}

#[tokio::test]
async fn retry_after_is_honoured_in_ms_seconds_and_http_dates() {
    let past = "Wed, 21 Oct 2015 07:28:00 GMT";
    let (mock, provider) = mock_and_provider(
        Script::new()
            .then(Reply::error(429, "wait").with_header("retry-after-ms", "300"))
            .then(Reply::error(429, "wait").with_retry_after(past))
            .then(Reply::text("ok")),
    )
    .await;
    let start = Instant::now();
    provider.chat(&req()).await.unwrap();
    // A lower bound only: the client must have waited at least what was asked.
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(mock.requests().len(), 3);
}

#[tokio::test]
async fn too_long_retry_after_returns_at_once_with_the_delay() {
    let (mock, provider) = mock_and_provider(
        Script::new()
            .then(Reply::error(429, "quota").with_retry_after("3600"))
            .then(Reply::text("never")),
    )
    .await;
    match provider.chat(&req()).await.unwrap_err() {
        Error::Transient {
            status: Some(429),
            retry_after: Some(d),
            ..
        } => {
            assert_eq!(d, Duration::from_secs(3600));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test]
async fn slow_server_times_out() {
    let (mock, _) = mock_and_provider(
        Script::new().fallback(Reply::text("late").with_delay(Duration::from_secs(3))),
    )
    .await;
    let provider = builder(&mock.base_url())
        .with_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    match provider.chat(&req()).await.unwrap_err() {
        Error::Timeout { operation, after } => {
            assert_eq!(after, Duration::from_millis(200));
            assert!(operation.contains("/chat/completions"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        mock.requests().len(),
        1,
        "timeouts are not retried by default"
    );

    let retrying = builder(&mock.base_url())
        .with_timeout(Duration::from_millis(200))
        .with_retry_policy(RetryPolicy {
            retry_timeouts: true,
            ..fast_retry(2)
        })
        .build()
        .unwrap();
    assert!(matches!(
        retrying.chat(&req()).await.unwrap_err(),
        Error::Timeout { .. }
    ));
    assert_eq!(mock.requests().len(), 3);
}

/// A TCP front that drops the first `drops` connections without answering
/// (a connection reset as the client sees it) and forwards the rest to `target`.
async fn flaky_proxy(
    target: std::net::SocketAddr,
    drops: usize,
) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            if n < drops {
                // Read a little so the request is on the wire, then hang up.
                let mut buf = [0u8; 64];
                let _ = tokio::io::AsyncReadExt::read(&mut inbound, &mut buf).await;
                drop(inbound);
                continue;
            }
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (addr, seen)
}

#[tokio::test]
async fn connection_resets_are_retried() {
    let mock = MockOpenAi::start(Script::new().then(Reply::text("through")))
        .await
        .unwrap();
    let (proxy, seen) = flaky_proxy(mock.addr(), 2).await;
    let provider = builder(&format!("http://{proxy}/v1")).build().unwrap();
    let resp = provider.chat(&req()).await.unwrap();
    assert_eq!(resp.message.text(), "through");
    assert!(seen.load(Ordering::SeqCst) >= 3);
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test]
async fn connection_refused_is_transient_and_keyless() {
    let port = promptkit_testkit::free_port();
    let provider = builder(&format!("http://127.0.0.1:{port}/v1"))
        .build()
        .unwrap();
    let err = provider.chat(&req()).await.unwrap_err();
    assert!(
        matches!(err, Error::Transient { status: None, .. }),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains(KEY));
}

#[tokio::test]
async fn azure_style_auth_and_api_version() {
    let mock = MockOpenAi::start(Script::new().then(Reply::text("azure ok")))
        .await
        .unwrap();
    let provider = builder(&format!("{}/openai/deployments/my-gpt4o/", mock.root_url()))
        .with_azure("2024-10-21")
        .with_provider_id("azure")
        .build()
        .unwrap();
    assert_eq!(provider.id(), "azure");
    provider.chat(&req()).await.unwrap();
    let sent = &mock.requests()[0];
    assert_eq!(sent.path, "/openai/deployments/my-gpt4o/chat/completions");
    assert_eq!(sent.query.as_deref(), Some("api-version=2024-10-21"));
    assert_eq!(sent.header("api-key"), Some(KEY));
    assert_eq!(sent.header("authorization"), None);
}

#[tokio::test]
async fn no_api_key_mode_sends_no_credentials() {
    let mock = MockOpenAi::start(Script::new().then(Reply::text("ok")))
        .await
        .unwrap();
    let provider = promptkit_provider_openai::OpenAiProvider::builder()
        .with_base_url(mock.base_url())
        .with_no_api_key()
        .build()
        .unwrap();
    provider.chat(&req()).await.unwrap();
    let sent = &mock.requests()[0];
    assert_eq!(
        (sent.header("authorization"), sent.header("api-key")),
        (None, None)
    );
    assert_eq!(sent.body["model"], promptkit_provider_openai::DEFAULT_MODEL);
}

#[tokio::test]
async fn a_key_in_a_stream_error_event_is_redacted() {
    use futures::StreamExt;
    let sse = format!(
        "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"he\"}}}}]}}\n\n\
         data: {{\"error\":{{\"message\":\"Incorrect API key provided: {KEY}.\",\"type\":\"invalid_request_error\"}}}}\n\n"
    );
    let (_mock, provider) =
        mock_and_provider(Script::new().then(Reply::raw_with_type(200, "text/event-stream", sse)))
            .await;
    let mut stream = provider.chat_stream(&req()).await.unwrap();
    let mut failure = None;
    while let Some(ev) = stream.next().await {
        if let Err(e) = ev {
            failure = Some(e);
        }
    }
    let err = failure.expect("the error event ends the stream with an error");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(
        err.to_string()
            .contains("Incorrect API key provided: [redacted]."),
        "{err}"
    );
}

#[tokio::test]
async fn a_query_in_the_base_url_stays_after_the_path() {
    let mock = MockOpenAi::start(Script::new().fallback(Reply::text("ok")))
        .await
        .unwrap();
    let base = format!(
        "{}/openai/deployments/d1/?api-version=2024-10-21&x=1",
        mock.root_url()
    );
    builder(&base).build().unwrap().chat(&req()).await.unwrap();
    let sent = mock.requests().pop().unwrap();
    assert_eq!(sent.path, "/openai/deployments/d1/chat/completions");
    assert_eq!(sent.query.as_deref(), Some("api-version=2024-10-21&x=1"));
    // With Azure auth, the version in the URL is kept, not repeated.
    let azure = builder(&base).with_azure("2025-01-01").build().unwrap();
    azure.chat(&req()).await.unwrap();
    let sent = mock.requests().pop().unwrap();
    assert_eq!(sent.path, "/openai/deployments/d1/chat/completions");
    assert_eq!(sent.query.as_deref(), Some("api-version=2024-10-21&x=1"));
    // Without a query, Azure adds its version.
    let plain = builder(&format!("{}/v1", mock.root_url()))
        .with_azure("2025-01-01")
        .build()
        .unwrap();
    plain.chat(&req()).await.unwrap();
    let sent = mock.requests().pop().unwrap();
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.query.as_deref(), Some("api-version=2025-01-01"));
}

#[tokio::test]
async fn a_password_in_the_base_url_is_never_shown() {
    // Nothing listens on port 9 of 127.0.0.1: the connection error quotes the URL.
    let base = "http://user:url-pass-123@127.0.0.1:9/v1?api-version=1&api-key=qkey-456";
    let provider = builder(base)
        .with_retry_policy(fast_retry(1))
        .build()
        .unwrap();
    let shown_debug = format!("{provider:?}");
    assert!(
        shown_debug.contains("//***:***@127.0.0.1:9"),
        "{shown_debug}"
    );
    let err = provider.chat(&req()).await.unwrap_err();
    let shown = format!("{err} {err:?} {shown_debug}");
    for secret in ["url-pass-123", "qkey-456", KEY, "user:"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    let bad = builder("ftp://user:url-pass-123@host/v1")
        .build()
        .unwrap_err();
    assert!(!bad.to_string().contains("url-pass-123"), "{bad}");
}
