//! Bad input to the local media store: hostile ids, lying MIME types,
//! broken base64, hostile references and corrupted record files. Each is a
//! typed error (or a success that stays inside the store), never a panic,
//! and a refused store writes nothing.
//!
//! `cargo xtask fuzz SECS` runs these (by their `fuzz_` prefix) for SECS
//! seconds each; by default a small number of cases runs with `cargo test`.

mod common;

use std::path::{Path, PathBuf};

use bytes::Bytes;
use common::{broken_base64, fuzz, hostile_id, magic_payload, mime_type};
use promptkit_bench::files::files_under;
use promptkit_core::{MediaContent, StorageReference, decode_base64};
use promptkit_media_store::{
    Error, FileStore, GcOptions, MediaLifecycle, MediaLifecycleExt, MediaMetadata, MediaStore,
    MediaStoreExt, Organization,
};
use proptest::prelude::*;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn store_in(dir: &Path, org: Organization) -> FileStore {
    FileStore::builder()
        .with_base_dir(dir)
        .with_organization(org)
        .with_max_file_size(64 * 1024)
        .build()
        .unwrap()
}

fn organization() -> impl Strategy<Value = Organization> {
    prop_oneof![
        Just(Organization::Flat),
        Just(Organization::BySession),
        Just(Organization::ByConversation),
        Just(Organization::ByRun),
    ]
}

#[test]
fn fuzz_hostile_ids_never_escape_the_store() {
    let rt = rt();
    fuzz(
        64,
        (organization(), hostile_id(), hostile_id(), hostile_id()),
        |(org, session, conversation, run)| {
            let outer = tempfile::tempdir().unwrap();
            let base = outer.path().join("store");
            let store = store_in(&base, org);
            let meta = MediaMetadata::new()
                .with_session(session.clone())
                .with_conversation(conversation.clone())
                .with_run(run.clone());
            let data = Bytes::from_static(b"\x89PNG\r\n\x1a\nhostile-id-test");
            let result = rt.block_on(store.store_bytes("image/png", data.clone(), &meta));
            // Nothing is ever written beside the store.
            let outside: Vec<_> = files_under(outer.path())
                .into_iter()
                .filter(|p| !p.starts_with(&base))
                .collect();
            prop_assert!(outside.is_empty(), "{outside:?}");
            match result {
                Ok(r) => {
                    let path = rt.block_on(store.path_of(&r)).unwrap();
                    prop_assert!(path.starts_with(store.base_dir()));
                    prop_assert_eq!(rt.block_on(store.retrieve_bytes(&r)).unwrap(), data);
                }
                Err(Error::InvalidInput { .. }) => {
                    prop_assert!(
                        files_under(&base.join("media")).is_empty(),
                        "a refused store wrote files"
                    );
                }
                Err(e) => prop_assert!(false, "unexpected error kind: {e:?}"),
            }
            Ok(())
        },
    );
}

#[test]
fn fuzz_lying_mime_types_are_refused_and_write_nothing() {
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path(), Organization::Flat);
    let meta = MediaMetadata::new();
    fuzz(128, (mime_type(), magic_payload()), |(mime, data)| {
        let before = files_under(dir.path());
        let sniffed = promptkit_core::sniff_mime(&data);
        let result =
            rt.block_on(store.store(&MediaContent::from_bytes(mime.clone(), data.clone()), &meta));
        let accepted = result.is_ok();
        match result {
            Ok(r) => {
                prop_assert!(!data.is_empty());
                let back = rt.block_on(store.retrieve(&r)).unwrap();
                prop_assert_eq!(back.data.as_deref(), Some(&data[..]));
                rt.block_on(store.delete(&r)).unwrap();
            }
            Err(Error::InvalidInput { .. }) => {
                prop_assert_eq!(
                    files_under(dir.path()),
                    before,
                    "a refused store wrote files"
                );
            }
            Err(e) => prop_assert!(false, "unexpected error kind: {e:?}"),
        }
        // A declared image type contradicting a recognised image magic
        // number is refused (audio/video containers have tolerated aliases).
        if let (Some(s), true) = (sniffed, accepted) {
            let declared = mime
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if s.starts_with("image/") || s == "application/pdf" {
                let top = |m: &str| m.split('/').next().unwrap_or("").to_owned();
                prop_assert!(
                    declared == "application/octet-stream" || top(&declared) == top(s),
                    "accepted {mime:?} for {s} bytes"
                );
            }
        }
        Ok(())
    });
}

#[test]
fn fuzz_broken_base64_is_a_typed_error() {
    fuzz(256, broken_base64(), |s| {
        let plain = decode_base64(&s);
        let media = MediaContent::from_base64("image/png", &s);
        prop_assert_eq!(plain.is_ok(), media.is_ok());
        if let Err(e) = media {
            prop_assert!(
                matches!(e, promptkit_core::Error::InvalidInput { .. }),
                "{e:?}"
            );
        }
        Ok(())
    });
    // A valid encoding with one character replaced by one outside both the
    // standard and the URL-safe alphabet.
    fuzz(
        128,
        (
            proptest::collection::vec(any::<u8>(), 1..256),
            any::<prop::sample::Index>(),
            "[!#$%&'()*,.:;<>?@^`{|}~\\[\\]\"]",
        ),
        |(bytes, at, bad)| {
            let mut s = promptkit_core::encode_base64(&bytes);
            let i = at.index(s.len());
            s.replace_range(i..=i, &bad);
            prop_assert!(decode_base64(&s).is_err(), "{s:?} decoded");
            Ok(())
        },
    );
}

