use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::{ContentPart, Cost, Error, MediaContent, Message, Usage};

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDefinition {
    /// Tool name as the model sees it.
    pub name: String,
    /// What the tool does.
    #[serde(default)]
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: serde_json::Value,
}

/// How the model may use tools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// No tool calls.
    None,
    /// At least one tool call.
    Required,
    /// This tool must be called.
    Named(String),
}

/// Sampling and length parameters (from the pack's `parameters`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Parameters {
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Maximum output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Frequency penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Presence penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// Seed for deterministic sampling, where supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
}

/// One chat-completion request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatRequest {
    /// Model override; the provider's configured model when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The conversation so far, system message first. Media parts must be
    /// inline or URLs: the SDK rehydrates stored references before calling a provider.
    pub messages: Vec<Message>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolDefinition>,
    /// Tool choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Sampling parameters.
    #[serde(default)]
    pub parameters: Parameters,
}

impl ChatRequest {
    /// A request with these messages and default settings.
    pub fn new(messages: Vec<Message>) -> Self {
        ChatRequest {
            messages,
            ..Default::default()
        }
    }
}

/// A provider's answer to a [`ChatRequest`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChatResponse {
    /// The assistant message (text and/or tool calls).
    pub message: Message,
    /// Token usage.
    pub usage: Usage,
    /// Cost of this call, when the provider knows the model's prices.
    pub cost: Option<Cost>,
    /// Why generation stopped (`stop`, `tool_calls`, `length`, ...).
    pub finish_reason: Option<String>,
    /// The model that answered.
    pub model: String,
}

impl ChatResponse {
    /// A response carrying `message`, with no usage or cost.
    pub fn new(message: Message, model: impl Into<String>) -> Self {
        ChatResponse {
            message,
            usage: Usage::default(),
            cost: None,
            finish_reason: None,
            model: model.into(),
        }
    }

    /// Sets usage and cost.
    pub fn with_usage(mut self, usage: Usage, cost: Option<Cost>) -> Self {
        self.usage = usage;
        self.cost = cost;
        self
    }

    /// Sets the finish reason.
    pub fn with_finish_reason(mut self, reason: impl Into<String>) -> Self {
        self.finish_reason = Some(reason.into());
        self
    }

    /// The events of this complete response, as a stream: its text as one
    /// delta (when it has text), one delta per tool call, then
    /// [`StreamEvent::Done`].
    ///
    /// ```
    /// use futures::StreamExt;
    /// use promptkit_core::{ChatResponse, Message, StreamEvent};
    /// # futures::executor::block_on(async {
    /// let events: Vec<_> = ChatResponse::new(Message::assistant("Hi"), "m")
    ///     .into_stream()
    ///     .collect()
    ///     .await;
    /// assert!(matches!(&events[0], Ok(StreamEvent::TextDelta(t)) if t == "Hi"));
    /// assert!(matches!(&events[1], Ok(StreamEvent::Done(_))));
    /// # });
    /// ```
    pub fn into_stream(self) -> ChatStream {
        let mut events = Vec::new();
        let text = self.message.text();
        if !text.is_empty() {
            events.push(Ok(StreamEvent::TextDelta(text)));
        }
        for (index, call) in self.message.tool_calls.iter().enumerate() {
            events.push(Ok(StreamEvent::ToolCallDelta {
                index,
                id: Some(call.id.to_string()),
                name: Some(call.name.to_string()),
                arguments: call.arguments.to_string(),
            }));
        }
        events.push(Ok(StreamEvent::Done(self)));
        Box::pin(futures::stream::iter(events))
    }
}

/// An event of a streamed chat completion.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StreamEvent {
    /// More text of the assistant message.
    TextDelta(String),
    /// A fragment of a tool call (arguments arrive in pieces).
    ToolCallDelta {
        /// Index of the call within the message.
        index: usize,
        /// Call id, on the first fragment.
        id: Option<String>,
        /// Tool name, on the first fragment.
        name: Option<String>,
        /// A piece of the arguments JSON.
        arguments: String,
    },
    /// The stream finished; the fully accumulated response.
    Done(ChatResponse),
}

/// A stream of [`StreamEvent`]s.
pub type ChatStream = BoxStream<'static, Result<StreamEvent, Error>>;

