//! Spec-shaped JSON bodies and SSE chunks for the mock's replies.

use serde_json::{Value, json};

use crate::script::{MockToolCall, MockUsage};

/// What a chat reply consists of, once the script has been resolved.
#[derive(Debug, Clone)]
pub(crate) struct ChatReply {
    pub(crate) id: String,
    pub(crate) created: u64,
    pub(crate) model: String,
    pub(crate) text: Option<String>,
    pub(crate) calls: Vec<MockToolCall>,
    pub(crate) usage: MockUsage,
    pub(crate) finish_reason: String,
}

fn usage_json(u: &MockUsage) -> Value {
    json!({
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.prompt_tokens + u.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0
        }
    })
}

fn tool_calls_json(calls: &[MockToolCall]) -> Value {
    calls
        .iter()
        .map(|c| {
            json!({
                "id": c.id, "type": "function",
                "function": {"name": c.name, "arguments": c.arguments}
            })
        })
        .collect()
}

/// A full `chat.completion` object.
pub(crate) fn chat_completion(r: &ChatReply) -> Value {
    let mut message = json!({
        "role": "assistant",
        "content": r.text,
        "refusal": null,
        "annotations": []
    });
    if !r.calls.is_empty() {
        message["tool_calls"] = tool_calls_json(&r.calls);
    }
    json!({
        "id": r.id,
        "object": "chat.completion",
        "created": r.created,
        "model": r.model,
        "system_fingerprint": "fp_mock",
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": r.finish_reason
        }],
        "usage": usage_json(&r.usage)
    })
}

fn chunk(r: &ChatReply, delta: Value, finish: Option<&str>) -> Value {
    json!({
        "id": r.id,
        "object": "chat.completion.chunk",
        "created": r.created,
        "model": r.model,
        "system_fingerprint": "fp_mock",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
    })
}

/// Splits `s` into pieces of at most `n` characters (never inside a character).
fn pieces(s: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars.chunks(n.max(1)).map(|c| c.iter().collect()).collect()
}

/// The `chat.completion.chunk` objects of a streamed reply, in order (without `[DONE]`).
pub(crate) fn chat_chunks(r: &ChatReply, include_usage: bool) -> Vec<Value> {
    let mut out = vec![chunk(r, json!({"role": "assistant", "content": ""}), None)];
    if let Some(text) = &r.text {
        for p in pieces(text, 4) {
            out.push(chunk(r, json!({"content": p}), None));
        }
    }
    for (i, c) in r.calls.iter().enumerate() {
        out.push(chunk(
            r,
            json!({"tool_calls": [{
                "index": i, "id": c.id, "type": "function",
                "function": {"name": c.name, "arguments": ""}
            }]}),
            None,
        ));
        for p in pieces(&c.arguments, 7) {
            out.push(chunk(
                r,
                json!({"tool_calls": [{"index": i, "function": {"arguments": p}}]}),
                None,
            ));
        }
    }
    out.push(chunk(r, json!({}), Some(&r.finish_reason)));
    if include_usage {
        out.push(json!({
            "id": r.id,
            "object": "chat.completion.chunk",
            "created": r.created,
            "model": r.model,
            "system_fingerprint": "fp_mock",
            "choices": [],
            "usage": usage_json(&r.usage)
        }));
    }
    out
}

/// An OpenAI error body.
pub(crate) fn error_body(status: u16, message: &str, code: Option<&str>) -> Value {
    let kind = match status {
        400 | 404 | 422 => "invalid_request_error",
        401 | 403 => "authentication_error",
        429 => "rate_limit_error",
        _ => "server_error",
    };
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

/// One item of an `ImagesResponse`.
pub(crate) struct ImageItem {
    pub(crate) b64_json: Option<String>,
    pub(crate) url: Option<String>,
    pub(crate) revised_prompt: Option<String>,
}

/// An `ImagesResponse`; `gpt_image` adds the GPT-image-only fields.
pub(crate) fn images_response(
    created: u64,
    items: &[ImageItem],
    gpt_image: Option<(&str, &MockUsage)>,
) -> Value {
    let data: Vec<Value> = items
        .iter()
        .map(|i| {
            let mut o = serde_json::Map::new();
            if let Some(b) = &i.b64_json {
                o.insert("b64_json".into(), json!(b));
            }
            if let Some(u) = &i.url {
                o.insert("url".into(), json!(u));
            }
            if let Some(p) = &i.revised_prompt {
                o.insert("revised_prompt".into(), json!(p));
            }
            Value::Object(o)
        })
        .collect();
    let mut body = json!({"created": created, "data": data});
    if let Some((format, u)) = gpt_image {
        body["output_format"] = json!(format);
        body["usage"] = json!({
            "input_tokens": u.prompt_tokens,
            "output_tokens": u.completion_tokens,
            "total_tokens": u.prompt_tokens + u.completion_tokens,
            "input_tokens_details": {"text_tokens": u.prompt_tokens, "image_tokens": 0}
        });
    }
    body
}
