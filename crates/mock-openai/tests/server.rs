//! The mock server over real HTTP.

use std::time::Duration;

use promptkit_mock_openai::{MockOpenAi, Reply, Script};
use serde_json::{Value, json};

async fn post(url: &str, body: Value) -> (u16, String) {
    let resp = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn exhausted_script_and_unknown_routes_fail_loudly() {
    let mock = MockOpenAi::start(Script::new()).await.unwrap();
    let (status, body) = post(&format!("{}/chat/completions", mock.base_url()), json!({})).await;
    assert_eq!(status, 400);
    assert!(body.contains("script_exhausted"), "{body}");
    let (status, _) = post(&format!("{}/embeddings", mock.base_url()), json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(mock.requests().len(), 2);
}

#[tokio::test]
async fn echo_streams_and_ends_with_done() {
    let mock = MockOpenAi::start(Script::new().fallback(Reply::echo()))
        .await
        .unwrap();
    let url = format!("{}/chat/completions", mock.base_url());
    let req = json!({"model": "m", "messages": [{"role": "user", "content": "ping"}]});
    let (status, body) = post(&url, req.clone()).await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "echo: ping");
    let mut streamed = req;
    streamed["stream"] = json!(true);
    let (_, sse) = post(&url, streamed).await;
    assert!(sse.trim_end().ends_with("data: [DONE]"), "{sse}");
    let text: String = sse
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(text, "echo: ping");
    assert_eq!(
        mock.responses()[1].chunks.len(),
        sse.matches("data: {").count()
    );
}

#[tokio::test]
async fn dalle_without_b64_gets_a_url_that_serves_the_png() {
    let mock = MockOpenAi::start(Script::new().then(Reply::generated_images()))
        .await
        .unwrap();
    let (status, body) = post(
        &format!("{}/images/generations", mock.base_url()),
        json!({"model": "dall-e-2", "prompt": "x"}),
    )
    .await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    let url = v["data"][0]["url"].as_str().unwrap();
    let png = reqwest::get(url).await.unwrap().bytes().await.unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
}

#[tokio::test]
async fn headers_delays_and_mismatches() {
    let mock = MockOpenAi::start(
        Script::new()
            .then(
                Reply::error(429, "slow")
                    .with_retry_after("7")
                    .with_delay(Duration::from_millis(10)),
            )
            .then(Reply::text("not an image")),
    )
    .await
    .unwrap();
    let resp = reqwest::Client::new()
        .post(format!("{}/chat/completions", mock.base_url()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["retry-after"], "7");
    let (status, body) = post(
        &format!("{}/images/generations", mock.base_url()),
        json!({"prompt": "x"}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("script_mismatch"), "{body}");
    assert_eq!(mock.remaining(), 0);
}
