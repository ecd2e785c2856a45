//! Conversation state: what is saved after each turn so a conversation can be
//! resumed later, possibly by another process.
//!
//! History holds only references for externalized media, so a saved
//! conversation with a hundred images is a few kilobytes.

mod file;
mod memory;
#[cfg(feature = "redis")]
mod redis;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use promptkit_core::{Cost, Message, Usage};
use serde::{Deserialize, Serialize};

pub use file::FileStateStore;
pub use memory::InMemoryStateStore;
#[cfg(feature = "redis")]
pub use redis::RedisStateStore;

use crate::Result;

/// Everything needed to resume a conversation.
///
/// ```
/// use promptkit_sdk::ConversationState;
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
/// let config = ConversationConfig::new("u1", "s1").with_variable("tone", "formal");
/// let mut conv = manager.new_conversation(&pack, config).unwrap();
/// conv.send("hello").await.unwrap();
/// let state = conv.state();
/// assert_eq!((state.pack_id.as_str(), state.prompt_name.as_str()), ("hello", "chat"));
/// assert_eq!(state.user_id.as_deref(), Some("u1"));
/// assert_eq!(state.variables["tone"], "formal");
/// assert_eq!(state.history.len(), 2); // no system prompt: it is rendered from the pack
/// // It serializes to JSON, e.g. for a custom store.
/// let json = serde_json::to_string(&state).unwrap();
/// let back: ConversationState = serde_json::from_str(&json).unwrap();
/// assert_eq!((back.conversation_id, back.history), (state.conversation_id, state.history));
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConversationState {
    /// Conversation id.
    pub conversation_id: String,
    /// Session id.
    #[serde(default)]
    pub session_id: Option<String>,
    /// User id.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Run id.
    #[serde(default)]
    pub run_id: Option<String>,
    /// Id of the pack the conversation runs.
    pub pack_id: String,
    /// Prompt of the pack.
    pub prompt_name: String,
    /// Template variables.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// History (system prompt excluded; it is rendered from the pack).
    /// The list itself is shared with the live conversation (each turn
    /// makes a new one), so keeping state in memory costs nothing more.
    pub history: Arc<[Arc<Message>]>,
    /// Usage so far.
    #[serde(default)]
    pub usage: Usage,
    /// Cost so far.
    #[serde(default)]
    pub cost: Cost,
}

/// Where conversation state is kept. Small required trait: save, load, delete, list.
///
/// ```
/// use promptkit_sdk::{FileStateStore, InMemoryStateStore, Result, StateStore};
///
/// /// Copies every saved conversation from one store to another.
/// async fn copy_all(from: &dyn StateStore, to: &dyn StateStore) -> Result<usize> {
///     let ids = from.list().await?;
///     for id in &ids {
///         if let Some(state) = from.load(id).await? {
///             to.save(&state).await?;
///         }
///     }
///     Ok(ids.len())
/// }
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
/// # conv.send("hello").await.unwrap();
/// let live = InMemoryStateStore::new();
/// live.save(&conv.state()).await.unwrap();
/// let dir = tempfile::tempdir().unwrap();
/// let archive = FileStateStore::new(dir.path()).unwrap();
/// assert_eq!(copy_all(&live, &archive).await.unwrap(), 1);
/// let saved = archive.load(conv.id()).await.unwrap().unwrap();
/// assert_eq!(saved.history, conv.state().history);
/// archive.delete(conv.id()).await.unwrap();
/// assert!(archive.list().await.unwrap().is_empty());
/// # });
/// ```
#[async_trait]
pub trait StateStore: Send + Sync + std::fmt::Debug {
    /// Saves (replaces) a conversation's state.
    async fn save(&self, state: &ConversationState) -> Result<()>;
    /// Loads a conversation's state, `None` when unknown.
    async fn load(&self, conversation_id: &str) -> Result<Option<ConversationState>>;
    /// Deletes a conversation's state (no error when unknown).
    async fn delete(&self, conversation_id: &str) -> Result<()>;
    /// Ids of all saved conversations.
    async fn list(&self) -> Result<Vec<String>>;
}

/// Checks a conversation id: 1–128 characters of `A-Z a-z 0-9 . _ -`, not starting with `.`.
pub(crate) fn validate_id(field: &str, id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(crate::Error::invalid(
            field,
            format!(
                "`{}` is not a valid id: use 1-128 characters of A-Z a-z 0-9 . _ - (not starting with .)",
                id.escape_debug()
            ),
        ))
    }
}
