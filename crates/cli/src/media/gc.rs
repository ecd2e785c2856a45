//! `promptkit media gc`: remove what crashes and outside hands left behind.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use promptkit_media_store::local::{GcOptions, GcReport};
use serde::Serialize;

use super::output::{Format, human_size, print_json, print_text};
use super::{CliError, Outcome, Target, progress};

/// The `--json` document (the store's `GcReport`, field for field).
#[derive(Debug, Serialize)]
struct GcDoc<'a> {
    store: &'a str,
    dry_run: bool,
    /// Whether nothing was (or would be) changed.
    clean: bool,
    stale_temp_files: &'a [PathBuf],
    orphan_media: &'a [PathBuf],
    orphan_sidecars: &'a [PathBuf],
    pruned_references: &'a [String],
    dangling_references: &'a [String],
    repaired_references: &'a [String],
    stale_object_records: &'a [PathBuf],
    unreadable_sidecars: &'a [PathBuf],
    freed_bytes: u64,
}

/// Runs (or with `dry_run` only reports) garbage collection.
pub(crate) async fn run(
    target: &Target,
    dry_run: bool,
    temp_grace: Duration,
    format: Format,
) -> Result<Outcome, CliError> {
    let pb = progress::spinner(if dry_run {
        "looking for orphans (dry run)"
    } else {
        "collecting orphans"
    });
    let report = target
        .gc(GcOptions::new(dry_run).with_temp_grace(temp_grace))
        .await;
    pb.finish_and_clear();
    let r = report?;
    let doc = GcDoc {
        store: target.shown(),
        dry_run: r.dry_run,
        clean: r.is_clean(),
        stale_temp_files: &r.stale_temp_files,
        orphan_media: &r.orphan_media,
        orphan_sidecars: &r.orphan_sidecars,
        pruned_references: &r.pruned_references,
        dangling_references: &r.dangling_references,
        repaired_references: &r.repaired_references,
        stale_object_records: &r.stale_object_records,
        unreadable_sidecars: &r.unreadable_sidecars,
        freed_bytes: r.freed_bytes,
    };
    match format {
        Format::Json => print_json(&doc)?,
        Format::Human => print_text(&human(&doc, &r))?,
    }
    Ok(Outcome::Clean)
}

fn human(d: &GcDoc<'_>, r: &GcReport) -> String {
    let mut out = String::new();
    if d.clean && d.unreadable_sidecars.is_empty() {
        let _ = writeln!(out, "{}: nothing to collect", d.store);
        return out;
    }
    let verb = if d.dry_run { "would remove" } else { "removed" };
    let _ = writeln!(
        out,
        "{}{}:",
        d.store,
        if d.dry_run { " (dry run)" } else { "" }
    );
    let paths = |out: &mut String, what: &str, v: &[PathBuf]| {
        if !v.is_empty() {
            let _ = writeln!(out, "  {what}: {}", v.len());
            for p in v {
                let _ = writeln!(out, "    {}", p.display());
            }
        }
    };
    let ids = |out: &mut String, what: &str, v: &[String]| {
        if !v.is_empty() {
            let _ = writeln!(out, "  {what}: {}", v.len());
            for id in v {
                let _ = writeln!(out, "    {id}");
            }
        }
    };
    paths(
        &mut out,
        &format!("stale temp files ({verb})"),
        d.stale_temp_files,
    );
    paths(
        &mut out,
        &format!("media without sidecar or references ({verb})"),
        d.orphan_media,
    );
    paths(
        &mut out,
        &format!("sidecars without media ({verb})"),
        d.orphan_sidecars,
    );
    ids(
        &mut out,
        "version 1 sidecar entries without reference record (pruned)",
        d.pruned_references,
    );
    ids(
        &mut out,
        &format!("reference records whose media is gone ({verb})"),
        d.dangling_references,
    );
    ids(
        &mut out,
        "references repaired (owner from a version 1 sidecar, or bytes put back)",
        d.repaired_references,
    );
    paths(
        &mut out,
        &format!("dedup records pointing nowhere ({verb})"),
        d.stale_object_records,
    );
    paths(
        &mut out,
        "unreadable sidecars (left alone; see `promptkit media verify`)",
        d.unreadable_sidecars,
    );
    let _ = writeln!(
        out,
        "  freed: {} ({} bytes){}",
        human_size(r.freed_bytes),
        r.freed_bytes,
        if d.dry_run {
            " if run without --dry-run"
        } else {
            ""
        }
    );
    out
}
