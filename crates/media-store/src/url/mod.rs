//! Choosing the media store at run time: `MEDIA_STORE_URL` and friends.

use std::collections::BTreeMap;
use std::sync::Arc;

use ::url::Url;

use crate::options::{Options, SHARED_VARIABLES};
use crate::{Error, MediaLifecycle, Result};

mod cloud;

/// The variable [`media_store_from_env`] reads the store URL from.
pub const MEDIA_STORE_URL: &str = "MEDIA_STORE_URL";

/// Opens the media store a URL names, with the variables of the process
/// environment (see [`media_store_from_env`]).
///
/// | URL | store | feature |
/// |---|---|---|
/// | `file:///var/lib/app/media` | the local `FileStore` in that directory, whatever other features are on | `local` |
/// | `s3://bucket/prefix` | S3, configured by object_store from the `AWS_*` variables (`AmazonS3Builder::from_env`) | `s3` |
/// | `gs://bucket/prefix` | Google Cloud Storage, configured by object_store from the `GOOGLE_*` variables (`GoogleCloudStorageBuilder::from_env`) | `gcs` |
/// | `az://container/prefix` (or `azure://`) | Azure Blob Storage, configured by object_store from the `AZURE_*` variables (`MicrosoftAzureBuilder::from_env`) | `azure` |
/// | `memory://` | in memory, for tests and demos | `object-store` |
///
/// Query parameters set options for any backend: `organization`
/// (`flat`, `by-session`, `by-conversation`, `by-run`), `default_policy`
/// (`retain`, `retain-7days`, ...) and `max_file_size` (bytes); `file://`
/// stores also take `read_only` (`true`: open without writing anything;
/// mutations are refused), `deduplication` and `fsync` (`true`/`false`),
/// which `s3://`, `gs://` and `az://` refuse. E.g.
/// `s3://media/prod?organization=by-conversation`.
///
/// For `s3://`, `gs://` and `az://`, every other query parameter is an
/// object_store option of that backend, as object_store's `parse_url_opts`
/// reads it; it wins over the variables:
/// `s3://media/prod?aws_endpoint=http://127.0.0.1:9000&aws_allow_http=true`,
/// `az://media?azure_storage_account_name=acct`. The bucket (container) is
/// the URL's host, the key prefix its path.
///
/// The store is returned as `Arc<dyn MediaLifecycle>`, which is also a
/// [`MediaStore`](crate::MediaStore) (`let s: Arc<dyn MediaStore> = store;`).
///
/// Unknown schemes, unknown or malformed parameters and schemes whose feature
/// is not compiled in are [`Error::Config`]; their messages never show a
/// password or a query value that may be a secret. Nothing is contacted over
/// the network here: a wrong bucket or endpoint shows up at the first operation.
///
/// ```
/// # #[cfg(feature = "object-store")] {
/// use promptkit_media_store::media_store_from_url;
/// let store = media_store_from_url("memory://?organization=flat").unwrap();
/// assert!(media_store_from_url("ftp://example.com/media").is_err());
/// assert!(media_store_from_url("memory://?organisation=flat").is_err());
/// # drop(store); }
/// ```
pub fn media_store_from_url(url: &str) -> Result<Arc<dyn MediaLifecycle>> {
    from_url_with(url, &Env::Process)
}

/// Opens the store a URL names, like [`media_store_from_url`]; the same
/// function under the name the CLI and tools use.
///
/// ```
/// # #[cfg(feature = "local")] {
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use promptkit_media_store::{MediaLifecycleExt, MediaStore, open_media_store_url};
/// # let dir = tempfile::tempdir().unwrap();
/// let url = url::Url::from_directory_path(dir.path()).unwrap(); // file:///...
/// let store = open_media_store_url(&format!("{url}?organization=flat")).unwrap();
/// assert!(store.verify().await.unwrap().is_ok());
/// assert_eq!(store.stats().await.unwrap().objects, 0);
/// # });
/// # }
/// ```
pub fn open_media_store_url(url: &str) -> Result<Arc<dyn MediaLifecycle>> {
    from_url_with(url, &Env::Process)
}

