use std::collections::HashMap;
use std::time::Duration;

use promptkit_media_store::RetentionPolicy;

/// Which stored media is loaded back when history is sent to a provider.
///
/// Media that is not loaded is sent as a short text note naming its type, size
/// and reference, so the model knows it existed. Media of the current turn is
/// always loaded.
///
/// The default is [`CurrentTurn`](RehydrationPolicy::CurrentTurn): an image
/// the model has already seen and answered about is not sent (and billed as
/// input tokens) again with every later request. With gpt-4o a 1024×1024
/// image costs about 765 input tokens each time it is sent, so `Recent(8)`
/// can add over 6,000 tokens to every request of a long image conversation.
/// Ask for more when the model must keep looking at earlier media (follow-up
/// questions about a photo): [`ManagerConfig::rehydration`] for every
/// conversation, [`ConversationConfig::rehydration`] for one.
///
/// ```
/// use promptkit_core::MediaContent;
/// use promptkit_sdk::{ConversationConfig, ConversationManager, ManagerConfig, MockProvider, RehydrationPolicy};
/// # use std::sync::Arc;
/// # use promptkit_media_store::FileStore;
/// /// Sends an image, then a question; returns the media bytes of the second request.
/// async fn second_request_media(policy: RehydrationPolicy) -> usize {
/// #   let dir = tempfile::tempdir().unwrap();
/// #   let provider = Arc::new(MockProvider::new());
///     let config = ManagerConfig { rehydration: policy, media_size_threshold_kb: 0, ..Default::default() };
/// #   let manager = ConversationManager::builder()
/// #       .provider_arc(provider.clone())
/// #       .media_store(FileStore::builder().with_base_dir(dir.path()).build().unwrap())
/// #       .config(config)
/// #       .build()
/// #       .unwrap();
/// #   let pack = manager.register_pack(promptkit_pack::Pack::from_json_str(r#"{
/// #     "id": "hello", "name": "Hello", "version": "1.0.0",
/// #     "template_engine": {"version": "v1", "syntax": "{{variable}}"},
/// #     "prompts": {"chat": {"id": "chat", "name": "chat", "version": "1.0.0",
/// #       "system_template": "You are helpful."}}
/// #   }"#).unwrap());
/// #   let mut conv = manager.new_conversation(&pack, ConversationConfig::new("u1", "s1")).unwrap();
///     let image = MediaContent::from_bytes("image/png", b"\x89PNG\r\n\x1a\n....".to_vec());
///     conv.send_with_media("Look at this", vec![image]).await.unwrap(); // stored after the turn
///     conv.send("What was it?").await.unwrap();
///     provider.requests()[1].inline_media_bytes
/// }
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// assert_eq!(second_request_media(RehydrationPolicy::All).await, 12);
/// // The earlier image is replaced by a note naming it.
/// assert_eq!(second_request_media(RehydrationPolicy::CurrentTurn).await, 0);
/// assert_eq!(RehydrationPolicy::default(), RehydrationPolicy::CurrentTurn);
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RehydrationPolicy {
    /// Every referenced media item is loaded for every request (the model sees
    /// all earlier media; request size grows with the conversation).
    All,
    /// The N most recent media items are loaded: requests stay bounded however
    /// long the conversation grows, and each of them costs its input tokens
    /// again on every request.
    Recent(usize),
    /// Only media of the current turn is loaded (smallest requests, fewest
    /// input tokens). The default.
    #[default]
    CurrentTurn,
}

