//! Time to the first image on a fresh clone: a cold `cargo build --example
//! image-generator` (a new, empty target directory; the crates already
//! downloaded into `~/.cargo`), then one run of the example.
//!
//! Wall time depends on what else the machine does, so the section also
//! reports the CPU time cargo and the compilers used and the load average
//! before and after.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use promptkit_bench::stats::fmt_duration;

use crate::report::{Section, verdict};

/// Target: a fresh clone's `cargo run --example image-generator` under 2 minutes.
const TARGET: Duration = Duration::from_secs(120);

/// User + system CPU time of this process's waited-for children, from
/// `/proc/self/stat` (`cutime`, `cstime`).
fn children_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name in parentheses: state is field 3, cutime 16, cstime 17.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(13)?.parse::<u64>().ok()? + f.get(14)?.parse::<u64>().ok()?;
    let hz = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<u64>()
                .ok()
        })
        .unwrap_or(100);
    Some(Duration::from_millis(ticks * 1000 / hz.max(1)))
}

/// `4m08s`.
fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}m{:02}s", s / 60, s % 60)
}

/// The 1-minute load average.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs the built example offline with its media under `dir`; returns its wall time.
fn run_example(exe: &Path, dir: &Path) -> Result<Duration, String> {
    let t = Instant::now();
    let out = Command::new(exe)
        .arg("--media-dir")
        .arg(dir.join("media"))
        .env_remove("OPENAI_API_KEY")
        .env_remove("MEDIA_STORE_URL")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    let elapsed = t.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !stdout.contains("image externalized: ") {
        return Err(format!(
            "the example failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(elapsed)
}

pub(crate) fn bench() -> Result<Section, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::Builder::new()
        .prefix("promptkit-coldbuild")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let target = dir.path().join("target");
    let load_before = load();
    let cpu_before = children_cpu();
    let t = Instant::now();
    let out = cargo()
        .current_dir(&root)
        .args(["build", "--example", "image-generator"])
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("RUSTFLAGS")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cargo build: {e}"))?;
    let build = t.elapsed();
    let cpu = match (cpu_before, children_cpu()) {
        (Some(a), Some(b)) => minutes(b.saturating_sub(a)),
        _ => "?".into(),
    };
    let load_after = load();
    let log = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "cargo build --example image-generator failed after {} (CPU {cpu}, load {load_before} → {load_after}):\n{}",
            minutes(build),
            tail.join("\n")
        ));
    }
    let crates = log
        .lines()
        .filter(|l| l.trim_start().starts_with("Compiling "))
        .count();
    let run = run_example(&target.join("debug/examples/image-generator"), dir.path())?;
    let total = build + run;
    let mut s = Section::new(
        "Time to the first image: cold `cargo build --example image-generator`, then its run",
        &[
            "crates compiled",
            "build (wall)",
            "build (CPU, user+sys)",
            "example run",
            "total",
            "load avg before → after",
        ],
    );
    s.row(vec![
        crates.to_string(),
        minutes(build),
        cpu,
        fmt_duration(run),
        minutes(total),
        format!("{load_before} → {load_after}"),
    ]);
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    s.note(format!(
        "A new empty target directory, the examples' default features (local store, OpenAI provider; the cloud stores are the opt-in features s3, gcs, azure), the dev profile, {cpus} CPUs; the crates were already downloaded (a fresh machine downloads them first). The example runs offline: three generated images and the deduplication demo."
    ));
    s.note(format!(
        "target: under {} on 2 otherwise idle cores → {} (wall time counts every other process on the machine; the load average says how busy it was, the CPU time does not depend on it)",
        minutes(TARGET),
        verdict(total < TARGET)
    ));
    Ok(s)
}
