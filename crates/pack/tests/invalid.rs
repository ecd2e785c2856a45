//! One invalid pack per rule; each asserts the JSON pointer of the problem,
//! in strict mode (an error) and lenient mode (a warning, or an error for
//! documents the typed model cannot hold).

use std::path::Path;

use promptkit_pack::{Error, Format, LoadOptions, Pack, Problem, ProblemKind};
use serde_json::{Value, json};

/// A minimal strictly valid pack.
fn base() -> Value {
    json!({
        "id": "demo",
        "name": "Demo",
        "version": "1.0.0",
        "template_engine": {"version": "v1", "syntax": "{{variable}}"},
        "prompts": {
            "support": {
                "id": "support",
                "name": "Support",
                "version": "1.0.0",
                "system_template": "Help {{customer}}.",
                "variables": [{"name": "customer", "type": "string", "required": true}]
            }
        }
    })
}

fn with(mut doc: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = doc.pointer_mut(parent).unwrap();
    match target {
        Value::Object(m) => {
            m.insert(key.to_owned(), value);
        }
        Value::Array(a) => {
            let i: usize = key.parse().unwrap();
            if i == a.len() {
                a.push(value)
            } else {
                a[i] = value
            }
        }
        _ => panic!("cannot set {pointer}"),
    }
    doc
}

fn load(doc: &Value, options: LoadOptions) -> Result<Pack, Error> {
    Pack::from_str_with(
        &doc.to_string(),
        Format::Json,
        Path::new("test.pack.json"),
        options,
    )
}

