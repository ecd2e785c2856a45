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

/// Result of the semantic checks: every finding is a warning (strict mode
/// is the schema alone; `deny_warnings` turns these into failures).
#[derive(Debug, Default)]
struct Findings {
    warnings: Vec<Warning>,
}

impl Findings {
    /// A rule violation (reported once per pointer and message).
    fn error(&mut self, ptr: String, message: String) {
        let p = Problem::new(ProblemKind::Semantic, ptr, message);
        if !self.warnings.contains(&p) {
            self.warnings.push(p);
        }
    }
    /// Something valid that this runtime ignores or that looks unintended.
    fn advise(&mut self, ptr: String, message: String) {
        self.error(ptr, message);
    }
}

/// Runs every semantic rule on `pack`.
pub(crate) fn check(pack: &Pack) -> Vec<Warning> {
    let mut f = Findings::default();
    let syntax = check_engine(pack, &mut f);
    for (name, text) in &pack.fragments {
        if let Err(e) = template::parse(text, &syntax) {
            f.error(pointer(["fragments", name]), e.to_string());
        }
    }
    fragment_graph(pack, &syntax, &mut f);
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
    f.warnings
}

/// The fragments a fragment's text refers to (explicit references, and bare
/// names that are fragments); none when it does not parse.
fn fragment_refs<'a>(pack: &'a Pack, text: &'a str, syntax: &Syntax) -> Vec<&'a str> {
    let Ok(segments) = template::parse(text, syntax) else {
        return Vec::new();
    };
    segments
        .into_iter()
        .filter_map(|seg| match seg {
            Segment::Placeholder(Target::Fragment(n)) => Some(n),
            Segment::Placeholder(Target::Name(n)) if pack.fragments.contains_key(n) => Some(n),
            _ => None,
        })
        .filter_map(|n| pack.fragments.get_key_value(n).map(|(k, _)| k.as_str()))
        .collect()
}