#[test]
fn fuzz_hostile_references_are_typed_errors() {
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path(), Organization::BySession);
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, b"not media").unwrap();
    let refs = prop_oneof![
        any::<String>(),
        "file:[a-zA-Z0-9./\\\\-]{0,64}",
        Just("file:../secret.txt".to_string()),
        Just("file:../../etc/passwd".to_string()),
        Just(format!("file:{}", "a".repeat(10_000))),
        Just("file:00000000-0000-0000-0000-000000000000".to_string()),
        Just("s3://bucket/key".to_string()),
    ];
    fuzz(128, refs, |s| {
        let Ok(r) = s.parse::<StorageReference>() else {
            return Ok(());
        };
        for result in [
            rt.block_on(store.retrieve(&r)).map(|_| ()),
            rt.block_on(store.delete(&r)),
            rt.block_on(store.url(&r, std::time::Duration::from_secs(1)))
                .map(|_| ()),
        ] {
            match result {
                Err(
                    Error::NotFound { .. } | Error::InvalidInput { .. } | Error::PathEscape { .. },
                ) => {}
                other => prop_assert!(false, "{s:?}: {other:?}"),
            }
        }
        prop_assert!(secret.exists());
        Ok(())
    });
}

/// Records overwritten with garbage (invalid UTF-8, wrong JSON, paths
/// leading out) — the index database, a sidecar or the media: opening or
/// reading gives typed errors, gc and verify report, nothing panics and
/// nothing outside the store is touched. `ID` in the garbage is replaced
/// with the stored reference's id.
#[test]
fn fuzz_corrupted_records_are_typed_errors() {
    let rt = rt();
    let garbage = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        Just(b"\xff\xfe\xfd not utf-8".to_vec()),
        Just(br#"{"op":"add","v":1,"id":"ID","path":"../../outside.png","blake3":"00","mime_type":"image/png","size_bytes":3}"#.to_vec()),
        Just(br#"{"op":"add","v":1,"id":"ID","path":"/etc/passwd","blake3":"00","mime_type":"image/png","size_bytes":3}"#.to_vec()),
        Just(br#"{"op":"add","v":1,"id":"ID","path":"media/../../outside.png","blake3":"00","mime_type":"image/png","size_bytes":3,"dedup":true}"#.to_vec()),
        Just(br#"{"op":"remove","v":"one","id":"ID"}"#.to_vec()),
        Just(br#"{"version":"one"}"#.to_vec()),
        Just(b"[]".to_vec()),
    ];
    fuzz(48, (garbage, 0usize..3), |(bytes, which)| {
        let outer = tempfile::tempdir().unwrap();
        let base = outer.path().join("store");
        let outside = outer.path().join("outside.png");
        std::fs::write(&outside, b"\x89PNG\r\n\x1a\nkeep me").unwrap();
        let store = store_in(&base, Organization::Flat);
        let data = Bytes::from_static(b"\x89PNG\r\n\x1a\ncorruption-test");
        let r = rt
            .block_on(store.store_bytes("image/png", data.clone(), &MediaMetadata::new()))
            .unwrap();
        let id = r.as_str().trim_start_matches("file:").to_owned();
        let media = rt.block_on(store.path_of(&r)).unwrap();
        drop(store);
        let (target, bytes) = match which {
            0 => {
                let garbage = String::from_utf8_lossy(&bytes)
                    .replace("ID", &id)
                    .into_bytes();
                for side in ["-wal", "-shm"] {
                    let _ =
                        std::fs::remove_file(base.join(format!(".promptkit/index.sqlite3{side}")));
                }
                (base.join(".promptkit/index.sqlite3"), garbage)
            }
            1 => (PathBuf::from(format!("{}.meta", media.display())), bytes),
            _ => (media.clone(), bytes),
        };
        std::fs::write(&target, &bytes).unwrap();
        let fresh = match FileStore::builder().with_base_dir(&base).build() {
            Ok(s) => s,
            Err(Error::Corrupt { .. } | Error::Backend { .. } | Error::Config(_)) => {
                prop_assert_eq!(
                    std::fs::read(&outside).unwrap(),
                    b"\x89PNG\r\n\x1a\nkeep me".to_vec()
                );
                return Ok(());
            }
            Err(e) => return Err(TestCaseError::fail(format!("unexpected error kind: {e:?}"))),
        };
        match rt.block_on(fresh.retrieve(&r)) {
            Ok(m) => prop_assert_eq!(m.data, Some(data.clone()), "wrong bytes returned"),
            Err(
                Error::NotFound { .. }
                | Error::Corrupt { .. }
                | Error::InvalidInput { .. }
                | Error::PathEscape { .. }
                | Error::Io { .. },
            ) => {}
            Err(e) => prop_assert!(false, "unexpected error kind: {e:?}"),
        }
        let _ = rt.block_on(fresh.verify());
        let _ = rt.block_on(fresh.gc(GcOptions::new(true)));
        let _ = rt.block_on(fresh.stats());
        let _ = rt.block_on(fresh.delete(&r));
        let _ = rt.block_on(fresh.gc(GcOptions::new(false)));
        prop_assert_eq!(
            std::fs::read(&outside).unwrap(),
            b"\x89PNG\r\n\x1a\nkeep me".to_vec()
        );
        Ok(())
    });
}
