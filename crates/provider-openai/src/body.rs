//! Request bodies whose inline media is base64-encoded while it is sent.
//!
//! A chat request that carries images holds megabytes of base64. Built as a
//! `serde_json::Value` with base64 strings inside and then serialized, the
//! data would exist four times at once: the bytes, the base64 string, the
//! `data:` URL made from it, and the JSON text (grown by doubling). Here the
//! body is built with short placeholders where inline media goes and
//! serialized (a few kilobytes); the [`Payload`] is that text cut at the
//! placeholders, with the media's bytes in between. When it is sent, each
//! media part is encoded in chunks of [`CHUNK_IN`] bytes, so a request holds
//! 64 KiB of base64 at a time instead of the whole body, and retrying costs
//! nothing but pointers.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine;
use bytes::Bytes;
use promptkit_core::Error;
use serde_json::Value;

/// Media bytes encoded per chunk of a streamed body: a multiple of 3, so
/// chunks need no padding and join into the base64 of the whole.
pub(crate) const CHUNK_IN: usize = 48 * 1024;

/// Inline media waiting to be encoded into a body.
#[derive(Debug)]
pub(crate) struct Blobs {
    /// Random per body, so no text a user writes can look like a placeholder.
    tag: String,
    items: Vec<Blob>,
}

#[derive(Debug)]
struct Blob {
    /// Written before the base64 (e.g. `data:image/png;base64,`), unescaped.
    prefix: String,
    data: Bytes,
}

impl Blobs {
    pub(crate) fn new() -> Blobs {
        Blobs {
            tag: uuid::Uuid::new_v4().simple().to_string(),
            items: Vec::new(),
        }
    }

    /// The string to put in the body where `prefix` followed by the base64
    /// of `data` belongs.
    pub(crate) fn placeholder(&mut self, prefix: String, data: Bytes) -> String {
        let n = self.items.len();
        self.items.push(Blob { prefix, data });
        format!("\u{1}{}:{n}\u{1}", self.tag)
    }

    /// Whether no media was placed.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// A request body: JSON with placeholders, and the media they stand for.
#[derive(Debug)]
pub(crate) struct Body {
    pub(crate) value: Value,
    blobs: Blobs,
}

/// `s` as JSON string contents (escaped, without the quotes).
fn escaped(s: &str) -> Result<String, Error> {
    let quoted = serde_json::to_string(s).map_err(encode_error)?;
    Ok(quoted[1..quoted.len() - 1].to_owned())
}

fn encode_error(e: impl std::fmt::Display) -> Error {
    Error::invalid_input(None, format!("cannot encode the request body: {e}"))
}

impl Body {
    pub(crate) fn new(value: Value, blobs: Blobs) -> Body {
        Body { value, blobs }
    }

