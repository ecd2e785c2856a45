//! `cargo xtask bench [--quick] [--only SECTIONS] [--no-cold-build] [--peers]`:
//! the benchmark harness (`crates/bench`, binary `promptkit-bench`) in release
//! mode. It prints one table per section and writes `target/bench-report.md`.
//!
//! The `build` section (time to the first image: a cold build of the
//! image-generator example in an empty target directory, minutes of CPU) is
//! left out with `--no-cold-build`, and by `--quick` unless `--only` names it.
//!
//! `--peers` also runs the same image-heavy workload through the official
//! `openai` Python client and LangChain's `ChatOpenAI`
//! (`xtask/peers/peers.py`); their packages
//! (`xtask/requirements-peers.txt`) are installed into the xtask venv only
//! then.

use std::process::Command;

use crate::{R, cargo, pyenv, root, run};

/// Installs the peers' Python packages into the venv (once per change of
/// the requirements file) and returns the venv's python.
fn peers_python() -> Result<std::path::PathBuf, String> {
    let venv = pyenv()?;
    let req = root().join("xtask/requirements-peers.txt");
    let stamp = venv.join(".requirements-peers");
    let wanted = std::fs::read_to_string(&req).map_err(|e| format!("{}: {e}", req.display()))?;
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        run(Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&req))?;
        std::fs::write(&stamp, wanted).map_err(|e| format!("{}: {e}", stamp.display()))?;
    }
    Ok(venv.join("bin/python"))
}

pub(crate) fn bench(args: &[String]) -> R {
    let mut pass: Vec<String> = Vec::new();
    let mut peers = false;
    for a in args {
        if a == "--peers" {
            peers = true;
        } else {
            pass.push(a.clone());
        }
    }
    if peers {
        let python = peers_python()?;
        pass.push("--peers".into());
        pass.push(python.display().to_string());
    }
    if !pass.iter().any(|a| a == "--report") {
        pass.push("--report".into());
        pass.push(root().join("target/bench-report.md").display().to_string());
    }
    run(cargo()
        .args([
            "run",
            "--release",
            "--quiet",
            "--package",
            "promptkit-bench",
            "--bin",
            "promptkit-bench",
            "--",
        ])
        .args(&pass))
}
