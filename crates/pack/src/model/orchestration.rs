//! The newer pack sections: evals, workflow, agents and skills. The runtime
//! does not execute them yet; they are parsed into typed data so tools and
//! applications can use them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An eval: asynchronous quality assessment of responses (`evals[i]`).
///
/// ```
/// let pack = promptkit_pack::Pack::from_json_str(r#"{"id":"p","name":"P","version":"1.0.0",
///   "template_engine":{"version":"v1","syntax":"{{variable}}"},
///   "prompts":{"a":{"id":"a","name":"A","version":"1.0.0","system_template":"hi"}},
///   "evals":[{"id":"tone","type":"llm_judge","trigger":"sample_turns","sample_percentage":10,
///     "metric":{"name":"promptpack_tone_score","type":"gauge","range":{"min":0,"max":1}},
///     "threshold":{"operator":"gte","value":0.8}}]}"#).unwrap();
/// assert!(pack.warnings().is_empty());
/// let eval = &pack.evals[0];
/// assert_eq!((eval.eval_type.as_str(), eval.trigger.as_str()), ("llm_judge", "sample_turns"));
/// assert_eq!(eval.sample_percentage, Some(10.0));
/// assert!(eval.enabled); // the default
/// assert_eq!(eval.metric.as_ref().unwrap().name, "promptpack_tone_score");
/// assert_eq!(eval.threshold.as_ref().unwrap().value, Some(0.8));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Eval {
    /// Unique id within its scope.
    #[serde(default)]
    pub id: String,
    /// What it measures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Assertion type (`llm_judge`, `regex`, `contains`, `json_valid`, ...).
    #[serde(rename = "type", default)]
    pub eval_type: String,
    /// When it runs (`every_turn`, `sample_turns`, ...).
    #[serde(default)]
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
///
/// ```
/// let t: promptkit_pack::Threshold =
///     serde_json::from_str(r#"{"operator": "gte", "value": 0.8}"#).unwrap();
/// assert_eq!(t.operator.as_deref(), Some("gte"));
/// assert_eq!(t.value, Some(0.8));
/// ```
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
///
/// ```
/// let m: promptkit_pack::MetricDef = serde_json::from_str(
///     r#"{"name": "promptpack_json_valid", "type": "boolean", "help": "Valid JSON replies"}"#).unwrap();
/// assert_eq!(m.metric_type, "boolean");
/// assert!(m.range.is_none());
/// assert_eq!(m.extra["help"], "Valid JSON replies"); // other keys are kept
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricDef {
    /// Metric name.
    #[serde(default)]
    pub name: String,
    /// `gauge`, `counter`, `histogram` or `boolean`.
    #[serde(rename = "type", default)]
    pub metric_type: String,
    /// Expected value bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<MetricRange>,
    /// Any other keys (the schema allows them).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Expected bounds of a metric.
///
/// ```
/// let r: promptkit_pack::MetricRange = serde_json::from_str(r#"{"min": 0}"#).unwrap();
/// assert_eq!((r.min, r.max), (Some(0.0), None));
/// ```
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
///
/// ```
/// let pack = promptkit_pack::Pack::from_json_str(r#"{"id":"p","name":"P","version":"1.0.0",
///   "template_engine":{"version":"v1","syntax":"{{variable}}"},
///   "prompts":{"triage":{"id":"triage","name":"T","version":"1.0.0","system_template":"Triage."},
///              "billing":{"id":"billing","name":"B","version":"1.0.0","system_template":"Bill."}},
///   "workflow":{"version":1,"entry":"start",
///     "states":{"start":{"prompt_task":"triage","on_event":{"billing":"pay"}},
///               "pay":{"prompt_task":"billing","terminal":true}},
///     "engine":{"budget":{"max_total_visits":10}}}}"#).unwrap();
/// assert!(pack.warnings().is_empty());
/// let wf = pack.workflow.as_ref().unwrap();
/// let start = &wf.states[&wf.entry];
/// assert_eq!((start.prompt_task.as_str(), start.on_event["billing"].as_str()), ("triage", "pay"));
/// assert!(wf.states["pay"].terminal);
/// let budget = wf.engine.as_ref().unwrap().budget.as_ref().unwrap();
/// assert_eq!(budget.max_total_visits, Some(10));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowConfig {
    /// Workflow format version (1).
    #[serde(default, deserialize_with = "crate::whole::u64")]
    pub version: u64,
    /// Initial state.
    #[serde(default)]
    pub entry: String,
    /// States by name.
    #[serde(default)]
    pub states: BTreeMap<String, WorkflowState>,
    /// Runtime engine configuration (`budget` plus runtime-specific keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<WorkflowEngine>,
}

/// `workflow.engine`.
///
/// ```
/// let engine: promptkit_pack::WorkflowEngine = serde_json::from_str(
///     r#"{"budget": {"max_tool_calls": 20}, "timeout_sec": 300}"#).unwrap();
/// assert_eq!(engine.budget.unwrap().max_tool_calls, Some(20));
/// assert_eq!(engine.extra["timeout_sec"], 300); // runtime-specific hint
/// ```
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
///
/// ```
/// let budget: promptkit_pack::WorkflowBudget =
///     serde_json::from_str(r#"{"max_total_visits": 50, "max_wall_time_sec": 600}"#).unwrap();
/// assert_eq!(budget.max_total_visits, Some(50));
/// assert_eq!(budget.max_tool_calls, None); // no limit
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowBudget {
    /// Maximum state visits overall.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::opt_u64"
    )]
    pub max_total_visits: Option<u64>,
    /// Maximum tool calls overall.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::opt_u64"
    )]
    pub max_tool_calls: Option<u64>,
    /// Maximum wall-clock seconds.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::opt_u64"
    )]
    pub max_wall_time_sec: Option<u64>,
}

