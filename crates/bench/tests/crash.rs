//! Crash safety of the local store: a child process storing and deleting
//! media is killed with SIGKILL at random points 200 times; afterwards the
//! store verifies clean.
//!
//! The child is the `crash-child` role of the `promptkit-bench` binary. Each
//! kill lands after a random delay of 0–20 ms once the child has opened the
//! store. Seed: `PROMPTKIT_CRASH_SEED` (printed, to repeat a failing run).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use promptkit_bench::crash::{CrashLog, open_store};
use promptkit_bench::files::count_temp_files;
use promptkit_bench::rng::Rng;
use promptkit_media_store::{
    Error, GcOptions, MediaLifecycle, MediaLifecycleExt, MediaStore, StorageReference,
};

const KILLS: usize = 200;

/// Starts a child on `dir`, waits for it to open the store, lets it work for
/// a random 0–20 ms and kills it (SIGKILL to its own pid). Returns its log.
fn run_and_kill(exe: &Path, dir: &Path, seed: u64, delay: Duration) -> CrashLog {
    let mut child = Command::new(exe)
        .args(["crash-child", &dir.display().to_string(), &seed.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the crash child");
    let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid fits in i32"));
    let mut out = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut first = String::new();
    out.read_line(&mut first)
        .expect("read the child's first line");
    if first.trim() != "R" {
        let mut err = String::new();
        let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
        let _ = child.wait();
        panic!("the crash child did not start: {first:?} {err}");
    }
    std::thread::sleep(delay);
    // Our own child, by its positive pid; it may have died already (then
    // wait() below reports why).
    let _ = kill(pid, Signal::SIGKILL);
    let status = child.wait().expect("wait for the crash child");
    let mut rest = String::new();
    out.read_to_string(&mut rest).expect("read the child's log");
    let mut err = String::new();
    let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
    assert!(
        !status.success() && err.is_empty(),
        "the crash child ended on its own ({status}): {err}"
    );
    CrashLog::parse(&format!("{first}{rest}"))
}

/// Live references in the index, reference id -> (media location,
/// conversation, policy), read directly from the database.
fn index_refs(dir: &Path) -> BTreeMap<String, (String, Option<String>, String)> {
    let db = rusqlite::Connection::open_with_flags(
        dir.join(".promptkit/index.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut st = db
        .prepare("SELECT id, location, conversation_id, policy FROM refs")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_200_times_leaves_a_consistent_store() {
    let exe = Path::new(env!("CARGO_BIN_EXE_promptkit-bench"));
    let dir = tempfile::tempdir().unwrap();
    let seed = Rng::seed_from_env("PROMPTKIT_CRASH_SEED");
    eprintln!("crash test seed: {seed} (PROMPTKIT_CRASH_SEED)");
    let mut rng = Rng::new(seed);
    let mut must_resolve: BTreeSet<String> = BTreeSet::new();
    let mut deleted: BTreeSet<String> = BTreeSet::new();
    let mut killed_with_temp = 0;
    for i in 0..KILLS {
        let delay = Duration::from_micros(rng.below(20_000));
        let log = run_and_kill(exe, dir.path(), rng.next_u64(), delay);
        assert!(log.ready, "kill {i}: the child never opened the store");
        must_resolve.extend(log.must_resolve().map(str::to_owned));
        deleted.extend(log.deleted.iter().cloned());
        if count_temp_files(dir.path()) > 0 {
            killed_with_temp += 1;
        }
    }
    eprintln!(
        "{KILLS} kills; {} acknowledged live references; {} acknowledged deletes; {killed_with_temp} kills left temp files",
        must_resolve.len(),
        deleted.len()
    );
    assert!(
        must_resolve.len() >= KILLS / 10,
        "the children did too little work to test anything"
    );

    let store = open_store(dir.path()).unwrap();
    // No partial file under a final name: every media file hashes to its sidecar.
    let verify = store.verify().await.unwrap();
    assert!(verify.corrupt.is_empty(), "{verify:?}");
    assert!(verify.unreadable_sidecars.is_empty(), "{verify:?}");
    assert!(verify.checked > 0);

    // What a crash may leave (temp files, media and sidecar renamed into
    // place by a store whose transaction never committed, or left by a
    // delete that committed but had not unlinked them yet) is garbage for
    // gc; a dangling reference never is, because a reference commits after
    // its files reach their final names and files are unlinked only after
    // their last reference's removal committed.
    let dry = store
        .gc(GcOptions::new(true).with_temp_grace(Duration::ZERO))
        .await
        .unwrap();
    assert!(dry.dangling_references.is_empty(), "{dry:?}");
    assert!(dry.repaired_references.is_empty(), "{dry:?}");
    assert!(dry.rewritten_sidecars.is_empty(), "{dry:?}");
    assert!(dry.unreadable_sidecars.is_empty(), "{dry:?}");
    eprintln!(
        "after the crashes: {} media checked, {} missing; gc would remove {} temp files, {} orphan media, {} orphan sidecars",
        verify.checked,
        verify.missing.len(),
        dry.stale_temp_files.len(),
        dry.orphan_media.len(),
        dry.orphan_sidecars.len(),
    );
    assert!(
        verify.missing.is_empty(),
        "no media of a live reference is missing: {verify:?}"
    );
    assert!(verify.missing_sidecars.is_empty(), "{verify:?}");
    let fixed = store
        .gc(GcOptions::new(false).with_temp_grace(Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(fixed.dangling_references, dry.dangling_references);
    assert!(
        store
            .gc(GcOptions::new(true).with_temp_grace(Duration::ZERO))
            .await
            .unwrap()
            .is_clean(),
        "a second gc finds nothing"
    );
    assert_eq!(count_temp_files(dir.path()), 0, "gc left temp files");
    assert!(store.verify().await.unwrap().is_ok(), "verify after gc");

    // Every acknowledged store still resolves to intact bytes; every
    // acknowledged delete is gone.
    for r in &must_resolve {
        let reference: StorageReference = r.parse().unwrap();
        let m = store.retrieve(&reference).await.unwrap_or_else(|e| {
            panic!("acknowledged reference {r} does not resolve after the crashes: {e}")
        });
        assert!(m.data.is_some_and(|d| d.starts_with(b"\x89PNG")));
    }
    for r in &deleted {
        let reference: StorageReference = r.parse().unwrap();
        assert!(
            matches!(
                store.retrieve(&reference).await,
                Err(Error::NotFound { .. })
            ),
            "deleted reference {r} still resolves"
        );
    }

    // Reference counts: each listed file has exactly the live references
    // the index holds for it, each with the owner its row carries; its
    // sidecar (written once, when the file was created) lists none.
    let records = index_refs(dir.path());
    let listed = store.list().await.unwrap();
    let mut by_location: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for s in &listed {
        let id = s.reference.as_str().strip_prefix("file:").unwrap();
        let (location, conversation, policy) = &records[id];
        assert_eq!(Path::new(location), s.location, "{id}");
        assert_eq!(conversation, &s.metadata.conversation_id, "{id}");
        assert_eq!(policy, &s.policy.to_string(), "{id}");
        *by_location.entry(s.location.clone()).or_default() += 1;
        let path = store.base_dir().join(&s.location);
        let text = std::fs::read(format!("{}.meta", path.display())).unwrap();
        let on_disk: serde_json::Value = serde_json::from_slice(&text).unwrap();
        assert!(
            on_disk.get("references").is_none() && on_disk.get("ref_count").is_none(),
            "{}",
            path.display()
        );
    }
    assert_eq!(
        listed.len(),
        records.len(),
        "every live reference is listed once"
    );
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.references, records.len() as u64);
    assert_eq!(stats.objects, by_location.len() as u64);
}
