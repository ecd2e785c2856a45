use std::time::Duration;

/// Result alias for [`Error`].
///
/// ```
/// use promptkit_core::{Error, Result};
/// fn non_empty(prompt: &str) -> Result<&str> {
///     if prompt.is_empty() {
///         return Err(Error::invalid_input(Some("prompt".into()), "must not be empty"));
///     }
///     Ok(prompt)
/// }
/// assert_eq!(non_empty("hi").unwrap(), "hi");
/// assert_eq!(non_empty("").unwrap_err().to_string(), "invalid input (prompt): must not be empty");
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors shared by providers and the types of this crate.
///
/// Callers branch on the variant: retry a [`Error::Transient`], surface a
/// [`Error::Provider`] with its status, fix the input of an [`Error::InvalidInput`].
///
/// ```
/// use std::time::Duration;
/// use promptkit_core::Error;
/// let err = Error::invalid_input(None, "empty media");
/// assert_eq!(err.to_string(), "invalid input: empty media");
/// assert!(!err.is_transient());
/// let busy = Error::Transient {
///     provider: "openai".into(),
///     status: Some(429),
///     message: "rate limited".into(),
///     retry_after: Some(Duration::from_secs(2)),
/// };
/// assert!(busy.is_transient());
/// assert!(matches!(busy, Error::Transient { retry_after: Some(d), .. } if d.as_secs() == 2));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Input that can never succeed (bad base64, empty media, unknown tool, ...).
    #[error("invalid input{}: {message}", field.as_deref().map(|f| format!(" ({f})")).unwrap_or_default())]
    InvalidInput {
        /// The field or JSON pointer at fault, when known.
        field: Option<String>,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A permanent error reported by a provider (4xx other than 429).
    #[error("provider {provider} returned HTTP {status}: {message}")]
    Provider {
        /// Provider id (e.g. `openai`).
        provider: String,
        /// HTTP status code.
        status: u16,
        /// The provider's own error message.
        message: String,
        /// The provider's error code or type, when given.
        code: Option<String>,
    },
    /// A failure that may succeed when retried (429, 5xx, connection reset).
    #[error("transient error from {provider}: {message}")]
    Transient {
        /// Provider id.
        provider: String,
        /// HTTP status when there was one.
        status: Option<u16>,
        /// Description of the failure.
        message: String,
        /// Server-requested delay before retrying (`Retry-After`).
        retry_after: Option<Duration>,
    },
    /// The operation did not finish in time.
    #[error("{operation} timed out after {after:?}")]
    Timeout {
        /// What timed out.
        operation: String,
        /// The limit that was exceeded.
        after: Duration,
    },
    /// The response could not be decoded (malformed or truncated JSON, bad SSE, ...).
    #[error("could not decode {what}: {message}")]
    Decode {
        /// What was being decoded.
        what: String,
        /// The decoder's message.
        message: String,
    },
    /// Missing or invalid configuration (no API key, a malformed base URL, ...).
    #[error("configuration error ({setting}): {message}")]
    Config {
        /// The setting at fault (e.g. `OPENAI_API_KEY`, `base_url`).
        setting: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The provider does not support this operation.
    #[error("{operation} is not supported by {provider}")]
    Unsupported {
        /// The operation (e.g. `image generation`).
        operation: String,
        /// Provider id.
        provider: String,
    },
    /// Any other error, with its source.
    #[error("{context}: {source}")]
    Other {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid_input(field: impl Into<Option<String>>, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Whether retrying the same request may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Transient { .. } | Error::Timeout { .. })
    }
}
