//! Opening the store a `DIR|URL` argument names, without ever creating one.

use std::path::{Path, PathBuf};

use promptkit_media_store::{
    FileStore, MediaStore, ObjectStoreMediaStore, OpenedStore, StorageStats, open_media_store_url,
};
use url::Url;

use super::CliError;

/// Directory inside a local store's base dir that marks it as a store.
const STATE_DIR: &str = ".promptkit";

/// An opened media store.
#[derive(Debug)]
pub(crate) enum Target {
    /// A local `FileStore` (a directory or a `file://` URL).
    Local {
        /// The argument as shown in messages.
        shown: String,
        /// The store.
        store: FileStore,
    },
    /// An object-store backend (`s3://`, `memory://`).
    Object {
        /// The URL as shown in messages (without any password).
        shown: String,
        /// The URL scheme (`s3`, `memory`).
        scheme: String,
        /// The store.
        store: ObjectStoreMediaStore,
    },
}

impl Target {
    /// Opens `arg`: a URL when it contains `://`, a directory otherwise.
    ///
    /// URLs are read as the application reads `MEDIA_STORE_URL`: query
    /// parameters `organization`, `default_policy` and `max_file_size`
    /// (over the `MEDIA_*` variables), S3 settings from the `AWS_*`
    /// variables.
    pub(crate) fn open(arg: &str) -> Result<Target, CliError> {
        if !arg.contains("://") {
            return open_dir(Path::new(arg), arg.to_owned());
        }
        let url = Url::parse(arg.trim()).map_err(|e| CliError::BadUrl {
            url: redacted(arg),
            message: e.to_string(),
        })?;
        let shown = shown_url(&url);
        let bad = |message: String| CliError::BadUrl {
            url: shown.clone(),
            message,
        };
        let scheme = url.scheme().to_owned();
        if scheme == "file" {
            // Refuse anything that is not already a store before opening it:
            // opening a local store creates its directory.
            if url
                .host_str()
                .is_some_and(|h| !h.is_empty() && h != "localhost")
            {
                return Err(bad("names a remote host; use file:///absolute/path".into()));
            }
            let path = url
                .to_file_path()
                .map_err(|()| bad("not an absolute local path".into()))?;
            check_store_dir(&path, &shown)?;
        }
        // The same parsing (query parameters over MEDIA_* variables, AWS_* for
        // S3) as the application's MEDIA_STORE_URL.
        let opened = open_media_store_url(arg.trim()).map_err(|e| match e {
            promptkit_media_store::Error::Config(message) => bad(message),
            source => CliError::Store {
                target: shown.clone(),
                source,
            },
        })?;
        Ok(match opened {
            OpenedStore::File(store) => Target::Local { shown, store },
            OpenedStore::Object(store) => Target::Object {
                shown,
                scheme,
                store,
            },
            other => {
                let _ = other;
                return Err(bad("this kind of store is not supported by the CLI".into()));
            }
        })
    }

    /// The store as shown to the user.
    pub(crate) fn shown(&self) -> &str {
        match self {
            Target::Local { shown, .. } | Target::Object { shown, .. } => shown,
        }
    }

    /// The backend name: `local`, or the URL scheme.
    pub(crate) fn backend(&self) -> &str {
        match self {
            Target::Local { .. } => "local",
            Target::Object { scheme, .. } => scheme,
        }
    }

    /// Wraps a store error with the target.
    pub(crate) fn err(&self, source: promptkit_media_store::Error) -> CliError {
        CliError::Store {
            target: self.shown().to_owned(),
            source,
        }
    }

    /// The store's statistics.
    pub(crate) async fn stats(&self) -> Result<StorageStats, CliError> {
        let r = match self {
            Target::Local { store, .. } => store.stats().await,
            Target::Object { store, .. } => store.stats().await,
        };
        r.map_err(|e| self.err(e))
    }
}

/// Opens the local store in `path`, refusing anything that is not one.
fn open_dir(path: &Path, shown: String) -> Result<Target, CliError> {
    check_store_dir(path, &shown)?;
    let store = FileStore::builder()
        .with_base_dir(path)
        .build()
        .map_err(|source| CliError::Store {
            target: shown.clone(),
            source,
        })?;
    Ok(Target::Local { shown, store })
}

/// Checks that `path` is an existing local store, creating nothing.
fn check_store_dir(path: &Path, shown: &str) -> Result<(), CliError> {
    let owned = || PathBuf::from(path);
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(CliError::NotADirectory { path: owned() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CliError::NoSuchDirectory { path: owned() });
        }
        Err(e) => {
            return Err(CliError::Store {
                target: shown.to_owned(),
                source: promptkit_media_store::Error::io(path, e),
            });
        }
    }
    if !path.join(STATE_DIR).is_dir() {
        return Err(CliError::NotAStore { path: owned() });
    }
    Ok(())
}

/// The URL as shown in messages: without a password.
fn shown_url(url: &Url) -> String {
    let mut u = url.clone();
    if u.password().is_some() {
        // Only fails for URLs that cannot have credentials, which have none.
        let _ = u.set_password(Some("***"));
    }
    u.to_string()
}

/// A URL that did not parse, with anything between `://` and `@` hidden.
fn redacted(arg: &str) -> String {
    match (arg.find("://"), arg.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &arg[..s + 3], &arg[at..]),
        _ => arg.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden() {
        let url = Url::parse("s3://key:secret@bucket/prefix").unwrap();
        assert_eq!(shown_url(&url), "s3://key:***@bucket/prefix");
        assert_eq!(redacted("s3://key:sec ret@b/p"), "s3://***@b/p");
        assert_eq!(redacted("memory://"), "memory://");
    }

    #[test]
    fn a_plain_directory_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let arg = dir.path().to_str().unwrap();
        assert!(matches!(Target::open(arg), Err(CliError::NotAStore { .. })));
        assert!(!dir.path().join(STATE_DIR).exists());
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        assert!(matches!(
            Target::open(file.to_str().unwrap()),
            Err(CliError::NotADirectory { .. })
        ));
    }

    #[test]
    fn unknown_schemes_and_remote_file_hosts_fail() {
        assert!(matches!(
            Target::open("ftp://host/x"),
            Err(CliError::BadUrl { .. })
        ));
        assert!(matches!(
            Target::open("memory://?organisation=flat"),
            Err(CliError::BadUrl { .. })
        ));
        assert!(matches!(
            Target::open("s3:///prefix"),
            Err(CliError::BadUrl { .. })
        ));
        assert!(matches!(
            Target::open("file://elsewhere/x"),
            Err(CliError::BadUrl { .. })
        ));
        assert!(matches!(
            Target::open("memory://"),
            Ok(Target::Object { .. })
        ));
    }
}
