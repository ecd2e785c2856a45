//! Media storage for PromptKit-rs: the [`MediaStore`] trait and its backends.
//!
//! Large media (images, audio, video, documents) is moved out of conversation
//! history into a store and replaced by a small [`StorageReference`].
//!
//! ```
//! use promptkit_media_store::{MediaMetadata, RetentionPolicy};
//! let meta = MediaMetadata::new()
//!     .with_session("s1")
//!     .with_conversation("c1")
//!     .with_policy(RetentionPolicy::Retain);
//! assert_eq!(meta.conversation_id.as_deref(), Some("c1"));
//! ```
#![warn(missing_docs, unreachable_pub)]
#![deny(rustdoc::broken_intra_doc_links)]

#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
#[cfg(feature = "local")]
pub mod local;
mod metadata;
mod mime;
#[cfg(feature = "object-store")]
pub mod object;
mod store;
mod url;

pub use error::{Error, Result};
#[cfg(feature = "local")]
pub use local::{FileStore, FileStoreBuilder, FileStoreConfig};
pub use metadata::{MediaMetadata, Organization, RetentionPolicy, StorageStats, TypeStats};
pub use mime::{check_declared_mime, extension_for_mime, validate_media};
#[cfg(feature = "object-store")]
pub use object::{DEFAULT_MULTIPART_THRESHOLD, ObjectStoreConfig, ObjectStoreMediaStore};
#[cfg(feature = "s3")]
pub use object::{S3MediaStore, S3MediaStoreBuilder};
pub use promptkit_core::{MediaContent, StorageReference};
pub use store::{MediaStore, MediaStoreExt};
pub use crate::url::{
    MEDIA_STORE_URL, media_store_from_env, media_store_from_lookup, media_store_from_url,
};
