//! The one listing the commands share (`ls`, `retention`): every live
//! reference of any store, with how many references share its stored bytes.

use std::collections::HashMap;
use std::path::PathBuf;

use promptkit_media_store::{RetentionPolicy, StoredReference};
use time::OffsetDateTime;

use super::{CliError, Target};

/// One live reference.
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    /// The reference (`file:<id>`, `obj:<hash>/<id>`).
    pub(crate) reference: String,
    /// MIME type declared when it was stored.
    pub(crate) mime_type: String,
    /// Size of the bytes.
    pub(crate) size_bytes: u64,
    /// Owning conversation.
    pub(crate) conversation_id: Option<String>,
    /// Owning session.
    pub(crate) session_id: Option<String>,
    /// Owning run.
    pub(crate) run_id: Option<String>,
    /// When it was stored.
    pub(crate) created: OffsetDateTime,
    /// Its retention policy.
    pub(crate) policy: RetentionPolicy,
    /// BLAKE3 hash of the bytes.
    pub(crate) blake3: String,
    /// Where the bytes are, relative to the store root or key prefix
    /// (shared by the references to deduplicated bytes).
    pub(crate) location: PathBuf,
    /// Live references sharing the stored bytes (more than 1: deduplicated).
    pub(crate) ref_count: u64,
    /// Whether its retention period is over at the time given to [`list`].
    pub(crate) expired: bool,
}

/// Every live reference of `target`, sorted by creation time then
/// reference, with expiry evaluated at `now`.
pub(crate) async fn list(target: &Target, now: OffsetDateTime) -> Result<Vec<Listed>, CliError> {
    let stored = target.store().list().await.map_err(|e| target.err(e))?;
    Ok(listed(stored, now))
}

/// [`Listed`] entries: reference counts by grouping on the location.
fn listed(stored: Vec<StoredReference>, now: OffsetDateTime) -> Vec<Listed> {
    let mut shared: HashMap<PathBuf, u64> = HashMap::new();
    for s in &stored {
        *shared.entry(s.location.clone()).or_default() += 1;
    }
    let mut out: Vec<Listed> = stored
        .into_iter()
        .map(|s| Listed {
            ref_count: shared.get(&s.location).copied().unwrap_or(1),
            expired: s.is_expired(now),
            reference: s.reference.to_string(),
            mime_type: s.mime_type,
            size_bytes: s.size_bytes,
            conversation_id: s.metadata.conversation_id,
            session_id: s.metadata.session_id,
            run_id: s.metadata.run_id,
            created: s.created,
            policy: s.policy,
            blake3: s.blake3,
            location: s.location,
        })
        .collect();
    out.sort_by(|a, b| (a.created, &a.reference).cmp(&(b.created, &b.reference)));
    out
}
