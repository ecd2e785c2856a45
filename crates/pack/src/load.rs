//! Reading pack files: JSON or YAML, strict or lenient.

use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Problem, ProblemKind, Warning, sort_problems};
use crate::model::Pack;
use crate::{dupkeys, locate, locate_yaml, schema, semantic};

/// How strictly a pack is checked.
///
/// Strict mode means exactly the official JSON Schema of the version the
/// pack declares in `$schema`: a pack is strict-invalid if and only if that
/// schema rejects it. Lenient mode loads whatever the typed model can hold
/// (what PromptKit-Go loads) and reports schema violations as warnings.
/// In both modes the semantic findings (undefined tools, unknown
/// placeholders, ...) are warnings; [`LoadOptions::deny_warnings`] turns
/// every warning into a failure.
///
/// ```
/// use promptkit_pack::{Format, LoadOptions, Pack, ValidationMode};
/// use std::path::Path;
/// // The prompt has no `version`, which the schema requires.
/// let text = r#"{"id":"p","name":"P","version":"1.0.0",
///   "template_engine":{"version":"v1","syntax":"{{variable}}"},
///   "prompts":{"a":{"id":"a","name":"A","system_template":"hi"}}}"#;
/// let load = |mode| Pack::from_str_with(text, Format::Json, Path::new("p.json"), LoadOptions::new(mode));
/// assert!(load(ValidationMode::Strict).is_err());
/// let pack = load(ValidationMode::Lenient).unwrap();
/// assert_eq!(pack.warnings()[0].pointer, "/prompts/a/version");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidationMode {
    /// The official JSON Schema of the declared version must accept the
    /// pack; its violations are an [`Error::Invalid`].
    Strict,
    /// Anything the typed model can hold is accepted; schema violations
    /// become warnings (the default).
    #[default]
    Lenient,
}

/// Options for [`Pack::load_with`].
///
/// ```
/// use promptkit_pack::{LoadOptions, ValidationMode};
/// assert_eq!(LoadOptions::default().mode, ValidationMode::Lenient);
/// assert_eq!(LoadOptions::strict().mode, ValidationMode::Strict);
/// assert!(LoadOptions::strict().deny_warnings(true).deny_warnings);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadOptions {
    /// Strict or lenient.
    pub mode: ValidationMode,
    /// Fail with [`Error::Invalid`] when there is any warning, as
    /// `clippy -D warnings` does (the CLI's `--deny-warnings`).
    pub deny_warnings: bool,
}

impl LoadOptions {
    /// Options with the given mode.
    pub fn new(mode: ValidationMode) -> Self {
        LoadOptions {
            mode,
            deny_warnings: false,
        }
    }
    /// Strict validation.
    pub fn strict() -> Self {
        Self::new(ValidationMode::Strict)
    }
    /// Lenient validation.
    pub fn lenient() -> Self {
        Self::new(ValidationMode::Lenient)
    }
    /// Whether warnings are failures.
    ///
    /// ```
    /// use promptkit_pack::{Error, Format, LoadOptions, Pack};
    /// use std::path::Path;
    /// // Schema-valid, but the prompt lists a tool the pack does not define.
    /// let text = r#"{"id":"p","name":"P","version":"1.0.0",
    ///   "template_engine":{"version":"v1","syntax":"{{variable}}"},
    ///   "prompts":{"a":{"id":"a","name":"A","version":"1.0.0","system_template":"hi","tools":["nope"]}}}"#;
    /// let load = |o| Pack::from_str_with(text, Format::Json, Path::new("p.json"), o);
    /// assert_eq!(load(LoadOptions::strict()).unwrap().warnings().len(), 1);
    /// let Err(Error::Invalid { problems, .. }) = load(LoadOptions::strict().deny_warnings(true)) else {
    ///     panic!("warnings are denied");
    /// };
    /// assert_eq!(problems[0].pointer, "/prompts/a/tools/0");
    /// ```
    pub fn deny_warnings(mut self, deny: bool) -> Self {
        self.deny_warnings = deny;
        self
    }
}

/// Largest pack file read, in bytes (16 MiB). Reading stops there with
/// [`Error::TooLarge`].
pub const MAX_PACK_BYTES: u64 = 16 * 1024 * 1024;

/// Deepest nesting of objects and arrays accepted, in JSON and YAML alike.
/// Deeper documents fail with [`Error::Parse`] as soon as the limit is
/// reached, without parsing further.
pub const MAX_NESTING_DEPTH: usize = 64;

