use std::sync::Arc;
use std::time::Duration;

use promptkit_core::{Cost, Message, StorageReference, ToolCall, Usage};
use serde::{Deserialize, Serialize};

/// A media item moved to the store during a turn.
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
