//! Examples of PromptKit-rs live in this folder; run them with `cargo run --example NAME`.
//!
//! The pattern examples (`streaming`, `tools`, `vision`, `resume`) choose their model and
//! their media store the same way, with the two functions here. The tutorial's
//! `image-generator` spells the same choices out in full.

use std::path::Path;
use std::sync::Arc;

use promptkit::core::redact_url;
use promptkit::mock::MockProvider;
use promptkit::prelude::*;

/// What the examples return on failure.
pub type Error = Box<dyn std::error::Error>;

/// The model: OpenAI (or the OpenAI-compatible server at `OPENAI_BASE_URL`) when
/// `OPENAI_API_KEY` is set, else `offline()`, the built-in mock model. Prints which.
pub fn provider_or(offline: impl FnOnce() -> MockProvider) -> Result<Arc<dyn Provider>, Error> {
    match std::env::var("OPENAI_API_KEY") {
        Ok(k) if !k.is_empty() => {
            println!("Provider: OpenAI ({})", openai_endpoint());
            let openai = promptkit::openai::OpenAiProvider::builder()
                .from_env()
                .build()?;
            Ok(Arc::new(openai))
        }
        _ => {
            println!("Provider: built-in offline mock model (set OPENAI_API_KEY to use OpenAI)");
            Ok(Arc::new(offline()))
        }
    }
}

/// The media store: the one `MEDIA_STORE_URL` names (`s3://`, `gs://`, `az://`,
/// `file://`) when it is set, else a local `FileStore` in `dir`. Prints which.
pub fn media_store_or(dir: &Path) -> Result<Arc<dyn MediaStore>, Error> {
    match std::env::var("MEDIA_STORE_URL") {
        Ok(url) if !url.is_empty() => {
            println!("Media store: {}", redact_url(&url));
            Ok(promptkit::media_store::media_store_from_url(&url)?)
        }
        _ => {
            println!("Media store: {}", dir.display());
            Ok(Arc::new(FileStore::builder().with_base_dir(dir).build()?))
        }
    }
}

/// Where the OpenAI provider sends requests, for printing: `OPENAI_BASE_URL`
/// without any password or key it holds, or `api.openai.com`.
pub fn openai_endpoint() -> String {
    match std::env::var("OPENAI_BASE_URL") {
        Ok(url) if !url.trim().is_empty() => redact_url(&url),
        _ => "api.openai.com".into(),
    }
}

/// Prints what went wrong in a turn without failing it, e.g. a media store that
/// refused an image (it then stays inline in history).
pub fn print_warnings(resp: &Response) {
    for w in &resp.warnings {
        println!("  warning: {w}");
    }
}
