//! Load with injected faults: turns across 500 concurrent conversations
//! against the mock OpenAI server (a separate process) answering with random
//! 429s, 500s and answers slower than the client's timeout, through the real
//! `OpenAiProvider` (retries with a ~1 ms backoff) and a `FileStore`.
//!
//! Checks: every turn either succeeds or returns a typed transient/timeout
//! error; history holds exactly the successful turns, each answered by its
//! own reply; every image of a successful turn is stored and nothing else;
//! no temporary file is left; RSS after the warm-up and at the end stay
//! within a generous bound.
//!
//! The number of turns is `PROMPTKIT_LOAD_TURNS` (default 10,000).
//! Fault schedule seed: `PROMPTKIT_LOAD_SEED` (printed).

use std::path::Path;
use std::time::Duration;

use promptkit_bench::faults::FaultMix;
use promptkit_bench::load::{LoadConfig, run_load};
use promptkit_bench::rng::Rng;
use promptkit_bench::server::{ServerChild, Workload};

/// RSS may grow this much between the warm-up and the end (history of
/// every conversation grows during the run, so it cannot be perfectly flat).
const RSS_BOUND: u64 = 96 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turns_across_500_conversations_with_faults_lose_nothing() {
    let turns: usize = std::env::var("PROMPTKIT_LOAD_TURNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let seed = Rng::seed_from_env("PROMPTKIT_LOAD_SEED");
    eprintln!("load test: {turns} turns, seed {seed} (PROMPTKIT_LOAD_SEED)");
    let mix = FaultMix {
        p429: 0.05,
        p500: 0.05,
        ptimeout: 0.01,
        timeout_delay: Duration::from_millis(1500),
    };
    let exe = Path::new(env!("CARGO_BIN_EXE_promptkit-bench"));
    let server = ServerChild::spawn(
        exe,
        &Workload::Faults {
            mix,
            replies: turns * 2,
            seed,
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = LoadConfig {
        conversations: 500,
        turns,
        media_every: 5,
        media_size: 2048,
        // Generous for a loaded debug build; the slow answers exceed it.
        provider_timeout: Duration::from_millis(1000),
        max_attempts: 3,
    };
    let mut r = run_load(server.base_url(), dir.path(), &cfg).await.unwrap();
    eprintln!(
        "{} ok, {} typed errors {:?}, {:.0} turns/s, p50 {:?}, p99 {:?}, RSS {} -> {} KiB, {} images stored",
        r.ok_turns,
        r.failed_turns,
        r.errors,
        r.turns_per_sec(),
        r.latencies.percentile(50.0),
        r.latencies.percentile(99.0),
        r.rss_after_warmup / 1024,
        r.rss_end / 1024,
        r.media_stored
    );
    assert!(
        r.problems.is_empty(),
        "{:#?}",
        &r.problems[..r.problems.len().min(20)]
    );
    assert_eq!(r.ok_turns + r.failed_turns, turns);
    assert!(r.ok_turns > turns / 2, "most turns succeed after retries");
    assert!(r.media_stored > 0);
    assert_eq!(r.temp_files_left, 0, "temporary files leaked");
    assert!(r.rss_after_warmup > 0 && r.rss_end > 0);
    assert!(
        r.rss_end <= r.rss_after_warmup + RSS_BOUND,
        "RSS grew from {} to {} KiB",
        r.rss_after_warmup / 1024,
        r.rss_end / 1024
    );
}
