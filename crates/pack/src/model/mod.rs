//! The typed PromptPack model: every section of the spec.

mod orchestration;
mod pack;
mod prompt;
mod sections;

pub use orchestration::{
    AgentDef, AgentsConfig, ArtifactDef, Eval, MetricDef, MetricRange, SkillSource, Threshold,
    WorkflowBudget, WorkflowConfig, WorkflowEngine, WorkflowState,
};
pub use pack::Pack;
pub use prompt::{
    GenerationParameters, MiddlewareConfig, ModelOverride, PipelineConfig, Prompt, TestedModel,
    ToolChoicePolicy, ToolPolicy, Variable, VariableBinding, VariableValidation,
};
pub use sections::{Compilation, CostEstimate, PackMetadata, TemplateEngine, Tool};
