//! Configuration: the builder, the secret API key, authentication styles.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use promptkit_core::Error;

use crate::pricing::{ModelPrice, PriceTable};
use crate::provider::OpenAiProvider;
use crate::request::ToolResultMedia;
use crate::retry::RetryPolicy;

/// The official API endpoint, used when no base URL is configured.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// Chat model used when none is configured.
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";
/// Image model used when none is configured.
pub const DEFAULT_IMAGE_MODEL: &str = "gpt-image-1";
/// Per-request timeout used when none is configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// An API key. Its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ApiKey(Arc<str>);

impl ApiKey {
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

/// How the key is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Auth {
    /// `Authorization: Bearer KEY` (OpenAI and most compatible servers).
    Bearer,
    /// `api-key: KEY` plus `?api-version=V` on every URL (Azure OpenAI).
    Azure { api_version: String },
}

/// Validated settings, shared by every request.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) provider_id: String,
    pub(crate) api_key: Option<ApiKey>,
    pub(crate) auth: Auth,
    pub(crate) base_url: String,
    pub(crate) model: String,
    pub(crate) image_model: String,
    pub(crate) organization: Option<String>,
    pub(crate) project: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) parallel_tool_calls: Option<bool>,
    pub(crate) tool_media: ToolResultMedia,
    /// Secret pieces of the base URL (a password, secret query values) and
    /// what to show instead, for [`redact`](crate::http::Transport::redact).
    pub(crate) url_secrets: Vec<(String, String)>,
}

/// The pieces of `base` that [`promptkit_core::redact_url`] hides, each with
/// its replacement: the user information and `name=VALUE` of query
/// parameters.
fn url_secrets(base: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Ok(u) = reqwest::Url::parse(base) {
        if let Some(pw) = u.password() {
            out.push((format!(":{pw}@"), ":***@".to_string()));
        }
        if !u.username().is_empty() {
            let user = u.username();
            out.push((format!("//{user}:"), "//***:".to_string()));
            out.push((format!("//{user}@"), "//***@".to_string()));
        }
    }
    if let Some((_, query)) = base.split_once('?') {
        for param in query.split('&') {
            let shown = promptkit_core::redact_url(&format!("x://h?{param}"));
            let shown = shown.trim_start_matches("x://h?");
            if shown != param {
                out.push((param.to_string(), shown.to_string()));
            }
        }
    }
    out
}

/// Builder of an [`OpenAiProvider`]: consuming `with_*` setters, [`from_env`]
/// and a fallible [`build`].
///
/// Values set with `with_*` always win over the environment, whatever the order
/// of the calls: [`from_env`] only fills settings that are still unset.
///
/// ```
/// use std::time::Duration;
/// use promptkit_provider_openai::{OpenAiProvider, RetryPolicy};
/// let provider = OpenAiProvider::builder()
///     .with_api_key("sk-test")
///     .with_base_url("http://127.0.0.1:8080/v1")
///     .with_model("gpt-4o")
///     .with_timeout(Duration::from_secs(30))
///     .with_retry_policy(RetryPolicy { max_attempts: 5, ..RetryPolicy::default() })
///     .build()
///     .unwrap();
/// assert_eq!(provider.model(), "gpt-4o");
/// assert!(!format!("{provider:?}").contains("sk-test"));
///
/// let err = OpenAiProvider::builder().build().unwrap_err();
/// assert!(matches!(err, promptkit_core::Error::Config { .. }));
/// ```
///
/// [`from_env`]: OpenAiProviderBuilder::from_env
/// [`build`]: OpenAiProviderBuilder::build
#[derive(Debug, Clone, Default)]
pub struct OpenAiProviderBuilder {
    provider_id: Option<String>,
    api_key: Option<ApiKey>,
    no_api_key: bool,
    base_url: Option<String>,
    model: Option<String>,
    image_model: Option<String>,
    organization: Option<String>,
    project: Option<String>,
    timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    prices: Option<PriceTable>,
    extra_prices: Vec<(String, ModelPrice)>,
    azure_api_version: Option<String>,
    parallel_tool_calls: Option<bool>,
    tool_media: Option<ToolResultMedia>,
    http_client: Option<reqwest::Client>,
}

fn config_err(setting: &str, message: impl Into<String>) -> Error {
    Error::Config {
        setting: setting.to_string(),
        message: message.into(),
    }
}