/// Reports every fragment cycle once, whether or not a prompt uses it (at
/// the fragment that closes it), and every fragment from which fragments
/// nest deeper than [`MAX_FRAGMENT_DEPTH`] levels while each fragment it
/// uses stays within the limit. Iterative, so a long chain of fragments
/// cannot exhaust the stack.
fn fragment_graph(pack: &Pack, syntax: &Syntax, f: &mut Findings) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark: HashMap<&str, Mark> = pack
        .fragments
        .keys()
        .map(|k| (k.as_str(), Mark::New))
        .collect();
    let mut height: HashMap<&str, usize> = HashMap::new();
    for start in pack.fragments.keys() {
        if mark[start.as_str()] != Mark::New {
            continue;
        }
        // (fragment, its references, next reference to follow)
        let mut path: Vec<(&str, Vec<&str>, usize)> = Vec::new();
        mark.insert(start, Mark::Open);
        path.push((
            start,
            fragment_refs(pack, &pack.fragments[start], syntax),
            0,
        ));
        while let Some((_, refs, next)) = path.last_mut() {
            let Some(&target) = refs.get(*next) else {
                let (done, refs, _) = path.pop().unwrap_or_default();
                mark.insert(done, Mark::Done);
                // cycle edges point at open fragments, which have no height yet
                let below = refs
                    .iter()
                    .filter_map(|r| height.get(r))
                    .max()
                    .copied()
                    .unwrap_or(0);
                if below < MAX_FRAGMENT_DEPTH + 1 && below + 1 > MAX_FRAGMENT_DEPTH {
                    f.error(
                        pointer(["fragments", done]),
                        format!("fragments nest deeper than {MAX_FRAGMENT_DEPTH} levels from here"),
                    );
                }
                height.insert(done, below + 1);
                continue;
            };
            *next += 1;
            match mark[target] {
                Mark::New => {
                    mark.insert(target, Mark::Open);
                    let refs = fragment_refs(pack, &pack.fragments[target], syntax);
                    path.push((target, refs, 0));
                }
                Mark::Open => {
                    let from = path.iter().position(|(n, _, _)| *n == target).unwrap_or(0);
                    let mut chain: Vec<&str> = path[from..].iter().map(|(n, _, _)| *n).collect();
                    chain.push(target);
                    f.error(
                        pointer(["fragments", target]),
                        format!("fragment cycle: {}", chain.join(" → ")),
                    );
                }
                Mark::Done => {}
            }
        }
    }
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
        if pack.tools.contains_key(tool) {
            continue;
        }
        let ptr = at(&["tools", &i.to_string()]);
        match pack.agents.as_ref() {
            // RFC 0007: the entry agent calls other member agents as tools.
            Some(a) if a.entry == key && a.members.contains_key(tool) && tool != key => {}
            Some(a) if a.members.contains_key(tool) && tool == key => {
                f.error(ptr, format!("agent `{key}` lists itself as a tool"));
            }
            Some(a) if a.members.contains_key(tool) => f.error(
                ptr,
                format!(
                    "tool `{tool}` is a member agent, but only the entry agent `{}` calls agents as tools",
                    a.entry
                ),
            ),
            Some(a) if a.entry == key && pack.prompts.contains_key(tool) => f.error(
                ptr,
                format!("tool `{tool}` is a prompt but not listed in `agents.members`, so it is no agent to call"),
            ),
            _ => f.error(
                ptr,
                format!("tool `{tool}` is not defined in the pack's `tools`"),
            ),
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
        walked: HashSet::new(),
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
/// per prompt, so fan-out cannot make the
/// check exponential.
struct TemplateCheck<'a, 'f> {
    pack: &'a Pack,
    prompt: &'a Prompt,
    syntax: &'a Syntax,
    f: &'f mut Findings,
    /// Fragments already walked for this prompt.
    walked: HashSet<&'a str>,
}

impl<'a> TemplateCheck<'a, '_> {
    /// Checks a template and the fragments it uses.
    fn template(&mut self, text: &'a str, ptr: String, stack: &mut Vec<&'a str>) {
        let segments = match template::parse(text, self.syntax) {
            Ok(s) => s,
            Err(e) => {
                // Fragment syntax errors are reported once, by `check`.
                if stack.is_empty() {
                    self.f.error(ptr, e.to_string());
                }
                return;
            }
        };
        for seg in segments {
            match seg {
                Segment::Text(_) => {}
                Segment::Placeholder(Target::Fragment(name)) => {
                    if self.pack.fragments.contains_key(name) {
                        self.fragment(name, stack);
                    } else {
                        self.f.error(
                            ptr.clone(),
                            format!("fragment `{name}` is not defined in the pack's `fragments`"),
                        );
                    }
                }
                Segment::Placeholder(Target::Name(name)) => {
                    if self.prompt.variable(name).is_some() {
                        continue;
                    }
                    if let Some(slot) = name.strip_prefix("artifacts.") {
                        if !self.artifact_declared(slot) {
                            self.f.error(
                                ptr.clone(),
                                format!(
                                    "artifact `{slot}` is not declared by any workflow state; `{}` renders empty until a state writes it",
                                    self.syntax.show(name)
                                ),
                            );
                        }
                        continue;
                    }
                    if self.pack.fragments.contains_key(name) {
                        self.fragment(name, stack);
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
    }

    /// Walks a fragment once per prompt, at most [`MAX_FRAGMENT_DEPTH`] deep
    /// (cycles and depth are reported for the pack by `fragment_graph`).
    fn fragment(&mut self, name: &'a str, stack: &mut Vec<&'a str>) {
        let Some((key, text)) = self.pack.fragments.get_key_value(name) else {
            return;
        };
        if stack.len() > MAX_FRAGMENT_DEPTH || !self.walked.insert(key.as_str()) {
            return;
        }
        stack.push(name);
        self.template(text, pointer(["fragments", key.as_str()]), stack);
        stack.pop();
    }

    /// Artifacts are workflow-wide (RFC 0009): a slot declared by any state
    /// can be read by every prompt of the workflow.
    fn artifact_declared(&self, slot: &str) -> bool {
        self.pack
            .workflow
            .as_ref()
            .is_some_and(|w| w.states.values().any(|s| s.artifacts.contains_key(slot)))
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
        if state.composition.is_some() {
            f.advise(
                pointer(["workflow", "states", name]),
                "composition states (RFC 0010, a draft) are loaded but not run by this runtime"
                    .to_owned(),
            );
            if state.prompt_task.is_empty() {
                continue;
            }
        }
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