/// One workflow state.
///
/// ```
/// let state: promptkit_pack::WorkflowState = serde_json::from_str(r#"{
///     "prompt_task": "review", "on_event": {"approved": "done"},
///     "max_visits": 3, "on_max_visits": "escalate",
///     "artifacts": {"diff": {"type": "text/x-diff"}}}"#).unwrap();
/// assert_eq!(state.on_event["approved"], "done");
/// assert_eq!((state.max_visits, state.on_max_visits.as_deref()), (Some(3), Some("escalate")));
/// assert!(!state.terminal);
/// assert_eq!(state.artifacts["diff"].mime_type, "text/x-diff");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkflowState {
    /// Key of the prompt this state runs.
    #[serde(default)]
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
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::whole::opt_u64"
    )]
    pub max_visits: Option<u64>,
    /// State entered when `max_visits` is reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_max_visits: Option<String>,
    /// Artifact slots, available to templates as `{{artifacts.<name>}}`.
    /// Artifacts are workflow-wide: a slot declared by any state can be
    /// written by one state and read by another.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, ArtifactDef>,
    /// A composition (RFC 0010, draft; PromptKit-Go's schema) run by this
    /// state instead of a `prompt_task`. Kept as written; this runtime does
    /// not run compositions, and loading warns about them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub composition: Option<Value>,
}

/// An artifact slot of a workflow state.
///
/// ```
/// let slot: promptkit_pack::ArtifactDef =
///     serde_json::from_str(r#"{"type": "text/markdown", "mode": "append"}"#).unwrap();
/// assert_eq!(slot.mime_type, "text/markdown");
/// assert_eq!(slot.mode.as_deref(), Some("append"));
/// assert!(slot.description.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactDef {
    /// MIME type of the content.
    #[serde(rename = "type", default)]
    pub mime_type: String,
    /// What it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `replace` (default) or `append`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

/// `agents`: A2A agent definitions over prompts.
///
/// ```
/// let pack = promptkit_pack::Pack::from_json_str(r#"{"id":"p","name":"P","version":"1.0.0",
///   "template_engine":{"version":"v1","syntax":"{{variable}}"},
///   "prompts":{"router":{"id":"router","name":"R","version":"1.0.0","system_template":"Route."}},
///   "agents":{"entry":"router","members":{"router":{"tags":["support"]}}}}"#).unwrap();
/// assert!(pack.warnings().is_empty());
/// let agents = pack.agents.as_ref().unwrap();
/// assert_eq!(agents.entry, "router");
/// assert_eq!(agents.members["router"].tags, ["support"]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentsConfig {
    /// Prompt key of the entry agent.
    #[serde(default)]
    pub entry: String,
    /// Prompt key → agent card data.
    #[serde(default)]
    pub members: BTreeMap<String, AgentDef>,
}

/// One agent's card data.
///
/// ```
/// let card: promptkit_pack::AgentDef = serde_json::from_str(
///     r#"{"description": "Billing help", "input_modes": ["text/plain", "image/png"]}"#).unwrap();
/// assert_eq!(card.input_modes, ["text/plain", "image/png"]);
/// assert!(card.output_modes.is_empty()); // omitted: the spec default is text/plain
/// ```
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
///
/// Accepted forms: a path string, `{"path": ..., "preload": bool}` (PromptKit-Go
/// also writes `dir` for `path`), or an inline skill
/// `{"name", "description", "instructions"}`. Anything else is refused with a
/// message naming these forms.
///
/// ```
/// use promptkit_pack::SkillSource;
/// let skills: Vec<SkillSource> = serde_json::from_str(r#"[
///     "./skills",
///     {"path": "@acme/billing-skills", "preload": true},
///     {"dir": "skills/billing"},
///     {"name": "tone", "description": "House style", "instructions": "Be brief."}
/// ]"#).unwrap();
/// assert_eq!(skills[0], SkillSource::Path("./skills".into()));
/// assert!(matches!(&skills[1], SkillSource::PathSource { preload: true, .. }));
/// assert!(matches!(&skills[2], SkillSource::PathSource { path, preload: false } if path == "skills/billing"));
/// assert!(matches!(&skills[3], SkillSource::Inline { name, .. } if name == "tone"));
/// let err = serde_json::from_str::<SkillSource>("42").unwrap_err().to_string();
/// assert!(err.contains("a path string"), "{err}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

const SKILL_FORMS: &str = "a skill source must be a path string, an object with `path` (or `dir`) and an optional boolean `preload`, or an inline skill with string `name`, `description` and `instructions`";

impl<'de> Deserialize<'de> for SkillSource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let bad = |detail: &str| D::Error::custom(format!("{SKILL_FORMS}{detail}"));
        let map = match Value::deserialize(d)? {
            Value::String(s) => return Ok(SkillSource::Path(s)),
            Value::Object(map) => map,
            _ => return Err(bad("")),
        };
        let text = |key: &str| -> Result<Option<String>, D::Error> {
            match map.get(key) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(bad(&format!(" (`{key}` is not a string)"))),
            }
        };
        if let Some(path) = text("path")?.or(text("dir")?) {
            let preload = match map.get("preload") {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(bad(" (`preload` is not a boolean)")),
            };
            return Ok(SkillSource::PathSource { path, preload });
        }
        if map.contains_key("name") || map.contains_key("instructions") {
            return Ok(SkillSource::Inline {
                name: text("name")?.unwrap_or_default(),
                description: text("description")?.unwrap_or_default(),
                instructions: text("instructions")?.unwrap_or_default(),
            });
        }
        Err(bad(" (the object has none of `path`, `dir`, `name`)"))
    }
}
