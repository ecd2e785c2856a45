//! Pack-level sections besides prompts: template engine, tools, metadata,
//! compilation info.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `template_engine`: how placeholders are written and which features the pack uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateEngine {
    /// Engine version (`v1`).
    pub version: String,
    /// Placeholder syntax, written with the word `variable`: `{{variable}}`
    /// (the default), `${variable}` or `{variable}`.
    pub syntax: String,
    /// Features the pack relies on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// Name the model calls the tool by.
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compilation {
    /// Compiler version.
    pub compiled_with: String,
    /// RFC 3339 timestamp.
    pub created_at: String,
    /// Pack format schema version.
    pub schema: String,
    /// Source configuration file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Any other keys (the schema allows them).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}
