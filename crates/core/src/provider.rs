use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::{ContentPart, Cost, Error, MediaContent, Message, Usage};

/// A tool the model may call.
///
/// ```
/// use promptkit_core::ToolDefinition;
/// let tool = ToolDefinition {
///     name: "weather".into(),
///     description: "Current weather for a city".into(),
///     parameters: serde_json::json!({"type": "object", "properties": {"city": {"type": "string"}}}),
/// };
/// assert_eq!(tool.parameters["properties"]["city"]["type"], "string");
/// // `description` may be left out of the JSON form.
/// let parsed: ToolDefinition = serde_json::from_str(r#"{"name":"weather","parameters":{}}"#).unwrap();
/// assert_eq!(parsed.description, "");
/// ```
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
///
/// ```
/// use promptkit_core::{ChatRequest, Message, ToolChoice};
/// let mut req = ChatRequest::new(vec![Message::user("Weather in Oslo?")]);
/// req.tool_choice = Some(ToolChoice::Named("weather".into()));
/// assert_eq!(serde_json::to_value(ToolChoice::Required).unwrap(), "required");
/// assert_eq!(
///     serde_json::to_value(&req.tool_choice).unwrap(),
///     serde_json::json!({"named": "weather"})
/// );
/// ```
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
///
/// ```
/// use promptkit_core::Parameters;
/// let mut p = Parameters::default();
/// p.temperature = Some(0.2);
/// p.max_tokens = Some(256);
/// // Unset parameters are left out, so the provider's defaults apply.
/// assert_eq!(
///     serde_json::to_value(&p).unwrap(),
///     serde_json::json!({"temperature": 0.2, "max_tokens": 256})
/// );
/// ```
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
///
/// ```
/// use promptkit_core::{ChatRequest, Message};
/// let mut req = ChatRequest::new(vec![Message::system("Be brief."), Message::user("Hi")]);
/// req.model = Some("gpt-4o-mini".into());
/// req.parameters.temperature = Some(0.0);
/// assert_eq!(req.messages[1].text(), "Hi");
/// assert!(req.tools.is_empty() && req.tool_choice.is_none());
/// ```
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
///
/// ```
/// use promptkit_core::{ChatResponse, Message, Usage};
/// let usage = Usage { prompt_tokens: 12, completion_tokens: 3, cached_tokens: 0 };
/// let resp = ChatResponse::new(Message::assistant("Hello!"), "gpt-4o-mini")
///     .with_usage(usage, None)
///     .with_finish_reason("stop");
/// assert_eq!(resp.message.text(), "Hello!");
/// assert_eq!(resp.usage.total_tokens(), 15);
/// assert_eq!(resp.finish_reason.as_deref(), Some("stop"));
/// assert!(resp.cost.is_none());
/// ```
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
///
/// ```
/// use futures::StreamExt;
/// use promptkit_core::{ChatResponse, Message, StreamEvent};
/// # futures::executor::block_on(async {
/// let mut stream = ChatResponse::new(Message::assistant("Hello"), "m").into_stream();
/// let mut text = String::new();
/// while let Some(event) = stream.next().await {
///     match event.unwrap() {
///         StreamEvent::TextDelta(delta) => text.push_str(&delta),
///         StreamEvent::Done(resp) => assert_eq!(resp.message.text(), text),
///         _ => {}
///     }
/// }
/// assert_eq!(text, "Hello");
/// # });
/// ```
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
///
/// ```
/// use futures::StreamExt;
/// use promptkit_core::{ChatResponse, ChatStream, Message, StreamEvent};
/// let stream: ChatStream = Box::pin(futures::stream::iter(vec![
///     Ok(StreamEvent::TextDelta("Hi".into())),
///     Ok(StreamEvent::Done(ChatResponse::new(Message::assistant("Hi"), "m"))),
/// ]));
/// # futures::executor::block_on(async {
/// let events: Vec<_> = stream.collect().await;
/// assert_eq!(events.len(), 2);
/// assert!(matches!(&events[1], Ok(StreamEvent::Done(r)) if r.model == "m"));
/// # });
/// ```
pub type ChatStream = BoxStream<'static, Result<StreamEvent, Error>>;

/// An image-generation request.
///
/// ```
/// use promptkit_core::ImageRequest;
/// let mut req = ImageRequest::new("a lighthouse at dusk");
/// req.size = Some("1024x1024".into());
/// req.quality = Some("high".into());
/// let json = serde_json::to_value(&req).unwrap();
/// assert_eq!(json["size"], "1024x1024");
/// assert!(json.get("n").is_none()); // unset: the provider's default (one image)
/// ```
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
///
/// ```
/// use promptkit_core::{ImageResponse, MediaContent, MediaKind};
/// let png = MediaContent::from_bytes("image/png", b"\x89PNG\r\n\x1a\n".to_vec());
/// let resp = ImageResponse::new(vec![png]);
/// assert_eq!(resp.images[0].kind(), MediaKind::Image);
/// assert_eq!(resp.images[0].size_bytes, 8);
/// assert!(resp.revised_prompt.is_none() && resp.cost.is_none());
/// ```
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
///
/// ```
/// use promptkit_core::{ChatRequest, ChatResponse, Error, ImageRequest, Message, Provider, Result};
/// #[derive(Debug)]
/// struct Canned;
/// #[async_trait::async_trait]
/// impl Provider for Canned {
///     fn id(&self) -> &str { "canned" }
///     async fn chat(&self, _request: &ChatRequest) -> Result<ChatResponse> {
///         Ok(ChatResponse::new(Message::assistant("Hello"), "canned-1"))
///     }
/// }
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let resp = Canned.chat(&ChatRequest::new(vec![Message::user("Hi")])).await.unwrap();
/// assert_eq!(resp.message.text(), "Hello");
/// let err = Canned.generate_image(&ImageRequest::new("a cat")).await.unwrap_err();
/// assert!(matches!(err, Error::Unsupported { .. }));
/// # });
/// ```
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
///
/// ```
/// use std::sync::Arc;
/// use promptkit_core::{ImageRequest, ImageResponse, MediaContent, Provider, ProviderExt, Result};
/// # use promptkit_core::{ChatRequest, ChatResponse};
/// #[derive(Debug)]
/// struct Painter;
/// #[async_trait::async_trait]
/// impl Provider for Painter {
///     fn id(&self) -> &str { "painter" }
/// #   async fn chat(&self, _: &ChatRequest) -> Result<ChatResponse> { unreachable!() }
///     async fn generate_image(&self, _: &ImageRequest) -> Result<ImageResponse> {
///         Ok(ImageResponse::new(vec![MediaContent::from_bytes("image/png", vec![1, 2, 3])]))
///     }
/// }
/// // Every provider gets these methods, also behind `Arc<dyn Provider>`.
/// let provider: Arc<dyn Provider> = Arc::new(Painter);
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let part = provider.generate_image_part("a cat").await.unwrap();
/// assert_eq!(part.as_media().unwrap().size_bytes, 3);
/// # });
/// ```
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