/// Document format of a pack.
///
/// ```
/// use promptkit_pack::{Format, LoadOptions, Pack};
/// use std::path::Path;
/// let yaml = "id: p\nname: P\nversion: 1.0.0\nprompts:\n  a: {id: a, version: 1.0.0, system_template: Hi}\n";
/// let path = Path::new("pack.yaml");
/// assert_eq!(Format::from_path(path), Format::Yaml);
/// let pack = Pack::from_str_with(yaml, Format::Yaml, path, LoadOptions::lenient()).unwrap();
/// assert_eq!(pack.prompt("a").unwrap().system_template, "Hi");
/// assert!(Pack::from_str_with(yaml, Format::Json, path, LoadOptions::lenient()).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// JSON (`.json` and anything not YAML).
    Json,
    /// YAML (`.yaml`, `.yml`).
    Yaml,
}

impl Format {
    /// The format implied by a file name's extension (YAML for `.yaml`/`.yml`,
    /// JSON otherwise).
    ///
    /// ```
    /// use promptkit_pack::Format;
    /// use std::path::Path;
    /// assert_eq!(Format::from_path(Path::new("a.YML")), Format::Yaml);
    /// assert_eq!(Format::from_path(Path::new("a.pack.json")), Format::Json);
    /// ```
    pub fn from_path(path: &Path) -> Format {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("yaml" | "yml") => Format::Yaml,
            _ => Format::Json,
        }
    }
}

/// Loads a pack file leniently (JSON, or YAML for `.yaml`/`.yml`).
///
/// Problems that lenient mode tolerates are available from [`Pack::warnings`].
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("p.yaml");
/// std::fs::write(&path, "id: demo\nname: Demo\nversion: 1.0.0\n\
///   template_engine: {version: v1, syntax: '{{variable}}'}\n\
///   prompts:\n  chat:\n    system_template: Hello {{who}}\n\
///       \n    variables: [{name: who, type: string, required: true}]\n").unwrap();
/// let pack = promptkit_pack::load_pack(&path).unwrap();
/// // the prompt lacks id, name and version: tolerated, but reported
/// assert!(pack.warnings().iter().any(|w| w.pointer == "/prompts/chat/version"));
/// ```
pub fn load_pack(path: impl AsRef<Path>) -> Result<Pack, Error> {
    Pack::load_with(path, LoadOptions::default()).map(|(pack, _)| pack)
}

impl Pack {
    /// Loads a pack file with the given options; returns the pack and its
    /// warnings (also kept in [`Pack::warnings`]).
    ///
    /// In strict mode every violation of the declared schema version is
    /// returned at once in [`Error::Invalid`]; semantic findings are
    /// warnings in both modes (see [`ValidationMode`]). At most
    /// [`MAX_PACK_BYTES`] are read.
    ///
    /// ```
    /// use promptkit_pack::{Error, LoadOptions, Pack};
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/image-generator.pack.json");
    /// let (pack, warnings) = Pack::load_with(path, LoadOptions::lenient()).unwrap();
    /// assert_eq!(warnings.len(), 2);
    /// assert_eq!(pack.warnings(), &warnings[..]);
    /// let Err(Error::Invalid { problems, .. }) = Pack::load_with(path, LoadOptions::strict()) else {
    ///     panic!("the tutorial pack is not strictly valid");
    /// };
    /// assert_eq!(problems[0].pointer, "/prompts/image-generator/version");
    /// ```
    pub fn load_with(
        path: impl AsRef<Path>,
        options: LoadOptions,
    ) -> Result<(Pack, Vec<Warning>), Error> {
        let path = path.as_ref();
        let text = read_limited(path)?;
        let mut pack = Self::from_str_with(&text, Format::from_path(path), path, options)?;
        pack.source = Some(path.to_owned());
        let warnings = pack.warnings.clone();
        Ok((pack, warnings))
    }

    /// Parses a JSON pack leniently. Errors name the file as `<string>`.
    pub fn from_json_str(s: &str) -> Result<Pack, Error> {
        Self::from_str_with(
            s,
            Format::Json,
            Path::new("<string>"),
            LoadOptions::default(),
        )
    }

    /// Parses a YAML pack leniently.
    ///
    /// ```
    /// let pack = promptkit_pack::Pack::from_yaml_str("
    /// id: demo
    /// name: Demo
    /// version: 1.0.0
    /// template_engine: {version: v1, syntax: '{{variable}}'}
    /// prompts:
    ///   chat: {id: chat, name: Chat, version: 1.0.0, system_template: Hi}
    /// ").unwrap();
    /// assert!(pack.warnings().is_empty());
    /// ```
    pub fn from_yaml_str(s: &str) -> Result<Pack, Error> {
        Self::from_str_with(
            s,
            Format::Yaml,
            Path::new("<string>"),
            LoadOptions::default(),
        )
    }

