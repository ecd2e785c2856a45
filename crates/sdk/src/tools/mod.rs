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
