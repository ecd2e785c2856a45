//! Template syntax: splitting a template into text and placeholders.
//!
//! Placeholders use the pack's `template_engine.syntax` delimiters (`{{`/`}}`
//! by default), may have whitespace inside the delimiters, and are either a
//! variable (`{{name}}`, `{{artifacts.commit_sha}}`) or a fragment reference:
//! `{{fragments.name}}` (the spec's form), or `{{fragment:name}}`. A bare
//! name that is not a variable but names a fragment also expands that
//! fragment.

use crate::model::TemplateEngine;

/// Opening and closing delimiters of placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Syntax {
    pub(crate) open: String,
    pub(crate) close: String,
}

impl Default for Syntax {
    fn default() -> Self {
        Syntax {
            open: "{{".to_owned(),
            close: "}}".to_owned(),
        }
    }
}

impl Syntax {
    /// Delimiters from a syntax pattern such as `{{variable}}` or `${variable}`.
    pub(crate) fn from_pattern(pattern: &str) -> Result<Syntax, String> {
        let Some((open, close)) = pattern.split_once("variable") else {
            return Err(format!(
                "syntax `{pattern}` must contain the word `variable` between its delimiters, e.g. `{{{{variable}}}}`"
            ));
        };
        let (open, close) = (open.trim(), close.trim());
        if open.is_empty() || close.is_empty() {
            return Err(format!(
                "syntax `{pattern}` needs non-empty opening and closing delimiters"
            ));
        }
        Ok(Syntax {
            open: open.to_owned(),
            close: close.to_owned(),
        })
    }

    /// The pack's syntax; the default `{{ }}` when the pack has no engine
    /// section or an unusable pattern (the loader reports the latter).
    pub(crate) fn for_engine(engine: Option<&TemplateEngine>) -> Syntax {
        engine
            .and_then(|e| Syntax::from_pattern(&e.syntax).ok())
            .unwrap_or_default()
    }

    /// How a placeholder for `name` is written in this syntax.
    pub(crate) fn show(&self, inner: &str) -> String {
        format!("{}{inner}{}", self.open, self.close)
    }
}

/// What a placeholder refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target<'a> {
    /// A variable, or a fragment by bare name.
    Name(&'a str),
    /// An explicit fragment reference: `fragments.name` or `fragment:name`.
    Fragment(&'a str),
}

/// A piece of a parsed template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Segment<'a> {
    /// Literal text.
    Text(&'a str),
    /// A placeholder.
    Placeholder(Target<'a>),
}

/// A syntax error in a template, with its 1-based position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TemplateError {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) message: String,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "template line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Splits `template` into text and placeholders.
pub(crate) fn parse<'a>(
    template: &'a str,
    syntax: &Syntax,
) -> Result<Vec<Segment<'a>>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = 0usize;
    while let Some(found) = template[rest..].find(syntax.open.as_str()) {
        let start = rest + found;
        if start > rest {
            out.push(Segment::Text(&template[rest..start]));
        }
        let inner_start = start + syntax.open.len();
        let err = |message: String| {
            let (line, column) = position(template, start);
            TemplateError {
                line,
                column,
                message,
            }
        };
        let Some(len) = template[inner_start..].find(syntax.close.as_str()) else {
            return Err(err(format!(
                "unterminated placeholder: `{}` has no closing `{}`",
                syntax.open, syntax.close
            )));
        };
        let raw = &template[inner_start..inner_start + len];
        let inner = raw.trim();
        let target = if let Some(name) = inner.strip_prefix("fragment:") {
            let name = name.trim();
            if name.is_empty() || name.contains(syntax.open.as_str()) {
                return Err(err(format!("`{}` needs a fragment name", syntax.show(raw))));
            }
            Target::Fragment(name)
        } else if let Some(name) = inner
            .strip_prefix("fragments.")
            .filter(|n| is_valid_name(n))
        {
            Target::Fragment(name)
        } else if is_valid_name(inner) {
            Target::Name(inner)
        } else if inner.is_empty() {
            return Err(err(format!("empty placeholder `{}`", syntax.show(raw))));
        } else {
            return Err(err(format!(
                "invalid placeholder `{}`: expected a variable name (letters, digits, `_`, `-`, `.`) or `fragment:<name>`",
                syntax.show(raw)
            )));
        };
        out.push(Segment::Placeholder(target));
        rest = inner_start + len + syntax.close.len();
    }
    if rest < template.len() {
        out.push(Segment::Text(&template[rest..]));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_text_variables_and_fragments() {
        let s = Syntax::default();
        let segs = parse(
            "Hi {{ name }}!{{fragment: intro}}{{x}}{{ fragments.outro }}",
            &s,
        )
        .unwrap();
        assert_eq!(
            segs,
            vec![
                Segment::Text("Hi "),
                Segment::Placeholder(Target::Name("name")),
                Segment::Text("!"),
                Segment::Placeholder(Target::Fragment("intro")),
                Segment::Placeholder(Target::Name("x")),
                Segment::Placeholder(Target::Fragment("outro")),
            ]
        );
    }

    #[test]
    fn reports_position_of_bad_placeholders() {
        let s = Syntax::default();
        let e = parse("line one\n  {{ not valid }}", &s).unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
        assert!(e.message.contains("invalid placeholder"), "{e}");
        let e = parse("abc {{open", &s).unwrap_err();
        assert!(e.message.contains("unterminated"), "{e}");
        assert_eq!((e.line, e.column), (1, 5));
        assert!(parse("{{}}", &s).unwrap_err().message.contains("empty"));
        assert!(parse("{{fragment:}}", &s).is_err());
    }

    #[test]
    fn other_syntaxes() {
        let s = Syntax::from_pattern("${variable}").unwrap();
        let segs = parse("a ${x} {{y}}", &s).unwrap();
        assert_eq!(segs[1], Segment::Placeholder(Target::Name("x")));
        assert_eq!(segs[2], Segment::Text(" {{y}}"));
        assert!(Syntax::from_pattern("{{var}}").is_err());
        assert!(Syntax::from_pattern("variable}}").is_err());
    }
}
