//! `/images/generations`: request body and response parsing.

use promptkit_core::{Error, ImageRequest, MediaContent, Usage, decode_base64, sniff_mime};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Whether `model` is a DALL·E model (`response_format` applies, GPT-image
/// fields do not). Everything else is treated as a GPT image model.
pub(crate) fn is_dalle(model: &str) -> bool {
    model.to_ascii_lowercase().starts_with("dall-e")
}

/// The request body. DALL·E gets `response_format: "b64_json"`; GPT image
/// models (always base64) get `output_format`/`background` and never
/// `response_format`, which they reject.
pub(crate) fn image_body(req: &ImageRequest, model: &str) -> Result<Value, Error> {
    if req.prompt.trim().is_empty() {
        return Err(Error::invalid_input(
            Some("prompt".into()),
            "the image prompt is empty",
        ));
    }
    let mut b = Map::new();
    b.insert("model".into(), json!(model));
    b.insert("prompt".into(), json!(req.prompt));
    if let Some(n) = req.n {
        if !(1..=10).contains(&n) {
            return Err(Error::invalid_input(
                Some("n".into()),
                format!("n = {n}; the API generates 1 to 10 images"),
            ));
        }
        b.insert("n".into(), json!(n));
    }
    for (key, v) in [("size", &req.size), ("quality", &req.quality)] {
        if let Some(v) = v {
            b.insert(key.into(), json!(v));
        }
    }
    if is_dalle(model) {
        b.insert("response_format".into(), json!("b64_json"));
        if req.output_format.is_some() || req.background.is_some() {
            tracing::debug!(
                model,
                "output_format/background not sent: GPT image models only"
            );
        }
    } else {
        if let Some(f) = &req.output_format {
            let f = f.to_ascii_lowercase();
            let f = if f == "jpg" { "jpeg".to_string() } else { f };
            if !matches!(f.as_str(), "png" | "jpeg" | "webp") {
                return Err(Error::invalid_input(
                    Some("output_format".into()),
                    format!("output_format {f:?} is not one of png, jpeg, webp"),
                ));
            }
            b.insert("output_format".into(), json!(f));
        }
        if let Some(bg) = &req.background {
            b.insert("background".into(), json!(bg));
        }
    }
    Ok(Value::Object(b))
}

#[derive(Debug, Default, Deserialize)]
struct WireImages {
    data: Option<Vec<WireImage>>,
    output_format: Option<String>,
    quality: Option<String>,
    size: Option<String>,
    usage: Option<WireImageUsage>,
}

#[derive(Debug, Default, Deserialize)]
struct WireImage {
    b64_json: Option<String>,
    url: Option<String>,
    revised_prompt: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct WireImageUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
}

/// One returned image, before any URL is fetched.
#[derive(Debug)]
pub(crate) enum ImageData {
    Inline(MediaContent),
    Url(String),
}

/// What the response says.
#[derive(Debug)]
pub(crate) struct ParsedImages {
    pub(crate) images: Vec<ImageData>,
    pub(crate) revised_prompt: Option<String>,
    pub(crate) usage: Usage,
    /// Quality and size as reported, for pricing.
    pub(crate) quality: Option<String>,
    pub(crate) size: Option<String>,
    pub(crate) format_mime: Option<&'static str>,
}

/// MIME type of an `output_format` value.
pub(crate) fn format_mime(format: &str) -> Option<&'static str> {
    match format.to_ascii_lowercase().as_str() {
        "png" => Some("image/png"),
        "jpeg" | "jpg" => Some("image/jpeg"),
        "webp" => Some("image/webp"),
        _ => None,
    }
}

/// The MIME type of image bytes: their magic number (SVG recognised too), else
/// the declared type, else PNG.
pub(crate) fn image_mime<'a>(bytes: &[u8], declared: Option<&'a str>) -> &'a str {
    if let Some(m) = sniff_mime(bytes).filter(|m| m.starts_with("image/")) {
        return m;
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]);
    let head = head.trim_start();
    if head.starts_with("<svg") || (head.starts_with("<?xml") && head.contains("<svg")) {
        return "image/svg+xml";
    }
    declared.unwrap_or("image/png")
}

/// Decodes base64 image data (optionally a `data:` URL) into inline media.
fn inline_image(
    b64: &str,
    declared: Option<&str>,
    at: impl Fn() -> String,
) -> Result<MediaContent, Error> {
    let bytes = decode_base64(b64).map_err(|e| Error::Decode {
        what: at(),
        message: e.to_string(),
    })?;
    if bytes.is_empty() {
        return Err(Error::Decode {
            what: at(),
            message: "image is empty".into(),
        });
    }
    let mime = image_mime(&bytes, declared).to_string();
    Ok(MediaContent::from_bytes(mime, bytes))
}

/// The MIME type in a `data:<mime>;base64,` URL, when it is an image type.
fn data_url_mime(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("data:")?;
    let (mime, _) = rest.split_once(';')?;
    mime.starts_with("image/").then_some(mime)
}