    /// The payload: the JSON text cut at the media placeholders, each
    /// replaced by its prefix and its media (encoded when sent).
    pub(crate) fn encode(&self) -> Result<Payload, Error> {
        let text = serde_json::to_vec(&self.value).map_err(encode_error)?;
        if self.blobs.items.is_empty() {
            return Ok(Payload::from(Bytes::from(text)));
        }
        // Every placeholder as it appears in the JSON text, where it appears;
        // the text between them is sent as is.
        let start = escaped(&format!("\u{1}{}:", self.blobs.tag))?;
        let end = escaped("\u{1}")?;
        let text = Bytes::from(text);
        let mut segments = Vec::with_capacity(self.blobs.items.len() * 3 + 1);
        let mut copied = 0;
        while let Some(found) = find(&text[copied..], start.as_bytes()) {
            let from = copied + found;
            let digits_at = from + start.len();
            let digits = text[digits_at..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            let blob = std::str::from_utf8(&text[digits_at..digits_at + digits])
                .ok()
                .and_then(|d| d.parse::<usize>().ok())
                .and_then(|n| self.blobs.items.get(n))
                .ok_or_else(|| encode_error("a media placeholder is damaged"))?;
            let to = digits_at + digits + end.len();
            if text.get(digits_at + digits..to) != Some(end.as_bytes()) {
                return Err(encode_error("a media placeholder is damaged"));
            }
            base64::encoded_len(blob.data.len(), true)
                .ok_or_else(|| encode_error("media too large to encode"))?;
            segments.push(Segment::Raw(text.slice(copied..from)));
            segments.push(Segment::Raw(Bytes::from(escaped(&blob.prefix)?)));
            segments.push(Segment::Base64(blob.data.clone()));
            copied = to;
        }
        segments.push(Segment::Raw(text.slice(copied..)));
        segments.retain(|s| !s.is_empty());
        let len = segments.iter().map(Segment::len).sum();
        Ok(Payload {
            segments: segments.into(),
            len,
        })
    }
}

/// A piece of a request body.
#[derive(Debug, Clone)]
enum Segment {
    /// Sent as is.
    Raw(Bytes),
    /// Sent as its standard base64 (with padding).
    Base64(Bytes),
}

impl Segment {
    /// Bytes this segment puts on the wire.
    fn len(&self) -> u64 {
        match self {
            Segment::Raw(b) => b.len() as u64,
            // Checked when the segment was made.
            Segment::Base64(b) => base64::encoded_len(b.len(), true).unwrap_or(0) as u64,
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Segment::Raw(b) | Segment::Base64(b) => b.is_empty(),
        }
    }
}

/// A request body ready to send (again, for a retry): cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Payload {
    segments: Arc<[Segment]>,
    len: u64,
}

impl From<Bytes> for Payload {
    fn from(b: Bytes) -> Payload {
        let len = b.len() as u64;
        Payload {
            segments: Arc::from([Segment::Raw(b)]),
            len,
        }
    }
}

impl Payload {
    /// Bytes on the wire.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// A body for one attempt: plain bytes without media, otherwise a
    /// stream of exactly [`Payload::len`] bytes that encodes media as it goes.
    pub(crate) fn to_body(&self) -> reqwest::Body {
        if let [Segment::Raw(b)] = &*self.segments {
            return reqwest::Body::from(b.clone());
        }
        reqwest::Body::wrap(Streamed {
            segments: Arc::clone(&self.segments),
            next: 0,
            offset: 0,
            remaining: self.len,
        })
    }
}

#[cfg(test)]
impl Payload {
    /// Every byte the body sends, polled as the HTTP client would; checks
    /// the length announced up front against what is sent.
    pub(crate) fn collect(&self) -> Vec<u8> {
        use http_body::Body as _;
        let mut body = Streamed {
            segments: Arc::clone(&self.segments),
            next: 0,
            offset: 0,
            remaining: self.len,
        };
        let mut out = Vec::new();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert_eq!(body.size_hint().exact(), Some(self.len));
        while let Poll::Ready(Some(frame)) = Pin::new(&mut body).poll_frame(&mut cx) {
            let data = frame.unwrap().into_data().unwrap();
            out.extend_from_slice(&data);
        }
        assert!(body.is_end_stream());
        assert_eq!(out.len() as u64, self.len, "announced length differs");
        out
    }
}

/// The streamed form of a [`Payload`].
struct Streamed {
    segments: Arc<[Segment]>,
    /// The segment being sent.
    next: usize,
    /// Media bytes of that segment already encoded.
    offset: usize,
    /// Bytes still to send.
    remaining: u64,
}

impl Streamed {
    /// The next chunk, or `None` at the end.
    fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            let segment = self.segments.get(self.next)?;
            let chunk = match segment {
                Segment::Raw(b) => {
                    self.next += 1;
                    b.clone()
                }
                Segment::Base64(data) => {
                    let end = data.len().min(self.offset + CHUNK_IN);
                    let input = &data[self.offset..end];
                    self.offset = end;
                    if end == data.len() {
                        self.next += 1;
                        self.offset = 0;
                    }
                    Bytes::from(base64::engine::general_purpose::STANDARD.encode(input))
                }
            };
            if !chunk.is_empty() {
                self.remaining = self.remaining.saturating_sub(chunk.len() as u64);
                return Some(chunk);
            }
        }
    }
}

