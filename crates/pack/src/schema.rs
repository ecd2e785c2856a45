//! Validation against the official PromptPack JSON Schemas, embedded in the
//! crate: every published version, chosen by the pack's `$schema`.

use std::fmt;
use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use crate::error::{Problem, ProblemKind, escape_pointer_token};

/// The newest official PromptPack JSON Schema (v1.4.0, draft 2020-12). Every
/// published version is embedded (see [`SchemaVersion`]); nothing is
/// fetched from the network.
///
/// ```
/// let schema: serde_json::Value = serde_json::from_str(promptkit_pack::PROMPTPACK_SCHEMA).unwrap();
/// assert_eq!(schema["version"], "1.4.0");
/// ```
pub const PROMPTPACK_SCHEMA: &str = include_str!("../schema/versions/v1.4.0.schema.json");

/// A published version of the PromptPack JSON Schema.
///
/// A pack names the version it was written for in `$schema`
/// (`https://promptpack.org/schema/<version>/promptpack.schema.json`); strict
/// validation uses that version's schema. `v1`, `latest` and an absent
/// `$schema` mean the newest.
///
/// ```
/// use promptkit_pack::SchemaVersion;
/// let v = SchemaVersion::from_schema_url(Some("https://promptpack.org/schema/v1.2/promptpack.schema.json"));
/// assert_eq!(v, Some(SchemaVersion::V1_2));
/// assert_eq!(SchemaVersion::from_schema_url(None), Some(SchemaVersion::LATEST));
/// assert_eq!(SchemaVersion::from_schema_url(Some("https://example.com/other.json")), None);
/// assert_eq!(SchemaVersion::V1_1.to_string(), "v1.1.0");
/// let schema: serde_json::Value = serde_json::from_str(SchemaVersion::V1_0.schema_text()).unwrap();
/// assert_eq!(schema["version"], "1.0.0");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SchemaVersion {
    /// v1.0 (`$schema` segment `v1.0`).
    V1_0,
    /// v1.1.0 (`v1.1`, `v1.1.0`): adds `media`.
    V1_1,
    /// v1.2.0 (`v1.2`, `v1.2.0`): adds `evals`.
    V1_2,
    /// v1.3.0 (`v1.3`, `v1.3.0`): adds `workflow` and `agents`.
    V1_3_0,
    /// v1.3.1 (`v1.3.1`): adds `skills`.
    V1_3_1,
    /// v1.4.0 (`v1.4`, `v1.4.0`, `v1`, `latest`, or no `$schema`).
    V1_4,
}

impl Default for SchemaVersion {
    fn default() -> Self {
        Self::LATEST
    }
}

impl SchemaVersion {
    /// The newest published version.
    pub const LATEST: SchemaVersion = SchemaVersion::V1_4;

    /// Every published version, oldest first.
    pub const ALL: [SchemaVersion; 6] = [
        SchemaVersion::V1_0,
        SchemaVersion::V1_1,
        SchemaVersion::V1_2,
        SchemaVersion::V1_3_0,
        SchemaVersion::V1_3_1,
        SchemaVersion::V1_4,
    ];

    /// The version a `$schema` value names: the path segment after
    /// `/schema/` (or the whole value when it has no `/`). `None` (no
    /// `$schema`) is the newest; an unrecognised value gives `None`.
    pub fn from_schema_url(url: Option<&str>) -> Option<SchemaVersion> {
        let Some(url) = url else {
            return Some(Self::LATEST);
        };
        let segment = match url.split_once("/schema/") {
            Some((_, rest)) => rest.split('/').next().unwrap_or(""),
            None if !url.contains('/') => url,
            None => return None,
        };
        Some(match segment {
            "v1.0" => SchemaVersion::V1_0,
            "v1.1" | "v1.1.0" => SchemaVersion::V1_1,
            "v1.2" | "v1.2.0" => SchemaVersion::V1_2,
            "v1.3" | "v1.3.0" => SchemaVersion::V1_3_0,
            "v1.3.1" => SchemaVersion::V1_3_1,
            "v1.4" | "v1.4.0" | "v1" | "latest" => SchemaVersion::V1_4,
            _ => return None,
        })
    }

    /// The official schema of this version (JSON text).
    pub fn schema_text(self) -> &'static str {
        match self {
            SchemaVersion::V1_0 => include_str!("../schema/versions/v1.0.schema.json"),
            SchemaVersion::V1_1 => include_str!("../schema/versions/v1.1.schema.json"),
            SchemaVersion::V1_2 => include_str!("../schema/versions/v1.2.0.schema.json"),
            SchemaVersion::V1_3_0 => include_str!("../schema/versions/v1.3.0.schema.json"),
            SchemaVersion::V1_3_1 => include_str!("../schema/versions/v1.3.1.schema.json"),
            SchemaVersion::V1_4 => PROMPTPACK_SCHEMA,
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }
}

impl fmt::Display for SchemaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SchemaVersion::V1_0 => "v1.0",
            SchemaVersion::V1_1 => "v1.1.0",
            SchemaVersion::V1_2 => "v1.2.0",
            SchemaVersion::V1_3_0 => "v1.3.0",
            SchemaVersion::V1_3_1 => "v1.3.1",
            SchemaVersion::V1_4 => "v1.4.0",
        })
    }
}

/// Longest schema message kept; longer ones (which echo large instance
/// values) are cut.
const MAX_MESSAGE: usize = 300;

/// A compiled schema: the verdict validator (formats are annotations, as
/// draft 2020-12 says by default) and one asserting formats, whose extra
/// findings are only advisories.
struct Compiled {
    verdict: jsonschema::Validator,
    formats: jsonschema::Validator,
}

