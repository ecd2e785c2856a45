//! `promptkit media retention`: apply the time-based retention policies now.

use std::collections::HashMap;
use std::fmt::Write as _;

use promptkit_media_store::FileStore;
use promptkit_media_store::local::StoredObject;
use serde::Serialize;
use time::OffsetDateTime;

use super::output::{Format, human_size, print_json, print_text, rfc3339, short_time};
use super::{CliError, Outcome, Target, progress};

/// The `--json` document.
#[derive(Debug, Serialize)]
struct RetentionDoc<'a> {
    store: &'a str,
    dry_run: bool,
    /// The time expiry was evaluated at (RFC 3339, UTC).
    now: String,
    #[serde(skip)]
    at: OffsetDateTime,
    expired_references: Vec<Expired>,
    /// Media files removed (or that would be) with their last reference.
    removed_objects: u64,
    freed_bytes: u64,
}

/// One expired reference.
#[derive(Debug, Clone, Serialize)]
struct Expired {
    reference: String,
    conversation_id: Option<String>,
    session_id: Option<String>,
    /// `None` for a reference stored after the listing this report used.
    retention_policy: Option<String>,
    /// RFC 3339, UTC; `None` as for `retention_policy`.
    created_at: Option<String>,
    #[serde(skip)]
    created: Option<OffsetDateTime>,
}

/// Drops (or with `dry_run` lists) every reference expired at `now`.
pub(crate) async fn run(
    target: &Target,
    dry_run: bool,
    now: OffsetDateTime,
    format: Format,
) -> Result<Outcome, CliError> {
    let store = target.local("retention")?;
    let pb = progress::spinner("applying retention policies");
    let result = apply(store, dry_run, now).await;
    pb.finish_and_clear();
    let (expired, removed_objects, freed_bytes) = result.map_err(|e| target.err(e))?;
    let doc = RetentionDoc {
        store: target.shown(),
        dry_run,
        now: rfc3339(now),
        at: now,
        expired_references: expired,
        removed_objects,
        freed_bytes,
    };
    match format {
        Format::Json => print_json(&doc)?,
        Format::Human => print_text(&human(&doc))?,
    }
    Ok(Outcome::Clean)
}

/// The expired references, removed objects and freed bytes: planned from a
/// listing, and, unless `dry_run`, enforced by the store.
async fn apply(
    store: &FileStore,
    dry_run: bool,
    now: OffsetDateTime,
) -> promptkit_media_store::Result<(Vec<Expired>, u64, u64)> {
    let plan = plan(&store.list().await?, now);
    if dry_run {
        return Ok((plan.expired, plan.removed_objects, plan.freed_bytes));
    }
    let report = store.enforce_retention(now).await?;
    let mut known: HashMap<String, Expired> = plan
        .expired
        .into_iter()
        .map(|e| (e.reference.clone(), e))
        .collect();
    // A reference stored between the listing and the enforcement is
    // reported without details.
    let expired = report
        .expired_references
        .iter()
        .map(|r| {
            known.remove(r.as_str()).unwrap_or_else(|| Expired {
                reference: r.to_string(),
                conversation_id: None,
                session_id: None,
                retention_policy: None,
                created_at: None,
                created: None,
            })
        })
        .collect();
    Ok((expired, report.removed_objects, report.freed_bytes))
}

/// What enforcement at `now` would drop, computed from a listing the way the
/// store decides it: a reference expires by its own policy and creation
/// time; a file goes when all its references expire.
struct Plan {
    expired: Vec<Expired>,
    removed_objects: u64,
    freed_bytes: u64,
}

fn plan(objects: &[StoredObject], now: OffsetDateTime) -> Plan {
    let mut p = Plan {
        expired: Vec::new(),
        removed_objects: 0,
        freed_bytes: 0,
    };
    for o in objects {
        let refs = &o.sidecar.references;
        let before = p.expired.len();
        p.expired.extend(
            refs.iter()
                .filter(|r| r.owner.is_expired(now))
                .map(|r| Expired {
                    reference: format!("file:{}", r.id),
                    conversation_id: r.owner.conversation_id.clone(),
                    session_id: r.owner.session_id.clone(),
                    retention_policy: Some(r.owner.retention_policy.to_string()),
                    created_at: Some(rfc3339(r.owner.created_at)),
                    created: Some(r.owner.created_at),
                }),
        );
        if !refs.is_empty() && p.expired.len() - before == refs.len() {
            p.removed_objects += 1;
            p.freed_bytes += o.sidecar.size_bytes;
        }
    }
    p.expired.sort_by(|a, b| {
        a.created
            .cmp(&b.created)
            .then_with(|| a.reference.cmp(&b.reference))
    });
    p
}

fn human(d: &RetentionDoc<'_>) -> String {
    let mut out = String::new();
    let verb = if d.dry_run { "would expire" } else { "expired" };
    let _ = writeln!(
        out,
        "{}: {} reference{} {verb} at {}",
        d.store,
        d.expired_references.len(),
        if d.expired_references.len() == 1 {
            ""
        } else {
            "s"
        },
        short_time(d.at),
    );
    for e in &d.expired_references {
        let _ = writeln!(
            out,
            "  {}  conversation {}  session {}  {}  created {}",
            e.reference,
            e.conversation_id.as_deref().unwrap_or("-"),
            e.session_id.as_deref().unwrap_or("-"),
            e.retention_policy.as_deref().unwrap_or("-"),
            e.created.map_or_else(|| "-".to_owned(), short_time),
        );
    }
    let _ = writeln!(
        out,
        "{} file{} {}, {} ({} bytes) {}",
        d.removed_objects,
        if d.removed_objects == 1 { "" } else { "s" },
        if d.dry_run {
            "would be removed"
        } else {
            "removed"
        },
        human_size(d.freed_bytes),
        d.freed_bytes,
        if d.dry_run { "would be freed" } else { "freed" },
    );
    out
}
