//! The local store under hostile or damaged layouts: symlinks leading out,
//! lost sidecars, named pipes, huge files, read-only use, concurrent deletes
//! during `verify`, a damaged index. Nothing outside the store is ever
//! touched.
#![cfg(all(feature = "local", unix))]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use promptkit_media_store::conformance::random_bytes;
use promptkit_media_store::{
    Error, FileStore, GcOptions, MediaLifecycle, MediaLifecycleExt, MediaMetadata, MediaStore,
    MediaStoreExt, Organization, StorageReference,
};

#[path = "support/files.rs"]
mod files;
#[path = "support/store.rs"]
mod store;

use files::files_under;
use promptkit_testkit::pipes;
use store::open_organized as open;

fn meta(session: &str, conversation: &str) -> MediaMetadata {
    MediaMetadata::new()
        .with_session(session)
        .with_conversation(conversation)
}

/// Every file under `dir` with its size and modification time (but the
/// database's `-wal` and `-shm` files, which SQLite readers create where
/// the folder allows it; on a read-only mount the store reads the database
/// as an immutable file instead).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, std::time::SystemTime)> {
    files_under(dir)
        .into_iter()
        .filter(|p| {
            !p.to_string_lossy().ends_with("-wal") && !p.to_string_lossy().ends_with("-shm")
        })
        .map(|p| {
            let m = std::fs::symlink_metadata(&p).unwrap();
            (p, (m.len(), m.modified().unwrap()))
        })
        .collect()
}

/// Waits until this process holds no file of `dir` open. A store's last
/// handle may be let go by its blocking thread just after the store
/// returned; closing the database then checkpoints its WAL (as it does
/// when a process ends).
fn wait_closed(dir: &Path) {
    let open_fds = || {
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .filter(|t| t.starts_with(dir))
            .count()
    };
    for _ in 0..500 {
        if open_fds() == 0 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("{} is still open", dir.display());
}

/// An outside folder with a few files that must survive.
fn victims() -> (
    tempfile::TempDir,
    BTreeMap<PathBuf, (u64, std::time::SystemTime)>,
) {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("stray.bin"), b"no sidecar").unwrap();
    std::fs::create_dir_all(outside.path().join("deep")).unwrap();
    std::fs::write(outside.path().join("deep/x.png.meta"), b"{}").unwrap();
    let before = snapshot(outside.path());
    (outside, before)
}

#[tokio::test]
async fn a_symlinked_media_folder_is_refused_and_nothing_outside_is_touched() {
    let (outside, before) = victims();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".promptkit")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("media")).unwrap();
    for read_only in [false, true] {
        let err = FileStore::builder()
            .with_base_dir(dir.path())
            .with_read_only(read_only)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::PathEscape { .. }), "{err}");
    }
    assert_eq!(snapshot(outside.path()), before);
}

#[tokio::test]
async fn a_symlinked_state_folder_is_refused() {
    let (outside, before) = victims();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("media")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join(".promptkit")).unwrap();
    let err = FileStore::builder()
        .with_base_dir(dir.path())
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::PathEscape { .. }), "{err}");
    assert_eq!(snapshot(outside.path()), before, "no index created outside");
}

#[tokio::test]
async fn gc_and_verify_never_enter_a_symlinked_session_folder() {
    let (outside, before) = victims();
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), Organization::BySession);
    let r = store
        .store_bytes("text/plain", random_bytes(b"ok:", 50), &meta("s1", "c1"))
        .await
        .unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("media/evil")).unwrap();
    // A store into the symlinked session is refused before anything is
    // created outside.
    let err = store
        .store_bytes("text/plain", random_bytes(b"x:", 50), &meta("evil", "c"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PathEscape { .. }), "{err}");
    let report = store.gc(GcOptions::new(false)).await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert!(store.verify().await.unwrap().is_ok());
    assert_eq!(snapshot(outside.path()), before);
    assert!(store.exists(&r).await.unwrap());
}