/// An image-generation request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ImageRequest {
    /// What to draw.
    pub prompt: String,
    /// Model override (e.g. `gpt-image-1`, `dall-e-3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Size such as `1024x1024`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// Quality (`low`/`medium`/`high`/`auto`, or `standard`/`hd` for dall-e-3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<String>,
    /// Output format for gpt-image models (`png`, `jpeg`, `webp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_format: Option<String>,
    /// Background for gpt-image models (`transparent`, `opaque`, `auto`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<String>,
    /// Number of images (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
}

impl ImageRequest {
    /// A request for one image of `prompt`.
    pub fn new(prompt: impl Into<String>) -> Self {
        ImageRequest {
            prompt: prompt.into(),
            ..Default::default()
        }
    }
}

/// Generated images.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ImageResponse {
    /// The images, inline.
    pub images: Vec<MediaContent>,
    /// The prompt the model actually used, when it rewrote it.
    pub revised_prompt: Option<String>,
    /// Token usage reported for the generation, if any.
    pub usage: Usage,
    /// Cost of the generation, when known.
    pub cost: Option<Cost>,
}

impl ImageResponse {
    /// A response with these images and nothing else.
    pub fn new(images: Vec<MediaContent>) -> Self {
        ImageResponse {
            images,
            revised_prompt: None,
            usage: Usage::default(),
            cost: None,
        }
    }
}

/// An LLM backend. Only [`Provider::id`] and [`Provider::chat`] are required;
/// streaming falls back to one event per response and image generation to
/// [`Error::Unsupported`].
#[async_trait]
pub trait Provider: Send + Sync + std::fmt::Debug {
    /// Stable provider id (`openai`, `mock`, ...).
    fn id(&self) -> &str;

    /// The model this provider uses when a request names none, if it has one.
    /// The SDK uses it to apply a pack's `model_overrides`.
    fn default_model(&self) -> Option<&str> {
        None
    }

    /// Runs one chat completion.
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, Error>;

    /// Streams one chat completion. The default runs [`Provider::chat`] and
    /// yields its text as one delta followed by [`StreamEvent::Done`].
    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream, Error> {
        Ok(self.chat(request).await?.into_stream())
    }

    /// Generates images.
    async fn generate_image(&self, request: &ImageRequest) -> Result<ImageResponse, Error> {
        let _ = request;
        Err(Error::Unsupported {
            operation: "image generation".into(),
            provider: self.id().to_string(),
        })
    }
}

/// Conveniences over any [`Provider`].
#[async_trait]
pub trait ProviderExt: Provider {
    /// Sends one user message and returns the reply text.
    ///
    /// ```
    /// # use promptkit_core::*;
    /// # #[derive(Debug)] struct Echo;
    /// # #[async_trait::async_trait] impl Provider for Echo {
    /// #   fn id(&self) -> &str { "echo" }
    /// #   async fn chat(&self, r: &ChatRequest) -> Result<ChatResponse> {
    /// #     Ok(ChatResponse::new(Message::assistant(r.messages.last().unwrap().text()), "echo")) } }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// assert_eq!(Echo.complete("hi").await.unwrap(), "hi");
    /// # });
    /// ```
    async fn complete(&self, prompt: &str) -> Result<String, Error> {
        let resp = self
            .chat(&ChatRequest::new(vec![Message::user(prompt)]))
            .await?;
        Ok(resp.message.text())
    }

    /// Generates one image and returns it as a content part.
    async fn generate_image_part(&self, prompt: &str) -> Result<ContentPart, Error> {
        let resp = self.generate_image(&ImageRequest::new(prompt)).await?;
        resp.images
            .into_iter()
            .next()
            .map(ContentPart::media)
            .ok_or_else(|| Error::Decode {
                what: "image response".into(),
                message: "no image returned".into(),
            })
    }
}

impl<P: Provider + ?Sized> ProviderExt for P {}

macro_rules! forward_provider {
    ($ty:ty) => {
        #[async_trait]
        impl<P: Provider + ?Sized> Provider for $ty {
            fn id(&self) -> &str {
                (**self).id()
            }
            fn default_model(&self) -> Option<&str> {
                (**self).default_model()
            }
            async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, Error> {
                (**self).chat(request).await
            }
            async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream, Error> {
                (**self).chat_stream(request).await
            }
            async fn generate_image(&self, request: &ImageRequest) -> Result<ImageResponse, Error> {
                (**self).generate_image(request).await
            }
        }
    };
}

forward_provider!(Arc<P>);
forward_provider!(Box<P>);
