//! SDK turn overhead against a raw `reqwest` call to the same local
//! OpenAI-compatible server, and 1,000 concurrent conversations.

use std::sync::Arc;
use std::time::Instant;

use promptkit_bench::fixtures::chat_pack;
use promptkit_bench::server::{ServerChild, Workload};
use promptkit_bench::stats::{Samples, fmt_duration};
use promptkit_core::{ChatRequest, Message, Provider};
use promptkit_media_store::FileStore;
use promptkit_provider_openai::OpenAiProvider;
use promptkit_sdk::{ConversationConfig, ConversationManager, ManagerConfig};
use tokio::sync::Mutex;

use crate::report::{Section, verdict};

/// Target: SDK turn p50 / raw call p50.
const TARGET_OVERHEAD: f64 = 1.10;
const SYSTEM: &str = "You are a helpful assistant.";

fn manager(
    base_url: &str,
    media: &std::path::Path,
    max_concurrent: usize,
) -> Result<ConversationManager, String> {
    let provider = OpenAiProvider::builder()
        .with_base_url(base_url)
        .with_no_api_key()
        .with_model("gpt-4o")
        .build()
        .map_err(|e| e.to_string())?;
    let store = FileStore::builder()
        .with_base_dir(media)
        .with_fsync(false)
        .build()
        .map_err(|e| e.to_string())?;
    ConversationManager::builder()
        .provider(provider)
        .media_store(store)
        .config(ManagerConfig {
            max_concurrent,
            ..ManagerConfig::default()
        })
        .build()
        .map_err(|e| e.to_string())
}

async fn raw_turn(client: &reqwest::Client, url: &str, text: &str) -> Result<String, String> {
    let body = serde_json::json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": text},
        ],
    });
    let resp = client
        .post(url)
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let v: serde_json::Value = resp.json().await.map_err(|e| e.to_string())?;
    v["choices"][0]["message"]["content"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no content in {v}"))
}

pub(crate) async fn overhead(quick: bool) -> Result<Section, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let server = ServerChild::spawn(&exe, &Workload::Echo).map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let manager = manager(server.base_url(), dir.path(), 64)?;
    let pack = manager.register_pack(chat_pack());
    let client = reqwest::Client::new();
    let url = format!("{}/chat/completions", server.base_url());
    let (warm, n) = if quick { (30, 300) } else { (100, 2000) };
    let (mut sdk, mut raw, mut prov) = (Samples::new(), Samples::new(), Samples::new());
    let provider = manager.provider().clone();
    for i in 0..warm + n {
        let text = format!("hello {i}");
        // A fresh conversation per turn (created outside the timing) so both
        // sides send the same two messages.
        let mut conv = manager
            .new_conversation(&pack, ConversationConfig::new("u", "s"))
            .map_err(|e| e.to_string())?;
        let run_sdk = async {
            let t = Instant::now();
            let r = conv.send(text.clone()).await.map_err(|e| e.to_string())?;
            let d = t.elapsed();
            if r.content != format!("echo: {text}") {
                return Err(format!("unexpected SDK reply {:?}", r.content));
            }
            Ok::<_, String>(d)
        };
        // Alternate the order so neither side always runs on a warmer path.
        let (ds, dr) = if i % 2 == 0 {
            let ds = run_sdk.await?;
            let t = Instant::now();
            raw_turn(&client, &url, &text).await?;
            (ds, t.elapsed())
        } else {
            let t = Instant::now();
            raw_turn(&client, &url, &text).await?;
            let dr = t.elapsed();
            (run_sdk.await?, dr)
        };
        // The provider alone, with the same two messages: splits the SDK's
        // overhead between the provider and the conversation layer.
        let req = ChatRequest::new(vec![Message::system(SYSTEM), Message::user(text.clone())]);
        let t = Instant::now();
        provider.chat(&req).await.map_err(|e| e.to_string())?;
        let dp = t.elapsed();
        if i >= warm {
            sdk.push(ds);
            raw.push(dr);
            prov.push(dp);
        }
    }
    let ratio = sdk.percentile(50.0).as_secs_f64() / raw.percentile(50.0).as_secs_f64().max(1e-12);
    let mut s = Section::new(
        "SDK turn vs raw reqwest call (same local mock server, sequential)",
        &["client", "n", "p50", "p90", "p99", "mean"],
    );
    for (name, x) in [
        ("raw reqwest + serde_json", &mut raw),
        ("OpenAiProvider::chat alone", &mut prov),
        ("SDK Conversation::send", &mut sdk),
    ] {
        s.row(vec![
            name.to_owned(),
            x.len().to_string(),
            fmt_duration(x.percentile(50.0)),
            fmt_duration(x.percentile(90.0)),
            fmt_duration(x.percentile(99.0)),
            fmt_duration(x.mean()),
        ]);
    }
    s.note("The SDK side times `Conversation::send` on a fresh conversation (created untimed): request building, OpenAiProvider request mapping and HTTP call, response parsing, cost, validators, externalization check, state saved to the in-memory state store. The raw side sends the same two messages with `reqwest` and parses the JSON. Calls alternate, so both see the same server and machine load.");
    s.note(format!(
        "target SDK/raw ≤ {TARGET_OVERHEAD:.2} at p50: {ratio:.3} (+{}) → {}",
        fmt_duration(sdk.percentile(50.0).saturating_sub(raw.percentile(50.0))),
        verdict(ratio <= TARGET_OVERHEAD)
    ));
    Ok(s)
}

