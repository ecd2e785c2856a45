//! One prompt of a pack and the per-prompt sections: variables, tool policy,
//! pipeline, generation parameters, tested models and model overrides.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::media::MediaConfig;
use crate::model::Eval;
use crate::validator::Validator;

/// A prompt: one task type of the pack (`prompts.<key>`).
///
/// `id`, `name` and `version` are required by the schema but optional here so
/// that lenient loading accepts packs that omit them (strict mode reports it).
///
/// ```
/// let pack = promptkit_pack::Pack::from_json_str(r#"{"id":"p","name":"P","version":"1.0.0",
///   "template_engine":{"version":"v1","syntax":"{{variable}}"},
///   "prompts":{"support":{"id":"support","name":"Support","version":"1.0.0",
///     "system_template":"Help {{customer}}.",
///     "variables":[{"name":"customer","type":"string","required":true}]}}}"#).unwrap();
/// let prompt = pack.prompt("support").unwrap();
/// assert_eq!(prompt.key(), "support");
/// assert_eq!(prompt.name.as_deref(), Some("Support"));
/// assert!(prompt.variable("customer").unwrap().required);
/// assert!(prompt.tools.is_empty() && prompt.generation.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prompt {
    /// Key of this prompt in the pack's `prompts` map (not part of the JSON).
    #[serde(skip)]
    pub(crate) key: String,
    /// Identifier, usually equal to the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the prompt is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Prompt version (SemVer, optional `v` prefix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The system prompt template (`{{variable}}`, `{{fragment:name}}`).
    #[serde(default)]
    pub system_template: String,
    /// Declared template variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<Variable>,
    /// Names of pack-level tools this prompt may use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    /// How tools may be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_policy: Option<ToolPolicy>,
    /// Processing stages and middleware.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<PipelineConfig>,
    /// LLM generation parameters.
    #[serde(
        default,
        rename = "parameters",
        skip_serializing_if = "Option::is_none"
    )]
    pub generation: Option<GenerationParameters>,
    /// Guardrails applied to responses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validators: Vec<Validator>,
    /// Evals scoped to this prompt.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evals: Vec<Eval>,
    /// Models this prompt was tested with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tested_models: Vec<TestedModel>,
    /// Model-specific template and parameter changes, keyed by model name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub model_overrides: BTreeMap<String, ModelOverride>,
    /// Multimodal configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaConfig>,
}

impl Prompt {
    /// Key of this prompt in the pack's `prompts` map.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The declared variable called `name`.
    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.variables.iter().find(|v| v.name == name)
    }

    /// Generation parameters as the provider layer wants them (empty when the
    /// prompt declares none). `top_k` has no provider-neutral field and is
    /// left out; read [`Prompt::generation`] for it.
    ///
    /// ```
    /// let pack = promptkit_pack::Pack::from_json_str(r#"{"id":"p","name":"P","version":"1.0.0",
    ///   "template_engine":{"version":"v1","syntax":"{{variable}}"},
    ///   "prompts":{"a":{"id":"a","name":"A","version":"1.0.0","system_template":"hi",
    ///   "parameters":{"temperature":0.2,"max_tokens":50}}}}"#).unwrap();
    /// let params = pack.prompt("a").unwrap().parameters();
    /// assert_eq!(params.temperature, Some(0.2));
    /// assert_eq!(params.max_tokens, Some(50));
    /// ```
    pub fn parameters(&self) -> promptkit_core::Parameters {
        self.generation
            .as_ref()
            .map(GenerationParameters::to_core)
            .unwrap_or_default()
    }

    /// Parameters for `model`: the prompt's parameters with the fields of the
    /// model's override (if any) taking precedence.
    ///
    /// ```
    /// let pack = promptkit_pack::Pack::from_json_str(r#"{"id":"p","name":"P","version":"1.0.0",
    ///   "template_engine":{"version":"v1","syntax":"{{variable}}"},
    ///   "prompts":{"a":{"id":"a","name":"A","version":"1.0.0","system_template":"hi",
    ///     "parameters":{"temperature":0.7,"max_tokens":100},
    ///     "model_overrides":{"gpt-4":{"parameters":{"temperature":0.1}}}}}}"#).unwrap();
    /// let p = pack.prompt("a").unwrap().parameters_for_model("gpt-4");
    /// assert_eq!((p.temperature, p.max_tokens), (Some(0.1), Some(100)));
    /// ```
    pub fn parameters_for_model(&self, model: &str) -> promptkit_core::Parameters {
        let base = self.generation.clone().unwrap_or_default();
        match self
            .model_overrides
            .get(model)
            .and_then(|o| o.parameters.as_ref())
        {
            Some(over) => base.merged_with(over).to_core(),
            None => base.to_core(),
        }
    }

    /// The tool policy, or the spec defaults when the prompt has none.
    pub fn effective_tool_policy(&self) -> ToolPolicy {
        self.tool_policy.clone().unwrap_or_default()
    }
}

