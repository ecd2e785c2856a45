//! A YAML pack, and the runtime data the SDK uses: tool policy, validators
//! on responses, media rules.

use std::collections::HashMap;
use std::path::PathBuf;

use promptkit_core::{MediaContent, ToolChoice};
use promptkit_pack::{Error, LoadOptions, MediaRejection, Pack, load_pack, validate_response};

fn yaml_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/support.pack.yaml")
}

#[test]
fn yaml_pack_is_strictly_valid_and_same_model_as_json() {
    let (pack, warnings) = Pack::load_with(yaml_path(), LoadOptions::strict()).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(pack.version, "1.0.0");
    let p = pack.prompt("support").unwrap();
    assert_eq!(p.variables.len(), 2);
    let vars = HashMap::from([("role".to_owned(), "support".to_owned())]);
    assert_eq!(
        pack.render_system(p, &vars).unwrap(),
        "You are a support assistant for TechCo.\nSign every answer as the TechCo team."
    );
    // the same document as JSON gives the same pack
    let json = serde_json::to_string(&pack).unwrap();
    let again = Pack::from_json_str(&json).unwrap();
    assert_eq!(again.prompts, pack.prompts);
    assert_eq!(again.tools, pack.tools);
}

#[test]
fn yaml_errors_carry_pointers_too() {
    let text = std::fs::read_to_string(yaml_path())
        .unwrap()
        .replace("max_rounds: 2", "max_rounds: 0");
    let err = Pack::from_str_with(
        &text,
        promptkit_pack::Format::Yaml,
        &yaml_path(),
        LoadOptions::strict(),
    )
    .unwrap_err();
    let Error::Invalid { problems, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        problems[0].pointer,
        "/prompts/support/tool_policy/max_rounds"
    );
}

#[test]
fn yaml_anchors_and_merge_keys() {
    let text = "
id: demo
name: Demo
version: 1.0.0
template_engine: {version: v1, syntax: '{{variable}}'}
prompts:
  a: &base
    id: a
    name: A
    version: 1.0.0
    system_template: Hi {{who}}
    variables: [{name: who, type: string, required: false, default: you}]
    parameters: {temperature: 0.5}
  b:
    <<: *base
    id: b
    name: B
";
    let pack = Pack::from_yaml_str(text).unwrap();
    assert!(pack.warnings().is_empty(), "{:?}", pack.warnings());
    let b = pack.prompt("b").unwrap();
    assert_eq!(b.name.as_deref(), Some("B"));
    assert_eq!(b.parameters().temperature, Some(0.5));
    assert_eq!(pack.render_system(b, &HashMap::new()).unwrap(), "Hi you");
    // YAML rejects duplicate keys at parse time (positioned at the mapping)
    let err = Pack::from_yaml_str("id: a\nid: b\n").unwrap_err();
    assert!(
        matches!(&err, Error::Parse { line: 1.., message, .. } if message == "duplicate mapping key: id"),
        "{err:?}"
    );
}

#[test]
fn tool_policy_maps_to_core_types() {
    let pack = load_pack(yaml_path()).unwrap();
    let policy = pack.prompt("support").unwrap().effective_tool_policy();
    assert_eq!(ToolChoice::from(policy.tool_choice()), ToolChoice::Required);
    assert_eq!(policy.max_rounds(), 2);
    assert_eq!(policy.max_tool_calls_per_turn(), 10, "spec default");
}

#[test]
fn validators_run_on_responses() {
    let pack = load_pack(yaml_path()).unwrap();
    let validators = &pack.prompt("support").unwrap().validators;
    // banned phrase, fail_on_violation: an error
    let err = validate_response(validators, r#"{"answer": "Refund GUARANTEED!"}"#).unwrap_err();
    let Error::ValidationFailed(v) = err else {
        panic!("{err:?}")
    };
    assert_eq!(v.validator_type, "banned_words");
    // missing field, not fail_on_violation: reported only
    let soft = validate_response(validators, r#"{"reply": "hi"}"#).unwrap();
    assert_eq!(soft.len(), 1);
    assert_eq!(soft[0].validator_type, "required_fields");
    assert!(soft[0].message.contains("answer"), "{}", soft[0].message);
    assert!(
        validate_response(validators, r#"{"answer": "ok"}"#)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn builtin_validator_types() {
    use promptkit_pack::Validator;
    let v = |j: serde_json::Value| -> Validator { serde_json::from_value(j).unwrap() };
    let max = v(serde_json::json!({"type": "max_length", "params": {"max_tokens": 2}}));
    assert!(max.check("abcdefgh").is_ok());
    assert!(max.check("abcdefghi").is_err());
    let min = v(serde_json::json!({"type": "min_length", "params": {"min_characters": 3}}));
    assert!(min.check("ab").is_err());
    let sentences = v(serde_json::json!({"type": "max_sentences", "params": {"max_sentences": 2}}));
    assert!(sentences.check("One. Two!").is_ok());
    assert!(sentences.check("One. Two! Three?").is_err());
    let forbid = v(
        serde_json::json!({"type": "regex_match", "params": {"pattern": "\\d{16}", "must_match": false}, "message": "no card numbers"}),
    );
    let violation = forbid.check("card 1234567812345678").unwrap_err();
    assert_eq!(violation.message, "no card numbers");
    assert!(!violation.fail_on_violation);
    let json = v(serde_json::json!({"type": "json_valid"}));
    assert!(json.check("[1, 2]").is_ok());
    assert!(json.check("nope").is_err());
    let words = v(serde_json::json!({"type": "banned_words", "params": {"words": ["ass"]}}));
    assert!(
        words.check("a class assignment").is_ok(),
        "whole words only"
    );
    let disabled = v(serde_json::json!({"type": "json_valid", "enabled": false}));
    assert!(disabled.check("nope").is_ok());
    let custom = v(serde_json::json!({"type": "sentiment"}));
    assert!(!custom.is_supported());
    assert!(custom.check("anything").is_ok());
}

#[test]
fn media_rules_from_the_pack() {
    let pack = load_pack(yaml_path()).unwrap();
    let media = pack.prompt("support").unwrap().media.as_ref().unwrap();
    let png = || MediaContent::from_bytes("image/png", vec![0u8; 100]);
    assert!(media.check(&[png(), png()]).is_ok());
    let err = media.check(&[png(), png(), png()]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::MediaRejected {
                index: 2,
                reason: MediaRejection::TooManyImages { count: 3, max: 2 }
            }
        ),
        "{err:?}"
    );
    let jpeg = MediaContent::from_bytes("image/jpeg", vec![0u8; 100]);
    let err = media.check(&[jpeg]).unwrap_err();
    assert!(
        err.to_string()
            .contains("image format image/jpeg is not allowed (allowed: png)"),
        "{err}"
    );
    let audio = MediaContent::from_bytes("audio/wav", vec![0u8; 100]);
    assert!(matches!(
        media.check(&[audio]),
        Err(Error::MediaRejected {
            reason: MediaRejection::UnsupportedType { .. },
            ..
        })
    ));
    let big = MediaContent::from_bytes("image/png", vec![0u8; 2 * 1024 * 1024]);
    assert!(matches!(
        media.check(&[big]),
        Err(Error::MediaRejected {
            reason: MediaRejection::TooLarge { max_size_mb: 1, .. },
            ..
        })
    ));
}
