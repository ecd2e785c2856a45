//! The built-in offline model, for tests, examples and demos: scripted or
//! echoing chat replies and generated images, with no network and no key.
//!
//! It is a [`Provider`](promptkit_core::Provider) like any other, but not one
//! for production: the `promptkit` facade offers it as `promptkit::mock`, not
//! in its prelude.
//!
//! ```
//! use promptkit_sdk::mock::{MockProvider, MockReply};
//! let scripted = MockProvider::scripted(vec![MockReply::Text("hi".into())]);
//! # let _ = (scripted, MockProvider::new());
//! ```

pub use crate::provider::mock::{MockProvider, MockReply, RequestSummary};
