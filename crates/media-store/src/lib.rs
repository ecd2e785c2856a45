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
//!
//! # Backends and feature flags
//!
//! | backend | how to build it | feature |
//! |---|---|---|
//! | local disk | `FileStore::builder()` | `local` (default) |
//! | Amazon S3 and S3-compatible servers | `S3MediaStore::builder()` | `s3` |
//! | Google Cloud Storage, Azure Blob Storage, any `object_store::ObjectStore` | `ObjectStoreMediaStore::new(store, config)` | `gcs`, `azure`, `object-store` |
//! | object_store's `LocalFileSystem` / `InMemory` | `ObjectStoreMediaStore::local_filesystem` / `in_memory` | `object-store` |
//!
//! All of them content-address media with BLAKE3, store identical bytes once,
//! write a `.meta` JSON sidecar next to every media object, lay keys out by
//! [`Organization`], and pass the same conformance suite (feature `conformance`).
//!
//! # Configuration from the environment (S3 in production)
//!
//! [`media_store_from_env`] picks the backend at run time, so the same
//! application binary runs on a laptop and on S3:
//!
//! | variable | meaning |
//! |---|---|
//! | `MEDIA_STORE_URL` | `file:///var/lib/app/media`, `s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix`, `memory://`; unset: the local store from `MEDIA_STORE_DIR` |
//! | `MEDIA_ORGANIZATION` | `flat`, `by-session` (default), `by-conversation`, `by-run` |
//! | `MEDIA_DEFAULT_POLICY`, `MEDIA_MAX_FILE_SIZE` | retention policy for media without one; size limit in bytes |
//! | `AWS_*` (for `s3://`) | object_store's own S3 configuration (`AmazonS3Builder::from_env`): every variable it knows, e.g. |
//! | `AWS_REGION` (or `AWS_DEFAULT_REGION`) | S3 region, default `us-east-1` |
//! | `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` | static S3 credentials; without them object_store's credential chain: |
//! | `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` | web identity (EKS/IRSA) |
//! | `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, `AWS_CONTAINER_CREDENTIALS_FULL_URI` | ECS / EKS Pod Identity container credentials (else EC2 instance metadata) |
//! | `AWS_ENDPOINT` (or `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`) | endpoint of an S3-compatible server (path-style requests) |
//! | `AWS_ALLOW_HTTP` | `true` to allow a plain-HTTP endpoint (trusted networks only) |
//! | `AWS_SERVER_SIDE_ENCRYPTION`, `AWS_SSE_KMS_KEY_ID`, `AWS_CHECKSUM_ALGORITHM`, ... | SSE-KMS, checksums and every other object_store option |
//! | `GOOGLE_*` (for `gs://`) | object_store's own GCS configuration: `GOOGLE_SERVICE_ACCOUNT`, `GOOGLE_SERVICE_ACCOUNT_KEY`, `GOOGLE_APPLICATION_CREDENTIALS`, ... |
//! | `AZURE_*` (for `az://`) | object_store's own Azure configuration: `AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY`, `AZURE_STORAGE_USE_EMULATOR`, ... |
//!
//! ```sh
//! # AWS
//! MEDIA_STORE_URL=s3://acme-media/chatbot AWS_REGION=eu-west-1 \
//!   AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... cargo run --example image-generator
//! # an S3-compatible server (MinIO, moto, ...)
//! MEDIA_STORE_URL=s3://media AWS_ENDPOINT=http://127.0.0.1:9000 AWS_ALLOW_HTTP=true ...
//! ```
//!
//! URL query parameters (`?organization=by-run&max_file_size=10485760`)
//! override the `MEDIA_*` variables; on `s3://`, `gs://` and `az://` URLs the
//! other parameters are object_store options (`?aws_endpoint=...`) and
//! override the `AWS_*`, `GOOGLE_*`, `AZURE_*` variables.
//! [`media_store_from_vars`] takes the variables from a map instead of the
//! process environment. Secrets are never printed by `Debug` or in errors.
#![warn(missing_docs, unreachable_pub)]
#![deny(rustdoc::broken_intra_doc_links)]

#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(any(feature = "local", feature = "object-store"))]
mod delivery;
mod error;
#[cfg(any(feature = "local", feature = "object-store"))]
mod layout;
mod lifecycle;
#[cfg(feature = "local")]
pub mod local;
mod metadata;
mod mime;
#[cfg(feature = "object-store")]
pub mod object;
mod options;
mod reports;
#[cfg(any(feature = "local", feature = "object-store"))]
mod sidecar;
mod store;
mod url;

pub use crate::url::{
    MEDIA_STORE_URL, media_store_from_env, media_store_from_url, media_store_from_vars,
    open_media_store_url,
};
pub use error::{Error, Result};
pub use lifecycle::{MediaLifecycle, MediaLifecycleExt, Progress, spawn_retention_task};
#[cfg(feature = "local")]
pub use local::{FileStore, FileStoreBuilder, FileStoreConfig};
pub use metadata::{MediaMetadata, Organization, RetentionPolicy, StorageStats, TypeStats};
pub use mime::{check_declared_mime, extension_for_mime, validate_media};
#[cfg(feature = "object-store")]
pub use object::{DEFAULT_MULTIPART_THRESHOLD, ObjectStoreConfig, ObjectStoreMediaStore};
#[cfg(feature = "s3")]
pub use object::{S3MediaStore, S3MediaStoreBuilder};
pub use promptkit_core::{MediaContent, StorageReference};
pub use reports::{GcOptions, GcReport, RetentionReport, StoredReference, VerifyReport};
#[cfg(any(feature = "local", feature = "object-store"))]
pub use sidecar::MediaSidecar;
pub use store::{MediaStore, MediaStoreExt};
