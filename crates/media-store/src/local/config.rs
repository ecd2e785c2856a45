//! Configuration of the local file store and its builder.

use std::path::PathBuf;

use super::FileStore;
use crate::options::{LOCAL_VARIABLES, Options, SHARED_VARIABLES};
use crate::{Error, Organization, Result, RetentionPolicy};

/// Configuration of a [`FileStore`].
///
/// ```
/// use promptkit_media_store::{FileStore, FileStoreConfig, Organization};
/// let dir = tempfile::tempdir().unwrap();
/// let config = FileStoreConfig {
///     organization: Organization::ByConversation,
///     ..FileStoreConfig::new(dir.path())
/// };
/// let store = FileStore::new(config).unwrap();
/// assert_eq!(store.config().organization, Organization::ByConversation);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStoreConfig {
    /// Root directory of the store (created on build).
    pub base_dir: PathBuf,
    /// Directory layout of media files.
    pub organization: Organization,
    /// Store identical bytes once (on by default).
    pub enable_deduplication: bool,
    /// Retention policy for media whose metadata has none.
    pub default_policy: RetentionPolicy,
    /// Largest accepted media, in bytes (`None`: no limit).
    pub max_file_size: Option<u64>,
    /// Fsync files and directories on every write (on by default). Turning it
    /// off is faster but a power loss may lose recent writes (a crash of the
    /// process alone never leaves partial files either way).
    pub fsync: bool,
    /// Open without writing anything (statistics, listings, `verify`, a
    /// dry-run `gc`); mutations return `Error::NotSupported`. Off by default.
    pub read_only: bool,
}

impl FileStoreConfig {
    /// The defaults for a base directory: [`Organization::BySession`],
    /// deduplication on, [`RetentionPolicy::Retain`], no size limit, fsync on.
    pub fn new(base_dir: impl Into<PathBuf>) -> Self {
        FileStoreConfig {
            base_dir: base_dir.into(),
            ..Self::default()
        }
    }
}

impl Default for FileStoreConfig {
    /// Defaults with an empty `base_dir`, which [`FileStore::new`] rejects.
    fn default() -> Self {
        FileStoreConfig {
            base_dir: PathBuf::new(),
            organization: Organization::default(),
            enable_deduplication: true,
            default_policy: RetentionPolicy::default(),
            max_file_size: None,
            fsync: true,
            read_only: false,
        }
    }
}

/// Builder of a [`FileStore`] (consuming `with_*` methods, fallible `build`).
///
/// ```
/// use promptkit_media_store::{FileStore, Organization};
/// let dir = tempfile::tempdir().unwrap();
/// let store = FileStore::builder()
///     .with_base_dir(dir.path().join("media-store"))
///     .with_organization(Organization::Flat)
///     .with_max_file_size(10 * 1024 * 1024)
///     .build()
///     .unwrap();
/// assert!(dir.path().join("media-store").is_dir());
/// # drop(store);
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct FileStoreBuilder {
    config: FileStoreConfig,
    env_error: Option<String>,
}