impl OpenAiProviderBuilder {
    /// An empty builder (same as [`OpenAiProvider::builder`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// The API key (sent as `Authorization: Bearer`, or `api-key` with [`Self::with_azure`]).
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey(Arc::from(key.into())));
        self
    }

    /// Sends no credentials at all: for local OpenAI-compatible servers that need
    /// none. Without this, a missing key is a configuration error.
    pub fn with_no_api_key(mut self) -> Self {
        self.no_api_key = true;
        self
    }

    /// The API root, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8080/v1`.
    /// Request paths (`/chat/completions`, `/images/generations`) are appended to it.
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Default chat model (a request's `model` overrides it).
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Default image model (an image request's `model` overrides it).
    pub fn with_image_model(mut self, model: impl Into<String>) -> Self {
        self.image_model = Some(model.into());
        self
    }

    /// Sends `OpenAI-Organization`.
    pub fn with_organization(mut self, org: impl Into<String>) -> Self {
        self.organization = Some(org.into());
        self
    }

    /// Sends `OpenAI-Project`.
    pub fn with_project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// Limit for one attempt (request and full response body; for streams, until
    /// the response headers arrive and then between two chunks). Default 120 s.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retry policy for transient failures.
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Replaces the whole price table (default: [`PriceTable::openai_defaults`]).
    pub fn with_prices(mut self, prices: PriceTable) -> Self {
        self.prices = Some(prices);
        self
    }

    /// Adds or overrides one model's prices on top of the table.
    pub fn with_price(mut self, model: impl Into<String>, price: ModelPrice) -> Self {
        self.extra_prices.push((model.into(), price));
        self
    }

    /// Azure OpenAI style: the key goes in an `api-key` header (no `Bearer`) and
    /// `?api-version=VERSION` is added to every URL. Set the base URL to the
    /// deployment, e.g. `https://RESOURCE.openai.azure.com/openai/deployments/DEPLOYMENT`.
    pub fn with_azure(mut self, api_version: impl Into<String>) -> Self {
        self.azure_api_version = Some(api_version.into());
        self
    }

    /// Sends `parallel_tool_calls` with requests that offer tools (unset: the
    /// server's default, which is `true` on OpenAI).
    pub fn with_parallel_tool_calls(mut self, enabled: bool) -> Self {
        self.parallel_tool_calls = Some(enabled);
        self
    }

    /// What becomes of media in tool results and assistant messages (default:
    /// [`ToolResultMedia::Describe`]: described in the text, no pixels sent).
    pub fn with_tool_result_media(mut self, mode: ToolResultMedia) -> Self {
        self.tool_media = Some(mode);
        self
    }

    /// Uses this HTTP client (proxies, custom TLS roots, ...).
    pub fn with_http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// The id reported by `Provider::id` (default `openai`), e.g. `azure` or `local`.
    pub fn with_provider_id(mut self, id: impl Into<String>) -> Self {
        self.provider_id = Some(id.into());
        self
    }

    /// Fills unset settings from the environment: `OPENAI_API_KEY`,
    /// `OPENAI_BASE_URL`, `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`, `OPENAI_MODEL`,
    /// and `PROMPTKIT_OPENAI_TOOL_MEDIA` (`describe`, `omit` or `user-message`, see
    /// [`ToolResultMedia`]; other values are ignored with a warning).
    /// Empty variables count as unset.
    pub fn from_env(self) -> Self {
        self.from_env_with(|name| std::env::var(name).ok())
    }

    /// Like [`Self::from_env`], reading variables through `lookup` (for tests and
    /// other configuration sources).
    ///
    /// ```
    /// use promptkit_provider_openai::OpenAiProviderBuilder;
    /// let p = OpenAiProviderBuilder::new()
    ///     .from_env_with(|k| (k == "OPENAI_API_KEY").then(|| "sk-env".to_string()))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(p.base_url(), "https://api.openai.com/v1");
    /// ```
    pub fn from_env_with(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        if self.api_key.is_none() {
            self.api_key = get("OPENAI_API_KEY").map(|k| ApiKey(Arc::from(k.trim())));
        }
        self.base_url = self.base_url.or_else(|| get("OPENAI_BASE_URL"));
        self.organization = self.organization.or_else(|| get("OPENAI_ORG_ID"));
        self.project = self.project.or_else(|| get("OPENAI_PROJECT_ID"));
        self.model = self.model.or_else(|| get("OPENAI_MODEL"));
        if self.tool_media.is_none() {
            self.tool_media = get("PROMPTKIT_OPENAI_TOOL_MEDIA").and_then(|v| {
                match v.trim().to_ascii_lowercase().as_str() {
                    "describe" => Some(ToolResultMedia::Describe),
                    "omit" => Some(ToolResultMedia::Omit),
                    "user-message" => Some(ToolResultMedia::FollowUpUserMessage),
                    other => {
                        tracing::warn!(
                            value = other,
                            "PROMPTKIT_OPENAI_TOOL_MEDIA must be describe, omit or user-message; ignored"
                        );
                        None
                    }
                }
            });
        }
        self
    }

    /// Validates the settings and builds the provider.
    ///
    /// Errors ([`Error::Config`]): no API key (and no [`Self::with_no_api_key`]),
    /// a key or header value that cannot be sent in a header, a base URL that is
    /// not `http(s)://`, an empty model name, a zero timeout, `max_attempts == 0`.
    pub fn build(self) -> Result<OpenAiProvider, Error> {
        let api_key = match (self.api_key, self.no_api_key) {
            (Some(k), _) if k.expose().trim().is_empty() => {
                return Err(config_err("OPENAI_API_KEY", "the API key is empty"));
            }
            (Some(k), _) => {
                if reqwest::header::HeaderValue::from_str(k.expose()).is_err() {
                    return Err(config_err(
                        "OPENAI_API_KEY",
                        "the API key contains characters that cannot be sent in an HTTP header",
                    ));
                }
                Some(k)
            }
            (None, true) => None,
            (None, false) => {
                return Err(config_err(
                    "OPENAI_API_KEY",
                    "no API key: call with_api_key(..) or from_env() with OPENAI_API_KEY set \
                     (with_no_api_key() for local servers that need none)",
                ));
            }
        };
        let base = self.base_url.unwrap_or_else(|| DEFAULT_BASE_URL.into());
        let base = base.trim().trim_end_matches('/').to_string();
        match reqwest::Url::parse(&base) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            Ok(u) => {
                return Err(config_err(
                    "base_url",
                    format!(
                        "{:?} must be an http:// or https:// URL with a host (scheme {:?})",
                        promptkit_core::redact_url(&base),
                        u.scheme()
                    ),
                ));
            }
            Err(e) => {
                return Err(config_err(
                    "base_url",
                    format!("{:?} is not a URL: {e}", promptkit_core::redact_url(&base)),
                ));
            }
        }
        let model = self.model.unwrap_or_else(|| DEFAULT_MODEL.into());
        let image_model = self
            .image_model
            .unwrap_or_else(|| DEFAULT_IMAGE_MODEL.into());
        if model.trim().is_empty() {
            return Err(config_err("model", "the model name is empty"));
        }
        if image_model.trim().is_empty() {
            return Err(config_err("image_model", "the image model name is empty"));
        }
        for (setting, v) in [
            ("organization", &self.organization),
            ("project", &self.project),
            ("api_version", &self.azure_api_version),
        ] {
            if let Some(v) = v
                && (v.trim().is_empty() || reqwest::header::HeaderValue::from_str(v).is_err())
            {
                return Err(config_err(
                    setting,
                    format!("{v:?} is not a valid header or query value"),
                ));
            }
        }
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        if timeout.is_zero() {
            return Err(config_err(
                "timeout",
                "the timeout must be greater than zero",
            ));
        }
        let retry = self.retry.unwrap_or_default();
        if retry.max_attempts == 0 {
            return Err(config_err(
                "retry_policy",
                "max_attempts must be at least 1 (1 = no retries)",
            ));
        }
        let client = match self.http_client {
            Some(c) => c,
            None => reqwest::Client::builder()
                .connect_timeout(timeout.min(Duration::from_secs(10)))
                .build()
                .map_err(|e| {
                    config_err("http_client", format!("cannot build the HTTP client: {e}"))
                })?,
        };
        let mut prices = self.prices.unwrap_or_default();
        for (m, p) in self.extra_prices {
            prices.insert(m, p);
        }
        let auth = match self.azure_api_version {
            Some(api_version) => Auth::Azure { api_version },
            None => Auth::Bearer,
        };
        let cfg = Config {
            provider_id: self.provider_id.unwrap_or_else(|| "openai".into()),
            api_key,
            auth,
            model,
            image_model,
            organization: self.organization,
            project: self.project,
            timeout,
            retry,
            parallel_tool_calls: self.parallel_tool_calls,
            tool_media: self.tool_media.unwrap_or_default(),
            url_secrets: url_secrets(&base),
            base_url: base,
        };
        Ok(OpenAiProvider::from_parts(cfg, client, prices))
    }
}