#[tokio::test]
async fn a_lost_sidecar_hides_nothing_and_gc_rewrites_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), Organization::Flat);
    let data = random_bytes(b"\x89PNG\r\n\x1a\n", 3000);
    let a = store
        .store_bytes("image/png", data.clone(), &meta("s", "c"))
        .await
        .unwrap();
    let b = store
        .store_bytes("image/png", data.clone(), &meta("s", "d"))
        .await
        .unwrap();
    let media = store.path_of(&a).await.unwrap();
    let sidecar = PathBuf::from(format!("{}.meta", media.display()));
    let original = std::fs::read(&sidecar).unwrap();
    std::fs::remove_file(&sidecar).unwrap();

    let verify = store.verify().await.unwrap();
    assert!(!verify.is_ok());
    let rel = sidecar
        .strip_prefix(store.base_dir())
        .unwrap()
        .to_path_buf();
    assert_eq!(verify.missing_sidecars, vec![rel.clone()]);
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.objects, stats.references), (1, 2));
    assert_eq!(store.list().await.unwrap().len(), 2);

    let report = store.gc(GcOptions::new(false)).await.unwrap();
    assert_eq!(report.rewritten_sidecars, vec![rel]);
    assert!(report.orphan_media.is_empty() && report.dangling_references.is_empty());
    assert_eq!(std::fs::read(&sidecar).unwrap(), original);
    assert_eq!(store.retrieve_bytes(&b).await.unwrap(), data);
    assert!(store.verify().await.unwrap().is_ok());

    // A garbled one too.
    std::fs::write(&sidecar, b"{not json").unwrap();
    assert_eq!(store.verify().await.unwrap().unreadable_sidecars.len(), 1);
    assert_eq!(
        store
            .gc(GcOptions::new(false))
            .await
            .unwrap()
            .rewritten_sidecars
            .len(),
        1
    );
    assert!(store.verify().await.unwrap().is_ok());
}

#[tokio::test]
async fn read_only_use_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open(dir.path(), Organization::BySession);
    let r = writer
        .store_bytes("text/plain", random_bytes(b"ro:", 100), &meta("s", "c"))
        .await
        .unwrap();
    std::fs::write(dir.path().join("media/stray.bin"), b"orphan").unwrap();
    drop(writer);
    wait_closed(dir.path());
    let before = snapshot(dir.path());
    let reader = FileStore::builder()
        .with_base_dir(dir.path())
        .with_read_only(true)
        .build()
        .unwrap();
    assert_eq!(reader.stats().await.unwrap().references, 1);
    assert_eq!(reader.list().await.unwrap().len(), 1);
    assert!(reader.verify().await.unwrap().is_ok());
    let dry = reader.gc(GcOptions::new(true)).await.unwrap();
    assert_eq!(dry.orphan_media, vec![PathBuf::from("media/stray.bin")]);
    assert!(reader.retrieve(&r).await.is_ok());
    for refused in [
        reader.gc(GcOptions::new(false)).await.map(drop),
        reader.delete(&r).await,
        reader
            .store_bytes("text/plain", random_bytes(b"no:", 10), &meta("s", "c"))
            .await
            .map(drop),
    ] {
        assert!(
            matches!(refused, Err(Error::NotSupported { .. })),
            "{refused:?}"
        );
    }
    drop(reader);
    wait_closed(dir.path());
    assert_eq!(
        snapshot(dir.path()),
        before,
        "a read-only store wrote something"
    );
    // A folder that holds no store is not one, and is left as it was.
    let empty = tempfile::tempdir().unwrap();
    let err = FileStore::builder()
        .with_base_dir(empty.path())
        .with_read_only(true)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert!(files_under(empty.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_does_not_report_media_deleted_while_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path(), Organization::Flat));
    let mut refs = Vec::new();
    for i in 0..300 {
        refs.push(
            store
                .store_bytes("text/plain", random_bytes(b"v:", 2000 + i), &meta("s", "c"))
                .await
                .unwrap(),
        );
    }
    let deleter = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            for r in refs {
                store.delete(&r).await.unwrap();
            }
        })
    };
    let mut runs = 0;
    while !deleter.is_finished() || runs == 0 {
        let report = store.verify().await.unwrap();
        assert!(report.missing.is_empty(), "{report:?}");
        assert!(report.missing_sidecars.is_empty(), "{report:?}");
        runs += 1;
    }
    deleter.await.unwrap();
}

#[tokio::test]
async fn a_damaged_index_is_a_corrupt_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), Organization::Flat);
    store
        .store_bytes("text/plain", random_bytes(b"i:", 10), &meta("s", "c"))
        .await
        .unwrap();
    drop(store);
    let db = dir.path().join(".promptkit/index.sqlite3");
    wait_closed(dir.path());
    for side in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{side}", db.display()));
    }
    std::fs::write(&db, vec![0x5a; 8192]).unwrap();
    let err = FileStore::builder()
        .with_base_dir(dir.path())
        .with_read_only(true)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
}

