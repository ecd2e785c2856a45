//! The lifecycle operations of both kinds of store (the local `FileStore`
//! and the object-store backend) behind one interface for the commands:
//! listing, garbage collection, verification, retention.

use std::collections::HashMap;
use std::path::PathBuf;

use promptkit_media_store::RetentionPolicy;
use promptkit_media_store::local::{GcOptions, GcReport, RetentionReport, VerifyReport};
use time::OffsetDateTime;

use super::{CliError, Target};

/// One live reference, whatever the backend.
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
    /// The media file (local store only).
    pub(crate) path: Option<PathBuf>,
    /// Live references sharing the bytes (more than 1: deduplicated).
    pub(crate) ref_count: u64,
    /// Whether its retention period is over at the time given to `list`,
    /// as the store decides it.
    pub(crate) expired: bool,
}

impl Target {
    /// Every live reference, sorted by creation time, with expiry evaluated
    /// at `now`.
    pub(crate) async fn list(&self, now: OffsetDateTime) -> Result<Vec<Listed>, CliError> {
        let mut out: Vec<Listed> = match self {
            Target::Local { store, .. } => {
                let objects = store.list().await.map_err(|e| self.err(e))?;
                objects
                    .iter()
                    .flat_map(|o| {
                        o.live_references.iter().map(move |r| Listed {
                            reference: format!("file:{}", r.id),
                            mime_type: r.mime_type.clone(),
                            size_bytes: o.sidecar.size_bytes,
                            conversation_id: r.owner.conversation_id.clone(),
                            session_id: r.owner.session_id.clone(),
                            run_id: r.owner.run_id.clone(),
                            created: r.owner.created_at,
                            policy: r.owner.retention_policy,
                            blake3: o.sidecar.blake3.clone(),
                            path: Some(o.path.clone()),
                            ref_count: o.ref_count(),
                            expired: r.owner.is_expired(now),
                        })
                    })
                    .collect()
            }
            Target::Object { store, .. } => {
                let refs = store.list().await.map_err(|e| self.err(e))?;
                let mut shared: HashMap<&str, u64> = HashMap::new();
                for r in &refs {
                    *shared.entry(r.blake3.as_str()).or_default() += 1;
                }
                refs.iter()
                    .map(|r| Listed {
                        reference: r.reference.to_string(),
                        mime_type: r.mime_type.clone(),
                        size_bytes: r.size_bytes,
                        conversation_id: r.metadata.conversation_id.clone(),
                        session_id: r.metadata.session_id.clone(),
                        run_id: r.metadata.run_id.clone(),
                        created: r.created,
                        policy: r.policy,
                        blake3: r.blake3.clone(),
                        path: None,
                        ref_count: shared.get(r.blake3.as_str()).copied().unwrap_or(1),
                        expired: r.is_expired(now),
                    })
                    .collect()
            }
        };
        out.sort_by(|a, b| (a.created, &a.reference).cmp(&(b.created, &b.reference)));
        Ok(out)
    }

    /// Garbage collection; reference ids in the report are full references.
    pub(crate) async fn gc(&self, options: GcOptions) -> Result<GcReport, CliError> {
        match self {
            Target::Local { store, .. } => {
                let mut r = store.gc(options).await.map_err(|e| self.err(e))?;
                // The local store reports bare reference ids.
                for ids in [
                    &mut r.pruned_references,
                    &mut r.dangling_references,
                    &mut r.repaired_references,
                ] {
                    for id in ids.iter_mut() {
                        *id = format!("file:{id}");
                    }
                }
                Ok(r)
            }
            Target::Object { store, .. } => store.gc(options).await.map_err(|e| self.err(e)),
        }
    }

    /// Re-hashes everything, calling `progress(done, total)` on the way.
    pub(crate) async fn verify(
        &self,
        progress: impl Fn(u64, u64) + Send + 'static,
    ) -> Result<VerifyReport, CliError> {
        let r = match self {
            Target::Local { store, .. } => store.verify_with_progress(progress).await,
            Target::Object { store, .. } => store.verify_with_progress(progress).await,
        };
        r.map_err(|e| self.err(e))
    }

    /// Drops every reference expired at `now`.
    pub(crate) async fn enforce_retention(
        &self,
        now: OffsetDateTime,
    ) -> Result<RetentionReport, CliError> {
        let r = match self {
            Target::Local { store, .. } => store.enforce_retention(now).await,
            Target::Object { store, .. } => store.enforce_retention(now).await,
        };
        r.map_err(|e| self.err(e))
    }

    /// Drops the `delete-with-conversation` references of a deleted
    /// conversation.
    pub(crate) async fn conversation_deleted(
        &self,
        conversation_id: &str,
    ) -> Result<RetentionReport, CliError> {
        let r = match self {
            Target::Local { store, .. } => store.conversation_deleted(conversation_id).await,
            Target::Object { store, .. } => store.conversation_deleted(conversation_id).await,
        };
        r.map_err(|e| self.err(e))
    }
}
