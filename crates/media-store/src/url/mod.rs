//! Choosing the media store at run time: `MEDIA_STORE_URL` and friends.

use std::str::FromStr;
use std::sync::Arc;

use ::url::Url;

use crate::{Error, MediaStore, Organization, Result, RetentionPolicy};

mod cloud;

pub use cloud::{AZURE_VARIABLES, GCS_VARIABLES};

/// The variable [`media_store_from_env`] reads the store URL from.
pub const MEDIA_STORE_URL: &str = "MEDIA_STORE_URL";

/// Opens the media store a URL names.
///
/// | URL | store | feature |
/// |---|---|---|
/// | `file:///var/lib/app/media` | the local `FileStore` in that directory (object_store's `LocalFileSystem` when built without `local`) | `local` or `object-store` |
/// | `s3://bucket/prefix` | S3; endpoint, region and credentials from the `AWS_*` variables (see `S3MediaStoreBuilder::from_env`) | `s3` |
/// | `gs://bucket/prefix` | Google Cloud Storage; credentials from the `GOOGLE_*` variables listed in [`GCS_VARIABLES`] | `gcs` |
/// | `az://container/prefix` (or `azure://`) | Azure Blob Storage; account and credentials from the `AZURE_*` variables listed in [`AZURE_VARIABLES`] | `azure` |
/// | `memory://` | in memory, for tests and demos | `object-store` |
///
/// Query parameters set options for any backend: `organization`
/// (`flat`, `by-session`, `by-conversation`, `by-run`), `default_policy`
/// (`retain`, `retain-7days`, ...) and `max_file_size` (bytes), e.g.
/// `s3://media/prod?organization=by-conversation`.
///
/// Unknown schemes, unknown or malformed parameters and schemes whose feature
/// is not compiled in are [`Error::Config`]. Nothing is contacted over the
/// network here: a wrong bucket or endpoint shows up at the first operation.
///
/// ```
/// # #[cfg(feature = "object-store")] {
/// use promptkit_media_store::media_store_from_url;
/// let store = media_store_from_url("memory://?organization=flat").unwrap();
/// assert!(media_store_from_url("ftp://example.com/media").is_err());
/// assert!(media_store_from_url("memory://?organisation=flat").is_err());
/// # drop(store); }
/// ```
pub fn media_store_from_url(url: &str) -> Result<Arc<dyn MediaStore>> {
    from_url_with(url, &env_var).map(OpenedStore::into_dyn)
}

/// A store opened from a URL, with its concrete type, for callers that need
/// more than the [`MediaStore`] trait (lifecycle operations such as `gc`,
/// `verify` or `enforce_retention`).
///
/// ```
/// # #[cfg(feature = "local")] {
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use promptkit_media_store::{OpenedStore, Organization, open_media_store_url};
/// # let dir = tempfile::tempdir().unwrap();
/// let url = url::Url::from_directory_path(dir.path()).unwrap(); // file:///...
/// let OpenedStore::File(store) = open_media_store_url(&format!("{url}?organization=flat")).unwrap()
/// else { panic!("file:// opens the local store") };
/// assert_eq!(store.config().organization, Organization::Flat);
/// assert!(store.verify().await.unwrap().is_ok()); // needs the concrete type
/// let store = OpenedStore::File(store).into_dyn(); // Arc<dyn MediaStore>
/// assert_eq!(store.stats().await.unwrap().objects, 0);
/// # });
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum OpenedStore {
    /// A local file store (`file://`).
    #[cfg(feature = "local")]
    File(crate::FileStore),
    /// An object store (`s3://`, `gs://`, `az://`, `memory://`, or `file://`
    /// without `local`).
    #[cfg(feature = "object-store")]
    Object(crate::ObjectStoreMediaStore),
}

impl OpenedStore {
    /// The store as a trait object.
    pub fn into_dyn(self) -> Arc<dyn MediaStore> {
        match self {
            #[cfg(feature = "local")]
            OpenedStore::File(s) => Arc::new(s),
            #[cfg(feature = "object-store")]
            OpenedStore::Object(s) => Arc::new(s),
        }
    }
}

