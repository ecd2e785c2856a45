//! Atomicity: a process killed (SIGKILL) in the middle of a store leaves no
//! partial file under a final name, and a new store on the directory is
//! consistent (after `gc` removes the leftovers).
//!
//! The test re-executes its own binary as the child (`crash_child`, ignored
//! unless run explicitly), which stores large media in a loop until killed.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use promptkit_media_store::GcOptions;
use promptkit_media_store::{
    FileStore, MediaLifecycle, MediaLifecycleExt, MediaMetadata, MediaStore, MediaStoreExt,
    Organization,
};

#[path = "support/files.rs"]
mod files;
#[path = "support/index.rs"]
mod index;

use files::files_under;
use index::live_refs;

const CHILD_DIR: &str = "PROMPTKIT_LOCAL_CRASH_DIR";
const BLOB: usize = 16 * 1024 * 1024;

fn open(dir: &Path) -> FileStore {
    FileStore::builder()
        .with_base_dir(dir)
        .with_organization(Organization::ByConversation)
        .with_fsync(true)
        .build()
        .unwrap()
}

/// The child: stores 16 MiB blobs (fsynced, so each stays a while in its temp
/// file) until it is killed.
#[tokio::test]
#[ignore = "child process of killed_store_leaves_no_partial_file"]
async fn crash_child() {
    // Only a child started by the parent test has the directory; a plain
    // `--include-ignored` run has nothing to do here.
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let store = open(Path::new(&dir));
    let meta = MediaMetadata::new().with_conversation("crash");
    loop {
        let data = promptkit_media_store::conformance::random_bytes(b"PKTEST", BLOB);
        store
            .store_bytes("application/octet-stream", data, &meta)
            .await
            .unwrap();
    }
}

fn is_temp(p: &Path) -> bool {
    p.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with(".pk-tmp-"))
}

/// Whether some media temp file has bytes in it (a write is in progress)
/// after at least one store of this child completed.
fn write_in_progress(dir: &Path, completed_before: usize) -> bool {
    completed(dir) > completed_before
        && files_under(&dir.join("media"))
            .iter()
            .any(|p| is_temp(p) && std::fs::metadata(p).is_ok_and(|m| m.len() > 0))
}

/// Stores that completed: their journal record (written last) exists.
fn completed(dir: &Path) -> usize {
    live_refs(dir).len()
}

fn is_final_media(p: &Path) -> bool {
    !is_temp(p) && !p.to_string_lossy().ends_with(".meta")
}

/// Every file under a final name is complete: its bytes hash to the name
/// (the store deduplicates, so media is named by its hash).
fn assert_final_files_complete(dir: &Path) {
    for p in files_under(&dir.join("media")) {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if is_temp(&p) || name.ends_with(".meta") {
            continue;
        }
        let data = std::fs::read(&p).unwrap();
        let hash = blake3::hash(&data).to_hex();
        assert_eq!(
            name,
            format!("{}.bin", &hash[..32]),
            "{} is partial ({} bytes)",
            p.display(),
            data.len()
        );
        assert_eq!(data.len(), BLOB);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_store_leaves_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut killed_mid_write = 0;
    for _attempt in 0..8 {
        let completed_before = completed(dir.path());
        let mut child = Command::new(&exe)
            .args(["crash_child", "--exact", "--ignored", "--test-threads=1"])
            .env(CHILD_DIR, dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the child exited on its own: {status}");
            }
            if write_in_progress(dir.path(), completed_before) {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        if files_under(&dir.path().join("media"))
            .iter()
            .any(|p| is_temp(p))
        {
            killed_mid_write += 1;
        }
        assert_final_files_complete(dir.path());
        if killed_mid_write >= 2 {
            break;
        }
    }
    assert!(
        killed_mid_write >= 1,
        "the child was never killed while writing (no temp file left)"
    );

    // A new store on the directory: every reference resolves to intact
    // bytes, and after gc the statistics match what is on disk.
    let store = open(dir.path());
    let verify = store.verify().await.unwrap();
    assert!(verify.corrupt.is_empty(), "{verify:?}");
    let report = store
        .gc(GcOptions::new(false).with_temp_grace(Duration::ZERO))
        .await
        .unwrap();
    assert!(!report.stale_temp_files.is_empty(), "{report:?}");
    assert!(
        !files_under(dir.path()).iter().any(|p| is_temp(p)),
        "gc left temp files"
    );
    let refs = live_refs(dir.path());
    for id in refs.keys() {
        let r = format!("file:{id}").parse().unwrap();
        let bytes = store.retrieve_bytes(&r).await.unwrap();
        assert_eq!(bytes.len(), BLOB);
    }
    let media = files_under(&dir.path().join("media"))
        .iter()
        .filter(|p| is_final_media(p))
        .count();
    assert!(
        media >= 2,
        "each child completed a store before it was killed: {media} files, {report:?}"
    );
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.references, refs.len() as u64);
    assert_eq!(stats.objects, media as u64);
    assert_eq!(stats.physical_bytes, (media * BLOB) as u64);
    assert!(store.verify().await.unwrap().is_ok());
    assert!(
        store.gc(GcOptions::new(true)).await.unwrap().is_clean(),
        "a second gc finds nothing"
    );
}
