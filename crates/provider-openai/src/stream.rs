//! Server-Sent Events: parsing, and accumulating chunks into a final response.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use promptkit_core::{ChatResponse, ChatStream, Error, StreamEvent, ToolCall};
use serde::Deserialize;
use serde_json::Value;

use crate::http::Transport;
use crate::pricing::PriceTable;
use crate::response::{WireUsage, arguments_text, assistant_message};

/// Longest SSE line accepted (a guard against a server that never sends `\n`).
const MAX_LINE: usize = 16 * 1024 * 1024;

/// Splits a byte stream into SSE events (the joined `data:` lines of each).
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    buf: Vec<u8>,
    data: Vec<String>,
}

impl SseParser {
    /// Feeds bytes; returns the data of every event completed by them.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<Vec<String>, Error> {
        self.buf.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
            let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8(line).map_err(|e| Error::Decode {
                what: "server-sent event".into(),
                message: format!("line is not UTF-8: {e}"),
            })?;
            self.line(&line, &mut events);
        }
        if self.buf.len() > MAX_LINE {
            return Err(Error::Decode {
                what: "server-sent event".into(),
                message: format!("line longer than {MAX_LINE} bytes"),
            });
        }
        Ok(events)
    }

    fn line(&mut self, line: &str, events: &mut Vec<String>) {
        if line.is_empty() {
            if !self.data.is_empty() {
                events.push(self.data.join("\n"));
                self.data.clear();
            }
        } else if let Some(rest) = line.strip_prefix("data:") {
            self.data
                .push(rest.strip_prefix(' ').unwrap_or(rest).to_string());
        }
        // Comments (`:`), `event:`, `id:` and `retry:` lines carry nothing we use.
    }

    /// The event still open at the end of the stream, if any.
    pub(crate) fn finish(&mut self) -> Option<String> {
        if !self.buf.is_empty() {
            let rest = String::from_utf8_lossy(&std::mem::take(&mut self.buf)).into_owned();
            let rest = rest.trim_end_matches('\r').to_string();
            let mut events = Vec::new();
            self.line(&rest, &mut events);
        }
        (!self.data.is_empty()).then(|| std::mem::take(&mut self.data).join("\n"))
    }
}

#[derive(Debug, Default, Deserialize)]
struct WireChunk {
    model: Option<String>,
    choices: Option<Vec<WireChunkChoice>>,
    usage: Option<WireUsage>,
    error: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
struct WireChunkChoice {
    index: Option<u64>,
    delta: Option<WireDelta>,
    finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct WireDelta {
    content: Option<String>,
    refusal: Option<String>,
    tool_calls: Option<Vec<WireToolDelta>>,
}

#[derive(Debug, Default, Deserialize)]
struct WireToolDelta {
    index: Option<usize>,
    id: Option<String>,
    function: Option<WireFunctionDelta>,
}

#[derive(Debug, Default, Deserialize)]
struct WireFunctionDelta {
    name: Option<String>,
    arguments: Option<Value>,
}

#[derive(Debug, Default)]
struct PartialCall {
    id: Option<String>,
    name: Option<String>,
    arguments: String,
}

/// Accumulates chunks into the final response.
#[derive(Debug)]
pub(crate) struct Accumulator {
    model: String,
    text: String,
    calls: BTreeMap<usize, PartialCall>,
    finish_reason: Option<String>,
    usage: Option<WireUsage>,
}

impl Accumulator {
    pub(crate) fn new(model: &str) -> Self {
        Accumulator {
            model: model.to_string(),
            text: String::new(),
            calls: BTreeMap::new(),
            finish_reason: None,
            usage: None,
        }
    }

