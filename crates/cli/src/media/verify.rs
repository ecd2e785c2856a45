//! `promptkit media verify`: re-hash every media file against its sidecar.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use super::output::{Format, print_json, print_text};
use super::{CliError, Outcome, Target, progress};

/// The `--json` document.
#[derive(Debug, Serialize)]
struct VerifyDoc<'a> {
    store: &'a str,
    /// Whether nothing is wrong.
    ok: bool,
    /// Media files re-hashed.
    checked: u64,
    /// Media files whose bytes no longer match their hash or size.
    corrupt: &'a [PathBuf],
    /// Media files a sidecar names but which are gone.
    missing: &'a [PathBuf],
    /// Sidecars that cannot be parsed.
    unreadable_sidecars: &'a [PathBuf],
}

/// Verifies a store; [`Outcome::ProblemsFound`] when anything is
/// corrupt, missing or unreadable.
pub(crate) async fn run(target: &Target, format: Format) -> Result<Outcome, CliError> {
    let pb = progress::bar("verifying");
    let bar = pb.clone();
    let report = target
        .verify(move |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .await;
    pb.finish_and_clear();
    let r = report?;
    let doc = VerifyDoc {
        store: target.shown(),
        ok: r.is_ok(),
        checked: r.checked,
        corrupt: &r.corrupt,
        missing: &r.missing,
        unreadable_sidecars: &r.unreadable_sidecars,
    };
    match format {
        Format::Json => print_json(&doc)?,
        Format::Human => print_text(&human(&doc))?,
    }
    Ok(if doc.ok {
        Outcome::Clean
    } else {
        Outcome::ProblemsFound
    })
}

fn human(d: &VerifyDoc<'_>) -> String {
    let mut out = String::new();
    for (what, list) in [
        ("corrupt", d.corrupt),
        ("missing", d.missing),
        ("unreadable sidecar", d.unreadable_sidecars),
    ] {
        for p in list {
            let _ = writeln!(out, "{what}: {}", p.display());
        }
    }
    let _ = writeln!(
        out,
        "{}: checked {} file{}: {} corrupt, {} missing, {} unreadable sidecar{}",
        d.store,
        d.checked,
        if d.checked == 1 { "" } else { "s" },
        d.corrupt.len(),
        d.missing.len(),
        d.unreadable_sidecars.len(),
        if d.unreadable_sidecars.len() == 1 {
            ""
        } else {
            "s"
        },
    );
    out
}