impl FileStoreBuilder {
    /// A builder with [`FileStoreConfig::default`] settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the root directory.
    pub fn with_base_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.base_dir = dir.into();
        self
    }

    /// Sets the directory layout.
    pub fn with_organization(mut self, organization: Organization) -> Self {
        self.config.organization = organization;
        self
    }

    /// Switches deduplication on or off.
    pub fn with_deduplication(mut self, enabled: bool) -> Self {
        self.config.enable_deduplication = enabled;
        self
    }

    /// Sets the default retention policy.
    pub fn with_default_policy(mut self, policy: RetentionPolicy) -> Self {
        self.config.default_policy = policy;
        self
    }

    /// Sets the largest accepted media, in bytes.
    pub fn with_max_file_size(mut self, bytes: u64) -> Self {
        self.config.max_file_size = Some(bytes);
        self
    }

    /// Switches fsync on or off (see [`FileStoreConfig::fsync`]).
    ///
    /// **Warning:** without fsync, a power loss or kernel crash can lose
    /// media and reference records written shortly before.
    pub fn with_fsync(mut self, fsync: bool) -> Self {
        self.config.fsync = fsync;
        self
    }

    /// Opens the store read-only (see [`FileStoreConfig::read_only`]): for
    /// inspecting a store without changing anything, also on a read-only
    /// mount.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use promptkit_media_store::{FileStore, MediaMetadata, MediaStore, MediaStoreExt};
    /// let dir = tempfile::tempdir().unwrap();
    /// let meta = MediaMetadata::new().with_session("s").with_conversation("c");
    /// let writer = FileStore::builder().with_base_dir(dir.path()).build().unwrap();
    /// writer.store_bytes("text/plain", "hi".into(), &meta).await.unwrap();
    /// let reader = FileStore::builder().with_base_dir(dir.path()).with_read_only(true)
    ///     .build().unwrap();
    /// assert_eq!(reader.stats().await.unwrap().references, 1);
    /// assert!(reader.store_bytes("text/plain", "no".into(), &meta).await.is_err());
    /// # }
    /// ```
    pub fn with_read_only(mut self, read_only: bool) -> Self {
        self.config.read_only = read_only;
        self
    }

    /// Reads settings from the environment, overriding earlier ones for every
    /// variable that is set:
    ///
    /// | variable | setting | example |
    /// |---|---|---|
    /// | `MEDIA_STORE_DIR` | base directory | `./media` |
    /// | `MEDIA_ORGANIZATION` | layout | `flat`, `by-session`, `by-conversation`, `by-run` |
    /// | `MEDIA_DEDUPLICATION` | deduplication | `true` / `false` (also `1`/`0`, `yes`/`no`) |
    /// | `MEDIA_DEFAULT_POLICY` | default retention | `retain`, `retain-7days`, ... |
    /// | `MEDIA_MAX_FILE_SIZE` | size limit in bytes | `10485760` |
    /// | `MEDIA_FSYNC` | fsync | `true` / `false` |
    ///
    /// An unparsable value is reported by [`build`](Self::build).
    pub fn from_env(self) -> Self {
        self.from_lookup(|k| std::env::var(k).ok())
    }

    /// [`from_env`](Self::from_env) with a custom variable lookup.
    ///
    /// ```
    /// use promptkit_media_store::{FileStoreBuilder, Organization};
    /// let b = FileStoreBuilder::new().from_lookup(|k| match k {
    ///     "MEDIA_ORGANIZATION" => Some("by-run".to_string()),
    ///     _ => None,
    /// });
    /// assert_eq!(b.config().organization, Organization::ByRun);
    /// ```
    pub fn from_lookup(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        if let Some(v) = lookup("MEDIA_STORE_DIR").filter(|v| !v.trim().is_empty()) {
            self.config.base_dir = PathBuf::from(v);
        }
        let mut o = Options::default();
        let read = o.read_vars(&lookup, &SHARED_VARIABLES);
        match read.and_then(|()| o.read_vars(&lookup, &LOCAL_VARIABLES)) {
            Ok(()) => self.with_options(&o),
            Err(e) => {
                self.env_error.get_or_insert(e);
                self
            }
        }
    }

    /// Applies the options that were given.
    pub(crate) fn with_options(mut self, o: &Options) -> Self {
        let c = &mut self.config;
        c.organization = o.organization.unwrap_or(c.organization);
        c.default_policy = o.default_policy.unwrap_or(c.default_policy);
        c.max_file_size = o.max_file_size.or(c.max_file_size);
        c.enable_deduplication = o.deduplication.unwrap_or(c.enable_deduplication);
        c.fsync = o.fsync.unwrap_or(c.fsync);
        c.read_only |= o.read_only;
        self
    }

    /// The configuration built so far.
    pub fn config(&self) -> &FileStoreConfig {
        &self.config
    }

    /// Creates the base directory and opens the store.
    pub fn build(self) -> Result<FileStore> {
        if let Some(e) = self.env_error {
            return Err(Error::Config(e));
        }
        FileStore::new(self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_and_errors() {
        let vars = |k: &str| match k {
            "MEDIA_STORE_DIR" => Some("/tmp/x".to_string()),
            "MEDIA_DEDUPLICATION" => Some("no".to_string()),
            "MEDIA_DEFAULT_POLICY" => Some("retain-3days".to_string()),
            "MEDIA_MAX_FILE_SIZE" => Some("1024".to_string()),
            _ => None,
        };
        let b = FileStoreBuilder::new().with_fsync(false).from_lookup(vars);
        let c = b.config();
        assert_eq!(c.base_dir, PathBuf::from("/tmp/x"));
        assert!(!c.enable_deduplication && !c.fsync);
        assert_eq!(c.default_policy, RetentionPolicy::RetainDays(3));
        assert_eq!(c.max_file_size, Some(1024));

        let bad = FileStoreBuilder::new()
            .from_lookup(|k| (k == "MEDIA_MAX_FILE_SIZE").then(|| "lots".to_string()));
        let err = bad.build().unwrap_err();
        assert!(
            matches!(err, Error::Config(ref m) if m.contains("MEDIA_MAX_FILE_SIZE")),
            "{err}"
        );
    }
}
