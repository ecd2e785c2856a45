//! OpenAI (and OpenAI-compatible) chat completions and image generation.
#![warn(missing_docs, unreachable_pub)]
