use std::sync::Arc;
use std::time::Duration;

use promptkit_core::{Cost, Message, StorageReference, ToolCall, Usage};
use serde::{Deserialize, Serialize};

/// A media item moved to the store during a turn.
///
/// ```
/// use promptkit_core::MediaContent;
/// use promptkit_sdk::{ConversationConfig, ConversationManager, ManagerConfig, MockProvider};
/// # use promptkit_media_store::FileStore;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let manager = ConversationManager::builder()
///     .provider(MockProvider::new())
///     .media_store(FileStore::builder().with_base_dir(dir.path()).build().unwrap())
///     .config(ManagerConfig { media_size_threshold_kb: 1, ..Default::default() })
///     .build()
///     .unwrap();
/// # let pack = manager.register_pack(promptkit_pack::Pack::from_json_str(r#"{
/// #   "id": "hello", "name": "Hello", "version": "1.0.0",
/// #   "template_engine": {"version": "v1", "syntax": "{{variable}}"},
/// #   "prompts": {"chat": {"id": "chat", "name": "chat", "version": "1.0.0",
/// #     "system_template": "You are helpful."}}
/// # }"#).unwrap());
/// let mut conv = manager.new_conversation(&pack, ConversationConfig::new("u1", "s1")).unwrap();
/// let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
/// png.resize(4096, 0); // 4 KiB: above the 1 KiB threshold
/// let image = MediaContent::from_bytes("image/png", png);
/// let resp = conv.send_with_media("What is this?", vec![image]).await.unwrap();
/// let stored = &resp.stored_media[0];
/// assert_eq!((stored.mime_type.as_str(), stored.size_bytes), ("image/png", 4096));
/// // The user message (index 0) now holds the reference in its second part.
/// let part = &conv.history()[stored.message_index].parts[stored.part_index];
/// assert_eq!(part.as_media().unwrap().storage_reference.as_ref(), Some(&stored.reference));
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMedia {
    /// The reference now held in history.
    pub reference: StorageReference,
    /// MIME type.
    pub mime_type: String,
    /// Size in bytes of the media (no longer held in memory).
    pub size_bytes: u64,
    /// Index of the message in the conversation history.
    pub message_index: usize,
    /// Index of the part in that message.
    pub part_index: usize,
}

/// The result of one turn ([`crate::Conversation::send`]).
///
/// ```
/// use promptkit_core::Role;
/// # use promptkit_sdk::{ConversationConfig, ConversationManager, ManagerConfig, MockProvider};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let manager = ConversationManager::builder()
/// #     .provider(MockProvider::new())
/// #     .config(ManagerConfig { externalize: false, ..Default::default() })
/// #     .build()
/// #     .unwrap();
/// # let pack = manager.register_pack(promptkit_pack::Pack::from_json_str(r#"{
/// #   "id": "hello", "name": "Hello", "version": "1.0.0",
/// #   "template_engine": {"version": "v1", "syntax": "{{variable}}"},
/// #   "prompts": {"chat": {"id": "chat", "name": "chat", "version": "1.0.0",
/// #     "system_template": "You are helpful."}}
/// # }"#).unwrap());
/// # let mut conv = manager.new_conversation(&pack, ConversationConfig::new("u1", "s1")).unwrap();
/// let resp = conv.send("hello").await.unwrap();
/// assert!(resp.content.contains("hello"));
/// // The turn added the user message and the reply to history.
/// let roles: Vec<Role> = resp.messages.iter().map(|m| m.role).collect();
/// assert_eq!(roles, [Role::User, Role::Assistant]);
/// assert!(resp.tool_calls.is_empty() && resp.warnings.is_empty());
/// // The mock provider prices its estimated tokens, so costs show offline too.
/// assert!(resp.usage.prompt_tokens > 0 && resp.cost.total() > 0.0);
/// assert_eq!(conv.total_usage(), resp.usage); // the first turn
/// # });
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Response {
    /// The final assistant text.
    pub content: String,
    /// The messages this turn added to history (user, assistant, tool), with
    /// externalized media already replaced by references.
    pub messages: Vec<Arc<Message>>,
    /// Every tool call the model made during the turn.
    pub tool_calls: Vec<ToolCall>,
    /// Token usage summed over the turn's provider calls.
    pub usage: Usage,
    /// Cost summed over provider calls and tools (e.g. image generation).
    pub cost: Cost,
    /// Wall-clock time of the turn.
    pub latency: Duration,
    /// Media moved to the store during this turn.
    pub stored_media: Vec<StoredMedia>,
    /// Non-fatal problems (e.g. the store failed, so media stayed inline; a
    /// validator without `fail_on_violation` flagged the reply).
    pub warnings: Vec<String>,
}

