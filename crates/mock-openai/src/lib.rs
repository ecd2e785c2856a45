//! A scripted OpenAI-compatible HTTP server for tests.
//!
//! [`MockOpenAi::start`] binds 127.0.0.1 on a free port and answers
//! `POST …/chat/completions` and `POST …/images/generations` from a [`Script`] of
//! [`Reply`]s: text, (parallel) tool calls, SSE streams (when the request says
//! `"stream": true`), real PNG images as `b64_json` (or URLs it serves), OpenAI-style
//! errors with any status, `Retry-After` and other headers, delays, truncated JSON
//! and cut-off streams. Every request is recorded ([`MockOpenAi::requests`]) and
//! every JSON body or SSE chunk it returned too ([`MockOpenAi::responses`]), so a
//! test can assert on exactly what the client sent and validate both sides
//! against the OpenAI spec.
//!
//! Any path ending in `/chat/completions` or `/images/generations` is accepted,
//! so Azure-style deployment URLs
//! (`/openai/deployments/NAME/chat/completions?api-version=…`) work too.
//!
//! ```
//! use promptkit_mock_openai::{MockOpenAi, Reply, Script};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let mock = MockOpenAi::start(Script::new().then(Reply::text("hi"))).await.unwrap();
//! assert!(mock.base_url().starts_with("http://127.0.0.1:"));
//! assert!(mock.base_url().ends_with("/v1"));
//! assert!(mock.requests().is_empty());
//! # });
//! ```
#![warn(missing_docs, unreachable_pub)]
#![deny(rustdoc::broken_intra_doc_links)]

mod echo;
mod png;
mod render;
mod script;
mod server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::Value;

pub use png::png_bytes;
pub use script::{MockToolCall, MockUsage, Reply, Script};
use server::{Shared, lock};

/// Largest request body the mock accepts (axum's default is 2 MB).
const MAX_REQUEST_BODY: usize = 512 * 1024 * 1024;

/// One request the mock received.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// URL path (`/v1/chat/completions`).
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// All request headers (names lowercase), including credentials: keep
    /// recordings inside tests.
    pub headers: Vec<(String, String)>,
    /// The JSON body (`Null` when the body was empty or not JSON).
    pub body: Value,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One answer the mock gave to a scripted endpoint.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RecordedResponse {
    /// URL path of the request.
    pub path: String,
    /// HTTP status.
    pub status: u16,
    /// The JSON body, for non-streamed answers whose body is JSON.
    pub body: Option<Value>,
    /// The `chat.completion.chunk` objects of a streamed answer (as sent,
    /// including any cut-off).
    pub chunks: Vec<Value>,
}

/// A running mock server; stops when dropped.
#[derive(Debug)]
pub struct MockOpenAi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl MockOpenAi {
    /// Starts a server on 127.0.0.1 (a free port) with this script.
    /// Must be called inside a Tokio runtime.
    pub async fn start(script: Script) -> std::io::Result<MockOpenAi> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), script).await
    }

    /// Starts a server on `addr` (port 0 picks a free one).
    pub async fn start_on(addr: SocketAddr, script: Script) -> std::io::Result<MockOpenAi> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        *lock(&shared.script) = script;
        *lock(&shared.root_url) = format!("http://{addr}");
        // Chat requests carrying image history are far above axum's 2 MB
        // default; OpenAI itself accepts much larger bodies.
        let app = axum::Router::new()
            .fallback(server::handle)
            .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BODY))
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("mock-openai: server stopped: {e}");
            }
        });
        Ok(MockOpenAi { addr, shared, task })
    }

    /// The socket address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/v1`, the value for `OPENAI_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// `http://127.0.0.1:PORT` (for Azure-style paths).
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Appends a reply to the script.
    pub fn push(&self, reply: Reply) {
        lock(&self.shared.script).replies.push_back(reply);
    }

    /// Serves `bytes` at `GET /v1/files/NAME` and returns that URL.
    pub fn serve_file(&self, name: &str, bytes: impl Into<bytes::Bytes>) -> String {
        lock(&self.shared.files).insert(name.to_string(), bytes.into());
        format!("{}/v1/files/{name}", self.root_url())
    }

    /// Replies not yet used.
    pub fn remaining(&self) -> usize {
        lock(&self.shared.script).replies.len()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Every answer given to a chat or image request so far, in order.
    pub fn responses(&self) -> Vec<RecordedResponse> {
        lock(&self.shared.responses).clone()
    }

    /// How many SSE streams the client dropped before their end.
    pub fn cancelled_streams(&self) -> usize {
        self.shared.cancelled_streams.load(Ordering::SeqCst)
    }
}

impl Drop for MockOpenAi {
    fn drop(&mut self) {
        self.task.abort();
    }
}
