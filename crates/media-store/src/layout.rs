//! One layout for every backend: the id rule and the folders an
//! [`Organization`] puts media in.
//!
//! The local store and the object-store backend both place media at
//! `media/<segments>/<name>`, where `<segments>` come from [`media_dirs`]:
//!
//! | organization | segments |
//! |---|---|
//! | `flat` | none |
//! | `by-session` | `<session_id>/<conversation_id>` |
//! | `by-conversation` | `<conversation_id>` |
//! | `by-run` | `<run_id>` |
//!
//! Ids are checked, never rewritten, so two different ids never share a
//! folder, and one rule holds everywhere (see [`check_id`]).

use crate::{Error, MediaMetadata, Organization, Result};

/// Folder (under the store root or key prefix) holding media and sidecars.
pub(crate) const MEDIA_DIR: &str = "media";
/// Suffix appended to a media file's name for its sidecar.
pub(crate) const META_SUFFIX: &str = ".meta";

/// Longest accepted id, in bytes.
pub(crate) const MAX_ID_LEN: usize = 128;
/// Longest accepted `provider_id` (free text), in bytes: with the ids, a
/// sidecar stays far below what a reader takes in (`SIDECAR_LIMIT`).
pub(crate) const MAX_PROVIDER_ID_LEN: usize = 1024;

/// The content address of bytes: their BLAKE3 hash, lowercase hex (what the
/// index, sidecars and deduplicated names record, on every backend).
pub(crate) fn content_hash(data: &[u8]) -> String {
    blake3::hash(data).to_hex().to_string()
}

/// Checks that an id (session, conversation, run, user) can name one folder
/// on every backend.
///
/// Accepted: 1 to 128 bytes of ASCII letters, digits and `-_.@+=~`, not
/// starting with a dot: e-mail addresses (`alice@example.com`), UUIDs,
/// slugs. Refused, with [`Error::InvalidInput`] naming the field: anything
/// that could leave a folder or differ between file systems (separators,
/// `.`/`..`, NUL and control characters, spaces, non-ASCII, drive letters).
pub(crate) fn check_id(field: &str, id: &str) -> Result<()> {
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

/// The folders (below `media/`) where new media of `meta` goes under
/// `organization`. Every id present in `meta` is checked, used or not (and
/// `provider_id` is at most 1,024 bytes); an id the organization needs and
/// `meta` lacks is [`Error::InvalidInput`].
pub(crate) fn media_dirs(organization: Organization, meta: &MediaMetadata) -> Result<Vec<&str>> {
    for (field, v) in [
        ("session_id", &meta.session_id),
        ("conversation_id", &meta.conversation_id),
        ("run_id", &meta.run_id),
        ("user_id", &meta.user_id),
    ] {
        if let Some(v) = v {
            check_id(field, v)?;
        }
    }
    if let Some(p) = meta
        .provider_id
        .as_deref()
        .filter(|p| p.len() > MAX_PROVIDER_ID_LEN)
    {
        let why = format!("is {} bytes, more than {MAX_PROVIDER_ID_LEN}", p.len());
        return Err(Error::invalid("provider_id", why));
    }
    let need = |field: &str, v: &'_ Option<String>| -> Result<()> {
        match v {
            Some(_) => Ok(()),
            None => Err(Error::invalid(
                field,
                format!("the {organization} organization needs a {field} in the media metadata"),
            )),
        }
    };
    Ok(match organization {
        Organization::Flat => vec![],
        Organization::BySession => {
            need("session_id", &meta.session_id)?;
            need("conversation_id", &meta.conversation_id)?;
            vec![
                meta.session_id.as_deref().unwrap_or_default(),
                meta.conversation_id.as_deref().unwrap_or_default(),
            ]
        }
        Organization::ByConversation => {
            need("conversation_id", &meta.conversation_id)?;
            vec![meta.conversation_id.as_deref().unwrap_or_default()]
        }
        Organization::ByRun => {
            need("run_id", &meta.run_id)?;
            vec![meta.run_id.as_deref().unwrap_or_default()]
        }
    })
}

/// `media/<dirs>`, `/`-separated (the local store's relative folder).
#[cfg(feature = "local")]
pub(crate) fn media_folder(dirs: &[&str]) -> String {
    std::iter::once(MEDIA_DIR)
        .chain(dirs.iter().copied())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_people_use_are_accepted() {
        for id in [
            "alice@example.com",
            "3f2b8c4e-8d1a-4c7e-9b0a-2f6d5e4c3b2a",
            "user_42",
            "a.b+c=d~e",
        ] {
            check_id("session_id", id).unwrap();
        }
    }

    #[test]
    fn ids_that_escape_or_differ_are_refused() {
        for id in [
            "", ".", "..", ".hidden", "a/b", "a\\b", "c:", "a b", "x\0", "é", "\n",
        ] {
            let e = check_id("session_id", id).unwrap_err();
            assert!(e.to_string().contains("session_id"), "{e}");
        }
        check_id("run_id", &"a".repeat(128)).unwrap();
        check_id("run_id", &"a".repeat(129)).unwrap_err();
    }

    #[test]
    fn organizations_map_to_folders() {
        let m = MediaMetadata::new()
            .with_session("alice@example.com")
            .with_conversation("c1")
            .with_run("r1");
        assert!(media_dirs(Organization::Flat, &m).unwrap().is_empty());
        assert_eq!(
            media_dirs(Organization::BySession, &m).unwrap(),
            ["alice@example.com", "c1"]
        );
        assert_eq!(
            media_dirs(Organization::ByConversation, &m).unwrap(),
            ["c1"]
        );
        assert_eq!(media_dirs(Organization::ByRun, &m).unwrap(), ["r1"]);
        let e = media_dirs(Organization::ByRun, &MediaMetadata::new()).unwrap_err();
        assert!(e.to_string().contains("run_id"));
        let bad = MediaMetadata::new().with_user("../x");
        assert!(media_dirs(Organization::Flat, &bad).is_err());
        #[cfg(feature = "local")]
        {
            assert_eq!(media_folder(&["s", "c"]), "media/s/c");
            assert_eq!(media_folder(&[]), "media");
        }
    }
}