/// A template variable declaration (`prompts.<key>.variables[i]`).
///
/// ```
/// use promptkit_pack::Variable;
/// let var: Variable = serde_json::from_str(
///     r#"{"name": "tier", "type": "string", "required": false, "default": "basic"}"#).unwrap();
/// assert!(!var.required);
/// assert_eq!(var.default, Some(serde_json::json!("basic")));
/// let bare: Variable = serde_json::from_str(r#"{"name": "x"}"#).unwrap();
/// assert_eq!(bare.var_type, "string"); // the type defaults to string
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variable {
    /// Name used in templates.
    #[serde(default)]
    pub name: String,
    /// Declared type (`string`, `number`, `integer`, `boolean`, `object`, `array`;
    /// other names are kept and treated as strings).
    #[serde(rename = "type", default = "default_var_type")]
    pub var_type: String,
    /// Whether a value must be provided.
    #[serde(default)]
    pub required: bool,
    /// Value used when none is provided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// What the variable means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Example value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<Value>,
    /// Rules checked on the value at render time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<VariableValidation>,
    /// How the runtime populates the variable automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<VariableBinding>,
}

fn default_var_type() -> String {
    "string".to_owned()
}

/// Validation rules of a variable, checked at render time.
///
/// ```
/// use std::collections::HashMap;
/// let pack = promptkit_pack::Pack::from_json_str(r#"{"id":"p","name":"P","version":"1.0.0",
///   "template_engine":{"version":"v1","syntax":"{{variable}}"},
///   "prompts":{"a":{"id":"a","name":"A","version":"1.0.0","system_template":"Order {{order}}",
///     "variables":[{"name":"order","type":"string","required":true,
///                   "validation":{"pattern":"^ORD-[0-9]+$","max_length":10}}]}}}"#).unwrap();
/// let prompt = pack.prompt("a").unwrap();
/// let rules = prompt.variable("order").unwrap().validation.as_ref().unwrap();
/// assert_eq!(rules.max_length, Some(10));
/// let vars = |v: &str| HashMap::from([("order".to_string(), v.to_string())]);
/// assert_eq!(pack.render_system(prompt, &vars("ORD-42")).unwrap(), "Order ORD-42");
/// assert!(pack.render_system(prompt, &vars("42")).is_err()); // breaks the pattern
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VariableValidation {
    /// Regular expression the value must match (Rust `regex` syntax, unanchored
    /// unless the pattern anchors itself, as in the spec's examples).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Minimum length in characters.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::opt_u64"
    )]
    pub min_length: Option<u64>,
    /// Maximum length in characters.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::opt_u64"
    )]
    pub max_length: Option<u64>,
    /// Minimum numeric value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    /// Maximum numeric value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
    /// Allowed values.
    #[serde(default, rename = "enum", skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<Value>>,
}

/// Automatic population of a variable from runtime context.
///
/// ```
/// let var: promptkit_pack::Variable = serde_json::from_str(r#"{"name": "user_id",
///     "type": "string", "required": false,
///     "binding": {"kind": "session", "field": "user.id", "auto_populate": true}}"#).unwrap();
/// let binding = var.binding.unwrap();
/// assert_eq!(binding.kind.as_deref(), Some("session"));
/// assert_eq!(binding.field.as_deref(), Some("user.id"));
/// assert!(binding.auto_populate);
/// assert_eq!(binding.filter, None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VariableBinding {
    /// Source kind (`context`, `session`, `env`, `header`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Field within the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Whether the runtime fills it without caller input.
    #[serde(default)]
    pub auto_populate: bool,
    /// Filter expression applied to the bound value (`lowercase`, `trim`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

