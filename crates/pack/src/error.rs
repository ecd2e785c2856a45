//! The crate's error type and the problems/warnings reported by validation.

use std::fmt;
use std::path::PathBuf;

use crate::media::MediaRejection;
use crate::validator::Violation;

/// Everything that can go wrong while loading, validating or rendering a pack.
///
/// Callers branch on the variant, never on the message text:
///
/// ```
/// use promptkit_pack::{Error, Pack};
/// match Pack::from_json_str("{ not json") {
///     Err(Error::Parse { line, column, .. }) => assert_eq!((line, column), (1, 3)),
///     other => panic!("expected a parse error, got {other:?}"),
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The pack file could not be read.
    #[error("{}: cannot read pack: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The pack file is larger than [`MAX_PACK_BYTES`](crate::MAX_PACK_BYTES);
    /// reading stopped there (a pack is a small text file; this also stops
    /// endless inputs such as `/dev/zero`).
    #[error("{}: pack is larger than {limit} bytes; reading stopped there", path.display())]
    TooLarge {
        /// The file (`<string>` for in-memory input).
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The file is not well-formed JSON or YAML, or nests deeper than
    /// [`MAX_NESTING_DEPTH`](crate::MAX_NESTING_DEPTH).
    #[error("{}{}: {message}", path.display(), position(*line, *column))]
    Parse {
        /// The file (`<string>` for in-memory input).
        path: PathBuf,
        /// 1-based line of the error (0 when the parser gave no position).
        line: usize,
        /// 1-based column of the error (0 when the parser gave no position).
        column: usize,
        /// What the parser reported.
        message: String,
    },
    /// The pack is well-formed but cannot be accepted: the schema rejects it
    /// (strict mode), it does not fit the typed model (both modes), or it has
    /// warnings and [`LoadOptions::deny_warnings`](crate::LoadOptions::deny_warnings) is set.
    ///
    /// Holds every problem found, each with its JSON pointer, and the
    /// findings that stay warnings (they keep their own severity).
    #[error("{}: invalid pack ({} problem{}): {}", path.display(), problems.len(),
        if problems.len() == 1 { "" } else { "s" }, first_problem(problems))]
    Invalid {
        /// The file (`<string>` for in-memory input).
        path: PathBuf,
        /// The problems that make the pack unacceptable, in document order.
        problems: Vec<Problem>,
        /// Findings that are only warnings in this mode, in document order.
        warnings: Vec<Warning>,
    },
    /// A prompt could not be rendered (missing or invalid variable, unknown
    /// placeholder or fragment, fragment cycle, template syntax).
    #[error("prompt `{prompt}`: {}{message}", variable.as_ref().map(|v| format!("variable `{v}`: ")).unwrap_or_default())]
    Render {
        /// Key of the prompt being rendered.
        prompt: String,
        /// The variable or placeholder concerned, when there is one.
        variable: Option<String>,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Something referenced by name does not exist in the pack.
    #[error("{kind} `{name}` not found{}", context.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
    NotFound {
        /// What was looked for: `"prompt"`, `"tool"`, `"fragment"`.
        kind: &'static str,
        /// Its name.
        name: String,
        /// Where the reference came from, e.g. `referenced by prompt "support"`.
        context: Option<String>,
    },
    /// Media attached to a message is not allowed by the prompt's `media` config.
    #[error("media item {index}: {reason}")]
    MediaRejected {
        /// 0-based index of the offending item in the checked slice.
        index: usize,
        /// Why it was rejected.
        reason: MediaRejection,
    },
    /// A response broke a validator whose `fail_on_violation` is true.
    #[error("response rejected: {0}")]
    ValidationFailed(Violation),
}

/// `:line:column`, or nothing when the position is unknown (0).
fn position(line: usize, column: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}:{column}")
    }
}

fn first_problem(problems: &[Problem]) -> String {
    match problems.first() {
        Some(p) => p.to_string(),
        None => "no details".to_owned(),
    }
}

