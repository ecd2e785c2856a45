//! Pack data driving the runtime: validators, media config, tool policy, parameters.

mod common;

use std::sync::Arc;

use common::*;
use promptkit_core::MediaContent;
use promptkit_pack::Pack;
use promptkit_sdk::{
    ConversationConfig, ConversationManager, Error, FnTool, ManagerConfig, MockProvider, MockReply,
    ToolOutput,
};

fn pack(prompt_extra: &str) -> Pack {
    Pack::from_json_str(&format!(
        r#"{{
  "id": "rt", "name": "Runtime", "version": "1.0.0",
  "template_engine": {{"version": "v1", "syntax": "{{{{variable}}}}"}},
  "prompts": {{"chat": {{"id": "chat", "name": "chat", "version": "1.0.0",
    "system_template": "You help.", "tools": ["add", "secret"] {prompt_extra}}}}},
  "tools": {{
    "add": {{"name": "add", "description": "Adds", "parameters": {{"type": "object", "properties": {{}}}}}},
    "secret": {{"name": "secret", "description": "Blocked", "parameters": {{"type": "object", "properties": {{}}}}}}
  }}
}}"#
    ))
    .expect("runtime pack")
}

fn manager_with(provider: Arc<MockProvider>, dir: &std::path::Path) -> ConversationManager {
    ConversationManager::builder()
        .provider_arc(provider)
        .media_store_arc(file_store(dir))
        .tool("add", FnTool::new(|_| async { Ok(ToolOutput::text("2")) }))
        .tool(
            "secret",
            FnTool::new(|_| async { Ok(ToolOutput::text("the secret")) }),
        )
        .config(ManagerConfig::default())
        .build()
        .unwrap()
}

