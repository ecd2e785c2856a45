//! Memory of a conversation after N generated ~1 MB images, with and without
//! externalization. Each scenario runs in a fresh child process
//! (`promptkit-bench memory-child N MODE`) so that baselines are clean.

use std::process::Command;
use std::time::Instant;

use promptkit_bench::fixtures::{IMAGE_TOOL, ImageChat, NullState, image_pack, pool_image_tool};
use promptkit_bench::images::ImagePool;
use promptkit_bench::mem::{peak_rss_bytes, rss_bytes, settled_heap};
use promptkit_bench::stats::fmt_bytes;
use promptkit_media_store::FileStore;
use promptkit_sdk::{ConversationConfig, ConversationManager, ManagerConfig, RehydrationPolicy};
use serde::{Deserialize, Serialize};

use crate::report::{Section, verdict};

/// Bytes per generated image.
const IMAGE_SIZE: usize = 1024 * 1024;
/// Target: growth per image with externalization.
const TARGET_PER_IMAGE: f64 = 1024.0;
/// Target: a 1000-image conversation above baseline.
const TARGET_1000: f64 = 5.0 * 1024.0 * 1024.0;

/// What one child measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MemoryResult {
    images: usize,
    mode: String,
    rss_base: u64,
    rss_end: u64,
    peak_rss: u64,
    heap_base: u64,
    heap_end: u64,
    inline_media_bytes: usize,
    reference_bytes: usize,
    messages: usize,
    seconds: f64,
}

/// The child: runs `images` image turns in `mode` (`inline`, `external`,
/// `external-release`, `external-keep`, `external-recent`,
/// `external-current`, `external-all`, `external-nostate`) and prints one
/// JSON line.
pub(crate) fn child(images: usize, mode: &str) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let result = rt.block_on(async {
        let mut config = ManagerConfig::default();
        let mut builder = ConversationManager::builder()
            .provider(ImageChat)
            .tool(IMAGE_TOOL, pool_image_tool(ImagePool::new(IMAGE_SIZE, 11)));
        match mode {
            "inline" => config.externalize = false,
            "external" | "external-release" | "external-keep" | "external-recent"
            | "external-current" | "external-all" | "external-nostate" => {
                // `external` is the SDK's defaults; the others set one thing
                // explicitly, so they measure the same whatever the defaults.
                match mode {
                    "external-all" => config.rehydration = RehydrationPolicy::All,
                    "external-recent" => config.rehydration = RehydrationPolicy::Recent(8),
                    "external-current" | "external-nostate" => {
                        config.rehydration = RehydrationPolicy::CurrentTurn
                    }
                    // glibc's malloc fixed and trimmed, or as the process found it.
                    "external-release" => config.release_memory = true,
                    "external-keep" => config.release_memory = false,
                    _ => {}
                }
                if mode == "external-nostate" {
                    builder = builder.state_store(NullState);
                }
                let store = FileStore::builder()
                    .with_base_dir(dir.path())
                    .with_fsync(false)
                    .build()
                    .map_err(|e| e.to_string())?;
                builder = builder.media_store(store);
            }
            other => return Err(format!("unknown mode {other:?}")),
        }
        let manager = builder.config(config).build().map_err(|e| e.to_string())?;
        let pack = manager.register_pack(image_pack());
        let mut conv = manager
            .new_conversation(&pack, ConversationConfig::new("bench", "memory"))
            .map_err(|e| e.to_string())?;
        // Warm-up turns initialize the runtime, the store and lazy statics.
        for i in 0..2 {
            conv.send(format!("draw warm-up picture {i}"))
                .await
                .map_err(|e| e.to_string())?;
        }
        let heap_base = settled_heap(|| crate::ALLOC.allocated()).await as u64;
        let rss_base = rss_bytes().unwrap_or(0);
        let started = Instant::now();
        for i in 0..images {
            conv.send(format!("draw picture {i}"))
                .await
                .map_err(|e| e.to_string())?;
        }
        let seconds = started.elapsed().as_secs_f64();
        let stats = conv.memory_stats();
        let heap_end = settled_heap(|| crate::ALLOC.allocated()).await as u64;
        Ok(MemoryResult {
            images,
            mode: mode.to_owned(),
            rss_base,
            rss_end: rss_bytes().unwrap_or(0),
            peak_rss: peak_rss_bytes().unwrap_or(0),
            heap_base,
            heap_end,
            inline_media_bytes: stats.inline_media_bytes,
            reference_bytes: stats.reference_bytes,
            messages: stats.messages,
            seconds,
        })
    })?;
    println!(
        "{}",
        serde_json::to_string(&result).map_err(|e| e.to_string())?
    );
    Ok(())
}

