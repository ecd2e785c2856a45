//! The same image-heavy workload through this SDK, the official `openai`
//! Python client and LangChain's `ChatOpenAI` (in-memory history), each in
//! its own process against its own mock server: memory and turns/s.
//!
//! Per turn: a chat call answered with a call of the image tool, an
//! `/images/generations` call answered with a 1 MiB PNG-like `b64_json`
//! image, then a chat call answered with text. The Python peers keep the
//! image in history as a `data:` URL (as an in-memory chat app does) and
//! send the whole history with every request; the SDK externalizes it to a
//! `FileStore` and keeps a reference; with the default rehydration
//! (`Recent(8)`) its requests carry at most the 8 newest images.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use promptkit_bench::fixtures::{IMAGE_TOOL, image_pack};
use promptkit_bench::mem::{peak_rss_bytes, rss_bytes};
use promptkit_bench::server::{ServerChild, Workload};
use promptkit_bench::stats::fmt_bytes;
use promptkit_media_store::FileStore;
use promptkit_provider_openai::OpenAiProvider;
use promptkit_sdk::{ConversationConfig, ConversationManager, ManagerConfig, RehydrationPolicy};
use serde::{Deserialize, Serialize};

use crate::report::Section;

const IMAGE_SIZE: usize = 1024 * 1024;

/// One peer's measurements (the Python script prints the same fields).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PeerResult {
    client: String,
    turns: usize,
    seconds: f64,
    rss_base: u64,
    rss_end: u64,
    peak_rss: u64,
}

/// `peer-child TURNS BASE_URL [current]`: the SDK side of the workload,
/// with the default configuration or rehydration `CurrentTurn`.
pub(crate) fn child(args: &[String]) -> Result<(), String> {
    let (turns, base_url, current) = match args {
        [t, u] => (t, u, false),
        [t, u, m] if m == "current" => (t, u, true),
        _ => return Err("usage: peer-child TURNS BASE_URL [current]".into()),
    };
    let turns: usize = turns.parse().map_err(|e| format!("{turns:?}: {e}"))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let result = rt.block_on(async {
        let provider = OpenAiProvider::builder()
            .with_base_url(base_url.as_str())
            .with_no_api_key()
            .with_model("gpt-4o")
            .build()
            .map_err(|e| e.to_string())?;
        let store = FileStore::builder()
            .with_base_dir(dir.path())
            .with_fsync(false)
            .build()
            .map_err(|e| e.to_string())?;
        let manager = ConversationManager::builder()
            .provider(provider)
            .media_store(store)
            .image_tool(IMAGE_TOOL)
            .config(ManagerConfig {
                rehydration: if current {
                    RehydrationPolicy::CurrentTurn
                } else {
                    RehydrationPolicy::default()
                },
                ..ManagerConfig::default()
            })
            .build()
            .map_err(|e| e.to_string())?;
        let pack = manager.register_pack(image_pack());
        let mut conv = manager
            .new_conversation(&pack, ConversationConfig::new("peer", "bench"))
            .map_err(|e| e.to_string())?;
        let rss_base = rss_bytes().unwrap_or(0);
        let t = Instant::now();
        for i in 0..turns {
            let r = conv
                .send(format!("draw picture {i}"))
                .await
                .map_err(|e| e.to_string())?;
            if r.stored_media.len() != 1 {
                return Err(format!("turn {i} stored {} images", r.stored_media.len()));
            }
        }
        Ok::<_, String>(PeerResult {
            client: if current {
                "promptkit-rs SDK (rehydration CurrentTurn)".into()
            } else {
                "promptkit-rs SDK (default config)".into()
            },
            turns,
            seconds: t.elapsed().as_secs_f64(),
            rss_base,
            rss_end: rss_bytes().unwrap_or(0),
            peak_rss: peak_rss_bytes().unwrap_or(0),
        })
    })?;
    println!(
        "{}",
        serde_json::to_string(&result).map_err(|e| e.to_string())?
    );
    Ok(())
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../xtask/peers/peers.py")
}

fn run_one(mut cmd: Command) -> Result<PeerResult, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or_default();
    serde_json::from_str(line).map_err(|e| format!("{cmd:?} printed {line:?}: {e}"))
}

pub(crate) fn bench(python: &Path, quick: bool) -> Result<Section, String> {
    let turns = if quick { 5 } else { 20 };
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut s = Section::new(
        &format!("Peers: {turns} image turns (1 MiB images) against the local mock server"),
        &[
            "client",
            "turns/s",
            "RSS above baseline",
            "per image",
            "peak RSS",
        ],
    );
    for client in ["sdk", "sdk-current", "openai", "langchain"] {
        eprintln!("peers: {client}");
        let server = ServerChild::spawn(
            &exe,
            &Workload::Images {
                turns,
                size: IMAGE_SIZE,
            },
        )
        .map_err(|e| e.to_string())?;
        let cmd = if client.starts_with("sdk") {
            let mut c = Command::new(&exe);
            c.args(["peer-child", &turns.to_string(), server.base_url()]);
            if client == "sdk-current" {
                c.arg("current");
            }
            c
        } else {
            let mut c = Command::new(python);
            c.arg(script())
                .args(["--client", client, "--turns", &turns.to_string()])
                .args(["--base-url", server.base_url()]);
            c
        };
        let r = run_one(cmd)?;
        let growth = r.rss_end as f64 - r.rss_base as f64;
        s.row(vec![
            r.client.clone(),
            format!("{:.1}", r.turns as f64 / r.seconds.max(1e-9)),
            fmt_bytes(growth),
            fmt_bytes(growth / r.turns.max(1) as f64),
            fmt_bytes(r.peak_rss as f64),
        ]);
    }
    s.note("Each turn makes two chat calls and one image call. The Python clients keep each image in history as a base64 `data:` URL and resend the whole history with every request (so their requests grow with the conversation); the SDK stores each image and, with its default configuration, sends at most the 8 newest images again (`RehydrationPolicy::Recent(8)`), or only the current turn's (`CurrentTurn`).");
    s.note("RSS is VmRSS of the client process (baseline after setup, before the first turn); the mock server runs in a separate process.");
    Ok(s)
}