/// Opens the store a URL names, like [`media_store_from_url`], but returns
/// it with its concrete type.
///
/// ```
/// # #[cfg(feature = "object-store")] {
/// use promptkit_media_store::{OpenedStore, open_media_store_url};
/// let OpenedStore::Object(store) = open_media_store_url("memory://").unwrap() else { panic!() };
/// # drop(store); }
/// ```
pub fn open_media_store_url(url: &str) -> Result<OpenedStore> {
    from_url_with(url, &env_var)
}

/// Opens the media store configured by the environment:
///
/// - `MEDIA_STORE_URL`: as in [`media_store_from_url`];
/// - `MEDIA_ORGANIZATION`, `MEDIA_DEFAULT_POLICY`, `MEDIA_MAX_FILE_SIZE`:
///   options for every backend (URL query parameters take precedence);
/// - `AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
///   `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_ALLOW_HTTP`: for `s3://`;
/// - the [`GCS_VARIABLES`]: for `gs://` (a service account, its key or a
///   path to it, application default credentials, or a bearer token);
/// - the [`AZURE_VARIABLES`]: for `az://` (with `AZURE_STORAGE_USE_EMULATOR=true`,
///   object_store talks to the Azurite emulator at `AZURITE_BLOB_STORAGE_URL`,
///   default `http://127.0.0.1:10000`, read from the process environment).
///
/// Without `MEDIA_STORE_URL`, the local file store is opened from its own
/// variables (`MEDIA_STORE_DIR`, ...; see `FileStoreBuilder::from_env`), or,
/// without the `local` feature, [`Error::Config`] is returned.
///
/// ```standalone_crate
/// # #[cfg(feature = "local")] {
/// use promptkit_media_store::media_store_from_env;
/// # let dir = tempfile::tempdir().unwrap();
/// let url = url::Url::from_directory_path(dir.path()).unwrap();
/// // Normally set by the deployment. (set_var: only while no other thread runs.)
/// unsafe {
///     std::env::set_var("MEDIA_STORE_URL", url.as_str()); // file:///...
///     std::env::set_var("MEDIA_ORGANIZATION", "by-run");
/// }
/// let store = media_store_from_env().unwrap();
/// assert!(format!("{store:?}").contains("organization: ByRun"), "{store:?}");
/// # }
/// ```
pub fn media_store_from_env() -> Result<Arc<dyn MediaStore>> {
    media_store_from_lookup(env_var)
}

