//! Without the `media-probe` feature there are no parsers: every
//! measurement is [`MeasureFailure::ProbeNotBuilt`], so a limit on durations
//! or pages refuses the media (fail closed) instead of letting it through.

use std::time::Duration;

use super::MeasureFailure;

pub(super) fn isobmff_duration(_data: &[u8]) -> Result<Duration, MeasureFailure> {
    Err(MeasureFailure::ProbeNotBuilt)
}

pub(super) fn audio_duration(_mime_type: &str, _data: &[u8]) -> Result<Duration, MeasureFailure> {
    Err(MeasureFailure::ProbeNotBuilt)
}

pub(super) fn pdf_pages(_data: &[u8]) -> Result<u64, MeasureFailure> {
    Err(MeasureFailure::ProbeNotBuilt)
}
