//! Mapping a core [`ChatRequest`] to a Chat Completions request body.

use promptkit_core::{
    ChatRequest, ContentPart, Error, MediaContent, MediaKind, Message, Role, ToolChoice,
};
use serde_json::{Map, Value, json};

use crate::body::{Blobs, Body};

/// Whether `model` is an o-series / GPT-5 reasoning model: these take
/// `max_completion_tokens` (not `max_tokens`) and reject sampling parameters.
///
/// ```
/// use promptkit_provider_openai::is_reasoning_model;
/// assert!(is_reasoning_model("o3-mini"));
/// assert!(is_reasoning_model("gpt-5-2025-08-07"));
/// assert!(!is_reasoning_model("gpt-5-chat-latest"));
/// assert!(!is_reasoning_model("gpt-4o"));
/// ```
pub fn is_reasoning_model(model: &str) -> bool {
    let m = model
        .rsplit('/')
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    let o_series = ["o1", "o3", "o4"]
        .iter()
        .any(|p| m == *p || m.starts_with(&format!("{p}-")));
    let gpt5 = (m == "gpt-5" || m.starts_with("gpt-5-")) && !m.starts_with("gpt-5-chat");
    o_series || gpt5
}

fn field(i: usize, j: Option<usize>) -> Option<String> {
    Some(match j {
        Some(j) => format!("/messages/{i}/parts/{j}"),
        None => format!("/messages/{i}"),
    })
}

/// Media that Chat Completions can take in a user message, as a content part.
/// Inline bytes go into `blobs` and the part holds a placeholder for them.
fn media_part(
    m: &MediaContent,
    at: Option<String>,
    doc_n: usize,
    blobs: &mut Blobs,
) -> Result<Value, Error> {
    let data_url = |blobs: &mut Blobs| {
        m.data
            .clone()
            .map(|d| blobs.placeholder(format!("data:{};base64,", m.mime_type), d))
    };
    let inline = match m.kind() {
        MediaKind::Image | MediaKind::Document => data_url(blobs),
        _ => None,
    };
    if m.data.is_none() && m.url.is_none() && m.storage_reference.is_some() {
        return Err(Error::invalid_input(
            at,
            "media is only a storage reference; rehydrate it (load the bytes from the media \
             store) before sending it to the provider",
        ));
    }
    match m.kind() {
        MediaKind::Image => {
            let url = inline
                .or_else(|| m.url.as_deref().map(str::to_owned))
                .ok_or_else(|| {
                    Error::invalid_input(at.clone(), "image has neither bytes nor a URL")
                })?;
            let mut image_url = json!({ "url": url });
            if let Some(d) = &m.detail {
                if !matches!(&**d, "auto" | "low" | "high") {
                    return Err(Error::invalid_input(
                        at,
                        format!("image detail {d:?} is not one of auto, low, high"),
                    ));
                }
                image_url["detail"] = json!(d);
            }
            Ok(json!({"type": "image_url", "image_url": image_url}))
        }
        MediaKind::Audio => {
            let format = match m.mime_type.to_ascii_lowercase().as_str() {
                "audio/wav" | "audio/x-wav" | "audio/wave" | "audio/vnd.wave" => "wav",
                "audio/mpeg" | "audio/mp3" | "audio/mpeg3" => "mp3",
                other => {
                    return Err(Error::invalid_input(
                        at,
                        format!(
                            "audio type {other} is not accepted by Chat Completions (wav or mp3 only)"
                        ),
                    ));
                }
            };
            let data = m
                .data
                .clone()
                .map(|d| blobs.placeholder(String::new(), d))
                .ok_or_else(|| {
                    Error::invalid_input(at, "audio must be sent inline (input_audio takes no URL)")
                })?;
            Ok(json!({"type": "input_audio", "input_audio": {"data": data, "format": format}}))
        }
        MediaKind::Document if m.mime_type.eq_ignore_ascii_case("application/pdf") => {
            let data = inline
                .ok_or_else(|| Error::invalid_input(at, "PDF documents must be sent inline"))?;
            Ok(json!({"type": "file", "file": {
                "filename": format!("document-{doc_n}.pdf"),
                "file_data": data
            }}))
        }
        _ => Err(Error::invalid_input(
            at,
            format!(
                "{} is not accepted by Chat Completions (images, wav/mp3 audio and PDF only)",
                m.mime_type
            ),
        )),
    }
}

