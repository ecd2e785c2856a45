//! Names the local store gives: reference strings and temporary files.

use crate::{Error, Result, StorageReference};

/// Scheme of the references this store issues.
const REF_SCHEME: &str = "file:";
/// Prefix of every temporary file the store writes.
pub(crate) const TEMP_PREFIX: &str = ".pk-tmp-";

/// A fresh reference id (128 random bits, 32 lowercase hex digits).
pub(crate) fn new_ref_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A fresh temporary file name.
pub(crate) fn temp_name() -> String {
    format!("{TEMP_PREFIX}{}", uuid::Uuid::new_v4().simple())
}

/// The reference for a reference id (`file:<32 hex>`, 37 bytes).
pub(crate) fn reference_for(id: &str) -> Result<StorageReference> {
    StorageReference::new(format!("{REF_SCHEME}{id}"))
        .map_err(|e| Error::invalid("reference", e.to_string()))
}

/// The reference id inside a reference issued by this store.
pub(crate) fn parse_reference(r: &StorageReference) -> Result<&str> {
    let id = r.as_str().strip_prefix(REF_SCHEME).ok_or_else(|| {
        Error::invalid(
            "reference",
            format!("`{r}` is not a local file store reference (file:<id>)"),
        )
    })?;
    if id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(id)
    } else {
        Err(Error::invalid(
            "reference",
            format!("`{r}` does not hold a valid reference id"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_round_trip_and_bad_ones_are_refused() {
        let id = new_ref_id();
        let r = reference_for(&id).unwrap();
        assert_eq!(r.as_str().len(), 37);
        assert_eq!(parse_reference(&r).unwrap(), id);
        for bad in [
            "obj:abc",
            "file:xyz",
            "file:../../etc/passwd",
            "file:ABCDEF",
        ] {
            let r = StorageReference::new(bad).unwrap();
            assert!(parse_reference(&r).is_err(), "{bad}");
        }
        assert!(temp_name().starts_with(TEMP_PREFIX));
    }
}
