//! What the mock answers: a queue of [`Reply`]s plus an optional fallback.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;

/// A tool call the mock model makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockToolCall {
    /// Call id (`call_...`).
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Arguments JSON text, sent as is (may be deliberately invalid).
    pub arguments: String,
}

/// Token usage the mock reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MockUsage {
    /// `prompt_tokens` (chat) or `input_tokens` (images).
    pub prompt_tokens: u64,
    /// `completion_tokens` (chat) or `output_tokens` (images).
    pub completion_tokens: u64,
    /// `prompt_tokens_details.cached_tokens`.
    pub cached_tokens: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ReplyKind {
    Text(String),
    ToolCalls {
        text: Option<String>,
        calls: Vec<MockToolCall>,
    },
    Images {
        /// Explicit bytes; `None` generates one PNG per requested image.
        images: Option<Vec<Bytes>>,
        revised_prompt: Option<String>,
    },
    Error {
        status: u16,
        message: String,
        code: Option<String>,
    },
    Raw {
        status: u16,
        content_type: String,
        body: String,
    },
    Echo,
    AgentLoop,
}

/// One scripted answer of the mock server.
///
/// Chat replies ([`Reply::text`], [`Reply::tool_calls`], [`Reply::echo`]) are sent
/// as Server-Sent Events when the request has `"stream": true`, otherwise as one
/// `chat.completion` JSON object. Modifiers add delays, headers, usage and
/// stream faults.
///
/// ```
/// use std::time::Duration;
/// use promptkit_mock_openai::Reply;
/// let r = Reply::error(429, "slow down").with_retry_after("1");
/// let t = Reply::text("hello").with_usage(10, 2, 4).with_delay(Duration::from_millis(5));
/// # let _ = (r, t);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub(crate) kind: ReplyKind,
    pub(crate) delay: Option<Duration>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) usage: Option<MockUsage>,
    pub(crate) chunk_delay: Option<Duration>,
    pub(crate) stream_cut_after: Option<usize>,
    pub(crate) model: Option<String>,
    pub(crate) finish_reason: Option<String>,
}

impl Reply {
    fn of(kind: ReplyKind) -> Self {
        Reply {
            kind,
            delay: None,
            headers: Vec::new(),
            usage: None,
            chunk_delay: None,
            stream_cut_after: None,
            model: None,
            finish_reason: None,
        }
    }

    /// An assistant text reply.
    pub fn text(text: impl Into<String>) -> Self {
        Self::of(ReplyKind::Text(text.into()))
    }

    /// One tool call (`finish_reason: tool_calls`).
    pub fn tool_call(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        Self::tool_calls(vec![MockToolCall {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
        }])
    }

    /// Several (parallel) tool calls.
    pub fn tool_calls(calls: Vec<MockToolCall>) -> Self {
        Self::of(ReplyKind::ToolCalls { text: None, calls })
    }

    /// Tool calls preceded by some assistant text.
    pub fn text_and_tool_calls(text: impl Into<String>, calls: Vec<MockToolCall>) -> Self {
        Self::of(ReplyKind::ToolCalls {
            text: Some(text.into()),
            calls,
        })
    }

    /// An image-generation answer with real PNGs generated from the prompt
    /// (one per requested `n`), returned as `b64_json` (or as a URL the mock
    /// serves, when a dall-e request does not ask for `b64_json`).
    pub fn generated_images() -> Self {
        Self::of(ReplyKind::Images {
            images: None,
            revised_prompt: None,
        })
    }

    /// An image-generation answer with these exact image bytes.
    pub fn images(images: Vec<Bytes>) -> Self {
        Self::of(ReplyKind::Images {
            images: Some(images),
            revised_prompt: None,
        })
    }

    /// An OpenAI-style error: `{"error": {"message", "type", "code"}}` with `status`.
    pub fn error(status: u16, message: impl Into<String>) -> Self {
        Self::of(ReplyKind::Error {
            status,
            message: message.into(),
            code: None,
        })
    }

    /// A raw body with this status and `Content-Type: application/json`.
    pub fn raw(status: u16, body: impl Into<String>) -> Self {
        Self::raw_with_type(status, "application/json", body)
    }

    /// A raw body with this status and content type.
    pub fn raw_with_type(
        status: u16,
        content_type: impl Into<String>,
        body: impl Into<String>,
    ) -> Self {
        Self::of(ReplyKind::Raw {
            status,
            content_type: content_type.into(),
            body: body.into(),
        })
    }

