use std::path::PathBuf;

/// Result alias for [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of media stores.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No media for this reference.
    #[error("media not found: {reference}")]
    NotFound {
        /// The reference (or key) that was looked up.
        reference: String,
    },
    /// The object already exists (a conditional create lost the race).
    #[error("already exists: {key}")]
    AlreadyExists {
        /// The key or path.
        key: String,
    },
    /// Input that can never be stored (empty media, bad base64, lying MIME type, bad id...).
    #[error("invalid input ({field}): {message}")]
    InvalidInput {
        /// The field at fault (`data`, `mime_type`, `session_id`, ...).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The media is larger than the store's `max_file_size`.
    #[error("media is {size} bytes, over the store limit of {max} bytes")]
    TooLarge {
        /// Size of the media.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// A path would leave the store's base directory (traversal, absolute path, symlink out).
    #[error("refused path outside the store: {path}")]
    PathEscape {
        /// The offending path.
        path: PathBuf,
    },
    /// Stored bytes no longer match their content hash.
    #[error("corrupt media {reference}: {message}")]
    Corrupt {
        /// The reference.
        reference: String,
        /// What does not match.
        message: String,
    },
    /// A filesystem error, with the path it happened on.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A failure of the backing object store (network, server error, ...).
    #[error("{backend} backend error during {operation}: {message}")]
    Backend {
        /// Backend name (`s3`, `memory`, ...).
        backend: String,
        /// What was being done.
        operation: String,
        /// The backend's message.
        message: String,
        /// Whether retrying may succeed.
        transient: bool,
    },
    /// The store is misconfigured (missing bucket, bad URL, ...).
    #[error("configuration error: {0}")]
    Config(String),
    /// The backend does not support this operation.
    #[error("{operation} is not supported by {backend}")]
    NotSupported {
        /// The operation.
        operation: String,
        /// The backend.
        backend: String,
    },
}

impl Error {
    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
