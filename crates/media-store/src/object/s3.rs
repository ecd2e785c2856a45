//! Amazon S3 (and S3-compatible servers): [`S3MediaStore::builder`], a thin
//! wrapper over object_store's `AmazonS3Builder`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::{ClientConfigKey, ObjectStore, RetryConfig};

use super::{ObjectStoreConfig, ObjectStoreMediaStore};
use crate::{Error, Organization, Result, RetentionPolicy};

/// Entry point for media stores on Amazon S3 or an S3-compatible server
/// (MinIO, Ceph, moto, ...). [`S3MediaStore::builder`] returns a
/// [`S3MediaStoreBuilder`] whose `build()` gives an [`ObjectStoreMediaStore`]
/// with presigned `url()`s.
///
/// ```
/// use std::sync::Arc;
/// use promptkit_media_store::{MediaStore, S3MediaStore};
///
/// // Building checks the settings; nothing is contacted until the first operation.
/// let store = S3MediaStore::builder()
///     .with_bucket("media")
///     .with_prefix("prod")
///     .with_endpoint("http://127.0.0.1:9000") // e.g. MinIO on this machine
///     .with_allow_http(true)
///     .build()
///     .unwrap();
/// assert_eq!(store.config().prefix.as_deref(), Some("prod"));
/// let store: Arc<dyn MediaStore> = Arc::new(store);
/// assert!(format!("{store:?}").contains("s3"));
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct S3MediaStore;

impl S3MediaStore {
    /// A builder with nothing set; see [`S3MediaStoreBuilder`].
    pub fn builder() -> S3MediaStoreBuilder {
        S3MediaStoreBuilder::default()
    }
}

/// Builder of an S3-backed [`ObjectStoreMediaStore`]: object_store's
/// [`AmazonS3Builder`] for everything S3 (endpoint, region, credentials,
/// web identity, ECS/EKS container credentials, SSE-KMS, checksums, ...) plus
/// the media store's own settings (prefix, organization, retention, size limit).
///
/// Every `with_*` consumes and returns the builder.
/// [`from_env`](Self::from_env) takes object_store's own configuration from
/// the `AWS_*` variables (`AmazonS3Builder::from_env`); settings made with
/// `with_*` win over it, whatever the order of the calls. `build()` checks the
/// settings and never contacts the server. `Debug` never shows a secret
/// (keys, session token, SSE-C key).
///
/// ```
/// use promptkit_media_store::{Organization, S3MediaStore};
///
/// let store = S3MediaStore::builder()
///     .with_bucket("media")
///     .with_prefix("prod/chat")
///     .with_endpoint("http://127.0.0.1:9000") // S3-compatible server
///     .with_allow_http(true)
///     .with_region("us-east-1")
///     .with_access_key_id("AKIDEXAMPLE")
///     .with_secret_access_key("not-shown")
///     .with_option("aws_checksum_algorithm", "sha256") // any object_store S3 option
///     .with_organization(Organization::BySession)
///     .build()
///     .unwrap();
/// assert!(!format!("{store:?}").contains("not-shown"));
///
/// // Missing bucket: a configuration error, not a panic.
/// assert!(S3MediaStore::builder().build().is_err());
/// ```
#[derive(Clone, Default)]
pub struct S3MediaStoreBuilder {
    s3: AmazonS3Builder,
    /// Keys set by `with_*`: reapplied over what `from_env`/`from_vars` read.
    explicit: Vec<AmazonS3ConfigKey>,
    url: Option<String>,
    retry: Option<RetryConfig>,
    config: ObjectStoreConfig,
    /// The first bad setting, reported by `build()`.
    error: Option<String>,
}

/// The object_store settings `Debug` shows: (field, config key, secret?).
const DEBUG_KEYS: &[(&str, &str, bool)] = &[
    ("bucket", "aws_bucket", false),
    ("endpoint", "aws_endpoint", false),
    ("s3_endpoint", "aws_endpoint_url_s3", false),
    ("region", "aws_region", false),
    ("allow_http", "aws_allow_http", false),
    (
        "virtual_hosted_style",
        "aws_virtual_hosted_style_request",
        false,
    ),
    ("access_key_id", "aws_access_key_id", true),
    ("secret_access_key", "aws_secret_access_key", true),
    ("session_token", "aws_session_token", true),
    (
        "web_identity_token_file",
        "aws_web_identity_token_file",
        false,
    ),
    ("role_arn", "aws_role_arn", false),
    ("sts_endpoint", "aws_endpoint_url_sts", false),
    (
        "container_credentials_relative_uri",
        "aws_container_credentials_relative_uri",
        false,
    ),
    (
        "container_credentials_full_uri",
        "aws_container_credentials_full_uri",
        false,
    ),
    (
        "server_side_encryption",
        "aws_server_side_encryption",
        false,
    ),
    ("sse_kms_key_id", "aws_sse_kms_key_id", false),
    ("sse_customer_key", "aws_sse_customer_key_base64", true),
    ("checksum_algorithm", "aws_checksum_algorithm", false),
];

