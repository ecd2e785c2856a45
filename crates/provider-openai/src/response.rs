//! Lenient parsing of Chat Completions responses.
//!
//! Every field is optional (compatible servers omit many); only what is needed
//! to build a response is checked. Malformed JSON is an [`Error::Decode`].

use promptkit_core::{ChatResponse, Error, Message, Role, ToolCall, Usage};

use crate::pricing::PriceTable;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct WireUsage {
    pub(crate) prompt_tokens: Option<u64>,
    pub(crate) completion_tokens: Option<u64>,
    pub(crate) prompt_tokens_details: Option<WireTokenDetails>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct WireTokenDetails {
    pub(crate) cached_tokens: Option<u64>,
}

impl WireUsage {
    pub(crate) fn to_usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.prompt_tokens.unwrap_or(0),
            completion_tokens: self.completion_tokens.unwrap_or(0),
            cached_tokens: self
                .prompt_tokens_details
                .as_ref()
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct WireResponse {
    model: Option<String>,
    choices: Option<Vec<WireChoice>>,
    usage: Option<WireUsage>,
    error: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
struct WireChoice {
    message: Option<WireMessage>,
    finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct WireMessage {
    content: Option<Value>,
    refusal: Option<String>,
    tool_calls: Option<Vec<WireToolCall>>,
}

#[derive(Debug, Default, Deserialize)]
struct WireToolCall {
    id: Option<String>,
    function: Option<WireFunction>,
}

#[derive(Debug, Default, Deserialize)]
struct WireFunction {
    name: Option<String>,
    arguments: Option<Value>,
}

/// Tool-call arguments as the raw JSON text (some servers send an object).
pub(crate) fn arguments_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Text of `content`: a string, or the `text` of an array of parts.
fn content_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

/// Builds the assistant message from text and tool calls.
pub(crate) fn assistant_message(text: String, calls: Vec<ToolCall>) -> Message {
    if calls.is_empty() {
        if text.is_empty() {
            Message::new(Role::Assistant, Vec::new())
        } else {
            Message::assistant(text)
        }
    } else {
        Message::assistant_tool_calls((!text.is_empty()).then_some(text), calls)
    }
}

/// Parses a chat completion body. `fallback_model` is used when the body names
/// none; the cost is filled from `prices` when the body reports usage.
pub(crate) fn parse_chat(
    body: &[u8],
    fallback_model: &str,
    provider: &str,
    prices: &PriceTable,
) -> Result<ChatResponse, Error> {
    let wire: WireResponse = serde_json::from_slice(body).map_err(|e| Error::Decode {
        what: "chat completion response".into(),
        message: e.to_string(),
    })?;
    if let Some(err) = &wire.error {
        let message = err
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| err.to_string(), str::to_string);
        return Err(Error::Provider {
            provider: provider.to_string(),
            status: 200,
            message,
            code: err.get("code").and_then(Value::as_str).map(str::to_string),
        });
    }
    let choice = wire
        .choices
        .and_then(|c| c.into_iter().next())
        .ok_or_else(|| Error::Decode {
            what: "chat completion response".into(),
            message: "no choices in the response".into(),
        })?;
    let msg = choice.message.unwrap_or_default();
    let mut text = content_text(msg.content.as_ref());
    if text.is_empty() {
        text = msg.refusal.unwrap_or_default();
    }
    let mut calls = Vec::new();
    for (k, c) in msg.tool_calls.unwrap_or_default().into_iter().enumerate() {
        let f = c.function.unwrap_or_default();
        let name = f
            .name
            .filter(|n| !n.is_empty())
            .ok_or_else(|| Error::Decode {
                what: format!("chat completion response /choices/0/message/tool_calls/{k}"),
                message: "tool call has no function name".into(),
            })?;
        calls.push(ToolCall::new(
            c.id.filter(|i| !i.is_empty())
                .unwrap_or_else(|| format!("call_{k}")),
            name,
            arguments_text(f.arguments.as_ref()),
        ));
    }
    let wire_usage = wire.usage;
    let usage = wire_usage
        .as_ref()
        .map(WireUsage::to_usage)
        .unwrap_or_default();
    let mut resp = ChatResponse::new(
        assistant_message(text, calls),
        wire.model.unwrap_or_else(|| fallback_model.to_string()),
    )
    .with_usage(usage, None);
    // No reported usage means unknown cost, not zero.
    if wire_usage.is_some() {
        resp.cost = prices.chat_cost(&resp.model, &resp.usage);
    }
    if let Some(r) = choice.finish_reason {
        resp = resp.with_finish_reason(r);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_chat(body: &[u8], model: &str, provider: &str) -> Result<ChatResponse, Error> {
        super::parse_chat(body, model, provider, &PriceTable::default())
    }

    #[test]
    fn minimal_and_full_bodies() {
        let r = parse_chat(
            br#"{"choices":[{"message":{"content":"hi"}}]}"#,
            "m",
            "openai",
        )
        .unwrap();
        assert_eq!(r.message.text(), "hi");
        assert_eq!(r.model, "m");
        assert_eq!(r.usage, Usage::default());
        assert_eq!(r.cost, None, "no usage reported: cost unknown");
        let r = parse_chat(
            br#"{"model":"gpt-4o-2024","choices":[{"index":0,"message":{"role":"assistant","content":null,
            "tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}},
                          {"function":{"name":"g","arguments":{"b":2}}}]},"finish_reason":"tool_calls"}],
            "usage":{"prompt_tokens":10,"completion_tokens":3,"total_tokens":13,"prompt_tokens_details":{"cached_tokens":4}}}"#,
            "m",
            "openai",
        )
        .unwrap();
        assert_eq!(r.model, "gpt-4o-2024");
        assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(r.message.tool_calls.len(), 2);
        assert_eq!(&*r.message.tool_calls[0].arguments, r#"{"a":1}"#);
        assert_eq!(&*r.message.tool_calls[1].id, "call_1");
        assert_eq!(&*r.message.tool_calls[1].arguments, r#"{"b":2}"#);
        assert_eq!(r.usage.cached_tokens, 4);
        assert!(r.message.parts.is_empty());
    }

    #[test]
    fn refusal_and_content_parts() {
        let r = parse_chat(
            br#"{"choices":[{"message":{"content":null,"refusal":"no"}}]}"#,
            "m",
            "o",
        )
        .unwrap();
        assert_eq!(r.message.text(), "no");
        let r = parse_chat(
            br#"{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}}]}"#,
            "m",
            "o",
        )
        .unwrap();
        assert_eq!(r.message.text(), "ab");
    }

    #[test]
    fn bad_bodies_are_typed_errors() {
        for body in [
            &b""[..],
            b"{",
            b"[]",
            br#"{"choices":[{"message":{"content":"Hel"#,
            br#"{"choices":[]}"#,
            br#"{"choices":"x"}"#,
            br#"{"choices":[{"message":{"tool_calls":[{"function":{}}]}}]}"#,
        ] {
            let e = parse_chat(body, "m", "o").unwrap_err();
            assert!(matches!(e, Error::Decode { .. }), "{e:?}");
        }
        let e = parse_chat(br#"{"error":{"message":"boom","code":"x"}}"#, "m", "o").unwrap_err();
        assert!(matches!(e, Error::Provider { status: 200, .. }), "{e:?}");
    }
}