pub(crate) fn parse_images(
    body: &[u8],
    requested_format: Option<&str>,
) -> Result<ParsedImages, Error> {
    let wire: WireImages = serde_json::from_slice(body).map_err(|e| Error::Decode {
        what: "image generation response".into(),
        message: e.to_string(),
    })?;
    let declared = wire
        .output_format
        .as_deref()
        .or(requested_format)
        .and_then(format_mime);
    let data = wire.data.unwrap_or_default();
    if data.is_empty() {
        return Err(Error::Decode {
            what: "image generation response".into(),
            message: "no images in `data`".into(),
        });
    }
    let mut revised_prompt = None;
    let mut images = Vec::with_capacity(data.len());
    for (i, item) in data.into_iter().enumerate() {
        if revised_prompt.is_none() {
            revised_prompt = item.revised_prompt.filter(|p| !p.is_empty());
        }
        let url = item.url.unwrap_or_default();
        if let Some(b64) = item.b64_json.filter(|s| !s.is_empty()) {
            let at = || format!("image generation response /data/{i}/b64_json");
            images.push(ImageData::Inline(inline_image(&b64, declared, at)?));
        } else if url.starts_with("data:") {
            let at = || format!("image generation response /data/{i}/url");
            let mime = data_url_mime(&url).or(declared);
            images.push(ImageData::Inline(inline_image(&url, mime, at)?));
        } else if url.starts_with("http://") || url.starts_with("https://") {
            images.push(ImageData::Url(url));
        } else {
            return Err(Error::Decode {
                what: format!("image generation response /data/{i}"),
                message: "image has neither b64_json nor an http(s) or data: url".into(),
            });
        }
    }
    let usage = wire.usage.map_or_else(Usage::default, |u| Usage {
        prompt_tokens: u.input_tokens.unwrap_or(0),
        completion_tokens: u.output_tokens.unwrap_or(0),
        cached_tokens: 0,
    });
    Ok(ParsedImages {
        images,
        revised_prompt,
        usage,
        quality: wire.quality,
        size: wire.size,
        format_mime: declared,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_by_model_family() {
        let mut r = ImageRequest::new("a cat");
        r.output_format = Some("jpg".into());
        r.background = Some("transparent".into());
        r.quality = Some("high".into());
        let b = image_body(&r, "gpt-image-1").unwrap();
        assert_eq!(b["output_format"], "jpeg");
        assert_eq!(b["background"], "transparent");
        assert!(b.get("response_format").is_none());
        let b = image_body(&r, "dall-e-3").unwrap();
        assert_eq!(b["response_format"], "b64_json");
        assert!(b.get("output_format").is_none() && b.get("background").is_none());
        r.output_format = Some("bmp".into());
        assert!(image_body(&r, "gpt-image-1").is_err());
        assert!(image_body(&ImageRequest::new("  "), "gpt-image-1").is_err());
        let mut r = ImageRequest::new("x");
        r.n = Some(11);
        assert!(image_body(&r, "dall-e-2").is_err());
    }

    #[test]
    fn parses_and_sniffs() {
        let png = promptkit_core::encode_base64(b"\x89PNG\r\n\x1a\nrest");
        let body = format!(
            r#"{{"created":1,"data":[{{"b64_json":"{png}","revised_prompt":"rp"}}],"output_format":"webp"}}"#
        );
        let p = parse_images(body.as_bytes(), None).unwrap();
        let ImageData::Inline(m) = &p.images[0] else {
            panic!()
        };
        assert_eq!(
            &*m.mime_type, "image/png",
            "bytes win over the declared format"
        );
        assert_eq!(p.revised_prompt.as_deref(), Some("rp"));
        let unknown = promptkit_core::encode_base64(b"????");
        let body = format!(r#"{{"data":[{{"b64_json":"{unknown}"}}]}}"#);
        let p = parse_images(body.as_bytes(), Some("jpeg")).unwrap();
        let ImageData::Inline(m) = &p.images[0] else {
            panic!()
        };
        assert_eq!(&*m.mime_type, "image/jpeg");
        let svg = promptkit_core::encode_base64(b"<svg xmlns='http://www.w3.org/2000/svg'/>");
        let body = format!(
            r#"{{"data":[{{"url":"data:image/svg+xml;base64,{svg}"}},{{"b64_json":"{svg}"}}]}}"#
        );
        let p = parse_images(body.as_bytes(), None).unwrap();
        for img in &p.images {
            let ImageData::Inline(m) = img else { panic!() };
            assert_eq!(&*m.mime_type, "image/svg+xml");
        }
        for bad in [
            &br#"{"data":[]}"#[..],
            br#"{"data":[{"url":"data:image/png;base64,@@"}]}"#,
            br#"{"data":[{"b64_json":"@@@"}]}"#,
            br#"{"data":[{"url":"file:///etc/passwd"}]}"#,
            br#"{"data":[{"b64_json":""#,
        ] {
            assert!(matches!(parse_images(bad, None), Err(Error::Decode { .. })));
        }
    }
}
