/// Result alias for [`Error`].
///
/// ```
/// use promptkit_sdk::{Conversation, Result};
///
/// /// Asks one question and returns the answer.
/// async fn ask(conv: &mut Conversation, question: &str) -> Result<String> {
///     let resp = conv.send(question).await?;
///     Ok(resp.content)
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
/// assert!(ask(&mut conv, "hello").await.unwrap().contains("hello"));
/// assert!(ask(&mut conv, "").await.is_err()); // an empty message is refused
/// # });
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the conversation API.
///
/// ```
/// use promptkit_sdk::{ConversationConfig, Error, MockProvider, MockReply};
/// # use promptkit_sdk::{ConversationManager, ManagerConfig};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let manager = ConversationManager::builder()
/// #     .provider(MockProvider::scripted(vec![MockReply::Fail(503)]))
/// #     .config(ManagerConfig { externalize: false, ..Default::default() })
/// #     .build()
/// #     .unwrap();
/// # let pack = manager.register_pack(promptkit_pack::Pack::from_json_str(r#"{
/// #   "id": "hello", "name": "Hello", "version": "1.0.0",
/// #   "template_engine": {"version": "v1", "syntax": "{{variable}}"},
/// #   "prompts": {"chat": {"id": "chat", "name": "chat", "version": "1.0.0",
/// #     "system_template": "You are helpful."}}
/// # }"#).unwrap());
/// // The provider is scripted to fail its first call with HTTP 503.
/// let mut conv = manager.new_conversation(&pack, ConversationConfig::new("u1", "s1")).unwrap();
/// match conv.send("hello").await {
///     Err(Error::Provider(e)) => assert!(e.is_transient()), // worth a retry
///     other => panic!("expected a provider error, got {other:?}"),
/// }
/// let missing = manager.resume("no-such-conversation").await.unwrap_err();
/// assert!(matches!(missing, Error::ConversationNotFound { id } if id == "no-such-conversation"));
/// let bad = ConversationConfig::new("u1", "s1").with_prompt("nope");
/// let err = manager.new_conversation(&pack, bad).unwrap_err();
/// assert!(matches!(err, Error::PromptNotFound { .. }));
/// assert_eq!(err.to_string(), "prompt `nope` not found in pack `hello` (available: chat)");
/// # });
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Loading, validating or rendering the pack failed.
    #[error(transparent)]
    Pack(#[from] promptkit_pack::Error),
    /// The provider failed (see [`promptkit_core::Error::is_transient`]).
    #[error(transparent)]
    Provider(#[from] promptkit_core::Error),
    /// The media store failed.
    #[error(transparent)]
    Store(#[from] promptkit_media_store::Error),
    /// Bad input from the caller.
    #[error("invalid input ({field}): {message}")]
    InvalidInput {
        /// The argument or field at fault.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The manager is misconfigured.
    #[error("configuration error: {0}")]
    Config(String),
    /// The pack has no prompt of that name.
    #[error("prompt `{name}` not found in pack `{pack}` (available: {available})")]
    PromptNotFound {
        /// Requested prompt.
        name: String,
        /// Pack id.
        pack: String,
        /// Prompt names the pack has.
        available: String,
    },
    /// The model kept calling tools past the allowed number of rounds. The
    /// turn is not added to history, but what it cost is reported here and
    /// counted in the conversation's totals
    /// ([`Conversation::total_cost`](crate::Conversation::total_cost)).
    #[error(
        "the model was still calling tools after {max_rounds} rounds; the turn was abandoned \
         after {tool_calls} tool call(s), {} input + {} output tokens, cost ${:.4}{}",
        usage.prompt_tokens,
        usage.completion_tokens,
        cost.total(),
        stored_note(stored_media)
    )]
    ToolRoundsExceeded {
        /// The limit.
        max_rounds: u32,
        /// Tool calls the turn made (run, failed or refused).
        tool_calls: usize,
        /// Tokens the turn used: every provider call and the tools' own usage.
        usage: promptkit_core::Usage,
        /// What the turn cost (provider calls and tools, e.g. generated images).
        cost: promptkit_core::Cost,
        /// Media the tools made that was stored before the turn was abandoned
        /// (no history refers to it; delete it or show it).
        stored_media: Vec<crate::StoredMedia>,
    },
    /// A response validator with `fail_on_violation` rejected the reply.
    #[error("response rejected by validator `{validator}`: {message}")]
    Validation {
        /// Validator type.
        validator: String,
        /// What was violated.
        message: String,
    },
    /// No saved conversation with that id.
    #[error("conversation `{id}` not found in the state store")]
    ConversationNotFound {
        /// The id.
        id: String,
    },
    /// The state store failed.
    #[error("state store error: {message}")]
    State {
        /// What failed.
        message: String,
    },
}

fn stored_note(stored: &[crate::StoredMedia]) -> String {
    match stored.len() {
        0 => String::new(),
        n => format!("; {n} stored media item(s) of the turn are in no history"),
    }
}

impl Error {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }
}
