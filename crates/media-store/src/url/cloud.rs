//! The cloud backends a media store URL can name: `s3://`, `gs://` and
//! `az://`. Each is object_store's own builder, configured the way
//! object_store configures itself: its variables (`from_env()`, or the same
//! parser over given variables), then the URL (`with_url`), then the URL's
//! query parameters that are object_store options (as `parse_url_opts`).
//! Only the key prefix (the URL's path) and our own options are added.

#[cfg(any(feature = "gcs", feature = "azure"))]
use std::str::FromStr;
#[cfg(any(feature = "gcs", feature = "azure"))]
use std::sync::Arc;

use ::url::Url;
use promptkit_core::MEDIA_STORE_OPTIONS;

use super::Env;
#[cfg(not(all(feature = "s3", feature = "gcs", feature = "azure")))]
use super::missing_feature;
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
use crate::Error;
use crate::MediaLifecycle;
use crate::Result;
use crate::options::Options;

/// Whether the query parameter `key` of a `scheme://` URL is an object_store
/// option of that backend (our own parameters never are).
fn is_backend_option(scheme: &str, key: &str) -> bool {
    if MEDIA_STORE_OPTIONS.contains(&key) {
        return false;
    }
    let key = key.to_ascii_lowercase();
    match scheme {
        #[cfg(feature = "s3")]
        "s3" => key.parse::<object_store::aws::AmazonS3ConfigKey>().is_ok(),
        #[cfg(feature = "gcs")]
        "gs" => key.parse::<object_store::gcp::GoogleConfigKey>().is_ok(),
        #[cfg(feature = "azure")]
        "az" | "azure" => key.parse::<object_store::azure::AzureConfigKey>().is_ok(),
        _ => {
            let _ = key;
            false
        }
    }
}

/// `url` without the query parameters that are object_store options of its
/// backend: what is left is for [`Options`].
pub(super) fn without_backend_options(url: &Url) -> Url {
    let mut own = url.clone();
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !is_backend_option(url.scheme(), k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        own.set_query(None);
    } else {
        own.query_pairs_mut().clear().extend_pairs(kept);
    }
    own
}

/// The query parameters of `url` that are object_store options of its backend.
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
fn backend_options(url: &Url) -> Vec<(String, String)> {
    url.query_pairs()
        .filter(|(k, _)| is_backend_option(url.scheme(), k))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
        .collect()
}

/// The key prefix a bucket URL names (its path), if any.
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
fn prefix(url: &Url) -> Option<String> {
    let prefix = url.path().trim_matches('/');
    (!prefix.is_empty()).then(|| prefix.to_owned())
}

/// The bucket URL object_store's `with_url` reads: scheme, user name (Azure's
/// `container@account...` form) and host; no password, path or query.
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
fn store_url(url: &Url, what: &str, example: &str) -> Result<String> {
    let host = url.host_str().filter(|b| !b.is_empty()).ok_or_else(|| {
        Error::Config(format!(
            "{what} `{}` has no {example}",
            super::redact_url(url.as_str())
        ))
    })?;
    Ok(match url.username() {
        "" => format!("{}://{host}", url.scheme()),
        user => format!("{}://{user}@{host}", url.scheme()),
    })
}

/// Hands each variable named `<prefix>...` to `with`, with the object_store
/// config key of its lower-cased name; names that are not a key are ignored
/// (object_store's `from_env()`, over given variables).
#[cfg(any(feature = "gcs", feature = "azure"))]
fn configure<B, K: FromStr>(
    mut builder: B,
    vars: &std::collections::BTreeMap<String, String>,
    prefix: &str,
    with: impl Fn(B, K, String) -> B,
) -> B {
    for (name, value) in vars {
        if name.starts_with(prefix)
            && let Ok(key) = K::from_str(&name.to_ascii_lowercase())
        {
            builder = with(builder, key, value.clone());
        }
    }
    builder
}

/// Hands the URL's object_store options to `with`.
#[cfg(any(feature = "gcs", feature = "azure"))]
fn query_options<B, K: FromStr>(mut builder: B, url: &Url, with: impl Fn(B, K, String) -> B) -> B {
    for (key, value) in backend_options(url) {
        // `backend_options` keeps only the keys that parse.
        if let Ok(key) = K::from_str(&key) {
            builder = with(builder, key, value);
        }
    }
    builder
}