#[tokio::test]
async fn a_dedup_hit_writes_nothing_but_its_reference() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), Organization::BySession);
    let data = random_bytes(b"\x89PNG\r\n\x1a\n", 50_000);
    store
        .store_bytes("image/png", data.clone(), &meta("s1", "c1"))
        .await
        .unwrap();
    // A second handle (a fresh process) storing the same bytes for another
    // session: the index knows them, so not even that session's folder is
    // created (no temp bytes are written before the lookup).
    let fresh = open(dir.path(), Organization::BySession);
    let r = fresh
        .store_bytes("image/png", data.clone(), &meta("s2", "c2"))
        .await
        .unwrap();
    assert!(!dir.path().join("media/s2").exists());
    assert_eq!(fresh.retrieve_bytes(&r).await.unwrap(), data);
    // If the shared file was lost, a store of the same bytes puts it back.
    let path = fresh.path_of(&r).await.unwrap();
    std::fs::remove_file(&path).unwrap();
    let again = fresh
        .store_bytes("image/png", data.clone(), &meta("s2", "c2"))
        .await
        .unwrap();
    assert_eq!(fresh.retrieve_bytes(&again).await.unwrap(), data);
    assert_eq!(fresh.retrieve_bytes(&r).await.unwrap(), data);
}

/// A symlink planted where a sidecar goes (pointing at another file of the
/// store) is replaced by the sidecar, never written through: by a store and
/// by `gc` rewriting a lost sidecar.
#[tokio::test]
async fn a_symlink_where_a_sidecar_goes_is_replaced_not_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), Organization::Flat);
    let kept = random_bytes(b"\x89PNG\r\n\x1a\n", 3000);
    let a = store
        .store_bytes("image/png", kept.clone(), &meta("s", "c"))
        .await
        .unwrap();
    let a_path = store.path_of(&a).await.unwrap();
    let folder = a_path.parent().unwrap().to_path_buf();
    let victim = a_path.file_name().unwrap().to_owned();

    // The sidecar of bytes not stored yet (deduplicated names come from the hash).
    let data = random_bytes(b"\x89PNG\r\n\x1a\n", 4000);
    let name = format!("{}.png", &blake3::hash(&data).to_hex()[..32]);
    let planted = folder.join(format!("{name}.meta"));
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let b = store
        .store_bytes("image/png", data.clone(), &meta("s", "c"))
        .await
        .unwrap();
    assert_eq!(store.path_of(&b).await.unwrap(), folder.join(&name));
    assert!(!std::fs::symlink_metadata(&planted).unwrap().is_symlink());
    assert_eq!(std::fs::read(&a_path).unwrap(), kept);

    // gc rewriting a lost sidecar replaces a symlink standing in for it.
    std::fs::remove_file(&planted).unwrap();
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let report = store.gc(GcOptions::new(false)).await.unwrap();
    assert_eq!(report.rewritten_sidecars.len(), 1, "{report:?}");
    assert!(!std::fs::symlink_metadata(&planted).unwrap().is_symlink());
    assert_eq!(std::fs::read(&a_path).unwrap(), kept);
    assert_eq!(store.retrieve_bytes(&a).await.unwrap(), kept);
    assert_eq!(store.retrieve_bytes(&b).await.unwrap(), data);
    assert!(store.verify().await.unwrap().is_ok());
}

/// Awaits `op`, which must not wait on the named pipe `fifo`: if it still
/// runs after a few seconds (it would wait forever), the test fails.
async fn without_waiting_on<T>(fifo: &Path, op: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(std::time::Duration::from_secs(10), op).await {
        Ok(out) => out,
        Err(_) => {
            pipes::keep_releasing(fifo);
            panic!("waited on the named pipe {}", fifo.display());
        }
    }
}

/// A flat store in `dir` holding one small PNG: the store, its reference,
/// the bytes, and the paths of its media file and its sidecar.
async fn one_png(dir: &Path) -> (FileStore, StorageReference, bytes::Bytes, PathBuf, PathBuf) {
    let store = open(dir, Organization::Flat);
    let png = random_bytes(b"\x89PNG\r\n\x1a\n", 64);
    let r = store
        .store_bytes("image/png", png.clone(), &MediaMetadata::new())
        .await
        .unwrap();
    let media = store.path_of(&r).await.unwrap();
    let sidecar = PathBuf::from(format!("{}.meta", media.display()));
    (store, r, png, media, sidecar)
}

