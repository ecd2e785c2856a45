//! PromptPack loading, validation and rendering.
//!
//! A [PromptPack](https://promptpack.org) is a JSON (or YAML) file holding
//! prompts, their variables, tools, generation parameters, guardrails and
//! media rules. This crate parses every section of the spec into a typed
//! [`Pack`], validates it, and renders system prompts.
//!
//! # Loading
//!
//! [`load_pack`] reads a file leniently: anything the typed model can hold is
//! accepted (what PromptKit-Go loads) and problems become [`Pack::warnings`].
//! [`Pack::load_with`] with [`LoadOptions::strict`] validates against the
//! official JSON Schema of the version the pack declares in `$schema` (all
//! published versions are embedded, see [`SchemaVersion`]; nothing is
//! fetched): strict mode fails exactly when that schema rejects the pack.
//! Semantic findings (undefined tools, unknown placeholders, ...) are
//! warnings in both modes; [`LoadOptions::deny_warnings`] makes them
//! failures. Every problem comes back at once, each with its JSON pointer:
//!
//! ```
//! use promptkit_pack::{Error, Format, LoadOptions, Pack};
//! use std::path::Path;
//! let text = r#"{"id":"p","name":"P","version":"1.0.0",
//!   "template_engine":{"version":"v1","syntax":"{{variable}}"},
//!   "prompts":{"support":{"id":"support","name":"S","version":"1.0.0",
//!     "system_template":"Hi {{name}}","tools":["missing"]}}}"#;
//! let load = |options| Pack::from_str_with(text, Format::Json, Path::new("p.json"), options);
//! assert_eq!(load(LoadOptions::strict()).unwrap().warnings().len(), 2); // the schema accepts it
//! let err = load(LoadOptions::strict().deny_warnings(true)).unwrap_err();
//! let Error::Invalid { problems, .. } = err else { panic!() };
//! let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
//! assert_eq!(pointers, ["/prompts/support/system_template", "/prompts/support/tools/0"]);
//! ```
//!
//! # Rendering
//!
//! [`Pack::render_system`] substitutes `{{variable}}` placeholders, expands
//! `{{fragments.name}}` fragments, fills `{{artifacts.name}}` (empty until
//! written), applies defaults and checks each variable's type and
//! validation rules; see its documentation for the exact rules.
//!
//! # Runtime data
//!
//! [`Prompt::parameters`] gives provider parameters, [`Pack::tool_definitions`]
//! the prompt's tools, [`Prompt::effective_tool_policy`] the tool-loop limits,
//! [`validate_response`] runs the prompt's [`Validator`]s on a response, and
//! [`MediaConfig::check_message`] enforces the prompt's media rules
//! (measuring durations with [`media_duration`] and PDF pages with
//! [`pdf_page_count`]).
#![warn(missing_docs, unreachable_pub)]
#![deny(rustdoc::broken_intra_doc_links)]

mod dupkeys;
mod error;
mod load;
mod locate;
mod locate_yaml;
mod media;
mod model;
mod render;
mod schema;
mod semantic;
mod template;
mod validator;
mod vars;
mod whole;
mod yaml;

pub use error::{Error, Position, Problem, ProblemKind, Warning, escape_pointer_token};
pub use load::{Format, LoadOptions, MAX_NESTING_DEPTH, MAX_PACK_BYTES, ValidationMode, load_pack};
pub use media::{
    DocumentConfig, ExamplePart, GenericMediaTypeConfig, ImageConfig, MeasureFailure, MediaConfig,
    MediaReference, MediaRejection, MultimodalExample, TimedMediaConfig, media_duration,
    pdf_page_count,
};
pub use model::{
    AgentDef, AgentsConfig, ArtifactDef, Compilation, CostEstimate, Eval, GenerationParameters,
    MetricDef, MetricRange, MiddlewareConfig, ModelOverride, Pack, PackMetadata, PipelineConfig,
    Prompt, SkillSource, TemplateEngine, TestedModel, Threshold, Tool, ToolChoicePolicy,
    ToolPolicy, Variable, VariableBinding, VariableValidation, WorkflowBudget, WorkflowConfig,
    WorkflowEngine, WorkflowState,
};
pub use schema::{PROMPTPACK_SCHEMA, SchemaVersion};
pub use validator::{Validator, Violation, validate_response};

/// The guide `docs/promptpack.md`; its code blocks are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/promptpack.md")]
pub struct PromptPackGuideDoctests;