/// The problems of strict mode with warnings denied: schema violations
/// and semantic findings alike.
fn strict_problems(doc: &Value) -> Vec<Problem> {
    match load(doc, LoadOptions::strict().deny_warnings(true)) {
        Err(Error::Invalid { path, problems, .. }) => {
            assert_eq!(path, Path::new("test.pack.json"));
            problems
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

/// A schema finding fails strict mode; a semantic one is a warning in
/// strict mode too and fails only when warnings are denied. Either way the
/// finding is `kind` at `pointer` (with `needle` in the message), and
/// lenient mode loads the pack and keeps it as a warning.
#[track_caller]
fn rejects(doc: Value, pointer: &str, kind: ProblemKind, needle: &str) {
    let strict = load(&doc, LoadOptions::strict());
    match kind {
        ProblemKind::Semantic => {
            let pack = strict.unwrap_or_else(|e| panic!("strict mode is the schema alone: {e:?}"));
            assert!(
                pack.warnings()
                    .iter()
                    .any(|w| w.pointer == pointer && w.kind == kind),
                "strict warnings {:#?}",
                pack.warnings()
            );
        }
        _ => assert!(strict.is_err(), "strict mode accepted a schema violation"),
    }
    let problems = strict_problems(&doc);
    let found = problems
        .iter()
        .find(|p| p.pointer == pointer)
        .unwrap_or_else(|| panic!("no problem at {pointer}: {problems:#?}"));
    assert_eq!(found.kind, kind, "{found:?}");
    assert!(found.message.contains(needle), "{found:?} lacks {needle:?}");
    let pack = load(&doc, LoadOptions::lenient()).expect("lenient mode loads it");
    assert!(
        pack.warnings()
            .iter()
            .any(|w| w.pointer == pointer && w.kind == kind),
        "lenient warnings {:#?}",
        pack.warnings()
    );
}

/// Neither mode can load the document; the problem is at `pointer`.
#[track_caller]
fn unloadable(doc: Value, pointer: &str, needle: &str) {
    for options in [LoadOptions::strict(), LoadOptions::lenient()] {
        let Err(Error::Invalid { problems, .. }) = load(&doc, options) else {
            panic!("expected Invalid");
        };
        assert_eq!(problems[0].kind, ProblemKind::Structure, "{problems:#?}");
        assert_eq!(problems[0].pointer, pointer, "{problems:#?}");
        assert!(problems[0].message.contains(needle), "{problems:#?}");
    }
}

#[test]
fn base_pack_is_valid() {
    let pack = load(&base(), LoadOptions::strict()).unwrap();
    assert!(pack.warnings().is_empty());
}

// ---- schema rules ----

#[test]
fn variable_type_of_wrong_json_type() {
    let doc = with(base(), "/prompts/support/variables/0/type", json!(5));
    unloadable(
        doc,
        "/prompts/support/variables/0/type",
        "expected a string",
    );
}

#[test]
fn pack_id_pattern() {
    let doc = with(base(), "/id", json!("Demo Pack"));
    rejects(doc, "/id", ProblemKind::Schema, "does not match");
}

#[test]
fn missing_required_properties() {
    let mut doc = base();
    doc.as_object_mut().unwrap().remove("template_engine");
    rejects(doc, "/template_engine", ProblemKind::Schema, "missing");
    let mut doc = base();
    doc["prompts"]["support"]
        .as_object_mut()
        .unwrap()
        .remove("name");
    rejects(doc, "/prompts/support/name", ProblemKind::Schema, "missing");
}

#[test]
fn unknown_property() {
    let doc = with(base(), "/prompts/support/temprature", json!(0.5));
    rejects(
        doc,
        "/prompts/support/temprature",
        ProblemKind::Schema,
        "unknown property",
    );
}

#[test]
fn parameter_out_of_range() {
    let doc = with(
        base(),
        "/prompts/support/parameters",
        json!({"temperature": 3}),
    );
    rejects(
        doc,
        "/prompts/support/parameters/temperature",
        ProblemKind::Schema,
        "maximum",
    );
}

#[test]
fn tool_policy_values() {
    let doc = with(
        base(),
        "/prompts/support/tool_policy",
        json!({"max_rounds": 0}),
    );
    rejects(
        doc,
        "/prompts/support/tool_policy/max_rounds",
        ProblemKind::Schema,
        "minimum",
    );
    let doc = with(
        base(),
        "/prompts/support/tool_policy",
        json!({"tool_choice": "sometimes"}),
    );
    unloadable(
        doc,
        "/prompts/support/tool_policy/tool_choice",
        "unknown variant",
    );
}

#[test]
fn media_requires_enabled() {
    let doc = with(
        base(),
        "/prompts/support/media",
        json!({"supported_types": ["image"]}),
    );
    // A missing field is never fatal in lenient mode (as in PromptKit-Go):
    // it takes its default, and the schema's finding is a warning.
    rejects(
        doc,
        "/prompts/support/media/enabled",
        ProblemKind::Schema,
        "required",
    );
}

#[test]
fn compilation_timestamp_format() {
    let doc = with(
        base(),
        "/compilation",
        json!({"compiled_with": "packc", "created_at": "yesterday", "schema": "v1"}),
    );
    // Draft 2020-12 treats `format` as an annotation, as Python `jsonschema`
    // does by default: the schema accepts the pack, and loading warns.
    rejects(
        doc,
        "/compilation/created_at",
        ProblemKind::Semantic,
        "date-time",
    );
}

/// The official schema's `oneOf` over media configs makes a custom type that
/// only uses the common keys ambiguous; strict mode follows the schema.
#[test]
fn custom_media_type_with_only_common_keys_is_ambiguous() {
    let doc = with(
        base(),
        "/prompts/support/media",
        json!({"enabled": true, "model3d": {"max_size_mb": 10, "allowed_formats": ["gltf"]}}),
    );
    rejects(
        doc.clone(),
        "/prompts/support/media/model3d",
        ProblemKind::Schema,
        "",
    );
    let pack = load(&doc, LoadOptions::lenient()).unwrap();
    let media = pack.prompt("support").unwrap().media.as_ref().unwrap();
    assert_eq!(media.custom["model3d"].max_size_mb, Some(10));
}

#[test]
fn pointer_tokens_are_escaped() {
    let mut doc = base();
    let mut prompt = doc["prompts"]["support"].clone();
    prompt["id"] = json!("Not An Id");
    doc["prompts"]["a/b~c"] = prompt;
    rejects(
        doc,
        "/prompts/a~1b~0c/id",
        ProblemKind::Schema,
        "does not match",
    );
}

// ---- semantic rules ----

#[test]
fn undefined_tool() {
    let doc = with(base(), "/prompts/support/tools", json!(["lookup"]));
    rejects(
        doc,
        "/prompts/support/tools/0",
        ProblemKind::Semantic,
        "`lookup` is not defined",
    );
}

#[test]
fn tool_parameters_must_be_a_json_schema() {
    let tool = |params: Value| {
        with(
            base(),
            "/tools",
            json!({"lookup": {"name": "lookup", "description": "d", "parameters": params}}),
        )
    };
    rejects(
        tool(json!({"type": "object", "properties": {"id": {"type": "strin"}}})),
        "/tools/lookup/parameters/properties/id/type",
        ProblemKind::Semantic,
        "not a valid JSON Schema",
    );
    rejects(
        tool(
            json!({"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id", "name"]}),
        ),
        "/tools/lookup/parameters/required/1",
        ProblemKind::Semantic,
        "`name` is not declared",
    );
}

#[test]
fn missing_fragment() {
    let doc = with(
        base(),
        "/prompts/support/system_template",
        json!("{{customer}} {{fragment:intro}}"),
    );
    rejects(
        doc,
        "/prompts/support/system_template",
        ProblemKind::Semantic,
        "fragment `intro` is not defined",
    );
}

#[test]
fn required_variable_with_default() {
    let doc = with(base(), "/prompts/support/variables/0/default", json!("Ann"));
    rejects(
        doc,
        "/prompts/support/variables/0/default",
        ProblemKind::Semantic,
        "cannot have a default",
    );
}

#[test]
fn undeclared_placeholder() {
    let doc = with(
        base(),
        "/prompts/support/system_template",
        json!("Help {{customer}} at {{company}}."),
    );
    rejects(
        doc,
        "/prompts/support/system_template",
        ProblemKind::Semantic,
        "`{{company}}` is neither a variable",
    );
}

#[test]
fn undeclared_placeholder_inside_a_fragment() {
    let doc = with(base(), "/fragments", json!({"sig": "Regards, {{agent}}"}));
    let doc = with(
        doc,
        "/prompts/support/system_template",
        json!("{{customer}} {{sig}}"),
    );
    rejects(doc, "/fragments/sig", ProblemKind::Semantic, "{{agent}}");
}

#[test]
fn fragment_cycle() {
    let doc = with(
        base(),
        "/fragments",
        json!({"a": "x {{fragment:b}}", "b": "y {{a}}"}),
    );
    let doc = with(
        doc,
        "/prompts/support/system_template",
        json!("{{customer}} {{fragment:a}}"),
    );
    rejects(doc, "/fragments/a", ProblemKind::Semantic, "a → b → a");
}

#[test]
fn duplicate_variable() {
    let doc = with(
        base(),
        "/prompts/support/variables/1",
        json!({"name": "customer", "type": "string", "required": false}),
    );
    rejects(
        doc,
        "/prompts/support/variables/1/name",
        ProblemKind::Semantic,
        "declared twice",
    );
}

#[test]
fn variable_validation_rules() {
    let v = |validation: Value, default: Value| {
        with(
            base(),
            "/prompts/support/variables/1",
            json!({"name": "x", "type": "string", "required": false,
                   "default": default, "validation": validation}),
        )
    };
    rejects(
        v(json!({"pattern": "(unclosed"}), Value::Null),
        "/prompts/support/variables/1/validation/pattern",
        ProblemKind::Semantic,
        "invalid regular expression",
    );
    rejects(
        v(json!({"min_length": 5, "max_length": 2}), Value::Null),
        "/prompts/support/variables/1/validation/min_length",
        ProblemKind::Semantic,
        "greater than max_length",
    );
    rejects(
        v(json!({"minimum": 5, "maximum": 2}), Value::Null),
        "/prompts/support/variables/1/validation/minimum",
        ProblemKind::Semantic,
        "greater than maximum",
    );
    rejects(
        v(json!({"enum": ["a", "b"]}), json!("c")),
        "/prompts/support/variables/1/default",
        ProblemKind::Semantic,
        "one of",
    );
}

#[test]
fn validator_params() {
    let doc = with(
        base(),
        "/prompts/support/validators",
        json!([{"type": "banned_words", "params": {"words": "darn"}}]),
    );
    rejects(
        doc,
        "/prompts/support/validators/0/params/words",
        ProblemKind::Semantic,
        "list of strings",
    );
    let doc = with(
        base(),
        "/prompts/support/validators",
        json!([{"type": "max_length"}]),
    );
    rejects(
        doc,
        "/prompts/support/validators/0/params/max_characters",
        ProblemKind::Semantic,
        "required",
    );
}

#[test]
fn workflow_references() {
    let doc = with(
        base(),
        "/workflow",
        json!({"version": 1, "entry": "start", "states": {
            "main": {"prompt_task": "sales", "on_event": {"done": "end"}, "on_max_visits": "gone"}
        }}),
    );
    let problems = strict_problems(&doc);
    let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/workflow/entry",
            "/workflow/states/main/on_event/done",
            "/workflow/states/main/on_max_visits",
            "/workflow/states/main/prompt_task",
        ]
    );
}

