use std::sync::Arc;

use async_trait::async_trait;
use promptkit_core::{ContentPart, ImageRequest, Provider};

use super::{ToolError, ToolHandler, ToolOutput};

/// A tool backed by a provider's image generation (e.g. the tutorial's
/// `dalle-image-generator`). Arguments: `prompt` (required), and optionally
/// `size`, `quality`, `model`, `output_format`, `background`, `n`.
///
/// The result is a tool message with a short text and the image(s) as media
/// parts, which the SDK externalizes like any other media.
///
/// ```
/// use std::sync::Arc;
/// use promptkit_sdk::{ImageGenerationTool, MockProvider, ToolHandler};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let tool = ImageGenerationTool::new(Arc::new(MockProvider::new().with_image_size(16)));
/// let out = tool.call(serde_json::json!({"prompt": "a lighthouse"})).await.unwrap();
/// assert_eq!(out.parts.len(), 2); // text + image
/// assert!(tool.call(serde_json::json!({"size": "1024x1024"})).await.is_err());
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct ImageGenerationTool {
    provider: Arc<dyn Provider>,
    model: Option<String>,
}

impl ImageGenerationTool {
    /// A tool that asks `provider` for images.
    pub fn new(provider: Arc<dyn Provider>) -> Self {
        ImageGenerationTool {
            provider,
            model: None,
        }
    }

    /// Uses this image model unless the model's arguments name one.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }
}

fn opt_str(args: &serde_json::Value, key: &str) -> Result<Option<String>, ToolError> {
    match args.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ToolError(format!("`{key}` must be a string, got {other}"))),
    }
}

#[async_trait]
impl ToolHandler for ImageGenerationTool {
    async fn call(&self, args: serde_json::Value) -> Result<ToolOutput, ToolError> {
        let prompt = opt_str(&args, "prompt")?
            .filter(|p| !p.trim().is_empty())
            .ok_or_else(|| ToolError("missing required argument `prompt`".into()))?;
        let mut req = ImageRequest::new(prompt.clone());
        req.size = opt_str(&args, "size")?;
        req.quality = opt_str(&args, "quality")?;
        req.output_format = opt_str(&args, "output_format")?;
        req.background = opt_str(&args, "background")?;
        req.model = opt_str(&args, "model")?.or_else(|| self.model.clone());
        req.n = match args.get("n") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| (1..=10).contains(n))
                    .ok_or_else(|| ToolError(format!("`n` must be an integer 1..=10, got {v}")))?,
            ),
        };
        let resp = self
            .provider
            .generate_image(&req)
            .await
            .map_err(|e| ToolError(format!("image generation failed: {e}")))?;
        if resp.images.is_empty() {
            return Err(ToolError("image generation returned no image".into()));
        }
        let used = resp.revised_prompt.as_deref().unwrap_or(&prompt);
        let mut parts = vec![ContentPart::text(format!(
            "Generated {} image(s) for prompt: {used}",
            resp.images.len()
        ))];
        parts.extend(resp.images.into_iter().map(ContentPart::media));
        Ok(ToolOutput {
            parts,
            usage: resp.usage,
            cost: resp.cost,
        })
    }
}