/// [`media_store_from_env`] with the variables taken from `lookup` (a config
/// file, a map, a test).
///
/// ```
/// # #[cfg(feature = "s3")] {
/// use promptkit_media_store::media_store_from_lookup;
/// let vars = |k: &str| match k {
///     "MEDIA_STORE_URL" => Some("s3://media/prod?organization=by-run".to_string()),
///     "AWS_ENDPOINT_URL" => Some("http://127.0.0.1:9000".to_string()),
///     "AWS_ALLOW_HTTP" => Some("true".to_string()),
///     "AWS_ACCESS_KEY_ID" => Some("AKIDEXAMPLE".to_string()),
///     "AWS_SECRET_ACCESS_KEY" => Some("do-not-print".to_string()),
///     _ => None,
/// };
/// let store = media_store_from_lookup(vars).unwrap();
/// assert!(!format!("{store:?}").contains("do-not-print"));
/// # }
/// ```
pub fn media_store_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Arc<dyn MediaStore>> {
    let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
    match get(MEDIA_STORE_URL) {
        Some(url) => from_url_with(&url, &get).map(OpenedStore::into_dyn),
        None => default_store(&get),
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

#[cfg(feature = "local")]
fn default_store(get: Lookup<'_>) -> Result<Arc<dyn MediaStore>> {
    Ok(Arc::new(
        crate::FileStore::builder().from_lookup(get).build()?,
    ))
}

#[cfg(not(feature = "local"))]
fn default_store(_get: Lookup<'_>) -> Result<Arc<dyn MediaStore>> {
    Err(Error::Config(format!(
        "{MEDIA_STORE_URL} is not set (e.g. s3://bucket/prefix, file:///var/lib/app/media, memory://)"
    )))
}

/// Options every backend understands.
#[derive(Debug, Default, Clone, PartialEq)]
struct Options {
    organization: Option<Organization>,
    default_policy: Option<RetentionPolicy>,
    max_file_size: Option<u64>,
}

impl Options {
    /// From the environment, then the URL's query (which wins).
    fn read(url: &Url, get: Lookup<'_>) -> Result<Options> {
        let mut o = Options::default();
        let vars = [
            ("MEDIA_ORGANIZATION", "organization"),
            ("MEDIA_DEFAULT_POLICY", "default_policy"),
            ("MEDIA_MAX_FILE_SIZE", "max_file_size"),
        ];
        for (var, key) in vars {
            if let Some(v) = get(var) {
                o.set(key, &v)
                    .map_err(|e| Error::Config(format!("{var}: {e}")))?;
            }
        }
        for (k, v) in url.query_pairs() {
            o.set(&k, &v)
                .map_err(|e| Error::Config(format!("media store URL parameter `{k}`: {e}")))?;
        }
        Ok(o)
    }

    fn set(&mut self, key: &str, value: &str) -> std::result::Result<(), String> {
        match key {
            "organization" => {
                self.organization = Some(Organization::from_str(value).map_err(|e| e.to_string())?)
            }
            "default_policy" => {
                self.default_policy =
                    Some(RetentionPolicy::from_str(value).map_err(|e| e.to_string())?)
            }
            "max_file_size" => {
                self.max_file_size = Some(
                    value
                        .trim()
                        .parse()
                        .map_err(|e| format!("`{value}` is not a byte count: {e}"))?,
                )
            }
            _ => {
                return Err(
                    "unknown parameter (organization, default_policy, max_file_size)".into(),
                );
            }
        }
        Ok(())
    }

    #[cfg(feature = "object-store")]
    fn object_config(&self, prefix: Option<String>) -> crate::ObjectStoreConfig {
        let mut c = crate::ObjectStoreConfig::default();
        if let Some(o) = self.organization {
            c = c.with_organization(o);
        }
        if let Some(p) = self.default_policy {
            c = c.with_default_policy(p);
        }
        if let Some(m) = self.max_file_size {
            c = c.with_max_file_size(m);
        }
        c.prefix = prefix;
        c
    }
}

fn from_url_with(url: &str, get: Lookup<'_>) -> Result<OpenedStore> {
    let parsed = Url::parse(url.trim())
        .map_err(|e| Error::Config(format!("invalid media store URL `{url}`: {e}")))?;
    let options = Options::read(&parsed, get)?;
    match parsed.scheme() {
        "file" => file_store(&parsed, &options, get),
        "s3" => cloud::s3_store(&parsed, &options, get),
        "gs" => cloud::gcs_store(&parsed, &options, get),
        "az" | "azure" => cloud::azure_store(&parsed, &options, get),
        "memory" => memory_store(&options),
        other => Err(Error::Config(format!(
            "unsupported media store URL scheme `{other}:` (use file://, s3://, gs://, az:// or memory://)"
        ))),
    }
}

#[cfg(any(
    not(feature = "s3"),
    not(feature = "gcs"),
    not(feature = "azure"),
    not(feature = "object-store")
))]
fn missing_feature(scheme: &str, feature: &str) -> Error {
    Error::Config(format!(
        "`{scheme}://` media stores need the `{feature}` feature of promptkit-media-store"
    ))
}

fn file_path(url: &Url) -> Result<std::path::PathBuf> {
    if url
        .host_str()
        .is_some_and(|h| !h.is_empty() && h != "localhost")
    {
        return Err(Error::Config(format!(
            "file URL `{url}` names a remote host; use file:///absolute/path"
        )));
    }
    url.to_file_path()
        .map_err(|()| Error::Config(format!("file URL `{url}` is not an absolute local path")))
}