/// A user message's `content`: a plain string when it is text only.
fn user_content(msg: &Message, i: usize, blobs: &mut Blobs) -> Result<Value, Error> {
    if msg.parts.iter().all(|p| p.as_media().is_none()) {
        return Ok(json!(msg.text()));
    }
    let mut parts = Vec::new();
    for (j, p) in msg.parts.iter().enumerate() {
        match p {
            ContentPart::Text { text } => parts.push(json!({"type": "text", "text": text})),
            ContentPart::Media { media } => {
                parts.push(media_part(media, field(i, Some(j)), j, blobs)?)
            }
            _ => {
                return Err(Error::invalid_input(
                    field(i, Some(j)),
                    "unsupported content part",
                ));
            }
        }
    }
    Ok(Value::Array(parts))
}

/// What becomes of media in tool results and assistant messages, where Chat
/// Completions accepts only text.
///
/// The default, [`Describe`](ToolResultMedia::Describe), tells the model what
/// the tool produced (type, size, dimensions, storage reference) in the tool
/// message itself, and sends no pixels: the conversation still ends in the
/// tool message, as agent-loop servers and small local models expect, and
/// generated images are not billed again as input. Ask for the pixels with
/// [`FollowUpUserMessage`](ToolResultMedia::FollowUpUserMessage) when the model
/// must look at what a tool made.
///
/// ```
/// use promptkit_provider_openai::{OpenAiProvider, ToolResultMedia};
/// assert_eq!(ToolResultMedia::default(), ToolResultMedia::Describe);
/// let p = OpenAiProvider::builder()
///     .with_api_key("k")
///     .with_tool_result_media(ToolResultMedia::FollowUpUserMessage) // the model sees the image
///     .build()
///     .unwrap();
/// # let _ = p;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ToolResultMedia {
    /// Each item is described in the message's text: MIME type, size in bytes,
    /// width and height of images (read from their header), and the storage
    /// reference when the item is in the media store. No pixels are sent.
    #[default]
    Describe,
    /// Sent in one user message right after the run of tool results, labelled
    /// with the tool and call id, so the model sees e.g. the image it generated.
    /// Costs the media's input tokens on every request that carries it, and
    /// servers that answer in text only after a tool message (llmock's default,
    /// many agent loops) call the tool again.
    FollowUpUserMessage,
    /// Not sent; the message's text says how many items were left out.
    Omit,
}

/// One line telling the model about a media item it is not shown.
fn describe(m: &MediaContent) -> String {
    let size = m.data.as_ref().map_or(m.size_bytes, |d| d.len() as u64);
    let mut line = format!("[{}, {size} bytes", m.mime_type);
    if let Some((w, h)) = m.data.as_deref().and_then(crate::image_dimensions) {
        line.push_str(&format!(", {w}x{h} px"));
    }
    match (&m.storage_reference, &m.url) {
        (Some(r), _) => line.push_str(&format!(", stored as {r}")),
        (None, Some(u)) if !u.starts_with("data:") => line.push_str(&format!(", at {u}")),
        _ => {}
    }
    line.push_str("; described, not attached]");
    line
}

/// Options of one request body.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BodyOptions {
    pub(crate) stream: bool,
    pub(crate) parallel_tool_calls: Option<bool>,
    pub(crate) tool_media: ToolResultMedia,
}

/// Media that must travel in a follow-up user message (tool results and
/// assistant messages accept text only).
struct Deferred {
    label: String,
    parts: Vec<Value>,
}

fn defer_media(
    msg: &Message,
    i: usize,
    label: String,
    mode: ToolResultMedia,
    blobs: &mut Blobs,
) -> Result<Option<Deferred>, Error> {
    if mode != ToolResultMedia::FollowUpUserMessage {
        return Ok(None);
    }
    let mut parts = Vec::new();
    for (j, p) in msg.parts.iter().enumerate() {
        if let Some(m) = p.as_media() {
            parts.push(media_part(m, field(i, Some(j)), j, blobs)?);
        }
    }
    Ok((!parts.is_empty()).then_some(Deferred { label, parts }))
}

fn flush(out: &mut Vec<Value>, pending: &mut Vec<Deferred>) {
    if pending.is_empty() {
        return;
    }
    let mut content = Vec::new();
    for d in pending.drain(..) {
        content.push(json!({"type": "text", "text": d.label}));
        content.extend(d.parts);
    }
    out.push(json!({"role": "user", "content": content}));
}

