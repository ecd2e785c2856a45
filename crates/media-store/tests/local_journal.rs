//! The reference journal (`.promptkit/journal`) of the local store: replay
//! of what another store (standing for another process) appended, torn and
//! garbage lines, compaction seen by a reader that opened before it, and
//! the import of stores written in the legacy one-file-per-record format.

#[path = "support/v1.rs"]
mod v1;

use std::path::{Path, PathBuf};

use bytes::Bytes;
use promptkit_media_store::conformance::random_bytes;
use promptkit_media_store::local::GcOptions;
use promptkit_media_store::{
    Error, FileStore, MediaMetadata, MediaStore, MediaStoreExt, Organization, StorageReference,
};

fn open(dir: &Path) -> FileStore {
    FileStore::builder()
        .with_base_dir(dir)
        .with_organization(Organization::ByConversation)
        .with_fsync(false)
        .build()
        .unwrap()
}

fn journal(dir: &Path) -> PathBuf {
    dir.join(".promptkit/journal")
}

fn lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(journal(dir))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn meta(conv: &str) -> MediaMetadata {
    MediaMetadata::new().with_conversation(conv)
}

fn png(seed: &[u8], len: usize) -> Bytes {
    let mut v = random_bytes(seed, len).to_vec();
    v[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
    v.into()
}

fn id_of(r: &StorageReference) -> &str {
    r.as_str().strip_prefix("file:").unwrap()
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

#[tokio::test]
async fn two_stores_on_one_directory_see_each_others_appends() {
    two_stores_on_one_directory().await;
}

/// The same on the multi-thread runtime, where stores prepare in place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_directory_multi_thread() {
    two_stores_on_one_directory().await;
}

async fn two_stores_on_one_directory() {
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path());
    let b = open(dir.path());
    let data = png(b"one", 4000);
    let ra = a
        .store_bytes("image/png", data.clone(), &meta("c"))
        .await
        .unwrap();
    // b never saw the store: it replays a's journal line.
    assert_eq!(b.retrieve_bytes(&ra).await.unwrap(), data);
    // Deduplication across the two: b's store of the same bytes attaches to
    // a's file.
    let rb = b
        .store_bytes("image/png", data.clone(), &meta("d"))
        .await
        .unwrap();
    assert_eq!(a.path_of(&rb).await.unwrap(), a.path_of(&ra).await.unwrap());
    let s = a.stats().await.unwrap();
    assert_eq!((s.objects, s.references), (1, 2));
    let listed = a.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].ref_count(), 2);
    // A delete by b is seen by a, and the last delete (by a) removes the file.
    b.delete(&ra).await.unwrap();
    assert!(matches!(a.retrieve(&ra).await, Err(Error::NotFound { .. })));
    assert!(matches!(a.delete(&ra).await, Err(Error::NotFound { .. })));
    let file = a.path_of(&rb).await.unwrap();
    a.delete(&rb).await.unwrap();
    assert!(!file.exists());
    assert_eq!(b.stats().await.unwrap().references, 0);
    assert!(matches!(b.retrieve(&rb).await, Err(Error::NotFound { .. })));
    // One line per store and per delete.
    assert_eq!(lines(dir.path()).len(), 4);
}

#[tokio::test]
async fn a_torn_last_line_is_ignored_and_cut_off_by_the_next_writer() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let r1 = store
        .store_bytes("image/png", png(b"a", 100), &meta("c"))
        .await
        .unwrap();
    // A writer killed in the middle of its append.
    let torn = r#"{"op":"add","v":1,"id":"0123456789abcdef0123456789abcdef","path":"med"#;
    append(&journal(dir.path()), torn);
    let reader = open(dir.path());
    assert!(reader.retrieve(&r1).await.is_ok());
    assert_eq!(reader.stats().await.unwrap().references, 1);
    let ghost: StorageReference = "file:0123456789abcdef0123456789abcdef".parse().unwrap();
    assert!(matches!(
        reader.retrieve(&ghost).await,
        Err(Error::NotFound { .. })
    ));
    // The next append (from either store) replaces the torn tail.
    let r2 = reader
        .store_bytes("image/png", png(b"b", 100), &meta("c"))
        .await
        .unwrap();
    let text = std::fs::read_to_string(journal(dir.path())).unwrap();
    assert!(text.ends_with('\n') && !text.contains(torn), "{text}");
    assert_eq!(lines(dir.path()).len(), 2);
    for s in [&store, &reader, &open(dir.path())] {
        assert!(s.retrieve(&r1).await.is_ok());
        assert!(s.retrieve(&r2).await.is_ok());
    }
}

