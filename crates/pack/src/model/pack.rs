//! The pack itself.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::Warning;
use crate::model::{
    AgentsConfig, Compilation, Eval, PackMetadata, Prompt, SkillSource, TemplateEngine, Tool,
    WorkflowConfig,
};
use crate::schema::SchemaVersion;

/// A loaded PromptPack.
///
/// Fields mirror the spec's top-level keys. `template_engine` is required by
/// the schema but optional here so lenient loading accepts packs without it
/// (the default `{{variable}}` syntax is then used).
///
/// ```
/// let pack = promptkit_pack::Pack::from_json_str(r#"{
///   "id": "demo", "name": "Demo", "version": "1.0.0",
///   "template_engine": {"version": "v1", "syntax": "{{variable}}"},
///   "prompts": {"chat": {"id": "chat", "name": "Chat", "version": "1.0.0",
///                        "system_template": "You are helpful."}}
/// }"#).unwrap();
/// assert_eq!(pack.prompt_names().collect::<Vec<_>>(), ["chat"]);
/// assert!(pack.warnings().is_empty());
/// ```
///
/// Load packs through [`load_pack`](crate::load_pack), [`Pack::load_with`]
/// or the `from_*_str` constructors: deserializing a `Pack` with serde
/// directly skips validation and leaves [`Prompt::key`] empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pack {
    /// The `$schema` URL, if given.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Pack identifier.
    #[serde(default)]
    pub id: String,
    /// Human-readable name.
    #[serde(default)]
    pub name: String,
    /// Pack version (SemVer).
    #[serde(default)]
    pub version: String,
    /// What the pack is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Template syntax and features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_engine: Option<TemplateEngine>,
    /// Prompts by task type.
    #[serde(default)]
    pub prompts: BTreeMap<String, Prompt>,
    /// Reusable template fragments by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fragments: BTreeMap<String, String>,
    /// Tool definitions by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tools: BTreeMap<String, Tool>,
    /// Categorisation and cost metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<PackMetadata>,
    /// Compiler information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compilation: Option<Compilation>,
    /// Pack-level evals.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evals: Vec<Eval>,
    /// Workflow state machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<WorkflowConfig>,
    /// A2A agent definitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents: Option<AgentsConfig>,
    /// Skill sources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<SkillSource>,
    /// Findings tolerated while loading (see [`Pack::warnings`]).
    #[serde(skip)]
    pub(crate) warnings: Vec<Warning>,
    /// The file the pack was loaded from.
    #[serde(skip)]
    pub(crate) source: Option<PathBuf>,
    /// The schema version the pack declares (see [`Pack::schema_version`]).
    #[serde(skip)]
    pub(crate) schema_version: SchemaVersion,
    /// The document as parsed, unknown fields included.
    #[serde(skip)]
    pub(crate) document: serde_json::Value,
}

impl Pack {
    /// The schema version the pack declares in `$schema` (the newest when it
    /// declares none or an unknown one); strict mode validates against it.
    ///
    /// ```
    /// let pack = promptkit_pack::Pack::from_json_str(r#"{
    ///   "$schema": "https://promptpack.org/schema/v1.1/promptpack.schema.json",
    ///   "id": "p", "name": "P", "version": "1.0.0",
    ///   "template_engine": {"version": "v1", "syntax": "{{variable}}"},
    ///   "prompts": {"a": {"id": "a", "name": "A", "version": "1.0.0", "system_template": "hi"}}}"#).unwrap();
    /// assert_eq!(pack.schema_version(), promptkit_pack::SchemaVersion::V1_1);
    /// ```
    pub fn schema_version(&self) -> SchemaVersion {
        self.schema_version
    }

    /// The document as it was parsed (JSON, or YAML converted to JSON):
    /// unknown fields and empty values included, unlike serialising the
    /// typed [`Pack`].
    ///
    /// ```
    /// let pack = promptkit_pack::Pack::from_json_str(r#"{"id": "p", "name": "P", "version": "1.0.0",
    ///   "x-owner": "team-a", "fragments": {},
    ///   "prompts": {"a": {"id": "a", "name": "A", "version": "1.0.0", "system_template": "hi"}}}"#).unwrap();
    /// assert_eq!(pack.document()["x-owner"], "team-a");
    /// assert_eq!(pack.document()["fragments"], serde_json::json!({}));
    /// ```
    pub fn document(&self) -> &serde_json::Value {
        &self.document
    }

    /// The evals that apply to `prompt`: the pack-level evals, with a
    /// prompt-level eval replacing the pack-level one of the same `id`, then
    /// the prompt's other evals. Disabled evals are included (check
    /// [`Eval::enabled`]).
    ///
    /// ```
    /// let pack = promptkit_pack::Pack::from_json_str(r#"{"id":"p","name":"P","version":"1.0.0",
    ///   "template_engine":{"version":"v1","syntax":"{{variable}}"},
    ///   "evals":[{"id":"tone","type":"llm_judge","trigger":"every_turn"},
    ///            {"id":"brand","type":"contains","trigger":"every_turn"}],
    ///   "prompts":{"a":{"id":"a","name":"A","version":"1.0.0","system_template":"hi",
    ///     "evals":[{"id":"tone","type":"regex","trigger":"sample_turns"},
    ///              {"id":"json","type":"json_valid","trigger":"every_turn"}]}}}"#).unwrap();
    /// let evals = pack.evals_for(pack.prompt("a").unwrap());
    /// let summary: Vec<(&str, &str)> =
    ///     evals.iter().map(|e| (e.id.as_str(), e.eval_type.as_str())).collect();
    /// assert_eq!(summary, [("tone", "regex"), ("brand", "contains"), ("json", "json_valid")]);
    /// ```
    pub fn evals_for<'a>(&'a self, prompt: &'a Prompt) -> Vec<&'a Eval> {
        let mut out: Vec<&Eval> = self
            .evals
            .iter()
            .map(|e| prompt.evals.iter().find(|p| p.id == e.id).unwrap_or(e))
            .collect();
        out.extend(
            prompt
                .evals
                .iter()
                .filter(|p| !self.evals.iter().any(|e| e.id == p.id)),
        );
        out
    }
}
