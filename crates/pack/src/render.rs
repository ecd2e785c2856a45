//! Rendering system prompts, and the runtime look-ups on a pack (prompts, tools).

use std::collections::HashMap;

use crate::error::Error;
use crate::model::{Pack, Prompt};
use crate::semantic::MAX_FRAGMENT_DEPTH;
use crate::template::{self, Segment, Syntax, Target};
use crate::vars;

/// Most fragment expansions in one rendering (bounds fan-out such as
/// `a = {{b}}{{b}}`, `b = {{c}}{{c}}`, ...).
const MAX_EXPANSIONS: usize = 10_000;
/// Largest rendered prompt, in bytes.
const MAX_OUTPUT_BYTES: usize = 8 * 1024 * 1024;

impl Pack {
    /// The prompt under `name` in `prompts`.
    pub fn prompt(&self, name: &str) -> Option<&Prompt> {
        self.prompts.get(name)
    }

    /// Keys of `prompts`, sorted.
    pub fn prompt_names(&self) -> impl Iterator<Item = &str> {
        self.prompts.keys().map(String::as_str)
    }

    /// The prompt's tools as provider tool definitions, in the prompt's order,
    /// without those on its `tool_policy.blocklist`.
    ///
    /// When the prompt is the entry agent (`agents.entry`, RFC 0007), a tool
    /// naming another member agent becomes an agent call: its definition has
    /// the member's key as name, the agent's (or its prompt's) description,
    /// and one required string argument, `query`.
    ///
    /// Fails with [`Error::NotFound`] if the prompt lists a tool the pack does
    /// not define (loading warns about such packs up front).
    ///
    /// ```
    /// let pack = promptkit_pack::Pack::from_json_str(r#"{"id":"p","name":"P","version":"1.0.0",
    ///   "prompts":{"lead":{"id":"lead","name":"L","version":"1.0.0","system_template":"Delegate.","tools":["writer"]},
    ///              "writer":{"id":"writer","name":"W","version":"1.0.0","system_template":"Write.",
    ///                        "description":"Writes drafts"}},
    ///   "agents":{"entry":"lead","members":{"lead":{},"writer":{}}}}"#).unwrap();
    /// let defs = pack.tool_definitions(pack.prompt("lead").unwrap()).unwrap();
    /// assert_eq!((defs[0].name.as_str(), defs[0].description.as_str()), ("writer", "Writes drafts"));
    /// assert_eq!(defs[0].parameters["required"][0], "query");
    /// ```
    ///
    /// ```
    /// let pack = promptkit_pack::Pack::from_json_str(r#"{"id":"p","name":"P","version":"1.0.0",
    ///   "template_engine":{"version":"v1","syntax":"{{variable}}"},
    ///   "prompts":{"a":{"id":"a","name":"A","version":"1.0.0","system_template":"x",
    ///                   "tools":["lookup","delete"],"tool_policy":{"blocklist":["delete"]}}},
    ///   "tools":{"lookup":{"name":"lookup","description":"Look up"},
    ///            "delete":{"name":"delete","description":"Delete"}}}"#).unwrap();
    /// let defs = pack.tool_definitions(pack.prompt("a").unwrap()).unwrap();
    /// assert_eq!(defs.len(), 1);
    /// assert_eq!(defs[0].name, "lookup");
    /// ```
    pub fn tool_definitions(
        &self,
        prompt: &Prompt,
    ) -> Result<Vec<promptkit_core::ToolDefinition>, Error> {
        let policy = prompt.tool_policy.as_ref();
        let blocked = |name: &str| policy.is_some_and(|p| p.is_blocked(name));
        let mut out = Vec::new();
        for key in &prompt.tools {
            if blocked(key) {
                continue;
            }
            if let Some(tool) = self.tools.get(key) {
                if !blocked(&tool.name) {
                    out.push(tool.to_definition());
                }
                continue;
            }
            let agent = self
                .agents
                .as_ref()
                .filter(|a| a.entry == prompt.key() && key != prompt.key());
            let member =
                agent.and_then(|a| a.members.get(key).map(|def| (def, self.prompts.get(key))));
            let Some((def, Some(member_prompt))) = member else {
                return Err(Error::NotFound {
                    kind: "tool",
                    name: key.clone(),
                    context: Some(format!("listed by prompt `{}`", prompt.key())),
                });
            };
            let description = def
                .description
                .clone()
                .or_else(|| member_prompt.description.clone())
                .or_else(|| member_prompt.name.clone())
                .unwrap_or_else(|| format!("Ask the `{key}` agent"));
            out.push(promptkit_core::ToolDefinition {
                name: key.clone(),
                description,
                parameters: serde_json::json!({
                    "type": "object",
                    "properties": {"query": {"type": "string", "description": "What to ask the agent"}},
                    "required": ["query"]
                }),
            });
        }
        Ok(out)
    }