/// A named pipe planted where a sidecar or a media file goes is never
/// waited on: `gc`, `verify` and `retrieve` treat it as no file (a root cron
/// job running `gc` must not hang on it), and `gc` replaces the sidecar.
#[tokio::test]
async fn a_named_pipe_in_the_store_is_never_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let (store, r, png, media, sidecar) = one_png(dir.path()).await;
    std::fs::remove_file(&sidecar).unwrap();
    pipes::named_pipe(&sidecar);

    let report = without_waiting_on(&sidecar, store.verify()).await.unwrap();
    assert_eq!(report.checked, 1);
    assert_eq!(report.missing_sidecars.len(), 1, "{report:?}");
    let dry = GcOptions::new(true);
    let report = without_waiting_on(&sidecar, store.gc(dry)).await.unwrap();
    assert_eq!(report.rewritten_sidecars.len(), 1, "{report:?}");
    let report = without_waiting_on(&sidecar, store.gc(GcOptions::new(false)))
        .await
        .unwrap();
    assert_eq!(report.rewritten_sidecars.len(), 1, "{report:?}");
    assert!(
        std::fs::metadata(&sidecar).unwrap().is_file(),
        "the pipe was replaced"
    );
    assert!(store.verify().await.unwrap().is_ok());

    std::fs::remove_file(&media).unwrap();
    pipes::named_pipe(&media);
    let got = without_waiting_on(&media, store.retrieve(&r)).await;
    assert!(matches!(got, Err(Error::NotFound { .. })), "{got:?}");
    let report = without_waiting_on(&media, store.verify()).await.unwrap();
    assert_eq!(report.missing.len(), 1, "{report:?}");
    // A store of the same bytes puts a file back in its place.
    let again = store
        .store_bytes("image/png", png.clone(), &MediaMetadata::new())
        .await
        .unwrap();
    assert_eq!(store.retrieve_bytes(&r).await.unwrap(), png);
    assert_eq!(store.retrieve_bytes(&again).await.unwrap(), png);
}

/// A huge file planted where a media file or sidecar goes is never read
/// whole (a sparse terabyte would exhaust the memory of `verify`, `gc` or
/// `retrieve`): only as much as the index expects, plus one byte.
#[tokio::test]
async fn a_huge_planted_file_is_not_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (store, r, _, media, sidecar) = one_png(dir.path()).await;
    let terabyte = 1 << 40;
    std::fs::File::options()
        .write(true)
        .open(&sidecar)
        .and_then(|f| f.set_len(terabyte))
        .unwrap();
    let report = store.verify().await.unwrap();
    assert_eq!(report.unreadable_sidecars.len(), 1, "{report:?}");
    let report = store.gc(GcOptions::new(false)).await.unwrap();
    assert_eq!(report.rewritten_sidecars.len(), 1, "{report:?}");
    assert!(store.verify().await.unwrap().is_ok());

    std::fs::File::options()
        .write(true)
        .open(&media)
        .and_then(|f| f.set_len(terabyte))
        .unwrap();
    let got = store.retrieve(&r).await;
    assert!(matches!(got, Err(Error::Corrupt { .. })), "{got:?}");
    let report = store.verify().await.unwrap();
    assert_eq!(report.corrupt.len(), 1, "{report:?}");
}

/// Symlinks planted where SQLite keeps the index's write-ahead log and
/// shared memory (pointing outside the store) are refused, never written
/// through: the store does not open and the file outside is untouched.
#[tokio::test]
async fn symlinks_beside_the_index_are_not_followed() {
    for side in ["-wal", "-shm"] {
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (store, ..) = one_png(dir.path()).await;
        let planted = PathBuf::from(format!("{}{side}", store.index_path().display()));
        drop(store);
        let _ = std::fs::remove_file(&planted);
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let opened = async {
            let store = FileStore::builder().with_base_dir(dir.path()).build()?;
            let png = random_bytes(b"\x89PNG\r\n\x1a\n", 64);
            store
                .store_bytes("image/png", png, &MediaMetadata::new())
                .await
        };
        assert!(opened.await.is_err(), "{side}: opened through the symlink");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious", "{side}");
    }
}
