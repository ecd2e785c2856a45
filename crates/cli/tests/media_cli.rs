//! Runs the built `promptkit` binary on real local media stores.

use std::collections::BTreeMap;
use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use promptkit_media_store::{
    FileStore, MediaContent, MediaMetadata, MediaStoreExt, RetentionPolicy, StorageReference,
};
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::datetime;

/// 2048 bytes of "PNG" (a real PNG signature, then filler).
fn png_bytes() -> Bytes {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.resize(2048, 7);
    Bytes::from(v)
}

const TEXT: &str = "hello world";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A store holding the same PNG in conversations c1 (session s1) and c2
/// (session s2), and a text in c1: 2 objects, 3 references.
struct Fixture {
    dir: tempfile::TempDir,
    png_c1: StorageReference,
    png_c2: StorageReference,
    text_c1: StorageReference,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let rt = runtime();
        let (png_c1, png_c2, text_c1) = rt.block_on(async {
            let store = open(dir.path());
            let m1 = MediaMetadata::new()
                .with_session("s1")
                .with_conversation("c1");
            let m2 = MediaMetadata::new()
                .with_session("s2")
                .with_conversation("c2");
            let a = store.store_bytes("image/png", png_bytes(), &m1).await;
            let b = store.store_bytes("image/png", png_bytes(), &m2).await;
            let t = store.store_bytes("text/plain", TEXT.into(), &m1).await;
            (a.expect("store"), b.expect("store"), t.expect("store"))
        });
        Fixture {
            dir,
            png_c1,
            png_c2,
            text_c1,
        }
    }

    fn arg(&self) -> &str {
        path_str(self.dir.path())
    }

    fn media_path(&self, r: &StorageReference) -> PathBuf {
        runtime()
            .block_on(open(self.dir.path()).path_of(r))
            .expect("path_of")
    }
}

fn open(dir: &Path) -> FileStore {
    FileStore::builder()
        .with_base_dir(dir)
        .build()
        .expect("open store")
}

fn promptkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_promptkit"))
        .args(args)
        .output()
        .expect("run promptkit")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Runs a `--json` command expecting `code`, a clean stderr and one JSON
/// document on stdout.
fn json(args: &[&str], code: i32) -> Value {
    let out = promptkit(args);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
    assert_eq!(stderr(&out), "", "{args:?}: stderr must stay clean");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

/// What a snapshot records of one entry (symlinks are not followed).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// A folder and its modification time (which moves when an entry is
    /// created or removed in it, even if it is gone again).
    Dir { modified: SystemTime },
    /// A file: size, modification time and a hash of its bytes.
    File {
        len: u64,
        modified: SystemTime,
        hash: u64,
    },
    /// A symlink and where it points.
    Link { target: PathBuf },
}

/// Every entry under `dir` (and `dir` itself): path, size, mtime, contents.
///
/// Not recorded: the index database's `-wal` and `-shm` files, which a
/// SQLite reader of a WAL database creates (and writes its read marks to)
/// where the folder allows it, and so the mtime of the `.promptkit` folder
/// holding them. (On a read-only mount the store reads the index as an
/// immutable file instead.) The database file itself is recorded.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Entry> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        if name.ends_with(".sqlite3-wal") || name.ends_with(".sqlite3-shm") {
            continue;
        }
        let m = fs::symlink_metadata(&p).expect("symlink_metadata");
        let entry = if m.is_symlink() {
            Entry::Link {
                target: fs::read_link(&p).expect("read_link"),
            }
        } else if m.is_dir() {
            for e in fs::read_dir(&p).expect("read_dir") {
                stack.push(e.expect("entry").path());
            }
            Entry::Dir {
                modified: if name == ".promptkit" {
                    SystemTime::UNIX_EPOCH
                } else {
                    m.modified().expect("mtime")
                },
            }
        } else {
            let mut h = DefaultHasher::new();
            fs::read(&p).expect("read").hash(&mut h);
            Entry::File {
                len: m.len(),
                modified: m.modified().expect("mtime"),
                hash: h.finish(),
            }
        };
        out.insert(p, entry);
    }
    out
}

/// `p` relative to the canonical form of `base` (as reports print it).
fn relative(base: &Path, p: &Path) -> String {
    let base = fs::canonicalize(base).expect("canonicalize");
    path_str(p.strip_prefix(&base).expect("under the store")).to_owned()
}

fn set_age(path: &Path, age: Duration) {
    let f = fs::File::options().write(true).open(path).expect("open");
    f.set_modified(SystemTime::now() - age).expect("set mtime");
}

