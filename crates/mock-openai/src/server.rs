//! The axum handler: records every request, answers from the script.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::png::{png_bytes, seed_of};
use crate::render::{self, ChatReply, ImageItem};
use crate::script::{MockUsage, Reply, ReplyKind, Script};
use crate::{RecordedRequest, RecordedResponse};

/// State shared by the handler and the [`crate::MockOpenAi`] handle.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) script: Mutex<Script>,
    pub(crate) requests: Mutex<Vec<RecordedRequest>>,
    pub(crate) responses: Mutex<Vec<RecordedResponse>>,
    pub(crate) files: Mutex<HashMap<String, Bytes>>,
    pub(crate) root_url: Mutex<String>,
    pub(crate) counter: AtomicU64,
    pub(crate) cancelled_streams: AtomicUsize,
}

/// Locks a mutex, ignoring poisoning (a panicking test must not hide the log).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn json_response(status: u16, body: &Value, headers: &[(String, String)]) -> Response {
    raw_response(status, "application/json", body.to_string(), headers)
}

fn raw_response(
    status: u16,
    content_type: &str,
    body: impl Into<Body>,
    headers: &[(String, String)],
) -> Response {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            resp.headers_mut().append(k, v);
        }
    }
    resp
}

/// The single handler for every route.
pub(crate) async fn handle(
    State(st): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    lock(&st.requests).push(RecordedRequest {
        method: method.to_string(),
        path: path.clone(),
        query: uri.query().map(str::to_string),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
            .collect(),
        body: parsed.clone(),
    });

    if method == Method::GET {
        if let Some(id) = path.rsplit_once("/files/").map(|(_, id)| id.to_string()) {
            let file = lock(&st.files).get(&id).cloned();
            return match file {
                Some(bytes) => raw_response(200, "image/png", bytes, &[]),
                None => json_response(404, &render::error_body(404, "no such file", None), &[]),
            };
        }
        if path.ends_with("/models") {
            let data = json!({"object": "list", "data": [
                {"id": "gpt-4o", "object": "model", "created": 0, "owned_by": "mock"},
                {"id": "gpt-image-1", "object": "model", "created": 0, "owned_by": "mock"}
            ]});
            return json_response(200, &data, &[]);
        }
    }
    let endpoint = if method == Method::POST && path.ends_with("/chat/completions") {
        Endpoint::Chat
    } else if method == Method::POST && path.ends_with("/images/generations") {
        Endpoint::Images
    } else {
        let body = render::error_body(404, &format!("mock-openai: no route {method} {path}"), None);
        return json_response(404, &body, &[]);
    };

    let reply = lock(&st.script).next();
    let Some(reply) = reply else {
        let body = render::error_body(
            400,
            "mock-openai: the script has no reply left",
            Some("script_exhausted"),
        );
        st.record(&path, 400, Some(body.clone()), Vec::new());
        return json_response(400, &body, &[]);
    };
    if let Some(d) = reply.delay {
        tokio::time::sleep(d).await;
    }
    match endpoint {
        Endpoint::Chat => chat(&st, &path, &parsed, reply),
        Endpoint::Images => images(&st, &path, &parsed, reply),
    }
}

#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Chat,
    Images,
}

impl Shared {
    fn record(&self, path: &str, status: u16, body: Option<Value>, chunks: Vec<Value>) {
        lock(&self.responses).push(RecordedResponse {
            path: path.to_string(),
            status,
            body,
            chunks,
        });
    }

