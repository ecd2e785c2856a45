//! Hostile pack files stop with a clear error, with the work bounded by
//! construction: reads stop at `MAX_PACK_BYTES`, JSON nesting is checked in
//! one pass before parsing, YAML nesting and alias expansion are budgeted
//! while the parser streams events.

use std::path::Path;

use promptkit_pack::{Error, Format, LoadOptions, MAX_NESTING_DEPTH, MAX_PACK_BYTES, Pack};

fn load(text: &str, format: Format) -> Result<Pack, Error> {
    Pack::from_str_with(text, format, Path::new("hostile"), LoadOptions::lenient())
}

#[test]
#[cfg(unix)]
fn an_endless_file_stops_at_the_size_limit() {
    let err = Pack::load_with("/dev/zero", LoadOptions::lenient()).unwrap_err();
    assert!(
        matches!(&err, Error::TooLarge { path, limit } if path == Path::new("/dev/zero") && *limit == MAX_PACK_BYTES),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "/dev/zero: pack is larger than 16777216 bytes; reading stopped there"
    );
}

#[test]
fn a_large_file_is_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.pack.json");
    std::fs::write(&path, vec![b' '; MAX_PACK_BYTES as usize + 1]).unwrap();
    assert!(matches!(
        Pack::load_with(&path, LoadOptions::lenient()),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn deep_yaml_flow_nesting_is_refused_where_it_passes_the_limit() {
    for depth in [MAX_NESTING_DEPTH + 1, 50_000, 100_000] {
        let text = format!("a: {}{}\n", "[".repeat(depth), "]".repeat(depth));
        let err = load(&text, Format::Yaml).unwrap_err();
        let Error::Parse {
            line,
            column,
            message,
            ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!((*line, *column), (1, 68), "{err:?}");
        assert_eq!(message, "mappings and sequences nest deeper than 64 levels");
    }
    // block nesting too
    let mut text = String::new();
    for i in 0..200 {
        text.push_str(&format!("{}k{i}:\n", " ".repeat(i)));
    }
    assert!(matches!(
        load(&text, Format::Yaml),
        Err(Error::Parse { .. })
    ));
}

#[test]
fn deep_json_nesting_is_refused_before_parsing() {
    for depth in [MAX_NESTING_DEPTH + 1, 100_000] {
        let text = format!("{{\"a\": {}{}}}", "[".repeat(depth), "]".repeat(depth));
        let err = load(&text, Format::Json).unwrap_err();
        let Error::Parse {
            line,
            column,
            message,
            ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!((*line, *column), (1, 70), "{err:?}");
        assert_eq!(message, "objects and arrays nest deeper than 64 levels");
    }
    // brackets inside strings do not count
    let text = format!(
        r#"{{"id":"p","name":"{}","version":"1.0.0","prompts":{{"a":{{"system_template":"hi"}}}}}}"#,
        "[".repeat(1000)
    );
    assert!(load(&text, Format::Json).is_ok());
}

#[test]
fn yaml_alias_bombs_are_refused() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let prev = format!("*a{}", i - 1);
        text.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            [prev.as_str(); 10].join(", ")
        ));
    }
    let err = load(&text, Format::Yaml).unwrap_err();
    assert!(matches!(err, Error::Parse { .. }), "{err:?}");
}

#[test]
fn non_utf8_files_are_parse_errors_with_a_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.pack.json");
    std::fs::write(&path, b"{\n  \"id\": \"caf\xe9\"}").unwrap();
    let err = Pack::load_with(&path, LoadOptions::lenient()).unwrap_err();
    assert!(
        matches!(&err, Error::Parse { line: 2, column: 13, message, .. } if message.contains("UTF-8")),
        "{err:?}"
    );
}
