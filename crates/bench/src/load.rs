//! The load run: many turns across concurrent conversations against a
//! fault-injecting mock server, through the real `OpenAiProvider` and a
//! `FileStore`, checking that no message is lost.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use promptkit_core::MediaContent;
use promptkit_media_store::{FileStore, MediaStore};
use promptkit_provider_openai::{OpenAiProvider, RetryPolicy};
use promptkit_sdk::{ConversationConfig, ConversationManager, ManagerConfig, RehydrationPolicy};
use tokio::sync::Mutex;

use crate::fixtures::chat_pack;
use crate::images::ImagePool;
use crate::mem::rss_bytes;
use crate::stats::Samples;

/// Shape of a load run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Concurrent conversations.
    pub conversations: usize,
    /// Turns in total (split evenly over the conversations).
    pub turns: usize,
    /// Every n-th turn of a conversation sends an image (0: never).
    pub media_every: usize,
    /// Bytes per sent image (externalized: the threshold is 1 KiB).
    pub media_size: usize,
    /// Per-attempt timeout of the provider (injected slow answers exceed it).
    pub provider_timeout: Duration,
    /// Attempts per provider call (retries use a ~1 ms backoff).
    pub max_attempts: u32,
}

/// What a load run observed.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Turns that returned a response.
    pub ok_turns: usize,
    /// Turns that returned an error.
    pub failed_turns: usize,
    /// Errors by kind (`transient-429`, `transient-500`, `timeout`, ...).
    pub errors: BTreeMap<String, usize>,
    /// Wall-clock time of all turns.
    pub elapsed: Duration,
    /// Latency of every turn (successful or not).
    pub latencies: Samples,
    /// RSS after the first tenth of the turns.
    pub rss_after_warmup: u64,
    /// RSS after the last turn.
    pub rss_end: u64,
    /// Temporary files left in the media directory.
    pub temp_files_left: usize,
    /// Images the successful turns stored.
    pub media_stored: usize,
    /// References the store holds at the end.
    pub store_references: u64,
    /// Everything that contradicts "no lost message" (empty when all is well).
    pub problems: Vec<String>,
}