/// The text of a tool result or assistant message with media: its own text,
/// then what became of the media.
fn media_note(msg: &Message, mode: ToolResultMedia) -> String {
    let text = msg.text();
    let n = msg.media().count();
    if n == 0 {
        return text;
    }
    let note = match mode {
        ToolResultMedia::Omit => format!("[{n} media item(s) not shown]"),
        ToolResultMedia::FollowUpUserMessage => {
            format!("[{n} media item(s) attached in the next user message]")
        }
        ToolResultMedia::Describe => msg.media().map(describe).collect::<Vec<_>>().join("\n"),
    };
    if text.is_empty() {
        note
    } else {
        format!("{text}\n\n{note}")
    }
}

/// The `messages` array.
///
/// Tool results and assistant messages can only carry text in Chat
/// Completions, so their media (e.g. a generated image) is sent in one user
/// message placed right after the run of tool messages (never between an
/// assistant's `tool_calls` and its results, which the API forbids), with a
/// text label saying where it came from; or left out with [`ToolResultMedia::Omit`].
pub(crate) fn messages(
    req: &ChatRequest,
    mode: ToolResultMedia,
    blobs: &mut Blobs,
) -> Result<Vec<Value>, Error> {
    if req.messages.is_empty() {
        return Err(Error::invalid_input(
            Some("/messages".into()),
            "a chat request needs at least one message",
        ));
    }
    let mut out = Vec::with_capacity(req.messages.len());
    let mut pending: Vec<Deferred> = Vec::new();
    for (i, msg) in req.messages.iter().enumerate() {
        if msg.role != Role::Tool {
            flush(&mut out, &mut pending);
        }
        let n_media = msg.media().count();
        match msg.role {
            Role::System => {
                if n_media > 0 {
                    return Err(Error::invalid_input(
                        field(i, None),
                        "system messages can only contain text",
                    ));
                }
                out.push(json!({"role": "system", "content": msg.text()}));
            }
            Role::User => {
                out.push(json!({"role": "user", "content": user_content(msg, i, blobs)?}))
            }
            Role::Assistant => {
                let deferred = defer_media(
                    msg,
                    i,
                    "Media from the assistant's previous message:".into(),
                    mode,
                    blobs,
                )?;
                let text = media_note(msg, mode);
                let mut o = Map::new();
                o.insert("role".into(), json!("assistant"));
                if text.is_empty() && !msg.tool_calls.is_empty() {
                    o.insert("content".into(), Value::Null);
                } else {
                    o.insert("content".into(), json!(text));
                }
                if !msg.tool_calls.is_empty() {
                    let calls: Vec<Value> = msg
                        .tool_calls
                        .iter()
                        .map(|c| {
                            json!({"id": c.id, "type": "function",
                                   "function": {"name": c.name, "arguments": c.arguments}})
                        })
                        .collect();
                    o.insert("tool_calls".into(), Value::Array(calls));
                }
                out.push(Value::Object(o));
                pending.extend(deferred);
            }
            Role::Tool => {
                let id = msg.tool_call_id.clone().ok_or_else(|| {
                    Error::invalid_input(field(i, None), "a tool result message needs tool_call_id")
                })?;
                let name = msg.name.as_deref().unwrap_or("tool");
                let label = format!("Media returned by the tool `{name}` (call {id}):");
                let deferred = defer_media(msg, i, label, mode, blobs)?;
                let text = media_note(msg, mode);
                out.push(json!({"role": "tool", "tool_call_id": id, "content": text}));
                pending.extend(deferred);
            }
        }
    }
    flush(&mut out, &mut pending);
    Ok(out)
}

