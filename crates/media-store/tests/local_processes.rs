//! Several processes share one store directory: they store identical bytes
//! and delete some references at the same time; the file locks keep exactly
//! one file with the right reference count.
//!
//! The test re-executes its own binary as the children (`process_child`,
//! ignored unless run explicitly).

use std::path::Path;
use std::process::{Command, Stdio};

use bytes::Bytes;
use promptkit_media_store::GcOptions;
use promptkit_media_store::{
    MediaLifecycle, MediaLifecycleExt, MediaMetadata, MediaStore, MediaStoreExt, StorageReference,
};

#[path = "support/store.rs"]
mod store;

use store::open;

const CHILD_DIR: &str = "PROMPTKIT_LOCAL_PROCESS_DIR";
const CHILD_NAME: &str = "PROMPTKIT_LOCAL_PROCESS_NAME";
const CHILDREN: usize = 3;
const STORES: usize = 20;

/// The same 256 KiB for every process (a PNG header, then BLAKE3 output).
fn shared_bytes() -> Bytes {
    let mut data = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut rest = vec![0u8; 256 * 1024];
    blake3::Hasher::new()
        .update(b"local_processes")
        .finalize_xof()
        .fill(&mut rest);
    data.extend_from_slice(&rest);
    Bytes::from(data)
}

/// A child: stores the shared bytes `STORES` times, deleting every third
/// reference right after storing it, and prints the references it kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of processes_share_one_directory"]
async fn process_child() {
    // Only a child started by the parent test has these variables; a plain
    // `--include-ignored` run has nothing to do here.
    let (Ok(dir), Ok(name)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_NAME)) else {
        return;
    };
    let store = open(Path::new(&dir));
    let data = shared_bytes();
    let tasks: Vec<_> = (0..STORES)
        .map(|i| {
            let (store, data) = (store.clone(), data.clone());
            let meta = MediaMetadata::new()
                .with_session(name.clone())
                .with_conversation(format!("c{i}"));
            tokio::spawn(async move {
                let r = store.store_bytes("image/png", data, &meta).await.unwrap();
                if i % 3 == 0 {
                    store.delete(&r).await.unwrap();
                    None
                } else {
                    Some(r)
                }
            })
        })
        .collect();
    for t in tasks {
        if let Some(r) = t.await.unwrap() {
            println!("REF {r}");
        }
    }
}

#[tokio::test]
async fn processes_share_one_directory() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..CHILDREN)
        .map(|i| {
            Command::new(&exe)
                .args(["process_child", "--exact", "--ignored", "--nocapture"])
                .args(["--test-threads=1"])
                .env(CHILD_DIR, dir.path())
                .env(CHILD_NAME, format!("proc{i}"))
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut kept: Vec<StorageReference> = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "a child failed: {}", out.status);
        let stdout = String::from_utf8(out.stdout).unwrap();
        kept.extend(
            stdout
                .lines()
                // The harness prints `test process_child ... ` without a newline
                // before the test's own output: look for the marker anywhere.
                .filter_map(|l| l.split_once("REF ").map(|(_, r)| r.trim()))
                .map(|r| r.parse().unwrap()),
        );
    }
    let per_child = (0..STORES).filter(|i| i % 3 != 0).count();
    assert_eq!(kept.len(), CHILDREN * per_child);

    let store = open(dir.path());
    let s = store.stats().await.unwrap();
    assert_eq!((s.objects, s.references), (1, kept.len() as u64));
    assert_eq!(s.by_session.len(), CHILDREN);
    let list = store.list().await.unwrap();
    assert_eq!(list.len(), kept.len());
    let files: std::collections::BTreeSet<_> = list.iter().map(|s| &s.location).collect();
    assert_eq!(files.len(), 1, "one file for the shared bytes");
    // Each reference keeps its own owner (its process's session), whichever
    // process stored the file first.
    let mut listed: Vec<_> = list.iter().map(|s| s.reference.clone()).collect();
    listed.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let mut want = kept.clone();
    want.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    assert_eq!(listed, want);
    assert!(
        s.by_session
            .values()
            .all(|t| t.references == per_child as u64),
        "{:?}",
        s.by_session
    );
    let data = shared_bytes();
    for r in &kept {
        assert_eq!(store.retrieve_bytes(r).await.unwrap(), data);
    }
    assert!(store.verify().await.unwrap().is_ok());
    let gc = store.gc(GcOptions::new(true)).await.unwrap();
    assert!(gc.is_clean(), "{gc:?}");
    for r in &kept {
        store.delete(r).await.unwrap();
    }
    let s = store.stats().await.unwrap();
    assert_eq!((s.objects, s.references), (0, 0));
}
