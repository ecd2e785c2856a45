//! HTTP transport: headers, timeouts, retries, and mapping failures to typed errors.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;

use crate::body::Payload;
use promptkit_core::Error;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;

use crate::config::{Auth, Config};
use crate::retry::retry_after;

/// Longest piece of a non-JSON error body quoted in an error message.
const MAX_QUOTED_BODY: usize = 300;
/// Largest response body read into memory (a few base64 images fit easily).
pub(crate) const MAX_BODY: usize = 256 * 1024 * 1024;

/// `base` + `path`, keeping `base`'s query (and fragment-free) after the path,
/// plus `api-version` for Azure unless the base URL already names one.
fn join_url(base: &str, path: &str, auth: &Auth) -> String {
    let (root, query) = match base.split_once('?') {
        Some((root, query)) => (root, Some(query)),
        None => (base, None),
    };
    let mut url = format!("{}{path}", root.trim_end_matches('/'));
    let mut params: Vec<&str> = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty())
        .collect();
    let azure;
    if let Auth::Azure { api_version } = auth
        && !params
            .iter()
            .any(|p| p.split('=').next() == Some("api-version"))
    {
        azure = format!("api-version={api_version}");
        params.push(&azure);
    }
    if !params.is_empty() {
        url.push('?');
        url.push_str(&params.join("&"));
    }
    url
}

/// Sends requests for one provider.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    pub(crate) cfg: Config,
    pub(crate) client: reqwest::Client,
}

