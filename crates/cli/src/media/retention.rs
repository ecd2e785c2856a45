//! `promptkit media retention`: apply the time-based retention policies now.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;
use time::OffsetDateTime;

use super::backend::Listed;
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
    let pb = progress::spinner("applying retention policies");
    let result = apply(target, dry_run, now).await;
    pb.finish_and_clear();
    let (expired, removed_objects, freed_bytes) = result?;
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
    target: &Target,
    dry_run: bool,
    now: OffsetDateTime,
) -> Result<(Vec<Expired>, u64, u64), CliError> {
    let plan = plan(target.list(now).await?);
    if dry_run {
        return Ok((plan.expired, plan.removed_objects, plan.freed_bytes));
    }
    let report = target.enforce_retention(now).await?;
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

/// What enforcement would drop, from a listing whose expiry the store
/// evaluated: the expired references, and the stored files (objects) all of
/// whose references expired.
struct Plan {
    expired: Vec<Expired>,
    removed_objects: u64,
    freed_bytes: u64,
}

fn plan(listed: Vec<Listed>) -> Plan {
    // Stored bytes: a file on the local store (one per hash with dedup, one
    // per reference without), the content hash on object stores.
    let mut by_object: HashMap<String, (u64, bool)> = HashMap::new();
    for l in &listed {
        let key = l
            .path
            .as_ref()
            .map_or_else(|| l.blake3.clone(), |p| p.display().to_string());
        let e = by_object.entry(key).or_insert((l.size_bytes, true));
        e.1 &= l.expired;
    }
    let gone = by_object.values().filter(|(_, all_expired)| *all_expired);
    Plan {
        removed_objects: gone.clone().count() as u64,
        freed_bytes: gone.map(|(size, _)| size).sum(),
        expired: listed
            .into_iter()
            .filter(|l| l.expired)
            .map(|l| Expired {
                reference: l.reference,
                conversation_id: l.conversation_id,
                session_id: l.session_id,
                retention_policy: Some(l.policy.to_string()),
                created_at: Some(rfc3339(l.created)),
                created: Some(l.created),
            })
            .collect(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use promptkit_media_store::RetentionPolicy;

    fn listed(reference: &str, path: Option<&str>, expired: bool) -> Listed {
        Listed {
            reference: reference.into(),
            mime_type: "image/png".into(),
            size_bytes: 100,
            conversation_id: None,
            session_id: None,
            run_id: None,
            created: OffsetDateTime::UNIX_EPOCH,
            policy: RetentionPolicy::RetainHours(1),
            blake3: "h".into(),
            path: path.map(Into::into),
            ref_count: 2,
            expired,
        }
    }

    #[test]
    fn bytes_go_with_their_last_reference() {
        // Deduplicated: one file, two references.
        let p = plan(vec![
            listed("a", Some("/f"), true),
            listed("b", Some("/f"), false),
        ]);
        assert_eq!(
            (p.expired.len(), p.removed_objects, p.freed_bytes),
            (1, 0, 0)
        );
        let p = plan(vec![
            listed("a", Some("/f"), true),
            listed("b", Some("/f"), true),
        ]);
        assert_eq!(
            (p.expired.len(), p.removed_objects, p.freed_bytes),
            (2, 1, 100)
        );
        // Without dedup, identical bytes live in two files.
        let p = plan(vec![
            listed("a", Some("/f"), true),
            listed("b", Some("/g"), false),
        ]);
        assert_eq!((p.removed_objects, p.freed_bytes), (1, 100));
        // Object stores: by content hash.
        let p = plan(vec![listed("a", None, true), listed("b", None, false)]);
        assert_eq!(p.removed_objects, 0);
    }
}
