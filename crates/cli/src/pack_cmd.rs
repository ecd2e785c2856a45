//! `promptkit pack …`: validate, inspect and render PromptPacks.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use promptkit_pack::{
    Error, Eval, GenerationParameters, LoadOptions, MediaConfig, Pack, Problem, ToolChoicePolicy,
    ToolPolicy, ValidationMode, Variable,
};

/// Arguments of `promptkit pack`.
#[derive(Debug, Args)]
pub(crate) struct PackArgs {
    #[command(subcommand)]
    command: PackCommand,
}

#[derive(Debug, Subcommand)]
enum PackCommand {
    /// Check pack files; prints one line per problem (file, JSON pointer,
    /// message) and exits non-zero if any file is invalid.
    Validate {
        /// Fail exactly when the official JSON Schema of the pack's declared
        /// `$schema` version rejects it; without it, schema violations are
        /// printed as warnings. Semantic findings are warnings either way.
        #[arg(long)]
        strict: bool,
        /// Treat every warning as an error (as `clippy -D warnings` does).
        #[arg(long)]
        deny_warnings: bool,
        /// Pack files (`.json`, `.yaml`, `.yml`).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Summarise a pack: prompts, variables, tools, parameters, policies.
    Inspect {
        /// The pack file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Print the pack as JSON (the document as written, YAML converted,
        /// unknown fields and empty values kept) instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Render a prompt's system template and print it.
    Render {
        /// The pack file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Prompt key (may be omitted when the pack has exactly one prompt).
        #[arg(long, value_name = "NAME")]
        prompt: Option<String>,
        /// A variable value; repeat for several.
        #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
        /// Apply this model's `model_overrides` entry.
        #[arg(long, value_name = "MODEL")]
        model: Option<String>,
    },
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got `{s}`")),
    }
}

/// Runs a `promptkit pack` command.
pub(crate) fn run(args: PackArgs) -> ExitCode {
    match args.command {
        PackCommand::Validate {
            strict,
            deny_warnings,
            files,
        } => validate(&files, strict, deny_warnings),
        PackCommand::Inspect { file, json } => inspect(&file, json),
        PackCommand::Render {
            file,
            prompt,
            vars,
            model,
        } => render(&file, prompt.as_deref(), vars, model.as_deref()),
    }
}

/// `FILE[:LINE:COL]: SEVERITY: POINTER: MESSAGE [KIND]`
fn problem_line(file: &Path, severity: &str, p: &Problem) -> String {
    let pointer = if p.pointer.is_empty() {
        "/"
    } else {
        &p.pointer
    };
    let position = p.position.map(|pos| format!(":{pos}")).unwrap_or_default();
    format!(
        "{}{position}: {severity}: {pointer}: {} [{}]",
        file.display(),
        p.message,
        p.kind
    )
}

/// The lines to print for a failed load.
fn error_lines(file: &Path, err: &Error) -> Vec<String> {
    match err {
        Error::Invalid {
            problems, warnings, ..
        } => {
            let mut lines: Vec<String> = problems
                .iter()
                .map(|p| problem_line(file, "error", p))
                .collect();
            lines.extend(warnings.iter().map(|w| problem_line(file, "warning", w)));
            lines
        }
        Error::Parse {
            line,
            column,
            message,
            ..
        } => vec![format!(
            "{}:{line}:{column}: error: {message}",
            file.display()
        )],
        Error::Io { source, .. } => vec![format!(
            "{}: error: cannot read pack: {source}",
            file.display()
        )],
        Error::TooLarge { limit, .. } => vec![format!(
            "{}: error: pack is larger than {limit} bytes; reading stopped there",
            file.display()
        )],
        other => vec![format!("{}: error: {other}", file.display())],
    }
}

fn validate(files: &[PathBuf], strict: bool, deny_warnings: bool) -> ExitCode {
    let mode = if strict {
        ValidationMode::Strict
    } else {
        ValidationMode::Lenient
    };
    let options = LoadOptions::new(mode).deny_warnings(deny_warnings);
    let mut invalid = 0usize;
    for file in files {
        match Pack::load_with(file, options) {
            Ok((_, warnings)) => {
                for w in &warnings {
                    println!("{}", problem_line(file, "warning", w));
                }
            }
            Err(e) => {
                invalid += 1;
                for line in error_lines(file, &e) {
                    println!("{line}");
                }
            }
        }
    }
    eprintln!(
        "{} file{} checked ({} mode{}), {invalid} invalid",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        if strict { "strict" } else { "lenient" },
        if deny_warnings {
            ", warnings denied"
        } else {
            ""
        }
    );
    if invalid == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn load_or_report(file: &Path) -> Option<Pack> {
    match promptkit_pack::load_pack(file) {
        Ok(p) => Some(p),
        Err(e) => {
            for line in error_lines(file, &e) {
                eprintln!("{line}");
            }
            None
        }
    }
}

fn inspect(file: &Path, json: bool) -> ExitCode {
    let Some(pack) = load_or_report(file) else {
        return ExitCode::FAILURE;
    };
    if json {
        // The document as written (YAML converted): unknown fields and
        // empty values included.
        match serde_json::to_string_pretty(pack.document()) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("{}: error: cannot serialise pack: {e}", file.display());
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", summary(&pack));
    }
    ExitCode::SUCCESS
}

fn choice_name(c: ToolChoicePolicy) -> &'static str {
    match c {
        ToolChoicePolicy::Auto => "auto",
        ToolChoicePolicy::Required => "required",
        ToolChoicePolicy::None => "none",
    }
}

/// `name=value` for every parameter the prompt sets.
fn parameters_line(g: &GenerationParameters) -> String {
    let mut parts = Vec::new();
    let mut add = |name: &str, v: Option<String>| {
        if let Some(v) = v {
            parts.push(format!("{name}={v}"));
        }
    };
    add("temperature", g.temperature.map(|v| v.to_string()));
    add("max_tokens", g.max_tokens.map(|v| v.to_string()));
    add("top_p", g.top_p.map(|v| v.to_string()));
    add(
        "top_k",
        g.top_k
            .map(|k| k.map_or_else(|| "null".to_owned(), |k| k.to_string())),
    );
    add(
        "frequency_penalty",
        g.frequency_penalty.map(|v| v.to_string()),
    );
    add(
        "presence_penalty",
        g.presence_penalty.map(|v| v.to_string()),
    );
    if parts.is_empty() {
        "(none)".to_owned()
    } else {
        parts.join(" ")
    }
}

/// `, pattern /…/, length 3..50, range 1..365, one of [a, b]` for the rules
/// a variable declares (empty when none).
fn variable_rules(v: &Variable) -> String {
    let Some(r) = &v.validation else {
        return String::new();
    };
    let bound = |min: Option<String>, max: Option<String>| match (min, max) {
        (None, None) => None,
        (min, max) => Some(format!(
            "{}..{}",
            min.unwrap_or_default(),
            max.unwrap_or_default()
        )),
    };
    let mut out = String::new();
    if let Some(p) = &r.pattern {
        let _ = write!(out, ", pattern /{p}/");
    }
    if let Some(b) = bound(
        r.min_length.map(|n| n.to_string()),
        r.max_length.map(|n| n.to_string()),
    ) {
        let _ = write!(out, ", length {b}");
    }
    if let Some(b) = bound(
        r.minimum.map(|n| n.to_string()),
        r.maximum.map(|n| n.to_string()),
    ) {
        let _ = write!(out, ", range {b}");
    }
    if let Some(allowed) = &r.allowed {
        let items: Vec<String> = allowed
            .iter()
            .map(|a| a.as_str().map_or_else(|| a.to_string(), str::to_owned))
            .collect();
        let _ = write!(out, ", one of [{}]", items.join(", "));
    }
    out
}

/// The tool policy, each value the pack leaves out marked `(default)`.
fn tool_policy_line(policy: Option<&ToolPolicy>) -> String {
    let Some(p) = policy else {
        let d = ToolPolicy::default();
        return format!(
            "tool policy (defaults): choice {}, max rounds {}, max calls per turn {}",
            choice_name(d.tool_choice()),
            d.max_rounds(),
            d.max_tool_calls_per_turn()
        );
    };
    let mark = |set: bool| if set { "" } else { " (default)" };
    format!(
        "tool policy: choice {}{}, max rounds {}{}, max calls per turn {}{}{}",
        choice_name(p.tool_choice()),
        mark(p.tool_choice.is_some()),
        p.max_rounds(),
        mark(p.max_rounds.is_some()),
        p.max_tool_calls_per_turn(),
        mark(p.max_tool_calls_per_turn.is_some()),
        if p.blocklist.is_empty() {
            String::new()
        } else {
            format!(", blocked [{}]", p.blocklist.join(", "))
        }
    )
}

/// `id: type, trigger (sample 10%), metric name, threshold gte 4, disabled`.
fn eval_line(e: &Eval) -> String {
    let mut out = format!("{}: {}, {}", e.id, e.eval_type, e.trigger);
    if let Some(pct) = e.sample_percentage {
        let _ = write!(out, " (sample {pct}%)");
    }
    if let Some(m) = &e.metric {
        let _ = write!(out, ", metric {} ({})", m.name, m.metric_type);
    }
    if let Some(t) = &e.threshold
        && let (Some(op), Some(v)) = (&t.operator, t.value)
    {
        let _ = write!(out, ", threshold {op} {v}");
    }
    if !e.enabled {
        out.push_str(", disabled");
    }
    out
}

/// One line per media kind with limits: sizes, formats, counts, durations, pages.
fn media_lines(m: &MediaConfig) -> Vec<String> {
    fn line(
        kind: &str,
        max_size_mb: Option<u64>,
        formats: &[String],
        extra: Vec<String>,
    ) -> String {
        let mut parts = Vec::new();
        if let Some(mb) = max_size_mb {
            parts.push(format!("max {mb} MB"));
        }
        if !formats.is_empty() {
            parts.push(format!("formats [{}]", formats.join(", ")));
        }
        parts.extend(extra);
        if parts.is_empty() {
            parts.push("no limits".to_owned());
        }
        format!("{kind}: {}", parts.join(", "))
    }
    let mut out = Vec::new();
    if let Some(i) = &m.image {
        let mut extra = Vec::new();
        if let Some(n) = i.max_images_per_msg {
            extra.push(format!("at most {n} per message"));
        }
        if let Some(d) = &i.default_detail {
            extra.push(format!("detail {d}"));
        }
        if i.require_caption {
            extra.push("caption required".to_owned());
        }
        out.push(line("image", i.max_size_mb, &i.allowed_formats, extra));
    }
    for (kind, t) in [("audio", &m.audio), ("video", &m.video)] {
        if let Some(t) = t {
            let mut extra = Vec::new();
            if let Some(sec) = t.max_duration_sec {
                extra.push(format!("at most {sec} s"));
            }
            if t.require_metadata {
                extra.push("metadata required".to_owned());
            }
            out.push(line(kind, t.max_size_mb, &t.allowed_formats, extra));
        }
    }
    if let Some(d) = &m.document {
        let mut extra = Vec::new();
        if let Some(p) = d.max_pages {
            extra.push(format!("at most {p} pages"));
        }
        if let Some(mode) = &d.extraction_mode {
            extra.push(format!("extraction {mode}"));
        }
        if d.require_metadata {
            extra.push("metadata required".to_owned());
        }
        out.push(line("document", d.max_size_mb, &d.allowed_formats, extra));
    }
    for (kind, g) in &m.custom {
        let extra = if g.require_metadata {
            vec!["metadata required".to_owned()]
        } else {
            Vec::new()
        };
        out.push(line(kind, g.max_size_mb, &g.allowed_formats, extra));
    }
    if !m.examples.is_empty() {
        out.push(format!("examples: {}", m.examples.len()));
    }
    out
}

/// The human-readable summary printed by `inspect`.
fn summary(pack: &Pack) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "pack {} {} ({})", pack.id, pack.version, pack.name);
    if let Some(d) = &pack.description {
        let _ = writeln!(s, "  {d}");
    }
    if let Some(e) = &pack.template_engine {
        let _ = writeln!(
            s,
            "template engine: {} syntax {} features [{}]",
            e.version,
            e.syntax,
            e.features.join(", ")
        );
    }
    if !pack.fragments.is_empty() {
        let names: Vec<&str> = pack.fragments.keys().map(String::as_str).collect();
        let _ = writeln!(s, "fragments: {}", names.join(", "));
    }
    let _ = writeln!(s, "tools ({}):", pack.tools.len());
    for (key, tool) in &pack.tools {
        let params = tool
            .parameters
            .as_ref()
            .and_then(|p| p.get("properties"))
            .and_then(|p| p.as_object())
            .map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        let _ = writeln!(s, "  {key}({params}): {}", tool.description);
    }
    let _ = writeln!(s, "prompts ({}):", pack.prompts.len());
    for (key, p) in &pack.prompts {
        let _ = writeln!(
            s,
            "  {key}: {} (version {})",
            p.name.as_deref().unwrap_or("-"),
            p.version.as_deref().unwrap_or("-")
        );
        for v in &p.variables {
            let default = v
                .default
                .as_ref()
                .map(|d| format!(", default {d}"))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "    variable {}: {}{}{default}{}",
                v.name,
                v.var_type,
                if v.required { ", required" } else { "" },
                variable_rules(v)
            );
        }
        if !p.tools.is_empty() {
            let _ = writeln!(s, "    tools: {}", p.tools.join(", "));
        }
        let _ = writeln!(s, "    {}", tool_policy_line(p.tool_policy.as_ref()));
        if let Some(g) = &p.generation {
            let _ = writeln!(s, "    parameters: {}", parameters_line(g));
        }
        for v in &p.validators {
            let _ = writeln!(
                s,
                "    validator {}{}{}",
                v.validator_type,
                if v.fail_on_violation {
                    " (fails turn)"
                } else {
                    ""
                },
                if v.enabled { "" } else { " (disabled)" }
            );
        }
        for e in &p.evals {
            let _ = writeln!(s, "    eval {}", eval_line(e));
        }
        if let Some(m) = &p.media {
            let _ = writeln!(
                s,
                "    media: {} types [{}]",
                if m.enabled { "enabled" } else { "disabled" },
                m.supported_types.join(", ")
            );
            for line in media_lines(m) {
                let _ = writeln!(s, "      {line}");
            }
        }
        if !p.model_overrides.is_empty() {
            let models: Vec<&str> = p.model_overrides.keys().map(String::as_str).collect();
            let _ = writeln!(s, "    model overrides: {}", models.join(", "));
        }
    }
    if let Some(w) = &pack.workflow {
        let _ = writeln!(s, "workflow: entry {}, {} states", w.entry, w.states.len());
    }
    if let Some(a) = &pack.agents {
        let _ = writeln!(s, "agents: entry {}, {} members", a.entry, a.members.len());
    }
    if !pack.evals.is_empty() {
        let _ = writeln!(s, "pack evals ({}):", pack.evals.len());
        for e in &pack.evals {
            let _ = writeln!(s, "  eval {}", eval_line(e));
        }
    }
    if !pack.skills.is_empty() {
        let _ = writeln!(s, "skills: {}", pack.skills.len());
    }
    if !pack.warnings().is_empty() {
        let _ = writeln!(s, "warnings ({}):", pack.warnings().len());
        for w in pack.warnings() {
            let _ = writeln!(s, "  {w} [{}]", w.kind);
        }
    }
    s
}

fn render(
    file: &Path,
    prompt: Option<&str>,
    vars: Vec<(String, String)>,
    model: Option<&str>,
) -> ExitCode {
    let Some(pack) = load_or_report(file) else {
        return ExitCode::FAILURE;
    };
    let key = match prompt {
        Some(k) => k.to_owned(),
        None => {
            let names: Vec<&str> = pack.prompt_names().collect();
            match names.as_slice() {
                [only] => (*only).to_owned(),
                _ => {
                    eprintln!(
                        "{}: error: the pack has {} prompts; choose one with --prompt ({})",
                        file.display(),
                        names.len(),
                        names.join(", ")
                    );
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    let Some(p) = pack.prompt(&key) else {
        let names: Vec<&str> = pack.prompt_names().collect();
        eprintln!(
            "{}: error: no prompt `{key}` (available: {})",
            file.display(),
            names.join(", ")
        );
        return ExitCode::FAILURE;
    };
    let vars: HashMap<String, String> = vars.into_iter().collect();
    let rendered = match model {
        Some(m) => pack.render_system_for_model(p, m, &vars),
        None => pack.render_system(p, &vars),
    };
    match rendered {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}: error: {e}", file.display());
            ExitCode::FAILURE
        }
    }
}
