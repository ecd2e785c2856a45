/// Result alias for [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the conversation API.
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
    /// The model kept calling tools past the allowed number of rounds.
    #[error("the model was still calling tools after {max_rounds} rounds; the turn was abandoned")]
    ToolRoundsExceeded {
        /// The limit.
        max_rounds: u32,
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

impl Error {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }
}
