//! The crash-test child: stores and deletes media in a [`FileStore`] in a
//! loop, logging each step to stdout, until it is killed.
//!
//! Log lines (one `write` each, so a kill never interleaves them):
//! `R` once the store is open, `S <reference>` after a store returned,
//! `d <reference>` before a delete starts, `D <reference>` after it returned.
//! [`CrashLog::parse`] reads them back in the parent.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use bytes::Bytes;
use promptkit_media_store::{
    FileStore, MediaMetadata, MediaStore, MediaStoreExt, Organization, StorageReference,
};

use crate::images::PNG_SIGNATURE;
use crate::rng::Rng;

/// Opens the store the crash child and the checking parent share.
pub fn open_store(dir: &Path) -> promptkit_media_store::Result<FileStore> {
    FileStore::builder()
        .with_base_dir(dir)
        .with_organization(Organization::BySession)
        .with_deduplication(true)
        .with_fsync(false)
        .build()
}

fn payload(rng: &mut Rng) -> Bytes {
    // A quarter of the stores repeat one of four contents (dedup hits and
    // shared files); the rest are new, 1 KiB to 64 KiB.
    let (seed, len) = if rng.chance(0.25) {
        let k = rng.below(4);
        (1000 + k, 8 * 1024 + k as usize * 1024)
    } else {
        (rng.next_u64(), 1024 + rng.below(63 * 1024) as usize)
    };
    let mut v = vec![0u8; len];
    Rng::new(seed).fill(&mut v);
    v[..8].copy_from_slice(PNG_SIGNATURE);
    v.into()
}

fn log(line: &str) {
    let mut out = std::io::stdout().lock();
    // One write per line; a failure means the parent is gone.
    if out.write_all(format!("{line}\n").as_bytes()).is_err() || out.flush().is_err() {
        std::process::exit(0);
    }
}

/// Runs the child until killed: stores (three in four operations) and
/// deletes (one in four) media in the store at `dir`.
pub async fn run_child(dir: &Path, seed: u64) -> Result<(), String> {
    let store = open_store(dir).map_err(|e| e.to_string())?;
    let mut rng = Rng::new(seed);
    let mut live: Vec<StorageReference> = Vec::new();
    let conversation = format!("c{}", rng.below(3));
    let meta = MediaMetadata::new()
        .with_session("crash-session")
        .with_conversation(conversation);
    log("R");
    loop {
        if !live.is_empty() && rng.chance(0.25) {
            let r = live.swap_remove(rng.below(live.len() as u64) as usize);
            log(&format!("d {r}"));
            store.delete(&r).await.map_err(|e| e.to_string())?;
            log(&format!("D {r}"));
        } else {
            let r = store
                .store_bytes("image/png", payload(&mut rng), &meta)
                .await
                .map_err(|e| e.to_string())?;
            log(&format!("S {r}"));
            live.push(r);
        }
    }
}

/// What a killed child reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrashLog {
    /// Whether the child reported the store open.
    pub ready: bool,
    /// References whose store returned.
    pub stored: BTreeSet<String>,
    /// References whose delete started.
    pub delete_started: BTreeSet<String>,
    /// References whose delete returned.
    pub deleted: BTreeSet<String>,
}

impl CrashLog {
    /// Parses a child's stdout; an incomplete last line is ignored.
    ///
    /// ```
    /// use promptkit_bench::crash::CrashLog;
    /// let log = CrashLog::parse("R\nS file:a\nS file:b\nd file:a\nD file:a\nS fi");
    /// assert!(log.ready);
    /// assert_eq!(log.must_resolve().collect::<Vec<_>>(), vec!["file:b"]);
    /// assert!(log.deleted.contains("file:a"));
    /// ```
    pub fn parse(out: &str) -> Self {
        let mut log = CrashLog::default();
        let complete = match out.rfind('\n') {
            Some(i) => &out[..i],
            None => "",
        };
        for line in complete.lines() {
            match line.split_once(' ') {
                None if line == "R" => log.ready = true,
                Some(("S", r)) => {
                    log.stored.insert(r.to_owned());
                }
                Some(("d", r)) => {
                    log.delete_started.insert(r.to_owned());
                }
                Some(("D", r)) => {
                    log.deleted.insert(r.to_owned());
                }
                _ => {}
            }
        }
        log
    }

    /// References acknowledged as stored and never (even partly) deleted:
    /// they must still resolve after the crash.
    pub fn must_resolve(&self) -> impl Iterator<Item = &str> {
        self.stored
            .iter()
            .filter(|r| !self.delete_started.contains(*r))
            .map(String::as_str)
    }
}
