//! Scale of the local store: a store holding 1,000,000 references (quick:
//! 100,000) opened by a fresh process, its first store, its growth over an
//! empty store's, dedup hits against hits at 1 reference, and `stats`; plus
//! the size of the local engine's source (non-test lines of
//! `crates/media-store/src/local/`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use promptkit_bench::images::ImagePool;
use promptkit_bench::stats::{Samples, fmt_duration};
use promptkit_media_store::{FileStore, MediaMetadata, MediaStore, MediaStoreExt};

use crate::report::{Section, verdict};

/// Distinct contents the references point to.
const CONTENTS: u64 = 1000;
/// References per conversation.
const PER_CONVERSATION: u64 = 100;

fn open(dir: &Path) -> Result<FileStore, String> {
    FileStore::builder()
        .with_base_dir(dir)
        .with_fsync(false)
        .build()
        .map_err(|e| e.to_string())
}

fn meta(i: u64) -> MediaMetadata {
    MediaMetadata::new()
        .with_session(format!("s{}", i % 100))
        .with_conversation(format!("c{}", i / PER_CONVERSATION))
}

/// Fills a store with `n` references to `CONTENTS` distinct small images.
async fn fill(dir: &Path, n: u64) -> Result<(), String> {
    let store = open(dir)?;
    let pool = ImagePool::new(2048, 2048);
    let started = Instant::now();
    futures::stream::iter(0..n)
        .map(|i| {
            let (store, data) = (store.clone(), pool.image(i % CONTENTS));
            async move {
                store
                    .store_bytes("image/png", data, &meta(i))
                    .await
                    .map(drop)
            }
        })
        .buffer_unordered(8)
        .try_collect::<()>()
        .await
        .map_err(|e| e.to_string())?;
    eprintln!("scale: {n} references stored in {:.1?}", started.elapsed());
    Ok(())
}

/// What a fresh process measures on the store at `dir`.
#[derive(Debug, Default)]
struct Probe {
    open_and_first_store: Duration,
    rss_growth: u64,
    stats: Duration,
    references: u64,
    hits: Samples,
}

fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

/// The child role `scale-child DIR HITS`: opens the store, stores once,
/// reads `stats`, times `HITS` dedup hits; prints one line of numbers.
pub(crate) fn child(args: &[String]) -> Result<(), String> {
    let [dir, hits] = args else {
        return Err("usage: scale-child DIR HITS".into());
    };
    let hits: usize = hits.parse().map_err(|e| format!("{hits:?}: {e}"))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let pool = ImagePool::new(2048, 2048);
    let before = rss();
    rt.block_on(async {
        let t = Instant::now();
        let store = open(dir.as_ref())?;
        let first = store
            .store_bytes("image/png", pool.image(CONTENTS + 7), &meta(0))
            .await
            .map_err(|e| e.to_string())?;
        let open_and_first = t.elapsed();
        let t = Instant::now();
        let stats = store.stats().await.map_err(|e| e.to_string())?;
        let stats_time = t.elapsed();
        let growth = rss().saturating_sub(before);
        let logo = pool.image(3);
        let mut samples = Vec::with_capacity(hits);
        for _ in 0..hits {
            let t = Instant::now();
            let r = store
                .store_bytes("image/png", logo.clone(), &meta(1))
                .await
                .map_err(|e| e.to_string())?;
            samples.push(t.elapsed().as_nanos());
            store.delete(&r).await.map_err(|e| e.to_string())?;
        }
        store.delete(&first).await.map_err(|e| e.to_string())?;
        let samples: Vec<String> = samples.iter().map(u128::to_string).collect();
        println!(
            "{} {} {} {} {}",
            open_and_first.as_nanos(),
            growth,
            stats_time.as_nanos(),
            stats.references,
            samples.join(",")
        );
        Ok(())
    })
}