    /// Parses a pack from text; `path` is only used to label errors.
    pub fn from_str_with(
        text: &str,
        format: Format,
        path: &Path,
        options: LoadOptions,
    ) -> Result<Pack, Error> {
        if text.len() as u64 > MAX_PACK_BYTES {
            return Err(Error::TooLarge {
                path: path.to_owned(),
                limit: MAX_PACK_BYTES,
            });
        }
        let doc = parse_document(text, format, path)?;
        // YAML rejects duplicate keys while parsing; JSON parsers keep the last.
        let duplicates = match format {
            Format::Json => dupkeys::duplicate_keys(text),
            Format::Yaml => Vec::new(),
        };
        let place = |problems: &mut Vec<Problem>| {
            for p in problems {
                p.position = match format {
                    Format::Json => locate::locate(text, &p.pointer),
                    Format::Yaml => locate_yaml::locate_yaml(text, &p.pointer),
                };
            }
        };
        match Self::build(doc, duplicates, path, options) {
            Ok(mut pack) => {
                place(&mut pack.warnings);
                Ok(pack)
            }
            Err(Error::Invalid {
                path,
                mut problems,
                mut warnings,
            }) => {
                place(&mut problems);
                place(&mut warnings);
                Err(Error::Invalid {
                    path,
                    problems,
                    warnings,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Builds a pack from an already parsed document.
    pub fn from_value_with(doc: Value, path: &Path, options: LoadOptions) -> Result<Pack, Error> {
        Self::build(doc, Vec::new(), path, options)
    }

    /// Validates and types `doc`; `text_problems` are findings about the
    /// source text (duplicate keys) that the document no longer shows.
    fn build(
        doc: Value,
        text_problems: Vec<Problem>,
        path: &Path,
        options: LoadOptions,
    ) -> Result<Pack, Error> {
        let invalid = |mut problems: Vec<Problem>, mut warnings: Vec<Warning>| {
            if options.deny_warnings {
                problems.append(&mut warnings);
            }
            sort_problems(&mut problems);
            sort_problems(&mut warnings);
            Error::Invalid {
                path: path.to_owned(),
                problems,
                warnings,
            }
        };
        let (version, version_warning) = schema::declared_version(&doc);
        let (schema_errors, format_advisories) = schema::schema_problems(&doc, version);
        let strict = options.mode == ValidationMode::Strict;
        // Findings that are warnings in this mode, whatever happens next.
        let mut warnings: Vec<Warning> = text_problems;
        warnings.extend(version_warning);
        warnings.extend(format_advisories);
        let (mut errors, schema_warnings) = if strict {
            (schema_errors, Vec::new())
        } else {
            (Vec::new(), schema_errors)
        };
        warnings.extend(schema_warnings);
        let mut pack: Pack = match serde_path_to_error::deserialize(&doc) {
            Ok(p) => p,
            Err(e) => {
                let structure = Problem::new(
                    ProblemKind::Structure,
                    path_to_pointer(e.path()),
                    humanize(&e.inner().to_string()),
                );
                // One cause, reported once: the schema's finding at the same
                // place says the same thing.
                errors.retain(|p| p.pointer != structure.pointer);
                warnings.retain(|p| p.pointer != structure.pointer);
                errors.insert(0, structure);
                return Err(invalid(errors, warnings));
            }
        };
        if pack.prompts.is_empty() && !strict {
            // PromptKit-Go refuses such a pack too; the schema requires a prompt.
            warnings.retain(|p| p.pointer != "/prompts");
            errors.push(Problem::new(
                ProblemKind::Structure,
                "/prompts",
                "the pack has no prompts; at least one is needed",
            ));
        }
        for (key, prompt) in &mut pack.prompts {
            prompt.key.clone_from(key);
        }
        // One cause, reported once: a semantic finding where the schema
        // already reports a problem (a missing tool `name`, ...) follows from it.
        let schema_pointers: std::collections::HashSet<String> = errors
            .iter()
            .chain(&warnings)
            .filter(|p| p.kind == ProblemKind::Schema)
            .map(|p| p.pointer.clone())
            .collect();
        warnings.extend(
            semantic::check(&pack)
                .into_iter()
                .filter(|w| !schema_pointers.contains(&w.pointer)),
        );
        if !errors.is_empty() {
            return Err(invalid(errors, warnings));
        }
        if options.deny_warnings && !warnings.is_empty() {
            return Err(invalid(warnings, Vec::new()));
        }
        sort_problems(&mut warnings);
        pack.warnings = warnings;
        pack.schema_version = version;
        pack.document = doc;
        pack.source = None;
        Ok(pack)
    }

    /// Findings tolerated while loading: in both modes every semantic
    /// finding (undefined tools, unknown placeholders, unsupported features,
    /// ...), in lenient mode also every schema violation.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// The file the pack was loaded from, if any.
    pub fn source_path(&self) -> Option<&Path> {
        self.source.as_deref()
    }
}

/// Reads at most [`MAX_PACK_BYTES`] (plus one, to detect a larger file) of
/// a UTF-8 file.
fn read_limited(path: &Path) -> Result<String, Error> {
    use std::io::Read as _;
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_PACK_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_PACK_BYTES {
        return Err(Error::TooLarge {
            path: path.to_owned(),
            limit: MAX_PACK_BYTES,
        });
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let valid = std::str::from_utf8(valid).unwrap_or_default();
        Error::Parse {
            path: path.to_owned(),
            line: valid.matches('\n').count() + 1,
            column: valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
            message: "the file is not UTF-8 text".to_owned(),
        }
    })
}

/// Parses JSON or YAML into a JSON value, with line and column on failure.
/// Nesting is limited to [`MAX_NESTING_DEPTH`] levels in both formats; the
/// parsers stop as soon as the limit is passed, so the work stays linear.
fn parse_document(text: &str, format: Format, path: &Path) -> Result<Value, Error> {
    let parse_error = |line: usize, column: usize, message: String| Error::Parse {
        path: path.to_owned(),
        line,
        column,
        message: strip_position(message),
    };
    match format {
        Format::Json => {
            if let Some((line, column)) = json_too_deep(text) {
                return Err(parse_error(
                    line,
                    column,
                    format!("objects and arrays nest deeper than {MAX_NESTING_DEPTH} levels"),
                ));
            }
            serde_json::from_str(text).map_err(|e| parse_error(e.line(), e.column(), e.to_string()))
        }
        Format::Yaml => {
            crate::yaml::parse(text).map_err(|e| parse_error(e.line, e.column, e.message))
        }
    }
}

/// Where JSON text first opens an object or array deeper than
/// [`MAX_NESTING_DEPTH`] (1-based line and column), in one pass over the
/// bytes; strings are skipped. Malformed text is left to the parser.
fn json_too_deep(text: &str) -> Option<(usize, usize)> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, b) in text.bytes().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING_DEPTH {
                    let before = &text[..i];
                    let line = before.matches('\n').count() + 1;
                    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                    return Some((line, column));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Drops the parsers' own ` at line L column C` suffix (the position is kept
/// in the error's fields and shown in front of the message).
fn strip_position(message: String) -> String {
    match message.rfind(" at line ") {
        Some(i)
            if message[i + 9..]
                .split(" column ")
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) =>
        {
            message[..i].to_owned()
        }
        _ => message,
    }
}

/// Converts serde_path_to_error's path into a JSON pointer.
fn path_to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut tokens: Vec<String> = Vec::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => tokens.push(index.to_string()),
            Segment::Map { key } => tokens.push(key.clone()),
            Segment::Enum { variant } => tokens.push(variant.clone()),
            Segment::Unknown => {}
        }
    }
    crate::error::pointer(tokens)
}