/// The compiled schema of `version`, or why it failed to compile (a bug in
/// the embedded file, reported as a problem rather than a panic).
fn compiled(version: SchemaVersion) -> &'static Result<Compiled, String> {
    static COMPILED: [OnceLock<Result<Compiled, String>>; 6] = [const { OnceLock::new() }; 6];
    COMPILED[version.index()].get_or_init(|| {
        let schema: Value = serde_json::from_str(version.schema_text())
            .map_err(|e| format!("embedded PromptPack schema {version} is not JSON: {e}"))?;
        let build = |formats: bool| {
            jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .should_validate_formats(formats)
                .build(&schema)
                .map_err(|e| format!("embedded PromptPack schema {version} does not compile: {e}"))
        };
        Ok(Compiled {
            verdict: build(false)?,
            formats: build(true)?,
        })
    })
}

/// The schema version a document declares, and a warning when its
/// `$schema` names no published version (the newest is then used).
pub(crate) fn declared_version(doc: &Value) -> (SchemaVersion, Option<Problem>) {
    let url = match doc.get("$schema") {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        // not a string: the schema itself reports it
        Some(_) => return (SchemaVersion::LATEST, None),
    };
    match SchemaVersion::from_schema_url(url) {
        Some(v) => (v, None),
        None => (
            SchemaVersion::LATEST,
            Some(Problem::new(
                ProblemKind::Semantic,
                "/$schema",
                format!(
                    "`{}` names no published PromptPack schema version; validated against the newest, {}",
                    url.unwrap_or_default(),
                    SchemaVersion::LATEST
                ),
            )),
        ),
    }
}

/// Every violation of `doc` against `version`'s schema (the verdict), and
/// the advisories about values that break a `format` (which draft 2020-12
/// treats as an annotation, so they do not change the verdict).
pub(crate) fn schema_problems(doc: &Value, version: SchemaVersion) -> (Vec<Problem>, Vec<Problem>) {
    let compiled = match compiled(version) {
        Ok(c) => c,
        Err(e) => {
            return (
                vec![Problem::new(ProblemKind::Schema, "", e.clone())],
                Vec::new(),
            );
        }
    };
    let mut errors = Vec::new();
    for err in compiled.verdict.iter_errors(doc) {
        push_problem(&mut errors, &err);
    }
    let mut advisories = Vec::new();
    for err in compiled.formats.iter_errors(doc) {
        if let ValidationErrorKind::Format { format } = err.kind() {
            advisories.push(Problem::new(
                ProblemKind::Semantic,
                err.instance_path().as_str(),
                format!("value is not a valid `{format}` (the schema names this format but does not enforce it)"),
            ));
        }
    }
    (errors, advisories)
}

fn push_problem(out: &mut Vec<Problem>, err: &jsonschema::ValidationError<'_>) {
    let pointer = err.instance_path().as_str().to_owned();
    match err.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            for key in unexpected {
                out.push(Problem::new(
                    ProblemKind::Schema,
                    format!("{pointer}/{}", escape_pointer_token(key)),
                    format!("unknown property `{key}` (not allowed by the schema)"),
                ));
            }
        }
        ValidationErrorKind::Required { property } => {
            let name = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_owned);
            out.push(Problem::new(
                ProblemKind::Schema,
                format!("{pointer}/{}", escape_pointer_token(&name)),
                format!("required property `{name}` is missing"),
            ));
        }
        _ => out.push(Problem::new(
            ProblemKind::Schema,
            pointer,
            truncate(err.to_string()),
        )),
    }
}

fn truncate(mut s: String) -> String {
    if s.chars().count() > MAX_MESSAGE {
        s = s.chars().take(MAX_MESSAGE).collect();
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_schema_compiles() {
        for v in SchemaVersion::ALL {
            assert!(compiled(v).is_ok(), "{v}");
            let schema: Value = serde_json::from_str(v.schema_text()).unwrap();
            assert_eq!(
                format!("v{}", schema["version"].as_str().unwrap()).trim_end_matches(".0"),
                v.to_string().trim_end_matches(".0")
            );
        }
    }

    #[test]
    fn schema_paths_map_to_versions() {
        let url = |seg: &str| format!("https://promptpack.org/schema/{seg}/promptpack.schema.json");
        for (seg, v) in [
            ("v1.0", SchemaVersion::V1_0),
            ("v1.1", SchemaVersion::V1_1),
            ("v1.1.0", SchemaVersion::V1_1),
            ("v1.2", SchemaVersion::V1_2),
            ("v1.2.0", SchemaVersion::V1_2),
            ("v1.3", SchemaVersion::V1_3_0),
            ("v1.3.0", SchemaVersion::V1_3_0),
            ("v1.3.1", SchemaVersion::V1_3_1),
            ("v1.4", SchemaVersion::V1_4),
            ("v1.4.0", SchemaVersion::V1_4),
            ("v1", SchemaVersion::V1_4),
            ("latest", SchemaVersion::V1_4),
        ] {
            assert_eq!(
                SchemaVersion::from_schema_url(Some(&url(seg))),
                Some(v),
                "{seg}"
            );
        }
        assert_eq!(SchemaVersion::from_schema_url(Some(&url("v9"))), None);
        let (v, warning) = declared_version(&serde_json::json!({"$schema": url("v2.0")}));
        assert_eq!(v, SchemaVersion::LATEST);
        assert_eq!(warning.unwrap().pointer, "/$schema");
    }
}
