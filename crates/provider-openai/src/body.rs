//! Request bodies whose inline media is encoded straight into the output.
//!
//! A chat request that carries images holds megabytes of base64. Built as a
//! `serde_json::Value` with base64 strings inside and then serialized, the
//! data exists four times at once: the bytes, the base64 string, the `data:`
//! URL made from it, and the JSON text (grown by doubling). Here the body is
//! built with short placeholders where inline media goes, serialized (a few
//! kilobytes), and written once into a buffer of exactly the final size, each
//! placeholder replaced by its media's base64 encoded in place.

use base64::Engine;
use bytes::Bytes;
use promptkit_core::Error;
use serde_json::Value;

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

    /// The JSON text, media encoded in place.
    pub(crate) fn encode(&self) -> Result<Bytes, Error> {
        let text = serde_json::to_vec(&self.value).map_err(encode_error)?;
        if self.blobs.items.is_empty() {
            return Ok(Bytes::from(text));
        }
        // Every placeholder as it appears in the JSON text, where it appears.
        let start = escaped(&format!("\u{1}{}:", self.blobs.tag))?;
        let end = escaped("\u{1}")?;
        let mut spans = Vec::with_capacity(self.blobs.items.len());
        let mut at = 0;
        while let Some(found) = find(&text[at..], start.as_bytes()) {
            let from = at + found;
            let digits_at = from + start.len();
            let digits = text[digits_at..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            let n: usize = std::str::from_utf8(&text[digits_at..digits_at + digits])
                .ok()
                .and_then(|d| d.parse().ok())
                .filter(|&n| n < self.blobs.items.len())
                .ok_or_else(|| encode_error("a media placeholder is damaged"))?;
            let to = digits_at + digits + end.len();
            if text.get(digits_at + digits..to) != Some(end.as_bytes()) {
                return Err(encode_error("a media placeholder is damaged"));
            }
            spans.push((from, to, n));
            at = to;
        }
        let prefixes: Vec<String> = self
            .blobs
            .items
            .iter()
            .map(|b| escaped(&b.prefix))
            .collect::<Result<_, _>>()?;
        let mut len = text.len();
        for &(from, to, n) in &spans {
            let b64 = base64::encoded_len(self.blobs.items[n].data.len(), true)
                .ok_or_else(|| encode_error("media too large to encode"))?;
            len = len - (to - from) + prefixes[n].len() + b64;
        }
        let mut out = Vec::with_capacity(len);
        let mut copied = 0;
        for &(from, to, n) in &spans {
            out.extend_from_slice(&text[copied..from]);
            out.extend_from_slice(prefixes[n].as_bytes());
            let data = &self.blobs.items[n].data;
            let start = out.len();
            let b64 = base64::encoded_len(data.len(), true).unwrap_or(0);
            out.resize(start + b64, 0);
            base64::engine::general_purpose::STANDARD
                .encode_slice(data, &mut out[start..])
                .map_err(encode_error)?;
            copied = to;
        }
        out.extend_from_slice(&text[copied..]);
        debug_assert_eq!(out.len(), len);
        Ok(Bytes::from(out))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        let bytes = Body::new(value, blobs).encode().unwrap();
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
            serde_json::from_slice(&Body::new(value, blobs).encode().unwrap()).unwrap();
        assert_eq!(back["a"], "data:image/png;base64,eA==");
        assert_eq!(back["b"], fake);
    }

    #[test]
    fn a_body_without_media_is_plain_json() {
        let value = json!({"model": "m", "messages": []});
        let bytes = Body::new(value.clone(), Blobs::new()).encode().unwrap();
        assert_eq!(bytes, serde_json::to_vec(&value).unwrap());
    }
}