/// `tool_policy.tool_choice`.
///
/// ```
/// use promptkit_pack::{ToolChoicePolicy, ToolPolicy};
/// let policy: ToolPolicy = serde_json::from_str(r#"{"tool_choice": "required"}"#).unwrap();
/// assert_eq!(policy.tool_choice(), ToolChoicePolicy::Required);
/// assert_eq!(ToolPolicy::default().tool_choice(), ToolChoicePolicy::Auto);
/// let core: promptkit_core::ToolChoice = ToolChoicePolicy::None.into();
/// assert!(matches!(core, promptkit_core::ToolChoice::None));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolChoicePolicy {
    /// The model decides (the default).
    #[default]
    Auto,
    /// The model must call a tool.
    Required,
    /// Tools are disabled.
    None,
}

impl From<ToolChoicePolicy> for promptkit_core::ToolChoice {
    fn from(c: ToolChoicePolicy) -> Self {
        match c {
            ToolChoicePolicy::Auto => promptkit_core::ToolChoice::Auto,
            ToolChoicePolicy::Required => promptkit_core::ToolChoice::Required,
            ToolChoicePolicy::None => promptkit_core::ToolChoice::None,
        }
    }
}

/// Governance of tool use (`prompts.<key>.tool_policy`).
///
/// ```
/// let p = promptkit_pack::ToolPolicy::default();
/// assert_eq!(p.max_rounds(), 5);
/// assert_eq!(p.max_tool_calls_per_turn(), 10);
/// assert!(!p.is_blocked("anything"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolPolicy {
    /// Whether the model may, must or must not call tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoicePolicy>,
    /// Maximum LLM → tool → LLM cycles per turn (spec default 5).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::opt_u32"
    )]
    pub max_rounds: Option<u32>,
    /// Maximum tool calls in one turn (spec default 10).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::opt_u32"
    )]
    pub max_tool_calls_per_turn: Option<u32>,
    /// Tools this prompt may not use, even if listed in `tools`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocklist: Vec<String>,
}

impl ToolPolicy {
    /// Spec default of `max_rounds`.
    pub const DEFAULT_MAX_ROUNDS: u32 = 5;
    /// Spec default of `max_tool_calls_per_turn`.
    pub const DEFAULT_MAX_TOOL_CALLS_PER_TURN: u32 = 10;

    /// `tool_choice`, defaulting to `auto`.
    pub fn tool_choice(&self) -> ToolChoicePolicy {
        self.tool_choice.unwrap_or_default()
    }
    /// `max_rounds`, defaulting to 5.
    pub fn max_rounds(&self) -> u32 {
        self.max_rounds.unwrap_or(Self::DEFAULT_MAX_ROUNDS)
    }
    /// `max_tool_calls_per_turn`, defaulting to 10.
    pub fn max_tool_calls_per_turn(&self) -> u32 {
        self.max_tool_calls_per_turn
            .unwrap_or(Self::DEFAULT_MAX_TOOL_CALLS_PER_TURN)
    }
    /// Whether `tool` is on the blocklist.
    pub fn is_blocked(&self, tool: &str) -> bool {
        self.blocklist.iter().any(|b| b == tool)
    }
}

/// Processing stages and middleware (`prompts.<key>.pipeline`).
///
/// ```
/// let pack = promptkit_pack::Pack::from_json_str(r#"{"id":"p","name":"P","version":"1.0.0",
///   "template_engine":{"version":"v1","syntax":"{{variable}}"},
///   "prompts":{"a":{"id":"a","name":"A","version":"1.0.0","system_template":"hi",
///     "pipeline":{"stages":["template","provider","validator"],
///                 "middleware":[{"type":"rate_limit","config":{"rpm":60}}]}}}}"#).unwrap();
/// assert!(pack.warnings().is_empty());
/// let pipeline = pack.prompt("a").unwrap().pipeline.as_ref().unwrap();
/// assert_eq!(pipeline.stages, ["template", "provider", "validator"]);
/// assert_eq!(pipeline.middleware[0].middleware_type, "rate_limit");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PipelineConfig {
    /// Ordered stage names (`template`, `provider`, `validator`, ...).
    #[serde(default)]
    pub stages: Vec<String>,
    /// Middleware applied in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub middleware: Vec<MiddlewareConfig>,
}

