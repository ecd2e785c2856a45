//! `promptkit media verify`: re-hash every stored media and check its sidecar.

use std::fmt::Write as _;
use std::sync::Arc;

use serde::Serialize;

use super::output::{Format, print_json, print_text, shown_paths};
use super::{CliError, Outcome, Target, progress};

/// The `--json` document.
#[derive(Debug, Serialize)]
struct VerifyDoc<'a> {
    store: &'a str,
    /// Whether nothing is wrong.
    ok: bool,
    /// Media re-hashed.
    checked: u64,
    /// Media whose bytes no longer match their hash or size.
    corrupt: Vec<String>,
    /// Media the store expects but which are gone.
    missing: Vec<String>,
    /// Sidecars (object stores: records) that cannot be parsed.
    unreadable_sidecars: Vec<String>,
    /// Sidecars that are gone (the index still knows the media; `gc`
    /// rewrites them).
    missing_sidecars: Vec<String>,
}

/// Verifies a store; [`Outcome::ProblemsFound`] when anything is corrupt,
/// missing or unreadable. A damaged index is an error (exit 1 as well).
pub(crate) async fn run(target: &Target, format: Format) -> Result<Outcome, CliError> {
    let pb = progress::bar("verifying");
    let bar = pb.clone();
    let report = target
        .store()
        .verify_with_progress(Arc::new(move |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        }))
        .await;
    pb.finish_and_clear();
    let r = report.map_err(|e| target.err(e))?;
    let doc = VerifyDoc {
        store: target.shown(),
        ok: r.is_ok(),
        checked: r.checked,
        corrupt: shown_paths(&r.corrupt),
        missing: shown_paths(&r.missing),
        unreadable_sidecars: shown_paths(&r.unreadable_sidecars),
        missing_sidecars: shown_paths(&r.missing_sidecars),
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
        ("corrupt", &d.corrupt),
        ("missing", &d.missing),
        ("unreadable sidecar", &d.unreadable_sidecars),
        ("missing sidecar", &d.missing_sidecars),
    ] {
        for p in list {
            let _ = writeln!(out, "{what}: {p}");
        }
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let _ = writeln!(
        out,
        "{}: checked {} file{}: {} corrupt, {} missing, {} unreadable sidecar{}, {} missing sidecar{}",
        d.store,
        d.checked,
        if d.checked == 1 { "" } else { "s" },
        d.corrupt.len(),
        d.missing.len(),
        d.unreadable_sidecars.len(),
        plural(d.unreadable_sidecars.len()),
        d.missing_sidecars.len(),
        plural(d.missing_sidecars.len()),
    );
    if !d.missing_sidecars.is_empty() {
        let _ = writeln!(
            out,
            "missing sidecars hide nothing (the index keeps every reference); \
             `promptkit media gc` rewrites them"
        );
    }
    out
}
