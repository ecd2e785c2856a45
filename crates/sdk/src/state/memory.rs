use std::collections::HashMap;

use async_trait::async_trait;
use tokio::sync::RwLock;

use super::{ConversationState, StateStore};
use crate::Result;

/// Keeps state in memory (the default; lost when the process exits).
///
/// ```
/// use promptkit_sdk::{InMemoryStateStore, StateStore};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let s = InMemoryStateStore::new();
/// assert!(s.load("nope").await.unwrap().is_none());
/// # });
/// ```
#[derive(Debug, Default)]
pub struct InMemoryStateStore {
    states: RwLock<HashMap<String, ConversationState>>,
}

impl InMemoryStateStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl StateStore for InMemoryStateStore {
    async fn save(&self, state: &ConversationState) -> Result<()> {
        self.states
            .write()
            .await
            .insert(state.conversation_id.clone(), state.clone());
        Ok(())
    }

    async fn load(&self, id: &str) -> Result<Option<ConversationState>> {
        Ok(self.states.read().await.get(id).cloned())
    }

    async fn delete(&self, id: &str) -> Result<()> {
        self.states.write().await.remove(id);
        Ok(())
    }

    async fn list(&self) -> Result<Vec<String>> {
        let mut ids: Vec<_> = self.states.read().await.keys().cloned().collect();
        ids.sort();
        Ok(ids)
    }
}