/// Settings shared by every conversation of a manager.
///
/// Externalization is on whenever a media store is configured: unlike the
/// original design, no field value silently disables it. Set
/// `externalize: false` to keep media inline on purpose.
///
/// ```
/// use promptkit_sdk::ManagerConfig;
/// let cfg = ManagerConfig { media_size_threshold_kb: 64, ..ManagerConfig::default() };
/// assert_eq!(cfg.threshold_bytes(), 64 * 1024);
/// assert!(cfg.externalize);
/// ```
#[derive(Debug, Clone)]
pub struct ManagerConfig {
    /// Media parts of at least this many KiB are moved to the store (0: all media).
    pub media_size_threshold_kb: u64,
    /// Retention policy recorded for externalized media.
    pub media_default_policy: RetentionPolicy,
    /// Time limit of one provider or tool call.
    pub default_timeout: Duration,
    /// Maximum provider calls in flight across all conversations of the manager.
    pub max_concurrent: usize,
    /// Tool-calling rounds per turn, unless the pack's `tool_policy` says otherwise.
    pub max_tool_rounds: u32,
    /// Tool calls per turn, unless the pack's `tool_policy` says otherwise.
    pub max_tool_calls_per_turn: u32,
    /// Whether media is moved to the store (needs a media store).
    pub externalize: bool,
    /// Which stored media is loaded for provider requests (default
    /// [`RehydrationPolicy::CurrentTurn`]; a conversation can override it with
    /// [`ConversationConfig::rehydration`]).
    pub rehydration: RehydrationPolicy,
    /// Whether freed media buffers are given back to the operating system (off
    /// by default: a library does not change the process's allocator unasked).
    /// When on, building the manager fixes glibc's malloc thresholds for the
    /// whole process ([`pin_allocator_thresholds`](crate::pin_allocator_thresholds),
    /// unless the environment configures malloc), and media-heavy turns trim
    /// the allocator ([`release_freed_memory`](crate::release_freed_memory)).
    /// Only Linux with glibc keeps such buffers; elsewhere this does nothing.
    /// See `docs/production.md` for the memory it saves.
    pub release_memory: bool,
    /// Whether a tool call repeating one already made in the same turn (same
    /// tool name, same arguments) runs again (off by default). When off, the
    /// model gets the earlier call's result text instead, and nothing is run
    /// (or paid for) twice: some servers and small models call the same tool
    /// again and again until a turn is abandoned.
    pub rerun_repeated_tool_calls: bool,
}

impl Default for ManagerConfig {
    fn default() -> Self {
        ManagerConfig {
            media_size_threshold_kb: 100,
            media_default_policy: RetentionPolicy::Retain,
            default_timeout: Duration::from_secs(120),
            max_concurrent: 64,
            max_tool_rounds: 8,
            max_tool_calls_per_turn: 16,
            externalize: true,
            rehydration: RehydrationPolicy::default(),
            release_memory: false,
            rerun_repeated_tool_calls: false,
        }
    }
}

impl ManagerConfig {
    /// The threshold in bytes.
    pub fn threshold_bytes(&self) -> u64 {
        self.media_size_threshold_kb.saturating_mul(1024)
    }
}

/// Settings of one conversation.
///
/// ```
/// use promptkit_sdk::ConversationConfig;
/// let cfg = ConversationConfig::new("user-1", "session-1").with_variable("style", "watercolor");
/// assert!(cfg.conversation_id.is_none()); // generated when the conversation is created
/// ```
#[derive(Debug, Clone, Default)]
pub struct ConversationConfig {
    /// End user id.
    pub user_id: Option<String>,
    /// Session id (used by the `BySession` storage layout).
    pub session_id: Option<String>,
    /// Conversation id; a UUID is generated when `None`.
    pub conversation_id: Option<String>,
    /// Run id (batch or evaluation run; used by the `ByRun` layout).
    pub run_id: Option<String>,
    /// Prompt of the pack to use; may be omitted when the pack has one prompt.
    pub prompt_name: Option<String>,
    /// Template variables.
    pub variables: HashMap<String, String>,
    /// Which stored media is loaded for this conversation's requests, instead
    /// of the manager's [`ManagerConfig::rehydration`].
    pub rehydration: Option<RehydrationPolicy>,
}

impl ConversationConfig {
    /// A config for this user and session.
    pub fn new(user_id: impl Into<String>, session_id: impl Into<String>) -> Self {
        ConversationConfig {
            user_id: Some(user_id.into()),
            session_id: Some(session_id.into()),
            ..Self::default()
        }
    }

    /// Sets the prompt name.
    pub fn with_prompt(mut self, name: impl Into<String>) -> Self {
        self.prompt_name = Some(name.into());
        self
    }

    /// Sets the conversation id.
    pub fn with_conversation_id(mut self, id: impl Into<String>) -> Self {
        self.conversation_id = Some(id.into());
        self
    }

    /// Sets the run id.
    pub fn with_run_id(mut self, id: impl Into<String>) -> Self {
        self.run_id = Some(id.into());
        self
    }

    /// Loads stored media for this conversation's requests as `policy` says
    /// (e.g. `Recent(1)` for follow-up questions about the last image).
    ///
    /// ```
    /// use promptkit_sdk::{ConversationConfig, RehydrationPolicy};
    /// let cfg = ConversationConfig::new("u1", "s1").with_rehydration(RehydrationPolicy::Recent(1));
    /// assert_eq!(cfg.rehydration, Some(RehydrationPolicy::Recent(1)));
    /// ```
    pub fn with_rehydration(mut self, policy: RehydrationPolicy) -> Self {
        self.rehydration = Some(policy);
        self
    }

    /// Adds a template variable.
    pub fn with_variable(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.variables.insert(name.into(), value.into());
        self
    }
}
