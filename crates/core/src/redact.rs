//! Showing URLs in messages without the secrets they may carry.

/// Query parameters whose values are hidden: names containing one of these
/// (case-insensitive), e.g. `sig` (Azure SAS), `api-key`, `access_token`.
const SECRET_PARAMS: [&str; 7] = [
    "sig",
    "key",
    "token",
    "secret",
    "password",
    "credential",
    "signature",
];

/// `url` as it may be shown in a message or log: a password in it becomes
/// `***`, and so do the values of query parameters that hold secrets (`sig`,
/// `*key*`, `*token*`, `*secret*`, `*password*`, `*credential*`). The user
/// name, host, path and other parameters are kept. Text that is not a URL is
/// returned as is, except that anything between `://` and an `@` is hidden.
///
/// ```
/// use promptkit_core::redact_url;
/// assert_eq!(redact_url("s3://key:secret@bucket/prefix"), "s3://key:***@bucket/prefix");
/// assert_eq!(
///     redact_url("https://me:pw@host:8443/openai/v1?api-version=2024-10-21&api-key=abc"),
///     "https://me:***@host:8443/openai/v1?api-version=2024-10-21&api-key=***"
/// );
/// assert_eq!(redact_url("az://c/p?sig=AbC%3D&sv=2024"), "az://c/p?sig=***&sv=2024");
/// assert_eq!(redact_url("http://127.0.0.1:8080/v1"), "http://127.0.0.1:8080/v1");
/// assert_eq!(redact_url("s3://key:sec ret@b/p"), "s3://key:***@b/p");
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
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.split_once(':') {
                Some((user, _password)) => {
                    out.push_str(user);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let tail = &rest[authority_end..];
    let (before_fragment, fragment) = match tail.find('#') {
        Some(i) => tail.split_at(i),
        None => (tail, ""),
    };
    match before_fragment.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            let params: Vec<String> = query.split('&').map(redact_param).collect();
            out.push_str(&params.join("&"));
        }
        None => out.push_str(before_fragment),
    }
    out.push_str(fragment);
    out
}

fn redact_param(param: &str) -> String {
    match param.split_once('=') {
        Some((name, _value)) if is_secret(name) => format!("{name}=***"),
        _ => param.to_owned(),
    }
}

fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_PARAMS.iter().any(|s| name.contains(s))
}