#[test]
fn agent_references() {
    let doc = with(
        base(),
        "/agents",
        json!({"entry": "router", "members": {"support": {}, "billing": {}}}),
    );
    let problems = strict_problems(&doc);
    let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
    assert_eq!(pointers, ["/agents/entry", "/agents/members/billing"]);
}

#[test]
fn duplicate_eval_ids() {
    let eval = json!({"id": "tone", "type": "llm_judge", "trigger": "every_turn"});
    let doc = with(base(), "/prompts/support/evals", json!([eval, eval]));
    rejects(
        doc,
        "/prompts/support/evals/1/id",
        ProblemKind::Semantic,
        "used twice",
    );
}

#[test]
fn template_syntax_error_has_position() {
    let doc = with(
        base(),
        "/prompts/support/system_template",
        json!("Help {{customer}}.\nThen {{ oops"),
    );
    rejects(
        doc,
        "/prompts/support/system_template",
        ProblemKind::Semantic,
        "line 2, column 6: unterminated",
    );
}

#[test]
fn template_engine_syntax() {
    let doc = with(base(), "/template_engine/syntax", json!("<<var>>"));
    rejects(
        doc,
        "/template_engine/syntax",
        ProblemKind::Semantic,
        "must contain the word `variable`",
    );
}

#[test]
fn alternative_syntax_is_honoured() {
    let doc = with(base(), "/template_engine/syntax", json!("${variable}"));
    let doc = with(
        doc,
        "/prompts/support/system_template",
        json!("Help ${customer}, {{literal}}"),
    );
    let pack = load(&doc, LoadOptions::strict()).unwrap();
    let p = pack.prompt("support").unwrap();
    let vars = [("customer".to_owned(), "Ann".to_owned())].into();
    assert_eq!(
        pack.render_system(p, &vars).unwrap(),
        "Help Ann, {{literal}}"
    );
}

