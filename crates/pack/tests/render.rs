//! Rendering: substitution, defaults, validation errors, fragments and the
//! recursion guards.

use std::collections::HashMap;

use promptkit_pack::{Error, Pack};
use serde_json::{Value, json};

fn pack(template: &str, variables: Value, fragments: Value) -> Pack {
    let doc = json!({
        "id": "demo", "name": "Demo", "version": "1.0.0",
        "template_engine": {"version": "v1", "syntax": "{{variable}}"},
        "fragments": fragments,
        "prompts": {"p": {"id": "p", "name": "P", "version": "1.0.0",
                          "system_template": template, "variables": variables}}
    });
    Pack::from_json_str(&doc.to_string()).unwrap()
}

fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn render(pack: &Pack, v: &[(&str, &str)]) -> Result<String, Error> {
    pack.render_system(pack.prompt("p").unwrap(), &vars(v))
}

#[track_caller]
fn render_error(pack: &Pack, v: &[(&str, &str)]) -> (Option<String>, String) {
    match render(pack, v) {
        Err(Error::Render {
            prompt,
            variable,
            message,
        }) => {
            assert_eq!(prompt, "p");
            (variable, message)
        }
        other => panic!("expected a render error, got {other:?}"),
    }
}

#[test]
fn substitution_with_whitespace_and_defaults() {
    let p = pack(
        "{{a}}-{{ a }}-{{\tb\t}}-{{c}}|",
        json!([{"name": "a", "type": "string", "required": true},
               {"name": "b", "type": "string", "required": false, "default": "B"},
               {"name": "c", "type": "string", "required": false}]),
        json!({}),
    );
    assert_eq!(render(&p, &[("a", "A")]).unwrap(), "A-A-B-|");
    assert_eq!(render(&p, &[("a", "A"), ("b", "x")]).unwrap(), "A-A-x-|");
}

#[test]
fn values_are_inserted_literally() {
    let p = pack(
        "{{a}}",
        json!([{"name": "a", "type": "string", "required": true}]),
        json!({"f": "FRAGMENT"}),
    );
    assert_eq!(
        render(&p, &[("a", "{{f}} {{fragment:f}}")]).unwrap(),
        "{{f}} {{fragment:f}}"
    );
}

#[test]
fn missing_required_variable() {
    let p = pack(
        "{{a}}",
        json!([{"name": "a", "type": "string", "required": true}]),
        json!({}),
    );
    let (var, msg) = render_error(&p, &[]);
    assert_eq!(var.as_deref(), Some("a"));
    assert!(msg.contains("required"), "{msg}");
}

#[test]
fn unresolved_placeholder() {
    let p = pack("a{{nope}}b", json!([]), json!({}));
    // loading warns; rendering inserts nothing, like an optional variable
    assert!(
        p.warnings().iter().any(|w| w.message.contains("{{nope}}")),
        "{:?}",
        p.warnings()
    );
    assert_eq!(render(&p, &[]).unwrap(), "ab");
    // an undeclared placeholder resolves when a value is passed
    assert_eq!(render(&p, &[("nope", "yes")]).unwrap(), "ayesb");
    // an explicit reference to a missing fragment is an error
    let p = pack("{{fragments.gone}}", json!([]), json!({}));
    let (_, msg) = render_error(&p, &[]);
    assert!(msg.contains("fragment `gone` is not defined"), "{msg}");
}

#[test]
fn type_and_validation_errors_name_the_variable() {
    let p = pack(
        "{{n}} {{s}} {{b}} {{e}}",
        json!([
            {"name": "n", "type": "integer", "required": true,
             "validation": {"minimum": 1, "maximum": 10}},
            {"name": "s", "type": "string", "required": false, "default": "abc",
             "validation": {"pattern": "^[a-z]+$", "max_length": 5}},
            {"name": "b", "type": "boolean", "required": false, "default": true},
            {"name": "e", "type": "string", "required": false, "default": "low",
             "validation": {"enum": ["low", "high"]}}
        ]),
        json!({}),
    );
    assert_eq!(render(&p, &[("n", "3")]).unwrap(), "3 abc true low");
    /// (variables passed, variable blamed, message fragment)
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case] = &[
        (&[("n", "x")], "n", "must be an integer"),
        (&[("n", "0")], "n", "at least 1"),
        (&[("n", "11")], "n", "at most 10"),
        (&[("n", "2"), ("s", "ABC")], "s", "pattern"),
        (&[("n", "2"), ("s", "abcdef")], "s", "at most 5"),
        (&[("n", "2"), ("b", "maybe")], "b", "`true` or `false`"),
        (
            &[("n", "2"), ("e", "mid")],
            "e",
            "one of [\"low\", \"high\"]",
        ),
    ];
    for (input, var, needle) in cases {
        let (v, msg) = render_error(&p, input);
        assert_eq!(v.as_deref(), Some(*var), "{input:?}");
        assert!(msg.contains(needle), "{input:?}: {msg}");
        // the offending value is never echoed
        let value = input.last().unwrap().1;
        assert!(!msg.contains(&format!("`{value}`")), "{msg}");
    }
}

