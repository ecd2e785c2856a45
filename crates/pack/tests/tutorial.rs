//! The tutorial's image-generator pack (copied from the PromptKit tutorial).

use std::collections::HashMap;
use std::path::PathBuf;

use promptkit_pack::{Error, LoadOptions, Pack, Position, ProblemKind, load_pack};

fn tutorial_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/image-generator.pack.json")
}

#[test]
fn loads_leniently_with_warnings() {
    let pack = load_pack(tutorial_path()).unwrap();
    assert_eq!(pack.id, "image-generator");
    assert_eq!(pack.source_path(), Some(tutorial_path().as_path()));
    let prompt = pack.prompt("image-generator").unwrap();
    assert_eq!(prompt.key(), "image-generator");
    assert_eq!(prompt.version, None);
    let params = prompt.parameters();
    assert_eq!(params.temperature, Some(0.7));
    assert_eq!(params.max_tokens, Some(500));
    let tools = pack.tool_definitions(prompt).unwrap();
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0].name, "dalle-image-generator");
    assert_eq!(tools[0].parameters["required"][0], "prompt");
    let system = pack.render_system(prompt, &HashMap::new()).unwrap();
    assert!(system.starts_with("You are an expert AI image generator."));

    let pointers: Vec<&str> = pack.warnings().iter().map(|w| w.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/prompts/image-generator/version",
            "/tools/dalle-image-generator/name"
        ],
        "{:?}",
        pack.warnings()
    );
    assert!(pack.warnings()[0].message.contains("version"));
    // positions in the file: the prompt (the property is missing), the name
    let positions: Vec<Option<Position>> = pack.warnings().iter().map(|w| w.position).collect();
    assert_eq!(
        positions,
        [
            Some(Position {
                line: 14,
                column: 5
            }),
            Some(Position {
                line: 30,
                column: 7
            })
        ]
    );
    assert!(
        pack.warnings()
            .iter()
            .all(|w| w.kind == ProblemKind::Schema)
    );
}

#[test]
fn strict_mode_rejects_it_with_the_same_pointers() {
    let err = Pack::load_with(tutorial_path(), LoadOptions::strict()).unwrap_err();
    let Error::Invalid { path, problems, .. } = &err else {
        panic!("expected Invalid, got {err:?}");
    };
    assert_eq!(path, &tutorial_path());
    let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/prompts/image-generator/version",
            "/tools/dalle-image-generator/name"
        ]
    );
    let shown = err.to_string();
    assert!(shown.contains("image-generator.pack.json"), "{shown}");
    assert!(shown.contains("2 problems"), "{shown}");
}
