//! Arbitrary template and fragments (split from the input on NUL bytes),
//! rendered with two variables.
#![no_main]

use std::collections::HashMap;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use promptkit_pack::{LoadOptions, Pack};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.split('\0');
    let template = parts.next().unwrap_or_default();
    let f = parts.next().unwrap_or_default();
    let g = parts.next().unwrap_or_default();
    let doc = serde_json::json!({
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
    let Ok(pack) = Pack::from_value_with(doc, Path::new("fuzz.json"), LoadOptions::lenient())
    else {
        return;
    };
    let Some(prompt) = pack.prompt("p") else {
        return;
    };
    let vars = HashMap::from([("a".to_owned(), "A".to_owned())]);
    if let Ok(out) = pack.render_system(prompt, &vars) {
        assert!(
            !out.contains("{{"),
            "unresolved placeholder survived rendering"
        );
    }
});
