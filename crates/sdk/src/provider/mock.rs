use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use futures::{StreamExt, stream};
use promptkit_core::{
    ChatRequest, ChatResponse, ChatStream, Cost, Error, ImageRequest, ImageResponse, MediaContent,
    Message, Provider, Role, StreamEvent, ToolCall, Usage,
};

use super::procedural::{DEFAULT_SIZE, render_png};

/// Simulated prices (USD per 1M tokens), in the range of a small hosted model.
const INPUT_PER_M: f64 = 0.15;
const OUTPUT_PER_M: f64 = 0.60;
/// The model name the offline provider reports.
const MODEL: &str = "mock-image-assistant";
/// Simulated price of one generated image.
const IMAGE_PRICE: f64 = 0.04;
/// Words that make the offline model reach for an image tool.
const IMAGE_WORDS: &[&str] = &[
    "draw",
    "generate",
    "create",
    "image",
    "picture",
    "paint",
    "sketch",
    "render",
    "make",
    "show",
    "illustrate",
    "photo",
    "design",
];

/// One scripted reply of a [`MockProvider`].
///
/// ```
/// use promptkit_sdk::{Error, FnTool, MockProvider, MockReply, ToolOutput};
/// # use promptkit_sdk::{ConversationConfig, ConversationManager, ManagerConfig};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let provider = MockProvider::scripted(vec![
///     MockReply::ToolCalls(vec![("weather".into(), r#"{"city":"Oslo"}"#.into())]),
///     MockReply::Text("It is 12°C in Oslo.".into()),
///     MockReply::Fail(429),
/// ]);
/// # let manager = ConversationManager::builder()
/// #     .provider(provider)
/// #     .tool("weather", FnTool::new(|_: serde_json::Value| async { Ok(ToolOutput::text("12°C")) }))
/// #     .config(ManagerConfig { externalize: false, ..Default::default() })
/// #     .build()
/// #     .unwrap();
/// # let pack = manager.register_pack(promptkit_pack::Pack::from_json_str(r#"{
/// #   "id": "wx", "name": "Weather", "version": "1.0.0",
/// #   "template_engine": {"version": "v1", "syntax": "{{variable}}"},
/// #   "prompts": {"chat": {"id": "chat", "name": "chat", "version": "1.0.0",
/// #     "system_template": "You report the weather.", "tools": ["weather"]}},
/// #   "tools": {"weather": {"name": "weather", "description": "Weather in a city",
/// #     "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
/// #     "required": ["city"]}}}
/// # }"#).unwrap());
/// # let mut conv = manager.new_conversation(&pack, ConversationConfig::new("u1", "s1")).unwrap();
/// // First turn: the scripted tool call, then the scripted answer.
/// let resp = conv.send("Weather in Oslo?").await.unwrap();
/// assert_eq!((resp.tool_calls.len(), resp.content.as_str()), (1, "It is 12°C in Oslo."));
/// // Second turn: a rate limit, which callers may retry.
/// let err = conv.send("And tomorrow?").await.unwrap_err();
/// assert!(matches!(err, Error::Provider(e) if e.is_transient()));
/// # });
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum MockReply {
    /// An assistant text message.
    Text(String),
    /// An assistant message calling tools: `(tool name, raw arguments JSON)`.
    ToolCalls(Vec<(String, String)>),
    /// A provider failure: 429 and 5xx become [`Error::Transient`], others [`Error::Provider`].
    Fail(u16),
}