#[test]
fn duplicate_json_keys() {
    let text = base()
        .to_string()
        .replacen("\"prompts\":{", "\"prompts\":{\"support\":{},", 1);
    let load_text =
        |options| Pack::from_str_with(&text, Format::Json, Path::new("dup.json"), options);
    // The schema judges the parsed document, so strict mode only warns...
    let strict = load_text(LoadOptions::strict()).unwrap();
    assert_eq!(strict.warnings()[0].pointer, "/prompts/support");
    // ...unless warnings are denied.
    let Err(Error::Invalid { problems, .. }) = load_text(LoadOptions::strict().deny_warnings(true))
    else {
        panic!("duplicate key accepted with warnings denied");
    };
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].pointer, "/prompts/support");
    assert!(problems[0].message.contains("duplicate key `support`"));
    let pack = load_text(LoadOptions::lenient()).unwrap();
    assert_eq!(pack.warnings()[0].pointer, "/prompts/support");
    // the last occurrence is the one used
    assert_eq!(
        pack.prompt("support").unwrap().system_template,
        "Help {{customer}}."
    );
}

// ---- advisories: valid packs, warned in both modes ----

#[test]
fn advisories_are_warnings_even_in_strict_mode() {
    let doc = with(
        base(),
        "/template_engine/features",
        json!(["basic_substitution", "conditionals"]),
    );
    let doc = with(
        doc,
        "/prompts/support/validators",
        json!([{"type": "sentiment"}]),
    );
    let (_, warnings) = Pack::from_str_with(
        &doc.to_string(),
        Format::Json,
        Path::new("x.json"),
        LoadOptions::strict(),
    )
    .map(|p| {
        let w = p.warnings().to_vec();
        (p, w)
    })
    .unwrap();
    let pointers: Vec<&str> = warnings.iter().map(|w| w.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/prompts/support/validators/0/type",
            "/template_engine/features/1"
        ]
    );
}