/// The full request body for `model`.
pub(crate) fn chat_body(req: &ChatRequest, model: &str, opts: BodyOptions) -> Result<Body, Error> {
    let mut blobs = Blobs::new();
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert(
        "messages".into(),
        Value::Array(messages(req, opts.tool_media, &mut blobs)?),
    );
    if !req.tools.is_empty() {
        let mut tools = Vec::new();
        for (k, t) in req.tools.iter().enumerate() {
            if t.name.is_empty() {
                return Err(Error::invalid_input(
                    Some(format!("/tools/{k}/name")),
                    "tool name is empty",
                ));
            }
            let params = match &t.parameters {
                Value::Null => json!({"type": "object", "properties": {}}),
                Value::Object(_) => t.parameters.clone(),
                _ => {
                    return Err(Error::invalid_input(
                        Some(format!("/tools/{k}/parameters")),
                        "tool parameters must be a JSON Schema object",
                    ));
                }
            };
            let mut f = Map::new();
            f.insert("name".into(), json!(t.name));
            if !t.description.is_empty() {
                f.insert("description".into(), json!(t.description));
            }
            f.insert("parameters".into(), params);
            tools.push(json!({"type": "function", "function": f}));
        }
        body.insert("tools".into(), Value::Array(tools));
        if let Some(choice) = &req.tool_choice {
            let v = match choice {
                ToolChoice::Auto => json!("auto"),
                ToolChoice::None => json!("none"),
                ToolChoice::Required => json!("required"),
                ToolChoice::Named(n) => {
                    if !req.tools.iter().any(|t| &t.name == n) {
                        return Err(Error::invalid_input(
                            Some("/tool_choice".into()),
                            format!("tool_choice names {n:?}, which is not among the tools"),
                        ));
                    }
                    json!({"type": "function", "function": {"name": n}})
                }
            };
            body.insert("tool_choice".into(), v);
        }
        if let Some(p) = opts.parallel_tool_calls {
            body.insert("parallel_tool_calls".into(), json!(p));
        }
    }
    let p = &req.parameters;
    let reasoning = is_reasoning_model(model);
    if let Some(max) = p.max_tokens {
        let key = if reasoning {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        body.insert(key.into(), json!(max));
    }
    let sampling = [
        ("temperature", p.temperature),
        ("top_p", p.top_p),
        ("frequency_penalty", p.frequency_penalty),
        ("presence_penalty", p.presence_penalty),
    ];
    for (key, v) in sampling {
        let Some(v) = v else { continue };
        if !v.is_finite() {
            return Err(Error::invalid_input(
                Some(format!("/parameters/{key}")),
                format!("{key} must be a finite number"),
            ));
        }
        if reasoning {
            tracing::debug!(
                model,
                key,
                "not sent: reasoning models reject sampling parameters"
            );
        } else {
            body.insert(key.into(), json!(v));
        }
    }
    if !p.stop.is_empty() {
        body.insert("stop".into(), json!(p.stop));
    }
    if let Some(seed) = p.seed {
        body.insert("seed".into(), json!(seed));
    }
    if opts.stream {
        body.insert("stream".into(), json!(true));
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Ok(Body::new(Value::Object(body), blobs))
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use promptkit_core::{ToolCall, ToolDefinition};

    use super::*;

    fn png() -> ContentPart {
        ContentPart::media(MediaContent::from_bytes(
            "image/png",
            Bytes::from_static(b"\x89PNG\r\n\x1a\n"),
        ))
    }

    #[test]
    fn null_tool_parameters_become_an_empty_object_schema() {
        let mut req = ChatRequest::new(vec![Message::user("x")]);
        req.tools = vec![ToolDefinition {
            name: "now".into(),
            description: String::new(),
            parameters: Value::Null,
        }];
        let opts = BodyOptions {
            parallel_tool_calls: Some(false),
            ..BodyOptions::default()
        };
        let body = chat_body(&req, "gpt-4o", opts).unwrap();
        assert_eq!(
            body.value["tools"][0]["function"],
            json!({"name": "now", "parameters": {"type": "object", "properties": {}}})
        );
        assert_eq!(body.value["parallel_tool_calls"], false);
        req.tools[0].parameters = json!("not a schema");
        assert!(chat_body(&req, "gpt-4o", BodyOptions::default()).is_err());
    }

    #[test]
    fn assistant_media_follows_after_the_tool_results() {
        let call = ToolCall {
            id: "c1".into(),
            name: "draw".into(),
            arguments: "{}".into(),
        };
        let mut assistant = Message::assistant_tool_calls(Some("drawing".into()), vec![call]);
        assistant.push_part(png());
        let req = ChatRequest::new(vec![
            Message::user("draw"),
            assistant,
            Message::tool_result("c1", "draw", vec![ContentPart::text("ok")]),
            Message::user("thanks"),
        ]);
        let msgs = messages(
            &req,
            ToolResultMedia::FollowUpUserMessage,
            &mut Blobs::new(),
        )
        .unwrap();
        let roles: Vec<&str> = msgs.iter().map(|m| m["role"].as_str().unwrap()).collect();
        assert_eq!(roles, ["user", "assistant", "tool", "user", "user"]);
        assert!(
            msgs[1]["content"]
                .as_str()
                .unwrap()
                .starts_with("drawing\n\n[1 media")
        );
        assert_eq!(msgs[3]["content"][1]["type"], "image_url");
        assert_eq!(msgs[4]["content"], "thanks");

        let omitted = messages(&req, ToolResultMedia::Omit, &mut Blobs::new()).unwrap();
        let roles: Vec<&str> = omitted
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["user", "assistant", "tool", "user"]);
        assert!(
            omitted[1]["content"]
                .as_str()
                .unwrap()
                .contains("1 media item(s) not shown")
        );
    }

    #[test]
    fn tool_media_is_described_by_default_and_the_tool_message_stays_last() {
        let mut ihdr = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        ihdr.extend_from_slice(&1024u32.to_be_bytes());
        ihdr.extend_from_slice(&1536u32.to_be_bytes());
        let generated = MediaContent::from_bytes("image/png", ihdr.clone());
        let stored = MediaContent::from_reference(
            "image/png",
            promptkit_core::StorageReference::new("file:ab/cd.png").unwrap(),
            2_000_000,
        );
        let call = ToolCall {
            id: "c1".into(),
            name: "draw".into(),
            arguments: "{}".into(),
        };
        let req = ChatRequest::new(vec![
            Message::user("draw"),
            Message::assistant_tool_calls(None, vec![call]),
            Message::tool_result(
                "c1",
                "draw",
                vec![
                    ContentPart::text("Generated 2 image(s)"),
                    ContentPart::media(generated),
                    ContentPart::media(stored),
                ],
            ),
        ]);
        let mut blobs = Blobs::new();
        let msgs = messages(&req, ToolResultMedia::default(), &mut blobs).unwrap();
        assert_eq!(msgs.len(), 3, "no follow-up message: {msgs:?}");
        assert_eq!(msgs[2]["role"], "tool");
        let text = msgs[2]["content"].as_str().unwrap();
        let expected = format!(
            "Generated 2 image(s)\n\n[image/png, {} bytes, 1024x1536 px; described, not attached]\n\
             [image/png, 2000000 bytes, stored as file:ab/cd.png; described, not attached]",
            ihdr.len()
        );
        assert_eq!(text, expected);
        assert!(blobs.is_empty(), "no pixels in the body");
    }

    #[test]
    fn malformed_messages_are_rejected_with_their_pointer() {
        let mut tool = Message::tool_result("c1", "t", vec![ContentPart::text("x")]);
        tool.tool_call_id = None;
        let err = messages(
            &ChatRequest::new(vec![tool]),
            ToolResultMedia::default(),
            &mut Blobs::new(),
        )
        .unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput { field: Some(ref f), .. } if f == "/messages/0")
        );
        let sys = Message::new(Role::System, vec![png()]);
        assert!(
            messages(
                &ChatRequest::new(vec![sys]),
                ToolResultMedia::default(),
                &mut Blobs::new()
            )
            .is_err()
        );
        let mut req = ChatRequest::new(vec![Message::user("x")]);
        req.parameters.temperature = Some(f64::NAN);
        assert!(chat_body(&req, "gpt-4o", BodyOptions::default()).is_err());
    }

    #[test]
    fn inline_media_is_encoded_once_into_the_body() {
        let wav = MediaContent::from_bytes("audio/wav", Bytes::from_static(b"RIFF\0\0\0\0WAVE"));
        let pdf = MediaContent::from_bytes("application/pdf", Bytes::from_static(b"%PDF-1.4"));
        let mut rehydrated =
            MediaContent::from_bytes("image/png", Bytes::from_static(b"\x89PNG\r\n\x1a\n-again"));
        rehydrated.storage_reference =
            Some(promptkit_core::StorageReference::new("file:x").unwrap());
        let req = ChatRequest::new(vec![Message::new(
            Role::User,
            vec![
                ContentPart::text("look"),
                png(),
                ContentPart::media(wav.clone()),
                ContentPart::media(pdf.clone()),
                ContentPart::media(rehydrated.clone()),
            ],
        )]);
        let body = chat_body(&req, "gpt-4o", BodyOptions::default()).unwrap();
        let sent: Value = serde_json::from_slice(&body.encode().unwrap().collect()).unwrap();
        let parts = &sent["messages"][0]["content"];
        assert_eq!(parts[0], json!({"type": "text", "text": "look"}));
        assert_eq!(
            parts[1]["image_url"]["url"],
            MediaContent::from_bytes("image/png", Bytes::from_static(b"\x89PNG\r\n\x1a\n"))
                .to_data_url()
                .unwrap()
        );
        assert_eq!(parts[2]["input_audio"]["data"], wav.to_base64().unwrap());
        assert_eq!(parts[3]["file"]["file_data"], pdf.to_data_url().unwrap());
        assert_eq!(
            parts[4]["image_url"]["url"],
            rehydrated.to_data_url().unwrap()
        );
    }
}