    /// A `200 OK` whose JSON body is cut off in the middle.
    pub fn truncated_json() -> Self {
        Self::raw(
            200,
            r#"{"id":"chatcmpl-mock","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hel"#,
        )
    }

    /// A small "model" for demos: when tools are offered (and `tool_choice` is not
    /// `none`) it calls one once per user turn, with arguments built from the
    /// tool's JSON Schema (string fields get the user's text); otherwise, and
    /// after tool results, it answers `echo: <last user text>`. Image requests
    /// get generated PNGs.
    pub fn echo() -> Self {
        Self::of(ReplyKind::Echo)
    }

    /// Like [`Reply::echo`], but with the tool rule of llmock's default
    /// `--tool-mode auto` and of many agent-loop servers and small local
    /// models: it calls an offered tool whenever the last message is not a
    /// `tool` message, and answers in text once it is. A client that sends a
    /// user message after the tool results (e.g. with a tool's image) gets
    /// another tool call.
    ///
    /// ```
    /// use promptkit_mock_openai::{Reply, Script};
    /// let like_llmock = Script::new().fallback(Reply::agent_loop());
    /// # let _ = like_llmock;
    /// ```
    pub fn agent_loop() -> Self {
        Self::of(ReplyKind::AgentLoop)
    }

    /// Waits this long before answering (before the status line).
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds a `Retry-After` header (seconds or an HTTP date).
    pub fn with_retry_after(self, value: impl Into<String>) -> Self {
        self.with_header("retry-after", value)
    }

    /// Sets the error `code` of an [`Reply::error`].
    pub fn with_error_code(mut self, code: impl Into<String>) -> Self {
        if let ReplyKind::Error { code: c, .. } = &mut self.kind {
            *c = Some(code.into());
        }
        self
    }

    /// Sets the `revised_prompt` of an image reply.
    pub fn with_revised_prompt(mut self, prompt: impl Into<String>) -> Self {
        if let ReplyKind::Images { revised_prompt, .. } = &mut self.kind {
            *revised_prompt = Some(prompt.into());
        }
        self
    }

    /// Reports this usage instead of an estimate.
    pub fn with_usage(mut self, prompt: u64, completion: u64, cached: u64) -> Self {
        self.usage = Some(MockUsage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            cached_tokens: cached,
        });
        self
    }

    /// Pauses this long between SSE chunks.
    pub fn with_chunk_delay(mut self, delay: Duration) -> Self {
        self.chunk_delay = Some(delay);
        self
    }

    /// Ends the SSE stream abruptly after `chunks` chunks (no finish, no `[DONE]`).
    pub fn with_stream_cut_after(mut self, chunks: usize) -> Self {
        self.stream_cut_after = Some(chunks);
        self
    }

    /// Reports this model name instead of the requested one.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Reports this `finish_reason` instead of the natural one.
    pub fn with_finish_reason(mut self, reason: impl Into<String>) -> Self {
        self.finish_reason = Some(reason.into());
        self
    }
}

/// The replies the mock gives, in order, then the fallback (if any) forever.
///
/// Without a fallback, a request past the end of the script gets
/// `400 {"error": {"code": "script_exhausted"}}` so a test fails fast.
///
/// ```
/// use promptkit_mock_openai::{Reply, Script};
/// let s = Script::new().then(Reply::error(503, "busy")).then(Reply::text("ok"));
/// let echo = Script::new().fallback(Reply::echo());
/// # let _ = (s, echo);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Script {
    pub(crate) replies: VecDeque<Reply>,
    pub(crate) fallback: Option<Reply>,
}

impl Script {
    /// An empty script.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a reply.
    pub fn then(mut self, reply: Reply) -> Self {
        self.replies.push_back(reply);
        self
    }

    /// The reply used once the queue is empty.
    pub fn fallback(mut self, reply: Reply) -> Self {
        self.fallback = Some(reply);
        self
    }

    pub(crate) fn next(&mut self) -> Option<Reply> {
        self.replies.pop_front().or_else(|| self.fallback.clone())
    }
}

impl From<Vec<Reply>> for Script {
    fn from(replies: Vec<Reply>) -> Self {
        Script {
            replies: replies.into(),
            fallback: None,
        }
    }
}
