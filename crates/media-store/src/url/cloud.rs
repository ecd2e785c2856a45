//! The cloud backends a media store URL can name: `s3://`, `gs://` and
//! `az://`, each configured from the URL and its variables (through the
//! lookup) and built by object_store.

#[cfg(any(feature = "gcs", feature = "azure"))]
use std::str::FromStr;
#[cfg(any(feature = "gcs", feature = "azure"))]
use std::sync::Arc;

use ::url::Url;

#[cfg(not(all(feature = "s3", feature = "gcs", feature = "azure")))]
use super::missing_feature;
use super::{Lookup, OpenedStore, Options};
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
use crate::Error;
use crate::Result;

/// The key prefix a bucket URL names (its path), if any.
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
fn prefix(url: &Url) -> Option<String> {
    let prefix = url.path().trim_matches('/');
    (!prefix.is_empty()).then(|| prefix.to_owned())
}

/// The bucket (or container) a URL names: its host. `what` names it in the
/// error, e.g. "S3 URL `s3://bucket/prefix`".
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
fn bucket<'u>(url: &'u Url, what: &str, example: &str) -> Result<&'u str> {
    url.host_str()
        .filter(|b| !b.is_empty())
        .ok_or_else(|| Error::Config(format!("{what} `{url}` has no {example}")))
}

/// Hands each of `vars` that `get` has to `with`, with the object_store
/// config key of the same name (in lower case).
#[cfg(any(feature = "gcs", feature = "azure"))]
fn configure<B, K>(
    mut builder: B,
    vars: &[&str],
    get: Lookup<'_>,
    with: impl Fn(B, K, String) -> B,
) -> Result<B>
where
    K: FromStr,
    K::Err: std::fmt::Display,
{
    for var in vars {
        if let Some(value) = get(var) {
            let key = K::from_str(&var.to_ascii_lowercase())
                .map_err(|e| Error::Config(format!("{var}: {e}")))?;
            builder = with(builder, key, value);
        }
    }
    Ok(builder)
}

/// A media store over a built cloud store that also signs its URLs.
#[cfg(any(feature = "gcs", feature = "azure"))]
fn signed<S>(store: S, backend: &str, url: &Url, o: &Options) -> Result<OpenedStore>
where
    S: object_store::ObjectStore + object_store::signer::Signer,
{
    let store = Arc::new(store);
    let media = crate::ObjectStoreMediaStore::new(store.clone(), o.object_config(prefix(url)))?
        .with_backend_name(backend)
        .with_signer(store);
    Ok(OpenedStore::Object(media))
}

/// The variables an `az://` store reads (through the lookup, so
/// [`media_store_from_lookup`](crate::media_store_from_lookup) can supply them): account, credentials,
/// endpoint and emulator switch, as object_store's `MicrosoftAzureBuilder`
/// understands them.
pub const AZURE_VARIABLES: &[&str] = &[
    "AZURE_STORAGE_ACCOUNT_NAME",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_STORAGE_TOKEN",
    "AZURE_STORAGE_CLIENT_ID",
    "AZURE_STORAGE_CLIENT_SECRET",
    "AZURE_STORAGE_TENANT_ID",
    "AZURE_STORAGE_ENDPOINT",
    "AZURE_STORAGE_USE_EMULATOR",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_USE_AZURE_CLI",
    "AZURE_ALLOW_HTTP",
];

#[cfg(feature = "azure")]
pub(super) fn azure_store(url: &Url, o: &Options, get: Lookup<'_>) -> Result<OpenedStore> {
    use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
    let container = bucket(url, "Azure URL", "container (az://container/prefix)")?;
    let builder = MicrosoftAzureBuilder::new().with_container_name(container);
    let builder = configure(builder, AZURE_VARIABLES, get, |b, k: AzureConfigKey, v| {
        b.with_config(k, v)
    })?;
    // object_store's errors name the setting, never a secret's value.
    let azure = builder
        .build()
        .map_err(|e| Error::Config(format!("Azure media store `{url}`: {e}")))?;
    signed(azure, "azure", url, o)
}

#[cfg(not(feature = "azure"))]
pub(super) fn azure_store(_url: &Url, _o: &Options, _get: Lookup<'_>) -> Result<OpenedStore> {
    Err(missing_feature("az", "azure"))
}

#[cfg(feature = "s3")]
pub(super) fn s3_store(url: &Url, o: &Options, get: Lookup<'_>) -> Result<OpenedStore> {
    let name = bucket(url, "S3 URL", "bucket (s3://bucket/prefix)")?;
    let store = crate::S3MediaStore::builder()
        .with_config(o.object_config(prefix(url)))
        .with_bucket(name)
        .from_lookup(get)
        .build()?;
    Ok(OpenedStore::Object(store))
}

#[cfg(not(feature = "s3"))]
pub(super) fn s3_store(_url: &Url, _o: &Options, _get: Lookup<'_>) -> Result<OpenedStore> {
    Err(missing_feature("s3", "s3"))
}

/// The variables a `gs://` store reads (through the lookup, so
/// [`media_store_from_lookup`](crate::media_store_from_lookup) can supply
/// them): credentials and endpoint, as object_store's
/// `GoogleCloudStorageBuilder` understands them. A service account key may
/// carry `gcs_base_url` and `disable_oauth` for an emulator.
pub const GCS_VARIABLES: &[&str] = &[
    "GOOGLE_SERVICE_ACCOUNT",
    "GOOGLE_SERVICE_ACCOUNT_PATH",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_BASE_URL",
    "GOOGLE_BEARER_TOKEN",
    "GOOGLE_SKIP_SIGNATURE",
];

