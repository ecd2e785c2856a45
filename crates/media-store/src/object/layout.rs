//! Key layout (see the `object` module docs), reference strings and id checks.

use object_store::path::Path;

use crate::layout::{MEDIA_DIR, META_SUFFIX};
use crate::{Error, MediaMetadata, Organization, Result, StorageReference};

/// Scheme of the references this backend issues: `obj:<hash>/<ref-id>`.
const SCHEME: &str = "obj:";
/// Hex digits of a reference id (64 random bits).
const REF_ID_LEN: usize = 16;
/// Hex digits of a BLAKE3 hash.
const HASH_LEN: usize = 64;

/// A parsed reference: the content hash and the id of one reference marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RefKey {
    pub(crate) hash: String,
    pub(crate) ref_id: String,
}

impl RefKey {
    /// A new reference to `hash` with a fresh random id.
    pub(crate) fn fresh(hash: &str) -> RefKey {
        let id = uuid::Uuid::new_v4().simple().to_string();
        RefKey {
            hash: hash.to_owned(),
            ref_id: id[..REF_ID_LEN].to_owned(),
        }
    }

    /// Parses `obj:<64 hex>/<16 hex>`; anything else is [`Error::InvalidInput`].
    pub(crate) fn parse(reference: &StorageReference) -> Result<RefKey> {
        let bad = |why: &str| {
            Error::invalid(
                "storage_reference",
                format!("`{reference}` is not an object-store media reference: {why}"),
            )
        };
        let rest = reference
            .as_str()
            .strip_prefix(SCHEME)
            .ok_or_else(|| bad("expected the `obj:` scheme"))?;
        let (hash, ref_id) = rest
            .split_once('/')
            .ok_or_else(|| bad("expected `obj:<hash>/<ref-id>`"))?;
        if !is_lower_hex(hash, HASH_LEN) {
            return Err(bad("the hash must be 64 lowercase hex digits"));
        }
        if !is_lower_hex(ref_id, REF_ID_LEN) {
            return Err(bad("the reference id must be 16 lowercase hex digits"));
        }
        Ok(RefKey {
            hash: hash.to_owned(),
            ref_id: ref_id.to_owned(),
        })
    }

    /// The public reference string.
    pub(crate) fn to_reference(&self) -> Result<StorageReference> {
        StorageReference::new(format!("{SCHEME}{}/{}", self.hash, self.ref_id)).map_err(|e| {
            Error::invalid("storage_reference", format!("cannot form a reference: {e}"))
        })
    }
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether `s` is a BLAKE3 hash in the form used in keys.
pub(crate) fn is_hash(s: &str) -> bool {
    is_lower_hex(s, HASH_LEN)
}

/// Key builder for one store root.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    root: Path,
}

impl Layout {
    /// A layout under `prefix` (`None` or empty: the bucket root).
    pub(crate) fn new(prefix: Option<&str>) -> Result<Layout> {
        let root = match prefix.map(|p| p.trim_matches('/')) {
            None | Some("") => Path::default(),
            Some(p) => Path::parse(p)
                .map_err(|e| Error::Config(format!("invalid key prefix `{p}`: {e}")))?,
        };
        Ok(Layout { root })
    }

    /// `<root>/media`
    pub(crate) fn media_root(&self) -> Path {
        self.root.clone().join(MEDIA_DIR)
    }

    /// `<root>/index`
    pub(crate) fn index_root(&self) -> Path {
        self.root.clone().join("index")
    }

    /// Key of the bytes as placed by a store with this organization and metadata.
    /// A missing or malformed id the organization needs is [`Error::InvalidInput`].
    pub(crate) fn content_key(
        &self,
        organization: Organization,
        metadata: &MediaMetadata,
        hash: &str,
        ext: &str,
    ) -> Result<Path> {
        let mut key = self.media_root();
        for dir in crate::layout::media_dirs(organization, metadata)? {
            key = key.join(dir);
        }
        Ok(key.join(format!("{hash}.{ext}")))
    }

    /// `index/<hash>`
    pub(crate) fn index_dir(&self, hash: &str) -> Path {
        self.index_root().join(hash)
    }

    /// `index/<hash>/location`
    pub(crate) fn location_key(&self, hash: &str) -> Path {
        self.index_dir(hash).join("location")
    }

    /// `index/<hash>/refs`
    pub(crate) fn refs_dir(&self, hash: &str) -> Path {
        self.index_dir(hash).join("refs")
    }

    /// `index/<hash>/refs/<ref-id>`
    pub(crate) fn marker_key(&self, r: &RefKey) -> Path {
        self.refs_dir(&r.hash).join(r.ref_id.as_str())
    }

    /// `index/<hash>/trash`
    pub(crate) fn trash_dir(&self, hash: &str) -> Path {
        self.index_dir(hash).join("trash")
    }

    /// Parses a stored location back into a key, refusing anything outside `media/`.
    pub(crate) fn parse_location(&self, hash: &str, text: &str) -> Result<Path> {
        let corrupt = |why: &str| Error::Corrupt {
            reference: hash.to_owned(),
            message: format!("location record `{text}` {why}"),
        };
        let key = Path::parse(text.trim()).map_err(|_| corrupt("is not a valid key"))?;
        if !key.prefix_matches(&self.media_root()) {
            return Err(corrupt("points outside the media area"));
        }
        match key.filename().and_then(|f| f.split_once('.')) {
            Some((h, _)) if h == hash => Ok(key),
            _ => Err(corrupt("does not name the content's hash")),
        }
    }