impl LoadReport {
    /// Turns per second.
    pub fn turns_per_sec(&self) -> f64 {
        (self.ok_turns + self.failed_turns) as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Classifies an SDK error; `None` for kinds this workload must never produce.
fn error_kind(e: &promptkit_sdk::Error) -> Option<String> {
    use promptkit_core::Error as P;
    match e {
        promptkit_sdk::Error::Provider(P::Transient { status, .. }) => Some(match status {
            Some(s) => format!("transient-{s}"),
            None => "transient".into(),
        }),
        promptkit_sdk::Error::Provider(P::Timeout { .. }) => Some("timeout".into()),
        _ => None,
    }
}

#[derive(Default)]
struct Totals {
    report: LoadReport,
}

/// Runs the load against the mock at `base_url`, with media stored under
/// `media_dir`.
pub async fn run_load(
    base_url: &str,
    media_dir: &Path,
    cfg: &LoadConfig,
) -> Result<LoadReport, String> {
    let provider = OpenAiProvider::builder()
        .with_base_url(base_url)
        .with_no_api_key()
        .with_model("gpt-4o")
        .with_timeout(cfg.provider_timeout)
        .with_retry_policy(RetryPolicy {
            max_attempts: cfg.max_attempts,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(4),
            max_retry_after: Duration::from_secs(1),
            retry_timeouts: true,
        })
        .build()
        .map_err(|e| e.to_string())?;
    let store = FileStore::builder()
        .with_base_dir(media_dir)
        .with_fsync(false)
        .build()
        .map_err(|e| e.to_string())?;
    let store = Arc::new(store);
    let manager = ConversationManager::builder()
        .provider(provider)
        .media_store_arc(store.clone())
        .config(ManagerConfig {
            media_size_threshold_kb: 1,
            max_concurrent: cfg.conversations.max(1),
            rehydration: RehydrationPolicy::CurrentTurn,
            default_timeout: Duration::from_secs(60),
            ..ManagerConfig::default()
        })
        .build()
        .map_err(|e| e.to_string())?;
    let pack = manager.register_pack(chat_pack());
    let pool = ImagePool::new(cfg.media_size, 7);
    let per_conv = cfg.turns / cfg.conversations.max(1);
    let done = Arc::new(AtomicUsize::new(0));
    let warm_at = cfg.turns / 10;
    let warm_rss = Arc::new(Mutex::new(0u64));
    let totals = Arc::new(Mutex::new(Totals::default()));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(cfg.conversations);
    for c in 0..cfg.conversations {
        let (manager, pack, pool) = (manager.clone(), pack.clone(), pool.clone());
        let (done, warm_rss, totals) = (done.clone(), warm_rss.clone(), totals.clone());
        let media_every = cfg.media_every;
        tasks.push(tokio::spawn(async move {
            let mut local = LoadReport::default();
            let conf = ConversationConfig::new(format!("user-{c}"), "load")
                .with_conversation_id(format!("conv-{c}"));
            let mut conv = match manager.new_conversation(&pack, conf) {
                Ok(conv) => conv,
                Err(e) => {
                    local.problems.push(format!("conv-{c}: cannot start: {e}"));
                    totals.lock().await.report.problems.extend(local.problems);
                    return;
                }
            };
            let mut expected: Vec<String> = Vec::new();
            for t in 0..per_conv {
                let text = format!("conv {c} turn {t}");
                let before = conv.history().len();
                let with_media = media_every > 0 && t % media_every == 0;
                let turn_start = Instant::now();
                let result = if with_media {
                    let img = MediaContent::from_bytes(
                        "image/png",
                        pool.image((c * 1_000_000 + t) as u64),
                    );
                    conv.send_with_media(text.clone(), vec![img]).await
                } else {
                    conv.send(text.clone()).await
                };
                local.latencies.push(turn_start.elapsed());
                match result {
                    Ok(resp) => {
                        local.ok_turns += 1;
                        if with_media {
                            local.media_stored += resp.stored_media.len();
                            if resp.stored_media.len() != 1 {
                                local.problems.push(format!(
                                    "conv-{c} turn {t}: {} media stored, expected 1",
                                    resp.stored_media.len()
                                ));
                            }
                        }
                        if resp.content != format!("echo: {text}") {
                            local.problems.push(format!(
                                "conv-{c} turn {t}: reply {:?} does not answer {text:?}",
                                resp.content
                            ));
                        }
                        expected.push(text);
                    }
                    Err(e) => {
                        local.failed_turns += 1;
                        match error_kind(&e) {
                            Some(k) => *local.errors.entry(k).or_default() += 1,
                            None => local
                                .problems
                                .push(format!("conv-{c} turn {t}: unexpected error kind: {e}")),
                        }
                        if conv.history().len() != before {
                            local
                                .problems
                                .push(format!("conv-{c} turn {t}: a failed turn changed history"));
                        }
                    }
                }
                if done.fetch_add(1, Ordering::Relaxed) + 1 == warm_at {
                    *warm_rss.lock().await = rss_bytes().unwrap_or(0);
                }
            }
            // History holds exactly the successful turns, in order, each
            // user message followed by its own answer.
            let h = conv.history();
            if h.len() != expected.len() * 2 {
                local.problems.push(format!(
                    "conv-{c}: history has {} messages for {} successful turns",
                    h.len(),
                    expected.len()
                ));
            }
            for (i, (pair, text)) in h.chunks(2).zip(&expected).enumerate() {
                let ok = pair.len() == 2
                    && pair[0].text() == *text
                    && pair[1].text() == format!("echo: {text}");
                if !ok {
                    local
                        .problems
                        .push(format!("conv-{c}: history pair {i} is not turn {text:?}"));
                }
            }
            let mut tot = totals.lock().await;
            let r = &mut tot.report;
            r.ok_turns += local.ok_turns;
            r.failed_turns += local.failed_turns;
            r.media_stored += local.media_stored;
            r.latencies.extend(&local.latencies);
            for (k, v) in local.errors {
                *r.errors.entry(k).or_default() += v;
            }
            r.problems.extend(local.problems);
        }));
    }
    for t in tasks {
        t.await
            .map_err(|e| format!("a conversation task failed: {e}"))?;
    }
    let elapsed = started.elapsed();
    let mut report = std::mem::take(&mut totals.lock().await.report);
    report.elapsed = elapsed;
    report.rss_after_warmup = *warm_rss.lock().await;
    report.rss_end = rss_bytes().unwrap_or(0);
    report.temp_files_left = crate::files::count_temp_files(media_dir);
    report.store_references = store.stats().await.map_err(|e| e.to_string())?.references;
    if report.store_references != report.media_stored as u64 {
        report.problems.push(format!(
            "the store holds {} references but {} images were stored by successful turns",
            report.store_references, report.media_stored
        ));
    }
    let lost = cfg.conversations * per_conv - report.ok_turns - report.failed_turns;
    if lost != 0 {
        report.problems.push(format!(
            "{lost} turns returned neither a response nor an error"
        ));
    }
    Ok(report)
}