#[cfg(feature = "gcs")]
pub(super) fn gcs_store(url: &Url, o: &Options, get: Lookup<'_>) -> Result<OpenedStore> {
    use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
    let name = bucket(url, "GCS URL", "bucket (gs://bucket/prefix)")?;
    let builder = GoogleCloudStorageBuilder::new().with_bucket_name(name);
    let builder = configure(builder, GCS_VARIABLES, get, |b, k: GoogleConfigKey, v| {
        b.with_config(k, v)
    })?;
    // object_store's errors name the setting, never a key's contents.
    let gcs = builder
        .build()
        .map_err(|e| Error::Config(format!("GCS media store `{url}`: {e}")))?;
    signed(gcs, "gcs", url, o)
}

#[cfg(not(feature = "gcs"))]
pub(super) fn gcs_store(_url: &Url, _o: &Options, _get: Lookup<'_>) -> Result<OpenedStore> {
    Err(missing_feature("gs", "gcs"))
}

#[cfg(all(test, any(feature = "s3", feature = "gcs", feature = "azure")))]
mod tests {
    use super::super::from_url_with;
    use super::*;

    #[cfg(any(feature = "s3", feature = "azure"))]
    fn none(_: &str) -> Option<String> {
        None
    }

    #[cfg(feature = "azure")]
    #[test]
    fn azure_urls_take_their_settings_from_the_lookup() {
        let vars = |k: &str| match k {
            "AZURE_STORAGE_ACCOUNT_NAME" => Some("acct".to_string()),
            "AZURE_STORAGE_ACCOUNT_KEY" => Some("c2VjcmV0LWtleS1kby1ub3QtcHJpbnQ=".to_string()),
            _ => None,
        };
        let OpenedStore::Object(store) =
            from_url_with("az://media/prod?organization=flat", &vars).unwrap()
        else {
            panic!("az:// opens an object store")
        };
        assert_eq!(store.config().prefix.as_deref(), Some("prod"));
        assert!(!format!("{store:?}").contains("c2VjcmV0"), "{store:?}");
        for bad in ["az:///prefix", "azure://"] {
            assert!(
                matches!(from_url_with(bad, &vars), Err(Error::Config(_))),
                "{bad}"
            );
        }
        // No account: object_store's own error, as a configuration error.
        assert!(matches!(
            from_url_with("az://media", &none),
            Err(Error::Config(_))
        ));
    }

    #[cfg(feature = "s3")]
    #[test]
    fn s3_url_needs_a_bucket() {
        assert!(matches!(
            from_url_with("s3:///prefix", &none),
            Err(Error::Config(_))
        ));
        let store = from_url_with("s3://bucket/a/b/?organization=flat", &none).unwrap();
        let dbg = format!("{store:?}");
        assert!(dbg.contains("\"s3\"") && dbg.contains("a/b"), "{dbg}");
    }

    #[cfg(feature = "gcs")]
    #[test]
    fn gcs_urls_take_their_settings_from_the_lookup() {
        // A service account key for an emulator: no OAuth, a local endpoint.
        let key = r#"{"private_key": "do-not-print-this-key", "private_key_id": "id",
            "client_email": "media@example.iam.gserviceaccount.com",
            "disable_oauth": true, "gcs_base_url": "http://127.0.0.1:1"}"#;
        let vars = |k: &str| (k == "GOOGLE_SERVICE_ACCOUNT_KEY").then(|| key.to_string());
        let OpenedStore::Object(store) =
            from_url_with("gs://media/prod/images?organization=by-run", &vars).unwrap()
        else {
            panic!("gs:// opens an object store")
        };
        assert_eq!(store.config().prefix.as_deref(), Some("prod/images"));
        let dbg = format!("{store:?}");
        assert!(dbg.contains("\"gcs\"") && dbg.contains("media"), "{dbg}");
        assert!(!dbg.contains("do-not-print"), "{dbg}");
        assert!(matches!(
            from_url_with("gs:///prefix", &vars),
            Err(Error::Config(_))
        ));
        // A key that is not JSON: a configuration error that does not echo it.
        let bad = |k: &str| (k == "GOOGLE_SERVICE_ACCOUNT_KEY").then(|| "secret-{".to_string());
        match from_url_with("gs://media", &bad) {
            Err(Error::Config(m)) => assert!(!m.contains("secret-"), "{m}"),
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[cfg(feature = "gcs")]
    #[test]
    fn a_gcs_store_with_nothing_listening_fails_with_a_typed_error() {
        use crate::MediaStoreExt;
        let key = r#"{"private_key": "k", "private_key_id": "id", "client_email": "e",
            "disable_oauth": true, "gcs_base_url": "http://127.0.0.1:1"}"#;
        let vars = |k: &str| (k == "GOOGLE_SERVICE_ACCOUNT_KEY").then(|| key.to_string());
        let store = from_url_with("gs://media?organization=flat", &vars)
            .unwrap()
            .into_dyn();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let meta = crate::MediaMetadata::new().with_session("s");
        let err = rt
            .block_on(store.store_bytes("image/png", "\u{89}PNG".into(), &meta))
            .unwrap_err();
        assert!(matches!(err, Error::Backend { .. }), "{err:?}");
    }
}