    /// Applies one chunk's JSON; returns the events it produces.
    pub(crate) fn apply(&mut self, data: &str, provider: &str) -> Result<Vec<StreamEvent>, Error> {
        let chunk: WireChunk = serde_json::from_str(data).map_err(|e| Error::Decode {
            what: "chat completion chunk".into(),
            message: e.to_string(),
        })?;
        if let Some(err) = chunk.error {
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .map_or_else(|| err.to_string(), str::to_string);
            return Err(Error::Transient {
                provider: provider.to_string(),
                status: None,
                message: format!("error in the stream: {message}"),
                retry_after: None,
            });
        }
        if let Some(m) = chunk.model.filter(|m| !m.is_empty()) {
            self.model = m;
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        let mut events = Vec::new();
        let choices = chunk.choices.unwrap_or_default();
        for choice in choices.into_iter().filter(|c| c.index.unwrap_or(0) == 0) {
            if let Some(r) = choice.finish_reason {
                self.finish_reason = Some(r);
            }
            let delta = choice.delta.unwrap_or_default();
            for piece in [delta.content, delta.refusal].into_iter().flatten() {
                if !piece.is_empty() {
                    self.text.push_str(&piece);
                    events.push(StreamEvent::TextDelta(piece));
                }
            }
            for (pos, tc) in delta.tool_calls.unwrap_or_default().into_iter().enumerate() {
                let index = tc.index.unwrap_or(pos);
                let f = tc.function.unwrap_or_default();
                let args = arguments_text(f.arguments.as_ref());
                let call = self.calls.entry(index).or_default();
                if call.id.is_none() {
                    call.id = tc.id.clone().filter(|i| !i.is_empty());
                }
                if call.name.is_none() {
                    call.name = f.name.clone().filter(|n| !n.is_empty());
                }
                call.arguments.push_str(&args);
                events.push(StreamEvent::ToolCallDelta {
                    index,
                    id: tc.id,
                    name: f.name,
                    arguments: args,
                });
            }
        }
        Ok(events)
    }

    pub(crate) fn saw_finish(&self) -> bool {
        self.finish_reason.is_some()
    }

    /// The accumulated response, with its cost when usage was reported.
    pub(crate) fn finish(self, prices: &PriceTable) -> Result<ChatResponse, Error> {
        let mut calls = Vec::new();
        for (index, c) in self.calls {
            let name = c.name.ok_or_else(|| Error::Decode {
                what: "chat completion stream".into(),
                message: format!("tool call {index} has no function name"),
            })?;
            calls.push(ToolCall::new(
                c.id.unwrap_or_else(|| format!("call_{index}")),
                name,
                c.arguments,
            ));
        }
        let usage = self.usage.as_ref().map(WireUsage::to_usage);
        let cost = usage.and_then(|u| prices.chat_cost(&self.model, &u));
        let mut resp = ChatResponse::new(assistant_message(self.text, calls), self.model)
            .with_usage(usage.unwrap_or_default(), cost);
        if let Some(r) = self.finish_reason {
            resp = resp.with_finish_reason(r);
        }
        Ok(resp)
    }
}

struct State {
    body: BoxStream<'static, Result<Bytes, reqwest::Error>>,
    parser: SseParser,
    acc: Option<Accumulator>,
    queue: VecDeque<Result<StreamEvent, Error>>,
    done: bool,
    transport: Transport,
    prices: Arc<PriceTable>,
    idle: Duration,
}

impl State {
    fn complete(&mut self) {
        self.done = true;
        let Some(acc) = self.acc.take() else { return };
        let item = acc.finish(&self.prices).map(StreamEvent::Done);
        self.queue.push_back(item);
    }

    fn fail(&mut self, e: Error) {
        self.done = true;
        self.acc = None;
        // The server's own words (an SSE `error` event) may quote the key.
        self.queue.push_back(Err(self.transport.redact_error(e)));
    }

    fn events(&mut self, datas: Vec<String>) {
        for data in datas {
            if self.done {
                return;
            }
            if data.trim() == "[DONE]" {
                self.complete();
                return;
            }
            let provider = self.transport.cfg.provider_id.clone();
            let Some(acc) = self.acc.as_mut() else { return };
            match acc.apply(&data, &provider) {
                Ok(evs) => self.queue.extend(evs.into_iter().map(Ok)),
                Err(e) => self.fail(e),
            }
        }
    }