    /// Renders the prompt's system template with `vars`.
    ///
    /// - `{{name}}` (whitespace inside the braces allowed) is replaced by the
    ///   value passed in `vars`, else the variable's `default`; a declared
    ///   optional variable without either renders as an empty string.
    /// - `{{fragments.name}}` (the spec's form), `{{fragment:name}}`, or
    ///   `{{name}}` when `name` is a fragment and not a declared variable,
    ///   inserts the fragment, itself rendered (fragment cycles, nesting
    ///   deeper than 16 levels, and runaway expansion are errors).
    /// - `{{artifacts.slot}}` (RFC 0009) inserts the value passed under the
    ///   key `artifacts.slot`, and nothing when none is passed: an artifact
    ///   is empty until a workflow state first writes it.
    /// - Each declared variable's value is checked against its `type` and
    ///   `validation` rules (pattern, min/max length, minimum/maximum, enum).
    /// - A placeholder that is no declared variable, no passed value and no
    ///   fragment renders as nothing, like an optional variable without a
    ///   value; the spec's own examples use such placeholders, and loading
    ///   warns about each one ([`Pack::warnings`]).
    /// - A missing required variable, or an explicit reference to a fragment
    ///   the pack does not define, is an [`Error::Render`].
    ///
    /// Values are inserted literally: placeholders inside values are not expanded.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// let pack = promptkit_pack::Pack::from_json_str(r#"{"id":"p","name":"P","version":"1.0.0",
    ///   "template_engine":{"version":"v1","syntax":"{{variable}}","features":["fragments"]},
    ///   "fragments":{"sign_off":"Thanks, {{company}}."},
    ///   "prompts":{"a":{"id":"a","name":"A","version":"1.0.0",
    ///     "system_template":"Help {{ customer }}. {{fragments.sign_off}}{{artifacts.notes}}",
    ///     "variables":[{"name":"customer","type":"string","required":true},
    ///                  {"name":"company","type":"string","required":false,"default":"ACME"}]}}}"#).unwrap();
    /// let prompt = pack.prompt("a").unwrap();
    /// let vars = HashMap::from([("customer".to_string(), "Ann".to_string())]);
    /// assert_eq!(pack.render_system(prompt, &vars).unwrap(), "Help Ann. Thanks, ACME.");
    /// assert!(pack.render_system(prompt, &HashMap::new()).is_err()); // customer is required
    /// ```
    pub fn render_system(
        &self,
        prompt: &Prompt,
        vars: &HashMap<String, String>,
    ) -> Result<String, Error> {
        let mut r = Renderer::new(self, prompt, vars)?;
        r.render(&prompt.system_template)?;
        Ok(r.out)
    }

    /// Like [`Pack::render_system`], with the prompt's `model_overrides` entry
    /// for `model` applied: its `system_template` replaces the base template,
    /// and its prefix and suffix are added around it (all three rendered).
    ///
    /// ```
    /// use std::collections::HashMap;
    /// let pack = promptkit_pack::Pack::from_json_str(r#"{"id":"p","name":"P","version":"1.0.0",
    ///   "template_engine":{"version":"v1","syntax":"{{variable}}"},
    ///   "prompts":{"a":{"id":"a","name":"A","version":"1.0.0","system_template":"Answer.",
    ///     "model_overrides":{"claude-3-opus":{"system_template_prefix":"<task>","system_template_suffix":"</task>"}}}}}"#).unwrap();
    /// let p = pack.prompt("a").unwrap();
    /// let none = HashMap::new();
    /// assert_eq!(pack.render_system_for_model(p, "claude-3-opus", &none).unwrap(), "<task>Answer.</task>");
    /// assert_eq!(pack.render_system_for_model(p, "gpt-4o", &none).unwrap(), "Answer.");
    /// ```
    pub fn render_system_for_model(
        &self,
        prompt: &Prompt,
        model: &str,
        vars: &HashMap<String, String>,
    ) -> Result<String, Error> {
        let over = prompt.model_overrides.get(model);
        let mut r = Renderer::new(self, prompt, vars)?;
        if let Some(prefix) = over.and_then(|o| o.system_template_prefix.as_deref()) {
            r.render(prefix)?;
        }
        let body = over
            .and_then(|o| o.system_template.as_deref())
            .unwrap_or(&prompt.system_template);
        r.render(body)?;
        if let Some(suffix) = over.and_then(|o| o.system_template_suffix.as_deref()) {
            r.render(suffix)?;
        }
        Ok(r.out)
    }
}

