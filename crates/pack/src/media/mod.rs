//! A prompt's multimodal configuration (`prompts.<key>.media`) and its
//! enforcement on outgoing media.
//!
//! [`MediaConfig::check_message`] enforces every rule of the section on one
//! message; [`media_duration`] and [`pdf_page_count`] are the measurements it
//! uses for `max_duration_sec` and `max_pages`.

mod check;
mod config;
mod measure;
#[cfg(not(feature = "media-probe"))]
#[path = "no_probe.rs"]
mod probe;
#[cfg(feature = "media-probe")]
mod probe;
mod rejection;

pub use config::{
    DocumentConfig, ExamplePart, GenericMediaTypeConfig, ImageConfig, MediaConfig, MediaReference,
    MultimodalExample, TimedMediaConfig,
};
pub use measure::{MeasureFailure, media_duration, pdf_page_count};
pub use rejection::MediaRejection;