    async fn step(&mut self) {
        match tokio::time::timeout(self.idle, self.body.next()).await {
            Err(_) => self.fail(Error::Timeout {
                operation: "reading the chat completion stream".into(),
                after: self.idle,
            }),
            Ok(Some(Ok(bytes))) => match self.parser.push(&bytes) {
                Ok(datas) => self.events(datas),
                Err(e) => self.fail(e),
            },
            Ok(Some(Err(e))) => {
                let e = self.transport.map_reqwest("/chat/completions", e);
                self.fail(e);
            }
            Ok(None) => {
                if let Some(last) = self.parser.finish() {
                    self.events(vec![last]);
                }
                if self.done {
                    return;
                }
                if self.acc.as_ref().is_some_and(Accumulator::saw_finish) {
                    // Some compatible servers end without `[DONE]`.
                    self.complete();
                } else {
                    self.fail(Error::Decode {
                        what: "chat completion stream".into(),
                        message: "the stream ended before the completion finished (no finish_reason, no [DONE])"
                            .into(),
                    });
                }
            }
        }
    }
}

/// Turns a successful streaming response into a [`ChatStream`].
///
/// Dropping the stream drops the response body, which closes the connection:
/// the request is cancelled at once.
pub(crate) fn chat_stream(
    resp: reqwest::Response,
    model: &str,
    transport: Transport,
    prices: Arc<PriceTable>,
) -> ChatStream {
    let idle = transport.cfg.timeout;
    let state = State {
        body: resp.bytes_stream().boxed(),
        parser: SseParser::default(),
        acc: Some(Accumulator::new(model)),
        queue: VecDeque::new(),
        done: false,
        transport,
        prices,
        idle,
    };
    futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.queue.pop_front() {
                return Some((item, st));
            }
            if st.done {
                return None;
            }
            st.step().await;
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_split_anywhere() {
        let raw =
            "data: {\"a\":1}\r\n\r\n: comment\n\nevent: x\ndata: l1\ndata: l2\n\ndata: [DONE]\n\n";
        for cut in 0..raw.len() {
            let mut p = SseParser::default();
            let mut got = p.push(&raw.as_bytes()[..cut]).unwrap();
            got.extend(p.push(&raw.as_bytes()[cut..]).unwrap());
            assert_eq!(got, vec!["{\"a\":1}", "l1\nl2", "[DONE]"], "cut at {cut}");
            assert_eq!(p.finish(), None);
        }
    }

    #[test]
    fn sse_multibyte_split_and_unterminated_tail() {
        let raw = "data: héllo\n\ndata: tail".as_bytes();
        let mut p = SseParser::default();
        let mut got = Vec::new();
        for b in raw {
            got.extend(p.push(std::slice::from_ref(b)).unwrap());
        }
        assert_eq!(got, vec!["héllo"]);
        assert_eq!(p.finish().as_deref(), Some("tail"));
        let mut p = SseParser::default();
        assert!(matches!(
            p.push(b"data: \xff\xfe\n"),
            Err(Error::Decode { .. })
        ));
    }

    #[test]
    fn accumulates_text_and_tool_calls() {
        let mut a = Accumulator::new("req-model");
        let chunks = [
            r#"{"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":"Hi"}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c0","type":"function","function":{"name":"f","arguments":""}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"c1","function":{"name":"g","arguments":"{}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\":"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":2}}}"#,
        ];
        let mut n_events = 0;
        for c in chunks {
            n_events += a.apply(c, "openai").unwrap().len();
        }
        assert_eq!(n_events, 5);
        let r = a.finish(&PriceTable::default()).unwrap();
        assert!(r.cost.is_some());
        assert_eq!(r.model, "gpt-4o");
        assert_eq!(r.message.text(), "Hi");
        assert_eq!(r.message.tool_calls.len(), 2);
        assert_eq!(&*r.message.tool_calls[0].arguments, r#"{"x":1}"#);
        assert_eq!(&*r.message.tool_calls[1].id, "c1");
        assert_eq!(r.usage.cached_tokens, 2);
        assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
    }

    #[test]
    fn bad_chunks() {
        let mut a = Accumulator::new("m");
        assert!(matches!(
            a.apply("{\"choices\":[{", "o"),
            Err(Error::Decode { .. })
        ));
        assert!(matches!(
            a.apply(r#"{"error":{"message":"overloaded"}}"#, "o"),
            Err(Error::Transient { .. })
        ));
        let mut a = Accumulator::new("m");
        a.apply(
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]}"#,
            "o",
        )
        .unwrap();
        assert!(matches!(
            a.finish(&PriceTable::default()),
            Err(Error::Decode { .. })
        ));
    }
}
