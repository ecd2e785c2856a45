use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Error;

/// How stored media is laid out under the store's root.
///
/// Parsed from `flat`, `by-session`, `by-conversation`, `by-run` (also with
/// `_`, in any case, or without the `by-`), e.g. from `MEDIA_ORGANIZATION`.
///
/// ```
/// use promptkit_media_store::Organization;
/// let org: Organization = "by_conversation".parse().unwrap();
/// assert_eq!(org, Organization::ByConversation);
/// assert_eq!(org.to_string(), "by-conversation");
/// assert_eq!(Organization::default(), Organization::BySession);
/// assert!("tree".parse::<Organization>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Organization {
    /// `media/<id>.<ext>`
    Flat,
    /// `media/<session>/<conversation>/<id>.<ext>` (needs session and conversation ids).
    #[default]
    BySession,
    /// `media/<conversation>/<id>.<ext>` (needs a conversation id).
    ByConversation,
    /// `media/<run>/<id>.<ext>` (needs a run id).
    ByRun,
}

impl FromStr for Organization {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "flat" => Ok(Organization::Flat),
            "by-session" | "session" => Ok(Organization::BySession),
            "by-conversation" | "conversation" => Ok(Organization::ByConversation),
            "by-run" | "run" => Ok(Organization::ByRun),
            other => Err(Error::invalid(
                "organization",
                format!(
                    "unknown organization `{other}` (flat, by-session, by-conversation, by-run)"
                ),
            )),
        }
    }
}

impl fmt::Display for Organization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Organization::Flat => "flat",
            Organization::BySession => "by-session",
            Organization::ByConversation => "by-conversation",
            Organization::ByRun => "by-run",
        })
    }
}

/// How long stored media is kept.
///
/// String forms: `retain`, `delete-after-<N>min`, `retain-<N>hours`,
/// `retain-<N>days`, `delete-with-conversation`.
///
/// ```
/// use promptkit_media_store::RetentionPolicy;
/// use std::time::Duration;
/// let p: RetentionPolicy = "retain-2hours".parse().unwrap();
/// assert_eq!(p.max_age(), Some(Duration::from_secs(7200)));
/// assert_eq!(p.to_string(), "retain-2hours");
/// assert!("retain-forever-ish".parse::<RetentionPolicy>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum RetentionPolicy {
    /// Keep forever.
    #[default]
    Retain,
    /// Delete N minutes after storing.
    DeleteAfterMinutes(u32),
    /// Keep for N hours.
    RetainHours(u32),
    /// Keep for N days.
    RetainDays(u32),
    /// Delete when the owning conversation is deleted.
    DeleteWithConversation,
}

impl RetentionPolicy {
    /// Maximum age, for time-based policies.
    pub fn max_age(&self) -> Option<Duration> {
        match *self {
            RetentionPolicy::DeleteAfterMinutes(n) => Some(Duration::from_secs(u64::from(n) * 60)),
            RetentionPolicy::RetainHours(n) => Some(Duration::from_secs(u64::from(n) * 3600)),
            RetentionPolicy::RetainDays(n) => Some(Duration::from_secs(u64::from(n) * 86400)),
            RetentionPolicy::Retain | RetentionPolicy::DeleteWithConversation => None,
        }
    }
}

impl fmt::Display for RetentionPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetentionPolicy::Retain => f.write_str("retain"),
            RetentionPolicy::DeleteAfterMinutes(n) => write!(f, "delete-after-{n}min"),
            RetentionPolicy::RetainHours(n) => write!(f, "retain-{n}hours"),
            RetentionPolicy::RetainDays(n) => write!(f, "retain-{n}days"),
            RetentionPolicy::DeleteWithConversation => f.write_str("delete-with-conversation"),
        }
    }
}

impl FromStr for RetentionPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || {
            Error::invalid(
                "retention_policy",
                format!(
                    "unknown retention policy `{s}` (retain, delete-after-<N>min, retain-<N>hours, retain-<N>days, delete-with-conversation)"
                ),
            )
        };
        let num = |d: &str| d.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(bad);
        match s {
            "retain" => Ok(RetentionPolicy::Retain),
            "delete-with-conversation" => Ok(RetentionPolicy::DeleteWithConversation),
            _ => {
                if let Some(n) = s
                    .strip_prefix("delete-after-")
                    .and_then(|r| r.strip_suffix("min"))
                {
                    Ok(RetentionPolicy::DeleteAfterMinutes(num(n)?))
                } else if let Some(n) = s
                    .strip_prefix("retain-")
                    .and_then(|r| r.strip_suffix("hours"))
                {
                    Ok(RetentionPolicy::RetainHours(num(n)?))
                } else if let Some(n) = s
                    .strip_prefix("retain-")
                    .and_then(|r| r.strip_suffix("days"))
                {
                    Ok(RetentionPolicy::RetainDays(num(n)?))
                } else {
                    Err(bad())
                }
            }
        }
    }
}