fn probe(dir: &Path, hits: usize) -> Result<Probe, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .args(["scale-child", &dir.display().to_string(), &hits.to_string()])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "scale child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<&str> = text.split_whitespace().collect();
    let num = |i: usize| -> Result<u128, String> {
        f.get(i)
            .ok_or("short scale child output")?
            .parse::<u128>()
            .map_err(|e| e.to_string())
    };
    let mut hits_samples = Samples::new();
    for s in f.get(4).unwrap_or(&"").split(',').filter(|s| !s.is_empty()) {
        let ns: u64 = s
            .parse()
            .map_err(|e: std::num::ParseIntError| e.to_string())?;
        hits_samples.push(Duration::from_nanos(ns));
    }
    Ok(Probe {
        open_and_first_store: Duration::from_nanos(num(0)? as u64),
        rss_growth: num(1)? as u64,
        stats: Duration::from_nanos(num(2)? as u64),
        references: num(3)? as u64,
        hits: hits_samples,
    })
}

/// Non-test lines of the Rust files in `dir` (a `#[cfg(test)]` module to
/// the end of its file is left out), and all lines.
fn source_lines(dir: &Path) -> (usize, usize) {
    let (mut code, mut all) = (0, 0);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (0, 0);
    };
    for e in entries.flatten() {
        let Ok(text) = std::fs::read_to_string(e.path()) else {
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        all += lines.len();
        code += lines
            .iter()
            .position(|l| l.trim() == "#[cfg(test)]")
            .unwrap_or(lines.len());
    }
    (code, all)
}

pub(crate) async fn bench(quick: bool) -> Result<Section, String> {
    let mut s = Section::new(
        "Scale (local store, fsync off)",
        &["measure", "empty store", "large store", "target", "verdict"],
    );
    let n: u64 = if quick { 100_000 } else { 1_000_000 };
    let hits = if quick { 50 } else { 200 };
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (empty, large) = (dir.path().join("empty"), dir.path().join("large"));
    open(&empty)?;
    fill(&large, n).await?;
    let mut e = probe(&empty, hits)?;
    let mut l = probe(&large, hits)?;
    if l.references < n {
        return Err(format!("the large store holds {} references", l.references));
    }
    let growth = l.rss_growth.saturating_sub(e.rss_growth);
    let hit_ratio =
        l.hits.percentile(50.0).as_secs_f64() / e.hits.percentile(50.0).as_secs_f64().max(1e-12);
    let mib = |b: u64| format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0));
    s.row(vec![
        "open + first store (fresh process)".into(),
        fmt_duration(e.open_and_first_store),
        fmt_duration(l.open_and_first_store),
        "< 1 s".into(),
        verdict(l.open_and_first_store < Duration::from_secs(1)).into(),
    ]);
    s.row(vec![
        "process growth (RSS after open, a store and stats)".into(),
        mib(e.rss_growth),
        mib(l.rss_growth),
        "< 32 MiB over the empty store's".into(),
        verdict(growth < 32 * 1024 * 1024).into(),
    ]);
    s.row(vec![
        "dedup hit (2 KiB image, p50)".into(),
        fmt_duration(e.hits.percentile(50.0)),
        fmt_duration(l.hits.percentile(50.0)),
        "≤ 2× the empty store's".into(),
        format!("{hit_ratio:.2}× {}", verdict(hit_ratio <= 2.0)),
    ]);
    s.row(vec![
        "stats".into(),
        fmt_duration(e.stats),
        fmt_duration(l.stats),
        "< 1 s".into(),
        verdict(l.stats < Duration::from_secs(1)).into(),
    ]);
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../media-store/src/local");
    let (code, all) = source_lines(&local);
    s.row(vec![
        "crates/media-store/src/local/ non-test lines (docs included)".into(),
        "-".into(),
        format!("{code} ({all} with tests)"),
        "≤ 1,500".into(),
        verdict(code <= 1500).into(),
    ]);
    s.note(format!(
        "The large store holds {n} references to {CONTENTS} distinct images in {} conversations and 100 sessions; each measure is taken by a fresh process (`promptkit-bench scale-child`).",
        n / PER_CONVERSATION
    ));
    Ok(s)
}
