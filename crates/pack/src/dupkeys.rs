//! Duplicate object keys in JSON text.
//!
//! `serde_json` silently keeps the last of two equal keys, and other JSON
//! parsers may keep the first. Either way a pack with two `"support"` prompts
//! does not mean what its author thinks, so duplicates are reported, each at
//! its JSON pointer. (YAML parsing already rejects duplicate keys.)

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::{Problem, ProblemKind, escape_pointer_token};

/// Every duplicated key in the JSON document `text` (empty if `text` does not
/// parse; the parse error is reported elsewhere).
pub(crate) fn duplicate_keys(text: &str) -> Vec<Problem> {
    let found = RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_str(text);
    let seed = Walk {
        pointer: String::new(),
        found: &found,
    };
    if seed.deserialize(&mut de).is_err() {
        return Vec::new();
    }
    found.into_inner()
}

/// Visits a value at `pointer`, recording duplicate keys below it.
struct Walk<'a> {
    pointer: String,
    found: &'a RefCell<Vec<Problem>>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        while seq
            .next_element_seed(Walk {
                pointer: format!("{}/{i}", self.pointer),
                found: self.found,
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let pointer = format!("{}/{}", self.pointer, escape_pointer_token(&key));
            if !seen.insert(key.clone()) {
                self.found.borrow_mut().push(Problem::new(
                    ProblemKind::Semantic,
                    pointer.clone(),
                    format!("duplicate key `{key}`: only the last occurrence is used"),
                ));
            }
            map.next_value_seed(Walk {
                pointer,
                found: self.found,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_duplicates_at_any_depth() {
        let found =
            duplicate_keys(r#"{"a": 1, "b": [{"x": 1, "x": 2}], "a": {"c/d": 1, "c/d": 2}}"#);
        let pointers: Vec<&str> = found.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(pointers, ["/b/0/x", "/a", "/a/c~1d"]);
        assert!(duplicate_keys(r#"{"a": 1, "b": {"a": 2}}"#).is_empty());
        assert!(duplicate_keys("{ not json").is_empty());
    }
}
