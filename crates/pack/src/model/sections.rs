//! Pack-level sections besides prompts: template engine, tools, metadata,
//! compilation info.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `template_engine`: how placeholders are written and which features the pack uses.
///
/// ```
/// use std::collections::HashMap;
/// let pack = promptkit_pack::Pack::from_json_str(r#"{"id":"p","name":"P","version":"1.0.0",
///   "template_engine":{"version":"v1","syntax":"${variable}"},
///   "prompts":{"a":{"id":"a","name":"A","version":"1.0.0","system_template":"Hi ${who}",
///     "variables":[{"name":"who","type":"string","required":true}]}}}"#).unwrap();
/// assert_eq!(pack.template_engine.as_ref().unwrap().syntax, "${variable}");
/// let vars = HashMap::from([("who".to_string(), "Ann".to_string())]);
/// assert_eq!(pack.render_system(pack.prompt("a").unwrap(), &vars).unwrap(), "Hi Ann");
/// assert_eq!(promptkit_pack::TemplateEngine::default().syntax, "{{variable}}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateEngine {
    /// Engine version (`v1`).
    #[serde(default)]
    pub version: String,
    /// Placeholder syntax, written with the word `variable`: `{{variable}}`
    /// (the default), `${variable}` or `{variable}`.
    #[serde(default = "default_syntax")]
    pub syntax: String,
    /// Features the pack relies on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

fn default_syntax() -> String {
    "{{variable}}".to_owned()
}

impl Default for TemplateEngine {
    fn default() -> Self {
        TemplateEngine {
            version: "v1".to_owned(),
            syntax: "{{variable}}".to_owned(),
            features: Vec::new(),
        }
    }
}

/// A tool definition (`tools.<key>`), OpenAI function-calling style.
///
/// ```
/// let pack = promptkit_pack::Pack::from_json_str(r#"{"id":"p","name":"P","version":"1.0.0",
///   "template_engine":{"version":"v1","syntax":"{{variable}}"},
///   "prompts":{"a":{"id":"a","name":"A","version":"1.0.0","system_template":"hi","tools":["get_weather"]}},
///   "tools":{"get_weather":{"name":"get_weather","description":"Weather for a city",
///     "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}}"#).unwrap();
/// assert!(pack.warnings().is_empty());
/// let tool = &pack.tools["get_weather"];
/// assert_eq!(tool.description, "Weather for a city");
/// assert_eq!(tool.parameters.as_ref().unwrap()["required"][0], "city");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// Name the model calls the tool by.
    #[serde(default)]
    pub name: String,
    /// What the tool does (the model reads this).
    #[serde(default)]
    pub description: String,
    /// JSON Schema of the arguments object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
}

impl Tool {
    /// As a provider-facing [`promptkit_core::ToolDefinition`]; a tool without
    /// `parameters` takes no arguments (`{"type":"object","properties":{}}`).
    ///
    /// ```
    /// let tool: promptkit_pack::Tool = serde_json::from_str(
    ///     r#"{"name": "now", "description": "Current time"}"#).unwrap();
    /// let def = tool.to_definition();
    /// assert_eq!(def.name, "now");
    /// assert_eq!(def.parameters, serde_json::json!({"type": "object", "properties": {}}));
    /// ```
    pub fn to_definition(&self) -> promptkit_core::ToolDefinition {
        promptkit_core::ToolDefinition {
            name: self.name.clone(),
            description: self.description.clone(),
            parameters: self
                .parameters
                .clone()
                .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}})),
        }
    }
}

/// `metadata`: categorisation and cost planning. Unknown keys are kept in `extra`.
///
/// ```
/// let pack = promptkit_pack::Pack::from_json_str(r#"{"id":"p","name":"P","version":"1.0.0",
///   "template_engine":{"version":"v1","syntax":"{{variable}}"},
///   "prompts":{"a":{"id":"a","name":"A","version":"1.0.0","system_template":"hi"}},
///   "metadata":{"domain":"support","language":"en","tags":["faq"],"owner":"team-a",
///     "cost_estimate":{"avg_cost_usd":0.002}}}"#).unwrap();
/// let meta = pack.metadata.as_ref().unwrap();
/// assert_eq!((meta.domain.as_deref(), meta.language.as_deref()), (Some("support"), Some("en")));
/// assert_eq!(meta.tags, ["faq"]);
/// assert_eq!(meta.extra["owner"], "team-a"); // unknown keys are kept
/// assert_eq!(meta.cost_estimate.as_ref().unwrap().avg_cost_usd, Some(0.002));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PackMetadata {
    /// Domain or category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// ISO 639-1 language code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Discovery tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Cost estimate per execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_estimate: Option<CostEstimate>,
    /// Any other metadata (the schema allows additional keys).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `metadata.cost_estimate`, in USD per execution.
///
/// ```
/// let cost: promptkit_pack::CostEstimate =
///     serde_json::from_str(r#"{"min_cost_usd": 0.001, "max_cost_usd": 0.01}"#).unwrap();
/// assert_eq!((cost.min_cost_usd, cost.max_cost_usd), (Some(0.001), Some(0.01)));
/// assert_eq!(cost.avg_cost_usd, None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CostEstimate {
    /// Minimum cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_cost_usd: Option<f64>,
    /// Maximum cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost_usd: Option<f64>,
    /// Average cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_cost_usd: Option<f64>,
    /// Any other keys.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `compilation`: written by the `packc` compiler.
///
/// ```
/// let c: promptkit_pack::Compilation = serde_json::from_str(r#"{"compiled_with": "packc-v0.1.0",
///     "created_at": "2025-01-15T10:30:00Z", "schema": "v1", "pack_hash": "sha256:ab12"}"#).unwrap();
/// assert_eq!(c.compiled_with, "packc-v0.1.0");
/// assert_eq!(c.source, None);
/// assert_eq!(c.extra["pack_hash"], "sha256:ab12"); // other keys are kept
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compilation {
    /// Compiler version.
    #[serde(default)]
    pub compiled_with: String,
    /// RFC 3339 timestamp.
    #[serde(default)]
    pub created_at: String,
    /// Pack format schema version.
    #[serde(default)]
    pub schema: String,
    /// Source configuration file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Any other keys (the schema allows them).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}
