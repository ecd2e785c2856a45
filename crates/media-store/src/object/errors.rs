//! Mapping of `object_store` errors to this crate's [`Error`].

use crate::Error;

/// Maps an `object_store` error from `operation` on `key` of `backend`.
///
/// `NotFound` and `AlreadyExists` keep their meaning; unsupported operations
/// become [`Error::NotSupported`]; everything else is [`Error::Backend`]. It is
/// permanent (`transient: false`) for refused credentials, permissions, bad
/// paths, failed preconditions and undecodable responses, and transient for
/// connection failures, timeouts, interrupted requests and errors the backend
/// reports without a kind (e.g. a 5xx response after object_store's retries).
pub(crate) fn map_err(
    backend: &str,
    operation: &str,
    key: &dyn std::fmt::Display,
    e: object_store::Error,
) -> Error {
    use object_store::Error as E;
    let backend_err =
        |transient: bool, e: E| Error::backend(backend, format!("{operation} {key}"), transient, e);
    match e {
        E::NotFound { .. } => Error::NotFound {
            reference: key.to_string(),
        },
        E::AlreadyExists { .. } => Error::AlreadyExists {
            key: key.to_string(),
        },
        E::NotSupported { .. } | E::NotImplemented { .. } => Error::NotSupported {
            operation: format!("{operation} ({e})"),
            backend: backend.to_owned(),
        },
        E::UnknownConfigurationKey { .. } => Error::Config(e.to_string()),
        e @ E::Generic { .. } => {
            let transient = generic_is_transient(&e);
            backend_err(transient, e)
        }
        e @ E::JoinError { .. } => backend_err(true, e),
        e => backend_err(false, e),
    }
}

/// For a `Generic` error: whether the HTTP failure under it (if any) is of a
/// kind that retrying can fix.
fn generic_is_transient(e: &object_store::Error) -> bool {
    #[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
    {
        use object_store::client::{HttpError, HttpErrorKind as K};
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            if let Some(http) = s.downcast_ref::<HttpError>() {
                return matches!(
                    http.kind(),
                    K::Connect | K::Request | K::Timeout | K::Interrupted
                );
            }
            source = s.source();
        }
    }
    let _ = e;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_survive_mapping() {
        let nf = object_store::Error::NotFound {
            path: "p".into(),
            source: "gone".into(),
        };
        assert!(matches!(
            map_err("memory", "get", &"k", nf),
            Error::NotFound { reference } if reference == "k"
        ));
        let generic = object_store::Error::Generic {
            store: "S3",
            source: "connection refused".into(),
        };
        match map_err("s3", "put", &"k", generic) {
            Error::Backend {
                transient,
                operation,
                ..
            } => {
                assert!(transient);
                assert_eq!(operation, "put k");
            }
            other => panic!("{other:?}"),
        }
        let denied = object_store::Error::PermissionDenied {
            path: "p".into(),
            source: "no".into(),
        };
        assert!(matches!(
            map_err("s3", "put", &"k", denied),
            Error::Backend {
                transient: false,
                ..
            }
        ));
    }

    #[cfg(feature = "s3")]
    #[test]
    fn http_error_kinds_decide_transience() {
        use object_store::client::{HttpError, HttpErrorKind};
        let http = |kind| object_store::Error::Generic {
            store: "S3",
            source: Box::new(HttpError::new(kind, std::io::Error::other("x"))),
        };
        let transient = |e| match map_err("s3", "get", &"k", e) {
            Error::Backend { transient, .. } => transient,
            other => panic!("{other:?}"),
        };
        assert!(transient(http(HttpErrorKind::Connect)));
        assert!(transient(http(HttpErrorKind::Timeout)));
        assert!(!transient(http(HttpErrorKind::Decode)));
    }
}