/// Object stores have no read-only mode, always deduplicate and leave
/// durability to the service: `read_only=true`, `deduplication` and `fsync`
/// are refused rather than ignored.
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
fn refuse_read_only(url: &Url, o: &Options) -> Result<()> {
    if o.read_only || o.deduplication.is_some() || o.fsync.is_some() {
        return Err(Error::Config(format!(
            "media store URL `{}`: read_only=true, deduplication and fsync are supported by \
             file:// stores only",
            super::redact_url(url.as_str())
        )));
    }
    Ok(())
}

/// A media store over a built cloud store that also signs its URLs.
#[cfg(any(feature = "gcs", feature = "azure"))]
fn signed<S>(store: S, backend: &str, url: &Url, o: &Options) -> Result<Arc<dyn MediaLifecycle>>
where
    S: object_store::ObjectStore + object_store::signer::Signer,
{
    let store = Arc::new(store);
    let media = crate::ObjectStoreMediaStore::new(store.clone(), o.object_config(prefix(url)))?
        .with_backend_name(backend)
        .with_signer(store);
    Ok(Arc::new(media))
}

#[cfg(feature = "azure")]
pub(super) fn azure_store(url: &Url, o: &Options, env: &Env) -> Result<Arc<dyn MediaLifecycle>> {
    use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
    let store_url = store_url(url, "Azure URL", "container (az://container/prefix)")?;
    refuse_read_only(url, o)?;
    let builder = match env {
        Env::Process => MicrosoftAzureBuilder::from_env(),
        Env::Vars(vars) => {
            let b = configure(
                MicrosoftAzureBuilder::new(),
                vars,
                "AZURE_",
                |b, k: AzureConfigKey, v| b.with_config(k, v),
            );
            // What object_store's from_env() also reads.
            match vars.get("IDENTITY_ENDPOINT") {
                Some(endpoint) => b.with_msi_endpoint(endpoint),
                None => b,
            }
        }
    };
    let builder = query_options(
        builder.with_url(store_url),
        url,
        |b, k: AzureConfigKey, v| b.with_config(k, v),
    );
    // object_store's errors name the setting, never a secret's value.
    let azure = builder.build().map_err(|e| {
        Error::Config(format!(
            "Azure media store `{}`: {e}",
            super::redact_url(url.as_str())
        ))
    })?;
    signed(azure, "azure", url, o)
}

#[cfg(not(feature = "azure"))]
pub(super) fn azure_store(
    _url: &Url,
    _o: &Options,
    _env: &Env,
) -> Result<std::sync::Arc<dyn MediaLifecycle>> {
    Err(missing_feature("az", "azure"))
}

#[cfg(feature = "s3")]
pub(super) fn s3_store(
    url: &Url,
    o: &Options,
    env: &Env,
) -> Result<std::sync::Arc<dyn MediaLifecycle>> {
    let store_url = store_url(url, "S3 URL", "bucket (s3://bucket/prefix)")?;
    refuse_read_only(url, o)?;
    let builder = match env {
        Env::Process => crate::S3MediaStore::builder().from_env(),
        Env::Vars(vars) => crate::S3MediaStore::builder().from_vars(vars),
    };
    let builder = backend_options(url)
        .into_iter()
        .fold(builder.with_url(&store_url), |b, (k, v)| {
            b.with_option(&k, v)
        });
    let store = builder.with_config(o.object_config(prefix(url))).build()?;
    Ok(std::sync::Arc::new(store))
}

#[cfg(not(feature = "s3"))]
pub(super) fn s3_store(
    _url: &Url,
    _o: &Options,
    _env: &Env,
) -> Result<std::sync::Arc<dyn MediaLifecycle>> {
    Err(missing_feature("s3", "s3"))
}

