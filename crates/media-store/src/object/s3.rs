//! Amazon S3 (and S3-compatible servers): [`S3MediaStore::builder`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::{ObjectStore, RetryConfig};

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

/// Builder of an S3-backed [`ObjectStoreMediaStore`].
///
/// Every `with_*` consumes and returns the builder; [`from_env`](Self::from_env)
/// fills only what is still unset from the standard AWS variables, so explicit
/// settings win. `build()` checks the settings and never contacts the server.
/// Secrets are never shown by `Debug`.
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
    bucket: Option<String>,
    endpoint: Option<String>,
    region: Option<String>,
    allow_http: Option<bool>,
    virtual_hosted_style: Option<bool>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    max_retries: Option<usize>,
    retry_timeout: Option<Duration>,
    config: ObjectStoreConfig,
    env_error: Option<String>,
}

impl fmt::Debug for S3MediaStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("S3MediaStoreBuilder")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("allow_http", &self.allow_http)
            .field("virtual_hosted_style", &self.virtual_hosted_style)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &redacted(&self.secret_access_key))
            .field("session_token", &redacted(&self.session_token))
            .field("max_retries", &self.max_retries)
            .field("retry_timeout", &self.retry_timeout)
            .field("config", &self.config)
            .finish()
    }
}

impl S3MediaStoreBuilder {
    /// The bucket (required; it must exist: buckets are never created).
    pub fn with_bucket(mut self, bucket: impl Into<String>) -> Self {
        self.bucket = Some(bucket.into());
        self
    }

    /// A custom endpoint, e.g. `http://127.0.0.1:9000` for an S3-compatible
    /// server. With an endpoint, path-style requests are used unless
    /// [`with_virtual_hosted_style`](Self::with_virtual_hosted_style) says otherwise.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The region (default `us-east-1`).
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The key prefix inside the bucket.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.prefix = Some(prefix.into());
        self
    }

    /// Allows plain `http://` endpoints.
    ///
    /// **Warning:** with HTTP, requests and media travel unencrypted. Only for
    /// servers on a trusted network or on localhost.
    pub fn with_allow_http(mut self, allow: bool) -> Self {
        self.allow_http = Some(allow);
        self
    }

    /// Virtual-hosted-style (`bucket.host`) instead of path-style requests.
    pub fn with_virtual_hosted_style(mut self, virtual_hosted: bool) -> Self {
        self.virtual_hosted_style = Some(virtual_hosted);
        self
    }

    /// The access key id. Without key id and secret, object_store's default
    /// credential chain (web identity, ECS/EC2 instance metadata) is used.
    pub fn with_access_key_id(mut self, id: impl Into<String>) -> Self {
        self.access_key_id = Some(id.into());
        self
    }

    /// The secret access key (never shown by `Debug`, in errors or logs).
    pub fn with_secret_access_key(mut self, secret: impl Into<String>) -> Self {
        self.secret_access_key = Some(secret.into());
        self
    }

    /// A session token for temporary credentials.
    pub fn with_session_token(mut self, token: impl Into<String>) -> Self {
        self.session_token = Some(token.into());
        self
    }

    /// How often a failed request is retried (default 10) and for how long at
    /// most (default 3 minutes). Use small values where failing fast matters.
    pub fn with_retry(mut self, max_retries: usize, timeout: Duration) -> Self {
        self.max_retries = Some(max_retries);
        self.retry_timeout = Some(timeout);
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

    /// Fills settings that are still unset from the environment:
    ///
    /// | variable | setting |
    /// |---|---|
    /// | `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL` | endpoint |
    /// | `AWS_REGION`, else `AWS_DEFAULT_REGION` | region |
    /// | `AWS_ACCESS_KEY_ID` | access key id |
    /// | `AWS_SECRET_ACCESS_KEY` | secret access key |
    /// | `AWS_SESSION_TOKEN` | session token |
    /// | `AWS_ALLOW_HTTP` (`true`/`false`/`1`/`0`) | allow http |
    ///
    /// An unparsable `AWS_ALLOW_HTTP` makes `build()` fail with [`Error::Config`].
    pub fn from_env(self) -> Self {
        self.from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// [`from_env`](Self::from_env) with the variables taken from `get` (a map,
    /// a config file, a test).
    pub fn from_lookup(mut self, get: impl Fn(&str) -> Option<String>) -> Self {
        let first = |names: &[&str]| names.iter().find_map(|n| get(n));
        fill(&mut self.endpoint, || {
            first(&["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"])
        });
        fill(&mut self.region, || {
            first(&["AWS_REGION", "AWS_DEFAULT_REGION"])
        });
        fill(&mut self.access_key_id, || get("AWS_ACCESS_KEY_ID"));
        fill(&mut self.secret_access_key, || get("AWS_SECRET_ACCESS_KEY"));
        fill(&mut self.session_token, || get("AWS_SESSION_TOKEN"));
        if self.allow_http.is_none()
            && let Some(v) = get("AWS_ALLOW_HTTP")
        {
            match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => self.allow_http = Some(true),
                "false" | "0" | "no" => self.allow_http = Some(false),
                _ => self.env_error = Some(format!("AWS_ALLOW_HTTP=`{v}` is not true/false/1/0")),
            }
        }
        self
    }

    /// Checks the settings and builds the store (no network access).
    ///
    /// [`Error::Config`] when the bucket is missing, only one of key id and
    /// secret is set, an `http://` endpoint is used without
    /// [`with_allow_http`](Self::with_allow_http), or the prefix is invalid.
    pub fn build(self) -> Result<ObjectStoreMediaStore> {
        if let Some(e) = self.env_error {
            return Err(Error::Config(e));
        }
        let bucket = self
            .bucket
            .filter(|b| !b.trim().is_empty())
            .ok_or_else(|| {
                Error::Config(
                    "no S3 bucket: use with_bucket(..) or MEDIA_STORE_URL=s3://<bucket>/<prefix>"
                        .into(),
                )
            })?;
        let allow_http = self.allow_http.unwrap_or(false);
        if let Some(ep) = &self.endpoint
            && ep.starts_with("http://")
            && !allow_http
        {
            return Err(Error::Config(format!(
                "endpoint {ep} is plain HTTP: call with_allow_http(true) or set AWS_ALLOW_HTTP=true"
            )));
        }
        let mut s3 = AmazonS3Builder::new()
            .with_bucket_name(&bucket)
            .with_region(self.region.as_deref().unwrap_or("us-east-1"))
            .with_allow_http(allow_http);
        if let Some(ep) = &self.endpoint {
            s3 = s3
                .with_endpoint(ep)
                .with_virtual_hosted_style_request(self.virtual_hosted_style.unwrap_or(false));
        } else if let Some(v) = self.virtual_hosted_style {
            s3 = s3.with_virtual_hosted_style_request(v);
        }
        match (self.access_key_id, self.secret_access_key) {
            (Some(id), Some(secret)) => {
                s3 = s3.with_access_key_id(id).with_secret_access_key(secret);
                if let Some(t) = self.session_token {
                    s3 = s3.with_token(t);
                }
            }
            (None, None) => {}
            _ => {
                return Err(Error::Config(
                    "S3 credentials need both an access key id and a secret access key".into(),
                ));
            }
        }
        if self.max_retries.is_some() || self.retry_timeout.is_some() {
            let mut retry = RetryConfig::default();
            if let Some(n) = self.max_retries {
                retry.max_retries = n;
            }
            if let Some(t) = self.retry_timeout {
                retry.retry_timeout = t;
            }
            s3 = s3.with_retry(retry);
        }
        let s3 = Arc::new(
            s3.build()
                .map_err(|e| Error::Config(format!("S3 bucket `{bucket}`: {e}")))?,
        );
        Ok(
            ObjectStoreMediaStore::new(Arc::clone(&s3) as Arc<dyn ObjectStore>, self.config)?
                .with_backend_name("s3")
                .with_signer(s3),
        )
    }
}