#[tokio::test]
async fn a_garbage_line_is_corrupt_with_its_line_number_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let r1 = store
        .store_bytes("image/png", png(b"a", 100), &meta("c"))
        .await
        .unwrap();
    let media = store.path_of(&r1).await.unwrap();
    let good = std::fs::read_to_string(journal(dir.path())).unwrap();
    std::fs::write(journal(dir.path()), format!("{good}not a record\n{good}")).unwrap();
    let fresh = open(dir.path());
    for s in [&store, &fresh] {
        let errors = [
            s.retrieve(&r1).await.map(drop),
            s.delete(&r1).await,
            s.stats().await.map(drop),
            s.gc(GcOptions::new(false)).await.map(drop),
            s.store_bytes("image/png", png(b"b", 100), &meta("c"))
                .await
                .map(drop),
        ];
        for e in errors {
            match e {
                Err(Error::Corrupt { reference, message }) => {
                    assert!(reference.ends_with(".promptkit/journal"), "{reference}");
                    assert!(message.contains("line 2"), "{message}");
                }
                other => panic!("expected Corrupt, got {other:?}"),
            }
        }
    }
    assert!(
        media.exists(),
        "gc must not act on a journal it cannot read"
    );
    // Repaired by hand (the error says which line): everything works again.
    std::fs::write(journal(dir.path()), &good).unwrap();
    assert!(fresh.retrieve(&r1).await.is_ok());
    assert!(store.gc(GcOptions::new(false)).await.unwrap().is_clean());
}

