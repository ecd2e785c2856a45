//! PromptPack loading, validation and rendering.
#![warn(missing_docs, unreachable_pub)]
