//! `cargo xtask fuzz [SECS]` (default 30): the `fuzz_` property tests of
//! every crate with `PROMPTKIT_FUZZ_SECS=SECS` (each runs fresh batches of
//! random cases until SECS have passed, or scales its case count), then
//! every cargo-fuzz target under `crates/*/fuzz/` for SECS seconds each,
//! when `cargo fuzz` and a nightly toolchain are installed (otherwise they
//! are skipped with a message).

use std::process::{Command, Stdio};

use crate::{R, cargo, root, run};

fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Directories `crates/*/fuzz` that hold a cargo-fuzz project.
fn fuzz_projects() -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(root().join("crates"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("fuzz"))
        .filter(|d| d.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// The targets of a cargo-fuzz project (`cargo fuzz list`).
fn targets(dir: &std::path::Path) -> Result<Vec<String>, String> {
    let out = Command::new("cargo")
        .args(["+nightly", "fuzz", "list"])
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cargo fuzz list in {}: {e}", dir.display()))?;
    if !out.status.success() {
        return Err(format!(
            "cargo fuzz list in {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

pub(crate) fn fuzz(args: &[String]) -> R {
    let secs = args.first().map_or("30", String::as_str);
    let secs: u64 = secs
        .parse()
        .map_err(|_| format!("usage: cargo xtask fuzz [SECS]; {secs:?} is not a number"))?;
    let secs = secs.to_string();
    run(cargo()
        .args(["test", "--workspace", "--all-features", "--tests", "fuzz_"])
        .env("PROMPTKIT_FUZZ_SECS", &secs))?;

    let projects = fuzz_projects();
    if projects.is_empty() {
        return Ok(());
    }
    if !succeeds(Command::new("cargo").args(["+nightly", "fuzz", "--version"])) {
        eprintln!(
            "xtask fuzz: skipping the cargo-fuzz targets in {} (needs `cargo install cargo-fuzz` and a nightly toolchain)",
            projects
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok(());
    }
    for dir in projects {
        for target in targets(&dir)? {
            run(Command::new("cargo")
                .args(["+nightly", "fuzz", "run", &target, "--"])
                .arg(format!("-max_total_time={secs}"))
                .current_dir(&dir))?;
        }
    }
    Ok(())
}
