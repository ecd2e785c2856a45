use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use promptkit_core::Provider;
use promptkit_media_store::MediaStore;
use promptkit_pack::Pack;
use tokio::sync::Semaphore;

use crate::events::{MediaEventCallback, ObservedStore};
use crate::state::{InMemoryStateStore, StateStore};
use crate::tools::{ImageGenerationTool, ToolHandler, ToolRegistry};
use crate::{Conversation, ConversationConfig, Error, ManagerConfig, Result};

/// Shared by a manager and all its conversations.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) provider: Arc<dyn Provider>,
    pub(crate) store: Option<Arc<dyn MediaStore>>,
    pub(crate) state: Arc<dyn StateStore>,
    pub(crate) config: ManagerConfig,
    pub(crate) tools: ToolRegistry,
    pub(crate) limiter: Semaphore,
    packs: RwLock<HashMap<String, Arc<Pack>>>,
}

/// Creates and resumes conversations; holds the provider, the media store, the
/// state store, tool handlers and settings they share. Cheap to clone.
///
/// ```
/// use promptkit_sdk::{ConversationManager, ConversationConfig, ManagerConfig, MockProvider};
/// use promptkit_media_store::FileStore;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let manager = ConversationManager::builder()
///     .provider(MockProvider::new())
///     .media_store(FileStore::builder().with_base_dir(dir.path()).build().unwrap())
///     .config(ManagerConfig { media_size_threshold_kb: 100, ..Default::default() })
///     .build()
///     .unwrap();
/// let pack = manager.register_pack(promptkit_pack::Pack::from_json_str(r#"{
///   "id": "hello", "name": "Hello", "version": "1.0.0",
///   "template_engine": {"version": "v1", "syntax": "{{variable}}"},
///   "prompts": {"chat": {"id": "chat", "name": "chat", "version": "1.0.0",
///     "system_template": "You are helpful."}}
/// }"#).unwrap());
/// let mut conv = manager.new_conversation(&pack, ConversationConfig::new("u1", "s1")).unwrap();
/// let resp = conv.send("hello there").await.unwrap();
/// assert!(resp.content.contains("hello there"));
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct ConversationManager {
    pub(crate) inner: Arc<Inner>,
}

impl ConversationManager {
    /// Starts building a manager.
    pub fn builder() -> ManagerBuilder {
        ManagerBuilder::default()
    }

    /// The settings.
    pub fn config(&self) -> &ManagerConfig {
        &self.inner.config
    }

    /// The media store, if any.
    pub fn media_store(&self) -> Option<&Arc<dyn MediaStore>> {
        self.inner.store.as_ref()
    }

    /// The provider.
    pub fn provider(&self) -> &Arc<dyn Provider> {
        &self.inner.provider
    }

    /// Loads a pack (lenient validation; warnings are logged) and registers it
    /// so conversations using it can be resumed.
    pub fn load_pack(&self, path: impl AsRef<Path>) -> Result<Arc<Pack>> {
        let pack = promptkit_pack::load_pack(path.as_ref())?;
        for w in pack.warnings() {
            tracing::warn!(pack = %path.as_ref().display(), warning = %w, "pack warning");
        }
        Ok(self.register_pack(pack))
    }

    /// Registers an already loaded pack.
    pub fn register_pack(&self, pack: Pack) -> Arc<Pack> {
        let pack = Arc::new(pack);
        if let Ok(mut packs) = self.inner.packs.write() {
            packs.insert(pack.id.clone(), pack.clone());
        }
        pack
    }

    fn pack_by_id(&self, id: &str) -> Option<Arc<Pack>> {
        self.inner.packs.read().ok()?.get(id).cloned()
    }

    /// Starts a conversation with a prompt of `pack`.
    pub fn new_conversation(
        &self,
        pack: &Arc<Pack>,
        config: ConversationConfig,
    ) -> Result<Conversation> {
        Conversation::create(self.inner.clone(), pack.clone(), config)
    }

    async fn saved_state(&self, conversation_id: &str) -> Result<crate::ConversationState> {
        self.inner
            .state
            .load(conversation_id)
            .await?
            .ok_or_else(|| Error::ConversationNotFound {
                id: conversation_id.to_owned(),
            })
    }

    /// Restores a saved conversation from the state store; its pack must have
    /// been loaded with [`ConversationManager::load_pack`] or registered.
    pub async fn resume(&self, conversation_id: &str) -> Result<Conversation> {
        let state = self.saved_state(conversation_id).await?;
        let pack = self.pack_by_id(&state.pack_id).ok_or_else(|| {
            Error::Config(format!(
                "conversation `{conversation_id}` uses pack `{}`, which this manager has not loaded",
                state.pack_id
            ))
        })?;
        Conversation::restore(self.inner.clone(), pack, state)
    }

