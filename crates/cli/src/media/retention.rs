//! `promptkit media retention`: apply the retention policies now.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

use promptkit_media_store::RetentionPolicy;
use serde::Serialize;
use time::OffsetDateTime;

use super::listing::{self, Listed};
use super::output::{Format, human_size, print_json, print_text, rfc3339, short_time};
use super::{CliError, Outcome, Target, progress};

/// What to apply.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// Report only; change nothing.
    pub(crate) dry_run: bool,
    /// When time-based policies are evaluated.
    pub(crate) now: OffsetDateTime,
    /// Conversations whose `delete-with-conversation` references go.
    pub(crate) deleted_conversations: Vec<String>,
}

/// The `--json` document.
#[derive(Debug, Serialize)]
struct RetentionDoc<'a> {
    store: &'a str,
    dry_run: bool,
    /// The time expiry was evaluated at (RFC 3339, UTC).
    now: String,
    #[serde(skip)]
    at: OffsetDateTime,
    deleted_conversations: &'a [String],
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

/// Drops (or with `request.dry_run` lists) every reference expired at
/// `request.now` or owned by a deleted conversation.
pub(crate) async fn run(
    target: &Target,
    request: &Request,
    format: Format,
) -> Result<Outcome, CliError> {
    let pb = progress::spinner("applying retention policies");
    let result = apply(target, request).await;
    pb.finish_and_clear();
    let (expired, removed_objects, freed_bytes) = result?;
    let doc = RetentionDoc {
        store: target.shown(),
        dry_run: request.dry_run,
        now: rfc3339(request.now),
        at: request.now,
        deleted_conversations: &request.deleted_conversations,
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
async fn apply(target: &Target, request: &Request) -> Result<(Vec<Expired>, u64, u64), CliError> {
    let deleted: HashSet<&str> = request
        .deleted_conversations
        .iter()
        .map(String::as_str)
        .collect();
    let plan = plan(listing::list(target, request.now).await?, &deleted);
    if request.dry_run {
        return Ok((plan.expired, plan.removed_objects, plan.freed_bytes));
    }
    let store = target.store();
    let failed = |e| target.err(e);
    let mut reports = vec![store.enforce_retention(request.now).await.map_err(failed)?];
    let mut seen = HashSet::new();
    for id in &request.deleted_conversations {
        if seen.insert(id) {
            reports.push(store.conversation_deleted(id).await.map_err(failed)?);
        }
    }
    let mut known: HashMap<String, Expired> = plan
        .expired
        .into_iter()
        .map(|e| (e.reference.clone(), e))
        .collect();
    // A reference stored between the listing and the enforcement is
    // reported without details.
    let mut expired: Vec<Expired> = reports
        .iter()
        .flat_map(|r| &r.expired_references)
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
    expired.sort_by(|a, b| (a.created, &a.reference).cmp(&(b.created, &b.reference)));
    Ok((
        expired,
        reports.iter().map(|r| r.removed_objects).sum(),
        reports.iter().map(|r| r.freed_bytes).sum(),
    ))
}

/// What enforcement would drop, from a listing whose expiry the store
/// evaluated: the expired references and the `delete-with-conversation`
/// references of deleted conversations (as the store picks them), and the
/// stored files (objects) all of whose references go.
struct Plan {
    expired: Vec<Expired>,
    removed_objects: u64,
    freed_bytes: u64,
}

fn plan(listed: Vec<Listed>, deleted: &HashSet<&str>) -> Plan {
    let goes = |l: &Listed| {
        l.expired
            || (l.policy == RetentionPolicy::DeleteWithConversation
                && l.conversation_id
                    .as_deref()
                    .is_some_and(|c| deleted.contains(c)))
    };
    // Stored bytes, by location: one per hash with dedup, one per reference
    // without.
    let mut by_object: HashMap<&Path, (u64, bool)> = HashMap::new();
    for l in &listed {
        let e = by_object
            .entry(l.location.as_path())
            .or_insert((l.size_bytes, true));
        e.1 &= goes(l);
    }
    let gone = by_object.values().filter(|(_, all_expired)| *all_expired);
    let removed_objects = gone.clone().count() as u64;
    let freed_bytes = gone.map(|(size, _)| size).sum();
    Plan {
        removed_objects,
        freed_bytes,
        expired: listed
            .into_iter()
            .filter(|l| goes(l))
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
    let verb = if d.dry_run {
        "would be dropped"
    } else {
        "dropped"
    };
    let n = d.expired_references.len();
    let _ = write!(
        out,
        "{}: {n} reference{} {verb} (time-based policies at {}",
        d.store,
        if n == 1 { "" } else { "s" },
        short_time(d.at),
    );
    if !d.deleted_conversations.is_empty() {
        let _ = write!(
            out,
            "; delete-with-conversation for {}",
            d.deleted_conversations.join(", ")
        );
    }
    out.push_str(")\n");
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

    fn listed(reference: &str, location: &str, expired: bool) -> Listed {
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
            location: location.into(),
            ref_count: 2,
            expired,
        }
    }

    fn plan_of(listed: Vec<Listed>) -> Plan {
        plan(listed, &HashSet::new())
    }

    #[test]
    fn bytes_go_with_their_last_reference() {
        // Deduplicated: one file, two references.
        let p = plan_of(vec![
            listed("a", "media/f", true),
            listed("b", "media/f", false),
        ]);
        assert_eq!(
            (p.expired.len(), p.removed_objects, p.freed_bytes),
            (1, 0, 0)
        );
        let p = plan_of(vec![
            listed("a", "media/f", true),
            listed("b", "media/f", true),
        ]);
        assert_eq!(
            (p.expired.len(), p.removed_objects, p.freed_bytes),
            (2, 1, 100)
        );
        // Without dedup, identical bytes live in two files.
        let p = plan_of(vec![
            listed("a", "media/f", true),
            listed("b", "media/g", false),
        ]);
        assert_eq!((p.removed_objects, p.freed_bytes), (1, 100));
    }

    #[test]
    fn deleted_conversations_take_only_their_delete_with_conversation_references() {
        let owned = |reference: &str, conv: &str, policy| Listed {
            conversation_id: Some(conv.into()),
            policy,
            expired: false,
            ..listed(reference, reference, false)
        };
        let listed = vec![
            owned("a", "c1", RetentionPolicy::DeleteWithConversation),
            owned("b", "c1", RetentionPolicy::Retain),
            owned("c", "c2", RetentionPolicy::DeleteWithConversation),
        ];
        let p = plan(listed, &HashSet::from(["c1"]));
        let refs: Vec<&str> = p.expired.iter().map(|e| e.reference.as_str()).collect();
        assert_eq!(refs, ["a"]);
        assert_eq!((p.removed_objects, p.freed_bytes), (1, 100));
    }
}
