//! Tool handlers the SDK runs when the model calls a tool.

mod image;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use promptkit_core::{ContentPart, Cost, Usage};

pub use image::ImageGenerationTool;

/// What a tool returns: content parts (text and/or media) for the tool message.
///
/// ```
/// use promptkit_core::{ContentPart, Cost, MediaContent};
/// use promptkit_sdk::{FnTool, ToolOutput};
/// # use promptkit_sdk::{ConversationConfig, ConversationManager, ManagerConfig, MockProvider, MockReply};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let chart = FnTool::new(|_: serde_json::Value| async {
///     let png = MediaContent::from_bytes("image/png", b"\x89PNG\r\n\x1a\n....".to_vec());
///     let parts = vec![ContentPart::text("Sales by month:"), ContentPart::media(png)];
///     Ok(ToolOutput::parts(parts).with_cost(Cost { other: 0.25, ..Cost::default() }))
/// });
/// # let provider = MockProvider::scripted(vec![
/// #     MockReply::ToolCalls(vec![("chart".into(), r#"{"metric":"sales"}"#.into())]),
/// #     MockReply::Text("Here is the chart.".into()),
/// # ]);
/// # let manager = ConversationManager::builder()
/// #     .provider(provider)
/// #     .tool("chart", chart)
/// #     .config(ManagerConfig { externalize: false, ..Default::default() })
/// #     .build()
/// #     .unwrap();
/// # let pack = manager.register_pack(promptkit_pack::Pack::from_json_str(r#"{
/// #   "id": "charts", "name": "Charts", "version": "1.0.0",
/// #   "template_engine": {"version": "v1", "syntax": "{{variable}}"},
/// #   "prompts": {"chat": {"id": "chat", "name": "chat", "version": "1.0.0",
/// #     "system_template": "You draw charts.", "tools": ["chart"]}},
/// #   "tools": {"chart": {"name": "chart", "description": "Chart a metric",
/// #     "parameters": {"type": "object", "properties": {"metric": {"type": "string"}},
/// #     "required": ["metric"]}}}
/// # }"#).unwrap());
/// # let mut conv = manager.new_conversation(&pack, ConversationConfig::new("u1", "s1")).unwrap();
/// // The manager runs `chart` when the model calls it (`.tool("chart", chart)`).
/// let resp = conv.send("Chart the sales").await.unwrap();
/// let tool_message = &resp.messages[2]; // after the user message and the call
/// assert_eq!(tool_message.text(), "Sales by month:");
/// assert_eq!(tool_message.media().count(), 1);
/// assert_eq!(resp.cost.other, 0.25); // the tool's cost counts in the turn's
/// # });
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ToolOutput {
    /// Parts of the tool result message.
    pub parts: Vec<ContentPart>,
    /// Usage the tool incurred (e.g. an image model's tokens).
    pub usage: Usage,
    /// Cost the tool incurred.
    pub cost: Option<Cost>,
}

impl ToolOutput {
    /// A text result.
    pub fn text(text: impl Into<String>) -> Self {
        ToolOutput {
            parts: vec![ContentPart::text(text)],
            ..Self::default()
        }
    }

    /// A result with these parts.
    pub fn parts(parts: Vec<ContentPart>) -> Self {
        ToolOutput {
            parts,
            ..Self::default()
        }
    }

    /// Sets the cost.
    pub fn with_cost(mut self, cost: Cost) -> Self {
        self.cost = Some(cost);
        self
    }
}

/// A tool failure. It is reported to the model as the tool's result (so the
/// model can recover), never raised as a crash of the turn.
///
/// ```
/// use promptkit_sdk::{FnTool, ToolError, ToolOutput};
/// # use promptkit_sdk::{ConversationConfig, ConversationManager, ManagerConfig, MockProvider, MockReply};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let weather = FnTool::new(|args: serde_json::Value| async move {
///     match args["city"].as_str() {
///         Some("Oslo") => Ok(ToolOutput::text("12°C")),
///         Some(city) => Err(ToolError(format!("no forecast for {city}"))),
///         None => Err(ToolError::from("`city` is required")),
///     }
/// });
/// # let provider = MockProvider::scripted(vec![
/// #     MockReply::ToolCalls(vec![("weather".into(), r#"{"city":"Atlantis"}"#.into())]),
/// #     MockReply::Text("Sorry, I have no forecast for Atlantis.".into()),
/// # ]);
/// # let manager = ConversationManager::builder()
/// #     .provider(provider)
/// #     .tool("weather", weather)
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
/// // The model calls `weather` for Atlantis; the turn still succeeds.
/// let resp = conv.send("Weather in Atlantis?").await.unwrap();
/// assert_eq!(resp.messages[2].text(), "error: no forecast for Atlantis"); // what the model saw
/// assert_eq!(resp.content, "Sorry, I have no forecast for Atlantis.");
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolError(pub String);

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ToolError {}