/// Whether a [`Problem`] comes from the JSON Schema, a semantic rule, or the
/// typed model.
///
/// ```
/// use promptkit_pack::{Error, Pack, ProblemKind};
/// // `prompts` must be an object: the typed model cannot hold a list.
/// let err = Pack::from_json_str(r#"{"id":"p","name":"P","version":"1.0.0","prompts":[]}"#).unwrap_err();
/// let Error::Invalid { problems, warnings, .. } = err else { panic!("expected Error::Invalid") };
/// assert_eq!(problems.len(), 1); // the schema's "not an object" is the same cause
/// assert_eq!((problems[0].kind, problems[0].pointer.as_str()), (ProblemKind::Structure, "/prompts"));
/// // leniently, the schema's other findings stay warnings
/// assert!(warnings.iter().any(|w| w.kind == ProblemKind::Schema && w.pointer == "/template_engine"));
/// assert_eq!(ProblemKind::Semantic.to_string(), "semantic");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The official PromptPack JSON Schema rejects the document.
    Schema,
    /// A rule the schema cannot express (undefined tool, missing fragment,
    /// ...): always a warning, unless warnings are denied.
    Semantic,
    /// The document does not fit the typed model at all (e.g. a string where a
    /// list is required), so it cannot be loaded even leniently.
    Structure,
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProblemKind::Schema => "schema",
            ProblemKind::Semantic => "semantic",
            ProblemKind::Structure => "structure",
        })
    }
}

/// One thing wrong with a pack, located by a JSON pointer (RFC 6901).
///
/// ```
/// use promptkit_pack::{Problem, ProblemKind};
/// let p = Problem::new(ProblemKind::Semantic, "/prompts/support/tools/0", "tool `x` is not defined");
/// assert_eq!(p.to_string(), "/prompts/support/tools/0: tool `x` is not defined");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Schema, semantic or structural.
    pub kind: ProblemKind,
    /// JSON pointer to the offending value (`""` is the document root).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
    /// Where the pointer's value starts in a JSON source file (its key, for
    /// object members; the nearest existing ancestor for a missing property).
    /// `None` for YAML and in-memory documents.
    pub position: Option<Position>,
}

/// A 1-based line and column (in characters) in a source file.
///
/// ```
/// assert_eq!(promptkit_pack::Position { line: 3, column: 7 }.to_string(), "3:7");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

impl Problem {
    /// A problem at `pointer`.
    pub fn new(kind: ProblemKind, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            kind,
            pointer: pointer.into(),
            message: message.into(),
            position: None,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{pointer}: {}", self.message)
    }
}

/// A non-fatal finding: a problem tolerated by lenient mode, or a feature the
/// runtime does not implement. Same shape as [`Problem`].
///
/// ```
/// let pack = promptkit_pack::Pack::from_json_str(r#"{"id":"p","name":"P","version":"1.0.0",
///   "template_engine":{"version":"v1","syntax":"{{variable}}"},
///   "prompts":{"a":{"id":"a","name":"A","version":"1.0.0","system_template":"hi","tools":["nope"]}}}"#).unwrap();
/// let w: &promptkit_pack::Warning = &pack.warnings()[0];
/// assert_eq!(w.kind, promptkit_pack::ProblemKind::Semantic);
/// assert_eq!(w.pointer, "/prompts/a/tools/0"); // tool `nope` is not defined
/// ```
pub type Warning = Problem;

/// Escapes one JSON pointer reference token (`~` → `~0`, `/` → `~1`).
///
/// ```
/// assert_eq!(promptkit_pack::escape_pointer_token("a/b~c"), "a~1b~0c");
/// ```
pub fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Builds a JSON pointer from reference tokens, escaping each.
pub(crate) fn pointer<I, S>(tokens: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out = String::new();
    for t in tokens {
        out.push('/');
        out.push_str(&escape_pointer_token(t.as_ref()));
    }
    out
}

/// Sorts problems by pointer, comparing numeric tokens as numbers, so they
/// read top to bottom; problems at the same pointer keep their order.
pub(crate) fn sort_problems(problems: &mut [Problem]) {
    fn key(p: &Problem) -> Vec<(u64, String)> {
        p.pointer
            .split('/')
            .map(|t| match t.parse::<u64>() {
                Ok(n) => (n, String::new()),
                Err(_) => (u64::MAX, t.to_owned()),
            })
            .collect()
    }
    problems.sort_by_cached_key(key);
}