struct Renderer<'a> {
    pack: &'a Pack,
    prompt: &'a Prompt,
    syntax: Syntax,
    /// Declared variables and their resolved values.
    declared: HashMap<&'a str, Option<String>>,
    vars: &'a HashMap<String, String>,
    stack: Vec<String>,
    expansions: usize,
    out: String,
}

impl<'a> Renderer<'a> {
    fn new(
        pack: &'a Pack,
        prompt: &'a Prompt,
        vars: &'a HashMap<String, String>,
    ) -> Result<Self, Error> {
        let mut declared = HashMap::new();
        for var in &prompt.variables {
            let value = vars
                .get(&var.name)
                .cloned()
                .or_else(|| var.default.as_ref().and_then(vars::default_as_string));
            match &value {
                Some(v) => vars::check_value(var, v).map_err(|message| Error::Render {
                    prompt: prompt.key().to_owned(),
                    variable: Some(var.name.clone()),
                    message,
                })?,
                None if var.required => {
                    return Err(Error::Render {
                        prompt: prompt.key().to_owned(),
                        variable: Some(var.name.clone()),
                        message: "required variable has no value; pass it when rendering"
                            .to_owned(),
                    });
                }
                None => {}
            }
            declared.insert(var.name.as_str(), value);
        }
        Ok(Renderer {
            pack,
            prompt,
            syntax: Syntax::for_engine(pack.template_engine.as_ref()),
            declared,
            vars,
            stack: Vec::new(),
            expansions: 0,
            out: String::new(),
        })
    }

    fn error(&self, variable: Option<&str>, message: String) -> Error {
        Error::Render {
            prompt: self.prompt.key().to_owned(),
            variable: variable.map(str::to_owned),
            message,
        }
    }

    fn render(&mut self, text: &str) -> Result<(), Error> {
        let segments = template::parse(text, &self.syntax).map_err(|e| {
            let location = match self.stack.last() {
                Some(f) => format!("in fragment `{f}`: "),
                None => String::new(),
            };
            self.error(None, format!("{location}{e}"))
        })?;
        for seg in segments {
            match seg {
                Segment::Text(t) => self.push(t)?,
                Segment::Placeholder(Target::Fragment(name)) => self.fragment(name)?,
                Segment::Placeholder(Target::Name(name)) => {
                    if let Some(value) = self.declared.get(name) {
                        let value = value.clone().unwrap_or_default();
                        self.push(&value)?;
                    } else if let Some(value) = self.vars.get(name) {
                        self.push(value)?;
                    } else if self.pack.fragments.contains_key(name) {
                        self.fragment(name)?;
                    }
                    // Otherwise nothing is inserted: an artifact is empty
                    // before its first write (RFC 0009), and an undeclared
                    // placeholder without a value renders like an optional
                    // variable without one (loading warns about it).
                }
            }
        }
        Ok(())
    }

    fn fragment(&mut self, name: &str) -> Result<(), Error> {
        let Some(text) = self.pack.fragments.get(name) else {
            return Err(self.error(
                None,
                format!("fragment `{name}` is not defined in the pack's `fragments`"),
            ));
        };
        if self.stack.iter().any(|f| f == name) {
            let mut chain = self.stack.clone();
            chain.push(name.to_owned());
            return Err(self.error(None, format!("fragment cycle: {}", chain.join(" → "))));
        }
        if self.stack.len() >= MAX_FRAGMENT_DEPTH {
            return Err(self.error(
                None,
                format!("fragments nest deeper than {MAX_FRAGMENT_DEPTH} levels at `{name}`"),
            ));
        }
        self.expansions += 1;
        if self.expansions > MAX_EXPANSIONS {
            return Err(self.error(
                None,
                format!(
                    "more than {MAX_EXPANSIONS} fragment expansions; the fragments fan out too much"
                ),
            ));
        }
        self.stack.push(name.to_owned());
        let result = self.render(text);
        self.stack.pop();
        result
    }

    fn push(&mut self, s: &str) -> Result<(), Error> {
        if self.out.len() + s.len() > MAX_OUTPUT_BYTES {
            return Err(self.error(
                None,
                format!("rendered prompt would exceed {MAX_OUTPUT_BYTES} bytes"),
            ));
        }
        self.out.push_str(s);
        Ok(())
    }
}
