//! Rules the JSON Schema cannot express: cross references (tools, fragments,
//! workflow states, agents), variable consistency, template placeholders and
//! validator parameters.

use std::collections::{HashMap, HashSet};

use crate::error::{Problem, ProblemKind, Warning, pointer};
use crate::model::{Eval, Pack, Prompt};
use crate::template::{self, Segment, Syntax, Target};
use crate::vars;

/// Fragments nested deeper than this are reported (and refused at render time).
pub(crate) const MAX_FRAGMENT_DEPTH: usize = 16;

/// Template features this runtime does not implement.
const UNSUPPORTED_FEATURES: &[&str] = &["conditionals", "loops", "filters"];

/// Result of the semantic checks.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    /// Violations (errors in strict mode, warnings in lenient mode).
    pub(crate) errors: Vec<Problem>,
    /// Things that are valid but that this runtime ignores (always warnings).
    pub(crate) advisories: Vec<Warning>,
}

impl Findings {
    fn error(&mut self, ptr: String, message: String) {
        let p = Problem::new(ProblemKind::Semantic, ptr, message);
        if !self.errors.contains(&p) {
            self.errors.push(p);
        }
    }
    fn advise(&mut self, ptr: String, message: String) {
        self.advisories
            .push(Problem::new(ProblemKind::Semantic, ptr, message));
    }
}

/// Runs every semantic rule on `pack`.
pub(crate) fn check(pack: &Pack) -> Findings {
    let mut f = Findings::default();
    let syntax = check_engine(pack, &mut f);
    for (name, text) in &pack.fragments {
        if let Err(e) = template::parse(text, &syntax) {
            f.error(pointer(["fragments", name]), e.to_string());
        }
    }
    for (key, tool) in &pack.tools {
        if let Some(params) = &tool.parameters {
            check_tool_parameters(key, params, &mut f);
        }
        if &tool.name != key {
            f.advise(
                pointer(["tools", key, "name"]),
                format!(
                    "tool key `{key}` differs from its name `{}`: prompts list keys, the model sees the name",
                    tool.name
                ),
            );
        }
    }
    for (key, prompt) in &pack.prompts {
        check_prompt(pack, key, prompt, &syntax, &mut f);
    }
    check_eval_ids(&pack.evals, &["evals"], &mut f);
    check_workflow(pack, &mut f);
    check_agents(pack, &mut f);
    f
}

/// A tool's `parameters` must be a valid JSON Schema (draft 2020-12), and
/// its `required` names must be declared in `properties`.
fn check_tool_parameters(key: &str, params: &serde_json::Value, f: &mut Findings) {
    let base = pointer(["tools", key, "parameters"]);
    if let Err(e) = jsonschema::draft202012::meta::validate(params) {
        f.error(
            format!("{base}{}", e.instance_path().as_str()),
            format!("not a valid JSON Schema: {e}"),
        );
        return;
    }
    let properties = params.get("properties").and_then(|p| p.as_object());
    let required = params.get("required").and_then(|r| r.as_array());
    for (i, name) in required.into_iter().flatten().enumerate() {
        let Some(name) = name.as_str() else { continue };
        if !properties.is_some_and(|p| p.contains_key(name)) {
            f.error(
                format!("{base}/required/{i}"),
                format!("required parameter `{name}` is not declared in `properties`"),
            );
        }
    }
}

fn check_engine(pack: &Pack, f: &mut Findings) -> Syntax {
    let Some(engine) = &pack.template_engine else {
        return Syntax::default();
    };
    let syntax = match Syntax::from_pattern(&engine.syntax) {
        Ok(s) => s,
        Err(e) => {
            f.error(pointer(["template_engine", "syntax"]), e);
            Syntax::default()
        }
    };
    for (i, feature) in engine.features.iter().enumerate() {
        if UNSUPPORTED_FEATURES.contains(&feature.as_str()) {
            f.advise(
                pointer(["template_engine", "features", &i.to_string()]),
                format!("template feature `{feature}` is not supported by this runtime; only substitution and fragments are"),
            );
        }
    }
    syntax
}