// ---- parse and I/O errors ----

#[test]
fn json_parse_error_has_line_and_column() {
    let err = Pack::from_str_with(
        "{\n  \"id\": \"x\",\n  \"name\" \"y\"\n}",
        Format::Json,
        Path::new("broken.json"),
        LoadOptions::lenient(),
    )
    .unwrap_err();
    let Error::Parse {
        path,
        line,
        column,
        message,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(path, Path::new("broken.json"));
    assert_eq!((*line, *column), (3, 10));
    assert!(!message.contains("at line"), "{message}");
    assert!(err.to_string().starts_with("broken.json:3:10: "), "{err}");
}

#[test]
fn yaml_parse_error_has_line_and_column() {
    let err = Pack::from_str_with(
        "id: x\nname: [unclosed\n",
        Format::Yaml,
        Path::new("broken.yaml"),
        LoadOptions::lenient(),
    )
    .unwrap_err();
    let Error::Parse { line, column, .. } = err else {
        panic!("{err:?}")
    };
    assert!(line >= 2, "line {line}");
    assert!(column > 0);
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let err = promptkit_pack::load_pack("/definitely/not/here.json").unwrap_err();
    assert!(
        matches!(&err, Error::Io { path, .. } if path == Path::new("/definitely/not/here.json"))
    );
    assert!(err.to_string().contains("/definitely/not/here.json"));
}

#[test]
fn yaml_problems_have_line_and_column() {
    let yaml = "\
id: demo
name: Demo
version: 1.0.0
template_engine: {version: v1, syntax: '{{variable}}'}
prompts:
  support:
    id: support
    name: Support
    version: 1.0.0
    system_template: Help {{customer}}.
    variables:
      - name: customer
        type: string
        required: sometimes
    parameters:
      temperature: 7
";
    let err = Pack::from_str_with(
        yaml,
        Format::Yaml,
        Path::new("pack.yaml"),
        LoadOptions::strict(),
    )
    .unwrap_err();
    let Error::Invalid { problems, .. } = &err else {
        panic!("{err:?}")
    };
    let at = |pointer: &str| {
        problems
            .iter()
            .find(|p| p.pointer == pointer)
            .unwrap_or_else(|| panic!("no problem at {pointer}: {problems:?}"))
            .position
            .map(|p| (p.line, p.column))
    };
    assert_eq!(at("/prompts/support/variables/0/required"), Some((14, 9)));
    assert_eq!(at("/prompts/support/parameters/temperature"), Some((16, 7)));

    // Lenient loading keeps schema findings as warnings, positioned the same way.
    let pack = Pack::from_str_with(
        &yaml.replace("sometimes", "true"),
        Format::Yaml,
        Path::new("pack.yaml"),
        LoadOptions::lenient(),
    )
    .unwrap();
    let w = pack
        .warnings()
        .iter()
        .find(|w| w.pointer == "/prompts/support/parameters/temperature")
        .expect("warning kept");
    assert_eq!(w.position.map(|p| (p.line, p.column)), Some((16, 7)));
}

// ---- lenient rules: what is fatal, and how it is said ----

/// One rule for missing fields: none is fatal in lenient mode (they take
/// their defaults and the schema's finding is a warning), at the top level
/// as inside a prompt; strict mode follows the schema.
#[test]
fn missing_fields_are_never_fatal_in_lenient_mode() {
    let mut doc = base();
    doc.as_object_mut().unwrap().remove("id");
    doc["prompts"]["support"]
        .as_object_mut()
        .unwrap()
        .remove("id");
    doc["prompts"]["support"]
        .as_object_mut()
        .unwrap()
        .remove("system_template");
    let pack = load(&doc, LoadOptions::lenient()).unwrap();
    for pointer in [
        "/id",
        "/prompts/support/id",
        "/prompts/support/system_template",
    ] {
        assert!(
            pack.warnings()
                .iter()
                .any(|w| w.pointer == pointer && w.kind == ProblemKind::Schema),
            "{pointer}: {:#?}",
            pack.warnings()
        );
    }
    assert_eq!(pack.id, "");
    assert!(load(&doc, LoadOptions::strict()).is_err());
    // a pack without prompts is the one thing that cannot load (as in PromptKit-Go)
    let no_prompts = with(base(), "/prompts", json!({}));
    let Err(Error::Invalid {
        problems, warnings, ..
    }) = load(&no_prompts, LoadOptions::lenient())
    else {
        panic!("a pack without prompts loaded");
    };
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].kind, ProblemKind::Structure);
    assert!(problems[0].message.contains("no prompts"), "{problems:#?}");
    assert!(
        warnings.is_empty(),
        "the schema's finding is the same cause: {warnings:#?}"
    );
    assert!(load(&no_prompts, LoadOptions::strict()).is_err());
}

