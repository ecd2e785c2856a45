use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// Longest accepted string form of a reference.
const MAX_LEN: usize = 512;

/// An opaque handle to media held by a media store: its string form, boxed
/// (16 bytes plus the string; history keeps one per externalized item).
///
/// Its string form ([`Display`](fmt::Display) / [`FromStr`]) is stable: it can be
/// saved with a conversation and parsed back later to retrieve the same media.
/// The content of the string belongs to the store that issued it; applications
/// should treat it as opaque.
///
/// ```
/// use promptkit_core::StorageReference;
/// let r: StorageReference = "local:3f2a/ref-01".parse().unwrap();
/// assert_eq!(r.to_string(), "local:3f2a/ref-01");
/// assert!("".parse::<StorageReference>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StorageReference(Box<str>);

impl StorageReference {
    /// Builds a reference from its string form, checking that it is non-empty,
    /// at most 512 bytes, and free of whitespace and control characters.
    pub fn new(s: impl AsRef<str>) -> Result<Self, Error> {
        let s = s.as_ref();
        if s.is_empty() {
            return Err(Error::invalid_input(
                Some("storage_reference".into()),
                "storage reference is empty",
            ));
        }
        if s.len() > MAX_LEN {
            return Err(Error::invalid_input(
                Some("storage_reference".into()),
                format!("storage reference is {} bytes, limit {MAX_LEN}", s.len()),
            ));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::invalid_input(
                Some("storage_reference".into()),
                "storage reference contains whitespace or control characters",
            ));
        }
        Ok(StorageReference(Box::from(s)))
    }

    /// The stable string form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Bytes of heap this reference holds (its string), for memory accounting.
    pub fn heap_size(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Display for StorageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for StorageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StorageReference({})", &self.0)
    }
}

impl FromStr for StorageReference {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        StorageReference::new(s)
    }
}

impl Serialize for StorageReference {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for StorageReference {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        StorageReference::new(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_forms() {
        assert!(StorageReference::new("a b").is_err());
        assert!(StorageReference::new("a\0b").is_err());
        assert!(StorageReference::new("x".repeat(513)).is_err());
        assert!(StorageReference::new("x".repeat(512)).is_ok());
    }

    #[test]
    fn serde_round_trip() {
        let r = StorageReference::new("local:abc").unwrap();
        let j = serde_json::to_string(&r).unwrap();
        assert_eq!(j, "\"local:abc\"");
        let back: StorageReference = serde_json::from_str(&j).unwrap();
        assert_eq!(back, r);
        assert!(serde_json::from_str::<StorageReference>("\"\"").is_err());
    }
}