impl fmt::Debug for S3MediaStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("S3MediaStoreBuilder");
        for (field, key, secret) in DEBUG_KEYS {
            let Ok(key) = key.parse::<AmazonS3ConfigKey>() else {
                continue;
            };
            match self.s3.get_config_value(&key) {
                Some(_) if *secret => d.field(field, &"<redacted>"),
                Some(v) => d.field(field, &crate::url::redact_url(&v)),
                None => continue,
            };
        }
        d.field("url", &self.url)
            .field("retry", &self.retry)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl S3MediaStoreBuilder {
    /// A builder over object_store's `builder` (its settings are kept; those
    /// of `with_*` calls made afterwards win over them).
    ///
    /// ```
    /// use object_store::aws::AmazonS3Builder;
    /// use promptkit_media_store::S3MediaStoreBuilder;
    /// let s3 = AmazonS3Builder::new().with_bucket_name("media").with_region("eu-west-1");
    /// assert!(S3MediaStoreBuilder::from_s3_builder(s3).with_prefix("p").build().is_ok());
    /// ```
    pub fn from_s3_builder(builder: AmazonS3Builder) -> Self {
        S3MediaStoreBuilder {
            s3: builder,
            ..Self::default()
        }
    }

    /// Sets one object_store setting (it wins over `from_env`/`from_vars`).
    ///
    /// ```
    /// use object_store::aws::AmazonS3ConfigKey;
    /// use promptkit_media_store::S3MediaStore;
    /// let b = S3MediaStore::builder().with_s3_config(AmazonS3ConfigKey::RoleArn, "arn:aws:iam::1:role/r");
    /// assert_eq!(b.get_config_value(&AmazonS3ConfigKey::RoleArn).as_deref(), Some("arn:aws:iam::1:role/r"));
    /// ```
    pub fn with_s3_config(mut self, key: AmazonS3ConfigKey, value: impl Into<String>) -> Self {
        self.s3 = self.s3.with_config(key, value);
        if !self.explicit.contains(&key) {
            self.explicit.push(key);
        }
        self
    }

    /// Sets one object_store setting by its name, as object_store's
    /// `parse_url_opts` reads it (case-insensitive; `aws_endpoint`,
    /// `aws_checksum_algorithm`, `aws_sse_kms_key_id`, `aws_role_arn`,
    /// `allow_http`, `timeout`, ...). An unknown name makes `build()` fail with
    /// [`Error::Config`] naming it.
    ///
    /// ```
    /// use promptkit_media_store::S3MediaStore;
    /// let b = S3MediaStore::builder().with_bucket("b").with_option("aws_no_such_option", "1");
    /// assert!(b.build().unwrap_err().to_string().contains("aws_no_such_option"));
    /// ```
    pub fn with_option(self, key: &str, value: impl Into<String>) -> Self {
        match key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
            Ok(k) => self.with_s3_config(k, value),
            Err(_) => self.fail(format!(
                "`{key}` is not an object_store S3 option (e.g. aws_endpoint, aws_region, aws_allow_http)"
            )),
        }
    }

    /// What object_store has for `key` so far (before `build()`; the bucket
    /// of [`with_url`](Self::with_url) is applied by `build()`). This returns
    /// secrets too when asked for them.
    ///
    /// ```
    /// use object_store::aws::AmazonS3ConfigKey;
    /// use promptkit_media_store::S3MediaStore;
    /// let b = S3MediaStore::builder().from_vars([("AWS_ENDPOINT", "http://127.0.0.1:9000")]);
    /// assert_eq!(
    ///     b.get_config_value(&AmazonS3ConfigKey::Endpoint).as_deref(),
    ///     Some("http://127.0.0.1:9000")
    /// );
    /// ```
    pub fn get_config_value(&self, key: &AmazonS3ConfigKey) -> Option<String> {
        self.s3.get_config_value(key)
    }

    /// The bucket (required; it must exist: buckets are never created).
    pub fn with_bucket(self, bucket: impl Into<String>) -> Self {
        self.with_s3_config(AmazonS3ConfigKey::Bucket, bucket)
    }

    /// The bucket from an object_store URL: `s3://bucket`, `s3a://bucket`,
    /// `https://bucket.s3.region.amazonaws.com`, ... (object_store's
    /// `with_url`; it wins over the other settings it names). The URL's path
    /// is not a key prefix here: use [`with_prefix`](Self::with_prefix).
    /// Credentials or a query in the URL are dropped.
    pub fn with_url(mut self, url: &str) -> Self {
        match ::url::Url::parse(url.trim()) {
            Ok(mut u) => {
                let _ = u.set_password(None);
                let _ = u.set_username("");
                u.set_query(None);
                u.set_fragment(None);
                self.url = Some(u.into());
                self
            }
            Err(e) => self.fail(format!("the S3 URL is not a URL: {e}")),
        }
    }

    /// A custom endpoint, e.g. `http://127.0.0.1:9000` for an S3-compatible
    /// server (`AWS_ENDPOINT` or `AWS_ENDPOINT_URL`). With an endpoint,
    /// path-style requests are used unless
    /// [`with_virtual_hosted_style`](Self::with_virtual_hosted_style) says otherwise.
    pub fn with_endpoint(self, endpoint: impl Into<String>) -> Self {
        self.with_s3_config(AmazonS3ConfigKey::Endpoint, endpoint)
    }

    /// The region (default `us-east-1`).
    pub fn with_region(self, region: impl Into<String>) -> Self {
        self.with_s3_config(AmazonS3ConfigKey::Region, region)
    }

    /// The key prefix inside the bucket.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.prefix = Some(prefix.into());
        self
    }

    /// Allows plain `http://` endpoints (`AWS_ALLOW_HTTP`).
    ///
    /// **Warning:** with HTTP, requests and media travel unencrypted. Only for
    /// servers on a trusted network or on localhost.
    pub fn with_allow_http(self, allow: bool) -> Self {
        self.with_s3_config(
            AmazonS3ConfigKey::Client(ClientConfigKey::AllowHttp),
            allow.to_string(),
        )
    }

    /// Virtual-hosted-style (`bucket.host`) instead of path-style requests.
    pub fn with_virtual_hosted_style(self, virtual_hosted: bool) -> Self {
        self.with_s3_config(
            AmazonS3ConfigKey::VirtualHostedStyleRequest,
            virtual_hosted.to_string(),
        )
    }

    /// The access key id. Without key id and secret, object_store's credential
    /// chain is used (web identity, ECS/EKS container credentials, EC2
    /// instance metadata).
    pub fn with_access_key_id(self, id: impl Into<String>) -> Self {
        self.with_s3_config(AmazonS3ConfigKey::AccessKeyId, id)
    }

    /// The secret access key (never shown by `Debug`, in errors or logs).
    pub fn with_secret_access_key(self, secret: impl Into<String>) -> Self {
        self.with_s3_config(AmazonS3ConfigKey::SecretAccessKey, secret)
    }

    /// A session token for temporary credentials.
    pub fn with_session_token(self, token: impl Into<String>) -> Self {
        self.with_s3_config(AmazonS3ConfigKey::Token, token)
    }

    /// How often a failed request is retried (default 10) and for how long at
    /// most (default 3 minutes). Use small values where failing fast matters.
    pub fn with_retry(mut self, max_retries: usize, timeout: Duration) -> Self {
        self.retry = Some(RetryConfig {
            max_retries,
            retry_timeout: timeout,
            ..RetryConfig::default()
        });
        self
    }

    /// The organization of keys under `media/`.
    pub fn with_organization(mut self, organization: Organization) -> Self {
        self.config.organization = organization;
        self
    }

    /// The retention policy recorded when the metadata has none.
    pub fn with_default_policy(mut self, policy: RetentionPolicy) -> Self {
        self.config.default_policy = policy;
        self
    }

    /// The largest accepted media in bytes.
    pub fn with_max_file_size(mut self, bytes: u64) -> Self {
        self.config.max_file_size = Some(bytes);
        self
    }

    /// Media of at least this size is uploaded in 5 MiB parts.
    pub fn with_multipart_threshold(mut self, bytes: usize) -> Self {
        self.config = self.config.with_multipart_threshold(bytes);
        self
    }

    /// Replaces organization, prefix, policy, size limit and multipart threshold.
    pub fn with_config(mut self, config: ObjectStoreConfig) -> Self {
        self.config = config;
        self
    }

    /// Takes object_store's configuration from the process environment:
    /// `AmazonS3Builder::from_env()`, i.e. every `AWS_*` variable whose
    /// lower-cased name is an object_store S3 option, for example:
    ///
    /// | variable | setting |
    /// |---|---|
    /// | `AWS_ENDPOINT` (or `AWS_ENDPOINT_URL`; `AWS_ENDPOINT_URL_S3` wins over both) | endpoint |
    /// | `AWS_REGION` (or `AWS_DEFAULT_REGION`) | region, default `us-east-1` |
    /// | `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` | static credentials |
    /// | `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`, `AWS_ROLE_SESSION_NAME`, `AWS_ENDPOINT_URL_STS` | web identity (EKS/IRSA) |
    /// | `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, `AWS_CONTAINER_CREDENTIALS_FULL_URI`, `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` | ECS / EKS Pod Identity credentials |
    /// | `AWS_SERVER_SIDE_ENCRYPTION`, `AWS_SSE_KMS_KEY_ID`, `AWS_SSE_BUCKET_KEY_ENABLED` | server-side encryption |
    /// | `AWS_CHECKSUM_ALGORITHM`, `AWS_ALLOW_HTTP`, `AWS_VIRTUAL_HOSTED_STYLE_REQUEST`, `AWS_SKIP_SIGNATURE`, ... | the other object_store options |
    ///
    /// Variables object_store does not know are ignored, as object_store does.
    /// Settings made with `with_*` win, before or after this call.
    pub fn from_env(self) -> Self {
        self.rebase(AmazonS3Builder::from_env())
    }

    /// [`from_env`](Self::from_env) with the variables taken from `vars` (a
    /// map, a config file, a test) instead of the process environment: each
    /// `AWS_*` name, lower-cased, goes to object_store's option parser, exactly
    /// as `AmazonS3Builder::from_env` does with the environment.
    ///
    /// ```
    /// use object_store::aws::AmazonS3ConfigKey;
    /// use promptkit_media_store::S3MediaStore;
    /// let b = S3MediaStore::builder().with_region("eu-west-1").from_vars([
    ///     ("AWS_REGION", "us-west-2"),
    ///     ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/secrets/token"),
    ///     ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/media"),
    /// ]);
    /// assert_eq!(b.get_config_value(&AmazonS3ConfigKey::Region).as_deref(), Some("eu-west-1"));
    /// assert!(b.get_config_value(&AmazonS3ConfigKey::RoleArn).is_some());
    /// ```
    pub fn from_vars<K, V>(self, vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: AsRef<str>,
        V: Into<String>,
    {
        let mut base = AmazonS3Builder::new();
        for (name, value) in vars {
            let name = name.as_ref();
            if name.starts_with("AWS_")
                && let Ok(key) = name.to_ascii_lowercase().parse::<AmazonS3ConfigKey>()
            {
                base = base.with_config(key, value);
            }
        }
        self.rebase(base)
    }

    /// `base` with this builder's explicit settings applied over it.
    fn rebase(mut self, mut base: AmazonS3Builder) -> Self {
        for key in &self.explicit {
            if let Some(v) = self.s3.get_config_value(key) {
                base = base.with_config(*key, v);
            }
        }
        self.s3 = base;
        self
    }

    fn fail(mut self, message: String) -> Self {
        self.error.get_or_insert(message);
        self
    }

    /// Checks the settings and builds the store (no network access).
    ///
    /// [`Error::Config`] when the bucket is missing, an option is unknown or
    /// malformed, only one of key id and secret is set, an `http://` endpoint
    /// is used without [`with_allow_http`](Self::with_allow_http) (or
    /// `AWS_ALLOW_HTTP=true`), or the prefix is invalid. The messages never
    /// contain a secret.
    pub fn build(self) -> Result<ObjectStoreMediaStore> {
        if let Some(e) = self.error {
            return Err(Error::Config(e));
        }
        let mut s3 = self.s3;
        if let Some(url) = &self.url {
            s3 = s3.with_url(url.clone());
        }
        if self.url.is_none()
            && s3
                .get_config_value(&AmazonS3ConfigKey::Bucket)
                .is_none_or(|b| b.trim().is_empty())
        {
            return Err(Error::Config(
                "no S3 bucket: use with_bucket(..) or MEDIA_STORE_URL=s3://<bucket>/<prefix>"
                    .into(),
            ));
        }
        check_http(&s3)?;
        if let Some(retry) = self.retry {
            s3 = s3.with_retry(retry);
        }
        let what = match (&self.url, s3.get_config_value(&AmazonS3ConfigKey::Bucket)) {
            (Some(url), _) => format!("S3 store `{url}`"),
            (None, Some(b)) => format!("S3 bucket `{b}`"),
            (None, None) => "S3 store".to_string(),
        };
        // object_store's errors name the setting, never a credential.
        let s3 = Arc::new(
            s3.build()
                .map_err(|e| Error::Config(format!("{what}: {e}")))?,
        );
        Ok(
            ObjectStoreMediaStore::new(Arc::clone(&s3) as Arc<dyn ObjectStore>, self.config)?
                .with_backend_name("s3")
                .with_signer(s3),
        )
    }
}

