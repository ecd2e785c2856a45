//! PromptKit-rs: PromptPack-driven LLM conversations that keep media out of memory.
//!
//! Depend on this one crate; pick backends by feature:
//!
//! | feature | brings |
//! |---|---|
//! | `local` (default) | [`media_store::FileStore`], the local file media store |
//! | `openai` | [`openai::OpenAiProvider`] for OpenAI and OpenAI-compatible servers |
//! | `s3` | the object_store media backend for S3 (and in-memory / local object stores) |
//! | `gcs` | the object_store media backend for Google Cloud Storage (`gs://` URLs) |
//! | `azure` | the object_store media backend for Azure Blob Storage (`az://` URLs) |
//! | `media-probe` (default) | measuring media durations and PDF pages for packs' media limits |
//! | `redis` | a Redis conversation state store |
//!
//! Without `local`, the local file store is not compiled at all (the SDK does
//! not depend on it): an app that keeps its media on S3 builds with
//! `default-features = false, features = ["openai", "s3"]`.
//!
//! The [`prelude`] has what a typical app uses. The built-in offline model, for
//! tests and demos, is in [`mock`], not in the prelude:
//!
//! ```
//! # #[cfg(feature = "local")] {
//! use promptkit::prelude::*;
//! use promptkit::mock::MockProvider;
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let manager = ConversationManager::builder()
//!     .provider(MockProvider::new())
//!     .media_store(FileStore::builder().with_base_dir(dir.path()).build().unwrap())
//!     .build()
//!     .unwrap();
//! # let _ = manager;
//! # });
//! # }
//! ```
#![warn(missing_docs, unreachable_pub)]
#![deny(rustdoc::broken_intra_doc_links)]

pub use promptkit_core as core;
pub use promptkit_media_store as media_store;
pub use promptkit_pack as pack;
#[cfg(feature = "openai")]
pub use promptkit_provider_openai as openai;
pub use promptkit_sdk as sdk;

#[cfg(feature = "redis")]
pub use promptkit_sdk::RedisStateStore;
pub use promptkit_sdk::{
    Conversation, ConversationConfig, ConversationEvent, ConversationManager, ConversationState,
    Error, FileStateStore, FnTool, ImageGenerationTool, InMemoryStateStore, ManagerBuilder,
    ManagerConfig, MediaEvent, MediaEventCallback, MediaEventKind, MemoryStats, ObservedStore,
    RehydrationPolicy, Response, Result, StateStore, StoredMedia, ToolError, ToolHandler,
    ToolOutput, pin_allocator_thresholds, release_freed_memory,
};

/// The built-in offline model (scripted or echoing chat, generated images),
/// for tests, examples and demos; not for production, so not in the prelude.
///
/// ```
/// use promptkit::mock::{MockProvider, MockReply};
/// let model = MockProvider::scripted(vec![MockReply::Text("hello".into())]);
/// # let _ = model;
/// ```
pub mod mock {
    pub use promptkit_sdk::mock::{MockProvider, MockReply, RequestSummary};
}

/// The types a typical application uses.
pub mod prelude {
    pub use promptkit_core::{
        ContentPart, Cost, MediaContent, Message, Provider, ProviderExt, Role, StorageReference,
        Usage,
    };
    #[cfg(feature = "local")]
    pub use promptkit_media_store::FileStore;
    pub use promptkit_media_store::{
        MediaMetadata, MediaStore, MediaStoreExt, Organization, RetentionPolicy, StorageStats,
    };
    pub use promptkit_pack::Pack;
    pub use promptkit_sdk::{
        Conversation, ConversationConfig, ConversationEvent, ConversationManager, FnTool,
        ImageGenerationTool, ManagerConfig, Response, ToolHandler, ToolOutput,
    };
}

/// The README; its code block is compiled as a doctest.
#[cfg(all(doctest, feature = "local"))]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// The tutorial (`docs/tutorial.md`); its code blocks are compiled and run as doctests.
#[cfg(all(doctest, feature = "local"))]
#[doc = include_str!("../../../docs/tutorial.md")]
pub struct TutorialDoctests;

/// How to configure media storage (`docs/media-storage.md`), compiled as doctests.
#[cfg(all(doctest, feature = "local"))]
#[doc = include_str!("../../../docs/media-storage.md")]
pub struct MediaStorageDoctests;

/// Production deployment (`docs/production.md`), compiled as doctests.
#[cfg(all(doctest, feature = "local"))]
#[doc = include_str!("../../../docs/production.md")]
pub struct ProductionDoctests;
