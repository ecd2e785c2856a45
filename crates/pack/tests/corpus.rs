//! Packs from the public PromptPack spec (README, docs, RFCs, the schemas'
//! `examples`) and from PromptKit-Go, kept in `tests/corpus/` with the
//! official schema's verdict on each (`verdicts.json`, computed by Python
//! `jsonschema` with `compute_verdicts.py`, not by this crate).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use promptkit_pack::{Error, LoadOptions, Pack, ProblemKind, SchemaVersion, Variable};
use serde_json::Value;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

#[derive(Debug)]
struct Verdict {
    schema: String,
    valid: bool,
}

/// `verdicts.json`, and every pack file of the corpus (each must have a verdict).
fn corpus() -> Vec<(PathBuf, Verdict)> {
    let text = std::fs::read_to_string(corpus_dir().join("verdicts.json")).unwrap();
    let verdicts: BTreeMap<String, Value> = serde_json::from_str(&text).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.ends_with(".pack.json") || name.ends_with(".pack.yaml")
        })
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        verdicts.len(),
        "every corpus pack needs a verdict: run compute_verdicts.py"
    );
    files
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let v = verdicts
                .get(&name)
                .unwrap_or_else(|| panic!("{name} has no verdict: run compute_verdicts.py"));
            let verdict = Verdict {
                schema: v["schema"].as_str().unwrap().to_owned(),
                valid: v["valid"].as_bool().unwrap(),
            };
            (path, verdict)
        })
        .collect()
}

/// The schema file stem (as `compute_verdicts.py` names it) of a version.
fn stem(v: SchemaVersion) -> &'static str {
    match v {
        SchemaVersion::V1_0 => "v1.0",
        SchemaVersion::V1_1 => "v1.1",
        SchemaVersion::V1_2 => "v1.2.0",
        SchemaVersion::V1_3_0 => "v1.3.0",
        SchemaVersion::V1_3_1 => "v1.3.1",
        _ => "v1.4.0",
    }
}

#[test]
fn the_corpus_has_valid_and_invalid_packs_of_every_version() {
    let corpus = corpus();
    assert!(corpus.len() >= 25, "{} packs", corpus.len());
    assert!(corpus.iter().filter(|(_, v)| v.valid).count() >= 15);
    assert!(corpus.iter().filter(|(_, v)| !v.valid).count() >= 5);
    for version in SchemaVersion::ALL {
        assert!(
            corpus.iter().any(|(_, v)| v.schema == stem(version)),
            "no pack declares {version}"
        );
    }
}

#[test]
fn strict_verdict_is_the_schema_verdict() {
    let mut disagreements = Vec::new();
    for (path, verdict) in corpus() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        match Pack::load_with(&path, LoadOptions::strict()) {
            Ok((pack, _)) => {
                assert_eq!(stem(pack.schema_version()), verdict.schema, "{name}");
                if !verdict.valid {
                    disagreements.push(format!("{name}: strict accepted, the schema rejects"));
                }
            }
            Err(Error::Invalid { problems, .. }) => {
                if verdict.valid {
                    disagreements.push(format!(
                        "{name}: strict rejected, the schema accepts: {problems:#?}"
                    ));
                }
                assert!(
                    problems.iter().all(|p| p.kind != ProblemKind::Semantic),
                    "{name}: strict failed on a semantic finding: {problems:#?}"
                );
            }
            Err(e) => disagreements.push(format!("{name}: {e}")),
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn lenient_loads_every_pack_the_schema_accepts() {
    for (path, verdict) in corpus().into_iter().filter(|(_, v)| v.valid) {
        if let Err(e) = Pack::load_with(&path, LoadOptions::lenient()) {
            panic!("{}: {e:?}", path.display());
        }
        let _ = verdict;
    }
}

/// A value for a declared variable: its example, its default, its first
/// allowed value, or a value of its type.
fn value_for(var: &Variable) -> String {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(v) = var.example.as_ref().filter(|v| !v.is_null()) {
        return text(v);
    }
    if let Some(v) = var.default.as_ref().filter(|v| !v.is_null()) {
        return text(v);
    }
    if let Some(first) = var
        .validation
        .as_ref()
        .and_then(|r| r.allowed.as_ref())
        .and_then(|a| a.first())
    {
        return text(first);
    }
    match var.var_type.as_str() {
        "number" | "float" | "integer" | "int" => {
            let min = var
                .validation
                .as_ref()
                .and_then(|r| r.minimum)
                .unwrap_or(1.0);
            format!("{}", min.max(1.0).ceil() as i64)
        }
        "boolean" | "bool" => "true".to_owned(),
        "object" => "{}".to_owned(),
        "array" => "[]".to_owned(),
        _ => {
            let min = var
                .validation
                .as_ref()
                .and_then(|r| r.min_length)
                .unwrap_or(4);
            "x".repeat(min.max(4) as usize)
        }
    }
}

#[test]
fn every_prompt_of_every_valid_pack_renders_completely() {
    let mut rendered = 0;
    for (path, _) in corpus().into_iter().filter(|(_, v)| v.valid) {
        let (pack, _) = Pack::load_with(&path, LoadOptions::lenient()).unwrap();
        let open = pack
            .template_engine
            .as_ref()
            .and_then(|e| e.syntax.split_once("variable"))
            .map_or("{{".to_owned(), |(open, _)| open.trim().to_owned());
        for name in pack.prompt_names() {
            let prompt = pack.prompt(name).unwrap();
            let vars: HashMap<String, String> = prompt
                .variables
                .iter()
                .map(|v| (v.name.clone(), value_for(v)))
                .collect();
            let mut outputs = vec![pack.render_system(prompt, &vars)];
            for model in prompt.model_overrides.keys() {
                outputs.push(pack.render_system_for_model(prompt, model, &vars));
            }
            for out in outputs {
                let text = out.unwrap_or_else(|e| panic!("{} / {name}: {e}", path.display()));
                assert!(
                    !text.contains(&open),
                    "{} / {name} left `{open}` behind:\n{text}",
                    path.display()
                );
                rendered += 1;
            }
        }
    }
    assert!(rendered >= 40, "{rendered} renderings");
}

/// PromptKit-Go loads these (its own packs, the `dir` skills form, RFC 0010
/// composition states); lenient mode does too, whatever the schema says.
#[test]
fn lenient_loads_what_promptkit_go_loads() {
    for (path, _) in corpus() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("promptkit-go-") || name.contains("composition")) {
            continue;
        }
        let (pack, warnings) = Pack::load_with(&path, LoadOptions::lenient())
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        if name.contains("composition") {
            let state = &pack.workflow.as_ref().unwrap().states["main"];
            assert_eq!(state.composition, Some(Value::from("analyze_document")));
            assert!(
                warnings
                    .iter()
                    .any(|w| w.pointer == "/workflow/states/main" && w.message.contains("RFC 0010")),
                "{warnings:#?}"
            );
        }
        if name == "promptkit-go-skills-dir-form.pack.json" {
            assert_eq!(
                pack.skills,
                [promptkit_pack::SkillSource::PathSource {
                    path: "skills".into(),
                    preload: false
                }]
            );
        }
    }
}