#[tokio::test]
async fn failing_validator_rejects_the_reply_and_keeps_history() {
    let dir = tempfile::tempdir().unwrap();
    let provider = Arc::new(MockProvider::scripted(vec![
        MockReply::Text("well darn".into()),
        MockReply::Text("well darn".into()),
    ]));
    let m = manager_with(provider, dir.path());
    let strict = m.register_pack(pack(r#", "validators": [{"type": "banned_words", "params": {"words": ["darn"]}, "fail_on_violation": true}]"#));
    let mut conv = m
        .new_conversation(&strict, ConversationConfig::new("u", "s"))
        .unwrap();
    let err = conv.send("say it").await.unwrap_err();
    assert!(
        matches!(&err, Error::Validation { validator, .. } if validator == "banned_words"),
        "{err}"
    );
    assert!(conv.history().is_empty());

    let soft = m.register_pack(pack(
        r#", "validators": [{"type": "banned_words", "params": {"words": ["darn"]}}]"#,
    ));
    let mut conv = m
        .new_conversation(&soft, ConversationConfig::new("u", "s"))
        .unwrap();
    let resp = conv.send("say it").await.unwrap();
    assert_eq!(resp.warnings.len(), 1, "{:?}", resp.warnings);
    assert!(resp.warnings[0].contains("banned_words"));
}

#[tokio::test]
async fn media_config_is_enforced_on_uploads() {
    let dir = tempfile::tempdir().unwrap();
    let m = manager_with(Arc::new(MockProvider::new()), dir.path());
    let png = || MediaContent::from_bytes("image/png", b"\x89PNG\r\n\x1a\nxxxx".to_vec());
    let disabled = m.register_pack(pack(r#", "media": {"enabled": false}"#));
    let mut conv = m
        .new_conversation(&disabled, ConversationConfig::new("u", "s"))
        .unwrap();
    assert!(matches!(
        conv.send_with_media("look", vec![png()]).await,
        Err(Error::Pack(_))
    ));
    let limited = m.register_pack(pack(r#", "media": {"enabled": true, "supported_types": ["image"], "image": {"max_images_per_msg": 1}}"#));
    let mut conv = m
        .new_conversation(&limited, ConversationConfig::new("u", "s"))
        .unwrap();
    assert!(matches!(
        conv.send_with_media("look", vec![png(), png()]).await,
        Err(Error::Pack(_))
    ));
    let audio = MediaContent::from_bytes("audio/wav", b"RIFF\0\0\0\0WAVEfmt ".to_vec());
    assert!(matches!(
        conv.send_with_media("listen", vec![audio]).await,
        Err(Error::Pack(_))
    ));
    assert!(conv.history().is_empty());
    conv.send_with_media("look", vec![png()]).await.unwrap();
    assert_eq!(conv.history().len(), 2);
}

#[tokio::test]
async fn tool_policy_limits_rounds_and_blocks_tools() {
    let dir = tempfile::tempdir().unwrap();
    let calls = |n: usize| {
        (0..n)
            .map(|_| MockReply::ToolCalls(vec![("add".into(), "{}".into())]))
            .collect::<Vec<_>>()
    };
    let provider = Arc::new(MockProvider::scripted(calls(3)));
    let m = manager_with(provider.clone(), dir.path());
    let p = m.register_pack(pack(
        r#", "tool_policy": {"max_rounds": 2, "blocklist": ["secret"]}"#,
    ));
    let mut conv = m
        .new_conversation(&p, ConversationConfig::new("u", "s"))
        .unwrap();
    let err = conv.send("go").await.unwrap_err();
    assert!(
        matches!(err, Error::ToolRoundsExceeded { max_rounds: 2, .. }),
        "{err}"
    );
    // The blocked tool is not offered to the model...
    assert_eq!(provider.requests()[0].tools, vec!["add"]);

    // ...and a call to it anyway is refused, with the error reported to the model.
    let provider = Arc::new(MockProvider::scripted(vec![
        MockReply::ToolCalls(vec![("secret".into(), "{}".into())]),
        MockReply::Text("ok".into()),
    ]));
    let m = manager_with(provider, dir.path());
    let p = m.register_pack(pack(r#", "tool_policy": {"blocklist": ["secret"]}"#));
    let mut conv = m
        .new_conversation(&p, ConversationConfig::new("u", "s"))
        .unwrap();
    let resp = conv.send("tell me the secret").await.unwrap();
    let tool_msg = resp
        .messages
        .iter()
        .find(|m| m.role == promptkit_core::Role::Tool)
        .unwrap();
    assert!(
        tool_msg.text().contains("not allowed"),
        "{}",
        tool_msg.text()
    );
}

#[tokio::test]
async fn max_tool_calls_per_turn_is_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let many = (0..4)
        .map(|i| ("add".to_string(), format!(r#"{{"call":{i}}}"#)))
        .collect();
    let provider = Arc::new(MockProvider::scripted(vec![
        MockReply::ToolCalls(many),
        MockReply::Text("done".into()),
    ]));
    let m = manager_with(provider, dir.path());
    let p = m.register_pack(pack(r#", "tool_policy": {"max_tool_calls_per_turn": 3}"#));
    let mut conv = m
        .new_conversation(&p, ConversationConfig::new("u", "s"))
        .unwrap();
    let resp = conv.send("add a lot").await.unwrap();
    let results: Vec<String> = resp
        .messages
        .iter()
        .filter(|m| m.role == promptkit_core::Role::Tool)
        .map(|m| m.text())
        .collect();
    assert_eq!(results.len(), 4);
    assert_eq!(results.iter().filter(|t| *t == "2").count(), 3);
    assert!(results[3].contains("limit"), "{}", results[3]);
}

#[tokio::test]
async fn template_variables_render_into_the_system_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let m = manager_with(Arc::new(MockProvider::new()), dir.path());
    let p = m.register_pack(
        Pack::from_json_str(
            r#"{"id": "v", "name": "V", "version": "1.0.0",
  "template_engine": {"version": "v1", "syntax": "{{variable}}"},
  "prompts": {"chat": {"id": "chat", "name": "chat", "version": "1.0.0",
    "system_template": "You are {{role}} for {{company}}.",
    "variables": [{"name": "role", "type": "string", "required": true},
                  {"name": "company", "type": "string", "required": false, "default": "Acme"}]}}}"#,
        )
        .unwrap(),
    );
    let conv = m
        .new_conversation(
            &p,
            ConversationConfig::new("u", "s").with_variable("role", "a guide"),
        )
        .unwrap();
    assert_eq!(conv.system_prompt(), "You are a guide for Acme.");
    let err = m
        .new_conversation(&p, ConversationConfig::new("u", "s"))
        .unwrap_err();
    assert!(matches!(err, Error::Pack(_)), "{err}");
    assert!(err.to_string().contains("role"), "{err}");
}

#[tokio::test]
async fn model_overrides_apply_to_the_providers_model() {
    let dir = tempfile::tempdir().unwrap();
    let m = manager_with(Arc::new(MockProvider::new()), dir.path());
    let p = m.register_pack(pack(
        r#", "model_overrides": {"mock-image-assistant": {"system_template": "You are terse."}, "gpt-4o": {"system_template": "You are GPT."}}"#,
    ));
    let conv = m
        .new_conversation(&p, ConversationConfig::new("u", "s"))
        .unwrap();
    assert_eq!(conv.system_prompt(), "You are terse.");
}