impl Transport {
    /// Removes the API key, and a password or secret query values of the base
    /// URL, from any text that may reach an error or a log.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut text = match &self.cfg.api_key {
            Some(k) if k.expose().len() >= 4 => text.replace(k.expose(), "[redacted]"),
            _ => text.to_string(),
        };
        for (secret, shown) in &self.cfg.url_secrets {
            text = text.replace(secret, shown);
        }
        text
    }

    /// Removes the API key from the messages of `e` (an error built from
    /// what a server sent, e.g. an SSE `error` event that quotes the key).
    pub(crate) fn redact_error(&self, e: Error) -> Error {
        match e {
            Error::Transient {
                provider,
                status,
                message,
                retry_after,
            } => Error::Transient {
                provider,
                status,
                message: self.redact(&message),
                retry_after,
            },
            Error::Provider {
                provider,
                status,
                message,
                code,
            } => Error::Provider {
                provider,
                status,
                message: self.redact(&message),
                code: code.map(|c| self.redact(&c)),
            },
            Error::Decode { what, message } => Error::Decode {
                what,
                message: self.redact(&message),
            },
            other => other,
        }
    }

    /// The URL of `path` under the base URL; a query in the base URL (e.g.
    /// Azure's `?api-version=`) stays after the path.
    pub(crate) fn url(&self, path: &str) -> String {
        join_url(&self.cfg.base_url, path, &self.cfg.auth)
    }

    fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(key) = &self.cfg.api_key {
            // Validated in `build`; a failure here would only drop the header.
            let (name, value) = match self.cfg.auth {
                Auth::Bearer => ("authorization", format!("Bearer {}", key.expose())),
                Auth::Azure { .. } => ("api-key", key.expose().to_string()),
            };
            if let Ok(mut v) = HeaderValue::from_str(&value) {
                v.set_sensitive(true);
                h.insert(name, v);
            }
        }
        for (name, value) in [
            ("openai-organization", &self.cfg.organization),
            ("openai-project", &self.cfg.project),
        ] {
            if let Some(v) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
                h.insert(name, v);
            }
        }
        h
    }

    fn timeout_error(&self, path: &str) -> Error {
        Error::Timeout {
            operation: format!("POST {path}"),
            after: self.cfg.timeout,
        }
    }

    /// Maps a reqwest failure: timeouts, then connection/transfer failures as
    /// transient, anything else as `Other`.
    pub(crate) fn map_reqwest(&self, path: &str, e: reqwest::Error) -> Error {
        if e.is_timeout() {
            return self.timeout_error(path);
        }
        let message = self.redact(&error_chain(&e));
        if e.is_connect() || e.is_request() || e.is_body() || e.is_decode() {
            Error::Transient {
                provider: self.cfg.provider_id.clone(),
                status: None,
                message,
                retry_after: None,
            }
        } else {
            Error::Other {
                context: format!("POST {path}"),
                source: message.into(),
            }
        }
    }

    /// The typed error for a non-success status and its body.
    pub(crate) fn status_error(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Error {
        let (message, code) = error_details(status, body);
        let message = self.redact(&message);
        let code = code.map(|c| self.redact(&c));
        let transient = matches!(status.as_u16(), 408 | 409 | 429) || status.is_server_error();
        if transient {
            Error::Transient {
                provider: self.cfg.provider_id.clone(),
                status: Some(status.as_u16()),
                message,
                retry_after: retry_after(headers),
            }
        } else {
            Error::Provider {
                provider: self.cfg.provider_id.clone(),
                status: status.as_u16(),
                message,
                code,
            }
        }
    }

    /// Reads a whole body, refusing more than [`MAX_BODY`] bytes.
    pub(crate) async fn read_body(
        &self,
        path: &str,
        mut resp: reqwest::Response,
    ) -> Result<Bytes, Error> {
        let too_big = || Error::Decode {
            what: format!("response to {path}"),
            message: format!("body larger than {MAX_BODY} bytes"),
        };
        if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Err(too_big());
        }
        let mut buf = bytes::BytesMut::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.map_reqwest(path, e))? {
            if buf.len() + chunk.len() > MAX_BODY {
                return Err(too_big());
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }

    fn request(&self, path: &str, body: &Payload) -> reqwest::RequestBuilder {
        self.client
            .post(self.url(path))
            .headers(self.headers())
            .body(body.to_body())
    }

    /// POSTs the JSON `body` and returns the successful response body, with retries.
    pub(crate) async fn post_json(&self, path: &str, body: Payload) -> Result<Bytes, Error> {
        self.with_retries(path, || {
            self.timed(path, async {
                let resp = self.send_ok(path, self.request(path, &body)).await?;
                self.read_body(path, resp).await
            })
        })
        .await
    }

    /// POSTs `body` and returns the response once its headers show success; the
    /// caller reads the body (a stream). Retries happen only before that point.
    pub(crate) async fn post_stream(
        &self,
        path: &str,
        body: Payload,
    ) -> Result<reqwest::Response, Error> {
        self.with_retries(path, || {
            self.timed(path, self.send_ok(path, self.request(path, &body)))
        })
        .await
    }

    /// GETs a URL without credentials (image URLs returned by the API point
    /// elsewhere and must not receive the key).
    pub(crate) async fn get_public(&self, url: &str) -> Result<Bytes, Error> {
        let path = "image URL";
        self.with_retries(path, || {
            self.timed(path, async {
                let resp = self.send_ok(path, self.client.get(url)).await?;
                self.read_body(path, resp).await
            })
        })
        .await
    }

    /// Sends one request; a non-success status becomes the matching error
    /// (with the API's message read from the body).
    async fn send_ok(
        &self,
        path: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Error> {
        let resp = request
            .send()
            .await
            .map_err(|e| self.map_reqwest(path, e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let headers = resp.headers().clone();
        let bytes = self.read_body(path, resp).await?;
        Err(self.status_error(status, &headers, &bytes))
    }

    /// One attempt, bounded by the configured timeout.
    async fn timed<T>(
        &self,
        path: &str,
        attempt: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        tokio::time::timeout(self.cfg.timeout, attempt)
            .await
            .map_err(|_| self.timeout_error(path))?
    }

    async fn with_retries<T, F, Fut>(&self, path: &str, mut attempt: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let policy = &self.cfg.retry;
        let mut n: u32 = 1;
        loop {
            let err = match attempt().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let retryable = match &err {
                Error::Transient { .. } => true,
                Error::Timeout { .. } => policy.retry_timeouts,
                _ => false,
            };
            if !retryable {
                return Err(err);
            }
            if n >= policy.max_attempts {
                return Err(gave_up(err, n));
            }
            let delay = match &err {
                Error::Transient {
                    retry_after: Some(d),
                    ..
                } => {
                    if *d > policy.max_retry_after {
                        tracing::warn!(
                            path,
                            wait_ms = d.as_millis() as u64,
                            "server asked to wait longer than max_retry_after; not retrying"
                        );
                        return Err(err);
                    }
                    *d
                }
                _ => policy.backoff(n),
            };
            tracing::debug!(
                path,
                attempt = n,
                delay_ms = delay.as_millis() as u64,
                error = %err,
                "transient failure; retrying"
            );
            sleep(delay).await;
            n += 1;
        }
    }
}

async fn sleep(d: Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

/// Adds the attempt count to the final transient error.
fn gave_up(err: Error, attempts: u32) -> Error {
    match err {
        Error::Transient {
            provider,
            status,
            message,
            retry_after,
        } if attempts > 1 => Error::Transient {
            provider,
            status,
            message: format!("{message} (gave up after {attempts} attempts)"),
            retry_after,
        },
        other => other,
    }
}

/// The error message and code from an OpenAI-style error body, leniently.
fn error_details(status: StatusCode, body: &[u8]) -> (String, Option<String>) {
    let as_text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let err = v.get("error").unwrap_or(&v);
        if let Some(s) = err.as_str() {
            return (s.to_string(), None);
        }
        if let Some(msg) = err.get("message").and_then(Value::as_str) {
            let code = err
                .get("code")
                .and_then(as_text)
                .or_else(|| err.get("type").and_then(as_text));
            return (msg.to_string(), code);
        }
        if let Some(msg) = err.get("detail").and_then(as_text) {
            return (msg, None);
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        let reason = status.canonical_reason().unwrap_or("no reason given");
        return (format!("{} {reason} (empty body)", status.as_u16()), None);
    }
    let mut quoted: String = text.chars().take(MAX_QUOTED_BODY).collect();
    if quoted.len() < text.len() {
        quoted.push('…');
    }
    (quoted, None)
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let m = inner.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        src = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies() {
        let s = StatusCode::BAD_REQUEST;
        let (m, c) = error_details(
            s,
            br#"{"error":{"message":"bad model","type":"invalid_request_error","code":"model_not_found"}}"#,
        );
        assert_eq!(
            (m.as_str(), c.as_deref()),
            ("bad model", Some("model_not_found"))
        );
        let (m, c) = error_details(
            s,
            br#"{"error":{"message":"x","type":"invalid_request_error","code":null}}"#,
        );
        assert_eq!(
            (m.as_str(), c.as_deref()),
            ("x", Some("invalid_request_error"))
        );
        assert_eq!(error_details(s, br#"{"error":"plain"}"#).0, "plain");
        assert_eq!(error_details(s, br#"{"detail":"fastapi"}"#).0, "fastapi");
        assert_eq!(
            error_details(s, b"<html>oops</html>").0,
            "<html>oops</html>"
        );
        assert!(error_details(s, b"").0.contains("400 Bad Request"));
        let long = "é".repeat(1000);
        let (m, _) = error_details(s, long.as_bytes());
        assert_eq!(m.chars().count(), MAX_QUOTED_BODY + 1);
    }
}