    fn next_id(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// Answers that do not depend on the endpoint (errors, raw bodies); `None` otherwise.
fn common(st: &Shared, path: &str, reply: &Reply) -> Option<Response> {
    match &reply.kind {
        ReplyKind::Error {
            status,
            message,
            code,
        } => {
            let body = render::error_body(*status, message, code.as_deref());
            st.record(path, *status, Some(body.clone()), Vec::new());
            Some(json_response(*status, &body, &reply.headers))
        }
        ReplyKind::Raw {
            status,
            content_type,
            body,
        } => {
            st.record(path, *status, serde_json::from_str(body).ok(), Vec::new());
            Some(raw_response(
                *status,
                content_type,
                body.clone(),
                &reply.headers,
            ))
        }
        _ => None,
    }
}

fn mismatch(st: &Shared, path: &str, what: &str) -> Response {
    let body = render::error_body(
        400,
        &format!("mock-openai: the next scripted reply is {what}, not for {path}"),
        Some("script_mismatch"),
    );
    st.record(path, 400, Some(body.clone()), Vec::new());
    json_response(400, &body, &[])
}

fn chat(st: &Arc<Shared>, path: &str, req: &Value, reply: Reply) -> Response {
    if let Some(r) = common(st, path, &reply) {
        return r;
    }
    let (text, calls) = match &reply.kind {
        ReplyKind::Text(t) => (Some(t.clone()), Vec::new()),
        ReplyKind::ToolCalls { text, calls } => (text.clone(), calls.clone()),
        ReplyKind::Echo => {
            crate::echo::reply(req, st.next_id(), crate::echo::ToolRule::OncePerTurn)
        }
        ReplyKind::AgentLoop => crate::echo::reply(
            req,
            st.next_id(),
            crate::echo::ToolRule::UntilToolMessageIsLast,
        ),
        _ => return mismatch(st, path, "an image reply"),
    };
    let out_chars = text.as_deref().map_or(0, str::len)
        + calls.iter().map(|c| c.arguments.len()).sum::<usize>();
    let usage = reply.usage.unwrap_or(MockUsage {
        prompt_tokens: (req.to_string().len() / 4) as u64 + 1,
        completion_tokens: (out_chars / 4) as u64 + 1,
        cached_tokens: 0,
    });
    let natural = if calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    let r = ChatReply {
        id: format!("chatcmpl-mock-{}", st.next_id()),
        created: now(),
        model: reply.model.clone().unwrap_or_else(|| {
            req.get("model")
                .and_then(Value::as_str)
                .unwrap_or("gpt-4o")
                .to_string()
        }),
        text,
        calls,
        usage,
        finish_reason: reply
            .finish_reason
            .clone()
            .unwrap_or_else(|| natural.into()),
    };
    if req.get("stream").and_then(Value::as_bool) != Some(true) {
        let body = render::chat_completion(&r);
        st.record(path, 200, Some(body.clone()), Vec::new());
        return json_response(200, &body, &reply.headers);
    }
    let include_usage = req
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        == Some(true);
    let mut chunks = render::chat_chunks(&r, include_usage);
    let cut = reply.stream_cut_after.is_some_and(|n| n < chunks.len());
    if let Some(n) = reply.stream_cut_after {
        chunks.truncate(n);
    }
    st.record(path, 200, None, chunks.clone());
    let mut frames: Vec<Bytes> = chunks
        .iter()
        .map(|c| Bytes::from(format!("data: {c}\n\n")))
        .collect();
    if !cut {
        frames.push(Bytes::from_static(b"data: [DONE]\n\n"));
    }
    let guard = StreamGuard {
        shared: Arc::clone(st),
        finished: false,
    };
    let delay = reply.chunk_delay.unwrap_or(Duration::ZERO);
    let stream = futures::stream::unfold(
        (frames.into_iter(), guard, true),
        move |(mut it, mut guard, first)| async move {
            let frame = match it.next() {
                Some(f) => f,
                None => {
                    guard.finish();
                    return None;
                }
            };
            if !first && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Some((Ok::<_, Infallible>(frame), (it, guard, false)))
        },
    );
    raw_response(
        200,
        "text/event-stream",
        Body::from_stream(stream),
        &reply.headers,
    )
}

/// Counts SSE bodies dropped before their last frame (client went away).
struct StreamGuard {
    shared: Arc<Shared>,
    finished: bool,
}

impl StreamGuard {
    fn finish(&mut self) {
        self.finished = true;
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.shared.cancelled_streams.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn images(st: &Shared, path: &str, req: &Value, reply: Reply) -> Response {
    if let Some(r) = common(st, path, &reply) {
        return r;
    }
    let (explicit, revised) = match &reply.kind {
        ReplyKind::Images {
            images,
            revised_prompt,
        } => (images.clone(), revised_prompt.clone()),
        ReplyKind::Echo | ReplyKind::AgentLoop => (None, None),
        _ => return mismatch(st, path, "a chat reply"),
    };
    let prompt = req.get("prompt").and_then(Value::as_str).unwrap_or("");
    let model = req
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("dall-e-2");
    let gpt_image = !model.starts_with("dall-e");
    let n = req
        .get("n")
        .and_then(Value::as_u64)
        .unwrap_or(1)
        .clamp(1, 10);
    let images = explicit.unwrap_or_else(|| {
        (0..n)
            .map(|i| Bytes::from(png_bytes(64, 64, seed_of(prompt).wrapping_add(i))))
            .collect()
    });
    let as_b64 =
        gpt_image || req.get("response_format").and_then(Value::as_str) == Some("b64_json");
    let root = lock(&st.root_url).clone();
    let items: Vec<ImageItem> = images
        .into_iter()
        .map(|bytes| {
            if as_b64 {
                ImageItem {
                    b64_json: Some(base64::engine::general_purpose::STANDARD.encode(&bytes)),
                    url: None,
                    revised_prompt: revised.clone(),
                }
            } else {
                let id = format!("img-{}.png", st.next_id());
                lock(&st.files).insert(id.clone(), bytes);
                ImageItem {
                    b64_json: None,
                    url: Some(format!("{root}/v1/files/{id}")),
                    revised_prompt: revised.clone(),
                }
            }
        })
        .collect();
    let usage = reply.usage.unwrap_or(MockUsage {
        prompt_tokens: (prompt.len() / 4) as u64 + 1,
        completion_tokens: 272 * items.len() as u64,
        cached_tokens: 0,
    });
    let format = req
        .get("output_format")
        .and_then(Value::as_str)
        .unwrap_or("png");
    let body = render::images_response(now(), &items, gpt_image.then_some((format, &usage)));
    st.record(path, 200, Some(body.clone()), Vec::new());
    json_response(200, &body, &reply.headers)
}