#[tokio::test]
async fn compaction_is_followed_by_readers_that_opened_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open(dir.path());
    let reader = open(dir.path());
    let keep = writer
        .store_bytes("image/png", png(b"keep", 300), &meta("c"))
        .await
        .unwrap();
    assert!(reader.retrieve(&keep).await.is_ok(), "reader replayed");
    let inode = std::fs::metadata(journal(dir.path())).unwrap();
    // 513 stores and deletes of shared bytes: more than 1024 lines, most of
    // them dead, so a delete compacts the journal.
    let shared = png(b"shared", 500);
    let mut gone = Vec::new();
    for _ in 0..513 {
        gone.push(
            writer
                .store_bytes("image/png", shared.clone(), &meta("d"))
                .await
                .unwrap(),
        );
    }
    for r in &gone {
        writer.delete(r).await.unwrap();
    }
    let after = std::fs::metadata(journal(dir.path())).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        assert_ne!(inode.ino(), after.ino(), "compaction writes a new file");
    }
    let live = lines(dir.path());
    assert!(live.len() < 10, "{} lines after compaction", live.len());
    assert!(live.iter().any(|l| l.contains(id_of(&keep))));
    assert!(inode.len() < 1000 && after.len() < 2000);
    // The reader notices the new journal and replays it.
    assert!(reader.retrieve(&keep).await.is_ok());
    assert!(matches!(
        reader.retrieve(&gone[0]).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(reader.stats().await.unwrap().references, 1);
    let r = reader
        .store_bytes("image/png", png(b"new", 300), &meta("c"))
        .await
        .unwrap();
    assert!(writer.retrieve(&r).await.is_ok());
    // gc compacts too, and drops records whose media is gone.
    let dangling = writer
        .store_bytes("image/png", png(b"lost", 300), &meta("c"))
        .await
        .unwrap();
    let lost = writer.path_of(&dangling).await.unwrap();
    std::fs::remove_file(&lost).unwrap();
    std::fs::remove_file(format!("{}.meta", lost.display())).unwrap();
    let report = writer.gc(GcOptions::new(false)).await.unwrap();
    assert_eq!(
        report.dangling_references,
        vec![id_of(&dangling).to_owned()]
    );
    assert_eq!(lines(dir.path()).len(), 2);
    assert!(matches!(
        reader.retrieve(&dangling).await,
        Err(Error::NotFound { .. })
    ));
    assert!(reader.retrieve(&keep).await.is_ok() && reader.retrieve(&r).await.is_ok());
    assert!(reader.gc(GcOptions::new(true)).await.unwrap().is_clean());
}

/// Lays out `dir` as the legacy format did: the media and sidecars as they
/// are, `.promptkit/refs/<id>.json`, `.promptkit/objects/<hash>.json` and
/// `.promptkit/generation`, and no journal.
fn to_legacy_layout(dir: &Path, refs: &[(StorageReference, PathBuf, Bytes)]) {
    let state = dir.join(".promptkit");
    std::fs::remove_file(state.join("journal")).unwrap();
    write_legacy_records(dir, refs);
}

fn write_legacy_records(dir: &Path, refs: &[(StorageReference, PathBuf, Bytes)]) {
    let state = dir.join(".promptkit");
    std::fs::create_dir_all(state.join("refs")).unwrap();
    std::fs::create_dir_all(state.join("objects")).unwrap();
    for (r, media, data) in refs {
        let rel = media
            .strip_prefix(dir.canonicalize().unwrap())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let hash = blake3::hash(data).to_hex().to_string();
        let record = serde_json::json!({
            "version": 1,
            "path": rel,
            "blake3": hash,
            "mime_type": "image/png",
            "size_bytes": data.len(),
        });
        std::fs::write(
            state.join(format!("refs/{}.json", id_of(r))),
            serde_json::to_vec_pretty(&record).unwrap(),
        )
        .unwrap();
        let object = serde_json::json!({"version": 1, "path": rel});
        std::fs::write(
            state.join(format!("objects/{hash}.json")),
            serde_json::to_vec_pretty(&object).unwrap(),
        )
        .unwrap();
    }
    std::fs::write(state.join("refs/garbage.json"), b"{not json").unwrap();
    std::fs::write(state.join("generation"), b"7").unwrap();
}

#[tokio::test]
async fn legacy_stores_are_imported_into_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let (shared, lone) = (png(b"shared", 2000), png(b"lone", 900));
    let mut refs = Vec::new();
    {
        let store = open(dir.path());
        for (data, conv) in [(&shared, "a"), (&shared, "b"), (&lone, "a")] {
            let r = store
                .store_bytes("image/png", data.clone(), &meta(conv))
                .await
                .unwrap();
            let path = store.path_of(&r).await.unwrap();
            refs.push((r, path, data.clone()));
        }
        // The sidecars of that format listed every reference with its owner.
        v1::downgrade_sidecars(&store.list().await.unwrap());
    }
    to_legacy_layout(dir.path(), &refs);

    let store = open(dir.path());
    let state = dir.path().join(".promptkit");
    for old in ["refs", "objects", "generation"] {
        assert!(!state.join(old).exists(), "{old} is still there");
    }
    assert_eq!(lines(dir.path()).len(), 3, "one journal line per record");
    for (r, path, data) in &refs {
        assert_eq!(&store.retrieve_bytes(r).await.unwrap(), data);
        assert_eq!(&store.path_of(r).await.unwrap(), path);
    }
    let s = store.stats().await.unwrap();
    assert_eq!((s.objects, s.references), (2, 3));
    // Each reference keeps the owner its sidecar listed.
    assert_eq!(s.by_conversation["a"].references, 2);
    assert_eq!(s.by_conversation["b"].references, 1);
    let listed = store.list().await.unwrap();
    let shared_file = listed.iter().find(|o| o.path == refs[0].1).unwrap();
    let conv_of = |r: &StorageReference| {
        let id = r.as_str().strip_prefix("file:").unwrap();
        let l = shared_file.live_references.iter().find(|l| l.id == id);
        l.and_then(|l| l.owner.conversation_id.clone())
    };
    assert_eq!(conv_of(&refs[0].0).as_deref(), Some("a"));
    assert_eq!(conv_of(&refs[1].0).as_deref(), Some("b"));
    // The dedup map came along: the same bytes again attach to the old file.
    let again = store
        .store_bytes("image/png", shared.clone(), &meta("c"))
        .await
        .unwrap();
    assert_eq!(store.path_of(&again).await.unwrap(), refs[0].1);
    let listed = store.list().await.unwrap();
    let file = listed.iter().find(|o| o.path == refs[0].1).unwrap();
    assert_eq!(file.ref_count(), 3);
    // Reference counts work on the imported records.
    store.delete(&refs[0].0).await.unwrap();
    store.delete(&refs[1].0).await.unwrap();
    assert!(refs[0].1.exists());
    store.delete(&again).await.unwrap();
    assert!(!refs[0].1.exists());
    assert!(store.gc(GcOptions::new(true)).await.unwrap().is_clean());
    assert!(store.verify().await.unwrap().is_ok());
    // Opening again imports nothing twice.
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.stats().await.unwrap().references, 1);
    assert!(store.retrieve(&refs[2].0).await.is_ok());
}

#[tokio::test]
async fn an_import_interrupted_before_the_old_files_went_is_not_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let mut refs = Vec::new();
    {
        let store = open(dir.path());
        for seed in [&b"x"[..], b"y"] {
            let data = png(seed, 700);
            let r = store
                .store_bytes("image/png", data.clone(), &meta("a"))
                .await
                .unwrap();
            let path = store.path_of(&r).await.unwrap();
            refs.push((r, path, data));
        }
    }
    // The journal already holds the records (the import appended them) but
    // the old files are still there (the crash came before their removal).
    write_legacy_records(dir.path(), &refs);
    let before = lines(dir.path());
    let store = open(dir.path());
    assert_eq!(lines(dir.path()), before, "nothing appended twice");
    assert!(!dir.path().join(".promptkit/refs").exists());
    let s = store.stats().await.unwrap();
    assert_eq!((s.objects, s.references), (2, 2));
    for (r, _, data) in &refs {
        assert_eq!(&store.retrieve_bytes(r).await.unwrap(), data);
    }
}