/// What a [`MockProvider`] received in one call (kept small on purpose: no media bytes).
///
/// ```
/// use std::sync::Arc;
/// use promptkit_sdk::{MockProvider, RequestSummary};
/// # use promptkit_sdk::{ConversationConfig, ConversationManager, FnTool, ManagerConfig, ToolOutput};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let provider = Arc::new(MockProvider::new());
/// let manager = ConversationManager::builder()
///     .provider_arc(provider.clone())
/// #   .tool("weather", FnTool::new(|_: serde_json::Value| async { Ok(ToolOutput::text("12°C")) }))
/// #   .config(ManagerConfig { externalize: false, ..Default::default() })
///     .build()
///     .unwrap();
/// # let pack = manager.register_pack(promptkit_pack::Pack::from_json_str(r#"{
/// #   "id": "wx", "name": "Weather", "version": "1.0.0",
/// #   "template_engine": {"version": "v1", "syntax": "{{variable}}"},
/// #   "prompts": {"chat": {"id": "chat", "name": "chat", "version": "1.0.0",
/// #     "system_template": "You report the weather.", "tools": ["weather"]}},
/// #   "tools": {"weather": {"name": "weather", "description": "Weather in a city",
/// #     "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
/// #     "required": ["city"]}}}
/// # }"#).unwrap());
/// # let mut conv = manager.new_conversation(&pack, ConversationConfig::new("u1", "s1")).unwrap();
/// conv.send("hello").await.unwrap();
/// conv.send("hello again").await.unwrap();
/// let second: &RequestSummary = &provider.requests()[1];
/// // System prompt, first exchange, new user message; the pack's tool offered.
/// assert_eq!(second.messages, 4);
/// assert_eq!(second.tools, ["weather"]);
/// assert_eq!((second.inline_media_bytes, second.reference_only_parts), (0, 0));
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSummary {
    /// Number of messages sent.
    pub messages: usize,
    /// Bytes of inline media in the request.
    pub inline_media_bytes: usize,
    /// Media parts that carried only a storage reference (not rehydrated).
    pub reference_only_parts: usize,
    /// Names of the tools offered.
    pub tools: Vec<String>,
}

/// An offline provider with deterministic behaviour, for the tutorial, tests and demos.
///
/// Without a script it acts like a small image-generation assistant: when an
/// image tool is offered and the user asks for a picture it calls the tool with
/// the user's words as the prompt; after a tool result it describes what was made;
/// otherwise it answers briefly; [`Provider::chat_stream`] streams that answer a
/// word at a time. Its [`Provider::generate_image`] renders real,
/// ~1 MB PNGs that are identical for identical prompts. Token usage is estimated
/// (4 characters per token) and priced at simulated rates so cost reporting can be
/// shown without a key.
///
/// ```
/// use promptkit_core::{ChatRequest, Message, Provider, ProviderExt};
/// use promptkit_sdk::MockProvider;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let p = MockProvider::new();
/// let reply = p.complete("hello").await.unwrap();
/// assert!(reply.contains("hello"));
/// let scripted = MockProvider::scripted(vec![promptkit_sdk::MockReply::Text("hi!".into())]);
/// assert_eq!(scripted.complete("x").await.unwrap(), "hi!");
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MockProvider {
    script: Mutex<VecDeque<MockReply>>,
    requests: Mutex<Vec<RequestSummary>>,
    image_size: Option<u32>,
}

impl MockProvider {
    /// The deterministic offline assistant.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replies from `script`, in order; once it runs out, the default behaviour.
    pub fn scripted(script: Vec<MockReply>) -> Self {
        MockProvider {
            script: Mutex::new(script.into()),
            ..Self::default()
        }
    }

    /// Edge length of generated images in pixels (default 600, about 1 MB).
    pub fn with_image_size(mut self, pixels: u32) -> Self {
        self.image_size = Some(pixels.clamp(1, 4096));
        self
    }

    /// Summaries of every chat request received so far.
    pub fn requests(&self) -> Vec<RequestSummary> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    fn next_scripted(&self) -> Option<MockReply> {
        self.script.lock().ok().and_then(|mut s| s.pop_front())
    }

