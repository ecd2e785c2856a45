use std::path::PathBuf;

/// Result alias for [`Error`].
///
/// ```
/// use promptkit_media_store::{Error, Result};
/// fn parse_size(s: &str) -> Result<u64> {
///     s.parse().map_err(|_| Error::invalid("max_file_size", format!("`{s}` is not a number")))
/// }
/// assert_eq!(parse_size("10").unwrap(), 10);
/// assert!(matches!(parse_size("ten"), Err(Error::InvalidInput { .. })));
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of media stores.
///
/// Every backend returns the same variants, so callers can match on them
/// whatever the store.
///
/// ```
/// use promptkit_media_store::Error;
/// let e = Error::invalid("session_id", "contains a slash");
/// assert_eq!(e.to_string(), "invalid input (session_id): contains a slash");
/// # #[cfg(feature = "local")] {
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use promptkit_media_store::{FileStore, MediaMetadata, MediaStore, MediaStoreExt};
/// # let dir = tempfile::tempdir().unwrap();
/// let store = FileStore::builder().with_base_dir(dir.path()).with_max_file_size(4).build().unwrap();
/// let meta = MediaMetadata::new().with_session("s").with_conversation("c");
/// let err = store.store_bytes("text/plain", "too long".into(), &meta).await.unwrap_err();
/// assert!(matches!(err, Error::TooLarge { size: 8, max: 4 }));
/// let r = store.store_bytes("text/plain", "ok".into(), &meta).await.unwrap();
/// store.delete(&r).await.unwrap();
/// assert!(matches!(store.retrieve(&r).await, Err(Error::NotFound { .. })));
/// # });
/// # }
/// ```
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
    #[error("corrupt: {reference}: {message}")]
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
    /// A failure of the backing storage (network, server error, the local
    /// index database, ...). The underlying error is kept as `source`.
    #[error("{backend} backend error during {operation}: {message}")]
    Backend {
        /// Backend name (`local`, `s3`, `memory`, ...).
        backend: String,
        /// What was being done.
        operation: String,
        /// The backend's message.
        message: String,
        /// Whether retrying may succeed.
        transient: bool,
        /// The underlying error (an `object_store::Error`, a
        /// `rusqlite::Error`, ...), for `downcast_ref`.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
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

    /// [`Error::Backend`] with its underlying error.
    ///
    /// ```
    /// use promptkit_media_store::Error;
    /// let io = std::io::Error::other("connection reset");
    /// let e = Error::backend("s3", "put media/a.png", true, io);
    /// assert!(e.to_string().contains("connection reset"));
    /// let source = std::error::Error::source(&e).unwrap();
    /// assert!(source.downcast_ref::<std::io::Error>().is_some());
    /// ```
    pub fn backend(
        backend: impl Into<String>,
        operation: impl Into<String>,
        transient: bool,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Backend {
            backend: backend.into(),
            operation: operation.into(),
            message: source.to_string(),
            transient,
            source: Some(Box::new(source)),
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
