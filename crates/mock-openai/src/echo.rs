//! The echo model: repeats the user, and calls an offered tool once per user
//! turn, or (agent-loop rule) until the last message is a tool result.

use serde_json::{Map, Value, json};

use crate::script::MockToolCall;

fn text_of(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn role(m: &Value) -> &str {
    m.get("role").and_then(Value::as_str).unwrap_or("")
}

/// Index of the last message a person wrote: a user message that does not
/// directly follow tool results (those carry tool media to the model).
fn last_turn(messages: &[Value]) -> Option<usize> {
    (0..messages.len())
        .rev()
        .find(|&i| role(&messages[i]) == "user" && (i == 0 || role(&messages[i - 1]) != "tool"))
}

/// A value for `schema` (string properties get `text`).
fn sample(schema: &Value, text: &str) -> Value {
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("integer") | Some("number") => json!(1),
        Some("boolean") => json!(false),
        Some("array") => json!([]),
        Some("object") => {
            let mut o = Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (k, v) in props {
                    o.insert(k.clone(), sample(v, text));
                }
            }
            Value::Object(o)
        }
        _ => json!(text),
    }
}

/// When the echo model calls a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ToolRule {
    /// Once per user turn: not when the latest user turn has a tool result.
    OncePerTurn,
    /// Whenever the last message is not a `tool` message (llmock's `auto`).
    UntilToolMessageIsLast,
}

/// What the echo model answers: a call to an offered tool when `rule` says so
/// (and `tool_choice` is not `none`), otherwise `echo: <last user text>` (with
/// the tool results' text, if any).
pub(crate) fn reply(
    req: &Value,
    call_id: u64,
    rule: ToolRule,
) -> (Option<String>, Vec<MockToolCall>) {
    let empty = Vec::new();
    let messages = req
        .get("messages")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let turn = last_turn(messages);
    let user = turn.map_or_else(String::new, |i| text_of(messages[i].get("content")));
    let results: Vec<String> = messages
        .iter()
        .skip(turn.map_or(0, |i| i + 1))
        .filter(|m| role(m) == "tool")
        .map(|m| text_of(m.get("content")))
        .collect();
    let tools = req.get("tools").and_then(Value::as_array).unwrap_or(&empty);
    let choice = req.get("tool_choice");
    let named = choice
        .and_then(|c| c.pointer("/function/name"))
        .and_then(Value::as_str);
    let tool = tools
        .iter()
        .filter_map(|t| t.get("function"))
        .find(|f| named.is_none_or(|n| f.get("name").and_then(Value::as_str) == Some(n)));
    let may_call = choice.and_then(Value::as_str) != Some("none");
    let answered = match rule {
        ToolRule::OncePerTurn => !results.is_empty(),
        ToolRule::UntilToolMessageIsLast => messages.last().is_some_and(|m| role(m) == "tool"),
    };
    if let (Some(f), true, false) = (tool, may_call, answered) {
        let name = f.get("name").and_then(Value::as_str).unwrap_or("tool");
        let schema = f
            .get("parameters")
            .cloned()
            .unwrap_or_else(|| json!({"type": "object"}));
        let args = sample(&schema, &user);
        let call = MockToolCall {
            id: format!("call_mock_{call_id}"),
            name: name.to_string(),
            arguments: args.to_string(),
        };
        return (None, vec![call]);
    }
    let mut text = format!("echo: {user}");
    if !results.is_empty() {
        text.push_str(&format!(" (tool results: {})", results.join("; ")));
    }
    (Some(text), Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_loop_answers_only_after_a_tool_message() {
        let tools = json!([{"type": "function", "function": {"name": "draw", "parameters": {
            "type": "object", "properties": {"prompt": {"type": "string"}}}}}]);
        let mut req = json!({"messages": [{"role": "user", "content": "a cat"}], "tools": tools});
        let rule = ToolRule::UntilToolMessageIsLast;
        assert_eq!(reply(&req, 1, rule).1.len(), 1);
        let msgs = req["messages"].as_array_mut().unwrap();
        msgs.push(json!({"role": "assistant", "content": null, "tool_calls": []}));
        msgs.push(json!({"role": "tool", "tool_call_id": "call_mock_1", "content": "drawn"}));
        let (text, calls) = reply(&req, 2, rule);
        assert!(calls.is_empty());
        assert_eq!(text.as_deref(), Some("echo: a cat (tool results: drawn)"));
        // A user message after the tool results (a tool's image) → another call.
        req["messages"]
            .as_array_mut()
            .unwrap()
            .push(json!({"role": "user", "content": [{"type": "text", "text": "Media returned"}]}));
        assert_eq!(reply(&req, 3, rule).1.len(), 1);
    }

    #[test]
    fn calls_once_per_turn_then_echoes() {
        let tools = json!([{"type": "function", "function": {"name": "draw", "parameters": {
            "type": "object", "properties": {"prompt": {"type": "string"}, "n": {"type": "integer"},
            "style": {"enum": ["flat", "3d"]}}}}}]);
        let mut req = json!({"messages": [{"role": "user", "content": "a cat"}], "tools": tools});
        let (text, calls) = reply(&req, 1, ToolRule::OncePerTurn);
        assert!(text.is_none());
        let args: Value = serde_json::from_str(&calls[0].arguments).unwrap();
        assert_eq!(args, json!({"prompt": "a cat", "n": 1, "style": "flat"}));
        let msgs = req["messages"].as_array_mut().unwrap();
        msgs.push(json!({"role": "assistant", "content": null, "tool_calls": []}));
        msgs.push(json!({"role": "tool", "tool_call_id": "call_mock_1", "content": "drawn"}));
        msgs.push(json!({"role": "user", "content": [{"type": "text", "text": "Media returned"}]}));
        let (text, calls) = reply(&req, 2, ToolRule::OncePerTurn);
        assert!(calls.is_empty());
        assert_eq!(text.as_deref(), Some("echo: a cat (tool results: drawn)"));
        req["tool_choice"] = json!("none");
        req["messages"]
            .as_array_mut()
            .unwrap()
            .push(json!({"role": "user", "content": "again"}));
        assert_eq!(
            reply(&req, 3, ToolRule::OncePerTurn).0.as_deref(),
            Some("echo: again")
        );
    }
}