fn check_prompt(pack: &Pack, key: &str, prompt: &Prompt, syntax: &Syntax, f: &mut Findings) {
    let at = |rest: &[&str]| {
        let mut tokens = vec!["prompts", key];
        tokens.extend_from_slice(rest);
        pointer(tokens)
    };
    for (i, tool) in prompt.tools.iter().enumerate() {
        if !pack.tools.contains_key(tool) {
            f.error(
                at(&["tools", &i.to_string()]),
                format!("tool `{tool}` is not defined in the pack's `tools`"),
            );
        }
    }
    if let Some(policy) = &prompt.tool_policy {
        for (i, tool) in policy.blocklist.iter().enumerate() {
            if !prompt.tools.contains(tool) && !pack.tools.contains_key(tool) {
                f.advise(
                    at(&["tool_policy", "blocklist", &i.to_string()]),
                    format!("blocklisted tool `{tool}` is not defined anywhere"),
                );
            }
        }
    }
    let mut seen = HashSet::new();
    for (i, var) in prompt.variables.iter().enumerate() {
        let idx = i.to_string();
        if !seen.insert(var.name.as_str()) {
            f.error(
                at(&["variables", &idx, "name"]),
                format!("variable `{}` is declared twice", var.name),
            );
        }
        let default = var.default.as_ref().and_then(vars::default_as_string);
        if var.required && default.is_some() {
            f.error(
                at(&["variables", &idx, "default"]),
                format!("required variable `{}` cannot have a default; make it optional or drop the default", var.name),
            );
        }
        if let Some(v) = &var.validation {
            if let Some(Err(e)) = v.pattern.as_deref().map(regex::Regex::new) {
                f.error(
                    at(&["variables", &idx, "validation", "pattern"]),
                    format!("invalid regular expression: {e}"),
                );
            }
            if let (Some(min), Some(max)) = (v.min_length, v.max_length)
                && min > max
            {
                f.error(
                    at(&["variables", &idx, "validation", "min_length"]),
                    format!("min_length {min} is greater than max_length {max}"),
                );
            }
            if let (Some(min), Some(max)) = (v.minimum, v.maximum)
                && min > max
            {
                f.error(
                    at(&["variables", &idx, "validation", "minimum"]),
                    format!("minimum {min} is greater than maximum {max}"),
                );
            }
        }
        if let Some(d) = &default
            && let Err(e) = vars::check_value(var, d)
        {
            f.error(
                at(&["variables", &idx, "default"]),
                format!("default of `{}` breaks its own rules: {e}", var.name),
            );
        }
    }
    let mut tc = TemplateCheck {
        pack,
        prompt,
        syntax,
        f,
        heights: HashMap::new(),
    };
    tc.template(
        &prompt.system_template,
        at(&["system_template"]),
        &mut Vec::new(),
    );
    for (model, over) in &prompt.model_overrides {
        for (field, text) in [
            ("system_template_prefix", &over.system_template_prefix),
            ("system_template", &over.system_template),
            ("system_template_suffix", &over.system_template_suffix),
        ] {
            if let Some(text) = text {
                tc.template(
                    text,
                    at(&["model_overrides", model, field]),
                    &mut Vec::new(),
                );
            }
        }
    }
    for (i, v) in prompt.validators.iter().enumerate() {
        let idx = i.to_string();
        match v.rule() {
            Ok(Some(_)) => {}
            Ok(None) => f.advise(
                at(&["validators", &idx, "type"]),
                format!(
                    "validator type `{}` is not built in; it will not be checked",
                    v.validator_type
                ),
            ),
            Err((param, msg)) => f.error(
                at(&["validators", &idx, "params", &param]),
                format!("`{}` validator parameter `{param}` {msg}", v.validator_type),
            ),
        }
    }
    check_eval_ids(&prompt.evals, &["prompts", key, "evals"], f);
}

/// Walks a template and the fragments it uses. Each fragment is walked once
/// per prompt (memoised with its nesting height), so fan-out cannot make the
/// check exponential.
struct TemplateCheck<'a, 'f> {
    pack: &'a Pack,
    prompt: &'a Prompt,
    syntax: &'a Syntax,
    f: &'f mut Findings,
    /// Fragment → length of the longest fragment chain starting at it.
    heights: HashMap<&'a str, usize>,
}

