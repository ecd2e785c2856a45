//! Finding where a JSON pointer's value sits in YAML source text, so problems
//! in YAML packs carry a line and column as they do in JSON packs.
//!
//! The document is walked with `yaml-rust2`'s event parser (which reports
//! the position of every node) along the pointer's path only; nothing else
//! is built. Merge keys (`<<: *anchor`) and aliases are not followed: a
//! pointer into merged content is placed at its nearest ancestor written in
//! the file.

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::Marker;

use crate::error::Position;
use crate::locate::pointer_tokens;

/// The position of the value at `pointer` in the YAML document `text`: the
/// start of its key for mapping members, of the item for sequence items. For
/// a pointer that does not exist (a missing property), the position of its
/// nearest existing ancestor. `None` if `text` does not parse as YAML or the
/// pointer is not a JSON pointer.
pub(crate) fn locate_yaml(text: &str, pointer: &str) -> Option<Position> {
    let tokens = pointer_tokens(pointer)?;
    let mut walker = Walker {
        parser: Parser::new_from_str(text),
    };
    // The root node: the first event after the stream and document starts.
    let (mut event, mark) = loop {
        match walker.next()? {
            (Event::StreamStart | Event::DocumentStart, _) => {}
            (Event::StreamEnd, _) => return None,
            node => break node,
        }
    };
    let mut best = node_position(text, &event, mark);
    'tokens: for token in &tokens {
        match event {
            Event::MappingStart(..) => loop {
                let (key, key_mark) = walker.next()?;
                match key {
                    Event::MappingEnd => break 'tokens,
                    Event::Scalar(ref k, ..) if k == token => {
                        best = position(key_mark);
                        event = walker.next()?.0;
                        continue 'tokens;
                    }
                    other => {
                        walker.skip(other)?;
                        let (value, _) = walker.next()?;
                        walker.skip(value)?;
                    }
                }
            },
            Event::SequenceStart(..) => {
                let Ok(index) = token.parse::<usize>() else {
                    break;
                };
                for n in 0.. {
                    let (item, item_mark) = walker.next()?;
                    if matches!(item, Event::SequenceEnd) {
                        break 'tokens;
                    }
                    if n == index {
                        best = node_position(text, &item, item_mark);
                        event = item;
                        continue 'tokens;
                    }
                    walker.skip(item)?;
                }
            }
            // A scalar or an alias has no members to descend into.
            _ => break,
        }
    }
    Some(best)
}

/// Where a node starts. The parser marks a block mapping where its first key
/// ends; its start is that key's first character on the same line (after the
/// indentation and any `- ` sequence indicators).
fn node_position(text: &str, event: &Event, mark: Marker) -> Position {
    let at = position(mark);
    if !matches!(event, Event::MappingStart(..)) {
        return at;
    }
    let Some(line) = text.lines().nth(at.line - 1) else {
        return at;
    };
    let before: Vec<char> = line.chars().take(at.column - 1).collect();
    if before.is_empty() || line.chars().nth(at.column - 1) == Some('{') {
        return at;
    }
    let start = before
        .iter()
        .position(|c| !matches!(c, ' ' | '\t' | '-'))
        .unwrap_or(before.len());
    Position {
        line: at.line,
        column: start + 1,
    }
}

/// 1-based line and column of a parser mark.
fn position(mark: Marker) -> Position {
    Position {
        line: mark.line().max(1),
        column: mark.col() + 1,
    }
}

struct Walker<'a> {
    parser: Parser<std::str::Chars<'a>>,
}

impl Walker<'_> {
    /// The next event; `None` on a parse error.
    fn next(&mut self) -> Option<(Event, Marker)> {
        self.parser.next_token().ok()
    }

    /// Skips the rest of the node that `first` opened.
    fn skip(&mut self, first: Event) -> Option<()> {
        let mut depth = match first {
            Event::MappingStart(..) | Event::SequenceStart(..) => 1usize,
            Event::StreamEnd => return None,
            _ => return Some(()),
        };
        while depth > 0 {
            match self.next()?.0 {
                Event::MappingStart(..) | Event::SequenceStart(..) => depth += 1,
                Event::MappingEnd | Event::SequenceEnd => depth -= 1,
                Event::StreamEnd => return None,
                _ => {}
            }
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
id: demo
prompts:
  support:
    system_template: |
      Hello {{name}}
    variables:
      - name: name
        type: strng
      - {name: other, type: number}
tools:
  weather: {description: w}
";

    fn at(pointer: &str) -> Option<(usize, usize)> {
        locate_yaml(DOC, pointer).map(|p| (p.line, p.column))
    }

    #[test]
    fn finds_keys_items_and_flow_members() {
        assert_eq!(at(""), Some((1, 1)));
        assert_eq!(at("/id"), Some((1, 1)));
        assert_eq!(at("/prompts"), Some((2, 1)));
        assert_eq!(at("/prompts/support"), Some((3, 3)));
        assert_eq!(at("/prompts/support/variables"), Some((6, 5)));
        assert_eq!(at("/prompts/support/variables/0"), Some((7, 9)));
        assert_eq!(at("/prompts/support/variables/0/type"), Some((8, 9)));
        assert_eq!(at("/prompts/support/variables/1"), Some((9, 9)));
        assert_eq!(at("/prompts/support/variables/1/type"), Some((9, 23)));
        assert_eq!(at("/tools/weather/description"), Some((11, 13)));
    }

    #[test]
    fn missing_members_fall_back_to_the_nearest_ancestor() {
        assert_eq!(at("/prompts/support/missing"), Some((3, 3)));
        assert_eq!(at("/prompts/support/variables/7"), Some((6, 5)));
        assert_eq!(at("/id/deeper"), Some((1, 1)));
        assert_eq!(at("/prompts/support/variables/x"), Some((6, 5)));
    }

    #[test]
    fn broken_yaml_and_bad_pointers_give_none() {
        assert_eq!(locate_yaml("a: [1, 2", "/a/5"), None);
        assert_eq!(locate_yaml("a: 1", "no-slash"), None);
        assert_eq!(locate_yaml("", "/a"), None);
    }
}
