//! The parsers behind [`media_duration`](super::media_duration) and
//! [`pdf_page_count`](super::pdf_page_count) (feature `media-probe`):
//! `symphonia` for audio containers, Mozilla's `mp4parse` for ISO base media
//! files, `lopdf` for PDF. The callers run them inside `catch_unwind`.

use std::collections::HashSet;
use std::io::Cursor;
use std::time::Duration;

use lopdf::{Document, Object, ObjectId};

use super::MeasureFailure;
use super::measure::malformed;

/// `ticks / timescale` seconds, or `None` for a zero timescale or an
/// out-of-range result.
fn ticks_to_duration(ticks: u64, timescale: u64) -> Option<Duration> {
    if timescale == 0 {
        return None;
    }
    let nanos = u128::from(ticks) * 1_000_000_000 / u128::from(timescale);
    u64::try_from(nanos).ok().map(Duration::from_nanos)
}

pub(super) fn isobmff_duration(data: &[u8]) -> Result<Duration, MeasureFailure> {
    let ctx =
        mp4parse::read_mp4(&mut Cursor::new(data)).map_err(|e| malformed(format!("{e:?}")))?;
    let tracks = ctx.tracks.iter().filter_map(|t| {
        let ticks = t.duration?.0;
        let scale = t.timescale?.0;
        ticks_to_duration(ticks, scale)
    });
    // A fragmented file declares its total length in `mehd`, in movie units.
    let fragmented = ctx
        .mvex
        .as_ref()
        .and_then(|m| m.fragment_duration)
        .zip(ctx.timescale)
        .and_then(|(d, scale)| ticks_to_duration(d.0, scale.0));
    tracks
        .chain(fragmented)
        .max()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| malformed("no track declares a duration"))
}

pub(super) fn audio_duration(mime_type: &str, data: &[u8]) -> Result<Duration, MeasureFailure> {
    use symphonia::core::formats::FormatOptions;
    use symphonia::core::formats::probe::Hint;
    use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
    use symphonia::core::meta::MetadataOptions;

    let mut hint = Hint::new();
    hint.mime_type(mime_type);
    let source = MediaSourceStream::new(
        Box::new(Cursor::new(data)),
        MediaSourceStreamOptions::default(),
    );
    let reader = symphonia::default::get_probe()
        .probe(
            &hint,
            source,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(malformed)?;
    reader
        .tracks()
        .iter()
        .filter_map(|t| {
            let span = t.time_base?.calc_duration(t.duration?)?;
            u64::try_from(span.as_nanos())
                .ok()
                .map(Duration::from_nanos)
        })
        .max()
        .ok_or_else(|| malformed("the container declares no duration"))
}

/// Loads a PDF and counts the leaves of its page tree.
pub(super) fn pdf_pages(data: &[u8]) -> Result<u64, MeasureFailure> {
    let doc = Document::load_mem(data).map_err(malformed)?;
    count_page_leaves(&doc)
}

fn count_page_leaves(doc: &Document) -> Result<u64, MeasureFailure> {
    let root = doc
        .catalog()
        .and_then(|c| c.get(b"Pages"))
        .and_then(Object::as_reference)
        .map_err(|e| malformed(format!("no page tree: {e}")))?;
    let mut seen: HashSet<ObjectId> = HashSet::new();
    let mut stack = vec![root];
    let mut pages = 0u64;
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            return Err(malformed(format!(
                "page tree visits object {} {} twice",
                id.0, id.1
            )));
        }
        let node = doc
            .get_dictionary(id)
            .map_err(|e| malformed(format!("page tree node {} {}: {e}", id.0, id.1)))?;
        let kids = match node.get(b"Kids") {
            Ok(kids) => Some(doc.dereference(kids).map_err(malformed)?.1),
            Err(_) => None,
        };
        let is_pages = node.get(b"Type").and_then(Object::as_name).ok() == Some(b"Pages")
            || (kids.is_some() && node.get(b"Type").is_err());
        if !is_pages {
            pages += 1;
            continue;
        }
        let kids = kids
            .ok_or_else(|| malformed(format!("pages node {} {} has no /Kids", id.0, id.1)))?
            .as_array()
            .map_err(malformed)?;
        for kid in kids {
            stack.push(kid.as_reference().map_err(malformed)?);
        }
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks() {
        assert_eq!(ticks_to_duration(3, 2), Some(Duration::from_millis(1500)));
        assert_eq!(ticks_to_duration(3, 0), None);
        assert_eq!(ticks_to_duration(u64::MAX, 1), None);
    }
}