impl<'a> TemplateCheck<'a, '_> {
    /// Checks a template; returns the longest fragment chain it starts.
    fn template(&mut self, text: &'a str, ptr: String, stack: &mut Vec<&'a str>) -> usize {
        let segments = match template::parse(text, self.syntax) {
            Ok(s) => s,
            Err(e) => {
                // Fragment syntax errors are reported once, by `check`.
                if stack.is_empty() {
                    self.f.error(ptr, e.to_string());
                }
                return 0;
            }
        };
        let mut height = 0;
        for seg in segments {
            match seg {
                Segment::Text(_) => {}
                Segment::Placeholder(Target::Fragment(name)) => {
                    if self.pack.fragments.contains_key(name) {
                        height = height.max(self.fragment(name, stack));
                    } else {
                        self.f.error(
                            ptr.clone(),
                            format!("fragment `{name}` is not defined in the pack's `fragments`"),
                        );
                    }
                }
                Segment::Placeholder(Target::Name(name)) => {
                    if self.prompt.variable(name).is_some() || self.is_artifact(name) {
                        continue;
                    }
                    if self.pack.fragments.contains_key(name) {
                        height = height.max(self.fragment(name, stack));
                    } else {
                        self.f.error(
                            ptr.clone(),
                            format!(
                                "placeholder `{}` is neither a variable declared by prompt `{}` nor a fragment",
                                self.syntax.show(name),
                                self.prompt.key()
                            ),
                        );
                    }
                }
            }
        }
        height
    }

    fn fragment(&mut self, name: &'a str, stack: &mut Vec<&'a str>) -> usize {
        let Some((key, text)) = self.pack.fragments.get_key_value(name) else {
            return 0;
        };
        let ptr = pointer(["fragments", key.as_str()]);
        if stack.contains(&name) {
            let mut chain: Vec<&str> = stack.clone();
            chain.push(name);
            self.f
                .error(ptr, format!("fragment cycle: {}", chain.join(" → ")));
            return 0;
        }
        if let Some(&h) = self.heights.get(name) {
            return h;
        }
        stack.push(name);
        let below = self.template(text, ptr.clone(), stack);
        stack.pop();
        let height = below + 1;
        if height > MAX_FRAGMENT_DEPTH && below <= MAX_FRAGMENT_DEPTH {
            self.f.error(
                ptr,
                format!("fragments nest deeper than {MAX_FRAGMENT_DEPTH} levels from here"),
            );
        }
        self.heights.insert(name, height);
        height
    }

    /// `artifacts.<slot>` is declared by a workflow state running this prompt.
    fn is_artifact(&self, name: &str) -> bool {
        let Some(slot) = name.strip_prefix("artifacts.") else {
            return false;
        };
        self.pack.workflow.as_ref().is_some_and(|w| {
            w.states
                .values()
                .any(|s| s.prompt_task == self.prompt.key() && s.artifacts.contains_key(slot))
        })
    }
}

fn check_eval_ids(evals: &[Eval], base: &[&str], f: &mut Findings) {
    let mut seen = HashSet::new();
    for (i, e) in evals.iter().enumerate() {
        if !seen.insert(e.id.as_str()) {
            let idx = i.to_string();
            let mut tokens = base.to_vec();
            tokens.extend_from_slice(&[&idx, "id"]);
            f.error(pointer(tokens), format!("eval id `{}` is used twice", e.id));
        }
    }
}

fn check_workflow(pack: &Pack, f: &mut Findings) {
    let Some(w) = &pack.workflow else { return };
    if !w.states.contains_key(&w.entry) {
        f.error(
            pointer(["workflow", "entry"]),
            format!(
                "entry state `{}` is not defined in `workflow.states`",
                w.entry
            ),
        );
    }
    for (name, state) in &w.states {
        if !pack.prompts.contains_key(&state.prompt_task) {
            f.error(
                pointer(["workflow", "states", name, "prompt_task"]),
                format!("prompt `{}` is not defined in `prompts`", state.prompt_task),
            );
        }
        for (event, target) in &state.on_event {
            if !w.states.contains_key(target) {
                f.error(
                    pointer(["workflow", "states", name, "on_event", event]),
                    format!("target state `{target}` is not defined"),
                );
            }
        }
        if let Some(target) = &state.on_max_visits
            && !w.states.contains_key(target)
        {
            f.error(
                pointer(["workflow", "states", name, "on_max_visits"]),
                format!("target state `{target}` is not defined"),
            );
        }
        if state.terminal && !state.on_event.is_empty() {
            f.advise(
                pointer(["workflow", "states", name, "on_event"]),
                "terminal states should not declare transitions".to_owned(),
            );
        }
    }
}

fn check_agents(pack: &Pack, f: &mut Findings) {
    let Some(a) = &pack.agents else { return };
    if !pack.prompts.contains_key(&a.entry) {
        f.error(
            pointer(["agents", "entry"]),
            format!("entry agent `{}` is not a prompt of this pack", a.entry),
        );
    }
    for key in a.members.keys() {
        if !pack.prompts.contains_key(key) {
            f.error(
                pointer(["agents", "members", key]),
                format!("agent `{key}` is not a prompt of this pack"),
            );
        }
    }
}