#[cfg(feature = "local")]
fn file_store(url: &Url, o: &Options, get: Lookup<'_>) -> Result<OpenedStore> {
    let mut b = crate::FileStore::builder()
        .from_lookup(get)
        .with_base_dir(file_path(url)?);
    if let Some(org) = o.organization {
        b = b.with_organization(org);
    }
    if let Some(p) = o.default_policy {
        b = b.with_default_policy(p);
    }
    if let Some(m) = o.max_file_size {
        b = b.with_max_file_size(m);
    }
    Ok(OpenedStore::File(b.build()?))
}

#[cfg(all(not(feature = "local"), feature = "object-store"))]
fn file_store(url: &Url, o: &Options, _get: Lookup<'_>) -> Result<OpenedStore> {
    Ok(OpenedStore::Object(
        crate::ObjectStoreMediaStore::local_filesystem(file_path(url)?, o.object_config(None))?,
    ))
}

#[cfg(all(not(feature = "local"), not(feature = "object-store")))]
fn file_store(url: &Url, _o: &Options, _get: Lookup<'_>) -> Result<OpenedStore> {
    file_path(url)?;
    Err(missing_feature("file", "local"))
}

#[cfg(feature = "object-store")]
fn memory_store(o: &Options) -> Result<OpenedStore> {
    Ok(OpenedStore::Object(
        crate::ObjectStoreMediaStore::in_memory(o.object_config(None))?,
    ))
}

#[cfg(not(feature = "object-store"))]
fn memory_store(_o: &Options) -> Result<OpenedStore> {
    Err(missing_feature("memory", "object-store"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn options_from_env_and_query() {
        let url = Url::parse("s3://b/p?organization=by-run&max_file_size=10").unwrap();
        let get = |k: &str| match k {
            "MEDIA_ORGANIZATION" => Some("flat".to_string()),
            "MEDIA_DEFAULT_POLICY" => Some("retain-2days".to_string()),
            _ => None,
        };
        let o = Options::read(&url, &get).unwrap();
        assert_eq!(o.organization, Some(Organization::ByRun));
        assert_eq!(o.default_policy, Some(RetentionPolicy::RetainDays(2)));
        assert_eq!(o.max_file_size, Some(10));
        for bad in [
            "memory://?x=1",
            "memory://?max_file_size=big",
            "memory://?organization=tree",
        ] {
            let url = Url::parse(bad).unwrap();
            assert!(
                matches!(Options::read(&url, &none), Err(Error::Config(_))),
                "{bad}"
            );
        }
        let bad_env = |k: &str| (k == "MEDIA_DEFAULT_POLICY").then(|| "forever".to_string());
        let url = Url::parse("memory://").unwrap();
        assert!(matches!(
            Options::read(&url, &bad_env),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn bad_urls_are_config_errors() {
        for bad in [
            "",
            "not a url",
            "ftp://host/x",
            "gopher://bucket/x",
            "file://remote-host/x",
        ] {
            assert!(
                matches!(from_url_with(bad, &none), Err(Error::Config(_))),
                "{bad}"
            );
        }
    }

    #[cfg(feature = "local")]
    #[test]
    fn file_url_opens_the_local_store() {
        let dir = tempfile::tempdir().unwrap();
        let url = Url::from_directory_path(dir.path().join("media")).unwrap();
        let store = from_url_with(&format!("{url}?organization=flat"), &none).unwrap();
        assert!(matches!(store, OpenedStore::File(_)), "{store:?}");
        assert!(
            format!("{store:?}").contains("organization: Flat"),
            "{store:?}"
        );
        assert!(dir.path().join("media").is_dir());
    }

    #[cfg(feature = "object-store")]
    #[test]
    fn memory_url_and_lookup() {
        let store = media_store_from_lookup(|k| {
            (k == MEDIA_STORE_URL).then(|| "memory://?organization=by-conversation".to_string())
        })
        .unwrap();
        assert!(format!("{store:?}").contains("ByConversation"), "{store:?}");
    }
}
