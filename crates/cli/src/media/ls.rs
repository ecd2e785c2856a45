//! `promptkit media ls`: one line per stored reference.

use promptkit_media_store::local::StoredObject;
use serde::Serialize;

use super::output::{Format, human_size, print_json, print_text, rfc3339, short_time, table};
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
    /// Live references to the same file (more than 1: shared by dedup).
    ref_count: u64,
    blake3: String,
    path: String,
    #[serde(skip)]
    created: time::OffsetDateTime,
}

/// Lists the references of a local store matching `filter`.
pub(crate) async fn run(
    target: &Target,
    filter: &Filter,
    format: Format,
) -> Result<Outcome, CliError> {
    let store = target.local("ls")?;
    let pb = progress::spinner("listing stored media");
    let objects = store.list().await;
    pb.finish_and_clear();
    let objects = objects.map_err(|e| target.err(e))?;
    let rows = rows(&objects, filter);
    match format {
        Format::Json => print_json(&LsDoc {
            store: target.shown(),
            references: rows,
        })?,
        Format::Human => print_text(&human(target, &rows))?,
    }
    Ok(Outcome::Clean)
}

fn rows(objects: &[StoredObject], filter: &Filter) -> Vec<Row> {
    let wanted = |want: &Option<String>, have: &Option<String>| {
        want.as_ref().is_none_or(|w| have.as_ref() == Some(w))
    };
    let mut rows: Vec<Row> = objects
        .iter()
        .flat_map(|o| {
            o.sidecar.references.iter().map(move |r| Row {
                reference: format!("file:{}", r.id),
                mime_type: r.mime_type.clone(),
                size_bytes: o.sidecar.size_bytes,
                conversation_id: r.owner.conversation_id.clone(),
                session_id: r.owner.session_id.clone(),
                run_id: r.owner.run_id.clone(),
                created_at: rfc3339(r.owner.created_at),
                retention_policy: r.owner.retention_policy.to_string(),
                ref_count: o.sidecar.ref_count,
                blake3: o.sidecar.blake3.clone(),
                path: o.path.display().to_string(),
                created: r.owner.created_at,
            })
        })
        .filter(|r| {
            wanted(&filter.conversation, &r.conversation_id)
                && wanted(&filter.session, &r.session_id)
        })
        .collect();
    rows.sort_by(|a, b| {
        a.created
            .cmp(&b.created)
            .then_with(|| a.reference.cmp(&b.reference))
    });
    rows
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