/// Rewrites serde's type vocabulary in a structure message into the JSON
/// names a pack author knows (`a map` → `an object`, `u32` → `a
/// non-negative integer`, ...).
fn humanize(message: &str) -> String {
    let mut out = message.to_owned();
    for (from, to) in [
        ("invalid type: map", "invalid type: object"),
        ("invalid type: sequence", "invalid type: array"),
        ("invalid type: unit value", "invalid type: null"),
        ("expected a map", "expected an object"),
        ("expected a sequence", "expected an array"),
        ("expected u8", "expected a non-negative integer"),
        ("expected u16", "expected a non-negative integer"),
        ("expected u32", "expected a non-negative integer"),
        ("expected u64", "expected a non-negative integer"),
        ("expected usize", "expected a non-negative integer"),
        ("expected i32", "expected an integer"),
        ("expected i64", "expected an integer"),
        ("expected f32", "expected a number"),
        ("expected f64", "expected a number"),
        ("expected a boolean", "expected true or false"),
    ] {
        out = out.replace(from, to);
    }
    // `expected struct ImageConfig` / `expected a map`-style Rust type names
    static RUST_TYPE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    if let Some(re) = RUST_TYPE.get_or_init(|| {
        regex::Regex::new(r"expected (struct|tuple struct|map with keys of) [A-Za-z_]+").ok()
    }) {
        out = re.replace_all(&out, "expected an object").into_owned();
    }
    out
}
