//! Built-in offline provider: the image-generator tutorial runs with no API key.

pub(crate) mod mock;
mod procedural;
