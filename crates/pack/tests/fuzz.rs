//! Property tests feeding arbitrary input to the loader and the renderer:
//! nothing may panic, and successful renderings leave no placeholder behind.
//!
//! `cargo xtask fuzz [SECS]` selects these by their `fuzz_` prefix and sets
//! `PROMPTKIT_FUZZ_SECS`, which scales the number of cases; without it a
//! small, fast default runs with the normal test suite.

use std::collections::HashMap;
use std::path::Path;

use promptkit_pack::{Format, LoadOptions, Pack};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Cases per property: 48 by default, 200 per second of `PROMPTKIT_FUZZ_SECS`.
fn cases() -> u32 {
    std::env::var("PROMPTKIT_FUZZ_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .map_or(48, |secs| secs.saturating_mul(200).max(48))
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const FULL_PACK: &str = include_str!("data/full.pack.json");

/// Arbitrary JSON, biased towards the shapes packs use.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e6f64..1e6).prop_map(|n| json!(n)),
        "[a-z{}_:. -]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("{{x}}"),
            Just("{{fragment:f}}"),
            Just("string"),
            Just("1.0.0")
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    "[a-z_]{1,8}",
                    Just("prompts".to_owned()),
                    Just("tools".to_owned()),
                    Just("variables".to_owned()),
                    Just("system_template".to_owned()),
                    Just("fragments".to_owned()),
                    Just("media".to_owned()),
                    Just("validators".to_owned()),
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every JSON pointer in `v` (containers and leaves).
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(c, p, out);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(c, p, out);
            }
        }
        _ => {}
    }
}

/// Loads `doc` as a value and as pretty-printed JSON text in both modes;
/// from text, every problem must be located in the file.
fn load_both(doc: &Value) {
    let text = serde_json::to_string_pretty(doc).expect("serialisable");
    for options in [LoadOptions::strict(), LoadOptions::lenient()] {
        let _ = Pack::from_value_with(doc.clone(), Path::new("fuzz.json"), options);
        let problems =
            match Pack::from_str_with(&text, Format::Json, Path::new("fuzz.json"), options) {
                Ok(pack) => pack.warnings().to_vec(),
                Err(promptkit_pack::Error::Invalid { problems, .. }) => problems,
                Err(_) => Vec::new(),
            };
        for p in problems {
            assert!(p.position.is_some(), "unlocated problem {p:?} in\n{text}");
        }
        // The same document as YAML: its problems are located too.
        let yaml = serde_saphyr::to_string(doc).expect("serialisable");
        let problems =
            match Pack::from_str_with(&yaml, Format::Yaml, Path::new("fuzz.yaml"), options) {
                Ok(pack) => pack.warnings().to_vec(),
                Err(promptkit_pack::Error::Invalid { problems, .. }) => problems,
                Err(_) => Vec::new(),
            };
        for p in problems {
            assert!(p.position.is_some(), "unlocated problem {p:?} in\n{yaml}");
        }
    }
}

fn render_all(pack: &Pack, vars: &HashMap<String, String>) {
    for name in pack.prompt_names() {
        let prompt = pack.prompt(name).expect("listed prompt exists");
        let _ = pack.render_system(prompt, vars);
        let _ = pack.render_system_for_model(prompt, "gpt-4", vars);
        let _ = pack.tool_definitions(prompt);
        for v in &prompt.validators {
            let _ = v.check("some response {\"answer\": 1}");
        }
        if let Some(m) = &prompt.media {
            let png = promptkit_core::MediaContent::from_bytes("image/png", vec![0u8; 16]);
            let _ = m.check(&[png]);
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_loader_arbitrary_text(text in "\\PC{0,200}", yaml in any::<bool>()) {
        let format = if yaml { Format::Yaml } else { Format::Json };
        for options in [LoadOptions::strict(), LoadOptions::lenient()] {
            let _ = Pack::from_str_with(&text, format, Path::new("fuzz"), options);
        }
    }

    #[test]
    fn fuzz_loader_arbitrary_json(doc in json_value()) {
        load_both(&doc);
        if let Ok(pack) = Pack::from_value_with(doc, Path::new("fuzz.json"), LoadOptions::lenient()) {
            render_all(&pack, &HashMap::new());
        }
    }

    #[test]
    fn fuzz_loader_mutated_full_pack(
        pick in any::<prop::sample::Index>(),
        replacement in json_value(),
        remove in any::<bool>(),
        vars in prop::collection::hash_map("[a-z_]{1,14}", "[a-z0-9 ]{0,10}", 0..6),
    ) {
        let mut doc: Value = serde_json::from_str(FULL_PACK).expect("test pack is JSON");
        let mut all = Vec::new();
        pointers(&doc, String::new(), &mut all);
        let target = all[pick.index(all.len())].clone();
        let (parent, key) = target.rsplit_once('/').expect("non-root pointer");
        match doc.pointer_mut(parent) {
            Some(Value::Object(m)) => {
                let key = key.replace("~1", "/").replace("~0", "~");
                if remove { m.remove(&key); } else { m.insert(key, replacement); }
            }
            Some(Value::Array(a)) => {
                let i: usize = key.parse().expect("array index");
                if remove { a.remove(i); } else { a[i] = replacement; }
            }
            _ => {}
        }
        load_both(&doc);
        if let Ok(pack) = Pack::from_value_with(doc, Path::new("fuzz.json"), LoadOptions::lenient()) {
            render_all(&pack, &vars);
        }
    }

    #[test]
    fn fuzz_renderer_templates(
        template in "([a-z ]|\\{\\{|\\}\\}|\\{\\{ ?(a|b|f|g|fragment:f|fragment:g|fragment:h) ?\\}\\}){0,24}",
        f in "([a-z ]|\\{\\{(a|g|fragment:g|f)\\}\\}|\\{\\{){0,8}",
        g in "([a-z ]|\\{\\{(b|f|fragment:f)\\}\\}|\\}\\}){0,8}",
        a in proptest::option::of("[a-z0-9 ]{0,8}"),
        b in proptest::option::of("[a-z0-9 ]{0,8}"),
    ) {
        let doc = json!({
            "id": "fuzz", "name": "Fuzz", "version": "1.0.0",
            "template_engine": {"version": "v1", "syntax": "{{variable}}"},
            "fragments": {"f": f, "g": g},
            "prompts": {"p": {"id": "p", "name": "P", "version": "1.0.0",
                "system_template": template,
                "variables": [
                    {"name": "a", "type": "string", "required": true},
                    {"name": "b", "type": "string", "required": false, "default": "B"}
                ]}}
        });
        let pack = Pack::from_value_with(doc, Path::new("fuzz.json"), LoadOptions::lenient())
            .expect("structurally valid");
        let mut vars = HashMap::new();
        if let Some(a) = a { vars.insert("a".to_owned(), a); }
        if let Some(b) = b { vars.insert("b".to_owned(), b); }
        let prompt = pack.prompt("p").expect("prompt p");
        if let Ok(out) = pack.render_system(prompt, &vars) {
            // every `{{` was consumed by a placeholder, and values hold no braces
            prop_assert!(!out.contains("{{"), "unresolved placeholder in {:?}", out);
        }
    }
}