/// Structure messages name the field and the accepted forms in JSON terms,
/// never serde's Rust vocabulary; the schema's findings elsewhere keep their
/// own severity (warnings in lenient mode), and its finding at the same
/// place is not repeated.
#[test]
fn structure_failures_speak_json_and_keep_other_findings() {
    let doc = with(base(), "/skills", json!([42]));
    let Err(Error::Invalid { problems, .. }) = load(&doc, LoadOptions::lenient()) else {
        panic!("a number is no skill source");
    };
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].pointer, "/skills/0");
    assert!(
        problems[0].message.contains("a path string"),
        "{problems:#?}"
    );
    assert!(!problems[0].message.contains("untagged"), "{problems:#?}");

    let mut doc = with(
        base(),
        "/prompts/support/parameters",
        json!({"max_tokens": "many"}),
    );
    doc["prompts"]["support"]
        .as_object_mut()
        .unwrap()
        .remove("version");
    let Err(Error::Invalid {
        problems, warnings, ..
    }) = load(&doc, LoadOptions::lenient())
    else {
        panic!("a string is no token count");
    };
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(
        problems[0].pointer,
        "/prompts/support/parameters/max_tokens"
    );
    assert!(
        problems[0].message.contains("non-negative integer"),
        "{problems:#?}"
    );
    assert!(!problems[0].message.contains("u64"), "{problems:#?}");
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert_eq!(warnings[0].pointer, "/prompts/support/version");
    // strictly, the schema's finding is an error like the structure one
    let Err(Error::Invalid {
        problems, warnings, ..
    }) = load(&doc, LoadOptions::strict())
    else {
        panic!();
    };
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(warnings.is_empty());
}

/// A fragment cycle that no prompt uses is reported too, once.
#[test]
fn unused_fragment_cycle() {
    let doc = with(
        base(),
        "/fragments",
        json!({"a": "{{fragments.b}}", "b": "{{fragment:a}}"}),
    );
    let pack = load(&doc, LoadOptions::strict()).unwrap();
    let cycles: Vec<&Problem> = pack
        .warnings()
        .iter()
        .filter(|w| w.message.contains("fragment cycle"))
        .collect();
    assert_eq!(cycles.len(), 1, "{:#?}", pack.warnings());
    assert_eq!(cycles[0].message, "fragment cycle: a → b → a");
}