#[test]
fn stats_counts_dedup_in_text_and_json() {
    let fx = Fixture::new();
    let png = png_bytes().len() as u64;
    let text = TEXT.len() as u64;

    let v = json(&["media", "stats", fx.arg(), "--json"], 0);
    assert_eq!(v["backend"], "local");
    assert_eq!(v["objects"], 2);
    assert_eq!(v["references"], 3);
    assert_eq!(v["logical_bytes"], 2 * png + text);
    assert_eq!(v["physical_bytes"], png + text);
    assert_eq!(v["dedup_savings_bytes"], png);
    let pct = v["dedup_savings_percent"].as_f64().expect("percent");
    assert!((pct - 49.87).abs() < 0.001, "{pct}");
    assert_eq!(v["by_mime"][0]["id"], "image/png");
    assert_eq!(v["by_mime"][0]["references"], 2);
    assert_eq!(v["by_mime"][0]["logical_bytes"], 2 * png);
    assert_eq!(v["by_mime"][1]["id"], "text/plain");
    assert_eq!(v["conversations"], 2);
    assert_eq!(v["by_conversation"][0]["id"], "c1");
    assert_eq!(v["by_conversation"][0]["logical_bytes"], png + text);
    assert_eq!(v["by_session"][1]["id"], "s2");

    let top = json(&["media", "stats", fx.arg(), "--json", "--top", "1"], 0);
    assert_eq!(top["conversations"], 2);
    assert_eq!(top["by_conversation"].as_array().map(Vec::len), Some(1));
    assert_eq!(top["by_conversation"][0]["id"], "c1");

    let out = promptkit(&["media", "stats", fx.arg()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let t = stdout(&out);
    assert!(t.contains("objects:         2\n"), "{t}");
    assert!(t.contains("references:      3\n"), "{t}");
    assert!(t.contains(&format!(
        "logical size:    4.0 KiB ({} bytes)",
        2 * png + text
    )));
    assert!(t.contains(&format!("physical size:   2.0 KiB ({} bytes)", png + text)));
    assert!(
        t.contains("dedup savings:   2.0 KiB (2048 bytes, 49.9%)"),
        "{t}"
    );
    assert!(t.contains("by conversation (2):"), "{t}");

    // The same store through a file:// URL.
    let url = format!("file://{}", fx.arg());
    let u = json(&["media", "stats", &url, "--json"], 0);
    assert_eq!(u["references"], 3);
    assert_eq!(u["store"], url.as_str());
}

#[test]
fn stats_of_a_memory_store() {
    let v = json(&["media", "stats", "memory://", "--json"], 0);
    assert_eq!(v["backend"], "memory");
    assert_eq!(v["objects"], 0);
    assert_eq!(v["references"], 0);
    let out = promptkit(&["media", "stats", "memory://?organization=flat"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("dedup savings:   0 B (0 bytes, 0.0%)"));
    let out = promptkit(&["media", "ls", "memory://"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "no stored media in memory://\n");
}

#[test]
fn ls_lists_references_and_filters() {
    let fx = Fixture::new();
    let all = json(&["media", "ls", fx.arg(), "--json"], 0);
    let refs = all["references"].as_array().expect("references");
    assert_eq!(refs.len(), 3);
    let by_ref = |r: &StorageReference| {
        refs.iter()
            .find(|row| row["reference"] == r.as_str())
            .unwrap_or_else(|| panic!("{r} not listed"))
    };
    let row = by_ref(&fx.png_c2);
    assert_eq!(row["mime_type"], "image/png");
    assert_eq!(row["size_bytes"], 2048);
    assert_eq!(row["conversation_id"], "c2");
    assert_eq!(row["session_id"], "s2");
    assert_eq!(row["retention_policy"], "retain");
    assert_eq!(row["ref_count"], 2);
    assert_eq!(by_ref(&fx.png_c1)["path"], row["path"], "dedup: one file");
    assert_eq!(by_ref(&fx.text_c1)["ref_count"], 1);
    assert!(
        OffsetDateTime::parse(
            row["created_at"].as_str().expect("created_at"),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok()
    );

    let c1 = json(
        &["media", "ls", fx.arg(), "--json", "--conversation", "c1"],
        0,
    );
    let mut got: Vec<&str> = c1["references"]
        .as_array()
        .expect("references")
        .iter()
        .filter_map(|r| r["reference"].as_str())
        .collect();
    got.sort_unstable();
    let mut want = vec![fx.png_c1.as_str(), fx.text_c1.as_str()];
    want.sort_unstable();
    assert_eq!(got, want);

    let s2 = json(&["media", "ls", fx.arg(), "--json", "--session", "s2"], 0);
    assert_eq!(s2["references"].as_array().map(Vec::len), Some(1));
    assert_eq!(s2["references"][0]["reference"], fx.png_c2.as_str());
    let none = json(
        &[
            "media",
            "ls",
            fx.arg(),
            "--json",
            "--session",
            "s2",
            "--conversation",
            "c1",
        ],
        0,
    );
    assert_eq!(none["references"].as_array().map(Vec::len), Some(0));

    let out = promptkit(&["media", "ls", fx.arg(), "--conversation", "c1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("REFERENCE") && lines[0].ends_with("POLICY"));
    assert!(text.contains(fx.text_c1.as_str()) && text.contains(fx.png_c1.as_str()));
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.contains("  c1  ") && l.contains("  s1  "))
    );
    assert!(text.contains("2.0 KiB") && text.contains("11 B"), "{text}");

    let out = promptkit(&["media", "ls", fx.arg(), "--session", "nobody"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("no stored media in "));
}

#[test]
fn gc_dry_run_changes_nothing_and_gc_removes_orphans() {
    let fx = Fixture::new();
    let media_dir = fx.dir.path().join("media");
    let orphan = media_dir.join("s1").join("stray.png");
    fs::write(&orphan, b"no sidecar").expect("write orphan");
    let stale_temp = media_dir.join("s1").join("c1").join(".pk-tmp-crashed");
    fs::write(&stale_temp, b"half written").expect("write temp");
    set_age(&stale_temp, Duration::from_secs(2 * 3600));
    let fresh_temp = media_dir.join("s1").join("c1").join(".pk-tmp-inflight");
    fs::write(&fresh_temp, b"being written").expect("write temp");

    let before = snapshot(fx.dir.path());
    let dry = json(&["media", "gc", fx.arg(), "--dry-run", "--json"], 0);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["clean"], false);
    let names = |v: &Value| -> Vec<PathBuf> {
        v.as_array()
            .expect("array")
            .iter()
            .filter_map(|p| p.as_str().map(PathBuf::from))
            .collect()
    };
    let rel = |p: &Path| PathBuf::from(relative(fx.dir.path(), p));
    assert_eq!(names(&dry["orphan_media"]), vec![rel(&orphan)]);
    assert_eq!(names(&dry["stale_temp_files"]), vec![rel(&stale_temp)]);
    assert_eq!(dry["freed_bytes"], 10);
    assert_eq!(snapshot(fx.dir.path()), before, "dry run changed the store");

    let out = promptkit(&["media", "gc", fx.arg(), "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("(dry run)") && text.contains("would remove"),
        "{text}"
    );
    assert!(text.contains("stray.png") && text.contains(".pk-tmp-crashed"));
    assert_eq!(snapshot(fx.dir.path()), before, "dry run changed the store");

    let done = json(&["media", "gc", fx.arg(), "--json"], 0);
    assert_eq!(done["dry_run"], false);
    assert_eq!(
        names(&done["orphan_media"]),
        vec![PathBuf::from("media/s1/stray.png")]
    );
    assert_eq!(names(&done["stale_temp_files"]), vec![rel(&stale_temp)]);
    assert!(!orphan.exists() && !stale_temp.exists());
    assert!(
        fresh_temp.exists(),
        "a temp file within the grace period stays"
    );
    let v = json(&["media", "stats", fx.arg(), "--json"], 0);
    assert_eq!(
        (v["objects"].clone(), v["references"].clone()),
        (2.into(), 3.into())
    );

    // With no grace period the in-flight temp file goes too; then all is clean.
    let out = promptkit(&["media", "gc", fx.arg(), "--temp-grace", "0s"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!fresh_temp.exists());
    let out = promptkit(&["media", "gc", fx.arg()]);
    assert!(
        stdout(&out).ends_with(": nothing to collect\n"),
        "{}",
        stdout(&out)
    );
    let bad = promptkit(&["media", "gc", fx.arg(), "--temp-grace", "soon"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn verify_reports_corruption_with_exit_1() {
    let fx = Fixture::new();
    let ok = json(&["media", "verify", fx.arg(), "--json"], 0);
    assert_eq!(ok["ok"], true);
    assert_eq!(ok["checked"], 2);
    let out = promptkit(&["media", "verify", fx.arg()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("checked 2 files: 0 corrupt"),
        "{}",
        stdout(&out)
    );

    let path = fx.media_path(&fx.png_c1);
    let location = relative(fx.dir.path(), &path);
    let mut bytes = fs::read(&path).expect("read media");
    bytes[100] ^= 0xff;
    bytes[101] ^= 0xff;
    fs::write(&path, &bytes).expect("corrupt media");

    let bad = json(&["media", "verify", fx.arg(), "--json"], 1);
    assert_eq!(bad["ok"], false);
    assert_eq!(bad["checked"], 2);
    assert_eq!(bad["corrupt"], serde_json::json!([location]));
    assert_eq!(bad["missing"], serde_json::json!([]));
    let out = promptkit(&["media", "verify", fx.arg()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains(&format!("corrupt: {location}\n")), "{text}");
    assert!(
        text.contains("checked 2 files: 1 corrupt, 0 missing"),
        "{text}"
    );

    fs::remove_file(&path).expect("remove media");
    let gone = json(&["media", "verify", fx.arg(), "--json"], 1);
    assert_eq!(gone["missing"], serde_json::json!([location]));
}

#[test]
fn retention_respects_time_and_dedup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stored = datetime!(2026-01-01 00:00 UTC);
    let (short_lived, kept) = runtime().block_on(async {
        let store = open(dir.path());
        let png = MediaContent::from_bytes("image/png", png_bytes());
        let m1 = MediaMetadata::new()
            .with_session("s1")
            .with_conversation("c1")
            .with_policy(RetentionPolicy::RetainHours(1));
        let m2 = MediaMetadata::new()
            .with_session("s2")
            .with_conversation("c2");
        let a = store.store_at(&png, &m1, stored).await.expect("store");
        let b = store.store_at(&png, &m2, stored).await.expect("store");
        (a, b)
    });
    let arg = path_str(dir.path());

    let early = json(
        &[
            "media",
            "retention",
            arg,
            "--dry-run",
            "--json",
            "--now",
            "2026-01-01T00:30:00Z",
        ],
        0,
    );
    assert_eq!(early["expired_references"], serde_json::json!([]));

    let before = snapshot(dir.path());
    let later = "2026-01-01T02:00:00Z";
    let dry = json(
        &[
            "media",
            "retention",
            arg,
            "--dry-run",
            "--json",
            "--now",
            later,
        ],
        0,
    );
    assert_eq!(dry["now"], later);
    assert_eq!(
        dry["expired_references"][0]["reference"],
        short_lived.as_str()
    );
    assert_eq!(
        dry["expired_references"][0]["retention_policy"],
        "retain-1hours"
    );
    assert_eq!(dry["expired_references"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        (dry["removed_objects"].clone(), dry["freed_bytes"].clone()),
        (0.into(), 0.into())
    );
    assert_eq!(snapshot(dir.path()), before, "dry run changed the store");

    let out = promptkit(&["media", "retention", arg, "--now", later]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("1 reference dropped (time-based policies at 2026-01-01 02:00:00Z)\n"),
        "{text}"
    );
    assert!(text.contains(short_lived.as_str()) && text.contains("0 files removed"));

    let ls = json(&["media", "ls", arg, "--json"], 0);
    assert_eq!(ls["references"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        ls["references"][0]["reference"],
        kept.as_str(),
        "shared file stays"
    );

    let bad = promptkit(&["media", "retention", arg, "--now", "tomorrow"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn retention_drops_references_of_deleted_conversations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (with_conv, kept) = runtime().block_on(async {
        let store = open(dir.path());
        let meta = |c: &str| MediaMetadata::new().with_session("s1").with_conversation(c);
        let goes = meta("c3").with_policy(RetentionPolicy::DeleteWithConversation);
        let a = store.store_bytes("text/plain", TEXT.into(), &goes).await;
        let a = a.expect("store");
        let b = store
            .store_bytes("image/png", png_bytes(), &meta("c3"))
            .await;
        (a, b.expect("store"))
    });
    let arg = path_str(dir.path());
    let args = |extra: &[&'static str]| {
        let mut v = vec!["media", "retention", arg, "--json"];
        v.extend_from_slice(extra);
        v
    };
    let none = json(&args(&["--dry-run"]), 0);
    assert_eq!(none["expired_references"], serde_json::json!([]));

    let before = snapshot(dir.path());
    let deleted = [
        "--deleted-conversation",
        "c3",
        "--deleted-conversation",
        "c9",
    ];
    let dry = json(&args(&[&["--dry-run"][..], &deleted[..]].concat()), 0);
    assert_eq!(
        dry["deleted_conversations"],
        serde_json::json!(["c3", "c9"])
    );
    assert_eq!(dry["expired_references"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        dry["expired_references"][0]["reference"],
        with_conv.as_str()
    );
    assert_eq!(
        dry["expired_references"][0]["retention_policy"],
        "delete-with-conversation"
    );
    assert_eq!(
        (dry["removed_objects"].clone(), dry["freed_bytes"].clone()),
        (1.into(), 11.into())
    );
    assert_eq!(snapshot(dir.path()), before, "dry run changed the store");

    let done = json(&args(&deleted), 0);
    assert_eq!(done["expired_references"], dry["expired_references"]);
    assert_eq!(
        (done["removed_objects"].clone(), done["freed_bytes"].clone()),
        (1.into(), 11.into())
    );
    let ls = json(&["media", "ls", arg, "--json"], 0);
    assert_eq!(ls["references"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        ls["references"][0]["reference"],
        kept.as_str(),
        "`retain` stays"
    );
}

#[test]
fn bad_stores_fail_with_one_clear_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = dir.path().join("plain");
    fs::create_dir(&plain).expect("mkdir");
    let file = dir.path().join("file.txt");
    fs::write(&file, b"x").expect("write");
    let missing = dir.path().join("missing");
    // A state folder without an index is not a store either.
    let state_only = dir.path().join("state-only");
    fs::create_dir_all(state_only.join(".promptkit")).expect("mkdir");
    // A real store, so the URL's options are what fails.
    let store_like = dir.path().join("store");
    drop(open(&store_like));
    let misspelt = format!("file://{}?organisation=flat", path_str(&store_like));
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["media", "stats", path_str(&plain)],
            "not a promptkit media store".into(),
        ),
        (
            vec!["media", "gc", path_str(&plain)],
            "not a promptkit media store".into(),
        ),
        (
            vec!["media", "gc", path_str(&state_only)],
            "not a promptkit media store (no .promptkit/index.sqlite3 inside)".into(),
        ),
        (
            vec!["media", "retention", path_str(&state_only)],
            "not a promptkit media store".into(),
        ),
        (
            vec!["media", "ls", path_str(&missing)],
            format!("{}: no such directory", missing.display()),
        ),
        (
            vec!["media", "verify", path_str(&file)],
            "not a directory".into(),
        ),
        (
            vec!["media", "stats", "ftp://example.com/media"],
            "URL scheme `ftp:`".into(),
        ),
        (vec!["media", "stats", "s3://"], "has no bucket".into()),
        (
            vec!["media", "stats", "memory://?organisation=flat"],
            "unknown parameter".into(),
        ),
        (
            vec!["media", "ls", misspelt.as_str()],
            "parameter `organisation`: unknown parameter".into(),
        ),
        (
            vec!["media", "verify", "file://elsewhere/media"],
            "names a remote host".into(),
        ),
        (
            vec!["media", "gc", "s3://bucket/prefix?max_file_size=big"],
            "is not a byte count".into(),
        ),
    ];
    for (args, needle) in cases {
        let out = promptkit(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(stdout(&out), "", "{args:?}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("promptkit media: error: "), "{err}");
        assert!(err.contains(&needle), "{args:?}: {err}");
    }
    assert_eq!(
        fs::read_dir(&plain).expect("read_dir").count(),
        0,
        "nothing created"
    );
    assert!(!missing.exists());
    let state = fs::read_dir(state_only.join(".promptkit")).expect("read_dir");
    assert_eq!(state.count(), 0, "nothing created");

    assert_eq!(promptkit(&["media", "stats"]).status.code(), Some(2));
    assert_eq!(
        promptkit(&["media", "frobnicate", "x"]).status.code(),
        Some(2)
    );
}

/// Every command on S3 (moto on 127.0.0.1), configured like an
/// application: a `MEDIA_STORE_URL`-style URL and the `AWS_*` variables.
#[test]
fn every_command_on_an_s3_store_on_moto() {
    let venv = promptkit_testkit::require_venv!();
    let port = promptkit_testkit::free_port();
    let server = promptkit_testkit::ServerProcess::spawn(
        &venv,
        "moto_server",
        &["-H", "127.0.0.1", "-p", &port.to_string()],
        port,
    );
    let endpoint = server.base_url();
    let boto = "import sys, boto3\n\
         s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1',\n\
             aws_access_key_id='test', aws_secret_access_key='test')\n";
    promptkit_testkit::python(
        &venv,
        &format!("{boto}s3.create_bucket(Bucket='media')"),
        &[&endpoint],
    );
    const SECRET: &str = "cli-secret-never-printed";
    let (_, short_lived, _) = runtime().block_on(async {
        let store = promptkit_media_store::S3MediaStore::builder()
            .with_bucket("media")
            .with_prefix("prod")
            .with_endpoint(&endpoint)
            .with_allow_http(true)
            .with_access_key_id("test")
            .with_secret_access_key(SECRET)
            .build()
            .expect("S3 store");
        let meta = |c: &str| MediaMetadata::new().with_session("s1").with_conversation(c);
        let short = meta("c2").with_policy(RetentionPolicy::RetainHours(1));
        let a = store
            .store_bytes("image/png", png_bytes(), &meta("c1"))
            .await;
        let b = store.store_bytes("image/png", png_bytes(), &short).await;
        let t = store
            .store_bytes("text/plain", TEXT.into(), &meta("c1"))
            .await;
        (a.expect("store"), b.expect("store"), t.expect("store"))
    });
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_promptkit"))
            .args(args)
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env_remove("AWS_ENDPOINT_URL_S3")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("MEDIA_DEFAULT_POLICY")
            .output()
            .expect("run promptkit")
    };
    let json = |args: &[&str], code: i32| -> Value {
        let out = run(args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
        serde_json::from_slice(&out.stdout).expect("json")
    };
    const URL: &str = "s3://media/prod";

    let v = json(&["media", "stats", URL, "--json"], 0);
    assert_eq!(v["backend"], "s3");
    assert_eq!(
        (v["objects"].clone(), v["references"].clone()),
        (2.into(), 3.into())
    );
    assert_eq!(v["dedup_savings_bytes"], png_bytes().len() as u64);
    assert_eq!(v["by_conversation"][0]["id"], "c1");

    let ls = json(&["media", "ls", URL, "--json"], 0);
    assert_eq!(ls["references"].as_array().map(Vec::len), Some(3));
    let c2 = json(&["media", "ls", URL, "--json", "--conversation", "c2"], 0);
    let row = &c2["references"][0];
    assert_eq!(row["reference"], short_lived.as_str());
    assert_eq!(row["retention_policy"], "retain-1hours");
    assert_eq!(
        (row["ref_count"].clone(), row["path"].clone()),
        (2.into(), Value::Null)
    );

    let ok = json(&["media", "verify", URL, "--json"], 0);
    assert_eq!(
        (ok["ok"].clone(), ok["checked"].clone()),
        (true.into(), 2.into())
    );
    let gc = json(&["media", "gc", URL, "--dry-run", "--json"], 0);
    assert_eq!(gc["clean"], true);

    let later = "2100-01-01T00:00:00Z";
    let dry = json(
        &[
            "media",
            "retention",
            URL,
            "--dry-run",
            "--json",
            "--now",
            later,
        ],
        0,
    );
    assert_eq!(
        dry["expired_references"][0]["reference"],
        short_lived.as_str()
    );
    assert_eq!(dry["expired_references"].as_array().map(Vec::len), Some(1));
    assert_eq!(dry["removed_objects"], 0, "the bytes are shared with c1");
    assert_eq!(
        json(&["media", "ls", URL, "--json"], 0),
        ls,
        "dry run changed the store"
    );
    let done = json(&["media", "retention", URL, "--json", "--now", later], 0);
    assert_eq!(done["expired_references"], dry["expired_references"]);
    let ls = json(&["media", "ls", URL, "--json"], 0);
    assert_eq!(ls["references"].as_array().map(Vec::len), Some(2));

    // Overwrite the text's bytes (same size) behind the store's back.
    let key = promptkit_testkit::python(
        &venv,
        &format!(
            "{boto}keys = [o['Key'] for o in s3.list_objects_v2(Bucket='media', Prefix='prod/media/')['Contents']]\n\
             key = [k for k in keys if k.endswith('.txt')][0]\n\
             s3.put_object(Bucket='media', Key=key, Body=b'HELLO WORLD')\n\
             print(key)"
        ),
        &[&endpoint],
    );
    let bad = json(&["media", "verify", URL, "--json"], 1);
    assert_eq!(bad["ok"], false);
    let corrupt = bad["corrupt"].as_array().expect("corrupt");
    assert_eq!(corrupt.len(), 1, "{bad}");
    assert!(
        key.trim().ends_with(corrupt[0].as_str().expect("key")),
        "{key} {bad}"
    );

    let out = run(&["media", "stats", "s3://no-such-bucket/prod"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("promptkit media: error: s3://no-such-bucket/prod: "),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    for o in [&out, &run(&["media", "ls", URL])] {
        assert!(!stderr(o).contains(SECRET) && !stdout(o).contains(SECRET));
    }
}

/// `stats`, `ls`, `verify`, `gc --dry-run` and `retention --dry-run` open a
/// local store read-only: no file or folder is created, written, touched or
/// removed (not even the index database's WAL files), whether the store is
/// named by its directory or a `file://` URL.
#[test]
fn read_only_commands_leave_the_store_as_it_was() {
    let fx = Fixture::new();
    // Something for the dry runs to find.
    let orphan = fx.dir.path().join("media/s1/stray.png");
    fs::write(&orphan, b"no reference").expect("write orphan");
    let stale_temp = fx.dir.path().join("media/s1/c1/.pk-tmp-crashed");
    fs::write(&stale_temp, b"half").expect("write temp");
    set_age(&stale_temp, Duration::from_secs(2 * 3600));
    let url = format!("file://{}", fx.arg());
    let before = snapshot(fx.dir.path());
    assert!(
        before
            .keys()
            .any(|p| p.ends_with(".promptkit/index.sqlite3")),
        "{before:?}"
    );
    for store in [fx.arg(), url.as_str()] {
        let commands: [&[&str]; 6] = [
            &["media", "stats", store],
            &["media", "ls", store],
            &["media", "verify", store],
            &["media", "gc", store, "--dry-run", "--temp-grace", "0s"],
            &[
                "media",
                "retention",
                store,
                "--dry-run",
                "--now",
                "2100-01-01T00:00:00Z",
            ],
            &["media", "ls", store, "--conversation", "c1"],
        ];
        for args in commands {
            for json in [false, true] {
                let mut args = args.to_vec();
                if json {
                    args.push("--json");
                }
                let out = promptkit(&args);
                assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
                assert_eq!(
                    snapshot(fx.dir.path()),
                    before,
                    "{args:?} changed the store"
                );
            }
        }
    }
    let dry = json(&["media", "gc", fx.arg(), "--dry-run", "--json"], 0);
    assert_eq!(
        dry["orphan_media"],
        serde_json::json!(["media/s1/stray.png"])
    );

    // A store without its `media/` folder (nothing stored yet, or restored
    // without it): opened for writing, the folder would be created.
    let empty = tempfile::tempdir().expect("tempdir");
    drop(open(empty.path()));
    fs::remove_dir(empty.path().join("media")).expect("rmdir media");
    let empty_url = format!("file://{}", path_str(empty.path()));
    let before_empty = snapshot(empty.path());
    for arg in [path_str(empty.path()), empty_url.as_str()] {
        for args in [
            &["media", "stats", arg, "--json"][..],
            &["media", "ls", arg],
            &["media", "verify", arg],
            &["media", "gc", arg, "--dry-run"],
            &["media", "retention", arg, "--dry-run"],
        ] {
            let out = promptkit(args);
            assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
            assert_eq!(
                snapshot(empty.path()),
                before_empty,
                "{args:?} changed the store"
            );
        }
    }
    assert!(!empty.path().join("media").exists());

    // The same commands on a store opened for writing are not read-only:
    // the snapshot does see what a writer does.
    let out = promptkit(&["media", "gc", fx.arg()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_ne!(snapshot(fx.dir.path()), before);
}

/// `verify` (and every other command) fails with exit 1 on a damaged index,
/// and nothing in the store is touched.
#[test]
fn a_corrupt_index_fails_every_command_and_changes_nothing() {
    let fx = Fixture::new();
    let index = fx.dir.path().join(".promptkit/index.sqlite3");
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7919 % 251) as u8).collect();
    fs::write(&index, &garbage).expect("overwrite index");
    let before = snapshot(fx.dir.path());
    for args in [
        &["media", "verify", fx.arg()][..],
        &["media", "verify", fx.arg(), "--json"],
        &["media", "stats", fx.arg()],
        &["media", "ls", fx.arg(), "--json"],
        &["media", "gc", fx.arg(), "--dry-run"],
        &["media", "gc", fx.arg(), "--json"],
        &[
            "media",
            "retention",
            fx.arg(),
            "--now",
            "2100-01-01T00:00:00Z",
        ],
    ] {
        let out = promptkit(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stdout(&out));
        assert_eq!(stdout(&out), "", "{args:?}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("promptkit media: error: "), "{err}");
        assert!(
            err.contains("corrupt") && err.contains("index.sqlite3"),
            "{args:?}: {err}"
        );
        assert_eq!(
            snapshot(fx.dir.path()),
            before,
            "{args:?} changed the store"
        );
    }
}

/// `gc --json` reports a removed file whose name is not UTF-8, escaped, and
/// exits 0 (the name is never a reason to fail after deleting).
#[test]
fn gc_reports_names_that_are_not_utf8() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let fx = Fixture::new();
    let name = OsStr::from_bytes(b"caf\xe9-\xff.bin");
    let odd = fx.dir.path().join("media/s1").join(name);
    fs::write(&odd, b"12345").expect("write odd name");
    let escaped = "media/s1/caf\\xE9-\\xFF.bin";

    let dry = json(&["media", "gc", fx.arg(), "--dry-run", "--json"], 0);
    assert_eq!(dry["orphan_media"], serde_json::json!([escaped]));
    assert!(odd.exists());
    let out = promptkit(&["media", "gc", fx.arg(), "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("    {escaped}\n")),
        "{}",
        stdout(&out)
    );

    let done = json(&["media", "gc", fx.arg(), "--json"], 0);
    assert_eq!(done["orphan_media"], serde_json::json!([escaped]));
    assert_eq!(done["freed_bytes"], 5);
    assert!(!odd.exists());
    let v = json(&["media", "verify", fx.arg(), "--json"], 0);
    assert_eq!(v["ok"], true);
}

/// A directory outside the store with files `gc` would remove if they were
/// in it (media without reference, a sidecar without media, an old temp
/// file) and a file of its own.
fn outside_dir() -> tempfile::TempDir {
    let outside = tempfile::tempdir().expect("tempdir");
    fs::write(outside.path().join("precious.txt"), b"keep me").expect("write");
    fs::write(outside.path().join("looks-orphan.png"), png_bytes()).expect("write");
    fs::write(outside.path().join("lonely.png.meta"), b"{}").expect("write");
    let temp = outside.path().join(".pk-tmp-old");
    fs::write(&temp, b"temp").expect("write");
    set_age(&temp, Duration::from_secs(2 * 3600));
    fs::create_dir(outside.path().join("sub")).expect("mkdir");
    fs::write(outside.path().join("sub/deep.bin"), b"deep").expect("write");
    outside
}

/// Runs every command on `store` expecting it refused with a path outside
/// the store, and checks `outside` and `store` did not change.
fn assert_refused_as_escape(store: &Path, outside: &Path) {
    let before_outside = snapshot(outside);
    let before_store = snapshot(store);
    let arg = path_str(store);
    for args in [
        &["media", "gc", arg][..],
        &["media", "gc", arg, "--temp-grace", "0s", "--json"],
        &["media", "gc", arg, "--dry-run"],
        &["media", "verify", arg],
        &["media", "stats", arg],
        &["media", "ls", arg],
        &["media", "retention", arg, "--now", "2100-01-01T00:00:00Z"],
    ] {
        let out = promptkit(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(err.contains("outside the store"), "{args:?}: {err}");
        assert_eq!(
            snapshot(outside),
            before_outside,
            "{args:?} touched outside"
        );
        assert_eq!(snapshot(store), before_store, "{args:?} changed the store");
    }
}

#[test]
fn a_media_folder_symlinked_outside_is_refused() {
    let fx = Fixture::new();
    let outside = outside_dir();
    let media = fx.dir.path().join("media");
    fs::rename(&media, fx.dir.path().join("media.real")).expect("move media");
    std::os::unix::fs::symlink(outside.path(), &media).expect("symlink");
    assert_refused_as_escape(fx.dir.path(), outside.path());
}

#[test]
fn a_state_folder_symlinked_outside_is_refused() {
    let fx = Fixture::new();
    let outside = outside_dir();
    let state = fx.dir.path().join(".promptkit");
    // The index moves out, so the store check passes and the store refuses.
    fs::rename(&state, outside.path().join("state")).expect("move state");
    std::os::unix::fs::symlink(outside.path().join("state"), &state).expect("symlink");
    assert_refused_as_escape(fx.dir.path(), outside.path());
}

#[test]
fn gc_and_verify_never_enter_a_session_folder_symlinked_outside() {
    let fx = Fixture::new();
    let outside = outside_dir();
    let link = fx.dir.path().join("media/evil");
    std::os::unix::fs::symlink(outside.path(), &link).expect("symlink");
    let before_outside = snapshot(outside.path());
    for args in [
        &[
            "media",
            "gc",
            fx.arg(),
            "--dry-run",
            "--json",
            "--temp-grace",
            "0s",
        ][..],
        &["media", "gc", fx.arg(), "--json", "--temp-grace", "0s"],
    ] {
        let v = json(args, 0);
        assert_eq!(v["clean"], true, "{args:?}: {v}");
        assert_eq!(snapshot(outside.path()), before_outside, "{args:?}");
    }
    let v = json(&["media", "verify", fx.arg(), "--json"], 0);
    assert_eq!(
        (v["ok"].clone(), v["checked"].clone()),
        (true.into(), 2.into())
    );
    let stats = json(&["media", "stats", fx.arg(), "--json"], 0);
    assert_eq!(
        (stats["objects"].clone(), stats["references"].clone()),
        (2.into(), 3.into())
    );
    assert!(fs::symlink_metadata(&link).expect("link").is_symlink());
    assert_eq!(snapshot(outside.path()), before_outside);
}

/// A lost `.meta` sidecar (a restore that skipped `*.meta`) hides nothing:
/// `verify` reports it (exit 1), `stats` and `ls` still show the reference,
/// `gc` rewrites the sidecar from the index and keeps the media.
#[test]
fn a_lost_sidecar_is_reported_shown_and_rewritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (png_ref, png) = runtime().block_on(async {
        let store = FileStore::builder()
            .with_base_dir(dir.path())
            .with_organization(promptkit_media_store::Organization::Flat)
            .build()
            .expect("open store");
        let meta = MediaMetadata::new()
            .with_session("s1")
            .with_conversation("c1");
        let png = store.store_bytes("image/png", png_bytes(), &meta).await;
        let text = store.store_bytes("text/plain", TEXT.into(), &meta).await;
        let png = png.expect("store");
        text.expect("store");
        let media = store.path_of(&png).await.expect("path_of");
        (png, media)
    });
    let arg = path_str(dir.path());
    let sidecar = PathBuf::from(format!("{}.meta", png.display()));
    let original = fs::read(&sidecar).expect("sidecar");
    fs::remove_file(&sidecar).expect("lose the sidecar");
    let location = relative(dir.path(), &sidecar);
    assert!(
        location.starts_with("media/") && !location[6..].contains('/'),
        "flat: {location}"
    );

    let v = json(&["media", "verify", arg, "--json"], 1);
    assert_eq!(v["ok"], false);
    assert_eq!(v["missing_sidecars"], serde_json::json!([location]));
    assert_eq!(v["corrupt"], serde_json::json!([]));
    assert_eq!(v["missing"], serde_json::json!([]));
    let out = promptkit(&["media", "verify", arg]);
    assert_eq!(out.status.code(), Some(1));
    let t = stdout(&out);
    assert!(t.contains(&format!("missing sidecar: {location}\n")), "{t}");
    assert!(
        t.contains("0 unreadable sidecars, 1 missing sidecar\n"),
        "{t}"
    );

    let stats = json(&["media", "stats", arg, "--json"], 0);
    assert_eq!(
        (stats["objects"].clone(), stats["references"].clone()),
        (2.into(), 2.into())
    );
    let ls = json(&["media", "ls", arg, "--json"], 0);
    let listed: Vec<&str> = ls["references"]
        .as_array()
        .expect("references")
        .iter()
        .filter_map(|r| r["mime_type"].as_str())
        .collect();
    assert_eq!(listed.len(), 2, "{ls}");
    assert!(listed.contains(&"image/png"), "{ls}");

    let dry = json(&["media", "gc", arg, "--dry-run", "--json"], 0);
    assert_eq!(dry["rewritten_sidecars"], serde_json::json!([location]));
    assert!(!sidecar.exists(), "a dry run writes nothing");
    let done = json(&["media", "gc", arg, "--json"], 0);
    assert_eq!(done["rewritten_sidecars"], serde_json::json!([location]));
    assert_eq!(done["orphan_media"], serde_json::json!([]));
    assert_eq!(done["dangling_references"], serde_json::json!([]));
    assert_eq!(done["freed_bytes"], 0);
    assert!(png.exists(), "the media stays");
    let rewritten: Value =
        serde_json::from_slice(&fs::read(&sidecar).expect("rewritten")).expect("sidecar JSON");
    let original: Value = serde_json::from_slice(&original).expect("sidecar JSON");
    assert_eq!(rewritten["blake3"], original["blake3"], "{rewritten}");
    assert_eq!(json(&["media", "verify", arg, "--json"], 0)["ok"], true);
    let ls_after = json(&["media", "ls", arg, "--json"], 0);
    assert_eq!(ls_after, ls);
    let back = runtime().block_on(async { open(dir.path()).retrieve_bytes(&png_ref).await });
    assert_eq!(back.expect("retrieve"), png_bytes());
}
