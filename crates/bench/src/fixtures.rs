//! Packs and tools shared by the benchmarks and the reliability tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use promptkit_core::{ContentPart, MediaContent};
use promptkit_pack::Pack;
use promptkit_sdk::{FnTool, ToolHandler, ToolOutput};

use crate::images::ImagePool;

/// Name of the image tool in [`image_pack`].
pub const IMAGE_TOOL: &str = "image-maker";

/// A pack with one prompt, `images`, that offers the tool [`IMAGE_TOOL`].
///
/// ```
/// let pack = promptkit_bench::fixtures::image_pack();
/// assert!(pack.prompt("images").is_some());
/// ```
pub fn image_pack() -> Pack {
    let json = format!(
        r#"{{
      "id": "bench-images", "name": "Bench images", "version": "1.0.0",
      "template_engine": {{"version": "v1", "syntax": "{{{{variable}}}}"}},
      "prompts": {{"images": {{"id": "images", "name": "images", "version": "1.0.0",
        "system_template": "You make images on request.", "tools": ["{IMAGE_TOOL}"]}}}},
      "tools": {{"{IMAGE_TOOL}": {{"name": "{IMAGE_TOOL}", "description": "Generate an image",
        "parameters": {{"type": "object", "properties": {{"prompt": {{"type": "string"}}}},
        "required": ["prompt"]}}}}}}
    }}"#
    );
    Pack::from_json_str(&json).unwrap_or_else(|e| panic!("the bench image pack is invalid: {e}"))
}

/// A pack with one prompt, `chat`, without tools.
///
/// ```
/// let pack = promptkit_bench::fixtures::chat_pack();
/// assert!(pack.prompt("chat").is_some());
/// ```
pub fn chat_pack() -> Pack {
    Pack::from_json_str(
        r#"{
      "id": "bench-chat", "name": "Bench chat", "version": "1.0.0",
      "template_engine": {"version": "v1", "syntax": "{{variable}}"},
      "prompts": {"chat": {"id": "chat", "name": "chat", "version": "1.0.0",
        "system_template": "You are a helpful assistant."}}
    }"#,
    )
    .unwrap_or_else(|e| panic!("the bench chat pack is invalid: {e}"))
}

/// A tool returning one distinct image from `pool` per call (a fresh
/// allocation each time, like a decoded provider response), plus a short text.
///
/// ```
/// use promptkit_bench::{fixtures::pool_image_tool, images::ImagePool};
/// use promptkit_sdk::ToolHandler;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let tool = pool_image_tool(ImagePool::new(1024, 3));
/// let out = tool.call(serde_json::json!({"prompt": "x"})).await.unwrap();
/// assert_eq!(out.parts.len(), 2);
/// # });
/// ```
pub fn pool_image_tool(pool: ImagePool) -> impl ToolHandler + 'static {
    let pool = Arc::new(pool);
    let counter = Arc::new(AtomicU64::new(0));
    FnTool::new(move |_args: serde_json::Value| {
        let pool = Arc::clone(&pool);
        let i = counter.fetch_add(1, Ordering::Relaxed);
        async move {
            let image = MediaContent::from_bytes("image/png", pool.image(i));
            Ok(ToolOutput::parts(vec![
                ContentPart::text(format!("image {i} generated")),
                ContentPart::media(image),
            ]))
        }
    })
}

/// A minimal offline chat provider for memory measurements: it answers a
/// user message by calling [`IMAGE_TOOL`] and a tool result with a short
/// text. Unlike `MockProvider` it records nothing, so the memory measured is
/// the conversation's alone.
///
/// ```
/// use promptkit_bench::fixtures::ImageChat;
/// use promptkit_core::{ChatRequest, Message, Provider};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let r = ImageChat.chat(&ChatRequest::new(vec![Message::user("draw")])).await.unwrap();
/// assert_eq!(r.message.tool_calls.len(), 1);
/// # });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ImageChat;

#[async_trait::async_trait]
impl promptkit_core::Provider for ImageChat {
    fn id(&self) -> &str {
        "image-chat"
    }

    async fn chat(
        &self,
        request: &promptkit_core::ChatRequest,
    ) -> Result<promptkit_core::ChatResponse, promptkit_core::Error> {
        use promptkit_core::{ChatResponse, Message, Role, ToolCall};
        let n = request.messages.len();
        let message = match request.messages.last().map(|m| m.role) {
            Some(Role::Tool) => Message::assistant("Here is your picture."),
            _ => Message::assistant_tool_calls(
                None,
                vec![ToolCall::new(
                    format!("call_{n}"),
                    IMAGE_TOOL,
                    r#"{"prompt":"a picture"}"#,
                )],
            ),
        };
        Ok(ChatResponse::new(message, "image-chat"))
    }
}

/// A state store that keeps nothing: lets a measurement separate the memory
/// of a conversation's history from the copy the default in-memory state
/// store keeps.
///
/// ```
/// use promptkit_bench::fixtures::NullState;
/// use promptkit_sdk::StateStore;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// assert!(NullState.load("x").await.unwrap().is_none());
/// # });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct NullState;

#[async_trait::async_trait]
impl promptkit_sdk::StateStore for NullState {
    async fn save(&self, _state: &promptkit_sdk::ConversationState) -> promptkit_sdk::Result<()> {
        Ok(())
    }

    async fn load(
        &self,
        _conversation_id: &str,
    ) -> promptkit_sdk::Result<Option<promptkit_sdk::ConversationState>> {
        Ok(None)
    }

    async fn delete(&self, _conversation_id: &str) -> promptkit_sdk::Result<()> {
        Ok(())
    }

    async fn list(&self) -> promptkit_sdk::Result<Vec<String>> {
        Ok(Vec::new())
    }
}
