//! PromptKit-rs: one crate for PromptPack-driven conversations.
#![warn(missing_docs, unreachable_pub)]

pub use promptkit_core as core;
pub use promptkit_media_store as media_store;
pub use promptkit_pack as pack;
#[cfg(feature = "openai")]
pub use promptkit_provider_openai as openai;
pub use promptkit_sdk as sdk;