impl Serialize for RetentionPolicy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RetentionPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where a media item came from; written to its `.meta` sidecar and used for
/// organization and retention.
///
/// ```
/// use promptkit_media_store::{MediaMetadata, RetentionPolicy};
/// let meta = MediaMetadata::new()
///     .with_session("s1")
///     .with_conversation("c1")
///     .with_position(3, 0)
///     .with_provider("openai")
///     .with_policy(RetentionPolicy::RetainDays(30));
/// assert_eq!((meta.message_index, meta.part_index), (Some(3), Some(0)));
/// let json = serde_json::to_value(&meta).unwrap();
/// assert_eq!(json["policy"], "retain-30days");
/// assert!(json.get("run_id").is_none(), "unset fields are left out");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MediaMetadata {
    /// Owning conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// Owning session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Owning run (batch job, evaluation run, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// End user, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Index of the message in the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_index: Option<u32>,
    /// Index of the part in the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_index: Option<u32>,
    /// Provider that produced the media, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    /// Retention policy; the store's default when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<RetentionPolicy>,
}

impl MediaMetadata {
    /// Empty metadata.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the conversation id.
    pub fn with_conversation(mut self, id: impl Into<String>) -> Self {
        self.conversation_id = Some(id.into());
        self
    }
    /// Sets the session id.
    pub fn with_session(mut self, id: impl Into<String>) -> Self {
        self.session_id = Some(id.into());
        self
    }
    /// Sets the run id.
    pub fn with_run(mut self, id: impl Into<String>) -> Self {
        self.run_id = Some(id.into());
        self
    }
    /// Sets the user id.
    pub fn with_user(mut self, id: impl Into<String>) -> Self {
        self.user_id = Some(id.into());
        self
    }
    /// Sets message and part index.
    pub fn with_position(mut self, message_index: u32, part_index: u32) -> Self {
        self.message_index = Some(message_index);
        self.part_index = Some(part_index);
        self
    }
    /// Sets the provider id.
    pub fn with_provider(mut self, id: impl Into<String>) -> Self {
        self.provider_id = Some(id.into());
        self
    }
    /// Sets the retention policy.
    pub fn with_policy(mut self, policy: RetentionPolicy) -> Self {
        self.policy = Some(policy);
        self
    }
}

/// Per-MIME-type (or per-owner) counts.
///
/// ```
/// use promptkit_media_store::TypeStats;
/// let per_mime = [
///     TypeStats { references: 2, logical_bytes: 2048 },
///     TypeStats { references: 1, logical_bytes: 512 },
/// ];
/// let total = per_mime.iter().fold(TypeStats::default(), |t, s| TypeStats {
///     references: t.references + s.references,
///     logical_bytes: t.logical_bytes + s.logical_bytes,
/// });
/// assert_eq!(total, TypeStats { references: 3, logical_bytes: 2560 });
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeStats {
    /// References.
    pub references: u64,
    /// Logical bytes (sum over references).
    pub logical_bytes: u64,
}

/// Statistics computed by a store from what it holds.
///
/// ```
/// # #[cfg(feature = "local")] {
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use promptkit_media_store::{FileStore, MediaMetadata, MediaStore, MediaStoreExt};
/// # let dir = tempfile::tempdir().unwrap();
/// let store = FileStore::builder().with_base_dir(dir.path()).build().unwrap();
/// let meta = MediaMetadata::new().with_session("s1").with_conversation("c1");
/// store.store_bytes("text/plain", "same bytes".into(), &meta).await.unwrap();
/// store.store_bytes("text/plain", "same bytes".into(), &meta).await.unwrap();
/// let stats = store.stats().await.unwrap();
/// assert_eq!((stats.objects, stats.references), (1, 2));
/// assert_eq!((stats.logical_bytes, stats.physical_bytes), (20, 10));
/// assert_eq!(stats.dedup_savings(), 10);
/// assert_eq!(stats.by_mime["text/plain"].references, 2);
/// assert_eq!(stats.by_conversation["c1"].logical_bytes, 20);
/// # });
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StorageStats {
    /// Distinct stored objects (after dedup).
    pub objects: u64,
    /// Live references.
    pub references: u64,
    /// Sum of sizes over references (what would be stored without dedup).
    pub logical_bytes: u64,
    /// Bytes actually stored (media objects, not sidecars).
    pub physical_bytes: u64,
    /// Breakdown per MIME type.
    pub by_mime: BTreeMap<String, TypeStats>,
    /// Breakdown per conversation id (`-` where none).
    pub by_conversation: BTreeMap<String, TypeStats>,
    /// Breakdown per session id (`-` where none).
    pub by_session: BTreeMap<String, TypeStats>,
}

impl StorageStats {
    /// Bytes saved by deduplication.
    pub fn dedup_savings(&self) -> u64 {
        self.logical_bytes.saturating_sub(self.physical_bytes)
    }
}