    fn default_reply(request: &ChatRequest) -> MockReply {
        let Some(last) = request.messages.last() else {
            return MockReply::Text("Hello! What would you like me to create?".into());
        };
        if last.role == Role::Tool {
            let mut prompt = String::new();
            for m in request.messages.iter().rev() {
                if m.role == Role::Assistant {
                    if let Some(call) = m.tool_calls.first() {
                        prompt = serde_json::from_str::<serde_json::Value>(&call.arguments)
                            .ok()
                            .and_then(|v| v.get("prompt")?.as_str().map(str::to_owned))
                            .unwrap_or_default();
                    }
                    break;
                }
            }
            let failed = last.text().to_ascii_lowercase().contains("error");
            let prompt = subject(&prompt);
            return MockReply::Text(if failed {
                format!("I could not create the image: {}", last.text())
            } else {
                format!(
                    "Here is your image of {prompt}. I rendered it with layered colour waves and a fine film grain; tell me if you'd like changes."
                )
            });
        }
        let text = last.text();
        let lower = text.to_ascii_lowercase();
        let tool = request.tools.iter().find(|t| {
            let n = t.name.to_ascii_lowercase();
            n.contains("image") || n.contains("dalle") || n.contains("draw")
        });
        if let Some(tool) = tool
            && last.role == Role::User
            && IMAGE_WORDS.iter().any(|w| lower.contains(w))
        {
            let args = serde_json::json!({ "prompt": text, "size": "1024x1024" });
            return MockReply::ToolCalls(vec![(tool.name.clone(), args.to_string())]);
        }
        MockReply::Text(format!(
            "You said: \"{text}\". Describe a picture and I will generate it."
        ))
    }
}

/// The subject of an image request: "Generate an image of a red fox" → "a red fox".
fn subject(prompt: &str) -> &str {
    let lower = prompt.to_ascii_lowercase();
    for marker in [
        " image of ",
        " picture of ",
        " photo of ",
        " drawing of ",
        " painting of ",
    ] {
        if let Some(i) = lower.find(marker) {
            return prompt[i + marker.len()..].trim();
        }
    }
    for verb in [
        "generate ",
        "create ",
        "draw ",
        "paint ",
        "sketch ",
        "render ",
        "make ",
        "show me ",
        "illustrate ",
        "design ",
    ] {
        if lower.starts_with(verb) {
            return prompt[verb.len()..].trim();
        }
    }
    prompt.trim()
}

fn estimate_tokens(chars: usize) -> u64 {
    (chars as u64).div_ceil(4)
}

fn summarize(request: &ChatRequest) -> RequestSummary {
    let mut s = RequestSummary {
        messages: request.messages.len(),
        inline_media_bytes: 0,
        reference_only_parts: 0,
        tools: request.tools.iter().map(|t| t.name.clone()).collect(),
    };
    for m in request.messages.iter().flat_map(Message::media) {
        s.inline_media_bytes += m.inline_len();
        if !m.is_inline() && m.url.is_none() && m.storage_reference.is_some() {
            s.reference_only_parts += 1;
        }
    }
    s
}

#[async_trait]
impl Provider for MockProvider {
    fn id(&self) -> &str {
        "mock"
    }

