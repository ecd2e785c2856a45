//! [`OpenAiProvider`]: the [`Provider`] implementation.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use promptkit_core::{
    ChatRequest, ChatResponse, ChatStream, Error, ImageRequest, ImageResponse, MediaContent,
    Provider,
};

use crate::body::Payload;
use crate::config::{Auth, Config, OpenAiProviderBuilder};
use crate::http::Transport;
use crate::images::{ImageData, image_body, image_mime, parse_images};
use crate::pricing::PriceTable;
use crate::request::{BodyOptions, chat_body};
use crate::response::parse_chat;
use crate::stream::chat_stream;

const CHAT_PATH: &str = "/chat/completions";
const IMAGES_PATH: &str = "/images/generations";

/// The OpenAI provider: Chat Completions (plain and streamed) and image
/// generation, against OpenAI, Azure OpenAI or any compatible server.
///
/// Cheap to clone (an `Arc` inside). Its `Debug` output never shows the key.
///
/// ```
/// use promptkit_provider_openai::OpenAiProvider;
/// let p = OpenAiProvider::builder().with_api_key("sk-secret").build().unwrap();
/// let dbg = format!("{p:?}");
/// assert!(dbg.contains("api.openai.com") && !dbg.contains("sk-secret"));
/// ```
#[derive(Clone)]
pub struct OpenAiProvider {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    prices: Arc<PriceTable>,
}

impl fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.inner.transport.cfg;
        let mut d = f.debug_struct("OpenAiProvider");
        d.field("id", &c.provider_id)
            .field("base_url", &promptkit_core::redact_url(&c.base_url))
            .field("model", &c.model)
            .field("image_model", &c.image_model)
            .field("api_key", &c.api_key.as_ref().map(|_| "[redacted]"));
        if let Auth::Azure { api_version } = &c.auth {
            d.field("azure_api_version", api_version);
        }
        d.field("organization", &c.organization)
            .field("project", &c.project)
            .field("timeout", &c.timeout)
            .field("retry", &c.retry)
            .finish_non_exhaustive()
    }
}

impl OpenAiProvider {
    /// A builder; see [`OpenAiProviderBuilder`].
    pub fn builder() -> OpenAiProviderBuilder {
        OpenAiProviderBuilder::new()
    }

    /// `builder().from_env().build()`: configured from `OPENAI_*` variables.
    pub fn from_env() -> Result<Self, Error> {
        Self::builder().from_env().build()
    }

    pub(crate) fn from_parts(cfg: Config, client: reqwest::Client, prices: PriceTable) -> Self {
        OpenAiProvider {
            inner: Arc::new(Inner {
                transport: Transport { cfg, client },
                prices: Arc::new(prices),
            }),
        }
    }

    fn cfg(&self) -> &Config {
        &self.inner.transport.cfg
    }

    /// The default chat model.
    pub fn model(&self) -> &str {
        &self.cfg().model
    }

    /// The default image model.
    pub fn image_model(&self) -> &str {
        &self.cfg().image_model
    }

    /// The API root requests go to (no trailing slash). It may hold a
    /// password: show it with [`promptkit_core::redact_url`].
    pub fn base_url(&self) -> &str {
        &self.cfg().base_url
    }

    /// The per-attempt timeout.
    pub fn timeout(&self) -> Duration {
        self.cfg().timeout
    }

    /// The price table used for `cost`.
    pub fn prices(&self) -> &PriceTable {
        &self.inner.prices
    }

    /// The Chat Completions body of `request`, ready to send (logged with
    /// its size).
    fn chat_payload(
        &self,
        request: &ChatRequest,
        model: &str,
        stream: bool,
    ) -> Result<Payload, Error> {
        let body = chat_body(request, model, self.body_options(stream))?.encode()?;
        tracing::debug!(
            provider = self.id(),
            model,
            stream,
            body_bytes = body.len(),
            "chat completion"
        );
        Ok(body)
    }

    fn body_options(&self, stream: bool) -> BodyOptions {
        BodyOptions {
            stream,
            parallel_tool_calls: self.cfg().parallel_tool_calls,
            tool_media: self.cfg().tool_media,
        }
    }

    fn chat_model<'a>(&'a self, req: &'a ChatRequest) -> &'a str {
        req.model
            .as_deref()
            .filter(|m| !m.is_empty())
            .unwrap_or(&self.cfg().model)
    }
}

#[async_trait]
impl Provider for OpenAiProvider {
    fn id(&self) -> &str {
        &self.cfg().provider_id
    }

    fn default_model(&self) -> Option<&str> {
        Some(self.model())
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, Error> {
        let model = self.chat_model(request);
        let body = self.chat_payload(request, model, false)?;
        let bytes = self.inner.transport.post_json(CHAT_PATH, body).await?;
        parse_chat(&bytes, model, self.id(), &self.inner.prices)
    }

    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream, Error> {
        let model = self.chat_model(request);
        let body = self.chat_payload(request, model, true)?;
        let resp = self.inner.transport.post_stream(CHAT_PATH, body).await?;
        let is_json = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        if is_json {
            // A server that ignores `stream: true` and answers with one completion.
            let read = self.inner.transport.read_body(CHAT_PATH, resp);
            let bytes = tokio::time::timeout(self.timeout(), read)
                .await
                .map_err(|_| Error::Timeout {
                    operation: format!("POST {CHAT_PATH}"),
                    after: self.timeout(),
                })??;
            let done = parse_chat(&bytes, model, self.id(), &self.inner.prices)?;
            return Ok(done.into_stream());
        }
        Ok(chat_stream(
            resp,
            model,
            self.inner.transport.clone(),
            Arc::clone(&self.inner.prices),
        ))
    }

    async fn generate_image(&self, request: &ImageRequest) -> Result<ImageResponse, Error> {
        let model = request
            .model
            .as_deref()
            .filter(|m| !m.is_empty())
            .unwrap_or(&self.cfg().image_model);
        let body = image_body(request, model)?;
        tracing::debug!(provider = self.id(), model, "image generation");
        let bytes = self
            .inner
            .transport
            .post_json(IMAGES_PATH, bytes::Bytes::from(body.to_string()).into())
            .await?;
        let requested_format = body.get("output_format").and_then(|v| v.as_str());
        let parsed = parse_images(&bytes, requested_format)?;
        let mut images = Vec::with_capacity(parsed.images.len());
        for img in parsed.images {
            match img {
                ImageData::Inline(m) => images.push(m),
                ImageData::Url(url) => {
                    let bytes = self.inner.transport.get_public(&url).await?;
                    if bytes.is_empty() {
                        return Err(Error::Decode {
                            what: "generated image download".into(),
                            message: "the image URL returned no bytes".into(),
                        });
                    }
                    let mime = image_mime(&bytes, parsed.format_mime);
                    images.push(MediaContent::from_bytes(mime, bytes));
                }
            }
        }
        let quality = parsed.quality.as_deref().or(request.quality.as_deref());
        let size = parsed.size.as_deref().or(request.size.as_deref());
        let cost = self
            .inner
            .prices
            .image_cost(model, quality, size, images.len(), &parsed.usage);
        let mut resp = ImageResponse::new(images);
        resp.revised_prompt = parsed.revised_prompt;
        resp.usage = parsed.usage;
        resp.cost = cost;
        Ok(resp)
    }
}
