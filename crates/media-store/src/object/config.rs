//! Settings of an [`ObjectStoreMediaStore`](super::ObjectStoreMediaStore).

use crate::{Organization, RetentionPolicy};

/// Default size at and above which media is uploaded in parts (5 MiB).
pub const DEFAULT_MULTIPART_THRESHOLD: usize = 5 * 1024 * 1024;

/// Size of each part of a multipart upload: S3's minimum part size.
pub(crate) const PART_SIZE: usize = 5 * 1024 * 1024;

/// Settings of an [`ObjectStoreMediaStore`](super::ObjectStoreMediaStore).
///
/// ```
/// use promptkit_media_store::{ObjectStoreConfig, Organization, RetentionPolicy};
/// let config = ObjectStoreConfig::default()
///     .with_organization(Organization::ByConversation)
///     .with_prefix("tenants/acme")
///     .with_default_policy(RetentionPolicy::RetainDays(30))
///     .with_max_file_size(50 * 1024 * 1024);
/// assert_eq!(config.prefix.as_deref(), Some("tenants/acme"));
/// assert_eq!(config.organization, Organization::ByConversation);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectStoreConfig {
    /// Key layout under `media/` (default [`Organization::BySession`]).
    pub organization: Organization,
    /// Key prefix inside the bucket/container (`None`: its root).
    pub prefix: Option<String>,
    /// Retention policy recorded when the metadata has none.
    pub default_policy: RetentionPolicy,
    /// Largest accepted media in bytes (`None`: no limit).
    pub max_file_size: Option<u64>,
    /// Media of at least this many bytes is uploaded with a streaming multipart
    /// upload in 5 MiB parts instead of one `PUT`.
    pub multipart_threshold: usize,
}

impl Default for ObjectStoreConfig {
    fn default() -> Self {
        ObjectStoreConfig {
            organization: Organization::default(),
            prefix: None,
            default_policy: RetentionPolicy::default(),
            max_file_size: None,
            multipart_threshold: DEFAULT_MULTIPART_THRESHOLD,
        }
    }
}

impl ObjectStoreConfig {
    /// Sets the organization mode.
    pub fn with_organization(mut self, organization: Organization) -> Self {
        self.organization = organization;
        self
    }

    /// Sets the key prefix (`a/b`; leading and trailing `/` are ignored).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Sets the retention policy recorded when the metadata has none.
    pub fn with_default_policy(mut self, policy: RetentionPolicy) -> Self {
        self.default_policy = policy;
        self
    }

    /// Sets the largest accepted media size in bytes.
    pub fn with_max_file_size(mut self, bytes: u64) -> Self {
        self.max_file_size = Some(bytes);
        self
    }

    /// Sets the size at and above which uploads are multipart (at least 1 byte).
    pub fn with_multipart_threshold(mut self, bytes: usize) -> Self {
        self.multipart_threshold = bytes.max(1);
        self
    }
}