/// Refuses a plain-HTTP endpoint unless HTTP is allowed: object_store would
/// only refuse it at the first request.
fn check_http(s3: &AmazonS3Builder) -> Result<()> {
    let endpoint = s3
        .get_config_value(&AmazonS3ConfigKey::S3Endpoint)
        .or_else(|| s3.get_config_value(&AmazonS3ConfigKey::Endpoint));
    let Some(endpoint) = endpoint else {
        return Ok(());
    };
    if !endpoint.trim().to_ascii_lowercase().starts_with("http://") {
        return Ok(());
    }
    let allow = s3
        .get_config_value(&AmazonS3ConfigKey::Client(ClientConfigKey::AllowHttp))
        .unwrap_or_default();
    match allow.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" | "y" => Ok(()),
        "" | "0" | "false" | "off" | "no" | "n" => Err(Error::Config(format!(
            "S3 endpoint {} is plain HTTP: call with_allow_http(true), set AWS_ALLOW_HTTP=true \
             or add ?aws_allow_http=true to the s3:// URL (trusted networks only)",
            crate::url::redact_url(&endpoint)
        ))),
        _ => Err(Error::Config(format!(
            "AWS_ALLOW_HTTP / aws_allow_http = `{allow}` is not true or false"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(b: &S3MediaStoreBuilder, key: &str) -> Option<String> {
        b.get_config_value(&key.parse().unwrap())
    }

    #[test]
    fn aws_endpoint_reaches_object_store() {
        // object_store's own name, AWS_ENDPOINT (not only AWS_ENDPOINT_URL).
        let b = S3MediaStore::builder().from_vars([
            ("AWS_ENDPOINT", "http://127.0.0.1:1"),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_REGION", "eu-central-1"),
        ]);
        assert_eq!(
            value(&b, "aws_endpoint").as_deref(),
            Some("http://127.0.0.1:1")
        );
        assert_eq!(value(&b, "aws_region").as_deref(), Some("eu-central-1"));
        let store = b.with_bucket("b").build().unwrap();
        assert!(format!("{store:?}").contains("\"s3\""), "{store:?}");
        // ... and AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL, as in object_store.
        let b = S3MediaStore::builder().from_vars([
            ("AWS_ENDPOINT_URL", "https://generic.example"),
            ("AWS_ENDPOINT_URL_S3", "https://s3.example"),
        ]);
        assert_eq!(
            value(&b, "aws_endpoint_url_s3").as_deref(),
            Some("https://s3.example")
        );
    }

    #[test]
    fn web_identity_and_other_object_store_settings_reach_object_store() {
        let b = S3MediaStore::builder().from_vars([
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/secrets/eks/token"),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/media"),
            ("AWS_ROLE_SESSION_NAME", "media-session"),
            (
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "/v2/credentials/x",
            ),
            ("AWS_SERVER_SIDE_ENCRYPTION", "aws:kms"),
            ("AWS_SSE_KMS_KEY_ID", "kms-key-1"),
            ("AWS_CHECKSUM_ALGORITHM", "sha256"),
            ("AWS_NOT_AN_OPTION", "ignored, as object_store ignores it"),
            ("HOME", "/root"),
        ]);
        for (key, want) in [
            ("aws_web_identity_token_file", "/var/run/secrets/eks/token"),
            ("aws_role_arn", "arn:aws:iam::123456789012:role/media"),
            ("aws_role_session_name", "media-session"),
            (
                "aws_container_credentials_relative_uri",
                "/v2/credentials/x",
            ),
            ("aws_server_side_encryption", "aws:kms"),
            ("aws_sse_kms_key_id", "kms-key-1"),
            ("aws_checksum_algorithm", "sha256"),
        ] {
            assert_eq!(value(&b, key).as_deref(), Some(want), "{key}");
        }
        let dbg = format!("{b:?}");
        assert!(
            dbg.contains("arn:aws:iam::123456789012:role/media"),
            "{dbg}"
        );
        // No static keys: object_store's web identity provider; builds offline.
        b.with_bucket("media").build().unwrap();
    }

    #[test]
    fn explicit_settings_win_over_the_environment_in_any_order() {
        let vars = [
            ("AWS_ENDPOINT", "http://127.0.0.1:1"),
            ("AWS_REGION", "us-west-2"),
            ("AWS_ACCESS_KEY_ID", "id"),
            ("AWS_SECRET_ACCESS_KEY", "very-secret"),
            ("AWS_ALLOW_HTTP", "true"),
        ];
        let before = S3MediaStore::builder()
            .with_region("eu-west-1")
            .from_vars(vars);
        let after = S3MediaStore::builder()
            .from_vars(vars)
            .with_region("eu-west-1");
        for b in [before, after] {
            assert_eq!(value(&b, "aws_region").as_deref(), Some("eu-west-1"));
            assert_eq!(
                value(&b, "aws_endpoint").as_deref(),
                Some("http://127.0.0.1:1")
            );
            let dbg = format!("{b:?}");
            assert!(
                !dbg.contains("very-secret") && dbg.contains("<redacted>"),
                "{dbg}"
            );
            let store = b.with_bucket("b").build().unwrap();
            assert!(!format!("{store:?}").contains("very-secret"));
        }
    }

    #[test]
    fn options_by_name_and_urls() {
        let b = S3MediaStore::builder()
            .with_url("s3://user:pw-not-shown@media/ignored/path?aws_secret_access_key=nope")
            .with_option("AWS_ENDPOINT", "https://minio.example")
            .with_option("aws_sse_customer_key_base64", "c2VjcmV0LW5vdC1zaG93bg==");
        assert_eq!(
            value(&b, "aws_endpoint").as_deref(),
            Some("https://minio.example")
        );
        let dbg = format!("{b:?}");
        assert!(
            !dbg.contains("pw-not-shown") && !dbg.contains("nope"),
            "{dbg}"
        );
        assert!(!dbg.contains("c2VjcmV0"), "{dbg}");
        let store = b.build().unwrap();
        assert!(format!("{store:?}").contains("media"), "{store:?}");
    }

    #[test]
    fn bad_settings_are_config_errors_without_secrets() {
        let cases = [
            S3MediaStore::builder(),
            S3MediaStore::builder().with_bucket("  "),
            S3MediaStore::builder()
                .with_bucket("b")
                .with_endpoint("http://127.0.0.1:1"),
            S3MediaStore::builder()
                .with_bucket("b")
                .from_vars([("AWS_ENDPOINT", "http://127.0.0.1:1")]),
            S3MediaStore::builder()
                .with_bucket("b")
                .with_access_key_id("only-id"),
            S3MediaStore::builder()
                .with_bucket("b")
                .with_secret_access_key("very-secret-only"),
            S3MediaStore::builder()
                .with_bucket("b")
                .with_endpoint("http://127.0.0.1:1")
                .from_vars([("AWS_ALLOW_HTTP", "maybe")]),
            S3MediaStore::builder()
                .with_bucket("b")
                .with_option("aws_unknown_thing", "x"),
            S3MediaStore::builder()
                .with_bucket("b")
                .with_option("aws_checksum_algorithm", "md5-very-secret"),
            S3MediaStore::builder().with_url("not a url very-secret"),
            S3MediaStore::builder()
                .with_bucket("b")
                .with_prefix("a/../b"),
        ];
        for b in cases {
            let what = format!("{b:?}");
            match b.build() {
                Err(Error::Config(m)) => {
                    assert!(!m.contains("very-secret-only"), "{m}");
                    assert!(!m.contains("not a url very-secret"), "{m}");
                }
                other => panic!("accepted {what}: {other:?}"),
            }
        }
        let err = S3MediaStore::builder()
            .with_bucket("b")
            .with_endpoint("http://127.0.0.1:1")
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("plain HTTP") && err.contains("allow_http"),
            "{err}"
        );
    }
}
