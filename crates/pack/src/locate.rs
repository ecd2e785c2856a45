//! Finding where a JSON pointer's value sits in JSON source text, so problems
//! can carry a line and column as well as a pointer.

use crate::error::Position;

/// The position of the value at `pointer` in the JSON document `text`: the
/// start of its key for object members, of the element for array items. For
/// a pointer that does not exist (a missing property), the position of its
/// nearest existing ancestor. `None` if `text` is not scannable JSON.
pub(crate) fn locate(text: &str, pointer: &str) -> Option<Position> {
    let tokens = pointer_tokens(pointer)?;
    let mut sc = Scanner {
        text,
        bytes: text.as_bytes(),
        i: 0,
    };
    sc.ws();
    let mut best = sc.i;
    'tokens: for token in &tokens {
        sc.ws();
        match sc.peek()? {
            b'{' => {
                sc.i += 1;
                loop {
                    sc.ws();
                    if sc.peek()? == b'}' {
                        break 'tokens;
                    }
                    let key_start = sc.i;
                    let key = sc.string()?;
                    sc.ws();
                    sc.expect(b':')?;
                    if key == *token {
                        best = key_start;
                        continue 'tokens;
                    }
                    sc.value()?;
                    sc.ws();
                    if sc.peek()? == b',' {
                        sc.i += 1;
                    }
                }
            }
            b'[' => {
                let Ok(index) = token.parse::<usize>() else {
                    break;
                };
                sc.i += 1;
                for n in 0.. {
                    sc.ws();
                    if sc.peek()? == b']' {
                        break 'tokens;
                    }
                    if n == index {
                        best = sc.i;
                        continue 'tokens;
                    }
                    sc.value()?;
                    sc.ws();
                    if sc.peek()? == b',' {
                        sc.i += 1;
                    }
                }
            }
            _ => break,
        }
    }
    Some(position(text, best))
}

/// The unescaped reference tokens of a JSON pointer (RFC 6901); `None` when
/// it is neither empty nor starts with `/`.
pub(crate) fn pointer_tokens(pointer: &str) -> Option<Vec<String>> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    Some(
        pointer
            .strip_prefix('/')?
            .split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// 1-based line and column (in characters) of byte offset `at`.
fn position(text: &str, at: usize) -> Position {
    let before = text.get(..at).unwrap_or(text);
    Position {
        line: before.matches('\n').count() + 1,
        column: before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
    }
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.i += 1)
    }

    /// A string token, decoded.
    fn string(&mut self) -> Option<String> {
        let start = self.i;
        self.expect(b'"')?;
        loop {
            match self.peek()? {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    break;
                }
                _ => self.i += 1,
            }
        }
        serde_json::from_str(self.text.get(start..self.i)?).ok()
    }

    /// Skips one value of any kind.
    fn value(&mut self) -> Option<()> {
        self.ws();
        match self.peek()? {
            b'"' => self.string().map(drop),
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { b'}' } else { b']' };
                self.i += 1;
                loop {
                    self.ws();
                    match self.peek()? {
                        c if c == close => {
                            self.i += 1;
                            return Some(());
                        }
                        b',' | b':' => self.i += 1,
                        _ => self.value()?,
                    }
                }
            }
            _ => {
                // number, true, false, null
                let start = self.i;
                while matches!(self.peek(), Some(c) if !matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                {
                    self.i += 1;
                }
                (self.i > start).then_some(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, pointer: &str) -> (usize, usize) {
        let p = locate(text, pointer).unwrap();
        (p.line, p.column)
    }

    #[test]
    fn finds_members_elements_and_nearest_ancestors() {
        let text = "{\n  \"a\": {\"b\": [1, {\"c\": \"x\\\"y\"}, 3]},\n  \"d/e\": true\n}";
        assert_eq!(at(text, ""), (1, 1));
        assert_eq!(at(text, "/a"), (2, 3));
        assert_eq!(at(text, "/a/b"), (2, 9));
        assert_eq!(at(text, "/a/b/1"), (2, 18));
        assert_eq!(at(text, "/a/b/1/c"), (2, 19));
        assert_eq!(at(text, "/a/b/2"), (2, 33));
        assert_eq!(at(text, "/d~1e"), (3, 3));
        // missing: nearest existing ancestor
        assert_eq!(at(text, "/a/missing"), (2, 3));
        assert_eq!(at(text, "/a/b/7"), (2, 9));
        assert_eq!(at(text, "/a/b/x"), (2, 9));
        assert_eq!(at(text, "/d~1e/deeper"), (3, 3));
        // truncated input does not panic
        assert_eq!(locate("{\"a\": ", "/a/b"), None);
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(at("{\"é\": 1, \"b\": 2}", "/b"), (1, 10));
    }
}
