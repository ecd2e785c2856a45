//! The newer pack sections: evals, workflow, agents and skills. The runtime
//! does not execute them yet; they are parsed into typed data so tools and
//! applications can use them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An eval: asynchronous quality assessment of responses (`evals[i]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Eval {
    /// Unique id within its scope.
    pub id: String,
    /// What it measures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Assertion type (`llm_judge`, `regex`, `contains`, `json_valid`, ...).
    #[serde(rename = "type")]
    pub eval_type: String,
    /// When it runs (`every_turn`, `sample_turns`, ...).
    pub trigger: String,
    /// Sampling percentage for sampled triggers (spec default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_percentage: Option<f64>,
    /// Whether it is active (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Type-specific configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<serde_json::Map<String, Value>>,
    /// Metric the eval exports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<MetricDef>,
    /// Pass/fail threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Threshold>,
    /// Result message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Condition for running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<serde_json::Map<String, Value>>,
    /// Group tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

fn yes() -> bool {
    true
}

/// Pass/fail threshold of an eval.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// `gte`, `lte`, `gt`, `lt`, `eq`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// Value compared against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

/// Prometheus-style metric of an eval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricDef {
    /// Metric name.
    pub name: String,
    /// `gauge`, `counter`, `histogram` or `boolean`.
    #[serde(rename = "type")]
    pub metric_type: String,
    /// Expected value bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<MetricRange>,
    /// Any other keys (the schema allows them).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Expected bounds of a metric.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricRange {
    /// Minimum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// `workflow`: a state machine over the pack's prompts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowConfig {
    /// Workflow format version (1).
    pub version: u64,
    /// Initial state.
    pub entry: String,
    /// States by name.
    pub states: BTreeMap<String, WorkflowState>,
    /// Runtime engine configuration (`budget` plus runtime-specific keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<WorkflowEngine>,
}

/// `workflow.engine`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkflowEngine {
    /// Resource limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<WorkflowBudget>,
    /// Runtime-specific hints.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Resource budget of a workflow run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowBudget {
    /// Maximum state visits overall.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_total_visits: Option<u64>,
    /// Maximum tool calls overall.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tool_calls: Option<u64>,
    /// Maximum wall-clock seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wall_time_sec: Option<u64>,
}

/// One workflow state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkflowState {
    /// Key of the prompt this state runs.
    pub prompt_task: String,
    /// What the state is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Event name → target state.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub on_event: BTreeMap<String, String>,
    /// `persistent` or `transient`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<String>,
    /// `internal`, `external` or `hybrid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orchestration: Option<String>,
    /// Skill filter path, or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skills: Option<String>,
    /// Whether the workflow ends after this state.
    #[serde(default)]
    pub terminal: bool,
    /// Maximum entries into this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_visits: Option<u64>,
    /// State entered when `max_visits` is reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_max_visits: Option<String>,
    /// Artifact slots, available to templates as `{{artifacts.<name>}}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, ArtifactDef>,
}

/// An artifact slot of a workflow state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactDef {
    /// MIME type of the content.
    #[serde(rename = "type")]
    pub mime_type: String,
    /// What it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `replace` (default) or `append`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

/// `agents`: A2A agent definitions over prompts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentsConfig {
    /// Prompt key of the entry agent.
    pub entry: String,
    /// Prompt key → agent card data.
    pub members: BTreeMap<String, AgentDef>,
}

/// One agent's card data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentDef {
    /// Card description (overrides the prompt's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Discovery tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Accepted input MIME types (spec default `["text/plain"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_modes: Vec<String>,
    /// Produced output MIME types (spec default `["text/plain"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_modes: Vec<String>,
}

/// One entry of `skills`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SkillSource {
    /// A path or package reference.
    Path(String),
    /// A path with preload configuration.
    PathSource {
        /// Path or package reference.
        path: String,
        /// Load eagerly at pack initialisation.
        #[serde(default)]
        preload: bool,
    },
    /// A skill defined inline.
    Inline {
        /// Skill name.
        name: String,
        /// What it provides.
        description: String,
        /// Instructions loaded when the skill activates.
        instructions: String,
    },
}
