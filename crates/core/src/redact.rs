//! Showing URLs in messages without the secrets they may carry.

/// The query parameters of a media store URL that the media store reads
/// itself (never handed to a cloud backend). None holds a secret, so
/// [`redact_url`] shows their values. The one list: the media store reads
/// these names from here.
///
/// ```
/// use promptkit_core::{MEDIA_STORE_OPTIONS, redact_url};
/// assert!(MEDIA_STORE_OPTIONS.contains(&"organization"));
/// assert_eq!(redact_url("s3://b/p?fsync=false"), "s3://b/p?fsync=false");
/// ```
pub const MEDIA_STORE_OPTIONS: [&str; 6] = [
    "organization",
    "default_policy",
    "max_file_size",
    "read_only",
    "deduplication",
    "fsync",
];

/// Whether the value of query parameter `name` is shown: known to hold no
/// secret (Azure OpenAI's `api-version`, the media store's own options).
/// Every other value is hidden: an unknown parameter may carry a key.
fn shown(name: &str) -> bool {
    name == "api-version" || MEDIA_STORE_OPTIONS.contains(&name)
}

/// `url` as it may be shown in a message, a log or `Debug`: the user
/// information becomes `***` (a token may stand there alone, and an S3
/// URL's user is its access key), the values of query parameters other than
/// a few known to hold no secret become `***`, and the fragment is dropped.
/// Scheme, host, port and path are kept. Text without `://` is returned as
/// is; text that is not a valid URL is redacted the same way.
///
/// Every crate of the workspace shows URLs through this one function.
///
/// ```
/// use promptkit_core::redact_url;
/// assert_eq!(redact_url("s3://key:secret@bucket/prefix"), "s3://***:***@bucket/prefix");
/// assert_eq!(redact_url("https://TOKEN@proxy.example/v1"), "https://***@proxy.example/v1");
/// assert_eq!(
///     redact_url("https://me:pw@host:8443/openai/v1?api-version=2024-10-21&api-key=abc"),
///     "https://***:***@host:8443/openai/v1?api-version=2024-10-21&api-key=***"
/// );
/// assert_eq!(redact_url("az://c/p?sig=AbC%3D&sv=2024"), "az://c/p?sig=***&sv=***");
/// assert_eq!(
///     redact_url("s3://b/p?organization=flat&aws_secret_access_key=X#frag"),
///     "s3://b/p?organization=flat&aws_secret_access_key=***"
/// );
/// assert_eq!(redact_url("http://127.0.0.1:8080/v1"), "http://127.0.0.1:8080/v1");
/// assert_eq!(redact_url("s3://key:sec ret@b/p?k=v"), "s3://***:***@b/p?k=***");
/// assert_eq!(redact_url("api.openai.com"), "api.openai.com");
/// ```
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let mut out = String::with_capacity(url.len());
    out.push_str(&url[..scheme_end]);
    let host = match authority.rfind('@') {
        Some(at) => {
            out.push_str(if authority[..at].contains(':') {
                "***:***@"
            } else {
                "***@"
            });
            &authority[at + 1..]
        }
        None => authority,
    };
    out.push_str(host);
    let tail = &rest[authority_end..];
    let tail = tail.split_once('#').map_or(tail, |(before, _)| before);
    match tail.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            let params: Vec<String> = query.split('&').map(redact_param).collect();
            out.push_str(&params.join("&"));
        }
        None => out.push_str(tail),
    }
    out
}

fn redact_param(param: &str) -> String {
    match param.split_once('=') {
        Some((name, _)) if shown(name) => param.to_owned(),
        Some((name, _)) => format!("{name}=***"),
        None if param.is_empty() => String::new(),
        None => "***".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn no_secret_survives() {
        for (url, want) in [
            ("https://user:SECRET1@host/x", "https://***:***@host/x"),
            ("https://SECRET2@host/x#SECRET3", "https://***@host/x"),
            (
                "s3://user:SECRET4@ bad/x?k=SECRET5",
                "s3://***:***@ bad/x?k=***",
            ),
            (
                "https://h/v1?SECRET6&api-version=1",
                "https://h/v1?***&api-version=1",
            ),
            ("memory://", "memory://"),
            ("not a url", "not a url"),
        ] {
            let got = redact_url(url);
            assert_eq!(got, want, "{url}");
            assert!(!got.contains("SECRET"), "{got}");
        }
    }
}