#[test]
fn fragments_nest_and_see_variables() {
    let p = pack(
        "[{{fragment:outer}}] [{{inner}}]",
        json!([{"name": "who", "type": "string", "required": true}]),
        json!({"outer": "O {{ fragment: inner }}", "inner": "I {{who}}"}),
    );
    assert_eq!(render(&p, &[("who", "Ann")]).unwrap(), "[O I Ann] [I Ann]");
}

#[test]
fn fragment_cycles_are_refused() {
    let p = pack(
        "{{fragment:a}}",
        json!([]),
        json!({"a": "{{b}}", "b": "{{fragment:a}}"}),
    );
    assert!(
        !p.warnings().is_empty(),
        "lenient load warns about the cycle"
    );
    let (_, msg) = render_error(&p, &[]);
    assert!(msg.contains("fragment cycle: a → b → a"), "{msg}");

    let self_ref = pack("{{x}}", json!([]), json!({"x": "again {{x}}"}));
    let (_, msg) = render_error(&self_ref, &[]);
    assert!(msg.contains("x → x"), "{msg}");
}

#[test]
fn deep_nesting_is_refused() {
    let mut fragments = serde_json::Map::new();
    for i in 0..40 {
        fragments.insert(format!("f{i}"), json!(format!("{{{{f{}}}}}", i + 1)));
    }
    fragments.insert("f40".into(), json!("end"));
    let p = pack("{{f0}}", json!([]), Value::Object(fragments));
    let (_, msg) = render_error(&p, &[]);
    assert!(msg.contains("deeper than 16"), "{msg}");
    // loading reports where the chain gets too deep: f24 → … → f40 is 17 levels
    let pointers: Vec<&str> = p.warnings().iter().map(|w| w.pointer.as_str()).collect();
    assert_eq!(pointers, ["/fragments/f24"]);
}

#[test]
fn fan_out_is_bounded() {
    // each level doubles: 2^15 expansions of empty fragments without a limit
    let mut fragments = serde_json::Map::new();
    for i in 0..15 {
        fragments.insert(
            format!("f{i}"),
            json!(format!("{{{{f{n}}}}}{{{{f{n}}}}}", n = i + 1)),
        );
    }
    fragments.insert("f15".into(), json!(""));
    let p = pack("{{f0}}", json!([]), Value::Object(fragments));
    assert!(p.warnings().is_empty(), "{:?}", p.warnings());
    let (_, msg) = render_error(&p, &[]);
    assert!(msg.contains("fragment expansions"), "{msg}");
}

#[test]
fn wide_fan_out_loads_quickly() {
    // 12 levels of 8 references each: 8^12 paths. Loading must not walk them.
    let mut fragments = serde_json::Map::new();
    for i in 0..12 {
        fragments.insert(
            format!("f{i}"),
            json!(format!("{{{{f{n}}}}}", n = i + 1).repeat(8)),
        );
    }
    fragments.insert("f12".into(), json!("x"));
    let p = pack("{{f0}}", json!([]), Value::Object(fragments));
    assert!(p.warnings().is_empty(), "{:?}", p.warnings());
    let (_, msg) = render_error(&p, &[]);
    assert!(msg.contains("fragment expansions"), "{msg}");
}

#[test]
fn template_syntax_errors_at_render_time() {
    let p = pack("ok {{ unclosed", json!([]), json!({}));
    let (var, msg) = render_error(&p, &[]);
    assert_eq!(var, None);
    assert!(msg.contains("line 1, column 4: unterminated"), "{msg}");
    let p = pack("{{fragment:f}}", json!([]), json!({"f": "{{ bad name }}"}));
    let (_, msg) = render_error(&p, &[]);
    assert!(msg.contains("in fragment `f`"), "{msg}");
}