/// Opens the media store configured by the environment:
///
/// - `MEDIA_STORE_URL`: as in [`media_store_from_url`];
/// - `MEDIA_ORGANIZATION`, `MEDIA_DEFAULT_POLICY`, `MEDIA_MAX_FILE_SIZE`:
///   options for every backend (URL query parameters take precedence);
/// - for `s3://`: object_store's own configuration, every `AWS_*` variable it
///   knows (`AmazonS3Builder::from_env`): `AWS_ENDPOINT` (or
///   `AWS_ENDPOINT_URL`), `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
///   `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_ALLOW_HTTP`, web
///   identity (`AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`), ECS and EKS
///   container credentials, SSE-KMS (`AWS_SERVER_SIDE_ENCRYPTION`,
///   `AWS_SSE_KMS_KEY_ID`), `AWS_CHECKSUM_ALGORITHM`, ... (see
///   `S3MediaStoreBuilder::from_env`);
/// - for `gs://`: every `GOOGLE_*` variable object_store knows
///   (`GOOGLE_SERVICE_ACCOUNT`, `GOOGLE_SERVICE_ACCOUNT_KEY`,
///   `GOOGLE_APPLICATION_CREDENTIALS`, `GOOGLE_BEARER_TOKEN`, ...) and
///   `SERVICE_ACCOUNT`; without credentials, the VM's metadata server;
/// - for `az://`: every `AZURE_*` variable object_store knows
///   (`AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY`,
///   `AZURE_STORAGE_SAS_TOKEN`, `AZURE_CLIENT_ID`, `AZURE_FEDERATED_TOKEN_FILE`, ...)
///   and `IDENTITY_ENDPOINT`; with `AZURE_STORAGE_USE_EMULATOR=true`,
///   object_store talks to the Azurite emulator at `AZURITE_BLOB_STORAGE_URL`
///   (default `http://127.0.0.1:10000`).
///
/// Variables object_store does not know are ignored, as object_store does.
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
pub fn media_store_from_env() -> Result<Arc<dyn MediaLifecycle>> {
    open_from(&Env::Process)
}

/// [`media_store_from_env`] with the variables taken from `vars` (a config
/// file, a map, a test) instead of the process environment: the cloud
/// backends read the `AWS_*`, `GOOGLE_*` or `AZURE_*` names among them with
/// object_store's own parser, exactly as object_store's `from_env()` reads
/// the environment. (The Azurite address, `AZURITE_BLOB_STORAGE_URL`, and the
/// metadata-server variables object_store reads while running still come from
/// the process environment.)
///
/// ```
/// # #[cfg(feature = "s3")] {
/// use promptkit_media_store::media_store_from_vars;
/// let store = media_store_from_vars([
///     ("MEDIA_STORE_URL", "s3://media/prod?organization=by-run"),
///     ("AWS_ENDPOINT", "http://127.0.0.1:9000"),
///     ("AWS_ALLOW_HTTP", "true"),
///     ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
///     ("AWS_SECRET_ACCESS_KEY", "do-not-print"),
/// ])
/// .unwrap();
/// assert!(!format!("{store:?}").contains("do-not-print"));
/// # }
/// ```
pub fn media_store_from_vars<K, V>(
    vars: impl IntoIterator<Item = (K, V)>,
) -> Result<Arc<dyn MediaLifecycle>>
where
    K: Into<String>,
    V: Into<String>,
{
    let vars = vars
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    open_from(&Env::Vars(vars))
}

/// Where the variables come from.
#[derive(Debug)]
enum Env {
    /// The process environment: object_store reads it with its own `from_env()`.
    Process,
    /// Given variables, by name.
    Vars(BTreeMap<String, String>),
}

impl Env {
    /// A variable of ours (`MEDIA_*`); blank counts as unset.
    fn get(&self, name: &str) -> Option<String> {
        let value = match self {
            Env::Process => std::env::var(name).ok(),
            Env::Vars(vars) => vars.get(name).cloned(),
        };
        value.filter(|v| !v.trim().is_empty())
    }
}

fn open_from(env: &Env) -> Result<Arc<dyn MediaLifecycle>> {
    match env.get(MEDIA_STORE_URL) {
        Some(url) => from_url_with(&url, env),
        None => default_store(&|k: &str| env.get(k)),
    }
}

type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

#[cfg(feature = "local")]
fn default_store(get: Lookup<'_>) -> Result<Arc<dyn MediaLifecycle>> {
    Ok(Arc::new(
        crate::FileStore::builder().from_lookup(get).build()?,
    ))
}

#[cfg(not(feature = "local"))]
fn default_store(_get: Lookup<'_>) -> Result<Arc<dyn MediaLifecycle>> {
    Err(Error::Config(format!(
        "{MEDIA_STORE_URL} is not set (e.g. s3://bucket/prefix, file:///var/lib/app/media, memory://)"
    )))
}

pub(crate) use promptkit_core::redact_url;