    /// Deletes a saved conversation: first every media reference its history
    /// holds (content shared with other conversations stays until its last
    /// reference goes), then its state. Returns how many references were
    /// deleted. Running it again after a failure finishes the job: references
    /// already gone are skipped.
    pub async fn delete_conversation(&self, conversation_id: &str) -> Result<usize> {
        let state = self.saved_state(conversation_id).await?;
        let mut deleted = 0;
        let refs = state
            .history
            .iter()
            .flat_map(|m| m.media())
            .filter_map(|m| m.storage_reference.as_ref());
        for reference in refs {
            let store = self.inner.store.as_ref().ok_or_else(|| {
                Error::Config(
                    "history holds stored media but the manager has no media store".into(),
                )
            })?;
            match store.delete(reference).await {
                Ok(()) => deleted += 1,
                Err(promptkit_media_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.inner.state.delete(conversation_id).await?;
        Ok(deleted)
    }

    /// Ids of saved conversations.
    pub async fn list_conversations(&self) -> Result<Vec<String>> {
        self.inner.state.list().await
    }
}

/// Builder of [`ConversationManager`].
///
/// ```
/// use promptkit_sdk::{ConversationManager, Error, FileStateStore, FnTool, ManagerConfig, MockProvider, ToolOutput};
/// # let dir = tempfile::tempdir().unwrap();
/// // Externalization is on by default, and it needs a media store.
/// let err = ConversationManager::builder().provider(MockProvider::new()).build().unwrap_err();
/// assert!(matches!(err, Error::Config(_)));
///
/// let manager = ConversationManager::builder()
///     .provider(MockProvider::new())
///     .config(ManagerConfig { externalize: false, ..Default::default() })
///     .state_store(FileStateStore::new(dir.path()).unwrap())
///     .tool("clock", FnTool::new(|_: serde_json::Value| async { Ok(ToolOutput::text("12:00")) }))
///     .build()
///     .unwrap();
/// assert!(manager.media_store().is_none());
/// assert_eq!(manager.provider().id(), "mock");
/// ```
#[derive(Default)]
pub struct ManagerBuilder {
    provider: Option<Arc<dyn Provider>>,
    store: Option<Arc<dyn MediaStore>>,
    state: Option<Arc<dyn StateStore>>,
    config: ManagerConfig,
    tools: Vec<(String, Arc<dyn ToolHandler>)>,
    image_tools: Vec<(String, Option<Arc<dyn Provider>>)>,
    on_media_event: Option<MediaEventCallback>,
}

impl std::fmt::Debug for ManagerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagerBuilder")
            .field("provider", &self.provider)
            .field("store", &self.store)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ManagerBuilder {
    /// The LLM provider (required).
    pub fn provider(self, provider: impl Provider + 'static) -> Self {
        self.provider_arc(Arc::new(provider))
    }

    /// The LLM provider, shared.
    pub fn provider_arc(mut self, provider: Arc<dyn Provider>) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Where externalized media goes.
    pub fn media_store(self, store: impl MediaStore + 'static) -> Self {
        self.media_store_arc(Arc::new(store))
    }

    /// Where externalized media goes, shared.
    pub fn media_store_arc(mut self, store: Arc<dyn MediaStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Where conversation state is saved after each turn (default: in memory).
    pub fn state_store(mut self, state: impl StateStore + 'static) -> Self {
        self.state = Some(Arc::new(state));
        self
    }

    /// Calls `callback` after every media store, retrieve and delete the
    /// manager's conversations do (sizes, durations, errors); see [`ObservedStore`].
    pub fn on_media_event(
        mut self,
        callback: impl Fn(&crate::MediaEvent) + Send + Sync + 'static,
    ) -> Self {
        self.on_media_event = Some(Arc::new(callback));
        self
    }

    /// Settings.
    pub fn config(mut self, config: ManagerConfig) -> Self {
        self.config = config;
        self
    }

    /// Runs `handler` when the model calls the pack tool `name`.
    pub fn tool(mut self, name: impl Into<String>, handler: impl ToolHandler + 'static) -> Self {
        self.tools.push((name.into(), Arc::new(handler)));
        self
    }

    /// Binds the pack tool `name` to the built-in image-generation tool, backed
    /// by the manager's provider (e.g. the tutorial's `dalle-image-generator`).
    pub fn image_tool(mut self, name: impl Into<String>) -> Self {
        self.image_tools.push((name.into(), None));
        self
    }

    /// Binds the pack tool `name` to image generation by another provider.
    pub fn image_tool_with(mut self, name: impl Into<String>, provider: Arc<dyn Provider>) -> Self {
        self.image_tools.push((name.into(), Some(provider)));
        self
    }

    /// Builds the manager.
    ///
    /// Fails when no provider is set, when `max_concurrent` is 0, or when
    /// externalization is on (the default) without a media store.
    pub fn build(self) -> Result<ConversationManager> {
        let provider = self
            .provider
            .ok_or_else(|| Error::Config("no provider: call .provider(..)".into()))?;
        if self.config.max_concurrent == 0 {
            return Err(Error::Config("max_concurrent must be at least 1".into()));
        }
        if self.config.max_tool_rounds == 0 {
            return Err(Error::Config("max_tool_rounds must be at least 1".into()));
        }
        if self.config.externalize && self.store.is_none() {
            return Err(Error::Config(
                "externalization is on but no media store is configured: add .media_store(..) or set ManagerConfig { externalize: false, .. }".into(),
            ));
        }
        if self.config.release_memory {
            crate::memory::pin_allocator_thresholds();
        }
        let store = match (self.store, self.on_media_event) {
            (Some(s), Some(cb)) => Some(Arc::new(ObservedStore::new(s, cb)) as Arc<dyn MediaStore>),
            (s, _) => s,
        };
        let mut tools = ToolRegistry::default();
        for (name, p) in self.image_tools {
            let p = p.unwrap_or_else(|| provider.clone());
            tools.insert(name, Arc::new(ImageGenerationTool::new(p)));
        }
        for (name, h) in self.tools {
            tools.insert(name, h);
        }
        Ok(ConversationManager {
            inner: Arc::new(Inner {
                limiter: Semaphore::new(self.config.max_concurrent),
                provider,
                store,
                state: self
                    .state
                    .unwrap_or_else(|| Arc::new(InMemoryStateStore::new())),
                config: self.config,
                tools,
                packs: RwLock::new(HashMap::new()),
            }),
        })
    }
}
