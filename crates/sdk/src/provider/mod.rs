//! Built-in offline provider: the image-generator tutorial runs with no API key.

mod mock;
mod procedural;

pub use mock::{MockProvider, MockReply, RequestSummary};
