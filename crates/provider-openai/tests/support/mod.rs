//! Shared helpers for the provider's integration tests.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use promptkit_mock_openai::{MockOpenAi, Script};
use promptkit_provider_openai::{OpenAiProvider, OpenAiProviderBuilder, RetryPolicy};

pub const KEY: &str = "sk-test-SECRET-0123456789abcdef";

/// Millisecond backoffs so retry tests stay fast.
pub fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(5),
        retry_timeouts: false,
    }
}

pub fn builder(base_url: &str) -> OpenAiProviderBuilder {
    OpenAiProvider::builder()
        .with_api_key(KEY)
        .with_base_url(base_url)
        .with_model("gpt-4o")
        .with_timeout(Duration::from_secs(20))
        .with_retry_policy(fast_retry(3))
}

pub async fn mock_and_provider(script: Script) -> (MockOpenAi, OpenAiProvider) {
    let mock = MockOpenAi::start(script).await.expect("start mock");
    let provider = builder(&mock.base_url()).build().expect("build provider");
    (mock, provider)
}