impl http_body::Body for Streamed {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        Poll::Ready(
            self.get_mut()
                .next_chunk()
                .map(|c| Ok(http_body::Frame::data(c))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sent(p: &Payload) -> Vec<u8> {
        p.collect()
    }

    #[test]
    fn placeholders_become_base64_in_a_buffer_of_the_exact_size() {
        let mut blobs = Blobs::new();
        let png = Bytes::from_static(b"\x89PNG\r\n\x1a\n-image-bytes-");
        let wav = Bytes::from_static(b"RIFF....WAVE");
        let url = blobs.placeholder("data:image/png;base64,".into(), png.clone());
        let audio = blobs.placeholder(String::new(), wav.clone());
        let value = json!({
            "messages": [
                {"content": [{"image_url": {"url": url}}, {"input_audio": {"data": audio}}]},
                {"content": "text with \u{1} and \"quotes\""}
            ]
        });
        let bytes = sent(&Body::new(value, blobs).encode().unwrap());
        let back: Value = serde_json::from_slice(&bytes).unwrap();
        let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
        assert_eq!(
            back["messages"][0]["content"][0]["image_url"]["url"],
            format!("data:image/png;base64,{}", b64(&png))
        );
        assert_eq!(
            back["messages"][0]["content"][1]["input_audio"]["data"],
            b64(&wav)
        );
        assert_eq!(
            back["messages"][1]["content"],
            "text with \u{1} and \"quotes\""
        );
    }

    #[test]
    fn user_text_that_imitates_a_placeholder_is_left_alone() {
        let mut blobs = Blobs::new();
        let url = blobs.placeholder("data:image/png;base64,".into(), Bytes::from_static(b"x"));
        // Someone else's tag, and a body without our placeholder's end.
        let fake = "\u{1}0123456789abcdef0123456789abcdef:0\u{1}".to_string();
        let value = json!({"a": url, "b": fake});
        let back: Value =
            serde_json::from_slice(&sent(&Body::new(value, blobs).encode().unwrap())).unwrap();
        assert_eq!(back["a"], "data:image/png;base64,eA==");
        assert_eq!(back["b"], fake);
    }

    #[test]
    fn a_body_without_media_is_plain_json() {
        let value = json!({"model": "m", "messages": []});
        let payload = Body::new(value.clone(), Blobs::new()).encode().unwrap();
        assert_eq!(sent(&payload), serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn large_media_is_sent_in_chunks_that_join_into_its_base64() {
        // Sizes around the chunk boundary, and media side by side.
        for size in [
            1,
            2,
            3,
            CHUNK_IN - 1,
            CHUNK_IN,
            CHUNK_IN + 1,
            5 * CHUNK_IN + 2,
        ] {
            let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            let data = Bytes::from(data);
            let mut blobs = Blobs::new();
            let a = blobs.placeholder("data:image/png;base64,".into(), data.clone());
            let b = blobs.placeholder(String::new(), data.clone());
            let value = json!({"a": a, "b": b, "c": "after"});
            let payload = Body::new(value, blobs).encode().unwrap();
            let back: Value = serde_json::from_slice(&sent(&payload)).unwrap();
            let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
            assert_eq!(back["a"], format!("data:image/png;base64,{b64}"), "{size}");
            assert_eq!(back["b"], b64, "{size}");
            assert_eq!(back["c"], "after");
            // A second attempt (a retry) sends the same bytes.
            assert_eq!(sent(&payload), sent(&payload.clone()));
        }
    }
}
