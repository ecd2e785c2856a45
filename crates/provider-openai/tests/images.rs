//! Image generation against the in-repo mock.

mod support;

use bytes::Bytes;
use promptkit_core::{Error, ImageRequest, Provider, ProviderExt};
use promptkit_mock_openai::{MockOpenAi, Reply, Script, png_bytes};
use serde_json::json;
use support::{KEY, mock_and_provider};

#[tokio::test]
async fn gpt_image_sends_its_fields_and_never_response_format() {
    let png = Bytes::from(png_bytes(32, 32, 9));
    let (mock, provider) =
        mock_and_provider(Script::new().then(Reply::images(vec![png.clone()]))).await;
    let mut req = ImageRequest::new("a lighthouse at dusk");
    req.size = Some("1024x1024".into());
    req.quality = Some("low".into());
    req.output_format = Some("png".into());
    req.background = Some("opaque".into());
    let resp = provider.generate_image(&req).await.unwrap();
    assert_eq!(resp.images.len(), 1);
    let img = &resp.images[0];
    assert_eq!(&*img.mime_type, "image/png");
    assert_eq!(img.data.as_ref(), Some(&png), "bytes round-trip exactly");
    assert_eq!(img.size_bytes, png.len() as u64);
    assert!(resp.usage.completion_tokens > 0);
    assert!(resp.cost.unwrap().total() > 0.0);

    let sent = &mock.requests()[0];
    assert_eq!(sent.path, "/v1/images/generations");
    assert_eq!(
        sent.body,
        json!({"model": "gpt-image-1", "prompt": "a lighthouse at dusk", "size": "1024x1024",
               "quality": "low", "output_format": "png", "background": "opaque"})
    );
}

#[tokio::test]
async fn dalle3_asks_for_b64_json_and_keeps_the_revised_prompt() {
    let (mock, provider) = mock_and_provider(
        Script::new().then(Reply::generated_images().with_revised_prompt("A detailed lighthouse")),
    )
    .await;
    let mut req = ImageRequest::new("lighthouse");
    req.model = Some("dall-e-3".into());
    req.quality = Some("hd".into());
    req.size = Some("1792x1024".into());
    req.output_format = Some("webp".into()); // not a dall-e field: left out
    let resp = provider.generate_image(&req).await.unwrap();
    assert_eq!(
        resp.revised_prompt.as_deref(),
        Some("A detailed lighthouse")
    );
    assert!(
        resp.images[0]
            .data
            .as_ref()
            .unwrap()
            .starts_with(b"\x89PNG")
    );
    assert!((resp.cost.unwrap().other - 0.12).abs() < 1e-9);
    let body = &mock.requests()[0].body;
    assert_eq!(body["response_format"], "b64_json");
    assert!(body.get("output_format").is_none());
}

#[tokio::test]
async fn several_images_and_the_ext_helper() {
    let (_mock, provider) =
        mock_and_provider(Script::new().fallback(Reply::generated_images())).await;
    let mut req = ImageRequest::new("two cats");
    req.n = Some(2);
    let resp = provider.generate_image(&req).await.unwrap();
    assert_eq!(resp.images.len(), 2);
    assert_ne!(resp.images[0].data, resp.images[1].data);
    let part = provider.generate_image_part("one cat").await.unwrap();
    assert_eq!(&*part.as_media().unwrap().mime_type, "image/png");
}

#[tokio::test]
async fn url_answers_are_downloaded_without_credentials() {
    let mock = MockOpenAi::start(Script::new()).await.unwrap();
    let png = png_bytes(16, 16, 3);
    let url = mock.serve_file("remote.png", png.clone());
    mock.push(Reply::raw(
        200,
        json!({"created": 1, "data": [{"url": url}]}).to_string(),
    ));
    let provider = support::builder(&mock.base_url())
        .with_image_model("some-local-image-model")
        .build()
        .unwrap();
    let resp = provider
        .generate_image(&ImageRequest::new("x"))
        .await
        .unwrap();
    assert_eq!(resp.images[0].data.as_deref(), Some(&png[..]));
    assert_eq!(resp.cost, None, "unknown model: no cost");
    let get = &mock.requests()[1];
    assert_eq!(get.method, "GET");
    assert_eq!(get.header("authorization"), None);
    assert!(!format!("{:?}", get.headers).contains(KEY));
}

#[tokio::test]
async fn bad_image_answers_are_typed_errors() {
    let (mock, provider) = mock_and_provider(Script::new()).await;
    mock.push(Reply::raw(
        200,
        r#"{"created":1,"data":[{"b64_json":"!!!"}]}"#,
    ));
    mock.push(Reply::raw(200, r#"{"created":1,"data":[]}"#));
    mock.push(Reply::raw(
        200,
        r#"{"created":1,"data":[{"b64_json":"iVBOR"#,
    ));
    mock.push(
        Reply::error(400, "Your request was rejected by the safety system.")
            .with_error_code("content_policy_violation"),
    );
    for _ in 0..3 {
        let e = provider
            .generate_image(&ImageRequest::new("x"))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    }
    match provider
        .generate_image(&ImageRequest::new("x"))
        .await
        .unwrap_err()
    {
        Error::Provider {
            status: 400,
            code,
            message,
            ..
        } => {
            assert_eq!(code.as_deref(), Some("content_policy_violation"));
            assert!(message.contains("safety system"));
        }
        other => panic!("{other:?}"),
    }
    let e = provider
        .generate_image(&ImageRequest::new("   "))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }));
    assert_eq!(mock.requests().len(), 4);
}
