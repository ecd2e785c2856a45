//! Response validators (guardrails): `prompts.<key>.validators[i]`.
//!
//! The spec leaves validator types open ("runtimes define and register their
//! own"); this crate implements the types named in the spec's examples and a
//! few common ones:
//!
//! | `type` | `params` | fails when |
//! |---|---|---|
//! | `banned_words` | `words: [string]`, `case_sensitive: bool` (false) | a listed word occurs as a whole word |
//! | `max_length` | `max_characters`, `max_tokens` (at least one) | the text is longer |
//! | `min_length` | `min_characters` | the text is shorter |
//! | `length` | `min_characters`, `max_characters`, `max_tokens` | outside the bounds |
//! | `max_sentences` | `max_sentences` | more sentences (split on `.`, `!`, `?`) |
//! | `regex_match` (alias `regex`, `pattern`) | `pattern`, `must_match: bool` (true) | the match result differs from `must_match` |
//! | `required_fields` | `required_fields` (alias `fields`): `[string]` | the text is not a JSON object with all those keys |
//! | `json_valid` | – | the text is not JSON |
//!
//! Tokens are estimated as one per four characters, rounded up (no tokenizer
//! is bundled). Other types (`sentiment`, `custom`, ...) are kept but not
//! checked: [`Validator::is_supported`] is false and loading warns about them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;

/// One validator declaration.
///
/// ```
/// use promptkit_pack::Validator;
/// let v: Validator = serde_json::from_value(serde_json::json!({
///     "type": "banned_words", "params": {"words": ["darn"]}, "fail_on_violation": true
/// })).unwrap();
/// assert!(v.check("all fine").is_ok());
/// let violation = v.check("Darn it").unwrap_err();
/// assert!(violation.fail_on_violation);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validator {
    /// Validator type (see the module table).
    #[serde(rename = "type", default)]
    pub validator_type: String,
    /// Whether it runs (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// User-facing message used when it blocks content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Whether a violation is an error (true) or only reported (false, the default).
    #[serde(default)]
    pub fail_on_violation: bool,
    /// Type-specific parameters.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub params: serde_json::Map<String, Value>,
}

fn yes() -> bool {
    true
}

/// A response that broke a validator.
///
/// ```
/// let v: promptkit_pack::Validator = serde_json::from_value(serde_json::json!({
///     "type": "max_length", "params": {"max_characters": 10}, "message": "Keep it short"
/// })).unwrap();
/// let violation = v.check("This reply is far too long").unwrap_err();
/// assert_eq!(violation.validator_type, "max_length");
/// assert!(!violation.fail_on_violation); // only reported, not fatal
/// assert_eq!(violation.to_string(), "max_length: Keep it short");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{validator_type}: {message}")]
#[non_exhaustive]
pub struct Violation {
    /// The validator's type.
    pub validator_type: String,
    /// The validator's `message` if set, otherwise a description of the failure.
    pub message: String,
    /// Copied from the validator: whether this violation must fail the turn.
    pub fail_on_violation: bool,
}

/// A validator's parameters, parsed and checked.
#[derive(Debug, Clone)]
pub(crate) enum Rule {
    /// Whole-word banned terms.
    BannedWords {
        /// The words.
        words: Vec<String>,
        /// Match case exactly.
        case_sensitive: bool,
    },
    /// Length bounds in characters and estimated tokens.
    Length {
        /// Minimum characters.
        min_characters: Option<u64>,
        /// Maximum characters.
        max_characters: Option<u64>,
        /// Maximum estimated tokens.
        max_tokens: Option<u64>,
    },
    /// Maximum number of sentences.
    MaxSentences(u64),
    /// A regular expression that must (or must not) match.
    Regex {
        /// The compiled pattern.
        pattern: regex::Regex,
        /// Whether it must match (true) or must not (false).
        must_match: bool,
    },
    /// The text must be a JSON object with these keys.
    RequiredFields(Vec<String>),
    /// The text must be JSON.
    JsonValid,
}

