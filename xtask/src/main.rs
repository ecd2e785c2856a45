//! Project automation: `cargo xtask <command>`.
//!
//! - `test-all`: `setup` (below), fmt check, clippy `-D warnings`,
//!   all tests and doctests, the API docs with rustdoc warnings denied, and a
//!   smoke run of every example.
//! - `setup`: only prepare the test servers' programs (the venv, Azurite
//!   with Node.js, `redis-server`: taken from the system or installed into
//!   `target/`, see `tools.rs`) and print the environment the tests read, as
//!   `export` lines for `eval "$(cargo xtask setup)"`.
//! - `pyenv`: only create/refresh the Python venv (prints its path).
//! - `bench`: run the benchmarks.
//! - `fuzz`: run the fuzz targets for a bounded time.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod bench;
mod fuzz;
mod smoke;
mod tools;

pub(crate) type R = Result<(), String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cmd = args.first().map(String::as_str).unwrap_or("help");
    let rest = &args[args.len().min(1)..];
    let result = match cmd {
        "test-all" => test_all(),
        "pyenv" => pyenv().map(|p| println!("{}", p.display())),
        "setup" => setup().map(|(_, envs)| {
            for (k, v) in envs {
                println!("export {k}='{}'", v.replace('\'', r"'\''"));
            }
        }),
        "bench" => bench::bench(rest),
        "fuzz" => fuzz::fuzz(rest),
        _ => {
            eprintln!("usage: cargo xtask <test-all|setup|pyenv|bench|fuzz>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {cmd}: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn run(cmd: &mut Command) -> R {
    eprintln!("+ {cmd:?}");
    let status = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} exited with {status}"))
    }
}

pub(crate) fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

/// Creates (or reuses) `target/pyvenv` with `xtask/requirements.txt` installed.
fn pyenv() -> Result<PathBuf, String> {
    let root = root();
    let venv = root.join("target/pyvenv");
    let req = root.join("xtask/requirements.txt");
    let stamp = venv.join(".requirements");
    let wanted = std::fs::read_to_string(&req).map_err(|e| format!("{}: {e}", req.display()))?;
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(venv);
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    run(Command::new(&python).args(["-m", "venv"]).arg(&venv)).map_err(|e| {
        format!(
            "{e}\n(the test servers need python3 with its venv module; set PYTHON to use another)"
        )
    })?;
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&req))?;
    std::fs::write(&stamp, wanted).map_err(|e| e.to_string())?;
    Ok(venv)
}

/// The environment that points the tests at their servers' programs.
type TestEnv = [(&'static str, String); 5];

/// Prepares everything the tests need (the venv, Azurite with Node.js, a
/// `redis-server`) and returns the environment that points the tests at it.
fn setup() -> Result<(PathBuf, TestEnv), String> {
    let venv = pyenv()?;
    let node = tools::node(&venv)?;
    let azurite = tools::azurite(&node)?;
    let redis = tools::redis_server(&venv)?;
    let envs = [
        ("PROMPTKIT_PYVENV", venv.display().to_string()),
        ("PROMPTKIT_AZURITE", azurite.display().to_string()),
        ("PROMPTKIT_REDIS_SERVER", redis.display().to_string()),
        ("PROMPTKIT_REQUIRE_SERVERS", "1".to_string()),
        ("RUST_BACKTRACE", "1".to_string()),
    ];
    Ok((venv, envs))
}

/// The facade and the media store build with no default features and with
/// each feature alone (warnings denied), so a feature means what it says.
fn features_alone() -> R {
    let crates: [(&str, &[&str]); 2] = [
        (
            "promptkit",
            &[
                "media-probe",
                "local",
                "openai",
                "s3",
                "gcs",
                "azure",
                "redis",
            ],
        ),
        (
            "promptkit-media-store",
            &["local", "conformance", "object-store", "s3", "gcs", "azure"],
        ),
    ];
    for (krate, features) in crates {
        for feature in std::iter::once("").chain(features.iter().copied()) {
            // clippy passes `-D warnings` to the crate itself only, so the
            // dependencies are built once for all these runs.
            let mut c = cargo();
            c.args([
                "clippy",
                "--quiet",
                "-p",
                krate,
                "--lib",
                "--no-default-features",
            ]);
            if !feature.is_empty() {
                c.args(["--features", feature]);
            }
            run(c.args(["--", "-D", "warnings"]))?;
        }
    }
    Ok(())
}

fn test_all() -> R {
    let (venv, envs) = setup()?;
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run(cargo()
        .args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ])
        .envs(envs.clone()))?;
    run(cargo()
        .args(["test", "--workspace", "--all-features", "--no-fail-fast"])
        .envs(envs.clone()))?;
    // The pack crate without its optional parsers: media limits fail closed,
    // and the examples that measure media are compiled out.
    run(cargo()
        .args(["test", "-p", "promptkit-pack", "--no-default-features"])
        .envs(envs.clone()))?;
    features_alone()?;
    // The API docs: broken intra-doc links and other rustdoc warnings fail.
    run(cargo()
        .args(["doc", "--workspace", "--all-features", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings"))?;
    smoke::smoke_examples(&venv, &envs)?;
    eprintln!("xtask test-all: all checks passed");
    Ok(())
}