#[cfg(feature = "gcs")]
pub(super) fn gcs_store(url: &Url, o: &Options, env: &Env) -> Result<Arc<dyn MediaLifecycle>> {
    use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
    let store_url = store_url(url, "GCS URL", "bucket (gs://bucket/prefix)")?;
    refuse_read_only(url, o)?;
    let builder = match env {
        Env::Process => GoogleCloudStorageBuilder::from_env(),
        Env::Vars(vars) => {
            // object_store's from_env() reads SERVICE_ACCOUNT first, then GOOGLE_*.
            let b = match vars.get("SERVICE_ACCOUNT") {
                Some(path) => GoogleCloudStorageBuilder::new()
                    .with_config(GoogleConfigKey::ServiceAccount, path),
                None => GoogleCloudStorageBuilder::new(),
            };
            configure(b, vars, "GOOGLE_", |b, k: GoogleConfigKey, v| {
                b.with_config(k, v)
            })
        }
    };
    let builder = query_options(
        builder.with_url(store_url),
        url,
        |b, k: GoogleConfigKey, v| b.with_config(k, v),
    );
    // object_store's errors name the setting, never a key's contents.
    let gcs = builder.build().map_err(|e| {
        Error::Config(format!(
            "GCS media store `{}`: {e}",
            super::redact_url(url.as_str())
        ))
    })?;
    signed(gcs, "gcs", url, o)
}

#[cfg(not(feature = "gcs"))]
pub(super) fn gcs_store(
    _url: &Url,
    _o: &Options,
    _env: &Env,
) -> Result<std::sync::Arc<dyn MediaLifecycle>> {
    Err(missing_feature("gs", "gcs"))
}

#[cfg(all(test, any(feature = "s3", feature = "gcs", feature = "azure")))]
mod tests {
    use std::collections::BTreeMap;

    use super::super::from_url_with;
    use super::super::tests::no_vars;
    use super::*;

    fn vars<const N: usize>(pairs: [(&str, &str); N]) -> Env {
        Env::Vars(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        )
    }