/// Why a validator's `params` are unusable: the parameter name and the message.
pub(crate) type ParamError = (String, String);

fn param_u64(
    params: &serde_json::Map<String, Value>,
    key: &str,
) -> Result<Option<u64>, ParamError> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| (key.to_owned(), "must be a non-negative integer".to_owned())),
    }
}

fn param_bool(
    params: &serde_json::Map<String, Value>,
    key: &str,
    default: bool,
) -> Result<bool, ParamError> {
    match params.get(key) {
        None => Ok(default),
        Some(v) => v
            .as_bool()
            .ok_or_else(|| (key.to_owned(), "must be a boolean".to_owned())),
    }
}

fn param_strings(
    params: &serde_json::Map<String, Value>,
    keys: &[&str],
) -> Result<Vec<String>, ParamError> {
    let Some((key, value)) = keys.iter().find_map(|k| params.get(*k).map(|v| (*k, v))) else {
        return Err((keys[0].to_owned(), "is required".to_owned()));
    };
    let bad = || (key.to_owned(), "must be a list of strings".to_owned());
    value
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|w| w.as_str().map(str::to_owned).ok_or_else(bad))
        .collect()
}

impl Validator {
    /// Whether this crate implements the validator's type.
    pub fn is_supported(&self) -> bool {
        matches!(
            self.validator_type.as_str(),
            "banned_words"
                | "max_length"
                | "min_length"
                | "length"
                | "max_sentences"
                | "regex_match"
                | "regex"
                | "pattern"
                | "required_fields"
                | "json_valid"
        )
    }

    /// Parses the parameters into a [`Rule`]; `Ok(None)` for unsupported types.
    pub(crate) fn rule(&self) -> Result<Option<Rule>, ParamError> {
        let p = &self.params;
        let rule = match self.validator_type.as_str() {
            "banned_words" => Rule::BannedWords {
                words: param_strings(p, &["words"])?,
                case_sensitive: param_bool(p, "case_sensitive", false)?,
            },
            "max_length" | "min_length" | "length" => {
                let rule = Rule::Length {
                    min_characters: param_u64(p, "min_characters")?,
                    max_characters: param_u64(p, "max_characters")?,
                    max_tokens: param_u64(p, "max_tokens")?,
                };
                if let Rule::Length {
                    min_characters: None,
                    max_characters: None,
                    max_tokens: None,
                } = rule
                {
                    let key = if self.validator_type == "min_length" {
                        "min_characters"
                    } else {
                        "max_characters"
                    };
                    return Err((key.to_owned(), "is required".to_owned()));
                }
                rule
            }
            "max_sentences" => Rule::MaxSentences(
                param_u64(p, "max_sentences")?
                    .ok_or_else(|| ("max_sentences".to_owned(), "is required".to_owned()))?,
            ),
            "regex_match" | "regex" | "pattern" => {
                let src = p
                    .get("pattern")
                    .and_then(Value::as_str)
                    .ok_or_else(|| ("pattern".to_owned(), "is required (a string)".to_owned()))?;
                let pattern = regex::Regex::new(src)
                    .map_err(|e| ("pattern".to_owned(), format!("is not a valid regex: {e}")))?;
                Rule::Regex {
                    pattern,
                    must_match: param_bool(p, "must_match", true)?,
                }
            }
            "required_fields" => {
                Rule::RequiredFields(param_strings(p, &["required_fields", "fields"])?)
            }
            "json_valid" => Rule::JsonValid,
            _ => return Ok(None),
        };
        Ok(Some(rule))
    }

    /// Checks `text`. Disabled and unsupported validators always pass; a
    /// validator with unusable `params` (which strict loading rejects) fails
    /// with a violation saying so.
    pub fn check(&self, text: &str) -> Result<(), Violation> {
        if !self.enabled {
            return Ok(());
        }
        let failure = match self.rule() {
            Ok(None) => None,
            Ok(Some(rule)) => check_rule(&rule, text),
            Err((key, msg)) => Some(format!("validator parameter `{key}` {msg}")),
        };
        match failure {
            None => Ok(()),
            Some(detail) => Err(Violation {
                validator_type: self.validator_type.clone(),
                message: self.message.clone().unwrap_or(detail),
                fail_on_violation: self.fail_on_violation,
            }),
        }
    }
}

fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

fn check_rule(rule: &Rule, text: &str) -> Option<String> {
    match rule {
        Rule::BannedWords {
            words,
            case_sensitive,
        } => words.iter().find_map(|w| {
            let pattern = format!(
                "{}\\b{}\\b",
                if *case_sensitive { "" } else { "(?i)" },
                regex::escape(w)
            );
            let hit = regex::Regex::new(&pattern).is_ok_and(|re| re.is_match(text));
            hit.then(|| format!("response contains banned word `{w}`"))
        }),
        Rule::Length {
            min_characters,
            max_characters,
            max_tokens,
        } => {
            let chars = text.chars().count() as u64;
            if let Some(min) = min_characters.filter(|&m| chars < m) {
                Some(format!(
                    "response has {chars} characters, at least {min} required"
                ))
            } else if let Some(max) = max_characters.filter(|&m| chars > m) {
                Some(format!(
                    "response has {chars} characters, at most {max} allowed"
                ))
            } else {
                let tokens = estimate_tokens(text);
                max_tokens
                    .filter(|&m| tokens > m)
                    .map(|max| format!("response has about {tokens} tokens, at most {max} allowed"))
            }
        }
        Rule::MaxSentences(max) => {
            let n = text
                .split(['.', '!', '?'])
                .filter(|s| !s.trim().is_empty())
                .count() as u64;
            (n > *max).then(|| format!("response has {n} sentences, at most {max} allowed"))
        }
        Rule::Regex {
            pattern,
            must_match,
        } => (pattern.is_match(text) != *must_match).then(|| {
            if *must_match {
                format!("response does not match `{}`", pattern.as_str())
            } else {
                format!("response matches forbidden pattern `{}`", pattern.as_str())
            }
        }),
        Rule::RequiredFields(fields) => match serde_json::from_str::<Value>(text.trim()) {
            Ok(Value::Object(map)) => {
                let missing: Vec<&str> = fields
                    .iter()
                    .filter(|f| !map.contains_key(f.as_str()))
                    .map(String::as_str)
                    .collect();
                (!missing.is_empty()).then(|| {
                    format!(
                        "response JSON lacks required fields: {}",
                        missing.join(", ")
                    )
                })
            }
            _ => Some("response is not a JSON object".to_owned()),
        },
        Rule::JsonValid => serde_json::from_str::<Value>(text.trim())
            .err()
            .map(|e| format!("response is not valid JSON: {e}")),
    }
}

/// Runs every validator on `text`.
///
/// Returns the violations of validators whose `fail_on_violation` is false
/// (to log), or [`Error::ValidationFailed`] for the first violation of one
/// whose `fail_on_violation` is true.
///
/// ```
/// use promptkit_pack::{Validator, validate_response};
/// let vs: Vec<Validator> = serde_json::from_value(serde_json::json!([
///     {"type": "max_length", "params": {"max_characters": 5}},
///     {"type": "required_fields", "params": {"required_fields": ["a"]}, "fail_on_violation": true}
/// ])).unwrap();
/// let soft = validate_response(&vs, r#"{"a": 1}"#).unwrap();
/// assert_eq!(soft.len(), 1); // too long, but only logged
/// assert!(validate_response(&vs, r#"{"b": 1}"#).is_err());
/// ```
pub fn validate_response(validators: &[Validator], text: &str) -> Result<Vec<Violation>, Error> {
    let mut soft = Vec::new();
    for v in validators {
        if let Err(violation) = v.check(text) {
            if violation.fail_on_violation {
                return Err(Error::ValidationFailed(violation));
            }
            soft.push(violation);
        }
    }
    Ok(soft)
}
