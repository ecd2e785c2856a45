//! Parsing YAML packs into JSON values with `serde-saphyr` (a maintained,
//! panic-free YAML deserializer), within resource budgets.

use serde_json::Value;

use crate::load::MAX_NESTING_DEPTH;

/// A YAML syntax or budget error with its 1-based position (0 when the
/// parser gave none).
#[derive(Debug)]
pub(crate) struct YamlError {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) message: String,
}

/// Parses one YAML document. Anchors, aliases and `<<:` merge keys are
/// resolved; duplicate keys are refused. Nesting deeper than
/// [`MAX_NESTING_DEPTH`] stops the parser when it is reached (the budget is
/// checked as events stream in, so the work is linear in the input), and
/// alias expansion is bounded by the crate's default alias-bomb limits.
pub(crate) fn parse(text: &str) -> Result<Value, YamlError> {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_NESTING_DEPTH;
    budget.flow_nesting_limit = MAX_NESTING_DEPTH;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    serde_saphyr::from_str_with_options::<Value>(text, options).map_err(|e| {
        let (line, column) = e
            .location()
            .map_or((0, 0), |l| (l.line() as usize, l.column() as usize));
        YamlError {
            line,
            column,
            message: plain_message(&e.without_snippet().to_string()),
        }
    })
}

/// The parser's message without its `error: line L column C:` prefix and
/// without advice addressed to Rust programmers.
fn plain_message(message: &str) -> String {
    let mut m = message
        .trim()
        .strip_prefix("error: ")
        .unwrap_or(message.trim());
    if let Some(rest) = m.strip_prefix("line ")
        && let Some((_, after)) = rest.split_once(": ")
        && rest
            .split(": ")
            .next()
            .is_some_and(|pos| pos.contains(" column "))
    {
        m = after;
    }
    let m = m.replace(", set DuplicateKeyPolicy in Options if acceptable", "");
    let mut m = m.lines().next().unwrap_or_default().to_owned();
    if let Some(i) = m.rfind(" at line ") {
        m.truncate(i);
    }
    if m.starts_with("recursion limit exceeded") || m.contains("depth limit") {
        return format!("mappings and sequences nest deeper than {MAX_NESTING_DEPTH} levels");
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_merge_keys_and_scalars() {
        let v =
            parse("base: &b {a: 1, t: true}\nchild:\n  <<: *b\n  c: x\nn: null\nf: 1.5\n").unwrap();
        assert_eq!(v["child"], serde_json::json!({"a": 1, "t": true, "c": "x"}));
        assert_eq!(v["n"], Value::Null);
        assert_eq!(v["f"], 1.5);
    }

    #[test]
    fn duplicate_keys_are_refused_with_a_position() {
        let e = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(e.line, 3, "{e:?}");
        assert_eq!(e.message, "duplicate mapping key: a");
    }

    #[test]
    fn depth_is_limited() {
        let deep = format!(
            "{}{}",
            "[".repeat(MAX_NESTING_DEPTH + 1),
            "]".repeat(MAX_NESTING_DEPTH + 1)
        );
        let e = parse(&deep).unwrap_err();
        assert_eq!(
            e.message,
            "mappings and sequences nest deeper than 64 levels"
        );
        assert_eq!((e.line, e.column), (1, 65));
        let ok = format!(
            "{}{}",
            "[".repeat(MAX_NESTING_DEPTH - 1),
            "]".repeat(MAX_NESTING_DEPTH - 1)
        );
        assert!(parse(&ok).is_ok());
    }
}