    /// Classifies a listed key under `media/`.
    pub(crate) fn classify(&self, key: &Path) -> Option<MediaKey> {
        let name = key.filename()?;
        let (hash, rest) = name.split_once('.')?;
        if !is_hash(hash) || !key.prefix_matches(&self.media_root()) {
            return None;
        }
        if rest.ends_with(META_SUFFIX) {
            Some(MediaKey::Sidecar)
        } else if !rest.is_empty() && !rest.contains('.') {
            Some(MediaKey::Content {
                hash: hash.to_owned(),
            })
        } else {
            None
        }
    }

    /// Parses a listed marker key `index/<hash>/refs/<ref-id>`.
    pub(crate) fn parse_marker(&self, key: &Path) -> Option<RefKey> {
        let parts: Vec<_> = key.prefix_match(&self.index_root())?.collect();
        match parts.as_slice() {
            [hash, refs, id] if refs.as_ref() == "refs" && is_hash(hash.as_ref()) => {
                is_lower_hex(id.as_ref(), REF_ID_LEN).then(|| RefKey {
                    hash: hash.as_ref().to_owned(),
                    ref_id: id.as_ref().to_owned(),
                })
            }
            _ => None,
        }
    }
}

/// What a key under `media/` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MediaKey {
    /// Stored bytes of `hash`.
    Content { hash: String },
    /// A `.meta` sidecar.
    Sidecar,
}

/// `<key>.meta`
pub(crate) fn sidecar_key(content: &Path) -> Path {
    Path::from_iter(
        content
            .parts()
            .enumerate()
            .map(|(i, p)| {
                if i + 1 == content.parts_count() {
                    format!("{}{META_SUFFIX}", p.as_ref())
                } else {
                    p.as_ref().to_owned()
                }
            })
            .collect::<Vec<_>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout::new(Some("app/store")).unwrap()
    }

    const H: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn organization_prefixes() {
        let m = MediaMetadata::new()
            .with_session("s1")
            .with_conversation("c1")
            .with_run("r1");
        let l = layout();
        let key = |o| l.content_key(o, &m, H, "png").unwrap().to_string();
        assert_eq!(key(Organization::Flat), format!("app/store/media/{H}.png"));
        assert_eq!(
            key(Organization::BySession),
            format!("app/store/media/s1/c1/{H}.png")
        );
        assert_eq!(
            key(Organization::ByConversation),
            format!("app/store/media/c1/{H}.png")
        );
        assert_eq!(
            key(Organization::ByRun),
            format!("app/store/media/r1/{H}.png")
        );
        let content = l.content_key(Organization::Flat, &m, H, "png").unwrap();
        assert_eq!(
            sidecar_key(&content).to_string(),
            format!("app/store/media/{H}.png.meta")
        );
        assert_eq!(
            l.classify(&content),
            Some(MediaKey::Content { hash: H.into() })
        );
        assert_eq!(l.classify(&sidecar_key(&content)), Some(MediaKey::Sidecar));
    }

    #[test]
    fn missing_or_odd_ids_are_invalid_input() {
        let l = layout();
        let only_conv = MediaMetadata::new().with_conversation("c1");
        match l.content_key(Organization::BySession, &only_conv, H, "png") {
            Err(Error::InvalidInput { field, .. }) => assert_eq!(field, "session_id"),
            other => panic!("{other:?}"),
        }
        for bad in [
            "",
            "..",
            ".hidden",
            "a/b",
            "a\\b",
            "a\0b",
            "ä",
            &"x".repeat(129),
        ] {
            let m = MediaMetadata::new().with_conversation(bad);
            assert!(
                matches!(
                    l.content_key(Organization::ByConversation, &m, H, "png"),
                    Err(Error::InvalidInput { .. })
                ),
                "{bad:?} accepted"
            );
        }
        let ok = MediaMetadata::new().with_conversation("alice@example.com");
        assert!(
            l.content_key(Organization::ByConversation, &ok, H, "png")
                .is_ok()
        );
    }

    #[test]
    fn references_round_trip_and_reject_garbage() {
        let r = RefKey::fresh(H);
        let s = r.to_reference().unwrap();
        assert!(s.as_str().len() < 100);
        assert_eq!(RefKey::parse(&s).unwrap(), r);
        for bad in [
            "obj:",
            "obj:abc/0123456789abcdef",
            &format!("obj:{H}"),
            &format!("obj:{H}/0123456789ABCDEF"),
            &format!("obj:{H}/../0123456789abcdef"),
            &format!("file:{H}/0123456789abcdef"),
        ] {
            let s = StorageReference::new(bad).unwrap();
            assert!(
                matches!(RefKey::parse(&s), Err(Error::InvalidInput { .. })),
                "{bad}"
            );
        }
        let l = layout();
        assert_eq!(l.parse_marker(&l.marker_key(&r)), Some(r));
    }

    #[test]
    fn location_records_cannot_point_elsewhere() {
        let l = layout();
        assert!(
            l.parse_location(H, &format!("app/store/media/s/c/{H}.png"))
                .is_ok()
        );
        assert!(l.parse_location(H, &format!("other/{H}.png")).is_err());
        assert!(l.parse_location(H, "app/store/media/s/c/ffff.png").is_err());
        assert!(l.parse_location(H, "app/store/media/../x").is_err());
        assert!(Layout::new(Some("a/../b")).is_err());
    }
}