    fn default_model(&self) -> Option<&str> {
        Some(MODEL)
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, Error> {
        if let Ok(mut r) = self.requests.lock() {
            r.push(summarize(request));
        }
        let reply = self
            .next_scripted()
            .unwrap_or_else(|| Self::default_reply(request));
        let (message, finish) = match reply {
            MockReply::Text(t) => (Message::assistant(t), "stop"),
            MockReply::ToolCalls(calls) => {
                let calls = calls
                    .into_iter()
                    .enumerate()
                    .map(|(i, (name, arguments))| {
                        ToolCall::new(
                            format!("call_mock_{i}_{}", request.messages.len()),
                            name,
                            arguments,
                        )
                    })
                    .collect::<Vec<_>>();
                (Message::assistant_tool_calls(None, calls), "tool_calls")
            }
            MockReply::Fail(status) => {
                let message = format!("simulated failure with HTTP {status}");
                return Err(if status == 429 || status >= 500 {
                    Error::Transient {
                        provider: "mock".into(),
                        status: Some(status),
                        message,
                        retry_after: None,
                    }
                } else {
                    Error::Provider {
                        provider: "mock".into(),
                        status,
                        message,
                        code: None,
                    }
                });
            }
        };
        let input_chars: usize = request
            .messages
            .iter()
            .map(|m| m.text().len() + 85 * 4 * m.media().count())
            .sum();
        let output_chars = message.text().len()
            + message
                .tool_calls
                .iter()
                .map(|c| c.arguments.len() + c.name.len())
                .sum::<usize>();
        let usage = Usage {
            prompt_tokens: estimate_tokens(input_chars),
            completion_tokens: estimate_tokens(output_chars),
            cached_tokens: 0,
        };
        let cost = Cost {
            input: usage.prompt_tokens as f64 * INPUT_PER_M / 1e6,
            cached_input: 0.0,
            output: usage.completion_tokens as f64 * OUTPUT_PER_M / 1e6,
            other: 0.0,
        };
        Ok(ChatResponse::new(message, MODEL)
            .with_usage(usage, Some(cost))
            .with_finish_reason(finish))
    }

    /// Streams the reply a word at a time (each text delta is one word with
    /// the space after it), then its tool calls and `Done`, as a streaming
    /// model would.
    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream, Error> {
        let events = self.chat(request).await?.into_stream();
        Ok(Box::pin(events.flat_map(|event| match event {
            Ok(StreamEvent::TextDelta(text)) => {
                let words: Vec<_> = text
                    .split_inclusive(' ')
                    .map(|w| Ok(StreamEvent::TextDelta(w.to_owned())))
                    .collect();
                stream::iter(words)
            }
            other => stream::iter(vec![other]),
        })))
    }

    async fn generate_image(&self, request: &ImageRequest) -> Result<ImageResponse, Error> {
        if request.prompt.trim().is_empty() {
            return Err(Error::invalid_input(
                Some("prompt".into()),
                "image prompt is empty",
            ));
        }
        let n = request.n.unwrap_or(1).clamp(1, 4);
        let size = self.image_size.unwrap_or(DEFAULT_SIZE);
        let prompt = request.prompt.clone();
        let images = tokio::task::spawn_blocking(move || {
            (0..n)
                .map(|i| {
                    let key = if i == 0 {
                        prompt.clone()
                    } else {
                        format!("{prompt}#{i}")
                    };
                    render_png(&key, size, size)
                        .map(|png| MediaContent::from_bytes("image/png", png))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|e| Error::Other {
            context: "image rendering task".into(),
            source: Box::new(e),
        })?
        .map_err(|e| Error::Other {
            context: "PNG encoding".into(),
            source: Box::new(e),
        })?;
        let mut resp = ImageResponse::new(images);
        resp.cost = Some(Cost {
            other: IMAGE_PRICE * f64::from(n),
            ..Cost::default()
        });
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;
    use promptkit_core::{ChatRequest, Message, Provider, StreamEvent};

    use super::{MockProvider, MockReply};

    async fn events(p: &MockProvider) -> Vec<StreamEvent> {
        let request = ChatRequest::new(vec![Message::user("hi")]);
        let stream = p.chat_stream(&request).await.unwrap();
        stream.map(Result::unwrap).collect().await
    }

    #[tokio::test]
    async fn streams_a_word_at_a_time_then_done() {
        let p = MockProvider::scripted(vec![MockReply::Text("It is  sunny today.".into())]);
        let events = events(&p).await;
        let deltas: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::TextDelta(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(deltas, ["It ", "is ", " ", "sunny ", "today."]);
        match events.last() {
            Some(StreamEvent::Done(r)) => assert_eq!(r.message.text(), "It is  sunny today."),
            other => panic!("the stream ends with Done, not {other:?}"),
        }
    }

    #[tokio::test]
    async fn streams_tool_calls_whole() {
        let call = ("weather".to_string(), r#"{"city":"Oslo"}"#.to_string());
        let p = MockProvider::scripted(vec![MockReply::ToolCalls(vec![call])]);
        let events = events(&p).await;
        assert!(
            matches!(
                &events[..],
                [StreamEvent::ToolCallDelta { index: 0, name: Some(n), arguments, .. }, StreamEvent::Done(_)]
                    if n == "weather" && arguments == r#"{"city":"Oslo"}"#
            ),
            "{events:?}"
        );
    }

    #[test]
    fn subject_strips_the_request() {
        assert_eq!(
            super::subject("Generate an image of a red fox"),
            "a red fox"
        );
        assert_eq!(super::subject("Draw a cute robot"), "a cute robot");
        assert_eq!(super::subject("a lake"), "a lake");
    }
}
