//! The conversation API of PromptKit-rs.
//!
//! A [`ConversationManager`] holds a [`Provider`](promptkit_core::Provider), a
//! [`MediaStore`](promptkit_media_store::MediaStore), tool handlers and settings;
//! it loads PromptPacks and creates [`Conversation`]s. Each turn
//! ([`Conversation::send`], [`Conversation::send_with_media`],
//! [`Conversation::stream`]) runs the tool loop, then moves every media part at
//! or above the size threshold into the store, keeping a small reference in
//! history. When history goes back to a provider, references are loaded again
//! ([`RehydrationPolicy`]).
//!
//! ```
//! use promptkit_sdk::{ConversationManager, ConversationConfig, ManagerConfig, MockProvider};
//! use promptkit_media_store::FileStore;
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let manager = ConversationManager::builder()
//!     .provider(MockProvider::new())
//!     .media_store(FileStore::builder().with_base_dir(dir.path()).build().unwrap())
//!     .image_tool("dalle-image-generator")
//!     .build()
//!     .unwrap();
//! let pack = manager.register_pack(promptkit_pack::Pack::from_json_str(r#"{
//!   "id": "img", "name": "Images", "version": "1.0.0",
//!   "template_engine": {"version": "v1", "syntax": "{{variable}}"},
//!   "prompts": {"image-generator": {"id": "image-generator", "name": "image-generator",
//!     "version": "1.0.0", "system_template": "You draw.", "tools": ["dalle-image-generator"]}},
//!   "tools": {"dalle-image-generator": {"name": "dalle-image-generator",
//!     "description": "Generate images", "parameters": {"type": "object",
//!     "properties": {"prompt": {"type": "string"}}, "required": ["prompt"]}}}
//! }"#).unwrap());
//! let mut conv = manager
//!     .new_conversation(&pack, ConversationConfig::new("user-1", "session-1"))
//!     .unwrap();
//! let resp = conv.send("Generate an image of a lighthouse at dusk").await.unwrap();
//! assert_eq!(resp.stored_media.len(), 1);          // the ~1 MB PNG went to disk
//! assert_eq!(conv.memory_stats().inline_media_bytes, 0); // history holds a reference
//! # });
//! ```
#![warn(missing_docs, unreachable_pub)]
#![deny(rustdoc::broken_intra_doc_links)]

mod config;
mod conversation;
mod error;
mod events;
mod manager;
mod media;
mod memory;
pub mod mock;
mod provider;
mod response;
mod state;
mod tools;
mod turn;

pub use config::{ConversationConfig, ManagerConfig, RehydrationPolicy};
pub use conversation::Conversation;
pub use error::{Error, Result};
pub use events::{MediaEvent, MediaEventCallback, MediaEventKind, ObservedStore};
pub use manager::{ConversationManager, ManagerBuilder};
pub use memory::{pin_allocator_thresholds, release_freed_memory};
pub use mock::{MockProvider, MockReply, RequestSummary};
pub use response::{ConversationEvent, MemoryStats, Response, StoredMedia};
#[cfg(feature = "redis")]
pub use state::RedisStateStore;
pub use state::{ConversationState, FileStateStore, InMemoryStateStore, StateStore};
pub use tools::{FnTool, ImageGenerationTool, ToolError, ToolHandler, ToolOutput};
