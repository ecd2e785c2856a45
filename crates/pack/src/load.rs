//! Reading pack files: JSON or YAML, strict or lenient.

use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Problem, ProblemKind, Warning, sort_problems};
use crate::model::Pack;
use crate::{dupkeys, locate, locate_yaml, schema, semantic};

/// How strictly a pack is checked.
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
    /// The official JSON Schema and the semantic rules must hold; any
    /// violation is an [`Error::Invalid`].
    Strict,
    /// Anything the typed model can hold is accepted; schema and semantic
    /// violations become warnings (the default).
    #[default]
    Lenient,
}

/// Options for [`Pack::load_with`].
///
/// ```
/// use promptkit_pack::{LoadOptions, ValidationMode};
/// assert_eq!(LoadOptions::default().mode, ValidationMode::Lenient);
/// assert_eq!(LoadOptions::strict().mode, ValidationMode::Strict);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Strict or lenient.
    pub mode: ValidationMode,
}

impl LoadOptions {
    /// Options with the given mode.
    pub fn new(mode: ValidationMode) -> Self {
        LoadOptions { mode }
    }
    /// Strict validation.
    pub fn strict() -> Self {
        Self::new(ValidationMode::Strict)
    }
    /// Lenient validation.
    pub fn lenient() -> Self {
        Self::new(ValidationMode::Lenient)
    }
}

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
    /// In strict mode every schema or semantic problem is returned at once in
    /// [`Error::Invalid`]; warnings then only contain advisories (features this
    /// runtime does not implement).
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
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
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
            Err(Error::Invalid { path, mut problems }) => {
                place(&mut problems);
                Err(Error::Invalid { path, problems })
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
        let invalid = |problems: Vec<Problem>| Error::Invalid {
            path: path.to_owned(),
            problems,
        };
        let schema_problems = schema::schema_problems(&doc);
        let mut pack: Pack = match serde_path_to_error::deserialize(&doc) {
            Ok(p) => p,
            Err(e) => {
                let mut problems = vec![Problem::new(
                    ProblemKind::Structure,
                    path_to_pointer(e.path()),
                    e.inner().to_string(),
                )];
                problems.extend(schema_problems);
                return Err(invalid(problems));
            }
        };
        for (key, prompt) in &mut pack.prompts {
            prompt.key.clone_from(key);
        }
        let mut findings = semantic::check(&pack);
        findings.errors.extend(text_problems);
        let mut warnings = match options.mode {
            ValidationMode::Strict => {
                let mut errors = schema_problems;
                errors.extend(findings.errors);
                if !errors.is_empty() {
                    sort_problems(&mut errors);
                    return Err(invalid(errors));
                }
                findings.advisories
            }
            ValidationMode::Lenient => {
                let mut warnings = schema_problems;
                warnings.extend(findings.errors);
                warnings.extend(findings.advisories);
                warnings
            }
        };
        sort_problems(&mut warnings);
        pack.warnings = warnings;
        pack.source = None;
        Ok(pack)
    }

    /// Findings tolerated while loading: in lenient mode every schema and
    /// semantic problem, in both modes advisories about unsupported features.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// The file the pack was loaded from, if any.
    pub fn source_path(&self) -> Option<&Path> {
        self.source.as_deref()
    }
}

/// Parses JSON or YAML into a JSON value, with line and column on failure.
fn parse_document(text: &str, format: Format, path: &Path) -> Result<Value, Error> {
    let parse_error = |line: usize, column: usize, message: String| Error::Parse {
        path: path.to_owned(),
        line,
        column,
        message: strip_position(message),
    };
    match format {
        Format::Json => {
            serde_json::from_str(text).map_err(|e| parse_error(e.line(), e.column(), e.to_string()))
        }
        Format::Yaml => {
            let mut yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
                let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
                parse_error(line, column, e.to_string())
            })?;
            // `<<: *anchor` merge keys, as YAML authors expect
            yaml.apply_merge()
                .map_err(|e| parse_error(0, 0, format!("YAML merge key: {e}")))?;
            serde_json::to_value(yaml)
                .map_err(|e| parse_error(0, 0, format!("YAML value has no JSON equivalent: {e}")))
        }
    }
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
