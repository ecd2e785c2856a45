//! Requests with image history are large: the mock server accepts them (as
//! OpenAI does) instead of answering 413, so the benchmarks and the peer
//! comparison can run image-heavy conversations against it.

use promptkit_core::{ChatRequest, ContentPart, MediaContent, Message, Provider};
use promptkit_mock_openai::{MockOpenAi, Reply, Script};
use promptkit_provider_openai::OpenAiProvider;

#[tokio::test]
async fn a_request_with_8_mib_of_images_is_answered() {
    let mock = MockOpenAi::start(Script::new().fallback(Reply::echo()))
        .await
        .unwrap();
    let provider = OpenAiProvider::builder()
        .with_base_url(mock.base_url())
        .with_no_api_key()
        .build()
        .unwrap();
    let pool = promptkit_bench::images::ImagePool::new(1024 * 1024, 5);
    let mut parts = vec![ContentPart::text("what is in these pictures")];
    parts.extend(
        (0..6).map(|i| ContentPart::media(MediaContent::from_bytes("image/png", pool.image(i)))),
    );
    let req = ChatRequest::new(vec![Message::user_with_parts(parts)]);
    let reply = provider.chat(&req).await.unwrap();
    assert_eq!(reply.message.text(), "echo: what is in these pictures");
    let body = &mock.requests()[0].body;
    assert_eq!(body["messages"][0]["content"].as_array().unwrap().len(), 7);
}