/// One middleware of a pipeline.
///
/// ```
/// let mw: promptkit_pack::MiddlewareConfig =
///     serde_json::from_str(r#"{"type": "logging", "config": {"level": "debug"}}"#).unwrap();
/// assert_eq!(mw.middleware_type, "logging");
/// assert_eq!(mw.config.unwrap()["level"], "debug");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MiddlewareConfig {
    /// Middleware type identifier.
    #[serde(rename = "type", default)]
    pub middleware_type: String,
    /// Type-specific configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Map<String, Value>>,
}

/// Generation parameters exactly as the spec defines them (`parameters`).
///
/// ```
/// use promptkit_pack::GenerationParameters;
/// let base: GenerationParameters =
///     serde_json::from_str(r#"{"temperature": 0.7, "max_tokens": 500, "top_k": null}"#).unwrap();
/// assert_eq!(base.top_k, Some(None)); // explicit null: no limit
/// let over: GenerationParameters = serde_json::from_str(r#"{"temperature": 0.2}"#).unwrap();
/// let merged = base.merged_with(&over);
/// assert_eq!((merged.temperature, merged.max_tokens), (Some(0.2), Some(500)));
/// assert_eq!(merged.to_core().temperature, Some(0.2));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GenerationParameters {
    /// Sampling temperature, 0–2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Maximum tokens to generate.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::opt_u64"
    )]
    pub max_tokens: Option<u64>,
    /// Nucleus sampling, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Top-k sampling; `Some(None)` is an explicit `null` (no limit).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::explicit_null_u64"
    )]
    pub top_k: Option<Option<u64>>,
    /// Frequency penalty, −2–2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Presence penalty, −2–2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
}

impl GenerationParameters {
    /// `self` with every field set in `over` replaced.
    pub fn merged_with(&self, over: &GenerationParameters) -> GenerationParameters {
        GenerationParameters {
            temperature: over.temperature.or(self.temperature),
            max_tokens: over.max_tokens.or(self.max_tokens),
            top_p: over.top_p.or(self.top_p),
            top_k: over.top_k.or(self.top_k),
            frequency_penalty: over.frequency_penalty.or(self.frequency_penalty),
            presence_penalty: over.presence_penalty.or(self.presence_penalty),
        }
    }

    /// The provider-neutral subset.
    pub fn to_core(&self) -> promptkit_core::Parameters {
        let mut p = promptkit_core::Parameters::default();
        p.temperature = self.temperature;
        p.max_tokens = self.max_tokens;
        p.top_p = self.top_p;
        p.frequency_penalty = self.frequency_penalty;
        p.presence_penalty = self.presence_penalty;
        p
    }
}

/// Test results of one model with this prompt.
///
/// ```
/// let tested: promptkit_pack::TestedModel = serde_json::from_str(r#"{"provider": "openai",
///     "model": "gpt-4o", "date": "2025-10-31", "success_rate": 0.95, "avg_latency_ms": 1200}"#).unwrap();
/// assert_eq!((tested.provider.as_str(), tested.model.as_str()), ("openai", "gpt-4o"));
/// assert_eq!(tested.success_rate, Some(0.95));
/// assert_eq!(tested.avg_latency_ms, Some(1200.0));
/// assert_eq!(tested.avg_cost, None);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestedModel {
    /// Provider name.
    #[serde(default)]
    pub provider: String,
    /// Model identifier.
    #[serde(default)]
    pub model: String,
    /// Test date (`YYYY-MM-DD`).
    #[serde(default)]
    pub date: String,
    /// Success rate, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_rate: Option<f64>,
    /// Average tokens per response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_tokens: Option<f64>,
    /// Average cost per execution in USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_cost: Option<f64>,
    /// Average latency in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_latency_ms: Option<f64>,
    /// Free-form notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// Model-specific template and parameter changes.
///
/// ```
/// let over: promptkit_pack::ModelOverride = serde_json::from_str(r#"{
///     "system_template_suffix": " Answer in JSON.", "parameters": {"temperature": 0.1}}"#).unwrap();
/// assert_eq!(over.system_template_suffix.as_deref(), Some(" Answer in JSON."));
/// assert!(over.system_template.is_none()); // the prompt's own template is kept
/// assert_eq!(over.parameters.unwrap().temperature, Some(0.1));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelOverride {
    /// Prepended to the system template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_template_prefix: Option<String>,
    /// Appended to the system template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_template_suffix: Option<String>,
    /// Replaces the system template entirely (prefix and suffix still apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_template: Option<String>,
    /// Parameter overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<GenerationParameters>,
}