    #[cfg(feature = "azure")]
    #[test]
    fn azure_urls_take_their_settings_from_the_variables() {
        let env = vars([
            ("AZURE_STORAGE_ACCOUNT_NAME", "acct"),
            (
                "AZURE_STORAGE_ACCOUNT_KEY",
                "c2VjcmV0LWtleS1kby1ub3QtcHJpbnQ=",
            ),
            ("AZURE_NOT_AN_OPTION", "ignored"),
        ]);
        let store = from_url_with("az://media/prod?organization=flat", &env).unwrap();
        assert!(format!("{store:?}").contains("prod"), "{store:?}");
        assert!(!format!("{store:?}").contains("c2VjcmV0"), "{store:?}");
        for bad in ["az:///prefix", "azure://"] {
            assert!(
                matches!(from_url_with(bad, &env), Err(Error::Config(_))),
                "{bad}"
            );
        }
        // No account: object_store's own error, as a configuration error.
        assert!(matches!(
            from_url_with("az://media", &no_vars()),
            Err(Error::Config(_))
        ));
        // The account as an object_store option in the query; its key not shown.
        let store = from_url_with(
            "az://media/q?azure_storage_account_name=acct&azure_storage_account_key=c2VjcmV0LXE=",
            &no_vars(),
        )
        .unwrap();
        assert!(!format!("{store:?}").contains("c2VjcmV0LXE"), "{store:?}");
        // A malformed option: a configuration error that does not show the key.
        let bad = vars([
            ("AZURE_STORAGE_ACCOUNT_NAME", "acct"),
            (
                "AZURE_STORAGE_ACCOUNT_KEY",
                "c2VjcmV0LWtleS1kby1ub3QtcHJpbnQ=",
            ),
            ("AZURE_STORAGE_USE_EMULATOR", "maybe"),
        ]);
        match from_url_with("az://media?azure_storage_sas_key=sig-SECRET", &bad) {
            Err(Error::Config(m)) => {
                assert!(m.contains("Azure"), "{m}");
                assert!(!m.contains("c2VjcmV0") && !m.contains("sig-SECRET"), "{m}");
            }
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[cfg(feature = "s3")]
    #[test]
    fn s3_url_needs_a_bucket() {
        assert!(matches!(
            from_url_with("s3:///prefix", &no_vars()),
            Err(Error::Config(_))
        ));
        let store = from_url_with("s3://bucket/a/b/?organization=flat", &no_vars()).unwrap();
        let dbg = format!("{store:?}");
        assert!(dbg.contains("\"s3\"") && dbg.contains("a/b"), "{dbg}");
    }

    #[cfg(feature = "s3")]
    #[test]
    fn s3_query_options_are_object_store_options() {
        // A plain-HTTP endpoint in the query needs allow_http, as from the variables.
        let env = vars([("AWS_ENDPOINT", "http://127.0.0.1:1")]);
        match from_url_with("s3://bucket/p", &env) {
            Err(Error::Config(m)) => assert!(m.contains("plain HTTP"), "{m}"),
            other => panic!("expected a config error, got {other:?}"),
        }
        let store = from_url_with("s3://bucket/p?aws_allow_http=true", &env).unwrap();
        assert!(format!("{store:?}").contains("\"s3\""), "{store:?}");
        let store = from_url_with(
            "s3://bucket/p?organization=by-run&aws_endpoint=http://127.0.0.1:2&ALLOW_HTTP=true\
             &aws_secret_access_key=SECRET-Q&aws_access_key_id=id",
            &no_vars(),
        )
        .unwrap();
        assert!(!format!("{store:?}").contains("SECRET-Q"), "{store:?}");
        // Unknown parameters stay configuration errors, naming the parameter only.
        for bad in [
            "s3://bucket/p?aws_no_such_option=SECRET-1",
            "s3://bucket/p?organisation=flat",
            "s3://bucket/p?aws_checksum_algorithm=nope&aws_secret_access_key=SECRET-2",
            "s3://bucket/p?aws_access_key_id=only-id&aws_token=SECRET-3",
        ] {
            match from_url_with(bad, &no_vars()) {
                Err(Error::Config(m)) => assert!(!m.contains("SECRET"), "{bad}: {m}"),
                other => panic!("{bad}: expected a config error, got {other:?}"),
            }
        }
        match from_url_with("s3://bucket/p?organisation=flat", &no_vars()) {
            Err(Error::Config(m)) => assert!(m.contains("organisation"), "{m}"),
            other => panic!("expected a config error, got {other:?}"),
        }
        // No read-only mode on object stores: refused, not ignored.
        match from_url_with("s3://bucket/p?read_only=true", &no_vars()) {
            Err(Error::Config(m)) => assert!(m.contains("read_only"), "{m}"),
            other => panic!("expected a config error, got {other:?}"),
        }
        assert!(from_url_with("s3://bucket/p?read_only=false", &no_vars()).is_ok());
    }

    #[cfg(feature = "gcs")]
    #[test]
    fn gcs_urls_take_their_settings_from_the_variables() {
        // A service account key for an emulator: no OAuth, a local endpoint.
        let key = r#"{"private_key": "do-not-print-this-key", "private_key_id": "id",
            "client_email": "media@example.iam.gserviceaccount.com",
            "disable_oauth": true, "gcs_base_url": "http://127.0.0.1:1"}"#;
        let env = vars([("GOOGLE_SERVICE_ACCOUNT_KEY", key)]);
        let store = from_url_with("gs://media/prod/images?organization=by-run", &env).unwrap();
        let dbg = format!("{store:?}");
        assert!(dbg.contains("\"gcs\"") && dbg.contains("media"), "{dbg}");
        assert!(!dbg.contains("do-not-print"), "{dbg}");
        assert!(matches!(
            from_url_with("gs:///prefix", &env),
            Err(Error::Config(_))
        ));
        // A key that is not JSON: a configuration error that does not echo it.
        let bad = vars([("GOOGLE_SERVICE_ACCOUNT_KEY", "secret-{")]);
        match from_url_with("gs://media", &bad) {
            Err(Error::Config(m)) => assert!(!m.contains("secret-"), "{m}"),
            other => panic!("expected a config error, got {other:?}"),
        }
        // The same key as an object_store option in the query.
        let url = ::url::Url::parse_with_params(
            "gs://media/q",
            [
                ("google_service_account_key", key),
                ("organization", "flat"),
            ],
        )
        .unwrap();
        let store = from_url_with(url.as_str(), &no_vars()).unwrap();
        assert!(!format!("{store:?}").contains("do-not-print"), "{store:?}");
        match from_url_with("gs://media?google_service_account_key=secret-{", &no_vars()) {
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
        let env = vars([("GOOGLE_SERVICE_ACCOUNT_KEY", key)]);
        let store = from_url_with("gs://media?organization=flat", &env).unwrap();
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
