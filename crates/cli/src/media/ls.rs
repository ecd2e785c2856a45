//! `promptkit media ls`: one line per stored reference.

use serde::Serialize;

use super::listing::{self, Listed};
use super::output::{
    Format, human_size, print_json, print_text, rfc3339, short_time, shown_path, table,
};
use super::{CliError, Outcome, Target, progress};

/// Which references to show.
#[derive(Debug, Default, Clone)]
pub(crate) struct Filter {
    /// Only this conversation.
    pub(crate) conversation: Option<String>,
    /// Only this session.
    pub(crate) session: Option<String>,
}

/// The `--json` document.
#[derive(Debug, Serialize)]
struct LsDoc<'a> {
    store: &'a str,
    references: Vec<Row>,
}

/// One reference.
#[derive(Debug, Serialize)]
struct Row {
    reference: String,
    mime_type: String,
    size_bytes: u64,
    conversation_id: Option<String>,
    session_id: Option<String>,
    run_id: Option<String>,
    /// RFC 3339, UTC.
    created_at: String,
    retention_policy: String,
    /// Live references to the same stored bytes (more than 1: shared by dedup).
    ref_count: u64,
    blake3: String,
    /// Where the bytes are, relative to the store root or key prefix.
    location: String,
    #[serde(skip)]
    created: time::OffsetDateTime,
}

/// Lists the references of a store matching `filter`.
pub(crate) async fn run(
    target: &Target,
    filter: &Filter,
    format: Format,
) -> Result<Outcome, CliError> {
    let pb = progress::spinner("listing stored media");
    let listed = listing::list(target, time::OffsetDateTime::now_utc()).await;
    pb.finish_and_clear();
    let rows = rows(listed?, filter);
    match format {
        Format::Json => print_json(&LsDoc {
            store: target.shown(),
            references: rows,
        })?,
        Format::Human => print_text(&human(target, &rows))?,
    }
    Ok(Outcome::Clean)
}

fn rows(listed: Vec<Listed>, filter: &Filter) -> Vec<Row> {
    let wanted = |want: &Option<String>, have: &Option<String>| {
        want.as_ref().is_none_or(|w| have.as_ref() == Some(w))
    };
    listed
        .into_iter()
        .filter(|l| {
            wanted(&filter.conversation, &l.conversation_id)
                && wanted(&filter.session, &l.session_id)
        })
        .map(|l| Row {
            created_at: rfc3339(l.created),
            retention_policy: l.policy.to_string(),
            location: shown_path(&l.location),
            reference: l.reference,
            mime_type: l.mime_type,
            size_bytes: l.size_bytes,
            conversation_id: l.conversation_id,
            session_id: l.session_id,
            run_id: l.run_id,
            ref_count: l.ref_count,
            blake3: l.blake3,
            created: l.created,
        })
        .collect()
}

fn human(target: &Target, rows: &[Row]) -> String {
    if rows.is_empty() {
        return format!("no stored media in {}\n", target.shown());
    }
    let dash = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".to_owned());
    let mut table_rows = vec![
        [
            "REFERENCE",
            "MIME TYPE",
            "SIZE",
            "CONVERSATION",
            "SESSION",
            "CREATED",
            "POLICY",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    table_rows.extend(rows.iter().map(|r| {
        vec![
            r.reference.clone(),
            r.mime_type.clone(),
            human_size(r.size_bytes),
            dash(&r.conversation_id),
            dash(&r.session_id),
            short_time(r.created),
            r.retention_policy.clone(),
        ]
    }));
    table(&table_rows)
}