fn fill(slot: &mut Option<String>, value: impl FnOnce() -> Option<String>) {
    if slot.is_none() {
        *slot = value();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |n| {
            vars.iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn env_fills_only_unset_settings() {
        let b = S3MediaStore::builder()
            .with_region("eu-west-1")
            .from_lookup(env(&[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
                ("AWS_REGION", "us-west-2"),
                ("AWS_ACCESS_KEY_ID", "id"),
                ("AWS_SECRET_ACCESS_KEY", "very-secret"),
                ("AWS_ALLOW_HTTP", "true"),
            ]));
        assert_eq!(b.region.as_deref(), Some("eu-west-1"));
        assert_eq!(b.endpoint.as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(b.allow_http, Some(true));
        let dbg = format!("{b:?}");
        assert!(!dbg.contains("very-secret"), "{dbg}");
        let store = b.with_bucket("b").build().unwrap();
        assert!(!format!("{store:?}").contains("very-secret"));
    }

    #[test]
    fn bad_settings_are_config_errors() {
        let cases = [
            S3MediaStore::builder(),
            S3MediaStore::builder()
                .with_bucket("b")
                .with_endpoint("http://127.0.0.1:1"),
            S3MediaStore::builder()
                .with_bucket("b")
                .with_access_key_id("only-id"),
            S3MediaStore::builder()
                .with_bucket("b")
                .from_lookup(env(&[("AWS_ALLOW_HTTP", "maybe")])),
            S3MediaStore::builder()
                .with_bucket("b")
                .with_prefix("a/../b"),
        ];
        for b in cases {
            let what = format!("{b:?}");
            assert!(
                matches!(b.build(), Err(Error::Config(_))),
                "accepted: {what}"
            );
        }
    }
}
