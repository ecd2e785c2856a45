//! `promptkit media stats`: what the store holds and what dedup saves.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use promptkit_media_store::{StorageStats, TypeStats};
use serde::Serialize;

use super::output::{Format, human_size, percent, print_json, print_text, table};
use super::{CliError, Outcome, Target, progress};

/// The `--json` document.
#[derive(Debug, Serialize)]
struct StatsDoc<'a> {
    store: &'a str,
    backend: &'a str,
    objects: u64,
    references: u64,
    logical_bytes: u64,
    physical_bytes: u64,
    dedup_savings_bytes: u64,
    /// Savings as a percentage of the logical bytes.
    dedup_savings_percent: f64,
    by_mime: Vec<Group>,
    /// Distinct conversations (`by_conversation` may show fewer, see `--top`).
    conversations: usize,
    by_conversation: Vec<Group>,
    /// Distinct sessions (`by_session` may show fewer, see `--top`).
    sessions: usize,
    by_session: Vec<Group>,
}

/// One row of a breakdown.
#[derive(Debug, Serialize)]
struct Group {
    /// MIME type, conversation id or session id (`-` for none).
    id: String,
    references: u64,
    logical_bytes: u64,
}

/// Prints the statistics of `target`, the conversation and session
/// breakdowns limited to the `top` largest (0: all).
pub(crate) async fn run(target: &Target, top: usize, format: Format) -> Result<Outcome, CliError> {
    let pb = progress::spinner("reading store statistics");
    let stats = target.store().stats().await;
    pb.finish_and_clear();
    let stats = stats.map_err(|e| target.err(e))?;
    let doc = document(target, &stats, top);
    match format {
        Format::Json => print_json(&doc)?,
        Format::Human => print_text(&human(&doc, top))?,
    }
    Ok(Outcome::Clean)
}

fn document<'a>(target: &'a Target, s: &StorageStats, top: usize) -> StatsDoc<'a> {
    let savings = s.dedup_savings();
    StatsDoc {
        store: target.shown(),
        backend: target.backend(),
        objects: s.objects,
        references: s.references,
        logical_bytes: s.logical_bytes,
        physical_bytes: s.physical_bytes,
        dedup_savings_bytes: savings,
        dedup_savings_percent: percent(savings, s.logical_bytes),
        by_mime: largest(&s.by_mime, 0),
        conversations: s.by_conversation.len(),
        by_conversation: largest(&s.by_conversation, top),
        sessions: s.by_session.len(),
        by_session: largest(&s.by_session, top),
    }
}

/// The groups by logical bytes (largest first, then by id), at most `top`
/// of them (0: all).
fn largest(map: &BTreeMap<String, TypeStats>, top: usize) -> Vec<Group> {
    let mut v: Vec<Group> = map
        .iter()
        .map(|(id, t)| Group {
            id: id.clone(),
            references: t.references,
            logical_bytes: t.logical_bytes,
        })
        .collect();
    v.sort_by(|a, b| {
        b.logical_bytes
            .cmp(&a.logical_bytes)
            .then_with(|| a.id.cmp(&b.id))
    });
    if top > 0 {
        v.truncate(top);
    }
    v
}

fn sized(bytes: u64) -> String {
    format!("{} ({bytes} bytes)", human_size(bytes))
}

fn human(d: &StatsDoc<'_>, top: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "store:           {} ({})", d.store, d.backend);
    let _ = writeln!(out, "objects:         {}", d.objects);
    let _ = writeln!(out, "references:      {}", d.references);
    let _ = writeln!(out, "logical size:    {}", sized(d.logical_bytes));
    let _ = writeln!(out, "physical size:   {}", sized(d.physical_bytes));
    let _ = writeln!(
        out,
        "dedup savings:   {} ({bytes} bytes, {pct:.1}%)",
        human_size(d.dedup_savings_bytes),
        bytes = d.dedup_savings_bytes,
        pct = d.dedup_savings_percent,
    );
    section(&mut out, "by MIME type", "MIME TYPE", &d.by_mime);
    let shown = |total: usize| {
        if top > 0 && total > top {
            format!("top {top} of {total}")
        } else {
            format!("{total}")
        }
    };
    section(
        &mut out,
        &format!("by conversation ({})", shown(d.conversations)),
        "CONVERSATION",
        &d.by_conversation,
    );
    section(
        &mut out,
        &format!("by session ({})", shown(d.sessions)),
        "SESSION",
        &d.by_session,
    );
    out
}

fn section(out: &mut String, title: &str, column: &str, groups: &[Group]) {
    if groups.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{title}:");
    let mut rows = vec![vec![
        column.to_owned(),
        "REFS".to_owned(),
        "LOGICAL SIZE".to_owned(),
    ]];
    rows.extend(groups.iter().map(|g| {
        vec![
            g.id.clone(),
            g.references.to_string(),
            human_size(g.logical_bytes),
        ]
    }));
    for line in table(&rows).lines() {
        let _ = writeln!(out, "  {line}");
    }
}
