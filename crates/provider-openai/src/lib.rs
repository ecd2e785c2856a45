//! OpenAI (and OpenAI-compatible) Chat Completions, streaming and image
//! generation for PromptKit-rs, as a [`promptkit_core::Provider`].
//!
//! # OpenAI
//!
//! ```no_run
//! use promptkit_core::{ChatRequest, Message, Provider};
//! use promptkit_provider_openai::OpenAiProvider;
//! # async fn run() -> Result<(), promptkit_core::Error> {
//! // OPENAI_API_KEY, and optionally OPENAI_BASE_URL, OPENAI_ORG_ID,
//! // OPENAI_PROJECT_ID, OPENAI_MODEL.
//! let openai = OpenAiProvider::from_env()?;
//! let reply = openai.chat(&ChatRequest::new(vec![Message::user("Hello!")])).await?;
//! println!("{} (${:.5})", reply.message.text(), reply.cost.map_or(0.0, |c| c.total()));
//! # Ok(()) }
//! ```
//!
//! A missing key is an [`Error::Config`](promptkit_core::Error::Config) from
//! [`OpenAiProviderBuilder::build`]. The key is never shown by `Debug`, never
//! logged, and removed from any error text a server echoes back.
//!
//! # Local OpenAI-compatible servers
//!
//! Point the base URL at the server (vLLM, llama.cpp, Ollama's `/v1`, LiteLLM,
//! ...). Servers that need no key: [`OpenAiProviderBuilder::with_no_api_key`].
//! This example runs against the in-repo mock server:
//!
//! ```
//! use promptkit_core::{ChatRequest, Message, Provider};
//! use promptkit_mock_openai::{MockOpenAi, Reply, Script};
//! use promptkit_provider_openai::OpenAiProvider;
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let server = MockOpenAi::start(Script::new().then(Reply::text("Hi there"))).await.unwrap();
//! let local = OpenAiProvider::builder()
//!     .with_base_url(server.base_url())
//!     .with_no_api_key()
//!     .with_model("gpt-4o")
//!     .build()
//!     .unwrap();
//! let reply = local.chat(&ChatRequest::new(vec![Message::user("Hello")])).await.unwrap();
//! assert_eq!(reply.message.text(), "Hi there");
//! assert!(reply.cost.is_some()); // gpt-4o is in the default price table
//! assert_eq!(server.requests()[0].body["messages"][0]["content"], "Hello");
//! # });
//! ```
//!
//! # Azure OpenAI
//!
//! [`OpenAiProviderBuilder::with_azure`] sends the key as `api-key` and adds
//! `?api-version=` to every URL; the base URL is the deployment:
//!
//! ```
//! use promptkit_provider_openai::OpenAiProvider;
//! let azure = OpenAiProvider::builder()
//!     .with_base_url("https://my-resource.openai.azure.com/openai/deployments/my-gpt4o")
//!     .with_azure("2024-10-21")
//!     .with_api_key("azure-key")
//!     .with_provider_id("azure")
//!     .build()
//!     .unwrap();
//! # let _ = azure;
//! ```
//!
//! # Request mapping
//!
//! - Messages: system, user, assistant (with `tool_calls`), tool (`tool_call_id`).
//!   User media: images → `image_url` parts (`data:` URL from inline bytes, or
//!   the media's URL; `detail` kept), wav/mp3 audio → `input_audio`, PDF →
//!   `file`. Media that is only a storage reference is an
//!   [`Error::InvalidInput`](promptkit_core::Error::InvalidInput): the SDK
//!   rehydrates it first.
//! - Tool results and assistant messages accept only text in Chat Completions:
//!   their text is sent as usual (with a note), and their media follows in one
//!   user message placed after the run of tool results (or is left out, see
//!   [`ToolResultMedia`]).
//! - Tools: `function` tools with the pack's JSON Schema; `tool_choice`;
//!   `parallel_tool_calls` when configured.
//! - `max_tokens` is sent as `max_completion_tokens` for reasoning models
//!   (o1/o3/o4, gpt-5 except gpt-5-chat; see [`is_reasoning_model`]), which also
//!   reject `temperature`, `top_p` and the penalties; those are then left out.
//! - Streaming sends `stream_options.include_usage`, so streamed responses have
//!   usage and cost too. Dropping the stream cancels the request.
//!
//! # Images
//!
//! `gpt-image-1` family: `size`, `quality`, `output_format`, `background`; they
//! always answer base64. `dall-e-2/3`: `response_format: "b64_json"` is sent
//! (only to them). Returned images become inline [`MediaContent`](promptkit_core::MediaContent)
//! whose MIME type comes from the bytes (else `output_format`); URL answers
//! (from compatible servers) are downloaded without credentials.
//!
//! # Errors and retries
//!
//! 400/401/403/404 (and other 4xx) → [`Error::Provider`](promptkit_core::Error::Provider)
//! with the API's `error.message` and `code`, not retried. 408, 409, 429, 5xx and
//! connection failures are retried per [`RetryPolicy`] (exponential backoff with
//! jitter, `Retry-After`/`retry-after-ms` honoured) and end as
//! [`Error::Transient`](promptkit_core::Error::Transient). An attempt over the
//! timeout is [`Error::Timeout`](promptkit_core::Error::Timeout). Malformed or
//! truncated JSON and broken streams are [`Error::Decode`](promptkit_core::Error::Decode).
//!
//! # Cost
//!
//! [`PriceTable`] (defaults: [`PriceTable::openai_defaults`]) fills
//! `ChatResponse::cost` and `ImageResponse::cost`; override with
//! [`OpenAiProviderBuilder::with_prices`] or [`OpenAiProviderBuilder::with_price`].
#![warn(missing_docs, unreachable_pub)]
#![deny(rustdoc::broken_intra_doc_links)]

mod body;
mod config;
mod dimensions;
#[cfg(any(test, fuzzing))]
mod fuzz;
mod http;
mod images;
mod pricing;
mod provider;
mod request;
mod response;
mod retry;
mod stream;

pub use config::{
    DEFAULT_BASE_URL, DEFAULT_IMAGE_MODEL, DEFAULT_MODEL, DEFAULT_TIMEOUT, OpenAiProviderBuilder,
};
pub use dimensions::image_dimensions;
pub use pricing::{ImagePrice, ModelPrice, PriceTable, image_input_tokens};
pub use provider::OpenAiProvider;
pub use request::{ToolResultMedia, is_reasoning_model};
pub use retry::RetryPolicy;

/// The entry point of the cargo-fuzz target: every parser of provider
/// answers over arbitrary bytes. Only in fuzzing builds (`--cfg fuzzing`).
#[cfg(fuzzing)]
#[doc(hidden)]
pub use fuzz::parse_all as __fuzz_parse_all;

/// The guide `docs/openai.md`; its code blocks are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/openai.md")]
pub struct OpenAiGuideDoctests;
