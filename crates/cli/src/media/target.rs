//! Opening the store a `DIR|URL` argument names, without ever creating one:
//! whatever the backend, a [`Target`] is the name shown to the user, the
//! backend's name and the store behind the one lifecycle trait.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use promptkit_media_store::{FileStore, MediaLifecycle, open_media_store_url};
use url::Url;

use super::CliError;

/// The file inside a local store's base directory that marks it as a store.
pub(crate) const INDEX_FILE: &str = ".promptkit/index.sqlite3";

/// Whether a command may change the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Reads only (`stats`, `ls`, `verify`, dry runs): a local store is
    /// opened read-only, creating, writing and locking nothing.
    ReadOnly,
    /// May remove or repair (`gc`, `retention`).
    ReadWrite,
}

/// An opened media store.
#[derive(Debug)]
pub(crate) struct Target {
    /// The argument as shown in messages (a URL without its password).
    shown: String,
    /// `local`, or the URL scheme (`s3`, `gs`, `az`, `memory`).
    backend: String,
    /// The store.
    store: Arc<dyn MediaLifecycle>,
}

impl Target {
    /// Opens `arg`: a URL when it contains `://`, a directory otherwise.
    ///
    /// URLs are read as the application reads `MEDIA_STORE_URL`: query
    /// parameters `organization`, `default_policy` and `max_file_size`
    /// (over the `MEDIA_*` variables), S3 settings from the `AWS_*`
    /// variables. With [`Access::ReadOnly`] a `file://` URL gains
    /// `read_only=true`.
    pub(crate) fn open(arg: &str, access: Access) -> Result<Target, CliError> {
        if !arg.contains("://") {
            return open_dir(Path::new(arg), arg.to_owned(), access);
        }
        let url = Url::parse(arg.trim()).map_err(|e| CliError::BadUrl {
            url: promptkit_core::redact_url(arg),
            message: e.to_string(),
        })?;
        let shown = promptkit_core::redact_url(url.as_str());
        let bad = |message: String| CliError::BadUrl {
            url: shown.clone(),
            message,
        };
        if url.scheme() == "file" {
            // Refuse anything that is not already a store before opening it:
            // opening a local store for writing creates it.
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
        let backend = match url.scheme() {
            "file" => "local".to_owned(),
            scheme => scheme.to_owned(),
        };
        // The same parsing (query parameters over MEDIA_* variables, AWS_* for
        // S3) as the application's MEDIA_STORE_URL.
        let store =
            open_media_store_url(with_access(url, access).as_str()).map_err(|e| match e {
                promptkit_media_store::Error::Config(message) => bad(message),
                source => CliError::Store {
                    target: shown.clone(),
                    source,
                },
            })?;
        Ok(Target {
            shown,
            backend,
            store,
        })
    }

    /// The store as shown to the user.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// The backend name: `local`, or the URL scheme.
    pub(crate) fn backend(&self) -> &str {
        &self.backend
    }

    /// The store.
    pub(crate) fn store(&self) -> &dyn MediaLifecycle {
        self.store.as_ref()
    }

    /// Wraps a store error with the target.
    pub(crate) fn err(&self, source: promptkit_media_store::Error) -> CliError {
        CliError::Store {
            target: self.shown.clone(),
            source,
        }
    }
}

/// A `file://` `url` with `read_only=true` for [`Access::ReadOnly`]
/// (replacing any `read_only` it had); other URLs unchanged. Only the local
/// store has a read-only mode (object stores refuse the parameter); on
/// object stores the read-only commands call nothing that writes.
fn with_access(mut url: Url, access: Access) -> Url {
    if access == Access::ReadOnly && url.scheme() == "file" {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "read_only")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(kept)
            .append_pair("read_only", "true");
    }
    url
}

/// Opens the local store in `path`, refusing anything that is not one.
fn open_dir(path: &Path, shown: String, access: Access) -> Result<Target, CliError> {
    check_store_dir(path, &shown)?;
    let store = FileStore::builder()
        .with_base_dir(path)
        .with_read_only(access == Access::ReadOnly)
        .build()
        .map_err(|source| CliError::Store {
            target: shown.clone(),
            source,
        })?;
    Ok(Target {
        shown,
        backend: "local".to_owned(),
        store: Arc::new(store),
    })
}

/// Checks that `path` is an existing local store (a directory holding
/// `.promptkit/index.sqlite3`), creating nothing.
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
    if !path.join(INDEX_FILE).is_file() {
        return Err(CliError::NotAStore { path: owned() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden() {
        use promptkit_core::redact_url;
        let url = Url::parse("s3://key:secret@bucket/prefix").unwrap();
        assert_eq!(redact_url(url.as_str()), "s3://***:***@bucket/prefix");
        assert_eq!(redact_url("s3://key:sec ret@b/p"), "s3://***:***@b/p");
        assert_eq!(redact_url("az://c/p?sig=abc"), "az://c/p?sig=***");
        assert_eq!(redact_url("memory://"), "memory://");
    }

    #[test]
    fn read_only_access_sets_the_url_parameter() {
        let url = |s: &str| Url::parse(s).unwrap();
        let ro = with_access(
            url("file:///s?read_only=false&organization=flat"),
            Access::ReadOnly,
        );
        assert_eq!(ro.as_str(), "file:///s?organization=flat&read_only=true");
        let ro = with_access(url("s3://b/p?organization=flat"), Access::ReadOnly);
        assert_eq!(ro.as_str(), "s3://b/p?organization=flat");
        let rw = with_access(url("file:///s?organization=flat"), Access::ReadWrite);
        assert_eq!(rw.as_str(), "file:///s?organization=flat");
    }

    #[test]
    fn a_plain_directory_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let arg = dir.path().to_str().unwrap();
        for access in [Access::ReadOnly, Access::ReadWrite] {
            assert!(matches!(
                Target::open(arg, access),
                Err(CliError::NotAStore { .. })
            ));
        }
        // A state folder without an index is no store either.
        std::fs::create_dir(dir.path().join(".promptkit")).unwrap();
        assert!(matches!(
            Target::open(arg, Access::ReadWrite),
            Err(CliError::NotAStore { .. })
        ));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert_eq!(
            std::fs::read_dir(dir.path().join(".promptkit"))
                .unwrap()
                .count(),
            0
        );
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        assert!(matches!(
            Target::open(file.to_str().unwrap(), Access::ReadOnly),
            Err(CliError::NotADirectory { .. })
        ));
    }

    #[test]
    fn unknown_schemes_and_remote_file_hosts_fail() {
        for bad in [
            "ftp://host/x",
            "memory://?organisation=flat",
            "s3:///prefix",
            "file://elsewhere/x",
        ] {
            assert!(
                matches!(
                    Target::open(bad, Access::ReadOnly),
                    Err(CliError::BadUrl { .. })
                ),
                "{bad}"
            );
        }
        let memory = Target::open("memory://", Access::ReadOnly).unwrap();
        assert_eq!((memory.shown(), memory.backend()), ("memory://", "memory"));
    }
}
