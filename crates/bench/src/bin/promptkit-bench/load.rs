//! The full load run (10,000 turns across 500 conversations with injected
//! 429/500/timeouts) as a benchmark section.

use std::time::Duration;

use promptkit_bench::faults::FaultMix;
use promptkit_bench::load::{LoadConfig, run_load};
use promptkit_bench::server::{ServerChild, Workload};
use promptkit_bench::stats::{fmt_bytes, fmt_duration};

use crate::report::{Section, verdict};

pub(crate) async fn bench(quick: bool) -> Result<Section, String> {
    let turns = if quick { 2_000 } else { 10_000 };
    let mix = FaultMix {
        p429: 0.05,
        p500: 0.05,
        ptimeout: 0.01,
        timeout_delay: Duration::from_millis(600),
    };
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let workload = Workload::Faults {
        mix,
        replies: turns * 2,
        seed: 20_240_601,
    };
    let server = ServerChild::spawn(&exe, &workload).map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let cfg = LoadConfig {
        conversations: 500,
        turns,
        media_every: 5,
        media_size: 4096,
        provider_timeout: Duration::from_millis(300),
        max_attempts: 3,
    };
    let mut r = run_load(server.base_url(), dir.path(), &cfg).await?;
    let mut s = Section::new(
        "Load: turns across 500 concurrent conversations with injected faults",
        &[
            "turns",
            "ok",
            "typed errors",
            "lost",
            "turns/s",
            "p50",
            "p99",
            "RSS after 10%",
            "RSS at end",
            "temp files left",
        ],
    );
    let lost = r.problems.len();
    s.row(vec![
        turns.to_string(),
        r.ok_turns.to_string(),
        r.failed_turns.to_string(),
        lost.to_string(),
        format!("{:.0}", r.turns_per_sec()),
        fmt_duration(r.latencies.percentile(50.0)),
        fmt_duration(r.latencies.percentile(99.0)),
        fmt_bytes(r.rss_after_warmup as f64),
        fmt_bytes(r.rss_end as f64),
        r.temp_files_left.to_string(),
    ]);
    s.note(format!(
        "faults per scripted reply: 429 {:.0}%, 500 {:.0}%, answer delayed {}ms past a {}ms timeout {:.0}%; 3 attempts per call, ~1 ms backoff; every 5th turn sends a 4 KiB image (externalized).",
        mix.p429 * 100.0,
        mix.p500 * 100.0,
        mix.timeout_delay.as_millis(),
        cfg.provider_timeout.as_millis(),
        mix.ptimeout * 100.0
    ));
    s.note(format!("errors by kind: {:?}", r.errors));
    s.note(format!(
        "store references {} = images of successful turns {}",
        r.store_references, r.media_stored
    ));
    s.note(format!(
        "no lost message, history = successful turns, no temp file left → {}",
        verdict(lost == 0 && r.temp_files_left == 0)
    ));
    for p in r.problems.iter().take(5) {
        s.note(format!("problem: {p}"));
    }
    Ok(s)
}
