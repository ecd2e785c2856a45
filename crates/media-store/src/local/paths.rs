//! Names and paths of the local store: id validation, the organization
//! layouts, reference parsing, and containment checks against the base dir.

use std::path::{Component, Path, PathBuf};

use crate::{Error, MediaMetadata, Organization, Result, StorageReference};

/// Directory (under the base dir) holding media files and their sidecars.
pub(crate) const MEDIA_DIR: &str = "media";
/// Directory (under the base dir) holding the store's own records.
pub(crate) const STATE_DIR: &str = ".promptkit";
/// The journal of reference records (in the state directory).
pub(crate) const JOURNAL_FILE: &str = "journal";
/// Legacy (format 1) reference records, one file per reference; imported
/// into the journal and removed on open.
pub(crate) const REFS_DIR: &str = "refs";
/// Legacy (format 1) dedup records, one file per content hash; removed on open.
pub(crate) const OBJECTS_DIR: &str = "objects";
/// Legacy (format 1) mutation counter; removed on open.
pub(crate) const GENERATION_FILE: &str = "generation";
/// Suffix appended to a media file's name for its sidecar.
pub(crate) const META_SUFFIX: &str = ".meta";
/// Prefix of every temporary file the store writes.
pub(crate) const TEMP_PREFIX: &str = ".pk-tmp-";
/// Scheme of the references this store issues.
pub(crate) const REF_SCHEME: &str = "file:";
/// Longest accepted session/conversation/run id, in bytes.
const MAX_ID_LEN: usize = 128;

/// Checks that an id can be used as one path component.
///
/// Accepted: 1 to 128 bytes of ASCII letters, digits and `-_.@+=~`, not
/// starting with a dot. Everything else (separators, `..`, NUL, control
/// characters, absolute paths, drive letters) is rejected, never rewritten,
/// so two different ids can never map to one directory.
pub(crate) fn validate_id(field: &str, id: &str) -> Result<()> {
    let bad = |why: &str| Error::invalid(field, format!("{why} (got {id:?})"));
    if id.is_empty() {
        return Err(bad("must not be empty"));
    }
    if id.len() > MAX_ID_LEN {
        return Err(bad("is longer than 128 bytes"));
    }
    if id.starts_with('.') {
        return Err(bad("must not start with a dot"));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.@+=~".contains(*c)))
    {
        return Err(bad(&format!(
            "contains {c:?}; only ASCII letters, digits and -_.@+=~ are allowed"
        )));
    }
    Ok(())
}

fn required<'a>(field: &str, value: Option<&'a str>, org: Organization) -> Result<&'a str> {
    let v = value.ok_or_else(|| {
        Error::invalid(
            field,
            format!("the {org} organization needs a {field} in the media metadata"),
        )
    })?;
    validate_id(field, v)?;
    Ok(v)
}

/// The directory (relative to the base dir) where new media of `meta` goes.
/// Ids that the layout does not use are still validated when present.
pub(crate) fn layout_dir(org: Organization, meta: &MediaMetadata) -> Result<PathBuf> {
    for (field, v) in [
        ("session_id", &meta.session_id),
        ("conversation_id", &meta.conversation_id),
        ("run_id", &meta.run_id),
    ] {
        if let Some(v) = v {
            validate_id(field, v)?;
        }
    }
    let mut dir = PathBuf::from(MEDIA_DIR);
    match org {
        Organization::BySession => {
            dir.push(required("session_id", meta.session_id.as_deref(), org)?);
            dir.push(required(
                "conversation_id",
                meta.conversation_id.as_deref(),
                org,
            )?);
        }
        Organization::ByConversation => dir.push(required(
            "conversation_id",
            meta.conversation_id.as_deref(),
            org,
        )?),
        Organization::ByRun => dir.push(required("run_id", meta.run_id.as_deref(), org)?),
        // Organization is non_exhaustive: unknown future layouts fall back to flat.
        _ => {}
    }
    Ok(dir)
}

/// A fresh reference id (128 random bits, 32 lowercase hex digits).
pub(crate) fn new_ref_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
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
    let ok = id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok {
        Ok(id)
    } else {
        Err(Error::invalid(
            "reference",
            format!("`{r}` does not hold a valid reference id"),
        ))
    }
}

/// Checks a relative path read from a record: only normal components, under
/// `media/`. Anything else (`..`, absolute, prefixes) is a [`Error::PathEscape`].
pub(crate) fn check_relative(rel: &str) -> Result<PathBuf> {
    let p = PathBuf::from(rel);
    let normal = !rel.contains('\0')
        && p.components().count() >= 2
        && p.components().all(|c| matches!(c, Component::Normal(_)))
        && p.starts_with(MEDIA_DIR);
    if normal {
        Ok(p)
    } else {
        Err(Error::PathEscape { path: p })
    }
}

/// Canonicalizes an existing path and checks it lies inside `base` (which
/// must itself be canonical). Symlinks are followed, so a link leading out of
/// the store is a [`Error::PathEscape`]. A missing path is `NotFound`.
pub(crate) fn resolve_inside(base: &Path, path: &Path, reference: &str) -> Result<PathBuf> {
    match std::fs::canonicalize(path) {
        Ok(c) if c.starts_with(base) => Ok(c),
        Ok(_) => Err(Error::PathEscape {
            path: path.to_path_buf(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::NotFound {
            reference: reference.to_owned(),
        }),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// A `file://` URL for an absolute path, percent-encoding everything but
/// unreserved characters and `/`.
pub(crate) fn file_url(path: &Path) -> String {
    let s = path.to_string_lossy();
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str("file://");
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_not_rewritten() {
        for bad in [
            "", "..", "../x", "a/b", "a\\b", "/abs", "a\0b", ".hidden", "c:", "a b", "é",
        ] {
            assert!(validate_id("session_id", bad).is_err(), "{bad:?} accepted");
        }
        for good in ["s1", "conv-01.v2", "user@example.com", "a+b=c~d_e"] {
            validate_id("session_id", good).unwrap();
        }
        assert!(validate_id("x", &"a".repeat(129)).is_err());
    }

    #[test]
    fn layouts_and_missing_ids() {
        let m = MediaMetadata::new()
            .with_session("s")
            .with_conversation("c")
            .with_run("r");
        assert_eq!(
            layout_dir(Organization::BySession, &m).unwrap(),
            Path::new("media/s/c")
        );
        assert_eq!(
            layout_dir(Organization::ByRun, &m).unwrap(),
            Path::new("media/r")
        );
        let err = layout_dir(Organization::ByRun, &MediaMetadata::new()).unwrap_err();
        assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "run_id"));
        let bad = MediaMetadata::new().with_run("../x");
        assert!(layout_dir(Organization::Flat, &bad).is_err());
    }

    #[test]
    fn references_and_relative_paths() {
        let r = reference_for(&new_ref_id()).unwrap();
        assert!(r.as_str().len() < 100);
        assert!(parse_reference(&r).is_ok());
        for bad in [
            "file:../x",
            "file:ABCDEF",
            "s3:0123",
            "file:0123456789abcdef0123456789abcdeg",
        ] {
            assert!(parse_reference(&bad.parse().unwrap()).is_err(), "{bad}");
        }
        assert!(check_relative("media/a/b.png").is_ok());
        for bad in ["media/../x", "/etc/passwd", "other/x", "media"] {
            assert!(check_relative(bad).is_err(), "{bad}");
        }
        assert_eq!(file_url(Path::new("/a b/c.png")), "file:///a%20b/c.png");
    }
}
