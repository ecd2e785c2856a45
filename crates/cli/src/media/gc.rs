//! `promptkit media gc`: remove what crashes and outside hands left behind.

use std::fmt::Write as _;
use std::time::Duration;

use promptkit_media_store::{GcOptions, GcReport};
use serde::Serialize;

use super::output::{Format, human_size, print_json, print_text, shown_paths};
use super::{CliError, Outcome, Target, progress};

/// The `--json` document (the store's `GcReport`, field for field). Paths
/// are strings ([`shown_paths`]), so printing a report cannot fail, whatever
/// the names of the files removed.
#[derive(Debug, Serialize)]
struct GcDoc<'a> {
    store: &'a str,
    dry_run: bool,
    /// Whether nothing was (or would be) changed.
    clean: bool,
    stale_temp_files: Vec<String>,
    orphan_media: Vec<String>,
    orphan_sidecars: Vec<String>,
    dangling_references: &'a [String],
    rewritten_sidecars: Vec<String>,
    repaired_references: &'a [String],
    stale_object_records: Vec<String>,
    unreadable_sidecars: Vec<String>,
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
    let options = GcOptions::new(dry_run).with_temp_grace(temp_grace);
    let report = target.store().gc(options).await;
    pb.finish_and_clear();
    let r = report.map_err(|e| target.err(e))?;
    let doc = document(target.shown(), &r);
    match format {
        Format::Json => print_json(&doc)?,
        Format::Human => print_text(&human(&doc))?,
    }
    Ok(Outcome::Clean)
}

fn document<'a>(store: &'a str, r: &'a GcReport) -> GcDoc<'a> {
    GcDoc {
        store,
        dry_run: r.dry_run,
        clean: r.is_clean(),
        stale_temp_files: shown_paths(&r.stale_temp_files),
        orphan_media: shown_paths(&r.orphan_media),
        orphan_sidecars: shown_paths(&r.orphan_sidecars),
        dangling_references: &r.dangling_references,
        rewritten_sidecars: shown_paths(&r.rewritten_sidecars),
        repaired_references: &r.repaired_references,
        stale_object_records: shown_paths(&r.stale_object_records),
        unreadable_sidecars: shown_paths(&r.unreadable_sidecars),
        freed_bytes: r.freed_bytes,
    }
}

fn human(d: &GcDoc<'_>) -> String {
    let mut out = String::new();
    if d.clean && d.unreadable_sidecars.is_empty() {
        let _ = writeln!(out, "{}: nothing to collect", d.store);
        return out;
    }
    let (remove, rewrite) = if d.dry_run {
        ("would remove", "would rewrite")
    } else {
        ("removed", "rewritten")
    };
    let _ = writeln!(
        out,
        "{}{}:",
        d.store,
        if d.dry_run { " (dry run)" } else { "" }
    );
    let section = |out: &mut String, what: &str, v: &[String]| {
        if !v.is_empty() {
            let _ = writeln!(out, "  {what}: {}", v.len());
            for item in v {
                let _ = writeln!(out, "    {item}");
            }
        }
    };
    section(
        &mut out,
        &format!("stale temp files ({remove})"),
        &d.stale_temp_files,
    );
    section(
        &mut out,
        &format!("media no reference points to ({remove})"),
        &d.orphan_media,
    );
    section(
        &mut out,
        &format!("sidecars without media ({remove})"),
        &d.orphan_sidecars,
    );
    section(
        &mut out,
        &format!("references whose media is gone ({remove})"),
        d.dangling_references,
    );
    section(
        &mut out,
        &format!("missing or damaged sidecars, from the index ({rewrite})"),
        &d.rewritten_sidecars,
    );
    section(
        &mut out,
        "references repaired (bytes or their location put back)",
        d.repaired_references,
    );
    section(
        &mut out,
        &format!("location records of content that is gone ({remove})"),
        &d.stale_object_records,
    );
    section(
        &mut out,
        "unreadable sidecars (left alone; see `promptkit media verify`)",
        &d.unreadable_sidecars,
    );
    let _ = writeln!(
        out,
        "  freed: {} ({} bytes){}",
        human_size(d.freed_bytes),
        d.freed_bytes,
        if d.dry_run {
            " if run without --dry-run"
        } else {
            ""
        }
    );
    out
}