impl Options {
    /// From the environment, then the URL's query (which wins).
    fn read(url: &Url, get: Lookup<'_>) -> Result<Options> {
        let mut o = Options::default();
        o.read_vars(get, &SHARED_VARIABLES).map_err(Error::Config)?;
        for (k, v) in url.query_pairs() {
            o.set(&k, &v)
                .map_err(|e| Error::Config(format!("media store URL parameter `{k}`: {e}")))?;
        }
        Ok(o)
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

fn from_url_with(url: &str, env: &Env) -> Result<Arc<dyn MediaLifecycle>> {
    let parsed = Url::parse(url.trim()).map_err(|e| {
        Error::Config(format!(
            "invalid media store URL `{}`: {e}",
            redact_url(url)
        ))
    })?;
    // The backend's object_store options go to the backend, the rest to Options.
    let own = cloud::without_backend_options(&parsed);
    let get = |k: &str| env.get(k);
    let options = Options::read(&own, &get)?;
    match parsed.scheme() {
        "file" => file_store(&parsed, &options, &get),
        "s3" => cloud::s3_store(&parsed, &options, env),
        "gs" => cloud::gcs_store(&parsed, &options, env),
        "az" | "azure" => cloud::azure_store(&parsed, &options, env),
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
    not(feature = "object-store"),
    not(feature = "local")
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
fn file_store(url: &Url, o: &Options, get: Lookup<'_>) -> Result<Arc<dyn MediaLifecycle>> {
    let builder = crate::FileStore::builder().from_lookup(get);
    Ok(Arc::new(
        builder
            .with_options(o)
            .with_base_dir(file_path(url)?)
            .build()?,
    ))
}

#[cfg(not(feature = "local"))]
fn file_store(url: &Url, _o: &Options, _get: Lookup<'_>) -> Result<Arc<dyn MediaLifecycle>> {
    file_path(url)?;
    Err(missing_feature("file", "local"))
}

#[cfg(feature = "object-store")]
fn memory_store(o: &Options) -> Result<Arc<dyn MediaLifecycle>> {
    Ok(Arc::new(crate::ObjectStoreMediaStore::in_memory(
        o.object_config(None),
    )?))
}

#[cfg(not(feature = "object-store"))]
fn memory_store(_o: &Options) -> Result<Arc<dyn MediaLifecycle>> {
    Err(missing_feature("memory", "object-store"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Organization, RetentionPolicy};

    fn none(_: &str) -> Option<String> {
        None
    }

    /// No variables at all.
    pub(super) fn no_vars() -> Env {
        Env::Vars(BTreeMap::new())
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
                matches!(from_url_with(bad, &no_vars()), Err(Error::Config(_))),
                "{bad}"
            );
        }
    }

    #[cfg(feature = "local")]
    #[test]
    fn file_url_opens_the_local_store() {
        let dir = tempfile::tempdir().unwrap();
        let url = Url::from_directory_path(dir.path().join("media")).unwrap();
        let store = from_url_with(&format!("{url}?organization=flat"), &no_vars()).unwrap();
        assert!(format!("{store:?}").starts_with("FileStore"), "{store:?}");
        assert!(
            format!("{store:?}").contains("organization: Flat"),
            "{store:?}"
        );
        assert!(dir.path().join("media").is_dir());
    }

    #[cfg(feature = "object-store")]
    #[test]
    fn memory_url_and_vars() {
        let store = media_store_from_vars([
            (MEDIA_STORE_URL, "memory://?organization=by-conversation"),
            ("MEDIA_DEFAULT_POLICY", "retain-2days"),
        ])
        .unwrap();
        assert!(format!("{store:?}").contains("ByConversation"), "{store:?}");
        // A blank MEDIA_STORE_URL counts as unset, as before.
        let owned = vec![
            (MEDIA_STORE_URL.to_string(), " ".to_string()),
            ("MEDIA_ORGANIZATION".to_string(), "tree".to_string()),
        ];
        assert!(matches!(
            media_store_from_vars(owned),
            Err(Error::Config(m)) if m.contains("MEDIA_ORGANIZATION")
        ));
        // object_store options are only for the cloud schemes.
        assert!(matches!(
            from_url_with("memory://?aws_endpoint=http://x", &no_vars()),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn redacted_urls_keep_no_secret() {
        for (url, want) in [
            (
                "s3://bucket/p?organization=flat&aws_secret_access_key=SECRET1",
                "s3://bucket/p?organization=flat&aws_secret_access_key=***",
            ),
            ("https://user:SECRET2@host/x", "https://***:***@host/x"),
            ("https://SECRET3@host/x#frag", "https://***@host/x"),
            (
                "s3://user:SECRET4@ bad/x?k=SECRET5",
                "s3://***:***@ bad/x?k=***",
            ),
            ("not a url", "not a url"),
        ] {
            let got = redact_url(url);
            assert_eq!(got, want, "{url}");
            assert!(!got.contains("SECRET"), "{got}");
        }
        // The media store's own options are shown (they hold no secret).
        for p in promptkit_core::MEDIA_STORE_OPTIONS {
            assert!(
                redact_url(&format!("s3://b/p?{p}=v")).ends_with(&format!("{p}=v")),
                "{p}"
            );
        }
        let err = from_url_with("s3://user:SECRET6@ bad/x", &no_vars()).unwrap_err();
        assert!(!err.to_string().contains("SECRET6"), "{err}");
    }
}