impl From<String> for ToolError {
    fn from(s: String) -> Self {
        ToolError(s)
    }
}

impl From<&str> for ToolError {
    fn from(s: &str) -> Self {
        ToolError(s.to_owned())
    }
}

/// Runs one tool. Arguments arrive parsed; invalid JSON from the model never
/// reaches a handler (the model is told instead).
///
/// ```
/// use async_trait::async_trait;
/// use promptkit_sdk::{ToolError, ToolHandler, ToolOutput};
/// # use promptkit_sdk::{ConversationConfig, ConversationManager, ManagerConfig, MockProvider, MockReply};
/// struct Weather;
///
/// #[async_trait]
/// impl ToolHandler for Weather {
///     async fn call(&self, args: serde_json::Value) -> Result<ToolOutput, ToolError> {
///         let city = args["city"].as_str().ok_or("`city` is required")?;
///         Ok(ToolOutput::text(format!("12°C in {city}")))
///     }
/// }
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let provider = MockProvider::scripted(vec![
/// #     MockReply::ToolCalls(vec![("weather".into(), r#"{"city":"Oslo"}"#.into())]),
/// #     MockReply::Text("It is 12°C in Oslo.".into()),
/// # ]);
/// let manager = ConversationManager::builder()
///     .tool("weather", Weather) // the pack's tool `weather`
/// #   .provider(provider)
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
/// let resp = conv.send("Weather in Oslo?").await.unwrap();
/// assert_eq!(&*resp.tool_calls[0].name, "weather");
/// assert_eq!(resp.messages[2].text(), "12°C in Oslo");
/// # });
/// ```
#[async_trait]
pub trait ToolHandler: Send + Sync {
    /// Runs the tool with the model's arguments.
    async fn call(&self, arguments: serde_json::Value) -> Result<ToolOutput, ToolError>;
}

/// A [`ToolHandler`] from an async closure.
///
/// ```
/// use promptkit_sdk::{FnTool, ToolHandler, ToolOutput};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let add = FnTool::new(|args: serde_json::Value| async move {
///     let a = args["a"].as_i64().ok_or("a must be an integer")?;
///     let b = args["b"].as_i64().ok_or("b must be an integer")?;
///     Ok(ToolOutput::text((a + b).to_string()))
/// });
/// let out = add.call(serde_json::json!({"a": 2, "b": 3})).await.unwrap();
/// assert_eq!(out, ToolOutput::text("5"));
/// assert!(add.call(serde_json::json!({"a": "x"})).await.is_err());
/// # });
/// ```
pub struct FnTool<F>(F);

impl<F> FnTool<F> {
    /// Wraps `f`.
    pub fn new(f: F) -> Self {
        FnTool(f)
    }
}

#[async_trait]
impl<F, Fut> ToolHandler for FnTool<F>
where
    F: Fn(serde_json::Value) -> Fut + Send + Sync,
    Fut: Future<Output = Result<ToolOutput, ToolError>> + Send,
{
    async fn call(&self, arguments: serde_json::Value) -> Result<ToolOutput, ToolError> {
        (self.0)(arguments).await
    }
}

/// Handlers by tool name.
#[derive(Clone, Default)]
pub(crate) struct ToolRegistry {
    handlers: HashMap<String, Arc<dyn ToolHandler>>,
}

impl fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<_> = self.handlers.keys().collect();
        names.sort();
        f.debug_struct("ToolRegistry")
            .field("tools", &names)
            .finish()
    }
}

impl ToolRegistry {
    pub(crate) fn insert(&mut self, name: String, handler: Arc<dyn ToolHandler>) {
        self.handlers.insert(name, handler);
    }

    pub(crate) fn get(&self, name: &str) -> Option<Arc<dyn ToolHandler>> {
        self.handlers.get(name).cloned()
    }
}