/// Artifacts are workflow-wide (RFC 0009): declared by one state, read by
/// another state's prompt; undeclared ones warn and render empty.
#[test]
fn artifacts_are_workflow_wide() {
    let mut doc = base();
    doc["prompts"]["review"] = json!({"id": "review", "name": "R", "version": "1.0.0",
        "system_template": "Review {{artifacts.diff}}{{artifacts.typo}}"});
    doc["workflow"] = json!({"version": 1, "entry": "write", "states": {
        "write": {"prompt_task": "support", "on_event": {"done": "review"},
                  "artifacts": {"diff": {"type": "text/x-diff"}}},
        "review": {"prompt_task": "review", "terminal": true}}});
    let pack = load(&doc, LoadOptions::strict()).unwrap();
    let warned: Vec<&str> = pack.warnings().iter().map(|w| w.message.as_str()).collect();
    assert_eq!(warned.len(), 1, "{warned:#?}");
    assert!(
        warned[0].contains("artifact `typo` is not declared"),
        "{warned:#?}"
    );
    let review = pack.prompt("review").unwrap();
    let none = std::collections::HashMap::new();
    assert_eq!(pack.render_system(review, &none).unwrap(), "Review ");
    let diff = std::collections::HashMap::from([("artifacts.diff".to_owned(), "+x".to_owned())]);
    assert_eq!(pack.render_system(review, &diff).unwrap(), "Review +x");
}

/// RFC 0007: the entry agent lists member agents as tools.
#[test]
fn entry_agent_calls_member_agents() {
    let mut doc = base();
    doc["prompts"]["support"]["tools"] = json!(["writer"]);
    doc["prompts"]["writer"] = json!({"id": "writer", "name": "W", "version": "1.0.0",
        "system_template": "Write.", "tools": ["support"]});
    doc["agents"] = json!({"entry": "support", "members": {"support": {}, "writer": {}}});
    let pack = load(&doc, LoadOptions::strict()).unwrap();
    let pointers: Vec<&str> = pack.warnings().iter().map(|w| w.pointer.as_str()).collect();
    // only the writer, which is not the entry agent, is warned about
    assert_eq!(
        pointers,
        ["/prompts/writer/tools/0"],
        "{:#?}",
        pack.warnings()
    );
    let defs = pack
        .tool_definitions(pack.prompt("support").unwrap())
        .unwrap();
    assert_eq!(defs[0].name, "writer");
}

/// JSON Schema's `integer` accepts `1000.0`, so both modes load it as 1000.
#[test]
fn whole_floats_fill_integer_fields() {
    let doc = with(
        base(),
        "/prompts/support/parameters",
        json!({"max_tokens": 1000.0, "temperature": 1.0}),
    );
    let pack = load(&doc, LoadOptions::strict()).unwrap();
    let params = &pack.prompt("support").unwrap().generation;
    assert_eq!(params.as_ref().unwrap().max_tokens, Some(1000));
    assert_eq!(params.as_ref().unwrap().temperature, Some(1.0));
    // the document keeps what was written
    assert_eq!(
        pack.document()["prompts"]["support"]["parameters"]["max_tokens"],
        1000.0
    );
}

/// A custom media type must be an object; the message says so in JSON terms.
#[test]
fn structure_messages_name_no_rust_types() {
    let doc = with(
        base(),
        "/prompts/support/media",
        json!({"enabled": true, "model3d": 3}),
    );
    let Err(Error::Invalid { problems, .. }) = load(&doc, LoadOptions::lenient()) else {
        panic!("a number is no media config");
    };
    assert!(
        problems[0].message.contains("expected an object"),
        "{problems:#?}"
    );
    assert!(!problems[0].message.contains("struct"), "{problems:#?}");
}