fn run_child(images: usize, mode: &str) -> Result<MemoryResult, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(exe);
    cmd.args(["memory-child", &images.to_string(), mode]);
    let out = cmd.output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "memory-child {images} {mode} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let line = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(line.trim()).map_err(|e| format!("memory-child output {line:?}: {e}"))
}

/// Runs every scenario and builds the table.
pub(crate) fn bench(quick: bool) -> Result<Section, String> {
    let mut s = Section::new(
        "Memory of a conversation with N generated 1 MiB images",
        &[
            "images",
            "mode",
            "heap above baseline",
            "heap per image",
            "RSS above baseline",
            "RSS per image",
            "peak RSS",
            "inline media in history",
            "time",
        ],
    );
    let mut scenarios: Vec<(usize, &str)> = Vec::new();
    for n in [10, 100, 1000] {
        scenarios.push((n, "external"));
        if !(quick && n == 1000) {
            scenarios.push((n, "inline"));
        }
    }
    let big = if quick { 100 } else { 1000 };
    scenarios.push((big, "external-release"));
    scenarios.push((big, "external-keep"));
    scenarios.push((big, "external-recent"));
    scenarios.push((big, "external-current"));
    scenarios.push((big, "external-nostate"));
    scenarios.push((10, "external-all"));
    if !quick {
        scenarios.push((100, "external-all"));
    }
    let mut verdicts = Vec::new();
    for (n, mode) in scenarios {
        eprintln!("memory: {n} images, {mode}");
        let r = run_child(n, mode)?;
        let heap = r.heap_end as f64 - r.heap_base as f64;
        let rss = r.rss_end as f64 - r.rss_base as f64;
        s.row(vec![
            n.to_string(),
            mode.to_owned(),
            fmt_bytes(heap),
            fmt_bytes(heap / n as f64),
            fmt_bytes(rss),
            fmt_bytes(rss / n as f64),
            fmt_bytes(r.peak_rss as f64),
            fmt_bytes(r.inline_media_bytes as f64),
            format!("{:.2}s", r.seconds),
        ]);
        if n == big && mode.starts_with("external") && mode != "external-nostate" {
            verdicts.push((mode, heap, rss, r.reference_bytes, r.messages));
        }
    }
    let defaults = ManagerConfig::default();
    s.note(format!("modes: `inline` = externalization off (history keeps the bytes); `external` = FileStore (fsync off) with the SDK's defaults (rehydration `{:?}`, `release_memory: {}`); `external-release` = `external` with `release_memory: true` (glibc's malloc thresholds fixed at 128 KiB, the allocator trimmed after media turns); `external-keep` = `external` with `release_memory: false` (glibc's dynamic mmap threshold keeps freed megabyte buffers in its arenas; see docs/production.md); `external-recent` = rehydration `Recent(8)` (the 8 newest earlier images are loaded again for each request); `external-current` = rehydration `CurrentTurn`; `external-all` = rehydration `All` (every earlier image is loaded again for every request); `external-nostate` = `external-current` with a state store that keeps nothing (the history alone).", defaults.rehydration, defaults.release_memory));
    s.note("heap = live bytes of a counting global allocator; RSS = VmRSS. Baseline: after two warm-up image turns. Conversations use the default in-memory state store.");
    for (mode, heap, rss, refs, messages) in verdicts {
        let per = heap / big as f64;
        s.note(format!(
            "`{mode}`, {big} images: target < 1 KiB per image (heap): {per:.0} B → {}; target < 5 MiB above baseline: heap {} → {}, RSS {} → {}; history {messages} messages, {} of storage references",
            verdict(per < TARGET_PER_IMAGE),
            fmt_bytes(heap),
            verdict(heap < TARGET_1000),
            fmt_bytes(rss),
            verdict(rss < TARGET_1000),
            fmt_bytes(refs as f64)
        ));
    }
    Ok(s)
}
