//! Shared types for PromptKit-rs: messages and their content parts, media
//! ([`MediaContent`], [`StorageReference`]), tool calls, usage and cost, and the
//! [`Provider`] trait every LLM backend implements.
//!
//! This is the lowest crate of the workspace; every other crate depends on it and
//! it depends on none of them.
//!
//! ```
//! use promptkit_core::{Message, ContentPart, MediaContent};
//! use bytes::Bytes;
//!
//! let png = MediaContent::from_bytes("image/png", Bytes::from_static(b"\x89PNG\r\n\x1a\n...."));
//! let msg = Message::user_with_parts(vec![ContentPart::text("look"), ContentPart::media(png)]);
//! assert_eq!(msg.text(), "look");
//! assert_eq!(msg.inline_media_bytes(), 12);
//! ```
#![warn(missing_docs, unreachable_pub)]
#![deny(rustdoc::broken_intra_doc_links)]

mod error;
mod media;
mod message;
mod provider;
mod redact;
mod reference;
mod usage;

pub use error::{Error, Result};
pub use media::{MediaContent, MediaKind, decode_base64, encode_base64, sniff_mime};
pub use message::{ContentPart, Message, Role, ToolCall};
pub use provider::{
    ChatRequest, ChatResponse, ChatStream, ImageRequest, ImageResponse, Parameters, Provider,
    ProviderExt, StreamEvent, ToolChoice, ToolDefinition,
};
pub use redact::{MEDIA_STORE_OPTIONS, redact_url};
pub use reference::StorageReference;
pub use usage::{Cost, Usage};