pub(crate) async fn concurrency(quick: bool) -> Result<Section, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let server = ServerChild::spawn(&exe, &Workload::Echo).map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let conversations = 1000;
    let turns = if quick { 2 } else { 5 };
    let manager = manager(server.base_url(), dir.path(), conversations)?;
    let pack = manager.register_pack(chat_pack());
    let all = Arc::new(Mutex::new(Samples::new()));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let start = Arc::new(tokio::sync::Barrier::new(conversations));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..conversations {
        let (manager, pack, all, failures, start) = (
            manager.clone(),
            pack.clone(),
            all.clone(),
            failures.clone(),
            start.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut local = Samples::new();
            let mut conv = match manager
                .new_conversation(&pack, ConversationConfig::new(format!("u{c}"), "s"))
            {
                Ok(c) => c,
                Err(e) => {
                    failures.lock().await.push(e.to_string());
                    return;
                }
            };
            start.wait().await;
            for t in 0..turns {
                let at = Instant::now();
                match conv.send(format!("conversation {c} turn {t}")).await {
                    Ok(_) => local.push(at.elapsed()),
                    Err(e) => failures.lock().await.push(e.to_string()),
                }
            }
            all.lock().await.extend(&local);
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())?;
    }
    let elapsed = t0.elapsed();
    let mut lat = std::mem::take(&mut *all.lock().await);
    let failures = failures.lock().await.clone();
    let mut s = Section::new(
        "1,000 concurrent conversations (one process, 2 cores shared with the mock server)",
        &[
            "conversations",
            "turns",
            "failed",
            "turns/s",
            "p50",
            "p90",
            "p99",
            "max",
            "wall",
        ],
    );
    s.row(vec![
        conversations.to_string(),
        lat.len().to_string(),
        failures.len().to_string(),
        format!("{:.0}", lat.len() as f64 / elapsed.as_secs_f64().max(1e-9)),
        fmt_duration(lat.percentile(50.0)),
        fmt_duration(lat.percentile(90.0)),
        fmt_duration(lat.percentile(99.0)),
        fmt_duration(lat.percentile(100.0)),
        fmt_duration(elapsed),
    ]);
    s.note(format!("{turns} turns per conversation, all conversations start together; `max_concurrent` = 1000 (no SDK-side queueing); latency includes waiting for the 2 cores."));
    if let Some(f) = failures.first() {
        s.note(format!("first failure: {f}"));
    }
    Ok(s)
}