impl Response {
    /// The storage references created in this turn.
    pub fn storage_references(&self) -> impl Iterator<Item = &StorageReference> {
        self.stored_media.iter().map(|m| &m.reference)
    }

    /// Media bytes this turn still holds inline (0 when everything was externalized).
    pub fn inline_media_bytes(&self) -> usize {
        self.messages.iter().map(|m| m.inline_media_bytes()).sum()
    }
}

/// Events of a streamed turn ([`crate::Conversation::stream`]).
///
/// ```
/// use futures::StreamExt;
/// use promptkit_sdk::{ConversationEvent, FnTool, MockProvider, MockReply, ToolOutput};
/// # use promptkit_sdk::{ConversationConfig, ConversationManager, ManagerConfig};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let provider = MockProvider::scripted(vec![
///     MockReply::ToolCalls(vec![("weather".into(), r#"{"city":"Oslo"}"#.into())]),
///     MockReply::Text("It is 12°C in Oslo.".into()),
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
/// let (mut text, mut tools) = (String::new(), Vec::new());
/// let mut events = Box::pin(conv.stream("Weather in Oslo?"));
/// while let Some(event) = events.next().await {
///     match event.unwrap() {
///         ConversationEvent::TextDelta(delta) => text.push_str(&delta),
///         ConversationEvent::ToolCall(call) => tools.push(call.name.to_string()),
///         ConversationEvent::ToolResult { error, .. } => assert!(error.is_none()),
///         ConversationEvent::Done(resp) => assert_eq!(resp.content, text),
///         _ => {}
///     }
/// }
/// assert_eq!((text.as_str(), tools), ("It is 12°C in Oslo.", vec!["weather".to_string()]));
/// # });
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConversationEvent {
    /// More assistant text.
    TextDelta(String),
    /// The model asked for a tool (arguments complete).
    ToolCall(ToolCall),
    /// A tool finished; `error` is set when it failed (the model is told).
    ToolResult {
        /// The call id.
        call_id: String,
        /// Tool name.
        name: String,
        /// Error text, when the tool failed.
        error: Option<String>,
    },
    /// The turn finished.
    Done(Box<Response>),
}

/// How much memory a conversation's history holds.
///
/// ```
/// # use promptkit_core::MediaContent;
/// # use promptkit_media_store::FileStore;
/// # use promptkit_sdk::{ConversationConfig, ConversationManager, ManagerConfig, MockProvider};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let dir = tempfile::tempdir().unwrap();
/// # let manager = ConversationManager::builder()
/// #     .provider(MockProvider::new())
/// #     .media_store(FileStore::builder().with_base_dir(dir.path()).build().unwrap())
/// #     .config(ManagerConfig { media_size_threshold_kb: 1, ..Default::default() })
/// #     .build()
/// #     .unwrap();
/// # let pack = manager.register_pack(promptkit_pack::Pack::from_json_str(r#"{
/// #   "id": "hello", "name": "Hello", "version": "1.0.0",
/// #   "template_engine": {"version": "v1", "syntax": "{{variable}}"},
/// #   "prompts": {"chat": {"id": "chat", "name": "chat", "version": "1.0.0",
/// #     "system_template": "You are helpful."}}
/// # }"#).unwrap());
/// # let mut conv = manager.new_conversation(&pack, ConversationConfig::new("u1", "s1")).unwrap();
/// let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
/// png.resize(64 * 1024, 0);
/// let image = MediaContent::from_bytes("image/png", png);
/// conv.send_with_media("Keep this", vec![image]).await.unwrap();
/// let stats = conv.memory_stats();
/// assert_eq!((stats.messages, stats.media_parts, stats.externalized_parts), (2, 1, 1));
/// // History stands for 64 KiB of media but holds only a short reference.
/// assert_eq!(stats.represented_media_bytes, 64 * 1024);
/// assert_eq!(stats.inline_media_bytes, 0);
/// assert!(stats.reference_bytes > 0 && stats.reference_bytes < 1024);
/// # });
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryStats {
    /// Messages in history.
    pub messages: usize,
    /// Media parts in history.
    pub media_parts: usize,
    /// Media parts that are references to the store.
    pub externalized_parts: usize,
    /// Bytes of media held inline.
    pub inline_media_bytes: usize,
    /// Heap bytes of the storage references held.
    pub reference_bytes: usize,
    /// Bytes of media the history stands for (inline + externalized).
    pub represented_media_bytes: u64,
}
