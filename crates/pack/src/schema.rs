//! Validation against the official PromptPack JSON Schema, embedded in the crate.

use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use crate::error::{Problem, ProblemKind, escape_pointer_token};

/// The official PromptPack JSON Schema (v1.4.0, draft 2020-12) this crate
/// validates against in strict mode. Shipped inside the crate; nothing is
/// fetched from the network.
///
/// ```
/// let schema: serde_json::Value = serde_json::from_str(promptkit_pack::PROMPTPACK_SCHEMA).unwrap();
/// assert_eq!(schema["version"], "1.4.0");
/// ```
pub const PROMPTPACK_SCHEMA: &str = include_str!("../schema/promptpack.schema.json");

/// Longest schema message kept; longer ones (which echo large instance
/// values) are cut.
const MAX_MESSAGE: usize = 300;

/// Holds the compiled schema, or why it failed to compile (which would be a
/// bug in the embedded file, reported as a problem rather than a panic).
fn validator() -> &'static Result<jsonschema::Validator, String> {
    static VALIDATOR: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: Value = serde_json::from_str(PROMPTPACK_SCHEMA)
            .map_err(|e| format!("embedded PromptPack schema is not JSON: {e}"))?;
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|e| format!("embedded PromptPack schema does not compile: {e}"))
    })
}

/// Every schema violation of `doc`, each located by JSON pointer.
pub(crate) fn schema_problems(doc: &Value) -> Vec<Problem> {
    let validator = match validator() {
        Ok(v) => v,
        Err(e) => return vec![Problem::new(ProblemKind::Schema, "", e.clone())],
    };
    let mut out = Vec::new();
    for err in validator.iter_errors(doc) {
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
    out
}

fn truncate(mut s: String) -> String {
    if s.chars().count() > MAX_MESSAGE {
        s = s.chars().take(MAX_MESSAGE).collect();
        s.push('…');
    }
    s
}
